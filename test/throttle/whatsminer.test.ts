/**
 * The whatsminer driver (API 2.x, 3.x and "auto") against src/sim/whatsminer-sim.ts over real TCP on 127.0.0.1:
 * curtail, resume, power target, readState (booting is not asleep; the firmware version), the respbefore stop, the
 * boot after power_on and the restart after adjust_power_limit, token reuse and refresh, wrong password, write API
 * disabled, firmware too old, timeouts and half replies, API version detection with its bounds and backoff, and the
 * simulator's reads in pyasic's shapes. The password never shows in an error or a log line.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { buildConfig, redactConfig } from '../../src/config/index.js';
import type { DriverConfig } from '../../src/config/throttle-schema.js';
import { startWhatsminerSim, type WhatsminerSimOptions } from '../../src/sim/whatsminer-sim.js';
import { createRigControl } from '../../src/throttle/drivers/index.js';
import { createWhatsminerControl } from '../../src/throttle/drivers/whatsminer.js';
import { BACKOFF_BASE_MS } from '../../src/throttle/drivers/whatsminer-auto.js';
import { framedRoundTrip } from '../../src/throttle/drivers/whatsminer-v3.js';
import { DriverError, type RigControl } from '../../src/throttle/types.js';
import { createLogger } from '../../src/util/log.js';
import { when } from './wait.js';

const SECRET = 'Sekr3t_1';
type WhatsminerConfig = Extract<DriverConfig, { type: 'whatsminer' }>;

interface Tap {
  teardown(fn: () => unknown): void;
}

function capturedLog() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { log: createLogger({ destination: stream, level: 'debug' }), text: () => text };
}

function config(port: number, over: Partial<WhatsminerConfig> = {}): WhatsminerConfig {
  return {
    type: 'whatsminer',
    host: '127.0.0.1',
    port,
    password: SECRET,
    passwordFile: null,
    apiVersion: '2',
    powerTargets: [],
    timeoutMs: 2000,
    settle: { curtailMs: null, resumeMs: null, powerMs: null },
    ...over,
  };
}

async function rig(
  t: Tap,
  simOptions: WhatsminerSimOptions = {},
  over: Partial<WhatsminerConfig> = {},
  readFile?: (p: string) => Promise<string>,
) {
  const sim = await startWhatsminerSim({ password: SECRET, resumeDelayMs: 0, ...simOptions });
  t.teardown(() => sim.close());
  const { log, text } = capturedLog();
  const gate = { park: () => undefined, unpark: () => undefined };
  const control = createRigControl(config(sim.port, over), { rigId: 'wm1', rigIp: null, gate, log, ...(readFile ? { readFile } : {}) });
  t.teardown(() => control.close());
  return { sim, control, logText: text };
}

async function driverError(p: Promise<unknown>): Promise<DriverError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof DriverError)) throw new Error(`expected a DriverError rejection, got ${String(e)}`);
  return e;
}

t.test('curtail, power target and resume change the miner; one token serves them all', async (t) => {
  const { sim, control, logText } = await rig(t);
  t.equal(control.kind, 'whatsminer');
  t.equal(control.supportsPowerTarget, true);
  t.equal(control.keepsSession, true);
  t.equal(sim.state.hashing, true);

  await control.curtail();
  t.equal(sim.state.mineroff, true);
  t.equal(sim.state.watts, 15);
  const off = sim.commands.find((c) => c.cmd === 'power_off');
  t.same(
    off,
    { cmd: 'power_off', encrypted: true, fields: { cmd: 'power_off', respbefore: 'true' }, api: '2' },
    'power_off with respbefore',
  );

  await control.setPowerTarget!(2800);
  t.equal(sim.state.powerLimit, 2800);
  t.equal(sim.state.mineroff, false, 'a power target powers the boards on');

  await control.resume();
  t.equal(sim.state.powerLimit, 3400, 'the limit from before is restored');
  t.equal(sim.state.mineroff, false);
  t.equal(sim.commands.filter((c) => c.cmd === 'get_token').length, 1, 'the token is reused');
  t.ok(sim.commands.every((c) => !('token' in c.fields)));
  t.notMatch(logText(), SECRET);
});

t.test('readState: hashing, power and the mineroff sign; booting is not asleep', async (t) => {
  const { sim, control } = await rig(t, { booting: true, resumeDelayMs: 60_000 });
  const booting = await control.readState!();
  t.equal(booting.hashing, false);
  t.equal(booting.asleep, false, 'a booting rig reports 0 MH/s but is not asleep');
  t.equal(booting.powerWatts, 15);
  await control.curtail();
  const asleep = await control.readState!();
  t.equal(asleep.asleep, true);
  t.equal(asleep.hashing, false);
  t.match(asleep.detail, /mineroff true/);
  t.equal(sim.state.mineroff, true);

  const awake = await rig(t);
  const s = await awake.control.readState!();
  t.same({ hashing: s.hashing, asleep: s.asleep, powerWatts: s.powerWatts }, { hashing: true, asleep: false, powerWatts: 3400 });
  t.match(s.detail, /100\.00 TH\/s/);
});

t.test('resume takes time to hash again (resumeDelayMs)', async (t) => {
  const { sim, control } = await rig(t, { resumeDelayMs: 60_000 });
  await control.curtail();
  await control.resume();
  t.equal(sim.state.mineroff, false);
  t.equal(sim.state.booting, true);
  const s = await control.readState!();
  t.same([s.hashing, s.asleep], [false, false]);
});

t.test('an expired token is refreshed once, then the command succeeds', async (t) => {
  const { sim, control, logText } = await rig(t);
  await control.curtail();
  sim.expireTokens();
  await control.resume();
  t.equal(sim.state.mineroff, false);
  t.equal(sim.commands.filter((c) => c.cmd === 'get_token').length, 2);
  t.match(logText(), /token no longer valid/);
});

t.test('the driver fetches a new token once its cached one is old', async (t) => {
  const sim = await startWhatsminerSim({ password: SECRET });
  t.teardown(() => sim.close());
  let clock = 1_000_000;
  const control = createWhatsminerControl(
    config(sim.port),
    { host: '127.0.0.1', log: capturedLog().log, readFile: async () => '' },
    () => clock,
  );
  await control.curtail();
  clock += 26 * 60_000;
  await control.resume();
  t.equal(sim.commands.filter((c) => c.cmd === 'get_token').length, 2);
});

t.test('wrong password: HG_ERR_DRIVER_CONFIG, the password nowhere', async (t) => {
  const wrong = 'wrong_' + SECRET;
  const { sim, control, logText } = await rig(t, {}, { password: wrong });
  const e = await driverError(control.curtail());
  t.equal(e.code, 'HG_ERR_DRIVER_CONFIG');
  t.match(e.message, /wrong password/);
  t.notMatch(e.message, SECRET);
  t.notMatch(logText(), SECRET);
  t.equal(sim.state.mineroff, false);
  t.equal(sim.commands.filter((c) => c.cmd === 'get_token').length, 1, 'a fresh token refused: no retry');
});

t.test('write API disabled: a clear HG_ERR_DRIVER_CONFIG', async (t) => {
  const { sim, control } = await rig(t);
  sim.failures.writeDisabled = true;
  const e = await driverError(control.curtail());
  t.equal(e.code, 'HG_ERR_DRIVER_CONFIG');
  t.match(e.message, /write API is disabled/);
  t.equal(sim.state.mineroff, false);
});

t.test('token limit: a command error that says why', async (t) => {
  const { control } = await rig(t, { maxTokens: 0 });
  const e = await driverError(control.curtail());
  t.equal(e.code, 'HG_ERR_DRIVER_COMMAND');
  t.match(e.message, /too many tokens/);
});

t.test('timeout and half reply are command errors naming the address', async (t) => {
  const { sim, control } = await rig(t, {}, { timeoutMs: 200 });
  sim.failures.hang = ['summary'];
  const timeout = await driverError(control.readState!());
  t.equal(timeout.code, 'HG_ERR_DRIVER_COMMAND');
  t.match(timeout.message, new RegExp(`summary: timed out after 200 ms at 127\\.0\\.0\\.1:${sim.port}`));
  sim.failures.hang = false;
  sim.failures.halfReply = ['power_off'];
  const half = await driverError(control.curtail());
  t.equal(half.code, 'HG_ERR_DRIVER_COMMAND');
  t.match(half.message, /power_off: reply from .* is cut short or not a JSON object/);
  sim.failures.halfReply = false;
  await control.curtail();
  t.equal(sim.state.mineroff, true, 'works again afterwards');
});

t.test('passwordFile is read and trimmed; missing or no password is a config error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hg-wm-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'pw');
  writeFileSync(file, `  ${SECRET}\n`);
  const { readFile } = await import('node:fs/promises');
  const ok = await rig(t, {}, { password: null, passwordFile: file }, (p) => readFile(p, 'utf8'));
  await ok.control.curtail();
  t.equal(ok.sim.state.mineroff, true);
  const missing = await rig(t, {}, { password: null, passwordFile: join(dir, 'nope') }, (p) => readFile(p, 'utf8'));
  const e = await driverError(missing.control.curtail());
  t.equal(e.code, 'HG_ERR_DRIVER_CONFIG');
  t.match(e.message, /cannot read passwordFile .* \(ENOENT\)/);
  const none = await rig(t, {}, { password: null });
  t.equal((await driverError(none.control.curtail())).code, 'HG_ERR_DRIVER_CONFIG');
});

t.test('the sim answers plain reads by cmd or command, and refuses unencrypted writes', async (t) => {
  const { sim } = await rig(t);
  const net = await import('node:net');
  const ask = (line: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const s = net.connect({ host: sim.host, port: sim.port }, () => s.write(line));
      let text = '';
      s.on('data', (c: Buffer) => (text += c.toString()));
      s.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
      s.on('error', reject);
    });
  t.match(await ask('{"command":"get_version"}'), { STATUS: 'S', Msg: { api_ver: '2.0.5' } });
  t.match(await ask('{"cmd":"devdetails"}'), { DEVDETAILS: [{}] });
  t.match(await ask('{"cmd":"power_off"}'), { STATUS: 'E', Code: 45 });
  t.match(await ask('not json'), { STATUS: 'E', Code: 23 });
  t.match(await ask('{"cmd":"nope"}'), { STATUS: 'E', Code: 14 });
  t.match(await ask('{"enc":1,"data":"AAAA"}'), { STATUS: 'E', Code: 135 });
});

// ---------------------------------------------------------------------------
// API 3.x (TCP 4433 on a real rig; framed JSON, salted token)

async function rigV3(t: Tap, simOptions: WhatsminerSimOptions = {}, over: Partial<WhatsminerConfig> = {}) {
  const sim = await startWhatsminerSim({ password: SECRET, resumeDelayMs: 0, api3: true, ...simOptions });
  t.teardown(() => sim.close());
  const { log, text } = capturedLog();
  const gate = { park: () => undefined, unpark: () => undefined };
  const control = createRigControl(config(sim.port3!, { apiVersion: '3', ...over }), { rigId: 'wm3', rigIp: null, gate, log });
  t.teardown(() => control.close());
  return { sim, control, logText: text };
}

t.test('3.x: curtail, power target, resume and readState', async (t) => {
  const { sim, control, logText } = await rigV3(t);
  const running = await control.readState!();
  t.same([running.hashing, running.asleep, running.powerWatts], [true, null, 3400], 'asleep unknown on 3.x, never inferred');
  await control.curtail();
  t.equal(sim.state.mineroff, true);
  const stopped = await control.readState!();
  t.same([stopped.hashing, stopped.asleep], [false, null]);
  await control.setPowerTarget!(3000);
  t.equal(sim.state.powerLimit, 3000);
  await control.resume();
  t.equal(sim.state.mineroff, false);
  const service = sim.commands.find((c) => c.cmd === 'set.miner.service');
  t.match(service?.fields, { param: 'stop', account: 'super' });
  t.equal(sim.commands.filter((c) => c.cmd === 'get.device.info' && c.fields.param === 'salt').length, 1, 'the salt is reused');
  t.notMatch(logText(), SECRET);
});

t.test('3.x: wrong password, timeout and half reply', async (t) => {
  const { sim, control } = await rigV3(t, {}, { password: 'nope_' + SECRET, timeoutMs: 200 });
  const e = await driverError(control.curtail());
  t.equal(e.code, 'HG_ERR_DRIVER_CONFIG');
  t.match(e.message, /wrong password/);
  t.notMatch(e.message, SECRET);
  sim.failures.hang = ['get.miner.status'];
  t.match((await driverError(control.readState!())).message, /timed out after 200 ms/);
  sim.failures.hang = false;
  sim.failures.halfReply = ['get.miner.status'];
  const half = await driverError(control.readState!());
  t.equal(half.code, 'HG_ERR_DRIVER_COMMAND');
  t.match(half.message, /closed before a whole reply/);
});

t.test('config: defaults, apiVersion "2" | "3" | "auto", powerTargets, the password redacted', async (t) => {
  const build = (driver: unknown) =>
    buildConfig({ file: { name: 'f.json', value: { pools: ['stratum+tcp://pool:3333'], defaultRig: { driver } } } });
  const c = build({ type: 'whatsminer', password: SECRET });
  t.same(c.defaultRig.driver, {
    type: 'whatsminer',
    host: null,
    port: null,
    password: SECRET,
    passwordFile: null,
    apiVersion: 'auto',
    powerTargets: [],
    timeoutMs: 5000,
    settle: { curtailMs: null, resumeMs: null, powerMs: null },
  });
  const driverOf = (d: unknown) => build(d).defaultRig.driver as WhatsminerConfig;
  t.equal(driverOf({ type: 'whatsminer', apiVersion: '3' }).apiVersion, '3');
  t.equal(driverOf({ type: 'whatsminer', apiVersion: '2', port: 14028 }).port, 14028, 'a port with a named version');
  t.throws(() => build({ type: 'whatsminer', port: 14028 }), /port: needs apiVersion "2" or "3"/, '"auto" probes the two default ports');
  t.throws(() => build({ type: 'whatsminer', apiVersion: 'v3' }), /must be "2", "3" or "auto"/);
  t.same(driverOf({ type: 'whatsminer', powerTargets: [3000, 2500] }).powerTargets, [3000, 2500]);
  t.throws(() => build({ type: 'whatsminer', powerTargets: [2500.5] }), /powerTargets\[0\]: must be an integer/);
  t.throws(() => build({ type: 'whatsminer', powerTargets: [0] }), /must be an integer from 1/);
  t.throws(() => build({ type: 'whatsminer', powerTargets: 2500 }), /must be a list of watts/);
  t.notMatch(JSON.stringify(redactConfig(c)), SECRET);
});

// ---------------------------------------------------------------------------
// What the rig does after a command (the simulator's timing), firmware version, older firmware

const changes =
  (sim: { onChange(fn: () => void): () => void }) =>
  (wake: () => void): (() => void) =>
    sim.onChange(wake);

t.test('power_off with respbefore: the reply comes first, the boards stop after powerOffDelayMs', async (t) => {
  let clock = 1_700_000_000_000;
  const { sim, control } = await rig(t, { powerOffDelayMs: 30_000, now: () => clock });
  await control.curtail();
  t.same([sim.state.mineroff, sim.state.stopping, sim.state.hashing], [true, true, true], 'answered while the boards still run');
  const early = await control.readState!();
  t.same([early.asleep, early.hashing], [true, true], 'status says mineroff at once; the hash rate has not fallen yet');
  clock += 30_000;
  t.same([sim.state.stopping, sim.state.hashing, sim.state.watts], [false, false, 15], 'boards stopped after the delay');
  await control.curtail();
  t.equal(sim.state.stopping, false, 'a second power_off does not restart the stop');
});

t.test('power_off stop and power_on boot are announced by events (no clock needed)', async (t) => {
  const { sim, control } = await rig(t, { powerOffDelayMs: 20, resumeDelayMs: 20 });
  await control.curtail();
  await when(() => !sim.state.hashing, 'boards stopped', [changes(sim)], 5000);
  await control.resume();
  await when(() => sim.state.booting, 'booting after power_on', [changes(sim)], 5000);
  await when(() => sim.state.hashing, 'hashing again after the boot', [changes(sim)], 5000);
  t.equal(sim.state.mhs, 100e6);
});

t.test('power_on takes resumeDelayMs; adjust_power_limit restarts btminer for limitRestartMs', async (t) => {
  let clock = 1_700_000_000_000;
  const { sim, control } = await rig(t, { resumeDelayMs: 120_000, limitRestartMs: 45_000, now: () => clock });
  await control.curtail();
  await control.resume();
  const booting = await control.readState!();
  t.same([booting.hashing, booting.asleep, booting.hashrateThs], [false, false, 0], 'booting: 0 MH/s, not asleep');
  clock += 120_000;
  t.equal(sim.state.hashing, true);
  await control.setPowerTarget!(1700);
  t.same([sim.state.powerLimit, sim.state.booting, sim.state.mhs], [1700, true, 0], 'the power limit restarts btminer');
  clock += 45_000;
  const reduced = await control.readState!();
  t.same([reduced.hashing, reduced.powerWatts, reduced.hashrateThs], [true, 1700, 50], 'then hashes at the lower limit');
  t.match(reduced.detail, /limit 1700 W/);
});

t.test('readState firmware: get_version once; older daemons fall back or say nothing, never fail', async (t) => {
  const { sim, control } = await rig(t);
  const s = await control.readState!();
  t.equal(s.firmware, '20230911.12.Rel (API 2.0.5)');
  await control.readState!();
  t.equal(sim.commands.filter((c) => c.cmd === 'get_version').length, 1, 'read once, kept');

  const legacy = await rig(t, { legacy: true, missing: ['get_version'] });
  const l = await legacy.control.readState!();
  t.equal(l.firmware, '20230911.12.Rel', 'the quoted Firmware Version of an older status');
  t.equal(l.asleep, null, 'the old status form has no mineroff: unknown');

  const old = await rig(t, { missing: ['get_version', 'status'] });
  const o = await old.control.readState!();
  t.same([o.firmware, o.asleep, o.hashing], [null, null, true]);
  await old.control.readState!();
  t.equal(old.sim.commands.filter((c) => c.cmd === 'get_version').length, 1, 'a daemon without get_version is not asked again');

  const flaky = await rig(t, {}, { timeoutMs: 300 });
  flaky.sim.failures.halfReply = ['get_version'];
  const f = await flaky.control.readState!();
  t.same([f.firmware, f.hashing], ['20230911.12.Rel', true], 'a cut get_version: the status FirmwareVersion, readState still works');
  flaky.sim.failures.halfReply = false;
  t.equal((await flaky.control.readState!()).firmware, '20230911.12.Rel (API 2.0.5)', 'asked again after a link failure');
});

t.test('firmware too old for a command: a command error that says so', async (t) => {
  const { sim, control, logText } = await rig(t, { missing: ['adjust_power_limit'] });
  const e = await driverError(control.setPowerTarget!(2000));
  t.equal(e.code, 'HG_ERR_DRIVER_COMMAND');
  t.match(e.message, /adjust_power_limit 2000: invalid cmd \(Whatsminer code 14\); the firmware does not know this command/);
  t.equal(sim.state.powerLimit, 3400);
  t.notMatch(e.message + logText(), SECRET);
  await control.curtail();
  t.equal(sim.state.mineroff, true, 'the commands it knows still work');
});

t.test('a rig that does not report its Power Limit gets no power target (it could not be undone)', async (t) => {
  const { sim, control } = await rig(t);
  sim.failures.halfReply = ['summary'];
  t.equal((await driverError(control.setPowerTarget!(2000))).code, 'HG_ERR_DRIVER_COMMAND');
  t.notOk(
    sim.commands.some((c) => c.cmd === 'adjust_power_limit'),
    'nothing written',
  );
  sim.failures.halfReply = false;
  await control.setPowerTarget!(2000);
  t.equal(sim.state.powerLimit, 2000);
});

t.test('every failure is a DriverError with an HG_ERR code; the password is in no message and no log line', async (t) => {
  const cases: [
    string,
    WhatsminerSimOptions,
    Partial<WhatsminerConfig>,
    (sim: Awaited<ReturnType<typeof rig>>['sim']) => void,
    (c: RigControl) => Promise<unknown>,
    string,
  ][] = [
    ['wrong password', {}, { password: `x${SECRET}` }, () => {}, (c) => c.curtail(), 'HG_ERR_DRIVER_CONFIG'],
    ['write API disabled', {}, {}, (s) => (s.failures.writeDisabled = true), (c) => c.resume(), 'HG_ERR_DRIVER_CONFIG'],
    ['token limit', { maxTokens: 0 }, {}, () => {}, (c) => c.curtail(), 'HG_ERR_DRIVER_COMMAND'],
    ['too old', { missing: ['adjust_power_limit'] }, {}, () => {}, (c) => c.setPowerTarget!(2000), 'HG_ERR_DRIVER_COMMAND'],
    ['timeout', {}, { timeoutMs: 150 }, (s) => (s.failures.hang = true), (c) => c.curtail(), 'HG_ERR_DRIVER_COMMAND'],
    ['half reply', {}, {}, (s) => (s.failures.halfReply = ['power_off']), (c) => c.curtail(), 'HG_ERR_DRIVER_COMMAND'],
    ['port dead', {}, {}, (s) => (s.failures.down = true), (c) => c.readState!(), 'HG_ERR_DRIVER_COMMAND'],
  ];
  for (const [name, simOptions, over, arrange, act, code] of cases) {
    const { sim, control, logText } = await rig(t, simOptions, over);
    arrange(sim);
    const e = await driverError(act(control));
    t.equal(e.code, code, `${name}: ${code}`);
    t.equal(e.driver, 'whatsminer', name);
    t.notMatch(e.message, SECRET, `${name}: not in the message`);
    t.notMatch(logText(), SECRET, `${name}: not in the log`);
  }
});

t.test('the sim answers the reads pyasic sends, in their documented shapes', async (t) => {
  const { sim } = await rig(t);
  const net = await import('node:net');
  const ask = (line: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const s = net.connect({ host: sim.host, port: sim.port }, () => s.write(line));
      let text = '';
      s.on('data', (c: Buffer) => (text += c.toString()));
      s.on('end', () => resolve(JSON.parse(text) as Record<string, unknown>));
      s.on('error', reject);
    });
  const listOk = { STATUS: [{ STATUS: 'S' }] };
  t.match(await ask('{"command":"summary"}'), {
    ...listOk,
    SUMMARY: [{ 'MHS 1m': 100e6, Power: 3400, 'Power Limit': 3400, 'Factory GHS': 100_000 }],
  });
  t.match(await ask('{"command":"edevs"}'), { ...listOk, DEVS: [{ ASC: 0 }, { ASC: 1 }, { ASC: 2 }] });
  t.match(await ask('{"command":"devs"}'), { DEVS: [{ Slot: 0, 'MHS 1m': Number }] });
  t.match(await ask('{"command":"devdetails"}'), { DEVDETAILS: [{ Model: 'M30S+' }] });
  t.match(await ask('{"command":"pools"}'), { POOLS: [{ URL: String, 'Stratum Active': true }] });
  t.match(await ask('{"command":"status"}'), { STATUS: 'S', Code: 131, Msg: { mineroff: 'false', FirmwareVersion: '20230911.12.Rel' } });
  t.match(await ask('{"command":"get_version"}'), { STATUS: 'S', Msg: { api_ver: '2.0.5', rpc_ver: '2.0.5', fw_ver: '20230911.12.Rel' } });
  t.match(await ask('{"command":"get_psu"}'), { Msg: { name: String, vin: String, fan_speed: String, serial_no: String } });
  t.match(await ask('{"command":"get_miner_info"}'), { Msg: { mac: String, hostname: String, ledstat: 'auto', minersn: String } });
  t.match(await ask('{"command":"get_error_code"}'), { STATUS: 'S', Msg: { error_code: [] } });
  const joined = await ask('{"command":"summary+pools"}');
  t.match(joined, { id: 1, summary: [{ SUMMARY: [{}] }], pools: [{ POOLS: [{}] }] }, 'cgminer reads joined by +');
  t.match(await ask('{"command":"summary+get_version"}'), { STATUS: 'E', Code: 14 }, 'Whatsminer reads are not joined');
});

// ---------------------------------------------------------------------------
// API 3.x, more

t.test('3.x: firmware from get.device.info; a power target is undone on resume; a new salt after a restart', async (t) => {
  const { sim, control, logText } = await rigV3(t, { firmwareVersion: '20250214.13.Rel' });
  const s = await control.readState!();
  t.equal(s.firmware, '20250214.13.Rel (API 3.0.1)');
  await control.curtail();
  await control.setPowerTarget!(2500);
  t.same([sim.state.powerLimit, sim.state.mineroff], [2500, false], 'limit set and the service started again');
  sim.expireTokens();
  await control.resume();
  t.equal(sim.state.powerLimit, 3400, 'the limit from before is restored');
  t.match(logText(), /token refused; fetching the salt again/);
  t.equal(sim.commands.filter((c) => c.cmd === 'get.device.info' && c.fields.param === 'salt').length, 2);
  t.notMatch(logText(), SECRET);
});

t.test('3.x: the sim answers the reads pyasic BTMinerV3 sends, in their shapes', async (t) => {
  const { sim } = await rigV3(t);
  const ask = (cmd: string, param: unknown) => framedRoundTrip(sim.host, sim.port3!, { cmd, param }, 2000, cmd);
  t.match(await ask('get.device.info', null), {
    code: 0,
    msg: {
      network: { mac: String, hostname: String },
      system: { api: String, fwversion: String, ledstatus: 'auto' },
      hardware: { boards: 3 },
      miner: { 'miner-sn': String, pcbsn0: String },
    },
  });
  t.match(await ask('get.miner.status', 'summary'), {
    msg: { summary: { 'hash-realtime': 100, 'factory-hash': 100, 'power-realtime': 3400, 'power-limit': 3400, elapsed: Number } },
  });
  t.match(await ask('get.miner.status', 'edevs'), { msg: { edevs: [{ 'hash-average': Number, 'effective-chips': 156 }, {}, {}] } });
  t.match(await ask('get.miner.setting', null), { msg: { 'power-limit': 3400, 'power-mode': 'normal' } });
  t.match(await ask('get.nothing', null), { code: -2 });
  t.match(await ask('set.miner.service', 'stop'), { code: -4 }, 'a write without a token');
  t.equal(sim.state.mineroff, false);
});

t.test('3.x: firmware too old, write refused: DriverErrors with HG_ERR codes', async (t) => {
  const { sim, control, logText } = await rigV3(t, { missing: ['set.miner.power_limit', 'get.device.info'] });
  const s = await control.readState!();
  t.equal(s.firmware, null, 'no device info: firmware unknown, readState still works');
  const e = await driverError(control.setPowerTarget!(2500));
  t.equal(e.code, 'HG_ERR_DRIVER_COMMAND');
  t.match(e.message, /code -2\); the firmware does not know this command/);
  const full = await rigV3(t);
  full.sim.failures.writeDisabled = true;
  t.equal((await driverError(full.control.curtail())).code, 'HG_ERR_DRIVER_CONFIG', 'access denied even with a fresh salt');
  t.notMatch(logText() + full.logText(), SECRET);
  t.equal(sim.state.powerLimit, 3400);
});

// ---------------------------------------------------------------------------
// apiVersion "auto"

async function rigAuto(t: Tap, simOptions: WhatsminerSimOptions, now?: () => number) {
  const sim = await startWhatsminerSim({ password: SECRET, resumeDelayMs: 0, api3: true, ...simOptions });
  t.teardown(() => sim.close());
  const { log, text } = capturedLog();
  const control = createWhatsminerControl(
    config(0, { apiVersion: 'auto', port: null }),
    { host: '127.0.0.1', log, readFile: async () => '', ports: { v2: sim.port, v3: sim.port3! } },
    now,
  );
  t.teardown(() => control.close());
  return { sim, control, logText: text };
}

t.test('auto: a 2.x rig (4433 dead) is found with one probe per version, then driven as 2.x', async (t) => {
  const { sim, control, logText } = await rigAuto(t, {});
  sim.failures.down = ['3'];
  const s = await control.readState!();
  t.equal(s.firmware, '20230911.12.Rel (API 2.0.5)');
  await control.curtail();
  await control.resume();
  t.equal(sim.connections['3'], 1, 'one 3.x probe');
  t.equal(sim.commands.filter((c) => c.cmd === 'get_version').length, 2, 'the 2.x probe, then readState once');
  t.match(logText(), /"apiVersion":"2".*whatsminer API version detected/);
  t.notMatch(logText(), SECRET);
});

t.test('auto: a 3.x rig is found by its first probe and 4028 is never asked', async (t) => {
  const { sim, control } = await rigAuto(t, { firmwareVersion: '20250214.13.Rel' });
  await control.curtail();
  t.equal(sim.state.mineroff, true);
  await control.setPowerTarget!(3000);
  await control.resume();
  t.same([sim.state.mineroff, sim.state.powerLimit], [false, 3400]);
  t.equal(sim.connections['2'], 0, 'no 2.x probe');
  t.ok(sim.commands.some((c) => c.cmd === 'set.miner.service' && c.fields.param === 'start'));
});

t.test('auto: a 2.x answer from an API 3.x build is not trusted; no probe again inside the backoff', async (t) => {
  let clock = 1_000_000;
  const { sim, control, logText } = await rigAuto(t, { firmwareVersion: '20250214.13.Rel' }, () => clock);
  sim.failures.down = ['3'];
  const e = await driverError(control.curtail());
  t.equal(e.code, 'HG_ERR_DRIVER_COMMAND');
  t.match(e.message, /API version unclear: .* answers API 2\.x but its firmware 20250214\.13\.Rel is an API 3\.x build/);
  t.equal(sim.state.mineroff, false, 'nothing written');
  const before = { ...sim.connections };
  const again = await driverError(control.curtail());
  t.match(again.message, /API version not known yet \(next probe in 5000 ms\)/);
  t.same(sim.connections, before, 'no I/O inside the backoff');
  clock += BACKOFF_BASE_MS;
  sim.failures.down = false;
  await control.curtail();
  t.equal(sim.state.mineroff, true, 'found as 3.x once 4433 answers');
  t.match(logText(), /whatsminer API version not detected/);
});

t.test('auto: after a link failure the version is probed again, only once the backoff has run', async (t) => {
  let clock = 1_000_000;
  const { sim, control, logText } = await rigAuto(t, {}, () => clock);
  sim.failures.down = ['3'];
  await control.readState!();
  t.equal(sim.connections['3'], 1);
  // A firmware upgrade: 4028 closes, 4433 opens.
  sim.failures.down = ['2'];
  t.equal((await driverError(control.readState!())).code, 'HG_ERR_DRIVER_COMMAND');
  t.equal((await driverError(control.readState!())).code, 'HG_ERR_DRIVER_COMMAND');
  t.equal(sim.connections['3'], 1, 'no probe inside the backoff');
  clock += BACKOFF_BASE_MS;
  const s = await control.readState!();
  t.same([s.hashing, s.asleep], [true, null], 'now driven as 3.x');
  t.match(logText(), /"from":"2","to":"3".*whatsminer API version changed/);
  await control.curtail();
  t.equal(sim.state.mineroff, true);
});

t.test('auto: nothing answers: a command error naming both probes', async (t) => {
  const { sim, control } = await rigAuto(t, {});
  sim.failures.down = true;
  const e = await driverError(control.curtail());
  t.equal(e.code, 'HG_ERR_DRIVER_COMMAND');
  t.match(e.message, /API version not found: 3\.x: get\.device\.info: .*; 2\.x: get_version: /);
  t.same(sim.connections, { '2': 1, '3': 1 });
});
