/**
 * The LuxOS simulator (src/sim/luxos-sim.ts) as a fleet client sees it: raw TCP on 127.0.0.1, one JSON request per
 * connection, the reply read to the end of the connection (as pyasic reads it), each command's sections in the
 * shape Luxor's docs and pyasic give (notes/firmware-apis.md §§ 0 and 3), and cgminer's '+' multi-command.
 */
import net from 'node:net';
import t from 'tap';
import { type LuxosSim, type LuxosSimOptions, startLuxosSim } from '../../src/sim/luxos-sim.js';

interface Tap {
  teardown(fn: () => unknown): void;
}

type Json = Record<string, unknown>;

/** What came back on one connection: the raw bytes as text and whether the sim closed the socket. */
interface Raw {
  readonly text: string;
  readonly closedByServer: boolean;
}

/**
 * Writes `request` and reads until the sim ends the connection, without half-closing first (pyasic reads until EOF):
 * resolves only when the server closes; a sim that kept the socket open fails the test after 2 s.
 */
function exchange(port: number, request: string): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('the sim did not close the connection within 2000 ms'));
    }, 2000);
    socket.on('connect', () => socket.write(request));
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('end', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ text: Buffer.concat(chunks).toString('utf8'), closedByServer: true });
    });
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

/** One command, its reply parsed (the trailing NUL stripped, as pyasic does). */
async function send(sim: LuxosSim, command: string, parameter?: string): Promise<Json> {
  const raw = await exchange(sim.port, JSON.stringify(parameter === undefined ? { command } : { command, parameter }));
  return JSON.parse(raw.text.replace(/\0$/, '')) as Json;
}

async function sim(t: Tap, options: LuxosSimOptions = {}): Promise<LuxosSim> {
  const s = await startLuxosSim(options);
  t.teardown(() => s.close());
  return s;
}

function status(reply: Json): Json {
  return (reply.STATUS as Json[])[0]!;
}

/** The first record of a section. */
function first(reply: Json, key: string): Json {
  const list = reply[key];
  if (!Array.isArray(list) || list.length === 0) throw new Error(`no ${key} in ${JSON.stringify(reply)}`);
  return list[0] as Json;
}

async function logon(s: LuxosSim): Promise<string> {
  return first(await send(s, 'logon'), 'SESSION').SessionID as string;
}

t.test('one reply per connection, NUL-terminated, then the sim closes the socket (pyasic reads until EOF)', async (t) => {
  const s = await sim(t);
  const raw = await exchange(s.port, JSON.stringify({ command: 'summary' }));
  t.equal(raw.closedByServer, true, 'closed by the sim without the client half-closing');
  t.ok(raw.text.endsWith('}\0'), 'one JSON object then one NUL byte');
  t.match(JSON.parse(raw.text.slice(0, -1)), { STATUS: [{ STATUS: 'S', Code: 11 }], SUMMARY: [{ 'GHS 5s': 110_000 }], id: 1 });

  const plain = await sim(t, { nulTerminator: false });
  const bare = await exchange(plain.port, JSON.stringify({ command: 'summary' }));
  t.ok(bare.text.endsWith('}'), 'nulTerminator: false ends at the JSON');
});

t.test('config: MACAddr, Profile (the active one), RedLed "off", CurtailMode', async (t) => {
  const s = await sim(t, { mac: 'aa:bb:cc:00:11:22', profile: '2800W' });
  const reply = await send(s, 'config');
  t.match(status(reply), { STATUS: 'S', Code: 33 });
  t.match(first(reply, 'CONFIG'), {
    MACAddr: 'aa:bb:cc:00:11:22',
    Profile: '2800W',
    RedLed: 'off',
    CurtailMode: 'None',
    IsPowerSupplyOn: true,
  });
  const sid = await logon(s);
  await send(s, 'curtail', `${sid},sleep`);
  t.match(first(await send(s, 'config'), 'CONFIG'), { CurtailMode: 'Sleep', IsPowerSupplyOn: false });
  await send(s, 'profileset', `${sid},2400W`);
  t.equal(first(await send(s, 'config'), 'CONFIG').Profile, '2400W', 'Profile follows profileset');
});

