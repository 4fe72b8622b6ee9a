/**
 * A simulated ESP-Miner (AxeOS, Bitaxe family) HTTP API on 127.0.0.1, for
 * tests and demos. Written from the public API description and what the common
 * fleet client (pyasic) reads, independent of src/:
 *   https://github.com/bitaxeorg/ESP-Miner/blob/master/main/http_server/openapi.yaml
 *   https://github.com/bitaxeorg/ESP-Miner/pull/1608 (pause/resume, firmware 2.14)
 *   ESP-Miner's GET_system_asic handler; UpstreamData/pyasic pyasic/miners/backends/espminer.py,
 *   FanModeConfig.from_espminer; notes/firmware-apis.md § 4.
 *
 * Routes:
 * - GET  /api/system/info    → 200 JSON, a realistic subset of SystemInfo: hashRate (GH/s), power (W),
 *   voltage (input, mV) and current (mA), temp and vrTemp (°C), frequency (MHz), coreVoltage (mV),
 *   fanspeed (%), fanrpm, autofanspeed (1 = auto), asicCount, smallCoreCount (expected hash rate =
 *   smallCoreCount × asicCount × frequency MH/s), macAddr, hostname, version, uptimeSeconds,
 *   stratumURL/Port/User and fallbackStratumURL/Port/User, sharesAccepted/Rejected
 * - GET  /api/system/asic    → 200 JSON: ASICModel, deviceModel, swarmColor, asicCount, hashDomains,
 *   defaultFrequency, frequencyOptions[], defaultVoltage, voltageOptions[] (mV)
 * - POST /api/system/pause   → 200 {"message": …}; the ASIC stops, power falls to idleWatts
 * - POST /api/system/resume  → 200 {"message": …}; back to full power
 * - any other /api/… route   → 404 {"error": "unknown route"} (what the firmware answers)
 * With `pauseEndpoints: false` the sim is pre-2.14 firmware: pause/resume are unknown routes (and info has
 * no miningPaused). Booting (`booting` option, `setBooting`): the ASIC starting up, 0 GH/s but not paused;
 * only `miningPaused` says the rig was paused.
 * No authentication (AxeOS has none; it only refuses clients outside private networks).
 */
import http from 'node:http';
import { type FirmwareSim, type FirmwareSimOptions, matches, serveFirmwareSim, stateListeners } from './shared.js';

export type EspMinerRoute = 'info' | 'asic' | 'pause' | 'resume';

export interface EspMinerSimState {
  readonly paused: boolean;
  /** The ASIC starting up: not hashing yet, not paused. */
  readonly booting: boolean;
  /** GH/s now (0 while paused or booting). */
  readonly hashRate: number;
  /** Watts now: activeWatts, or idleWatts while paused. */
  readonly power: number;
}

export interface EspMinerSimRequest {
  readonly method: string;
  readonly path: string;
  readonly at: number;
}

/** Switches tests flip at any time. A route list matches by route; `true` matches every route. */
export interface EspMinerSimFailures {
  /** Answer these routes with this HTTP status (and a JSON error) instead of doing anything. */
  status: Partial<Record<EspMinerRoute, number>>;
  /** Read the request, never answer. */
  hang: boolean | readonly EspMinerRoute[];
  /** Read the request, reset the connection. */
  drop: boolean | readonly EspMinerRoute[];
  /** Answer 200 with a Content-Length for the whole body, send half of it, then close (a reboot mid-answer). */
  halfReply: boolean | readonly EspMinerRoute[];
}

export interface EspMinerSimOptions extends FirmwareSimOptions<EspMinerSimState> {
  /** Hash rate while mining, GH/s (default 1200, a Bitaxe Gamma). */
  readonly hashRate?: number;
  /** Watts while mining (default 17). */
  readonly activeWatts?: number;
  /** Watts while paused: ESP32, regulator standby, fan (default 3). */
  readonly idleWatts?: number;
  readonly paused?: boolean;
  /** Start booting: 0 GH/s, not paused, until setBooting(false). */
  readonly booting?: boolean;
  /** false = firmware before 2.14: no pause/resume routes (default true). */
  readonly pauseEndpoints?: boolean;
  readonly version?: string;
  /** `macAddr` (default "02:00:00:b1:7a:01", lower case; clients upper-case it). */
  readonly macAddr?: string;
  readonly hostname?: string;
  /** The pool user (`stratumUser`, default "hashgate.bitaxe"). */
  readonly stratumUser?: string;
}

/** onChange: after every pause or resume that changed the state. */
export interface EspMinerSim extends FirmwareSim<EspMinerSimState, EspMinerSimFailures> {
  readonly requests: readonly EspMinerSimRequest[];
  /** Starts (true) or ends (false) the booting state; ignored while paused. */
  setBooting(on: boolean): void;
}

/** The simulated board: a Bitaxe Gamma (BM1370, one chip, 2040 small cores; a captured AxeOS reply shows the same). */
const ASIC = Object.freeze({
  model: 'BM1370',
  device: 'Gamma',
  count: 1,
  smallCores: 2040,
  hashDomains: 4,
  defaultFrequency: 525,
  frequencyOptions: Object.freeze([400, 490, 525, 550, 600, 625]),
  defaultVoltage: 1150,
  voltageOptions: Object.freeze([1000, 1060, 1100, 1150, 1200, 1250]),
});

