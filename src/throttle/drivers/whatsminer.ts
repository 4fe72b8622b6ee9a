/**
 * The `whatsminer` driver: MicroBT Whatsminer (btminer) firmware through its API 2.x, JSON over TCP 4028 with
 * AES-encrypted privileged writes (the transport and crypto are whatsminer-wire.ts), or API 3.x
 * (./whatsminer-v3.ts), or whichever of the two a rig answers (`apiVersion: "auto"`, ./whatsminer-auto.ts).
 * Reference: docs/drivers.md § whatsminer, notes/firmware-apis.md § 2 (MicroBT API v2.0.4/v2.0.5;
 * pyasic/rpc/btminer.py, pyasic/miners/backends/btminer.py).
 *
 * - curtail = `power_off` with `respbefore: "true"` (the reply comes before the hashboards stop; PSU output to
 *   the boards off, control board up); resume = `power_on` (btminer starts in the background: hash rate
 *   returns after boot and the frequency ramp, minutes on some models); setPowerTarget = `adjust_power_limit`
 *   (watts, as a string; ≥ API 2.0.5; pyasic's doc says the miner reboots after it is set). The `Power Limit`
 *   from before the first target is read first and restored on resume; a rig that does not report it gets no
 *   power target (it could not be undone).
 * - Writes need a token (`get_token`): cached for TOKEN_TTL_MS (the firmware keeps one 30 min), and fetched
 *   afresh once when the miner answers Code 135 "check token err" (expired, or forgotten by a restart). A 135
 *   with a fresh token means the key is wrong: a wrong password (HG_ERR_DRIVER_CONFIG).
 * - Write API disabled (the factory default until enabled in WhatsMinerTool): Msg "can't access write cmd"
 *   (HG_ERR_DRIVER_CONFIG: the operator must enable it on the rig). Code 14 on a command: a daemon too old for it.
 * - readState: `summary` (`MHS 5s`, `Power`, `Power Limit`), `status` (`mineroff`: the positive sign of a
 *   power-off; 0 MH/s alone is not sleep, a booting rig reports it too) and, once, `get_version` (Msg.fw_ver and
 *   api_ver for `firmware`; older daemons: the `Firmware Version` of status/summary, else null, never a failure).
 * The password goes into the key derivation only: never into a message, a log field or a request in clear.
 */

import type { Logger } from '../../util/log.js';
import { DriverError, type RigControl, type RigFirmwareState } from '../types.js';
import { clip, createSerialQueue, describeAddress } from './common.js';
import { createWhatsminerAutoControl } from './whatsminer-auto.js';
import {
  decodeReply,
  deriveToken,
  encodePrivileged,
  firmwareText,
  firstRecord,
  numberOf,
  type Reply,
  roundTrip,
  statusOf,
  type WhatsminerToken,
} from './whatsminer-wire.js';
import { driverTiming, type SettleSettings } from './timing.js';
import { createWhatsminerV3Control } from './whatsminer-v3.js';

/** The `whatsminer` driver block as validated (src/config/throttle-schema.ts). */
export interface WhatsminerDriverConfig {
  readonly type: 'whatsminer';
  readonly host: string | null;
  /** null = the API's own port: 4028 (2.x), 4433 (3.x). */
  readonly port: number | null;
  readonly password: string | null;
  readonly passwordFile: string | null;
  /** 'auto': probed once per control (./whatsminer-auto.ts); the block's `port` must then be null. */
  readonly apiVersion: '2' | '3' | 'auto';
  /** Watts the planner may set (inventory powerTargetsOf); the driver sets any watts it is asked for. */
  readonly powerTargets: readonly number[];
  readonly timeoutMs: number;
  readonly settle: SettleSettings;
}

export interface WhatsminerContext {
  readonly host: string;
  readonly log: Logger;
  readonly readFile: (path: string) => Promise<string>;
  /** The API ports when the block names none: 4028 (2.x) and 4433 (3.x) on a real rig; tests point them at a simulator. */
  readonly ports?: { readonly v2: number; readonly v3: number };
}

/** How long a token is reused: under the firmware's 30 min, so it is not used in its last minutes. */
const TOKEN_TTL_MS = 25 * 60_000;
const CODE_INVALID_COMMAND = 14;
const CODE_TOKEN_ERROR = 135;
const CODE_TOKEN_LIMIT = 136;
/** pyasic special-cases exactly this Msg. */
const WRITE_DISABLED = /can't access write cmd/i;

