/**
 * The `antminer` driver: Bitmain Antminers (S19/S21 family) on stock Bitmain firmware. Reference:
 * docs/drivers.md; the wire facts and their sources are in notes/firmware-apis.md § 0 and § 1.
 *
 * - Writes go to the web CGI behind HTTP digest auth (http-digest.ts; default user and password root/root):
 *   read `GET /cgi-bin/get_miner_conf.cgi`, then `POST /cgi-bin/set_miner_conf.cgi` with the work mode.
 *   Work modes: 0 normal (resume), 1 sleep (curtail), 3 low-power mode (the power target: a fixed firmware
 *   mode, not a number of watts; only where the model has one, so only when `lowPowerWatts` is configured).
 * - The mode is written under both keys clients use, as numbers: `miner-mode` (what the stock web UI posts;
 *   a 2022 S19j Pro honoured only this one) and `bitmain-work-mode` (an S21+ on 2025 firmware needed it too).
 *   Fan, frequency level and the three pool slots are copied from the config just read (the CGI overwrites
 *   only what it is sent, and blanks nothing it is not). A config with neither key is a firmware too old to
 *   have work modes: refused before any write (HG_ERR_DRIVER_CONFIG).
 * - The firmware answers `{"stats":"success","code":"M000"}` even when it ignored the mode, so every write is
 *   confirmed by reading the config back: `bitmain-work-mode` (a numeric string) must be the mode written.
 * - The write restarts the miner process; the CGI answers after it (about 21 s measured), hence the separate
 *   `writeTimeoutMs`. A write to the mode the rig is already in is skipped (no needless restart).
 * - readState: the config's work mode is the asleep sign ("1" = asleep; a positive sign only, never a 0 hash
 *   rate: a booting rig reports 0 GH/s too). Hash rate, watts and firmware version: ./antminer-read.ts (4028
 *   first, the web summary where 4028 refuses; watts only where the model reports them).
 */

import type { DriverConfig } from '../../config/throttle-schema.js';
import type { Logger } from '../../util/log.js';
import { DriverError, type RigControl, type RigFirmwareState } from '../types.js';
import { type Cgi, createStateReads, type Json } from './antminer-read.js';
import { clip, createSerialQueue, describeAddress } from './common.js';
import { digestRequest } from './http-digest.js';
import { driverTiming } from './timing.js';

export type AntminerDriverConfig = Extract<DriverConfig, { type: 'antminer' }>;

export interface AntminerContext {
  /** The resolved address (driver.host, else the rig's Stratum source address). */
  readonly host: string;
  readonly log: Logger;
  /** Reads driver.passwordFile (once, on first need). */
  readonly readFile: (path: string) => Promise<string>;
  /** The clock behind the 4028 re-try (default Date.now); injected by tests. */
  readonly now?: () => number;
}

type WorkMode = '0' | '1' | '3';
const MODE_NAME: Readonly<Record<WorkMode, string>> = { '0': 'normal', '1': 'sleep', '3': 'low power' };
const CONF = '/cgi-bin/get_miner_conf.cgi';
const SET_CONF = '/cgi-bin/set_miner_conf.cgi';

/** driver.password, or driver.passwordFile read and trimmed; the firmware default "root" when neither is set. */
async function readPassword(config: AntminerDriverConfig, readFile: (path: string) => Promise<string>): Promise<string> {
  if (config.password !== null) return config.password;
  if (config.passwordFile === null) return 'root';
  let text: string;
  try {
    text = await readFile(config.passwordFile);
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? ` (${String((e as { code: unknown }).code)})` : '';
    throw new DriverError('antminer', `cannot read passwordFile ${config.passwordFile}${code}`, 'HG_ERR_DRIVER_CONFIG');
  }
  const value = text.trim();
  if (value === '') throw new DriverError('antminer', `passwordFile ${config.passwordFile} is empty`, 'HG_ERR_DRIVER_CONFIG');
  return value;
}

