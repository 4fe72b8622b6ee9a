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
import t from 'tap';
import type { DriverConfig } from '../../src/config/throttle-schema.js';
import { type EspMinerSimOptions, startEspMinerSim } from '../../src/sim/esp-miner-sim.js';
import { type LuxosSimOptions, type LuxosSimState, startLuxosSim } from '../../src/sim/luxos-sim.js';
import { createRigControl, normalizeRigIp } from '../../src/throttle/drivers/index.js';
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
  return { type: 'esp-miner', host: '127.0.0.1', port, timeoutMs: 2000, settle: { curtailMs: null, resumeMs: null, powerMs: null }, ...over };
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

t.test('luxos: power targets come only from driver.profiles', async (t) => {
  const { sim, control } = await luxos(t);
  const e = await driverError(control.setPowerTarget!(2500));
  t.equal(e.message, 'no LuxOS profile configured for 2500 W (driver.profiles has 2400, 2800, 3250)');
  t.equal(e.code, 'HG_ERR_DRIVER_CONFIG');
  t.equal(sim.commands.length, 0);
  sim.failures.errors.profileset = 'Profile not found';
  t.match(await driverError(control.setPowerTarget!(2400)), {
    message: /^profileset 2400W: Profile not found/,
    code: 'HG_ERR_DRIVER_COMMAND',
  });

  const none = await luxos(t, {}, { profiles: {} });
  t.equal(none.control.supportsPowerTarget, false);
  t.equal(none.control.setPowerTarget, undefined);
  const bad = await luxos(t, {}, { profiles: { '2000': '2' } });
  t.match(await driverError(bad.control.setPowerTarget!(2000)), { message: /reads as a board id/, code: 'HG_ERR_DRIVER_CONFIG' });
});

t.test('luxos: concurrent calls go one at a time; close() logs off and later calls fail', async (t) => {
  const { sim, control } = await luxos(t);
  await Promise.all([control.curtail(), control.readState!(), control.resume(), control.readState!()]);
  t.same(
    sim.commands.map((c) => c.command),
    ['session', 'logon', 'curtail', 'summary', 'power', 'config', 'curtail', 'summary', 'power', 'config'],
    'in call order, never interleaved',
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
  t.match(await control.readState!(), { hashing: true, asleep: false, powerWatts: 17 });

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

t.test('esp-miner: a hanging or dropping rig and a refused connection reject', async (t) => {
  const { sim, control } = await espMiner(t, {}, { timeoutMs: 200 });
  sim.failures.hang = ['pause'];
  t.match((await driverError(control.curtail())).message, /^POST \/api\/system\/pause: timed out after 200 ms at 127\.0\.0\.1:\d+$/);
  sim.failures.hang = false;
  sim.failures.drop = ['info'];
  t.match((await driverError(control.readState!())).message, /^GET \/api\/system\/info: connection (reset by|to) 127\.0\.0\.1:\d+/);
  sim.failures.drop = false;
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
