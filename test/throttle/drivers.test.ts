/**
 * Rig drivers against simulated firmware APIs over real sockets on 127.0.0.1:
 * luxos ↔ src/sim/luxos-sim.ts (TCP 4028 protocol), esp-miner ↔ src/sim/esp-miner-sim.ts (HTTP),
 * stratum ↔ a recording StratumGate (hashgate's own interface).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import t from 'tap';
import type { DriverConfig } from '../../src/config/throttle-schema.js';
import { type EspMinerSimOptions, startEspMinerSim } from '../../src/sim/esp-miner-sim.js';
import { type LuxosSimOptions, type LuxosSimState, startLuxosSim } from '../../src/sim/luxos-sim.js';
import { createRigControl, normalizeRigIp } from '../../src/throttle/drivers/index.js';
import { MAX_FIRMWARE_PROFILES, parseFirmwareProfiles } from '../../src/throttle/drivers/luxos-profiles.js';
import { DriverError, type RigControl, type StratumGate } from '../../src/throttle/types.js';
import { createLogger } from '../../src/util/log.js';

const SECRET = 'Sekr3t-pa55';

interface Tap {
  teardown(fn: () => unknown): void;
}

/** A logger whose JSON lines are kept, to assert what was (not) logged. */
function capturedLog() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { log: createLogger({ destination: stream, level: 'debug' }), text: () => text };
}

/** A StratumGate that records its calls. */
function recordingGate(): StratumGate & { calls: string[] } {
  const calls: string[] = [];
  return { calls, park: (id) => void calls.push(`park ${id}`), unpark: (id) => void calls.push(`unpark ${id}`) };
}

type LuxosConfig = Extract<DriverConfig, { type: 'luxos' }>;
type EspConfig = Extract<DriverConfig, { type: 'esp-miner' }>;

function luxosConfig(port: number, over: Partial<LuxosConfig> = {}): LuxosConfig {
  return {
    type: 'luxos',
    host: '127.0.0.1',
    port,
    user: 'root',
    password: null,
    passwordFile: null,
    profiles: { '2400': '2400W', '2800': '2800W', '3250': 'default' },
    timeoutMs: 2000,
    settle: { curtailMs: null, resumeMs: null, powerMs: null },
    ...over,
  };
}

async function luxos(t: Tap, simOptions: LuxosSimOptions = {}, over: Partial<LuxosConfig> = {}, readFile?: (p: string) => Promise<string>) {
  const sim = await startLuxosSim(simOptions);
  t.teardown(() => sim.close());
  const { log, text } = capturedLog();
  const gate = recordingGate();
  const control = createRigControl(luxosConfig(sim.port, over), {
    rigId: 'rig1',
    rigIp: null,
    gate,
    log,
    ...(readFile ? { readFile } : {}),
  });
  t.teardown(() => control.close());
  return { sim, control, logText: text, gate };
}

function espConfig(port: number, over: Partial<EspConfig> = {}): EspConfig {
  return {
    type: 'esp-miner',
    host: '127.0.0.1',
    port,
    timeoutMs: 2000,
    settle: { curtailMs: null, resumeMs: null, powerMs: null },
    ...over,
  };
}

async function espMiner(t: Tap, simOptions: EspMinerSimOptions = {}, over: Partial<EspConfig> = {}) {
  const sim = await startEspMinerSim(simOptions);
  t.teardown(() => sim.close());
  const { log } = capturedLog();
  const control = createRigControl(espConfig(sim.port, over), { rigId: 'axe1', rigIp: null, gate: recordingGate(), log });
  t.teardown(() => control.close());
  return { sim, control };
}

/** A port on 127.0.0.1 that nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/** Awaits a rejection and returns the DriverError; anything else (a resolve, another error) fails the test. */
async function driverError(p: Promise<unknown>): Promise<DriverError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof DriverError)) throw new Error(`expected a DriverError rejection, got ${String(e)}`);
  return e;
}

// ---------------------------------------------------------------------------
// luxos