t.test('profiles: "Profile Name", Watts, Hashrate (TH/s), IsTuned, Frequency, Voltage', async (t) => {
  const s = await sim(t, {
    profiles: { default: { watts: 3250, ghs: 110_000, frequency: 545, voltage: 13.4, tuned: true }, eco: { watts: 2500, ghs: 90_050 } },
  });
  const reply = await send(s, 'profiles');
  t.match(status(reply), { STATUS: 'S' });
  const list = reply.PROFILES as Json[];
  t.same(list[0], { 'Profile Name': 'default', Watts: 3250, Hashrate: 110, IsTuned: true, Frequency: 545, Voltage: 13.4 });
  t.equal(list[1]!['Profile Name'], 'eco');
  t.equal(list[1]!.Hashrate, 90.1, 'TH/s, one decimal');
  for (const p of list) {
    t.type(p.Frequency, 'number');
    t.type(p.Voltage, 'number');
    t.equal(p.IsTuned === true || p.IsTuned === false, true, 'IsTuned is a boolean');
  }
});

t.test('version: API, LUXminer, Miner, CompileTime, Type (code 22); Description names the LUXminer version', async (t) => {
  const s = await sim(t, { firmwareVersion: '2025.3.1.120000-abcdef12' });
  const reply = await send(s, 'version');
  t.match(status(reply), { STATUS: 'S', Code: 22, Msg: 'LUXminer versions', Description: 'LUXminer 2025.3.1.120000-abcdef12' });
  const v = first(reply, 'VERSION');
  t.match(v, { API: '3.7', LUXminer: '2025.3.1.120000-abcdef12', Miner: '2025.3.1.120000-abcdef12' });
  t.type(v.CompileTime, 'string');
  t.type(v.Type, 'string');
  s.restartMiner('2025.4.2.080000-12345678');
  t.equal(first(await send(s, 'version'), 'VERSION').LUXminer, '2025.4.2.080000-12345678', 'restartMiner can change the version');
});

t.test('atm: ATM[0] with Enabled and its windows (code 339); atmset switches it (code 340, session needed)', async (t) => {
  const s = await sim(t);
  const reply = await send(s, 'atm');
  t.match(status(reply), { STATUS: 'S', Code: 339, Msg: 'ATM configuration values' });
  const atm = first(reply, 'ATM');
  t.equal(atm.Enabled, false);
  for (const key of ['MaxProfile', 'MinProfile', 'PostRampMinutes', 'StartupMinutes', 'TempWindow']) t.ok(key in atm, key);
  t.match(status(await send(s, 'atmset', 'nope,enabled=true')), { STATUS: 'E' }, 'no session, no change');
  const sid = await logon(s);
  t.match(status(await send(s, 'atmset', `${sid},enabled=true`)), { STATUS: 'S', Code: 340 });
  t.equal(first(await send(s, 'atm'), 'ATM').Enabled, true);
  t.equal(s.state.atm, true);
  t.match(status(await send(s, 'atmset', `${sid},enabled=maybe`)), { STATUS: 'E' });
});

t.test('tempctrl, fans, power, stats: the fields pyasic reads', async (t) => {
  const s = await sim(t);
  t.match(first(await send(s, 'tempctrl'), 'TEMPCTRL'), { Mode: String, Target: Number, Hot: Number, Dangerous: Number });

  const fans = await send(s, 'fans');
  t.match(status(fans), { STATUS: 'S', Code: 202, Msg: '4 Fan(s)' });
  const list = fans.FANS as Json[];
  t.equal(list.length, 4);
  list.forEach((f, i) => t.match(f, { FAN: i, ID: i, RPM: Number, Speed: Number }));
  t.match(first(fans, 'FANCTRL'), { MinFans: Number, PowerOffSpeed: Number });

  t.match(first(await send(s, 'power'), 'POWER'), { Watts: 3250 });

  const stats = (await send(s, 'stats')).STATS as Json[];
  const boards = stats[1]!;
  t.match(boards, { total_rateideal: 110_000, rate_unit: 'GH', Elapsed: Number });
  for (const b of [1, 2, 3]) {
    t.type(boards[`chain_rate${b}`], 'number');
    t.type(boards[`chain_acn${b}`], 'number');
    t.equal((boards[`temp_chip${b}`] as string).split('-').length, 4, 'temp_chip: four dash-joined values');
    t.equal((boards[`temp_pcb${b}`] as string).split('-').length, 4, 'temp_pcb: four dash-joined values');
  }
});

