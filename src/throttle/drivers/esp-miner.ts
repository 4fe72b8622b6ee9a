/**
 * The `esp-miner` driver: Bitaxe-family rigs running ESP-Miner (AxeOS),
 * through its HTTP API. Reference: docs/drivers.md;
 * https://github.com/bitaxeorg/ESP-Miner/blob/master/main/http_server/openapi.yaml
 * and the pause/resume change (bitaxeorg/ESP-Miner pull request #1608,
 * released in firmware 2.14).
 *
 * - curtail: `POST /api/system/pause` (the ASIC stops hashing; AxeOS and Wi-Fi stay up).
 * - resume:  `POST /api/system/resume`.
 * - readState: `GET /api/system/info`, fields `hashRate` (GH/s), `power` (W) and
 *   `miningPaused` (true after pause; the positive sign of sleep; absent before 2.14).
 *   A 0 hash rate alone is not a pause: the ASIC reports 0 while it starts.
 * Any 2xx answer is success; the body of pause/resume is not needed.
 * Older firmware answers 404 on pause/resume. AxeOS answers 401 to clients
 * outside private address ranges. No authentication exists.
 */

import type { DriverConfig } from '../../config/throttle-schema.js';
import type { Logger } from '../../util/log.js';
import { DriverError, type RigControl, type RigFirmwareState } from '../types.js';
import { clip, createSerialQueue, describeAddress } from './common.js';
import { httpExchange } from './http-exchange.js';
import { driverTiming } from './timing.js';

export type EspMinerDriverConfig = Extract<DriverConfig, { type: 'esp-miner' }>;

export interface EspMinerContext {
  /** The resolved address (driver.host, else the rig's Stratum source address). */
  readonly host: string;
  readonly log: Logger;
}

/** `/api/system/info` is ~2 KiB; anything far larger is not AxeOS. */
const MAX_BODY_BYTES = 256 * 1024;

const HINTS: Readonly<Record<number, string>> = {
  401: ' (AxeOS answers only clients on private networks)',
  404: ' (ESP-Miner before 2.14 has no pause/resume endpoints)',
};

interface HttpResult {
  readonly status: number;
  readonly body: string;
}

function request(host: string, port: number, method: 'GET' | 'POST', path: string, timeoutMs: number): Promise<HttpResult> {
  return httpExchange({ driver: 'esp-miner', host, port, method, path, timeoutMs, maxBodyBytes: MAX_BODY_BYTES });
}

function numberOf(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export function createEspMinerControl(config: EspMinerDriverConfig, ctx: EspMinerContext): RigControl {
  const { host, log } = ctx;
  const { port, timeoutMs } = config;
  const where = describeAddress(host, port);
  const serial = createSerialQueue();
  let closed = false;

  async function call(method: 'GET' | 'POST', path: string): Promise<string> {
    if (closed) throw new DriverError('esp-miner', 'driver closed');
    log.debug({ method, path }, 'esp-miner request');
    const res = await request(host, port, method, path, timeoutMs);
    if (res.status < 200 || res.status > 299) {
      throw new DriverError('esp-miner', `${method} ${path}: HTTP ${res.status} from ${where}${HINTS[res.status] ?? ''}`);
    }
    return res.body;
  }

  return {
    kind: 'esp-miner',
    supportsPowerTarget: false,
    keepsSession: true,
    timing: driverTiming('esp-miner', config.settle),
    curtail: () => serial(async () => void (await call('POST', '/api/system/pause'))),
    resume: () => serial(async () => void (await call('POST', '/api/system/resume'))),
    readState: () =>
      serial(async (): Promise<RigFirmwareState> => {
        const body = await call('GET', '/api/system/info');
        let info: unknown;
        try {
          info = JSON.parse(body);
        } catch {
          throw new DriverError('esp-miner', `GET /api/system/info: answer from ${where} is not JSON (${clip(body, 60)})`);
        }
        if (typeof info !== 'object' || info === null)
          throw new DriverError('esp-miner', `GET /api/system/info: answer from ${where} is not an object`);
        const fields = info as Record<string, unknown>;
        const ghs = numberOf(fields.hashRate);
        if (ghs === null) throw new DriverError('esp-miner', `GET /api/system/info: answer from ${where} has no hashRate`);
        const watts = numberOf(fields.power);
        const paused = typeof fields.miningPaused === 'boolean' ? fields.miningPaused : null;
        const pausedText = paused === null ? 'pause unknown' : paused ? 'mining paused' : 'not paused';
        return {
          hashing: ghs > 0,
          asleep: paused,
          hashrateThs: ghs / 1000,
          powerWatts: watts,
          firmware: typeof fields.version === 'string' ? clip(fields.version, 64) : null,
          detail: `${Math.round(ghs * 10) / 10} GH/s, ${watts === null ? 'power unknown' : `${Math.round(watts * 10) / 10} W`}, ${pausedText}`,
        };
      }),
    close: () => {
      closed = true;
    },
  };
}