t.test('luxos: curtail, power target and resume change the miner; one session serves them all', async (t) => {
  const changes: LuxosSimState[] = [];
  const { sim, control } = await luxos(t, { profile: 'default', onChange: (s) => changes.push(s) });
  t.equal(control.kind, 'luxos');
  t.equal(control.keepsSession, true);
  t.equal(control.supportsPowerTarget, true);
  t.match(sim.state, { sleeping: false, profile: 'default', watts: 3250, hashing: true });

  await control.curtail();
  t.match(sim.state, { sleeping: true, watts: 15, ghs: 0, hashing: false });
  await control.setPowerTarget!(2800);
  t.match(sim.state, { sleeping: false, profile: '2800W', watts: 2800, hashing: true }, 'target set, boards woken');
  await control.curtail();
  await control.resume();
  t.match(sim.state, { sleeping: false, profile: 'default', watts: 3250 }, 'resume restores the full-power profile and wakes');

  t.same(
    sim.commands.map((c) => c.command),
    ['session', 'logon', 'curtail', 'profileset', 'curtail', 'curtail', 'profileset', 'curtail'],
    'asked for an active session, found none, one logon, the session id reused',
  );
  const sid = sim.state.session!;
  t.ok(sid.length > 0);
  t.same(
    sim.commands.slice(2).map((c) => c.parameter),
    [`${sid},sleep`, `${sid},2800W`, `${sid},wakeup`, `${sid},sleep`, `${sid},default`, `${sid},wakeup`],
    'parameters are "session,arg", comma-separated',
  );
  t.same(
    changes.map((s) => `${s.sleeping ? 'sleep' : 'awake'}/${s.profile}`),
    ['sleep/default', 'sleep/2800W', 'awake/2800W', 'sleep/2800W', 'sleep/default', 'awake/default'],
    'onChange saw every transition',
  );
});

t.test('luxos: readState reads summary and power; reflects sleep', async (t) => {
  const { control } = await luxos(t);
  const awake = await control.readState!();
  t.match(awake, { hashing: true, powerWatts: 3250 });
  t.match(awake.detail, /110000 GH\/s/);
  await control.curtail();
  const asleep = await control.readState!();
  t.match(asleep, { hashing: false, powerWatts: 15 });
  t.match(asleep.detail, /sleep commanded/);
});

t.test('luxos: readState without a `power` command still reports hashing', async (t) => {
  const { sim, control } = await luxos(t);
  sim.failures.errors.power = 'Invalid command';
  t.match(await control.readState!(), { hashing: true, powerWatts: null });
});

t.test('luxos: an expired session is renewed once, then the command succeeds', async (t) => {
  const { sim, control, logText } = await luxos(t);
  await control.curtail();
  sim.expireSession();
  await control.resume();
  t.equal(sim.state.sleeping, false);
  t.same(
    sim.commands.map((c) => c.command),
    ['session', 'logon', 'curtail', 'curtail', 'session', 'logon', 'curtail'],
    'stale id refused, one new session, command repeated',
  );
  t.match(logText(), /session no longer valid \(expired or logged off\); getting a fresh one/);
});

t.test('luxos: a command still refused after the renewed logon fails (no loop)', async (t) => {
  const { sim, control } = await luxos(t);
  sim.failures.errors.curtail = 'Invalid session ID';
  const e = await driverError(control.curtail());
  // The injected error leaves the first session alive on the sim: the renewal finds it active and the command
  // is refused once more.
  t.equal(e.message, 'curtail sleep: Invalid session ID (LuxOS code 999)');
  t.same(
    sim.commands.map((c) => c.command),
    ['session', 'logon', 'curtail', 'session', 'curtail'],
    'exactly one renewal, then give up',
  );
});

t.test('luxos: a refused logon and firmware errors become short DriverErrors', async (t) => {
  const { sim, control } = await luxos(t);
  sim.failures.refuseLogon = 'Another session is active';
  let e = await driverError(control.curtail());
  t.equal(e.driver, 'luxos');
  t.equal(e.message, 'logon: Another session is active (LuxOS code 402)');
  t.equal(e.code, 'HG_ERR_DRIVER_COMMAND', 'the rig refused: a command failure (docs/errors.md)');
  sim.failures.refuseLogon = null;
  sim.failures.errors.curtail = 'Boards are busy';
  e = await driverError(control.curtail());
  t.equal(e.message, 'curtail sleep: Boards are busy (LuxOS code 999)');
  t.equal(sim.state.sleeping, false, 'nothing changed');
});

t.test('luxos: API password from config; wrong password refused; never in errors, logs or the sim record', async (t) => {
  const good = await luxos(t, { password: SECRET }, { password: SECRET });
  await good.control.curtail();
  t.equal(good.sim.state.sleeping, true);
  const logon = good.sim.commands.find((c) => c.command === 'logon')!;
  t.same(logon, { command: 'logon', parameter: '[redacted]', at: logon.at });

  const wrong = 'wrong-' + SECRET;
  const bad = await luxos(t, { password: SECRET }, { password: wrong });
  const e = await driverError(bad.control.curtail());
  t.equal(e.message, 'logon: Invalid password (LuxOS code 901)');
  t.equal(bad.sim.state.sleeping, false);

  const everything = [e.message, good.logText(), bad.logText(), JSON.stringify(good.sim.commands), JSON.stringify(bad.sim.commands)].join(
    '\n',
  );
  t.notMatch(everything, SECRET);
  t.notMatch(everything, wrong);
});

