/**
 * The `antminer` driver's reads (its readState), from the stock firmware's two APIs; wire facts and sources in
 * notes/firmware-apis.md § 1.2, § 1.6 and § 1.7, reference docs/drivers.md § antminer.
 *
 * - Hash rate: the cgminer API on TCP 4028 first (`summary` → `SUMMARY[0]["GHS 5s"]`, GH/s, a number or a
 *   numeric string on older bmminer; what pyasic and asic-rs read). Some stock builds ship with 4028 off: when it
 *   refuses the connection, the web `summary.cgi` (digest auth) gives `SUMMARY[0].rate_5s` in `rate_unit`
 *   ("GH/s" in the captured S23 Hyd. reply, "H/s" in the KS5 doc). The control remembers that the web works and
 *   asks 4028 again after API_RETRY_MS. A 4028 that accepts and closes without a reply is the miner process
 *   restarting after a write (not a refusal): read as "not hashing", not a failure, as is a web summary that has
 *   nothing to say while bmminer is down.
 * - Watts: only some models report them, in `stats`: `chain_power` as a string ("3250 W", legacy `STATS[1]`),
 *   `power`/`Power`/`watt` as numbers (any row; `watt` in the captured S23 Hyd. web stats); the keys asic-rs
 *   reads. Stock S19/S21 samples carry none: the first stats reply without a watt field stops the asking.
 * - Firmware version: `get_system_info.cgi` `system_filesystem_version` (the build date, what asic-rs reports
 *   as the firmware version), with `firmware_type` and `minertype`; else 4028 `version` `VERSION[0].CompileTime`
 *   (pyasic's). Read once and kept; a rig that never answers it is given up on after FIRMWARE_ATTEMPTS reads.
 */

import type { Logger } from '../../util/log.js';
import { DriverError } from '../types.js';
import { exchange } from './cgminer-api.js';
import { clip } from './common.js';

export type Json = Record<string, unknown>;
export type Cgi = (method: 'GET' | 'POST', path: string, body?: string) => Promise<Json>;

/** How long the web summary stands in for a refusing 4028 before 4028 is tried again. */
export const API_RETRY_MS = 5 * 60_000;
/** Failed reads after which the firmware version or the watts are taken as not reported. */
const GIVE_UP_AFTER = 3;

const SYSTEM_INFO = '/cgi-bin/get_system_info.cgi';
const WEB_SUMMARY = '/cgi-bin/summary.cgi';
const WEB_STATS = '/cgi-bin/stats.cgi';

/** One cgminer API command on its own connection (TCP 4028, ./cgminer-api.ts); `newApi` adds `"new_api": true`. */
export function apiCommand(host: string, port: number, command: string, timeoutMs: number, newApi = false): Promise<Json> {
  const line = JSON.stringify(newApi ? { command, new_api: true } : { command });
  return exchange(host, port, line, { kind: 'antminer', label: command, timeoutMs });
}

/** A number, or a numeric string ("7903.729"); null otherwise. */
export function numberOf(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v.trim()) : NaN;
  return Number.isFinite(n) ? n : null;
}

const GH_PER_UNIT: Readonly<Record<string, number>> = { h: 1e-9, kh: 1e-6, mh: 1e-3, gh: 1, th: 1e3, ph: 1e6 };

/** A rate in GH/s from a value and its `rate_unit` ("GH/s", "GH", "H/s", …; absent = GH/s, as pyasic and asic-rs take it for SHA-256). */
export function toGhs(value: unknown, unit: unknown): number | null {
  const n = numberOf(value);
  if (n === null || n < 0) return null;
  if (unit === undefined || unit === null || unit === '') return n;
  if (typeof unit !== 'string') return null;
  const factor = GH_PER_UNIT[unit.trim().toLowerCase().replace(/\/s$/, '')];
  return factor === undefined ? null : n * factor;
}

