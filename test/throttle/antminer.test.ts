/**
 * The `antminer` driver against src/sim/antminer-sim.ts over real sockets on 127.0.0.1: the web CGI behind
 * digest auth (work mode writes, read back), the cgminer API on TCP 4028 (hash rate), and the failures
 * a real rig shows (wrong password, a 401 loop, a hang, a half answer, the API closed while bmminer restarts).
 */
import { PassThrough } from 'node:stream';
import t from 'tap';
import type { DriverConfig } from '../../src/config/throttle-schema.js';
import { type AntminerSimOptions, type AntminerSimState, startAntminerSim } from '../../src/sim/antminer-sim.js';
import {
  API_RETRY_MS,
  apiCommand,
  firmwareOfSystemInfo,
  firmwareOfVersion,
  toGhs,
  wattsOf,
  webSummaryGhs,
} from '../../src/throttle/drivers/antminer-read.js';
import { createAntminerControl, createRigControl } from '../../src/throttle/drivers/index.js';
import { buildDigestAuthorization, digestRequest } from '../../src/throttle/drivers/http-digest.js';
import { powerTargetsOf } from '../../src/throttle/inventory.js';
import { DriverError } from '../../src/throttle/types.js';
import { createLogger } from '../../src/util/log.js';

const SECRET = 'Sekr3t-pa55';

type AntminerConfig = Extract<DriverConfig, { type: 'antminer' }>;

interface Tap {
  teardown(fn: () => unknown): void;
}

function config(webPort: number, apiPort: number, over: Partial<AntminerConfig> = {}): AntminerConfig {
  return {
    type: 'antminer',
    host: '127.0.0.1',
    webPort,
    apiPort,
    user: 'root',
    password: SECRET,
    passwordFile: null,
    lowPowerWatts: 2500,
    timeoutMs: 2000,
    writeTimeoutMs: 2000,
    settle: { curtailMs: null, resumeMs: null, powerMs: null },
    ...over,
  };
}

async function antminer(
  t: Tap,
  simOptions: AntminerSimOptions = {},
  over: Partial<AntminerConfig> = {},
  readFile?: (p: string) => Promise<string>,
  now?: () => number,
) {
  const sim = await startAntminerSim({ password: SECRET, replyDelayMs: 20, restartMs: 50, ...simOptions });
  t.teardown(() => sim.close());
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  const log = createLogger({ destination: stream, level: 'debug' });
  const gate = { park: () => {}, unpark: () => {} };
  // With a clock, the driver is made directly (the daemon's createRigControl passes none: Date.now).
  const control = now
    ? createAntminerControl(config(sim.port, sim.apiPort, over), { host: '127.0.0.1', log, readFile: readFile ?? fail, now })
    : createRigControl(config(sim.port, sim.apiPort, over), { rigId: 's19', rigIp: null, gate, log, ...(readFile ? { readFile } : {}) });
  t.teardown(() => control.close());
  return { sim, control, logText: () => text };
}

const fail = (p: string): Promise<string> => Promise.reject(new Error(`unexpected read of ${p}`));

async function driverError(p: Promise<unknown>): Promise<DriverError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  if (!(e instanceof DriverError)) throw new Error(`expected a DriverError rejection, got ${String(e)}`);
  return e;
}

/** Resolves once the sim's miner process is back after a mode change (its onChange event), bounded. */
function restarted(sim: { readonly state: AntminerSimState; onChange(fn: (s: AntminerSimState) => void): () => void }): Promise<void> {
  if (!sim.state.restarting) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => (off(), reject(new Error('timed out waiting for the sim to finish restarting'))), 10_000);
    const off = sim.onChange((s) => {
      if (s.restarting) return;
      clearTimeout(timer);
      off();
      resolve();
    });
  });
}