t.test('luxos: a firmware message that echoes the password is scrubbed', async (t) => {
  const { sim, control } = await luxos(t, {}, { password: SECRET });
  sim.failures.refuseLogon = `bad parameter ${SECRET}`;
  const e = await driverError(control.curtail());
  t.equal(e.message, 'logon: bad parameter [redacted] (LuxOS code 402)');
});

t.test('luxos: passwordFile is read once and trimmed; a missing file is a clear DriverError', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hashgate-drivers-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'luxos.pw');
  writeFileSync(file, `  ${SECRET}\n`);
  let reads = 0;
  const { readFile } = await import('node:fs/promises');
  const counting = (p: string) => {
    reads += 1;
    return readFile(p, 'utf8');
  };
  const { sim, control } = await luxos(t, { password: SECRET }, { passwordFile: file }, counting);
  await control.curtail();
  sim.expireSession();
  await control.resume();
  t.equal(sim.state.sleeping, false);
  t.equal(reads, 1, 'read once for two logons');

  const missing = join(dir, 'nope.pw');
  const other = await luxos(t, { password: SECRET }, { passwordFile: missing });
  const e = await driverError(other.control.curtail());
  t.equal(e.message, `cannot read passwordFile ${missing} (ENOENT)`);
  t.equal(e.code, 'HG_ERR_DRIVER_CONFIG', 'a settings problem, not the rig');
  t.equal(other.sim.commands.length, 0, 'nothing sent without the password');

  const empty = join(dir, 'empty.pw');
  writeFileSync(empty, '\n');
  const third = await luxos(t, { password: SECRET }, { passwordFile: empty });
  t.match(await driverError(third.control.curtail()), { message: /is empty/, code: 'HG_ERR_DRIVER_CONFIG' });
});

t.test('luxos: a miner that never answers → timeout; a dropped connection → DriverError', async (t) => {
  const { sim, control } = await luxos(t, {}, { timeoutMs: 200 });
  await control.curtail(); // logged on
  sim.failures.hang = ['curtail'];
  const e = await driverError(control.resume());
  t.match(e.message, /^curtail wakeup: timed out after 200 ms at 127\.0\.0\.1:\d+$/);
  t.equal(e.code, 'HG_ERR_DRIVER_COMMAND');
  sim.failures.hang = false;
  sim.failures.drop = ['summary'];
  const d = await driverError(control.readState!());
  t.match(d.message, /^summary: (connection reset by|connection closed without a reply at) 127\.0\.0\.1:\d+$/);
  sim.failures.drop = false;
  await control.resume();
  t.equal(sim.state.sleeping, false, 'works again afterwards');
});

t.test('luxos: connection refused', async (t) => {
  const port = await closedPort();
  const { log } = capturedLog();
  const control = createRigControl(luxosConfig(port), { rigId: 'rig1', rigIp: null, gate: recordingGate(), log });
  t.teardown(() => control.close());
  const e = await driverError(control.curtail());
  t.equal(e.message, `session: connection refused at 127.0.0.1:${port}`);
});

t.test('luxos: replies without the NUL terminator are read to the end of the connection', async (t) => {
  const { sim, control } = await luxos(t, { nulTerminator: false });
  await control.curtail();
  t.equal(sim.state.sleeping, true);
  t.match(await control.readState!(), { hashing: false });
});

t.test('luxos: a power target needs a known profile: unknown watts and unusable names are config errors', async (t) => {
  const { sim, control } = await luxos(t);
  const e = await driverError(control.setPowerTarget!(2500));
  t.equal(e.message, "no LuxOS profile for 2500 W (driver.profiles has 2400, 2800, 3250; the firmware's profiles not read)");
  t.equal(e.code, 'HG_ERR_DRIVER_CONFIG');
  t.equal(sim.commands.length, 0);
  sim.failures.errors.profileset = 'Profile not found';
  t.match(await driverError(control.setPowerTarget!(2400)), {
    message: /^profileset 2400W: Profile not found/,
    code: 'HG_ERR_DRIVER_COMMAND',
  });

  const none = await luxos(t, {}, { profiles: {} });
  t.equal(none.control.supportsPowerTarget, false, 'no profile configured and none read from the firmware');
  t.match(await driverError(none.control.setPowerTarget!(2400)), {
    message: "no LuxOS profile for 2400 W (driver.profiles has none; the firmware's profiles not read)",
    code: 'HG_ERR_DRIVER_CONFIG',
  });
  t.equal(none.sim.commands.length, 0, 'nothing sent');
  const bad = await luxos(t, {}, { profiles: { '2000': '2' } });
  t.match(await driverError(bad.control.setPowerTarget!(2000)), { message: /reads as a board id/, code: 'HG_ERR_DRIVER_CONFIG' });
});