function firstRow(reply: Json, key: string): Json | undefined {
  const rows = reply[key];
  const row: unknown = Array.isArray(rows) ? rows[0] : undefined;
  return typeof row === 'object' && row !== null ? (row as Json) : undefined;
}

/** 4028 `summary`: `SUMMARY[0]["GHS 5s"]`. */
export function rpcSummaryGhs(reply: Json): number | null {
  return toGhs(firstRow(reply, 'SUMMARY')?.['GHS 5s'], undefined);
}

/** Web `summary.cgi`: `SUMMARY[0].rate_5s` in `rate_unit`. */
export function webSummaryGhs(reply: Json): number | null {
  const row = firstRow(reply, 'SUMMARY');
  return row === undefined ? null : toGhs(row.rate_5s, row.rate_unit);
}

/** Watts from a `stats` reply (legacy or new-API form, 4028 or web): the first row with a watt field; null when none has one. */
export function wattsOf(reply: Json): number | null {
  const rows = Array.isArray(reply.STATS) ? (reply.STATS as unknown[]) : [];
  for (const row of rows) {
    if (typeof row !== 'object' || row === null) continue;
    const r = row as Json;
    const chain = typeof r.chain_power === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*w\s*$/i.exec(r.chain_power) : null;
    const watts = chain ? Number(chain[1]) : (numberOf(r.power) ?? numberOf(r.Power) ?? numberOf(r.watt));
    if (watts !== null && watts >= 0) return watts;
  }
  return null;
}

const text = (v: unknown): string | null => (typeof v === 'string' && v.trim() !== '' ? clip(v, 64) : null);

/** "Antminer S19j Pro, Mon Jan 9 10:00:00 CST 2023 (Release)" from get_system_info.cgi; null without a version field. */
export function firmwareOfSystemInfo(info: Json): string | null {
  const version = text(info.system_filesystem_version);
  if (version === null) return null;
  const model = text(info.minertype);
  const type = text(info.firmware_type);
  return `${model === null ? '' : `${model}, `}${version}${type === null ? '' : ` (${type})`}`;
}

/** "Antminer S19j Pro, Mon Jan 9 10:00:00 CST 2023" from 4028 `version`; null without `CompileTime`. */
export function firmwareOfVersion(reply: Json): string | null {
  const row = firstRow(reply, 'VERSION');
  const compiled = text(row?.CompileTime);
  if (compiled === null) return null;
  const model = text(row?.Type);
  return `${model === null ? '' : `${model}, `}${compiled}`;
}

/** 4028 refused the connection (nothing listens: the API is off), as opposed to a timeout or a close without a reply. */
export function isRefused(e: unknown): boolean {
  return e instanceof DriverError && e.refused;
}

export interface RateReading {
  /** GH/s; null when no source answered with a rate. */
  readonly ghs: number | null;
  /** Where it was asked: 4028, or the web summary. */
  readonly via: 'api' | 'web';
  /** Appended to the state's detail: why there is no rate ("" when there is one). */
  readonly note: string;
}

export interface StateReadOptions {
  readonly host: string;
  readonly apiPort: number;
  readonly timeoutMs: number;
  readonly cgi: Cgi;
  readonly now: () => number;
  readonly log: Logger;
  /** The control was closed: failures are thrown, not read as "unknown". */
  readonly closed: () => boolean;
}

