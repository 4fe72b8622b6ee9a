/**
 * Strict hex codecs for wire values.
 *
 * `Buffer.from(s, 'hex')` silently stops at the first bad character and drops
 * a trailing odd nibble, which would turn a malformed share into a different,
 * well-formed one. These functions refuse instead: they return `undefined`
 * and let the caller name the field.
 */

const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 10; i++) NIBBLE[48 + i] = i;
for (let i = 0; i < 6; i++) {
  NIBBLE[65 + i] = 10 + i;
  NIBBLE[97 + i] = 10 + i;
}

function nibble(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? NIBBLE[c] : -1;
}

/** Decodes an even-length hex string (either case). `undefined` on any bad character or odd length. */
export function decodeHex(s: string): Uint8Array | undefined {
  if (typeof s !== 'string' || (s.length & 1) !== 0) return undefined;
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0, j = 0; j < out.length; i += 2, j++) {
    const hi = nibble(s, i);
    const lo = nibble(s, i + 1);
    if (hi < 0 || lo < 0) return undefined;
    out[j] = (hi << 4) | lo;
  }
  return out;
}

/** True when `s` is hex of exactly `bytes` bytes (or any even length when `bytes` is omitted). */
export function isHex(s: unknown, bytes?: number): s is string {
  if (typeof s !== 'string' || (s.length & 1) !== 0) return false;
  if (bytes !== undefined && s.length !== bytes * 2) return false;
  for (let i = 0; i < s.length; i++) if (nibble(s, i) < 0) return false;
  return true;
}

/**
 * Parses exactly 8 hex digits as an unsigned 32-bit big-endian number, the
 * encoding Stratum uses for version, nbits, ntime and nonce.
 */
export function parseU32BE(s: unknown): number | undefined {
  if (typeof s !== 'string' || s.length !== 8) return undefined;
  let v = 0;
  for (let i = 0; i < 8; i++) {
    const n = nibble(s, i);
    if (n < 0) return undefined;
    v = (v << 4) | n;
  }
  return v >>> 0;
}

/** Formats an unsigned 32-bit number as 8 lowercase hex digits (big-endian). */
export function formatU32BE(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}

const HEX_CHARS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lowercase hex of bytes. */
export function encodeHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += HEX_CHARS[bytes[i]];
  return s;
}

/** Byte-swaps a 32-bit word (big-endian <-> little-endian). */
export function bswap32(v: number): number {
  return ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
}

/** Reverses a byte array (returns a new array). Display hashes are the digest reversed. */
export function reverseBytes(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) out[i] = bytes[bytes.length - 1 - i];
  return out;
}