t.test('luxos: concurrent calls go one at a time; close() logs off and later calls fail', async (t) => {
  const { sim, control } = await luxos(t);
  await Promise.all([control.curtail(), control.readState!(), control.resume(), control.readState!()]);
  t.same(
    sim.commands.map((c) => c.command),
    ['session', 'logon', 'curtail', 'summary', 'power', 'config', 'version', 'curtail', 'summary', 'power', 'config'],
    'in call order, never interleaved (the firmware version asked once)',
  );
  t.equal(sim.state.sleeping, false);
  control.close();
  for (let i = 0; i < 100 && sim.state.session !== null; i++) await new Promise((r) => setTimeout(r, 10));
  t.equal(sim.state.session, null, 'session released for other tools');
  t.equal(sim.commands.at(-1)?.command, 'logoff');
  t.match((await driverError(control.curtail())).message, /driver closed/);
});

t.test('luxos: readState says asleep only on CurtailMode "Sleep"; a booting rig (0 GH/s) is not asleep', async (t) => {
  const { sim, control } = await luxos(t, { booting: true });
  t.match(sim.state, { sleeping: false, booting: true, ghs: 0, hashing: false });
  const booting = await control.readState!();
  t.match(booting, { hashing: false, asleep: false });
  t.match(booting.detail, /^0 GH\/s \(5 s\), 15 W, curtail mode None$/);
  sim.setBooting(false);
  t.match(await control.readState!(), { hashing: true, asleep: false, powerWatts: 3250 });
  await control.curtail();
  const asleep = await control.readState!();
  t.match(asleep, { hashing: false, asleep: true });
  t.match(asleep.detail, /curtail mode Sleep, sleep commanded/);
  sim.failures.errors.config = 'Invalid command';
  t.match(await control.readState!(), { hashing: false, asleep: null }, 'a build without `config` does not say');
});

t.test('luxos: a wakeup the miner answers "Miner is already active" is a success (booting or awake rig)', async (t) => {
  // After a restart hashgate does not know the boards are awake, so resume sends wakeup; LUXminer refuses it.
  const { sim, control, logText } = await luxos(t, { booting: true });
  await control.resume();
  t.equal(sim.commands.at(-1)?.command, 'curtail');
  t.equal(sim.commands.at(-1)?.parameter, `${sim.state.session},wakeup`);
  t.match(logText(), /already in that state; taken as done/);
  sim.setBooting(false);
  await control.curtail();
  await control.resume();
  t.match(sim.state, { sleeping: false, hashing: true });
  sim.failures.errors.curtail = 'Boards are busy';
  t.match(
    await driverError(control.curtail()),
    { message: 'curtail sleep: Boards are busy (LuxOS code 999)' },
    'other refusals still fail',
  );
});

t.test('luxos: another tool holds the session: hashgate uses the active session id instead of logging on', async (t) => {
  const { sim, control } = await luxos(t);
  const theirs = sim.otherTool.logon()!;
  t.ok(theirs);
  await control.curtail();
  t.equal(sim.state.sleeping, true);
  t.same(
    sim.commands.map((c) => c.command),
    ['session', 'curtail'],
    'no logon (it would fail with "Another session is active")',
  );
  t.equal(sim.commands[1]!.parameter, `${theirs},sleep`);
  control.close();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(sim.state.session, theirs, "close() leaves the other tool's session alone");
  t.notOk(sim.commands.some((c) => c.command === 'logoff'));
});

t.test('luxos: another tool logs the session off in between: one fresh session, the command repeated', async (t) => {
  const { sim, control, logText } = await luxos(t);
  await control.curtail(); // hashgate's own session
  sim.otherTool.logoff();
  const theirs = sim.otherTool.logon()!; // and takes a session of its own
  await control.resume();
  t.equal(sim.state.sleeping, false);
  t.same(
    sim.commands.map((c) => c.command),
    ['session', 'logon', 'curtail', 'curtail', 'session', 'curtail'],
    'the stale id refused, the active (other) session found and used',
  );
  t.equal(sim.commands.at(-1)!.parameter, `${theirs},wakeup`);
  t.match(logText(), /session no longer valid/);

  // Logged off between hashgate's `session` and its command, with nobody logged on after: a fresh logon.
  const next = await luxos(t);
  next.sim.failures.logoffAfter = ['session'];
  await next.control.curtail();
  t.equal(next.sim.state.sleeping, true);
  t.same(
    next.sim.commands.map((c) => c.command),
    ['session', 'logon', 'curtail'],
    'no active session after the logoff: logged on',
  );
  const both = await luxos(t);
  const found = both.sim.otherTool.logon()!;
  both.sim.failures.logoffAfter = ['session'];
  await both.control.curtail();
  t.same(
    both.sim.commands.map((c) => c.command),
    ['session', 'curtail', 'session', 'logon', 'curtail'],
    "the other tool's id went stale before use: one renewal, which logs on",
  );
  t.not(both.sim.state.session, found);
  t.equal(both.sim.state.sleeping, true);
});