t.test('antminer: curtail writes sleep, resume writes normal, each read back; the miner restarts in between', async (t) => {
  const changes: AntminerSimState[] = [];
  const { sim, control, logText } = await antminer(t, { onChange: (s) => changes.push(s), restartMs: 1000 }); // a gap long enough to read in
  t.equal(control.kind, 'antminer');
  t.equal(control.keepsSession, true);
  t.match(await control.readState!(), { hashing: true, asleep: false, powerWatts: null });

  await control.curtail();
  t.match(sim.state, { workMode: '1', hashRate: 0 });
  t.match(sim.lastWrite(), { 'miner-mode': 1, 'bitmain-work-mode': 1, 'freq-level': '100' });
  t.equal((sim.lastWrite()!.pools as unknown[]).length, 3, 'all three pool slots are sent');
  const asleep = await control.readState!();
  t.match(asleep, { hashing: false, asleep: true });
  t.match(asleep.detail, /work mode sleep/);

  await control.curtail(); // already asleep: no second write, no second restart
  t.equal(sim.requests.filter((r) => r === 'POST set_miner_conf').length, 1);

  await control.resume();
  t.match(sim.state, { workMode: '0', restarting: true });
  const restarting = await control.readState!();
  t.match(restarting, { hashing: false, asleep: false }, 'the API closed while bmminer restarts is not sleep');
  t.match(restarting.detail, /API: summary: connection closed without a reply/);
  await restarted(sim);
  t.match(await control.readState!(), { hashing: true, asleep: false });
  t.ok(changes.some((s) => s.workMode === '1') && changes.at(-1)!.workMode === '0');
  t.notMatch(logText(), SECRET);
  t.match(logText(), /antminer work mode set/);
});

t.test('antminer: the power target is the low-power work mode, and only where configured', async (t) => {
  const { sim, control } = await antminer(t);
  t.equal(control.supportsPowerTarget, true);
  await control.setPowerTarget!(2500);
  t.match(sim.state, { workMode: '3' });
  await restarted(sim);
  t.match(await control.readState!(), { hashing: true, asleep: false, detail: /82500 GH\/s, work mode low power/ });
  await control.resume();
  t.equal(sim.state.workMode, '0');

  const none = await antminer(t, {}, { lowPowerWatts: null });
  t.equal(none.control.supportsPowerTarget, false);
  t.equal(none.control.setPowerTarget, undefined);

  // A model without LPM answers M000 and keeps its mode: the read-back catches it.
  const s19k = await antminer(t, { lowPowerMode: false });
  const e = await driverError(s19k.control.setPowerTarget!(2500));
  t.match(e.message, /accepted the low power mode but still reports work mode "0"/);
  t.equal(e.code, 'HG_ERR_DRIVER_COMMAND');

  t.same(powerTargetsOf({ type: 'antminer', lowPowerWatts: 2500 }, 3250), [2500]);
  t.same(powerTargetsOf({ type: 'antminer', lowPowerWatts: 3500 }, 3250), []);
  t.same(powerTargetsOf({ type: 'antminer', lowPowerWatts: null }, 3250), []);
});

t.test('antminer: a booting rig (0 GH/s, normal mode) is not asleep; the sleep sign is the work mode', async (t) => {
  const { sim, control } = await antminer(t, { booting: true });
  const booting = await control.readState!();
  t.match(booting, { hashing: false, asleep: false });
  t.match(booting.detail, /^0 GH\/s, work mode normal$/);
  sim.setBooting(false);
  t.match(await control.readState!(), { hashing: true, asleep: false });
  const asleep = await antminer(t, { workMode: '1', ghsAsString: true });
  t.match(await asleep.control.readState!(), { hashing: false, asleep: true });
  await asleep.control.resume();
  await restarted(asleep.sim);
  t.match(await asleep.control.readState!(), { hashing: true, detail: /^110000 GH\/s/ }, 'GHS 5s as a string');
});

t.test('antminer: the quirk firmware that ignores bitmain-work-mode still obeys miner-mode', async (t) => {
  const { sim, control } = await antminer(t);
  sim.failures.ignoreWorkModeKey = true;
  await control.curtail();
  t.equal(sim.state.workMode, '1');
});

