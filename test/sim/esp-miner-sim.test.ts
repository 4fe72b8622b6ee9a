/**
 * The ESP-Miner (AxeOS) simulator (src/sim/esp-miner-sim.ts) as a fleet client sees it over HTTP on 127.0.0.1:
 * `GET /api/system/info` with the fields pyasic reads, and `GET /api/system/asic` in the shape of ESP-Miner's
 * handler (notes/firmware-apis.md § 4).
 */
import t from 'tap';
import { type EspMinerSim, type EspMinerSimOptions, startEspMinerSim } from '../../src/sim/esp-miner-sim.js';

interface Tap {
  teardown(fn: () => unknown): void;
}

type Json = Record<string, unknown>;

async function sim(t: Tap, options: EspMinerSimOptions = {}): Promise<EspMinerSim> {
  const s = await startEspMinerSim(options);
  t.teardown(() => s.close());
  return s;
}

/** One bounded request; the status and the parsed body. */
async function request(s: EspMinerSim, method: string, path: string): Promise<{ status: number; body: Json }> {
  const res = await fetch(`http://127.0.0.1:${s.port}${path}`, { method, signal: AbortSignal.timeout(2000) });
  return { status: res.status, body: (await res.json()) as Json };
}

t.test('GET /api/system/info: the fields pyasic reads, with their types and units', async (t) => {
  const s = await sim(t, { macAddr: 'aa:bb:cc:dd:ee:01', hostname: 'axe-7', stratumUser: 'site.axe7', version: 'v2.14.1' });
  const { status, body } = await request(s, 'GET', '/api/system/info');
  t.equal(status, 200);
  t.match(body, {
    hashRate: 1200,
    power: 17,
    asicCount: 1,
    smallCoreCount: 2040,
    frequency: 525,
    autofanspeed: 1,
    macAddr: 'aa:bb:cc:dd:ee:01',
    hostname: 'axe-7',
    version: 'v2.14.1',
    stratumUser: 'site.axe7',
    fallbackStratumUser: 'site.axe7',
    fallbackStratumURL: String,
    fallbackStratumPort: Number,
    miningPaused: false,
  });
  for (const key of ['uptimeSeconds', 'temp', 'vrTemp', 'voltage', 'fanrpm', 'fanspeed', 'coreVoltage']) t.type(body[key], 'number', key);
  t.ok((body.voltage as number) > 1000, 'voltage is the input voltage in mV, as AxeOS reports it');
  // pyasic's expected hash rate: smallCoreCount × asicCount × frequency, in MH/s.
  const expectedGhs = ((body.smallCoreCount as number) * (body.asicCount as number) * (body.frequency as number)) / 1000;
  t.ok(expectedGhs > 1000 && expectedGhs < 1100, `expected hash rate ${expectedGhs} GH/s is a Bitaxe Gamma's`);
  t.match(body.macAddr, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i);
});

t.test('GET /api/system/info while paused: 0 GH/s, idle watts, miningPaused', async (t) => {
  const s = await sim(t);
  t.equal((await request(s, 'POST', '/api/system/pause')).status, 200);
  t.match((await request(s, 'GET', '/api/system/info')).body, { hashRate: 0, power: 3, miningPaused: true, autofanspeed: 1 });
  const old = await sim(t, { pauseEndpoints: false });
  const info = (await request(old, 'GET', '/api/system/info')).body;
  t.notOk('miningPaused' in info, 'pre-2.14 firmware has no miningPaused');
  t.match(info, { version: 'v2.13.0', asicCount: 1, smallCoreCount: 2040 });
});

t.test('GET /api/system/asic: model, counts, default and offered frequencies and voltages', async (t) => {
  const s = await sim(t);
  const { status, body } = await request(s, 'GET', '/api/system/asic');
  t.equal(status, 200);
  t.match(body, { ASICModel: 'BM1370', deviceModel: String, asicCount: 1, defaultFrequency: 525, defaultVoltage: 1150 });
  const freqs = body.frequencyOptions as number[];
  const volts = body.voltageOptions as number[];
  t.ok(Array.isArray(freqs) && freqs.length > 1 && freqs.every((f) => typeof f === 'number'));
  t.ok(Array.isArray(volts) && volts.length > 1 && volts.every((v) => typeof v === 'number'));
  t.ok(freqs.includes(body.defaultFrequency as number), 'the default frequency is one of the options');
  t.ok(volts.includes(body.defaultVoltage as number), 'the default voltage is one of the options');
  t.same(
    s.requests.map((r) => `${r.method} ${r.path}`),
    ['GET /api/system/asic'],
  );
  s.failures.status.asic = 500;
  t.equal((await request(s, 'GET', '/api/system/asic')).status, 500, 'failure switches cover the route');
});