t.test('pools: the cgminer shape; groups: one group holding the pools', async (t) => {
  const s = await sim(t, {
    pools: [
      { url: 'stratum+tcp://10.0.0.1:3333', user: 'site.rig1' },
      { url: 'stratum+tcp://backup.example:3333', user: 'site.rig1' },
    ],
  });
  const reply = await send(s, 'pools');
  t.match(status(reply), { STATUS: 'S', Msg: '2 Pool(s)' });
  const pools = reply.POOLS as Json[];
  t.equal(pools.length, 2);
  t.match(pools[0], {
    POOL: 0,
    URL: 'stratum+tcp://10.0.0.1:3333',
    User: 'site.rig1',
    Status: 'Alive',
    Accepted: Number,
    Rejected: Number,
    'Get Failures': Number,
    'Remote Failures': Number,
    'Stratum Active': true,
  });
  t.match(pools[1], { POOL: 1, 'Stratum Active': false });
  t.match(first(await send(s, 'groups'), 'GROUPS'), { GROUP: 0, Pools: [0, 1] });
});

t.test("multi-command: pyasic's tempctrl+fans+pools+groups+config+profiles, one reply keyed per command", async (t) => {
  const s = await sim(t);
  const names = ['tempctrl', 'fans', 'pools', 'groups', 'config', 'profiles'];
  const reply = await send(s, names.join('+'));
  t.same(Object.keys(reply).sort(), [...names, 'id'].sort(), 'one key per command, plus id');
  t.equal(reply.id, 1);
  t.notOk('STATUS' in reply, 'no top-level STATUS');
  const sections: Record<string, string> = {
    tempctrl: 'TEMPCTRL',
    fans: 'FANS',
    pools: 'POOLS',
    groups: 'GROUPS',
    config: 'CONFIG',
    profiles: 'PROFILES',
  };
  for (const name of names) {
    const slot = reply[name] as Json[];
    t.equal(slot.length, 1, `${name}: a one-element list`);
    t.match(status(slot[0]!), { STATUS: 'S' }, `${name}: its own STATUS`);
    const single = await send(s, name);
    t.same(slot[0]![sections[name]!], single[sections[name]!], `${name}: the same data as the single command`);
  }
  t.equal(first((reply.config as Json[])[0]!, 'CONFIG').Profile, 'default', "what pyasic's get_config reads: config[0].CONFIG[0].Profile");
  t.equal(s.commands.filter((c) => c.command === names.join('+')).length, 1, 'recorded as one request');
});

t.test('multi-command: an unknown command answers "Invalid command" in its slot; changes cannot be joined', async (t) => {
  const s = await sim(t, { unsupported: ['groups'] });
  const reply = await send(s, 'config+groups+bogus');
  t.match(status((reply.config as Json[])[0]!), { STATUS: 'S' });
  t.match(status((reply.groups as Json[])[0]!), { STATUS: 'E', Code: 14, Msg: 'Invalid command' });
  t.match(status((reply.bogus as Json[])[0]!), { STATUS: 'E', Code: 14 });

  const sid = await logon(s);
  const refused = await send(s, 'config+curtail', `${sid},sleep`);
  t.match(status(refused), { STATUS: 'E', Msg: "Command 'curtail' cannot be joined" });
  t.equal(s.state.sleeping, false, 'nothing changed');
  const many = await send(s, Array.from({ length: 17 }, () => 'summary').join('+'));
  t.match(status(many), { STATUS: 'E', Msg: /at most 16/ }, 'a join is bounded');
});

t.test('an older build (unsupported) answers the commands it lacks with code 14 "Invalid command"', async (t) => {
  const s = await sim(t, { unsupported: ['version', 'profiles'] });
  t.match(status(await send(s, 'version')), { STATUS: 'E', Code: 14, Msg: 'Invalid command' });
  t.match(status(await send(s, 'profiles')), { STATUS: 'E', Code: 14 });
  t.match(status(await send(s, 'summary')), { STATUS: 'S' }, 'the rest still answers');
});