t.test('antminer: wrong password and a 401 loop are bounded DriverErrors without the password', async (t) => {
  const { sim, control, logText } = await antminer(t, { password: 'other' });
  const e = await driverError(control.curtail());
  t.equal(e.code, 'HG_ERR_DRIVER_COMMAND');
  t.match(e.message, /^GET \/cgi-bin\/get_miner_conf\.cgi: HTTP 401 from 127\.0\.0\.1:\d+ after digest auth \(wrong user or password\)$/);
  t.notMatch(e.message, SECRET);
  t.notMatch(logText(), SECRET);
  t.same(sim.requests, ['GET get_miner_conf 401', 'GET get_miner_conf 401'], 'one challenge answered, no loop');

  const loop = await antminer(t);
  loop.sim.failures.alwaysUnauthorized = true;
  await driverError(loop.control.readState!());
  t.equal(loop.sim.requests.length, 2);
  loop.sim.failures.alwaysUnauthorized = false;
  t.match(await loop.control.readState!(), { asleep: false }, 'works again afterwards');
});

t.test('antminer: password file, default root/root, unreadable file', async (t) => {
  const files: Record<string, string> = { '/etc/hashgate/s19.pw': `${SECRET}\n` };
  const readFile = async (p: string) => {
    if (p in files) return files[p]!;
    throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  };
  const fromFile = await antminer(t, {}, { password: null, passwordFile: '/etc/hashgate/s19.pw' }, readFile);
  await fromFile.control.curtail();
  t.equal(fromFile.sim.state.workMode, '1');

  const byDefault = await antminer(t, { password: 'root' }, { password: null });
  t.match(await byDefault.control.readState!(), { asleep: false });

  const missing = await antminer(t, {}, { password: null, passwordFile: '/nope' }, readFile);
  const e = await driverError(missing.control.curtail());
  t.equal(e.code, 'HG_ERR_DRIVER_CONFIG');
  t.match(e.message, /cannot read passwordFile \/nope \(ENOENT\)/);
  t.same(missing.sim.requests, [], 'nothing sent');
});

t.test('antminer: timeouts, half answers, HTTP errors and a refused write', async (t) => {
  const { sim, control } = await antminer(t, {}, { timeoutMs: 200, writeTimeoutMs: 300 });
  sim.failures.hang = ['get_miner_conf'];
  t.match(
    (await driverError(control.curtail())).message,
    /^GET \/cgi-bin\/get_miner_conf\.cgi: timed out after 200 ms at 127\.0\.0\.1:\d+$/,
  );
  sim.failures.hang = ['set_miner_conf'];
  t.match((await driverError(control.curtail())).message, /^POST \/cgi-bin\/set_miner_conf\.cgi: timed out after 300 ms/);
  sim.failures.hang = false;

  sim.failures.half = ['get_miner_conf'];
  t.match((await driverError(control.curtail())).message, /closed the connection mid-answer/);
  sim.failures.half = ['api'];
  const e = await driverError(
    (async () => {
      const state = await control.readState!();
      throw new DriverError('antminer', state.detail);
    })(),
  );
  t.match(e.message, /summary: reply from 127\.0\.0\.1:\d+ is cut short or not a JSON object/);
  sim.failures.half = false;
  sim.failures.hang = ['api'];
  const hung = await control.readState!();
  t.match(hung, { hashing: false, asleep: false, hashrateThs: null }, 'a 4028 that hangs: not hashing, not a failure');
  t.match(hung.detail, /API: summary: timed out after 200 ms at 127\.0\.0\.1:\d+$/);
  t.notOk(sim.requests.includes('GET summary'), 'a timeout is no refusal: the web summary is not asked');
  sim.failures.hang = false;

  sim.failures.status.get_miner_conf = 500;
  t.match((await driverError(control.readState!())).message, /HTTP 500 from/);
  delete sim.failures.status.get_miner_conf;
  sim.failures.refuseWrite = true;
  t.match(
    (await driverError(control.curtail())).message,
    /^set_miner_conf: 127\.0\.0\.1:\d+ refused the sleep mode \(M001 Invalid config\)$/,
  );
  sim.failures.refuseWrite = false;
  t.equal(sim.state.workMode, '0');

  const slow = await antminer(t, { replyDelayMs: 20_000 }, { writeTimeoutMs: 150 });
  t.match((await driverError(slow.control.curtail())).message, /set_miner_conf\.cgi: timed out after 150 ms/);
});

