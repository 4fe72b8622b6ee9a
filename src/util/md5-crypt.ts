/**
 * MD5-crypt, the `$1$` scheme of crypt(3) (Poul-Henning Kamp's FreeBSD algorithm, as in glibc, OpenSSL's
 * `openssl passwd -1` and Python passlib's `md5_crypt`). Pure: bytes in, string out.
 *
 * The Whatsminer 2.x API derives its AES key and its command sign from it (notes/firmware-apis.md § 2.3):
 * key = the hash part of md5Crypt(password, salt); sign = the hash part of md5Crypt(key + time, newsalt).
 */

import { createHash } from 'node:crypto';

const MAGIC = '$1$';
/** crypt(3)'s base-64 alphabet (not RFC 4648's). */
const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function md5(...parts: readonly Uint8Array[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** `n` characters of crypt's base 64, least significant 6 bits first. */
function to64(value: number, n: number): string {
  let out = '';
  let v = value;
  for (let i = 0; i < n; i++) {
    out += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

/** The salt as crypt uses it: a leading "$1$" dropped, cut at the first "$", at most 8 characters. */
export function md5CryptSalt(salt: string): string {
  const bare = salt.startsWith(MAGIC) ? salt.slice(MAGIC.length) : salt;
  const cut = bare.indexOf('$');
  return (cut >= 0 ? bare.slice(0, cut) : bare).slice(0, 8);
}

/** The 22-character hash part of `$1$<salt>$<hash>`. */
export function md5CryptHash(password: string, salt: string): string {
  const pw = Buffer.from(password, 'utf8');
  const s = Buffer.from(md5CryptSalt(salt), 'utf8');
  const alt = md5(pw, s, pw);
  const head: Buffer[] = [pw, Buffer.from(MAGIC), s];
  for (let i = pw.length; i > 0; i -= 16) head.push(alt.subarray(0, Math.min(16, i)));
  // One byte per bit of the length: NUL for a 1 bit, the password's first byte for a 0 bit.
  for (let i = pw.length; i > 0; i >>>= 1) head.push(i & 1 ? Buffer.alloc(1) : pw.subarray(0, 1));
  let final = md5(...head);
  // 1000 rounds "to slow things down" (the original's comment).
  for (let i = 0; i < 1000; i++) {
    const parts: Buffer[] = [i & 1 ? pw : final];
    if (i % 3) parts.push(s);
    if (i % 7) parts.push(pw);
    parts.push(i & 1 ? final : pw);
    final = md5(...parts);
  }
  const f = final;
  return (
    to64((f[0]! << 16) | (f[6]! << 8) | f[12]!, 4) +
    to64((f[1]! << 16) | (f[7]! << 8) | f[13]!, 4) +
    to64((f[2]! << 16) | (f[8]! << 8) | f[14]!, 4) +
    to64((f[3]! << 16) | (f[9]! << 8) | f[15]!, 4) +
    to64((f[4]! << 16) | (f[10]! << 8) | f[5]!, 4) +
    to64(f[11]!, 2)
  );
}

/** The full crypt string `$1$<salt>$<hash>`, as `openssl passwd -1 -salt <salt> <password>` prints it. */
export function md5Crypt(password: string, salt: string): string {
  return `${MAGIC}${md5CryptSalt(salt)}$${md5CryptHash(password, salt)}`;
}