export async function startEspMinerSim(options: EspMinerSimOptions = {}): Promise<EspMinerSim> {
  const now = options.now ?? Date.now;
  const hashRate = options.hashRate ?? 1200;
  const activeWatts = options.activeWatts ?? 17;
  const idleWatts = options.idleWatts ?? 3;
  const pauseEndpoints = options.pauseEndpoints ?? true;
  const version = options.version ?? (pauseEndpoints ? 'v2.14.0' : 'v2.13.0');
  const macAddr = options.macAddr ?? '02:00:00:b1:7a:01';
  const hostname = options.hostname ?? 'bitaxe-sim';
  const stratumUser = options.stratumUser ?? 'hashgate.bitaxe';
  let paused = options.paused ?? false;
  let booting = !paused && (options.booting ?? false);
  const started = now();
  let accepted = 0;
  const requests: EspMinerSimRequest[] = [];
  const failures: EspMinerSimFailures = { status: {}, hang: false, drop: false, halfReply: false };
  const listeners = stateListeners(options.onChange);

  function state(): EspMinerSimState {
    const idle = paused || booting;
    return { paused, booting, hashRate: idle ? 0 : hashRate, power: idle ? idleWatts : activeWatts };
  }

  function setPaused(p: boolean): void {
    if (p === paused) return;
    paused = p;
    booting = false;
    listeners.notify(state());
  }

  function info(): Record<string, unknown> {
    const s = state();
    if (!paused && !booting) accepted += 1;
    const inputMv = 5100;
    return {
      ...(pauseEndpoints ? { miningPaused: paused } : {}),
      ASICModel: ASIC.model,
      asicCount: ASIC.count,
      smallCoreCount: ASIC.smallCores,
      hashRate: s.hashRate,
      expectedHashrate: hashRate,
      power: s.power,
      voltage: inputMv,
      current: (s.power / inputMv) * 1e6, // mA
      temp: paused ? 32 : 58,
      vrTemp: paused ? 35 : 52,
      autofanspeed: 1,
      fanspeed: paused ? 20 : 65,
      fanrpm: paused ? 1500 : 4200,
      frequency: ASIC.defaultFrequency,
      coreVoltage: ASIC.defaultVoltage,
      coreVoltageActual: paused ? 0 : ASIC.defaultVoltage - 6,
      sharesAccepted: accepted,
      sharesRejected: 0,
      uptimeSeconds: Math.floor((now() - started) / 1000),
      hostname,
      macAddr,
      version,
      axeOSVersion: version,
      stratumURL: '127.0.0.1',
      stratumPort: 3333,
      stratumUser,
      fallbackStratumURL: '127.0.0.1',
      fallbackStratumPort: 3334,
      fallbackStratumUser: stratumUser,
      isUsingFallbackStratum: 0,
    };
  }

  /** GET /api/system/asic, as ESP-Miner's handler builds it. */
  function asic(): Record<string, unknown> {
    return {
      ASICModel: ASIC.model,
      deviceModel: ASIC.device,
      swarmColor: 'purple',
      asicCount: ASIC.count,
      hashDomains: ASIC.hashDomains,
      defaultFrequency: ASIC.defaultFrequency,
      frequencyOptions: [...ASIC.frequencyOptions],
      defaultVoltage: ASIC.defaultVoltage,
      voltageOptions: [...ASIC.voltageOptions],
    };
  }

  function send(res: http.ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
    res.end(text);
  }

  function routeOf(method: string, path: string): EspMinerRoute | null {
    if (method === 'GET' && path === '/api/system/info') return 'info';
    if (method === 'GET' && path === '/api/system/asic') return 'asic';
    if (pauseEndpoints && method === 'POST' && path === '/api/system/pause') return 'pause';
    if (pauseEndpoints && method === 'POST' && path === '/api/system/resume') return 'resume';
    return null;
  }

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?')[0]!;
    requests.push({ method, path, at: now() });
    req.resume(); // drain any body
    req.on('end', () => {
      const route = routeOf(method, path);
      if (route === null) return send(res, 404, { error: 'unknown route' });
      if (matches(failures.hang, route)) return;
      if (matches(failures.drop, route)) {
        req.socket.resetAndDestroy();
        return;
      }
      const forced = failures.status[route];
      if (forced !== undefined) return send(res, forced, { error: `simulated failure ${forced}` });
      if (matches(failures.halfReply, route)) {
        const body = Buffer.from(JSON.stringify(route === 'info' ? info() : { message: 'ok' }));
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
        res.write(body.subarray(0, body.length >> 1), () => req.socket.destroy());
        return;
      }
      switch (route) {
        case 'info':
          return send(res, 200, info());
        case 'asic':
          return send(res, 200, asic());
        case 'pause':
          setPaused(true);
          return send(res, 200, { message: 'Mining paused' });
        case 'resume':
          setPaused(false);
          return send(res, 200, { message: 'Mining resumed' });
      }
    });
  });
  const sim = await serveFirmwareSim(server, state, failures, listeners);
  return Object.assign(sim, {
    requests,
    setBooting(on: boolean) {
      if (paused || booting === on) return;
      booting = on;
      listeners.notify(state());
    },
  });
}
