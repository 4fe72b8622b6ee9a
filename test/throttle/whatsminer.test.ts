/**
 * The whatsminer driver (API 2.x) against src/sim/whatsminer-sim.ts over real TCP on 127.0.0.1: curtail,
 * resume, power target, readState (booting is not asleep), token reuse and refresh, wrong password, write API
 * disabled, timeouts and half replies. The password never shows in an error or a log line.
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
import { DriverError } from '../../src/throttle/types.js';
import { createLogger } from '../../src/util/log.js';

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
  return { type: 'whatsminer', host: '127.0.0.1', port, password: SECRET, passwordFile: null, apiVersion: '2', timeoutMs: 2000, settle: { curtailMs: null, resumeMs: null, powerMs: null }, ...over };
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
  t.same(off, { cmd: 'power_off', encrypted: true, fields: { cmd: 'power_off', respbefore: 'true' } }, 'power_off with respbefore');

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
  t.equal(sim.commands.filter((c) => c.cmd === 'get.device.info').length, 1, 'the salt is reused');
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

t.test('config: defaults, apiVersion "2" | "3", the password redacted', async (t) => {
  const build = (driver: unknown) =>
    buildConfig({ file: { name: 'f.json', value: { pools: ['stratum+tcp://pool:3333'], defaultRig: { driver } } } });
  const c = build({ type: 'whatsminer', password: SECRET });
  t.same(c.defaultRig.driver, {
    type: 'whatsminer',
    host: null,
    port: null,
    password: SECRET,
    passwordFile: null,
    apiVersion: '2',
    timeoutMs: 5000,
    settle: { curtailMs: null, resumeMs: null, powerMs: null },
  });
  t.equal((build({ type: 'whatsminer', apiVersion: '3' }).defaultRig.driver as WhatsminerConfig).apiVersion, '3');
  t.throws(() => build({ type: 'whatsminer', apiVersion: 'auto' }), /must be "2" or "3"/);
  t.notMatch(JSON.stringify(redactConfig(c)), SECRET);
});
