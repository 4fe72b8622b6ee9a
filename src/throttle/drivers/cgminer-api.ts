/**
 * The cgminer-style API exchange that LuxOS, stock Antminer and Whatsminer 2.x
 * all speak on TCP 4028: one request per connection; the miner writes one JSON
 * reply, often ending in a NUL byte, and closes. What the reply means is the
 * caller's (luxos-wire.ts, antminer.ts, whatsminer-wire.ts).
 */

import net from 'node:net';
import { type DriverKind, DriverError } from '../types.js';
import { describeAddress, socketErrorMessage } from './common.js';

export type Reply = Record<string, unknown>;

/** Replies larger than this are refused (a full `stats` reply is a few KiB). */
const MAX_REPLY_BYTES = 1 << 20;

export interface ExchangeOptions {
  /** The driver whose DriverError this is. */
  readonly kind: DriverKind;
  /** The command, for messages. */
  readonly label: string;
  readonly timeoutMs: number;
  /** Does not hold the process open (a logoff at close). */
  readonly background?: boolean;
}

/**
 * Sends `line` on its own connection and resolves with the reply parsed as a JSON object, up to its NUL
 * byte or the close. Rejects with a DriverError on timeout, refusal, a dropped connection, a reply over
 * 1 MiB, or one cut short or not a JSON object. `line` may hold a password or be encrypted: it is written
 * to the socket and nowhere else.
 */
export function exchange(host: string, port: number, line: string, o: ExchangeOptions): Promise<Reply> {
  const where = describeAddress(host, port);
  const { label } = o;
  return new Promise<Reply>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => fail(`${label}: timed out after ${o.timeoutMs} ms at ${where}`), o.timeoutMs);
    if (o.background === true) {
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
    function fail(message: string, refused = false): void {
      if (settle()) reject(new DriverError(o.kind, message, 'HG_ERR_DRIVER_COMMAND', refused));
    }
    function complete(): void {
      if (settled) return;
      // Some builds pad the reply with white space after (or instead of) the NUL.
      const text = Buffer.concat(chunks, size).toString('utf8').replace(/\s+$/, '');
      if (text === '') return fail(`${label}: connection closed without a reply at ${where}`);
      const value = parseReply(text);
      if (value === null) return fail(`${label}: reply from ${where} is cut short or not a JSON object`);
      if (settle()) resolve(value);
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
    socket.on('error', (e: NodeJS.ErrnoException) => fail(`${label}: ${socketErrorMessage(e, where)}`, e.code === 'ECONNREFUSED'));
  });
}

/** A JSON object, or null for anything else (cut short, not JSON, an array, a scalar). */
export function parseReply(text: string): Reply | null {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Reply) : null;
}
