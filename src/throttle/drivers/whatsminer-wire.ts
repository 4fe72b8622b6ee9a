/**
 * The Whatsminer API 2.x on the wire, for the `whatsminer` driver (whatsminer.ts). Reference: docs/drivers.md
 * § whatsminer, notes/firmware-apis.md § 2 (MicroBT API v2.0.4/v2.0.5 docs; pyasic/rpc/btminer.py).
 *
 * - TCP 4028, one request per connection: the client writes one JSON object, the miner writes one reply and
 *   closes (sometimes with a trailing NUL). Replies are flat (`{"STATUS":"S","Code":131,"Msg":…}`) for the
 *   Whatsminer commands and cgminer-style lists (`{"STATUS":[{…}],"SUMMARY":[…]}`) for summary and friends.
 * - Privileged writes: get_token gives {time, salt, newsalt}; key = hash part of md5crypt(password, salt);
 *   sign = hash part of md5crypt(key + time, newsalt); the command JSON with `token: sign` is NUL-padded to 16
 *   bytes, AES-256-ECB encrypted under SHA-256(key) and sent as `{"enc":1,"data":"<base64>"}`. The miner
 *   answers `{"enc":"<base64>"}` (same key) on success and plain JSON on errors.
 */

import { createCipheriv, createDecipheriv, createHash } from 'node:crypto';
import { md5CryptHash } from '../../util/md5-crypt.js';
import { DriverError } from '../types.js';
import { exchange, type Reply } from './cgminer-api.js';

export type { Reply } from './cgminer-api.js';

/** A token as the driver keeps it: the AES key (derived from the password) and the sign for the command JSON. */
export interface WhatsminerToken {
  readonly key: string;
  readonly sign: string;
}

/** key and sign from a get_token Msg (MicroBT v2.0.5 "get_token"; notes § 2.3 steps 2–3). */
export function deriveToken(password: string, msg: { time: string; salt: string; newsalt: string }): WhatsminerToken {
  const key = md5CryptHash(password, msg.salt);
  return { key, sign: md5CryptHash(key + msg.time, msg.newsalt) };
}

function aesKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/** `{"enc":1,"data":…}` for a command object (its `token` added here). NUL padding, not PKCS#7 (pyasic `_add_to_16`). */
export function encodePrivileged(token: WhatsminerToken, command: Readonly<Record<string, string>>): string {
  const plain = Buffer.from(JSON.stringify({ ...command, token: token.sign }), 'utf8');
  const padded = Buffer.alloc(Math.ceil(plain.length / 16) * 16);
  plain.copy(padded);
  const cipher = createCipheriv('aes-256-ecb', aesKey(token.key), null).setAutoPadding(false);
  const data = Buffer.concat([cipher.update(padded), cipher.final()]).toString('base64');
  return JSON.stringify({ enc: 1, data });
}

/** An `{"enc":"…"}` reply decrypted; a plain reply as it is; null when it does not decrypt to a JSON object. */
export function decodeReply(token: WhatsminerToken, reply: Reply): Reply | null {
  if (typeof reply.enc !== 'string') return reply;
  try {
    const bytes = Buffer.from(reply.enc, 'base64');
    if (bytes.length === 0 || bytes.length % 16 !== 0) return null;
    const decipher = createDecipheriv('aes-256-ecb', aesKey(token.key), null).setAutoPadding(false);
    const text = Buffer.concat([decipher.update(bytes), decipher.final()])
      .toString('utf8')
      .replace(/\0+$/, '');
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Reply) : null;
  } catch {
    return null;
  }
}

/** The status of a flat (`STATUS: "S"`) or list (`STATUS: [{…}]`) reply. */
export function statusOf(reply: Reply): { ok: boolean; code: number | null; msg: unknown } | null {
  const raw = reply.STATUS;
  const s = Array.isArray(raw) ? (raw[0] as Reply | undefined) : typeof raw === 'string' ? reply : undefined;
  if (s === undefined || typeof s !== 'object' || s === null) return null;
  const letter = Array.isArray(raw) ? s.STATUS : raw;
  const code = typeof s.Code === 'number' ? s.Code : typeof s.Code === 'string' && /^\d+$/.test(s.Code) ? Number(s.Code) : null;
  return { ok: letter === 'S' || letter === 'I', code, msg: s.Msg };
}

export function firstRecord(reply: Reply, key: string): Reply | null {
  const list = reply[key];
  return Array.isArray(list) && typeof list[0] === 'object' && list[0] !== null ? (list[0] as Reply) : null;
}

export function numberOf(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/**
 * The link failed, not the miner's API: timed out, refused, reset, closed early, or a reply cut short. A DriverError
 * (HG_ERR_DRIVER_COMMAND) like any other; its own class so `apiVersion: "auto"` knows when to look at the ports again.
 */
export class WhatsminerLinkError extends DriverError {
  constructor(message: string) {
    super('whatsminer', message);
  }
}

/** Sends one request on its own connection (./cgminer-api.ts) and resolves with the parsed reply (status not checked). */
export async function roundTrip(host: string, port: number, line: string, timeoutMs: number, label: string): Promise<Reply> {
  try {
    return await exchange(host, port, line, { kind: 'whatsminer', label, timeoutMs });
  } catch (e) {
    throw e instanceof DriverError ? new WhatsminerLinkError(e.message) : e;
  }
}

/** A firmware version text: the quotes some builds put around it removed (`"'20200725.18.REL'"`, pyasic `_get_fw_ver`). */
export function firmwareText(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const text = v.replace(/'/g, '').trim();
  return text === '' ? null : text.slice(0, 64);
}
