/**
 * The `antminer` driver against src/sim/antminer-sim.ts over real sockets on 127.0.0.1: the web CGI behind
 * digest auth (work mode writes, read back), the cgminer API on TCP 4028 (hash rate), and the failures
 * a real rig shows (wrong password, a 401 loop, a hang, a half answer, the API closed while bmminer restarts).
 */
import { PassThrough } from 'node:stream';
import t from 'tap';
import type { DriverConfig } from '../../src/config/throttle-schema.js';
import { type AntminerSimOptions, type AntminerSimState, startAntminerSim } from '../../src/sim/antminer-sim.js';
import { createRigControl } from '../../src/throttle/drivers/index.js';
import { buildDigestAuthorization } from '../../src/throttle/drivers/http-digest.js';
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
) {
  const sim = await startAntminerSim({ password: SECRET, replyDelayMs: 20, restartMs: 50, ...simOptions });
  t.teardown(() => sim.close());
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  const log = createLogger({ destination: stream, level: 'debug' });
  const gate = { park: () => {}, unpark: () => {} };
  const control = createRigControl(config(sim.port, sim.apiPort, over), {
    rigId: 's19',
    rigIp: null,
    gate,
    log,
    ...(readFile ? { readFile } : {}),
  });
  t.teardown(() => control.close());
  return { sim, control, logText: () => text };
}

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
  const { sim, control, logText } = await antminer(t, { onChange: (s) => changes.push(s) });
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