t.test('buildDigestAuthorization: the RFC 2617 § 3.5 example', async (t) => {
  // RFC 2617 § 3.5: user Mufasa, password "Circle Of Life", cnonce 0a4f113b → response 6629fae4…4ef1.
  const challenge =
    'Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41"';
  t.equal(
    buildDigestAuthorization(challenge, 'GET', '/dir/index.html', 'Mufasa', 'Circle Of Life', '0a4f113b'),
    'Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", ' +
      'qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41"',
  );
  t.equal(buildDigestAuthorization('Basic realm="x"', 'GET', '/', 'u', 'p'), null);
  t.equal(buildDigestAuthorization('Digest realm="x", nonce="n", algorithm=SHA-256', 'GET', '/', 'u', 'p'), null);
  t.equal(buildDigestAuthorization('Digest realm="x", nonce="n", qop="auth-int"', 'GET', '/', 'u', 'p'), null);
});

t.test('antminer: the config block has its defaults and refuses bad values', async (t) => {
  const { buildConfig } = await import('../../src/config/index.js');
  const rig = (driver: Record<string, unknown>) => ({ name: 's19', match: { worker: 's19.*' }, ratedWatts: 3250, ratedThs: 104, driver });
  const config = buildConfig({ file: { name: 'a', value: { pools: ['stratum+tcp://127.0.0.1:1'], rigs: [rig({ type: 'antminer' })] } } });
  t.same(config.rigs[0]!.driver, {
    type: 'antminer',
    host: null,
    webPort: 80,
    apiPort: 4028,
    user: 'root',
    password: null,
    passwordFile: null,
    lowPowerWatts: null,
    timeoutMs: 5000,
    writeTimeoutMs: 60_000,
    settle: { curtailMs: null, resumeMs: null, powerMs: null },
  });
  t.throws(() =>
    buildConfig({
      file: { name: 'b', value: { pools: ['stratum+tcp://127.0.0.1:1'], rigs: [rig({ type: 'antminer', lowPowerWatts: -1, port: 80 })] } },
    }),
  );
});

t.test('antminer readState: the firmware version is read once; watts only where the model reports them', async (t) => {
  const { sim, control } = await antminer(t);
  const first = await control.readState!();
  t.match(first, {
    hashing: true,
    hashrateThs: 110,
    powerWatts: null,
    firmware: 'Antminer S19j Pro, Mon Jan 9 10:00:00 CST 2023 (Release)',
  });
  t.equal(first.detail, '110000 GH/s, work mode normal', 'no watt figure where none is reported');
  const second = await control.readState!();
  t.equal(second.firmware, first.firmware, 'kept');
  t.same(
    sim.requests.filter((r) => r.includes('get_system_info') || r.startsWith('api stats') || r === 'api version'),
    ['GET get_system_info 401', 'GET get_system_info', 'api stats', 'api stats new_api'],
    'system info once; stats (legacy, then new-API form) asked once, then no more: stock S19/S21 report no watts',
  );

  const chainPower = await antminer(t, { powerField: 'chain_power', watts: 3250 });
  const running = await chainPower.control.readState!();
  t.match(running, { powerWatts: 3250, detail: /^110000 GH\/s, work mode normal, 3250 W$/ });
  t.equal(chainPower.sim.requests.filter((r) => r.startsWith('api stats')).length, 1, '"3250 W" in the legacy STATS[1]');
  await chainPower.control.curtail();
  await restarted(chainPower.sim);
  t.match(await chainPower.control.readState!(), { hashing: false, asleep: true, powerWatts: 15 }, 'asleep: the control board only');

  const watt = await antminer(t, { powerField: 'watt', watts: 5525, workMode: '3' });
  t.match(await watt.control.readState!(), { powerWatts: Math.round(5525 * 0.7), hashrateThs: 82.5 });

  const noVersion = await antminer(t, { firmwareVersion: null });
  t.equal((await noVersion.control.readState!()).firmware, null, 'no version field anywhere: null');
  await noVersion.control.readState!();
  t.same(
    noVersion.sim.requests.filter((r) => r === 'GET get_system_info' || r === 'api version'),
    ['GET get_system_info', 'api version'],
    'then 4028 version (CompileTime), each once',
  );

  const no404 = await antminer(t);
  no404.sim.failures.status.get_system_info = 404;
  t.equal((await no404.control.readState!()).firmware, 'Antminer S19j Pro, Mon Jan 9 10:00:00 CST 2023', 'from 4028 version');

  const broken = await antminer(t, { api: false });
  broken.sim.failures.status.get_system_info = 404;
  for (let i = 0; i < 5; i++) t.equal((await broken.control.readState!()).firmware, null);
  t.equal(broken.sim.requests.filter((r) => r === 'GET get_system_info').length, 3, 'given up after three failed reads');
});