t.test('luxos: STATUS W is a success: reads judged by their data, changes logged as warnings', async (t) => {
  const { sim, control, logText } = await luxos(t);
  sim.failures.warnings.summary = 'Some boards not hashing';
  sim.failures.warnings.config = 'Partial config';
  t.match(await control.readState!(), { hashing: true, asleep: false }, 'a read with a warning still reads');
  sim.failures.warnings.curtail = 'Fan speed forced';
  sim.failures.warnings.logon = 'Default password in use';
  await control.curtail();
  t.equal(sim.state.sleeping, true, 'the rig did it');
  t.match(logText(), /"command":"curtail sleep","msg":"Fan speed forced".*luxos command answered with a warning/);
  t.match(logText(), /"command":"logon","msg":"Default password in use"/);
});

/** Firmware profiles with names no configuration uses: proof that the driver took them from `profiles`. */
const FIRMWARE_PROFILES: LuxosSimOptions['profiles'] = {
  'eco-2': { watts: 2500, ghs: 90_000 },
  'eco-1': { watts: 2900, ghs: 100_000 },
  default: { watts: 3250, ghs: 110_000 },
  turbo: { watts: 3600, ghs: 118_000 },
};

t.test('luxos: readPowerTargets lists the firmware profiles; targets and resume work from them without driver.profiles', async (t) => {
  const { sim, control } = await luxos(t, { profiles: FIRMWARE_PROFILES, profile: 'default' }, { profiles: {} });
  t.equal(control.supportsPowerTarget, false, 'nothing known before the firmware was asked');
  const targets = await control.readPowerTargets!();
  t.same(
    targets,
    [
      { watts: 2500, ths: 90, name: 'eco-2' },
      { watts: 2900, ths: 100, name: 'eco-1' },
      { watts: 3250, ths: 110, name: 'default' },
      { watts: 3600, ths: 118, name: 'turbo' },
    ],
    'one per profile, ascending by watts, Hashrate in TH/s',
  );
  t.equal(control.supportsPowerTarget, true, 'known once the firmware listed profiles');
  t.same(
    sim.commands.map((c) => c.command),
    ['profiles'],
    'a read: no session',
  );

  await control.setPowerTarget!(2900);
  t.match(sim.state, { profile: 'eco-1', watts: 2900 });
  const sid = sim.state.session!;
  t.equal(sim.commands.at(-1)!.parameter, `${sid},eco-1`, "the firmware's own name");
  t.match((await control.readState!()).detail, /profile for 2900 W/);
  await control.resume();
  t.match(sim.state, { profile: 'default', watts: 3250, sleeping: false }, 'resume returns to "default", not the highest (turbo)');
  t.ok(
    sim.commands.some((c) => c.command === 'profileset' && c.parameter === `${sid},default`),
    'profileset <session>,default',
  );
  t.notOk((await control.readState!()).detail.includes('profile for'), 'no longer reduced');

  t.match(await driverError(control.setPowerTarget!(2700)), {
    message: 'no LuxOS profile for 2700 W (driver.profiles has none; the firmware lists 2500, 2900, 3250, 3600)',
    code: 'HG_ERR_DRIVER_CONFIG',
  });
});