/** A refusal from the miner: its Code and Msg kept for the caller to judge. */
class WhatsminerStatusError extends DriverError {
  constructor(
    message: string,
    readonly statusCode: number | null,
    readonly statusMsg: string,
    code: 'HG_ERR_DRIVER_COMMAND' | 'HG_ERR_DRIVER_CONFIG' = 'HG_ERR_DRIVER_COMMAND',
  ) {
    super('whatsminer', message, code);
  }
}

function msgText(msg: unknown): string {
  return typeof msg === 'string' ? msg : msg === undefined ? '' : JSON.stringify(msg);
}

async function readPassword(config: WhatsminerDriverConfig, ctx: WhatsminerContext): Promise<string> {
  if (config.password !== null && config.password !== '') return config.password; // `password` wins, as for luxos
  if (config.passwordFile === null)
    throw new DriverError('whatsminer', 'no password: set driver.password or driver.passwordFile', 'HG_ERR_DRIVER_CONFIG');
  let text: string;
  try {
    text = await ctx.readFile(config.passwordFile);
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? ` (${String((e as { code: unknown }).code)})` : '';
    throw new DriverError('whatsminer', `cannot read passwordFile ${config.passwordFile}${code}`, 'HG_ERR_DRIVER_CONFIG');
  }
  const value = text.trim();
  if (value === '') throw new DriverError('whatsminer', `passwordFile ${config.passwordFile} is empty`, 'HG_ERR_DRIVER_CONFIG');
  return value;
}

interface WhatsminerApi {
  /** A plain read; rejects with WhatsminerStatusError when the miner refuses it. */
  read(command: string): Promise<Reply>;
  /** An encrypted write with a cached (or, once, a fresh) token; resolves when the miner answers Code 131. */
  write(command: Readonly<Record<string, string>>, label: string): Promise<void>;
}

function checked(reply: Reply, label: string, where: string): Reply {
  const status = statusOf(reply);
  if (status === null) throw new DriverError('whatsminer', `${label}: reply from ${where} has no STATUS`);
  if (status.ok) return reply;
  const text = msgText(status.msg);
  const code = status.code === null ? '' : ` (Whatsminer code ${status.code})`;
  if (WRITE_DISABLED.test(text))
    throw new WhatsminerStatusError(
      `${label}: the write API is disabled on ${where}; enable it in WhatsMinerTool${code}`,
      status.code,
      text,
      'HG_ERR_DRIVER_CONFIG',
    );
  // Code 14 "invalid cmd": a daemon older than the command (adjust_power_limit needs API 2.0.5, MicroBT v2.0.5 doc).
  const hint = status.code === CODE_INVALID_COMMAND ? '; the firmware does not know this command (too old?)' : '';
  throw new WhatsminerStatusError(`${label}: ${clip(text) || 'error'}${code}${hint}`, status.code, text);
}

function createWhatsminerApi(config: WhatsminerDriverConfig, ctx: WhatsminerContext, now: () => number, port: number): WhatsminerApi {
  const where = describeAddress(ctx.host, port);
  let password: string | undefined;
  let token: { value: WhatsminerToken; until: number } | null = null;
  const send = (line: string, label: string): Promise<Reply> => roundTrip(ctx.host, port, line, config.timeoutMs, label);

  async function read(command: string): Promise<Reply> {
    return checked(await send(JSON.stringify({ cmd: command }), command), command, where);
  }

  async function freshToken(): Promise<WhatsminerToken> {
    password ??= await readPassword(config, ctx);
    const msg = (await read('get_token')).Msg as Record<string, unknown> | undefined;
    const { time, salt, newsalt } = msg ?? {};
    if (typeof time !== 'string' || typeof salt !== 'string' || typeof newsalt !== 'string')
      throw new DriverError('whatsminer', `get_token: no usable time/salt/newsalt in the reply from ${where}`);
    const value = deriveToken(password, { time, salt, newsalt });
    token = { value, until: now() + TOKEN_TTL_MS };
    ctx.log.debug('whatsminer token obtained');
    return value;
  }

  async function attempt(t: WhatsminerToken, command: Readonly<Record<string, string>>, label: string): Promise<void> {
    const reply = decodeReply(t, await send(encodePrivileged(t, command), label));
    if (reply === null) throw new DriverError('whatsminer', `${label}: the encrypted reply from ${where} does not decrypt`);
    checked(reply, label, where);
  }

  async function write(command: Readonly<Record<string, string>>, label: string): Promise<void> {
    const cached = token !== null && token.until > now() ? token.value : null;
    try {
      await attempt(cached ?? (await freshToken()), command, label);
      return;
    } catch (e) {
      if (!(e instanceof WhatsminerStatusError && e.statusCode === CODE_TOKEN_ERROR)) throw limitHint(e);
      token = null;
      if (cached === null) throw wrongPassword(label);
    }
    ctx.log.info({ command: label }, 'whatsminer token no longer valid; getting a fresh one');
    try {
      await attempt(await freshToken(), command, label);
    } catch (e) {
      if (e instanceof WhatsminerStatusError && e.statusCode === CODE_TOKEN_ERROR) throw wrongPassword(label);
      throw limitHint(e);
    }
  }

  function wrongPassword(label: string): DriverError {
    return new DriverError('whatsminer', `${label}: ${where} rejected the command's token: wrong password?`, 'HG_ERR_DRIVER_CONFIG');
  }
  function limitHint(e: unknown): unknown {
    if (e instanceof WhatsminerStatusError && e.statusCode === CODE_TOKEN_LIMIT)
      return new DriverError('whatsminer', `${e.message}: too many tokens issued; the miner frees them after 30 min`);
    return e;
  }

  return { read, write };
}

