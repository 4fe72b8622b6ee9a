/**
 * The server side of HTTP digest auth for the simulated stock Antminer (./antminer-sim.ts): RFC 7616 § 3.4.1
 * with MD5 and qop "auth", realm "antMiner Configuration" as the firmware sends it (notes/firmware-apis.md § 1.1).
 * Each challenge carries a fresh nonce; a nonce is good until the sim closes (the firmware's lifetime is not
 * known). Independent of src/throttle (the sim imports only node: modules and src/util).
 */
import { createHash, randomBytes } from 'node:crypto';
import type http from 'node:http';

export const ANTMINER_REALM = 'antMiner Configuration';
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/** The parameters of an `Authorization: Digest k="v", k=v` header. */
function digestParams(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of header.replace(/^Digest\s+/i, '').matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]*))/g)) out[m[1]!] = m[2] ?? m[3] ?? '';
  return out;
}

export interface DigestServer {
  /** Whether the request's Authorization header answers one of our challenges with this user and password. */
  check(header: string | undefined, method: string): boolean;
  /** Answers 401 with a fresh challenge. */
  challenge(res: http.ServerResponse): void;
}

export function createDigestServer(user: string, password: string): DigestServer {
  const nonces = new Set<string>();
  return {
    check(header, method) {
      if (header === undefined || !/^Digest\s/i.test(header)) return false;
      const p = digestParams(header);
      if (p.username !== user || p.realm !== ANTMINER_REALM || !nonces.has(p.nonce ?? '') || p.qop !== 'auth') return false;
      const ha1 = md5(`${user}:${ANTMINER_REALM}:${password}`);
      const ha2 = md5(`${method}:${p.uri ?? ''}`);
      return p.response === md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:auth:${ha2}`);
    },
    challenge(res) {
      const nonce = randomBytes(16).toString('hex');
      if (nonces.size >= 1000) nonces.clear(); // bounded: a client that never answers cannot grow the set
      nonces.add(nonce);
      res.writeHead(401, { 'www-authenticate': `Digest realm="${ANTMINER_REALM}", qop="auth", nonce="${nonce}"`, connection: 'close' });
      res.end('401 Unauthorized');
    },
  };
}