t.test('luxos: driver.profiles override the firmware name for the same watts; without "default" resume takes the highest', async (t) => {
  const profiles = { ...FIRMWARE_PROFILES, 'site-2900': { watts: 2900, ghs: 100_000 } };
  const { sim, control } = await luxos(t, { profiles, profile: 'default' }, { profiles: { '2900': 'site-2900' } });
  t.equal(control.supportsPowerTarget, true, 'configured profiles: as before, without asking the firmware');
  await control.readPowerTargets!();
  await control.setPowerTarget!(2900);
  t.equal(sim.state.profile, 'site-2900', 'the configured name wins over "eco-1"');
  await control.setPowerTarget!(2500);
  t.equal(sim.state.profile, 'eco-2', 'other watts keep the firmware name');
  await control.resume();
  t.equal(sim.state.profile, 'default');

  const twoProfiles = { low: { watts: 2000, ghs: 70_000 }, high: { watts: 3000, ghs: 100_000 } };
  const noDefault = await luxos(t, { profiles: twoProfiles, profile: 'high' }, { profiles: {} });
  await noDefault.control.readPowerTargets!();
  await noDefault.control.setPowerTarget!(2000);
  t.equal(noDefault.sim.state.profile, 'low');
  await noDefault.control.resume();
  t.equal(noDefault.sim.state.profile, 'high', 'no "default" listed: the highest-watt profile');
  await noDefault.control.setPowerTarget!(3000);
  const before = noDefault.sim.commands.length;
  await noDefault.control.resume();
  t.notOk(
    noDefault.sim.commands.slice(before).some((c) => c.command === 'profileset'),
    'a target at the full-power watts is not a reduction: resume sends no profileset',
  );
});

t.test('luxos: readPowerTargets from an older build without `profiles` is empty; other refusals are DriverErrors', async (t) => {
  const old = await luxos(t, { unsupported: ['profiles'] }, { profiles: {} });
  t.same(await old.control.readPowerTargets!(), []);
  t.equal(old.control.supportsPowerTarget, false);
  const configured = await luxos(t, { unsupported: ['profiles'] });
  t.same(await configured.control.readPowerTargets!(), []);
  await configured.control.setPowerTarget!(2800);
  t.equal(configured.sim.state.profile, '2800W', 'driver.profiles still serve');

  const { sim, control } = await luxos(t, {}, { profiles: {} });
  sim.failures.errors.profiles = 'Busy';
  t.match(await driverError(control.readPowerTargets!()), { message: 'profiles: Busy (LuxOS code 999)', code: 'HG_ERR_DRIVER_COMMAND' });
  t.equal(control.supportsPowerTarget, false);
  sim.failures.errors = {};
  sim.failures.drop = ['profiles'];
  await driverError(control.readPowerTargets!());
});

t.test('luxos: parseFirmwareProfiles skips bad entries, keeps one per watts, reads at most 64, never throws on odd entries', async (t) => {
  const where = '127.0.0.1:4028';
  const reply = {
    STATUS: [{ STATUS: 'S' }],
    PROFILES: [
      { 'Profile Name': 'default', Watts: 3250, Hashrate: 110 },
      { 'Profile Name': 'low', Watts: '2400', Hashrate: 'n/a' },
      { 'Profile Name': 'dup', Watts: 3250.2, Hashrate: 111 },
      { 'Profile Name': '', Watts: 2000 },
      { 'Profile Name': 'a,b', Watts: 2100 },
      { 'Profile Name': '2', Watts: 2200 },
      { 'Profile Name': 'zero', Watts: 0 },
      { 'Profile Name': 'neg', Watts: -5 },
      { 'Profile Name': 'tiny', Watts: 0.4 },
      { 'Profile Name': 'huge', Watts: 1e9 },
      { 'Profile Name': 'x'.repeat(65), Watts: 2300 },
      { Watts: 2350 },
      null,
      'text',
      [1, 2],
      { 'Profile Name': 'neg-hash', Watts: 2600, Hashrate: -1 },
    ],
  };
  t.same(parseFirmwareProfiles(reply, where), [
    { watts: 2400, ths: null, name: 'low' },
    { watts: 2600, ths: null, name: 'neg-hash' },
    { watts: 3250, ths: 110, name: 'default' },
  ]);
  const tie = {
    PROFILES: [
      { 'Profile Name': 'a', Watts: 3000 },
      { 'Profile Name': 'default', Watts: 3000 },
      { 'Profile Name': 'b', Watts: 3000 },
    ],
  };
  t.same(parseFirmwareProfiles(tie, where), [{ watts: 3000, ths: null, name: 'default' }], '"default" wins a tie, else the first');

  const many = { PROFILES: Array.from({ length: 100 }, (_, i) => ({ 'Profile Name': `p${i}`, Watts: 1000 + i })) };
  const read = parseFirmwareProfiles(many, where);
  t.equal(read.length, MAX_FIRMWARE_PROFILES);
  t.equal(read.at(-1)!.name, `p${MAX_FIRMWARE_PROFILES - 1}`, 'entries after the 64th are ignored');

  for (const bad of [{}, { PROFILES: 'x' }, { PROFILES: { a: 1 } }]) {
    t.throws(() => parseFirmwareProfiles(bad, where), {
      name: 'DriverError',
      message: `profiles: reply from ${where} has no PROFILES list`,
    });
  }

  const entry = fc.oneof(fc.anything(), fc.record({ 'Profile Name': fc.string(), Watts: fc.anything(), Hashrate: fc.anything() }));
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 80 }), (entries) => {
      const out = parseFirmwareProfiles({ PROFILES: entries }, where);
      if (out.length > MAX_FIRMWARE_PROFILES) return false;
      for (let i = 1; i < out.length; i++) if (!(out[i - 1]!.watts < out[i]!.watts)) return false;
      return out.every(
        (p) => Number.isInteger(p.watts) && p.watts > 0 && p.watts <= 100_000 && p.name.trim() !== '' && (p.ths === null || p.ths >= 0),
      );
    }),
    { numRuns: 300 },
  );
});