t.test('antminer readState: 4028 closed → the web summary, remembered; 4028 asked again after API_RETRY_MS', async (t) => {
  let clock = 1_000_000;
  const { sim, control, logText } = await antminer(t, { api: false, powerField: 'watt', restartMs: 1000 }, {}, undefined, () => clock);
  t.equal(sim.state.apiListening, false);
  const first = await control.readState!();
  t.match(first, { hashing: true, asleep: false, hashrateThs: 110, powerWatts: 3250, firmware: /^Antminer S19j Pro, / });
  t.equal(first.detail, '110000 GH/s (web summary), work mode normal, 3250 W');
  t.match(logText(), /antminer API refused; hash rate read from the web summary/);
  t.ok(sim.requests.includes('GET stats'), 'watts from the web stats.cgi');

  await sim.setApiListening(true);
  clock += API_RETRY_MS - 1;
  t.match((await control.readState!()).detail, /\(web summary\)/, 'remembered: 4028 not asked before the re-try time');
  t.notOk(
    sim.requests.some((r) => r === 'api summary'),
    'no 4028 request yet',
  );
  clock += 1;
  t.equal((await control.readState!()).detail, '110000 GH/s, work mode normal, 3250 W', 're-tried: 4028 answers again');
  t.ok(sim.requests.includes('api summary'));
  t.match(logText(), /antminer API answers again/);

  // 4028 closes for good during a write's miner-process restart: the web summary has nothing either, still no failure.
  await sim.setApiListening(false);
  await control.curtail();
  await control.resume();
  t.equal(sim.state.restarting, true);
  const restarting = await control.readState!();
  t.match(restarting, { hashing: false, asleep: false, hashrateThs: null, powerWatts: null }, 'restart gap: not hashing, not a failure');
  t.match(
    restarting.detail,
    /^hash rate unknown, work mode normal, API: summary: connection refused at 127\.0\.0\.1:\d+, web summary: GET \/cgi-bin\/summary\.cgi: answer from 127\.0\.0\.1:\d+ is not JSON/,
  );
  await restarted(sim);
  t.match(await control.readState!(), { hashing: true, detail: /^110000 GH\/s \(web summary\)/ });
});

t.test('antminer readState: a restart gap that refuses 4028 is still "not hashing", not a switch to the web', async (t) => {
  const { sim, control } = await antminer(t, { workMode: '1', restartGap: 'refuse', restartMs: 1000 });
  await control.resume();
  t.match(sim.state, { restarting: true, apiListening: false });
  const gap = await control.readState!();
  t.match(gap, { hashing: false, asleep: false });
  t.match(gap.detail, /API: summary: connection refused at 127\.0\.0\.1:\d+, web summary: .*not JSON/);
  await restarted(sim);
  t.equal(sim.state.apiListening, true);
  t.equal(
    (await control.readState!()).detail,
    '110000 GH/s, work mode normal',
    '4028 again: the empty web summary did not count as working',
  );
});