/** `status`'s Msg.mineroff ("true"/"false", a string); null when this firmware does not report it. */
function mineroffOf(reply: Reply | null): boolean | null {
  const msg = reply?.Msg;
  if (typeof msg !== 'object' || msg === null) return null;
  const v = (msg as Record<string, unknown>).mineroff;
  if (v === true || v === 'true') return true;
  if (v === false || v === 'false') return false;
  return null;
}

/** A read the firmware may lack (an older daemon without `status` or `get_version`): null on a refusal. */
async function optionalRead(api: WhatsminerApi, command: string): Promise<Reply | null> {
  try {
    return await api.read(command);
  } catch (e) {
    if (e instanceof WhatsminerStatusError) return null;
    throw e;
  }
}

/**
 * The firmware text from `get_version` (Msg.fw_ver, and api_ver or rpc_ver: pyasic `_get_fw_ver`/`_get_api_ver`);
 * `undefined` when the read failed on the link (ask again next time), null when this daemon has no get_version.
 */
async function readFirmware(api: WhatsminerApi): Promise<string | null | undefined> {
  let reply: Reply | null;
  try {
    reply = await optionalRead(api, 'get_version');
  } catch {
    return undefined; // optional: a link failure here never fails readState
  }
  const msg = reply?.Msg;
  if (typeof msg !== 'object' || msg === null) return null;
  const fw = firmwareText((msg as Reply).fw_ver);
  const apiVer = firmwareText((msg as Reply).api_ver) ?? firmwareText((msg as Reply).rpc_ver);
  return fw === null ? null : apiVer === null ? fw : `${fw} (API ${apiVer.replace(/^whatsminer v/i, '')})`;
}

/** Older builds put the version in `status` or `summary` instead: `Firmware Version` (quoted) or `FirmwareVersion`. */
function fallbackFirmware(summary: Reply | null, status: Reply | null): string | null {
  const msg = typeof status?.Msg === 'object' && status.Msg !== null ? (status.Msg as Reply) : null;
  return firmwareText(msg?.FirmwareVersion) ?? firmwareText(msg?.['Firmware Version']) ?? firmwareText(summary?.['Firmware Version']);
}

async function readWhatsminerState(api: WhatsminerApi, where: string, firmware: () => Promise<string | null>): Promise<RigFirmwareState> {
  const summary = firstRecord(await api.read('summary'), 'SUMMARY');
  const mhs = numberOf(summary?.['MHS 5s']) ?? numberOf(summary?.['MHS 1m']) ?? numberOf(summary?.['MHS av']);
  if (mhs === null) throw new DriverError('whatsminer', `summary: reply from ${where} has no hash rate`);
  const power = numberOf(summary?.Power);
  const watts = power === null || power < 0 ? null : power; // pyasic: -1 means unknown
  const limit = numberOf(summary?.['Power Limit']);
  const status = await optionalRead(api, 'status'); // an older daemon without `status`: asleep unknown
  const asleep = mineroffOf(status);
  const fw = (await firmware()) ?? fallbackFirmware(summary, status);
  const parts = [
    `${(mhs / 1e6).toFixed(2)} TH/s (5 s)`,
    watts === null ? 'power unknown' : `${watts} W`,
    limit === null ? 'power limit unknown' : `limit ${limit} W`,
    `mineroff ${asleep === null ? 'unknown' : String(asleep)}`,
  ];
  return { hashing: mhs > 0, asleep, hashrateThs: mhs / 1e6, powerWatts: watts, firmware: fw, detail: parts.join(', ') };
}