export interface StateReads {
  rate(): Promise<RateReading>;
  watts(): Promise<number | null>;
  firmware(): Promise<string | null>;
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The hash rate, watts and firmware reads of one control, with what they learnt about the rig (which API answers). */
export function createStateReads(o: StateReadOptions): StateReads {
  let source: 'api' | 'web' = 'api';
  let apiRetryAt = 0;
  let reportsWatts: boolean | undefined; // false: this firmware reports none, stop asking
  let wattsFailures = 0;
  const api = (command: string, newApi = false) => apiCommand(o.host, o.apiPort, command, o.timeoutMs, newApi);
  const unlessClosed = (e: unknown): void => {
    if (o.closed()) throw e;
  };

  async function webRate(): Promise<RateReading & { ok: boolean }> {
    try {
      const ghs = webSummaryGhs(await o.cgi('GET', WEB_SUMMARY));
      return { ghs, via: 'web', note: ghs === null ? ', web summary has no rate_5s' : '', ok: true };
    } catch (e) {
      unlessClosed(e);
      // Also what the web summary says while bmminer restarts (nothing the CGI could read from it).
      return { ghs: null, via: 'web', note: `, web summary: ${messageOf(e)}`, ok: false };
    }
  }

  async function rate(): Promise<RateReading> {
    if (source === 'web' && o.now() < apiRetryAt) return webRate();
    try {
      const ghs = rpcSummaryGhs(await api('summary'));
      if (source === 'web') o.log.info({ port: o.apiPort }, 'antminer API answers again; hash rate read from it');
      source = 'api';
      return { ghs, via: 'api', note: ghs === null ? ', summary has no GHS 5s' : '' };
    } catch (e) {
      unlessClosed(e);
      // Timeouts and closes without a reply: the miner process restarting closes 4028 for a while.
      if (!isRefused(e)) return { ghs: null, via: 'api', note: `, API: ${messageOf(e)}` };
      const web = await webRate();
      if (!web.ok) return { ghs: null, via: 'api', note: `, API: ${messageOf(e)}${web.note}` };
      if (source === 'api')
        o.log.info({ port: o.apiPort, retryInMs: API_RETRY_MS }, 'antminer API refused; hash rate read from the web summary');
      source = 'web';
      apiRetryAt = o.now() + API_RETRY_MS;
      return web;
    }
  }

  /** A stats reply from where the hash rate comes from: 4028 legacy, then new-API form; or the web stats.cgi. */
  async function statsWatts(): Promise<number | null> {
    if (source === 'web') return wattsOf(await o.cgi('GET', WEB_STATS));
    return wattsOf(await api('stats')) ?? wattsOf(await api('stats', true));
  }

  async function watts(): Promise<number | null> {
    if (reportsWatts === false) return null;
    let w: number | null;
    try {
      w = await statsWatts();
    } catch (e) {
      unlessClosed(e);
      if (reportsWatts === undefined && ++wattsFailures >= GIVE_UP_AFTER) reportsWatts = false;
      return null;
    }
    if (w === null && reportsWatts === undefined) {
      reportsWatts = false;
      o.log.debug('antminer stats carry no watts; not asked again');
    } else if (w !== null) reportsWatts = true;
    return w;
  }

  return { rate, watts, firmware: createFirmwareRead(o, api, () => source === 'api') };
}

/**
 * The firmware version, read once: get_system_info.cgi, else 4028 `version` (while 4028 is the source that
 * answers). Kept once found, or once both answered without one; given up after GIVE_UP_AFTER reads that failed.
 */
function createFirmwareRead(
  o: StateReadOptions,
  api: (command: string) => Promise<Json>,
  apiUsable: () => boolean,
): () => Promise<string | null> {
  let firmware: string | null | undefined; // undefined: not known yet
  let failures = 0;
  /** The version from one source: a string, null when it answered without one, undefined when it failed. */
  const ask = async (read: () => Promise<string | null>): Promise<string | null | undefined> => {
    try {
      return await read();
    } catch (e) {
      if (o.closed()) throw e;
      return undefined;
    }
  };
  return async () => {
    if (firmware !== undefined) return firmware;
    const web = await ask(async () => firmwareOfSystemInfo(await o.cgi('GET', SYSTEM_INFO)));
    if (typeof web === 'string') return (firmware = web);
    const rpc = apiUsable() ? await ask(async () => firmwareOfVersion(await api('version'))) : undefined;
    if (typeof rpc === 'string') return (firmware = rpc);
    if ((web === null && rpc === null) || ++failures >= GIVE_UP_AFTER) firmware = null;
    return null;
  };
}