t.test('antminer: firmware too old (no work mode, no web summary) and a model without low-power mode', async (t) => {
  const old = await antminer(t, { hasWorkMode: false, webStats: false, api: false });
  const e = await driverError(old.control.curtail());
  t.equal(e.code, 'HG_ERR_DRIVER_CONFIG');
  t.match(e.message, /^get_miner_conf: 127\.0\.0\.1:\d+ reports no work mode .*firmware too old/);
  t.notOk(
    old.sim.requests.some((r) => r.startsWith('POST')),
    'nothing written',
  );
  const state = await old.control.readState!();
  t.match(state, { hashing: false, asleep: null, hashrateThs: null });
  t.match(
    state.detail,
    /^hash rate unknown, work mode unknown, API: summary: connection refused at .*, web summary: GET \/cgi-bin\/summary\.cgi: HTTP 404/,
  );

  const s19k = await antminer(t, { lowPowerMode: false });
  const lpm = await driverError(s19k.control.setPowerTarget!(2500));
  t.equal(lpm.code, 'HG_ERR_DRIVER_COMMAND');
  t.match(lpm.message, /still reports work mode "0" \(a model without low-power mode ignores it: set lowPowerWatts to null\)$/);
});

t.test('antminer: no failure puts the password in a message or a log line', async (t) => {
  const { sim, control, logText } = await antminer(t, { api: false }, { timeoutMs: 150, writeTimeoutMs: 150 });
  const messages: string[] = [];
  const collect = async (p: Promise<unknown>) => messages.push((await driverError(p)).message);
  sim.failures.hang = ['get_miner_conf'];
  await collect(control.readState!());
  sim.failures.hang = false;
  sim.failures.half = ['get_miner_conf'];
  await collect(control.curtail());
  sim.failures.half = false;
  sim.failures.alwaysUnauthorized = true;
  await collect(control.resume());
  sim.failures.alwaysUnauthorized = false;
  sim.failures.hang = ['set_miner_conf'];
  await collect(control.curtail());
  sim.failures.hang = false;
  sim.failures.half = ['summary'];
  messages.push((await control.readState!()).detail);
  t.equal(messages.length, 5);
  t.match(messages, [
    /timed out/,
    /mid-answer/,
    /HTTP 401 .* after digest auth/,
    /set_miner_conf\.cgi: timed out/,
    /web summary: .*mid-answer/,
  ]);
  for (const m of messages) t.notMatch(m, SECRET);
  t.notMatch(logText(), SECRET);
  t.notMatch(JSON.stringify(sim.requests), SECRET);
});

t.test('antminer readState parsers: units, watt fields, firmware text (shapes from captured replies)', async (t) => {
  // asic-rs test/json/v2023_07/s23_hydro_web_summary_captured.json: rate_5s 572845.56 with rate_unit "GH/s".
  t.equal(webSummaryGhs({ SUMMARY: [{ rate_5s: 572845.56, rate_unit: 'GH/s' }] }), 572845.56);
  // The "Stock Bitmain Firmware API" doc's KS5 reply: rate_unit "H/s".
  t.equal(webSummaryGhs({ SUMMARY: [{ rate_5s: 5e12, rate_unit: 'H/s' }] }), 5000);
  t.equal(toGhs('7903.729', undefined), 7903.729, 'GHS 5s as a string (older bmminer)');
  t.equal(toGhs(104, 'TH/s'), 104_000);
  t.equal(toGhs(110_000, 'GH'), 110_000, 'legacy stats rate_unit without /s');
  t.equal(toGhs(1, 'furlongs'), null);
  t.equal(toGhs(-1, 'GH/s'), null);
  t.equal(webSummaryGhs({ SUMMARY: [] }), null);
  // asic-rs telemetry.rs wattage(): chain_power "3250 W" (a string), power / Power / watt (numbers).
  t.equal(wattsOf({ STATS: [{ Type: 'Antminer S19' }, { chain_power: '3250 W' }] }), 3250);
  t.equal(wattsOf({ STATS: [{ watt: 5525 }] }), 5525, 'the captured S23 Hyd. web stats');
  t.equal(wattsOf({ STATS: [{ power: '3010' }] }), 3010);
  t.equal(wattsOf({ STATS: [{ chain_power: 'n/a' }, { Power: 2900 }] }), 2900);
  t.equal(wattsOf({ STATS: [{ 'GHS 5s': 1 }] }), null, 'stock S19/S21: no watt field');
  t.equal(wattsOf({}), null);
  t.equal(
    firmwareOfSystemInfo({
      minertype: 'Antminer KS5 Pro',
      system_filesystem_version: 'Wed Aug 28 11:12:11 CST 2024',
      firmware_type: 'Release',
    }),
    'Antminer KS5 Pro, Wed Aug 28 11:12:11 CST 2024 (Release)',
  );
  t.equal(firmwareOfSystemInfo({ system_filesystem_version: 'Wed Aug 28 11:12:11 CST 2024' }), 'Wed Aug 28 11:12:11 CST 2024');
  t.equal(firmwareOfSystemInfo({ minertype: 'Antminer S9' }), null);
  t.equal(
    firmwareOfVersion({ VERSION: [{ CompileTime: 'Thu Jan 8 15:44:15 CST 2026', Type: 'Antminer S21 XP Hyd.' }] }),
    'Antminer S21 XP Hyd., Thu Jan 8 15:44:15 CST 2026',
  );
  t.equal(firmwareOfVersion({ VERSION: [{}] }), null);
});