t.test('luxos: readState reports the firmware version, asked once and again after LUXminer restarts', async (t) => {
  let clock = 1_700_000_000_000;
  const { sim, control } = await luxos(t, { now: () => clock, firmwareVersion: '2024.1.26.143259-2d8448bf' });
  t.match(await control.readState!(), { firmware: '2024.1.26.143259-2d8448bf', hashrateThs: 110, hashing: true });
  clock += 60_000;
  t.equal((await control.readState!()).firmware, '2024.1.26.143259-2d8448bf');
  t.equal(sim.commands.filter((c) => c.command === 'version').length, 1, 'not asked on every read');
  sim.restartMiner('2025.5.1.000000-0badc0de'); // Elapsed back to 0: LUXminer restarted (a firmware update)
  t.equal((await control.readState!()).firmware, '2025.5.1.000000-0badc0de');
  t.equal(sim.commands.filter((c) => c.command === 'version').length, 2, 'asked again after the restart');
});

t.test('luxos: an older build without `version` and `profiles` still reads, curtails and resumes', async (t) => {
  const { sim, control } = await luxos(t, { unsupported: ['version', 'profiles'] }, { profiles: {} });
  t.match(await control.readState!(), { hashing: true, firmware: null, powerWatts: 3250, asleep: false });
  t.same(await control.readPowerTargets!(), []);
  await control.curtail();
  t.match(await control.readState!(), { hashing: false, asleep: true, firmware: null });
  await control.resume();
  t.equal(sim.state.sleeping, false);
  t.equal(sim.commands.filter((c) => c.command === 'version').length, 1, 'a build without `version` is not asked again');
});

// ---------------------------------------------------------------------------
// esp-miner

t.test('esp-miner: readState says asleep only on miningPaused; a booting rig (0 GH/s) is not asleep', async (t) => {
  const { sim, control } = await espMiner(t, { booting: true });
  t.match(sim.state, { paused: false, booting: true, hashRate: 0 });
  const booting = await control.readState!();
  t.match(booting, { hashing: false, asleep: false });
  t.match(booting.detail, /^0 GH\/s, 3 W, not paused$/);
  await control.curtail();
  t.match(await control.readState!(), { hashing: false, asleep: true });
  const old = await espMiner(t, { pauseEndpoints: false, booting: true });
  t.match(await old.control.readState!(), { hashing: false, asleep: null }, 'firmware without miningPaused does not say');
});

t.test('esp-miner: pause and resume over HTTP; readState from /api/system/info', async (t) => {
  const changes: boolean[] = [];
  const { sim, control } = await espMiner(t, { onChange: (s) => changes.push(s.paused) });
  t.equal(control.kind, 'esp-miner');
  t.equal(control.keepsSession, true);
  t.equal(control.supportsPowerTarget, false);
  t.equal(control.setPowerTarget, undefined);
  t.match(await control.readState!(), { hashing: true, asleep: false, powerWatts: 17, hashrateThs: 1.2, firmware: 'v2.14.0' });

  await control.curtail();
  t.match(sim.state, { paused: true, hashRate: 0, power: 3 });
  const paused = await control.readState!();
  t.match(paused, { hashing: false, asleep: true, powerWatts: 3 });
  t.match(paused.detail, /^0 GH\/s, 3 W, mining paused$/);
  await control.resume();
  t.match(sim.state, { paused: false, hashRate: 1200, power: 17 });
  t.same(changes, [true, false]);
  t.same(
    sim.requests.map((r) => `${r.method} ${r.path}`),
    ['GET /api/system/info', 'POST /api/system/pause', 'GET /api/system/info', 'POST /api/system/resume'],
  );
});

