/**
 * One HTTP request with digest authentication (RFC 7616 § 3.4, MD5, qop "auth"), as the stock Antminer
 * web CGI asks for (realm "antMiner Configuration"). The request is sent once without credentials; a 401
 * with a Digest challenge is answered once; a second 401 is a wrong user or password. At most two
 * requests, so a server that answers 401 forever cannot loop us. The password goes into the MD5 hash
 * only, never into a message.
 */

import { createHash, randomBytes } from 'node:crypto';
import { DriverError, type DriverKind } from '../types.js';
import { describeAddress } from './common.js';
import { httpExchange } from './http-exchange.js';

export interface DigestRequest {
  readonly driver: DriverKind;
  readonly host: string;
  readonly port: number;
  readonly method: 'GET' | 'POST';
  readonly path: string;
  readonly body?: string;
  readonly user: string;
  readonly password: string;
  readonly timeoutMs: number;
}

export interface HttpResult {
  readonly status: number;
  readonly body: string;
  readonly challenge: string | null;
}

const MAX_BODY_BYTES = 256 * 1024;
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/** The Authorization header (nc 00000001; cnonce random unless given, for test vectors) answering a `WWW-Authenticate: Digest …` challenge; null if it is not one we can answer. */
export function buildDigestAuthorization(
  challenge: string,
  method: string,
  uri: string,
  user: string,
  password: string,
  cnonce = randomBytes(8).toString('hex'),
): string | null {
  if (!/^Digest\s/i.test(challenge)) return null;
  const p: Record<string, string> = {};
  for (const m of challenge.slice(6).matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]*))/g)) p[m[1]!.toLowerCase()] = m[2] ?? m[3] ?? '';
  if (p.realm === undefined || p.nonce === undefined) return null;
  if (p.algorithm !== undefined && p.algorithm.toUpperCase() !== 'MD5') return null;
  const qops = (p.qop ?? '').split(',').map((q) => q.trim());
  const ha1 = md5(`${user}:${p.realm}:${password}`);
  const ha2 = md5(`${method}:${uri}`);
  const quote = (v: string) => `"${v.replace(/["\\]/g, '')}"`;
  const fields = [`username=${quote(user)}`, `realm=${quote(p.realm)}`, `nonce=${quote(p.nonce)}`, `uri=${quote(uri)}`];
  if (qops.includes('auth')) {
    const nc = '00000001';
    fields.push(
      'qop=auth',
      `nc=${nc}`,
      `cnonce=${quote(cnonce)}`,
      `response=${quote(md5(`${ha1}:${p.nonce}:${nc}:${cnonce}:auth:${ha2}`))}`,
    );
  } else if (p.qop === undefined) {
    fields.push(`response=${quote(md5(`${ha1}:${p.nonce}:${ha2}`))}`); // RFC 2069 form
  } else return null;
  if (p.opaque !== undefined) fields.push(`opaque=${quote(p.opaque)}`);
  return `Digest ${fields.join(', ')}`;
}

async function once(r: DigestRequest, authorization: string | null): Promise<HttpResult> {
  const res = await httpExchange({ ...r, authorization, maxBodyBytes: MAX_BODY_BYTES });
  const wa = res.headers['www-authenticate'];
  const challenge = (Array.isArray(wa) ? wa.find((h) => /^Digest\s/i.test(h)) : wa) ?? null;
  return { status: res.status, body: res.body, challenge };
}

/** Sends r, answering one digest challenge. Resolves with the final answer (any status but 401). */
export async function digestRequest(r: DigestRequest): Promise<HttpResult> {
  const where = describeAddress(r.host, r.port);
  const first = await once(r, null);
  if (first.status !== 401) return first;
  const authorization = first.challenge && buildDigestAuthorization(first.challenge, r.method, r.path, r.user, r.password);
  if (!authorization)
    throw new DriverError(r.driver, `${r.method} ${r.path}: HTTP 401 from ${where} without a digest challenge hashgate can answer`);
  const second = await once(r, authorization);
  if (second.status === 401)
    throw new DriverError(r.driver, `${r.method} ${r.path}: HTTP 401 from ${where} after digest auth (wrong user or password)`);
  return second;
}