t.test('antminer sim: the 4028 commands and web CGI pyasic reads, in their documented shapes', async (t) => {
  const sim = await startAntminerSim({ password: SECRET, powerField: 'chain_power' });
  t.teardown(() => sim.close());
  const api = (command: string, newApi = false) => apiCommand('127.0.0.1', sim.apiPort, command, 2000, newApi);
  t.match(await api('summary'), {
    STATUS: [{ STATUS: 'S', Code: 11 }],
    SUMMARY: [{ 'GHS 5s': 110000, 'GHS av': 110000, Elapsed: Number }],
    id: 1,
  });
  const stats = await api('stats');
  t.match(stats, {
    STATUS: [{ Msg: 'CGMiner stats' }],
    STATS: [
      { Type: 'Antminer S19j Pro' },
      { total_rateideal: 110000, rate_unit: 'GH', chain_rate1: String, fan1: Number, chain_power: '3250 W' },
    ],
  });
  const modern = await api('stats', true);
  t.match(modern, {
    STATUS: { STATUS: 'S', Msg: 'stats' },
    INFO: { type: 'Antminer S19j Pro' },
    STATS: [{ rate_5s: 110000, rate_unit: 'GH/s', 'miner-mode': 0 }],
  });
  t.equal(((modern.STATS as Record<string, unknown>[])[0]!.chain as unknown[]).length, 3);
  t.match(await api('pools'), {
    POOLS: [{ POOL: 0, URL: 'stratum+tcp://127.0.0.1:3333', User: 'acct.w1', Status: 'Alive', 'Stratum Active': true }],
  });
  t.match(await api('version'), { VERSION: [{ API: '3.1', CompileTime: 'Mon Jan  9 10:00:00 CST 2023', Type: 'Antminer S19j Pro' }] });
  t.equal(((await api('devs')).DEVS as unknown[]).length, 3);
  const multi = await api('summary+pools');
  t.match(multi, { summary: [{ SUMMARY: [{ 'GHS 5s': 110000 }] }], pools: [{ POOLS: [{ URL: String }] }], id: 1 });
  t.match(await api('nonsense'), { STATUS: [{ STATUS: 'E', Code: 14 }] });

  const get = async (name: string) => {
    const res = await digestRequest({
      driver: 'antminer',
      host: '127.0.0.1',
      port: sim.port,
      method: 'GET',
      path: `/cgi-bin/${name}.cgi`,
      user: 'root',
      password: SECRET,
      timeoutMs: 2000,
    });
    t.equal(res.status, 200, name);
    return JSON.parse(res.body) as Record<string, unknown>;
  };
  t.same(await get('get_blink_status'), { blink: false });
  t.match(await get('summary'), {
    STATUS: { STATUS: 'S', Msg: 'summary' },
    SUMMARY: [{ rate_5s: 110000, rate_unit: 'GH/s', status: [{ type: 'rate', status: 's' }] }],
  });
  t.match(await get('pools'), { POOLS: [{ index: 0, url: 'stratum+tcp://127.0.0.1:3333', user: 'acct.w1', status: 'Alive' }] });
  t.match(await get('stats'), { STATS: [{ rate_5s: 110000, chain: Array }] });
  t.match(await get('get_system_info'), {
    minertype: 'Antminer S19j Pro',
    system_filesystem_version: String,
    firmware_type: 'Release',
    macaddr: String,
  });
});