t.test('esp-miner: firmware without pause (pre-2.14) and HTTP errors are DriverErrors', async (t) => {
  const old = await espMiner(t, { pauseEndpoints: false });
  const e = await driverError(old.control.curtail());
  t.equal(e.driver, 'esp-miner');
  t.equal(e.code, 'HG_ERR_DRIVER_COMMAND');
  t.match(
    e.message,
    /^POST \/api\/system\/pause: HTTP 404 from 127\.0\.0\.1:\d+ \(ESP-Miner before 2\.14 has no pause\/resume endpoints\)$/,
  );
  t.equal(old.sim.state.paused, false);

  const { sim, control } = await espMiner(t);
  sim.failures.status.pause = 500;
  t.match((await driverError(control.curtail())).message, /HTTP 500/);
  sim.failures.status.pause = 401;
  t.match((await driverError(control.curtail())).message, /private networks/);
  t.equal(sim.state.paused, false);
});

t.test('esp-miner: a hanging or dropping rig, a half reply and a refused connection reject', async (t) => {
  const { sim, control } = await espMiner(t, {}, { timeoutMs: 200 });
  sim.failures.hang = ['pause'];
  t.match((await driverError(control.curtail())).message, /^POST \/api\/system\/pause: timed out after 200 ms at 127\.0\.0\.1:\d+$/);
  sim.failures.hang = false;
  sim.failures.drop = ['info'];
  t.match((await driverError(control.readState!())).message, /^GET \/api\/system\/info: connection (reset by|to) 127\.0\.0\.1:\d+/);
  sim.failures.drop = false;
  sim.failures.halfReply = ['info', 'pause'];
  t.match(
    (await driverError(control.readState!())).message,
    /^GET \/api\/system\/info: 127\.0\.0\.1:\d+ closed the connection mid-answer$/,
  );
  t.match((await driverError(control.curtail())).message, /^POST \/api\/system\/pause: 127\.0\.0\.1:\d+ closed the connection mid-answer$/);
  sim.failures.halfReply = false;
  await control.curtail();
  t.equal(sim.state.paused, true, 'works again afterwards');

  const port = await closedPort();
  const { log } = capturedLog();
  const refused = createRigControl(espConfig(port), { rigId: 'axe2', rigIp: null, gate: recordingGate(), log });
  t.teardown(() => refused.close());
  t.equal((await driverError(refused.resume())).message, `POST /api/system/resume: connection refused at 127.0.0.1:${port}`);
});

// ---------------------------------------------------------------------------
// stratum and the factory

t.test('stratum: curtail parks the rig at the gate, resume unparks it', async (t) => {
  const gate = recordingGate();
  const { log } = capturedLog();
  const control: RigControl = createRigControl({ type: 'stratum' }, { rigId: 'alice.rig7', rigIp: '10.0.0.7', gate, log });
  t.equal(control.kind, 'stratum');
  t.equal(control.keepsSession, false, 'the daemon closes its sessions');
  t.equal(control.supportsPowerTarget, false);
  t.equal(control.readState, undefined);
  await control.curtail();
  await control.resume();
  t.same(gate.calls, ['park alice.rig7', 'unpark alice.rig7']);
  control.close();
  await driverError(control.curtail());
  t.same(gate.calls, ['park alice.rig7', 'unpark alice.rig7'], 'nothing after close');

  const failing: StratumGate = {
    park: () => {
      throw new Error('daemon stopping');
    },
    unpark: () => {},
  };
  const c2 = createRigControl({ type: 'stratum' }, { rigId: 'r', rigIp: null, gate: failing, log });
  t.match(await driverError(c2.curtail()), { message: 'park failed: daemon stopping', code: 'HG_ERR_DRIVER_COMMAND' });
});

t.test('factory: the firmware address defaults to the rig source address; none known → DriverError', async (t) => {
  t.equal(normalizeRigIp('::ffff:10.0.0.5'), '10.0.0.5');
  t.equal(normalizeRigIp('fd00::5'), 'fd00::5');
  t.equal(normalizeRigIp('10.0.0.5'), '10.0.0.5');

  const sim = await startEspMinerSim();
  t.teardown(() => sim.close());
  const { log } = capturedLog();
  const control = createRigControl(espConfig(sim.port, { host: null }), {
    rigId: 'axe',
    rigIp: '::ffff:127.0.0.1',
    gate: recordingGate(),
    log,
  });
  t.teardown(() => control.close());
  await control.curtail();
  t.equal(sim.state.paused, true, 'reached through the IPv4-mapped source address');

  t.throws(() => createRigControl(luxosConfig(4028, { host: null }), { rigId: 'ghost', rigIp: null, gate: recordingGate(), log }), {
    name: 'DriverError',
    driver: 'luxos',
    code: 'HG_ERR_DRIVER_CONFIG',
    message: 'rig ghost has no address: set driver.host, or let the rig connect first',
  });
});