/** The API 2.x control (TCP 4028 unless `port` says otherwise). */
export function createWhatsminerV2Control(
  config: WhatsminerDriverConfig,
  ctx: WhatsminerContext,
  now: () => number = Date.now,
  port: number = config.port ?? ctx.ports?.v2 ?? 4028,
): RigControl {
  const where = describeAddress(ctx.host, port);
  const api = createWhatsminerApi(config, ctx, now, port);
  const serial = createSerialQueue();
  /** The `Power Limit` the rig had before hashgate first lowered it (restored on resume); null when not lowered. */
  let limitBefore: number | null = null;
  /** Whether the boards are off (hashgate's power_off, or status mineroff): null = unknown (e.g. after a restart). */
  let off: boolean | null = null;
  /** The firmware text: undefined until read (or after a link failure), null when the daemon has no get_version. */
  let firmware: string | null | undefined;
  let closed = false;
  const run = <T>(task: () => Promise<T>): Promise<T> =>
    serial(async () => {
      if (closed) throw new DriverError('whatsminer', 'driver closed');
      return task();
    });
  const setLimit = (watts: number): Promise<void> =>
    api.write({ cmd: 'adjust_power_limit', power_limit: String(Math.round(watts)) }, `adjust_power_limit ${Math.round(watts)}`);
  const powerOn = async (): Promise<void> => {
    if (off === false) return;
    await api.write({ cmd: 'power_on' }, 'power_on');
    off = false;
  };

  return {
    kind: 'whatsminer',
    supportsPowerTarget: true,
    keepsSession: true,
    timing: driverTiming('whatsminer', config.settle),
    curtail: () =>
      run(async () => {
        await api.write({ cmd: 'power_off', respbefore: 'true' }, 'power_off');
        off = true;
      }),
    resume: () =>
      run(async () => {
        if (limitBefore !== null) {
          await setLimit(limitBefore);
          limitBefore = null;
        }
        await powerOn();
      }),
    setPowerTarget: (watts: number) =>
      run(async () => {
        checkTarget(watts);
        if (limitBefore === null) limitBefore = await currentLimit(api, where);
        await setLimit(watts);
        await powerOn(); // a power target means "run at this power": boards on unless hashgate knows they are
      }),
    readState: () =>
      run(async () => {
        const state = await readWhatsminerState(api, where, async () => {
          if (firmware === undefined) firmware = await readFirmware(api);
          return firmware ?? null;
        });
        if (state.asleep !== null) off = state.asleep; // mineroff: so a power target on a running rig sends no power_on
        return state;
      }),
    close: () => {
      closed = true;
    },
  };
}

export function checkTarget(watts: number): void {
  if (!Number.isFinite(watts) || watts <= 0)
    throw new DriverError('whatsminer', `power target ${watts} W is not a positive number`, 'HG_ERR_DRIVER_CONFIG');
}

/** The rig's `Power Limit` now, to restore on resume; a rig that does not report it gets no power target (it could not be undone). */
async function currentLimit(api: WhatsminerApi, where: string): Promise<number> {
  const limit = numberOf(firstRecord(await api.read('summary'), 'SUMMARY')?.['Power Limit']);
  if (limit === null || limit <= 0)
    throw new DriverError(
      'whatsminer',
      `adjust_power_limit: ${where} does not report its Power Limit, so a power target could not be undone`,
    );
  return limit;
}

/**
 * The driver for a `whatsminer` block: API 2.x or 3.x as configured, or `"auto"`: the version found by probing,
 * once, cached (./whatsminer-auto.ts).
 */
export function createWhatsminerControl(config: WhatsminerDriverConfig, ctx: WhatsminerContext, now: () => number = Date.now): RigControl {
  let password: string | undefined;
  const v3 = (port: number): RigControl =>
    createWhatsminerV3Control({
      host: ctx.host,
      port,
      timeoutMs: config.timeoutMs,
      log: ctx.log,
      password: async () => (password ??= await readPassword(config, ctx)),
      now,
      timing: driverTiming('whatsminer', config.settle),
    });
  if (config.apiVersion === '3') return v3(config.port ?? ctx.ports?.v3 ?? 4433);
  if (config.apiVersion === '2') return createWhatsminerV2Control(config, ctx, now);
  const ports = { v2: ctx.ports?.v2 ?? 4028, v3: ctx.ports?.v3 ?? 4433 };
  return createWhatsminerAutoControl({
    host: ctx.host,
    ports,
    timeoutMs: config.timeoutMs,
    log: ctx.log,
    now,
    timing: driverTiming('whatsminer', config.settle),
    create: (version) => (version === '3' ? v3(ports.v3) : createWhatsminerV2Control(config, ctx, now, ports.v2)),
  });
}
