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

import net from 'node:net';
import { DriverError } from '../types.js';
import { describeAddress, socketErrorMessage } from './common.js';

export type Reply = Record<string, unknown>;

/** Replies larger than this are refused (a full `stats` reply is a few KiB). */
const MAX_REPLY_BYTES = 1 << 20;

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

/**
 * Sends one command on its own connection and resolves with the parsed reply (STATUS not checked here).
 * Rejects with a DriverError on timeout, refusal, a dropped connection or a reply that is not JSON.
 * `line` may hold the password (logon): it is written to the socket and nowhere else.
 */
export function roundTrip(host: string, port: number, line: string, timeoutMs: number, label: string, background = false): Promise<Reply> {
  const where = describeAddress(host, port);
  return new Promise<Reply>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => fail(`${label}: timed out after ${timeoutMs} ms at ${where}`), timeoutMs);
    if (background) {
      socket.unref();
      timer.unref();
    }
    function settle(): boolean {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      return true;
    }
    function fail(message: string): void {
      if (settle()) reject(new DriverError('luxos', message));
    }
    function complete(): void {
      if (!settled) parse(Buffer.concat(chunks, size));
    }
    function parse(bytes: Buffer): void {
      // cgminer terminates its reply with a NUL byte; some builds also pad with whitespace.
      const text = bytes.toString('utf8').replace(/[\0\s]+$/, '');
      if (text === '') return fail(`${label}: connection closed without a reply at ${where}`);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return fail(`${label}: reply from ${where} is not JSON`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return fail(`${label}: reply from ${where} is not a JSON object`);
      if (settle()) resolve(value as Reply);
    }
    socket.on('connect', () => socket.write(line));
    socket.on('data', (chunk: Buffer) => {
      const nul = chunk.indexOf(0);
      const part = nul >= 0 ? chunk.subarray(0, nul) : chunk;
      chunks.push(part);
      size += part.length;
      if (size > MAX_REPLY_BYTES) return fail(`${label}: reply from ${where} exceeds ${MAX_REPLY_BYTES} bytes`);
      if (nul >= 0) complete();
    });
    socket.on('end', complete);
    socket.on('close', complete);
    socket.on('error', (e) => fail(`${label}: ${socketErrorMessage(e, where)}`));
  });
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
