/**
 * The LuxOS API on the wire, for the `luxos` driver (luxos.ts): one command per TCP connection, the reply read
 * and parsed, the fields the driver reads. Reference: docs/drivers.md § luxos, and Luxor's API docs
 * (https://docs.luxor.tech/firmware/api/intro).
 *
 * - The client writes one JSON object (`{"command": "curtail", "parameter": "<session>,sleep"}`); the miner
 *   writes one JSON reply, often followed by a NUL byte, and closes.
 * - Every reply has `STATUS: [{STATUS: "S"|"I"|"W"|"E"|"F", Code, Msg, …}]` (cgminer's letters: success,
 *   informational, warning, error, fatal). E and F are failures; what a W means is decided per command by
 *   the caller (luxos.ts, docs/drivers.md "Status W").
 */

import { DriverError } from '../types.js';
import { exchange, type Reply } from './cgminer-api.js';
import { clip } from './common.js';

export type { Reply } from './cgminer-api.js';

/** One command with its STATUS checked (luxos.ts): rejects with LuxosStatusError on E/F. `label` names it in messages. */
export type LuxosSend = (command: string, params: readonly string[], label: string) => Promise<Reply>;

/** Firmware version texts longer than this are cut (a field for logs and status, not a blob). */
const MAX_VERSION_LENGTH = 64;

/** A STATUS E/F answer from the miner; `statusMsg` is the firmware's Msg, already scrubbed of the password. */
export class LuxosStatusError extends DriverError {
  constructor(
    message: string,
    readonly statusCode: number | null,
    readonly statusMsg: string,
  ) {
    super('luxos', message);
  }
}

/** Sends one command on its own connection (./cgminer-api.ts) and resolves with the parsed reply (STATUS not checked here). */
export function roundTrip(host: string, port: number, line: string, timeoutMs: number, label: string, background = false): Promise<Reply> {
  return exchange(host, port, line, { kind: 'luxos', label, timeoutMs, background });
}

export function firstStatus(reply: Reply): { status: string; code: number | null; msg: string } | null {
  const list = reply.STATUS;
  if (!Array.isArray(list) || list.length === 0 || typeof list[0] !== 'object' || list[0] === null) return null;
  const s = list[0] as Record<string, unknown>;
  return {
    status: typeof s.STATUS === 'string' ? s.STATUS : '',
    code: typeof s.Code === 'number' ? s.Code : null,
    msg: typeof s.Msg === 'string' ? s.Msg : '',
  };
}

export function firstRecord(reply: Reply, key: string): Record<string, unknown> | null {
  const list = reply[key];
  return Array.isArray(list) && typeof list[0] === 'object' && list[0] !== null ? (list[0] as Record<string, unknown>) : null;
}

export function numberOf(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** `SESSION[0].SessionID` of a `logon` or `session` reply; null when absent, empty ("no active session") or unusable. */
export function sessionIdOf(reply: Reply): string | null {
  const id = firstRecord(reply, 'SESSION')?.SessionID;
  return typeof id === 'string' && id !== '' && !id.includes(',') ? id : null;
}

/**
 * `config`'s `CONFIG[0].CurtailMode`: "None" while the miner runs, "Sleep" after `curtail sleep` (kept across a
 * reboot until `wakeup`). Null when the build does not report it.
 */
export function curtailModeOf(reply: Reply): string | null {
  const mode = firstRecord(reply, 'CONFIG')?.CurtailMode;
  return typeof mode === 'string' && mode !== '' ? mode : null;
}

/**
 * The firmware version from a `version` reply: `VERSION[0].LUXminer` (LUXminer's own version, e.g.
 * "2024.1.26.143259-2d8448bf"), else `VERSION[0].Miner` (what pyasic reads; Luxor's docs show it as the same
 * date version in the example and as a spoofed "uart_trans.1.3" in the field table). Null when neither is a
 * non-empty string.
 */
export function firmwareVersionOf(reply: Reply): string | null {
  const v = firstRecord(reply, 'VERSION');
  for (const key of ['LUXminer', 'Miner']) {
    const text = v?.[key];
    if (typeof text === 'string' && text.trim() !== '') return clip(text, MAX_VERSION_LENGTH);
  }
  return null;
}