function parseObject(text: string, label: string, where: string): Json {
  let value: unknown;
  try {
    value = JSON.parse(text.replace(/[\0\s]+$/, ''));
  } catch {
    throw new DriverError('antminer', `${label}: answer from ${where} is not JSON (${clip(text, 60)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new DriverError('antminer', `${label}: answer from ${where} is not a JSON object`);
  return value as Json;
}

/** The config's work mode as the firmware reports it: "0", "1", "3", … ("" = normal, as pyasic reads it). */
function workModeOf(conf: Json): string | null {
  const v = conf['bitmain-work-mode'] ?? conf['miner-mode'];
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return v.trim() === '' ? '0' : v.trim();
  return null;
}

/** The POST body: the work mode under both keys (numbers), fan, frequency level and all three pool slots copied. */
function buildPayload(conf: Json, mode: WorkMode): Json {
  const pools = Array.isArray(conf.pools) ? conf.pools.slice(0, 3) : [];
  while (pools.length < 3) pools.push({ url: '', user: '', pass: '' });
  return {
    'bitmain-fan-ctrl': conf['bitmain-fan-ctrl'] ?? false,
    'bitmain-fan-pwm': conf['bitmain-fan-pwm'] ?? '100',
    'freq-level': conf['bitmain-freq-level'] ?? conf['freq-level'] ?? '100',
    'miner-mode': Number(mode),
    'bitmain-work-mode': Number(mode),
    pools,
  };
}

/** Writes the work mode (unless the rig is already in it) and reads the config back to confirm it. */
async function writeWorkMode(cgi: Cgi, web: string, log: Logger, mode: WorkMode): Promise<void> {
  const conf = await cgi('GET', CONF);
  const before = workModeOf(conf);
  if (before === mode) {
    log.debug({ mode }, 'antminer already in this work mode');
    return;
  }
  if (before === null)
    throw new DriverError(
      'antminer',
      `get_miner_conf: ${web} reports no work mode (no bitmain-work-mode or miner-mode): a firmware too old for sleep and low-power mode; update it, or use the stratum driver`,
      'HG_ERR_DRIVER_CONFIG',
    );
  const reply = await cgi('POST', SET_CONF, JSON.stringify(buildPayload(conf, mode)));
  if (reply.stats !== 'success')
    throw new DriverError(
      'antminer',
      `set_miner_conf: ${web} refused the ${MODE_NAME[mode]} mode (${clip(`${String(reply.code)} ${String(reply.msg)}`, 80)})`,
    );
  const after = workModeOf(await cgi('GET', CONF));
  if (after !== mode) {
    const hint = mode === '3' ? ' (a model without low-power mode ignores it: set lowPowerWatts to null)' : '';
    throw new DriverError(
      'antminer',
      `set_miner_conf: ${web} accepted the ${MODE_NAME[mode]} mode but still reports work mode ${JSON.stringify(after)}${hint}`,
    );
  }
  log.info({ from: before, to: mode }, 'antminer work mode set');
}

export function createAntminerControl(config: AntminerDriverConfig, ctx: AntminerContext): RigControl {
  const { host, log } = ctx;
  const web = describeAddress(host, config.webPort);
  const serial = createSerialQueue();
  let password: string | undefined;
  let closed = false;

  const cgi: Cgi = async (method, path, body) => {
    if (closed) throw new DriverError('antminer', 'driver closed');
    password ??= await readPassword(config, ctx.readFile); // a settings problem fails before the rig is asked anything
    log.debug({ method, path }, 'antminer request');
    const timeoutMs = method === 'POST' ? config.writeTimeoutMs : config.timeoutMs;
    const res = await digestRequest({
      driver: 'antminer',
      host,
      port: config.webPort,
      method,
      path,
      body,
      user: config.user,
      password,
      timeoutMs,
    });
    if (res.status < 200 || res.status > 299) throw new DriverError('antminer', `${method} ${path}: HTTP ${res.status} from ${web}`);
    return parseObject(res.body, `${method} ${path}`, web);
  };

  const reads = createStateReads({
    host,
    apiPort: config.apiPort,
    timeoutMs: config.timeoutMs,
    cgi,
    now: ctx.now ?? Date.now,
    log,
    closed: () => closed,
  });

  async function readState(): Promise<RigFirmwareState> {
    const mode = workModeOf(await cgi('GET', CONF));
    const firmware = await reads.firmware();
    const rate = await reads.rate();
    // No rate: the miner process is down or unknown, and so are its stats.
    const watts = rate.ghs === null ? null : await reads.watts();
    const modeText = mode === null ? 'work mode unknown' : `work mode ${MODE_NAME[mode as WorkMode] ?? mode}`;
    const rateText =
      rate.ghs === null ? 'hash rate unknown' : `${Math.round(rate.ghs * 10) / 10} GH/s${rate.via === 'web' ? ' (web summary)' : ''}`;
    return {
      hashing: rate.ghs !== null && rate.ghs > 0,
      asleep: mode === null ? null : mode === '1',
      hashrateThs: rate.ghs === null ? null : rate.ghs / 1000,
      powerWatts: watts,
      firmware,
      detail: `${rateText}, ${modeText}${watts === null ? '' : `, ${Math.round(watts)} W`}${rate.note}`,
    };
  }

  const control: RigControl = {
    kind: 'antminer',
    supportsPowerTarget: config.lowPowerWatts !== null,
    keepsSession: true,
    timing: driverTiming('antminer', config.settle),
    curtail: () => serial(() => writeWorkMode(cgi, web, log, '1')),
    resume: () => serial(() => writeWorkMode(cgi, web, log, '0')),
    readState: () => serial(readState),
    close: () => {
      closed = true;
    },
  };
  if (config.lowPowerWatts !== null) {
    // The firmware's low-power mode is one fixed step, whatever the watts asked for: the planner only offers
    // lowPowerWatts (docs/drivers.md), and any target at or above rated is the normal mode.
    control.setPowerTarget = (watts: number) => serial(() => writeWorkMode(cgi, web, log, watts <= config.lowPowerWatts! ? '3' : '0'));
  }
  return control;
}
