/**
 * A SHA-256 core (FIPS 180-4) specialised for the hashes a share check does.
 *
 * Why hand-written: one share costs ~44 compressions (coinbase tail, a
 * 12-level merkle branch at three compressions per level, the header), and
 * at that grain the per-call cost of `createHash`, `crypto.hash` or
 * @noble/hashes (object creation, byte copies, padding) dominates the
 * compression itself. This core works on 32-bit words end to end, reuses
 * scratch buffers, and precomputes the message schedule of the constant
 * padding block of a 64-byte message. `npm run bench` measures it against
 * @noble/hashes and node:crypto, and the tests cross-check it against both.
 *
 * Words are big-endian: word i of a digest is bytes 4i..4i+3 of the digest
 * read big-endian (SHA-256's own convention), so a digest can be fed into
 * the next block without any byte shuffling.
 *
 * Not re-entrant (module-level scratch), which is fine in single-threaded JS.
 */

const K = Int32Array.from([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be,
  0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa,
  0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85,
  0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
  0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f,
  0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

/** Initial hash value H(0), FIPS 180-4 §5.3.3. */
export const SHA256_IV: Readonly<Int32Array> = Int32Array.from([
  0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
]);

const W = new Int32Array(64);

function expand(w: Int32Array): void {
  for (let i = 16; i < 64; i++) {
    const w15 = w[i - 15];
    const w2 = w[i - 2];
    const s0 = ((w15 >>> 7) | (w15 << 25)) ^ ((w15 >>> 18) | (w15 << 14)) ^ (w15 >>> 3);
    const s1 = ((w2 >>> 17) | (w2 << 15)) ^ ((w2 >>> 19) | (w2 << 13)) ^ (w2 >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
}

/**
 * The 64 rounds over an already expanded schedule, added into `state`.
 * Unrolled by 8 with the working variables renamed instead of shifted
 * (after 8 rounds every role is back on its own variable): this removes the
 * 8 register moves per round of the textbook loop. FIPS 180-4 §6.2.2 step 3.
 */
function rounds(state: Int32Array, w: Int32Array): void {
  let a = state[0];
  let b = state[1];
  let c = state[2];
  let d = state[3];
  let e = state[4];
  let f = state[5];
  let g = state[6];
  let h = state[7];
  let t1 = 0;
  for (let i = 0; i < 64; i += 8) {
    t1 =
      (h + (((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7))) + ((e & f) ^ (~e & g)) + K[i + 0] + w[i + 0]) | 0;
    d = (d + t1) | 0;
    h = (t1 + (((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10))) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    t1 =
      (g + (((d >>> 6) | (d << 26)) ^ ((d >>> 11) | (d << 21)) ^ ((d >>> 25) | (d << 7))) + ((d & e) ^ (~d & f)) + K[i + 1] + w[i + 1]) | 0;
    c = (c + t1) | 0;
    g = (t1 + (((h >>> 2) | (h << 30)) ^ ((h >>> 13) | (h << 19)) ^ ((h >>> 22) | (h << 10))) + ((h & a) ^ (h & b) ^ (a & b))) | 0;
    t1 =
      (f + (((c >>> 6) | (c << 26)) ^ ((c >>> 11) | (c << 21)) ^ ((c >>> 25) | (c << 7))) + ((c & d) ^ (~c & e)) + K[i + 2] + w[i + 2]) | 0;
    b = (b + t1) | 0;
    f = (t1 + (((g >>> 2) | (g << 30)) ^ ((g >>> 13) | (g << 19)) ^ ((g >>> 22) | (g << 10))) + ((g & h) ^ (g & a) ^ (h & a))) | 0;
    t1 =
      (e + (((b >>> 6) | (b << 26)) ^ ((b >>> 11) | (b << 21)) ^ ((b >>> 25) | (b << 7))) + ((b & c) ^ (~b & d)) + K[i + 3] + w[i + 3]) | 0;
    a = (a + t1) | 0;
    e = (t1 + (((f >>> 2) | (f << 30)) ^ ((f >>> 13) | (f << 19)) ^ ((f >>> 22) | (f << 10))) + ((f & g) ^ (f & h) ^ (g & h))) | 0;
    t1 =
      (d + (((a >>> 6) | (a << 26)) ^ ((a >>> 11) | (a << 21)) ^ ((a >>> 25) | (a << 7))) + ((a & b) ^ (~a & c)) + K[i + 4] + w[i + 4]) | 0;
    h = (h + t1) | 0;
    d = (t1 + (((e >>> 2) | (e << 30)) ^ ((e >>> 13) | (e << 19)) ^ ((e >>> 22) | (e << 10))) + ((e & f) ^ (e & g) ^ (f & g))) | 0;
    t1 =
      (c + (((h >>> 6) | (h << 26)) ^ ((h >>> 11) | (h << 21)) ^ ((h >>> 25) | (h << 7))) + ((h & a) ^ (~h & b)) + K[i + 5] + w[i + 5]) | 0;
    g = (g + t1) | 0;
    c = (t1 + (((d >>> 2) | (d << 30)) ^ ((d >>> 13) | (d << 19)) ^ ((d >>> 22) | (d << 10))) + ((d & e) ^ (d & f) ^ (e & f))) | 0;
    t1 =
      (b + (((g >>> 6) | (g << 26)) ^ ((g >>> 11) | (g << 21)) ^ ((g >>> 25) | (g << 7))) + ((g & h) ^ (~g & a)) + K[i + 6] + w[i + 6]) | 0;
    f = (f + t1) | 0;
    b = (t1 + (((c >>> 2) | (c << 30)) ^ ((c >>> 13) | (c << 19)) ^ ((c >>> 22) | (c << 10))) + ((c & d) ^ (c & e) ^ (d & e))) | 0;
    t1 =
      (a + (((f >>> 6) | (f << 26)) ^ ((f >>> 11) | (f << 21)) ^ ((f >>> 25) | (f << 7))) + ((f & g) ^ (~f & h)) + K[i + 7] + w[i + 7]) | 0;
    e = (e + t1) | 0;
    a = (t1 + (((b >>> 2) | (b << 30)) ^ ((b >>> 13) | (b << 19)) ^ ((b >>> 22) | (b << 10))) + ((b & c) ^ (b & d) ^ (c & d))) | 0;
  }
  state[0] = (state[0] + a) | 0;
  state[1] = (state[1] + b) | 0;
  state[2] = (state[2] + c) | 0;
  state[3] = (state[3] + d) | 0;
  state[4] = (state[4] + e) | 0;
  state[5] = (state[5] + f) | 0;
  state[6] = (state[6] + g) | 0;
  state[7] = (state[7] + h) | 0;
}

/** One compression of the 16 words `block[off..off+16)` into `state`. */
export function compressWords(state: Int32Array, block: Int32Array, off: number): void {
  for (let i = 0; i < 16; i++) W[i] = block[off + i];
  expand(W);
  rounds(state, W);
}

/** One compression of the 64 bytes `bytes[off..off+64)` into `state`. */
export function compressBytes(state: Int32Array, bytes: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++, off += 4) {
    W[i] = (bytes[off] << 24) | (bytes[off + 1] << 16) | (bytes[off + 2] << 8) | bytes[off + 3];
  }
  expand(W);
  rounds(state, W);
}

/** Expanded schedule of the padding block that follows a 64-byte message (0x80, zeros, bit length 512). */
const PAD64 = new Int32Array(64);
PAD64[0] = 0x80000000 | 0;
PAD64[15] = 512;
expand(PAD64);

const S = new Int32Array(8);

/**
 * Second SHA-256 pass of sha256d: hashes the 32-byte digest in `state`
 * (one block: digest, 0x80, zeros, bit length 256) and writes the result to `out`.
 */
function finishDouble(state: Int32Array, out: Int32Array): void {
  // Fill the schedule directly (no intermediate block copy).
  for (let i = 0; i < 8; i++) W[i] = state[i];
  W[8] = 0x80000000 | 0;
  W[9] = 0;
  W[10] = 0;
  W[11] = 0;
  W[12] = 0;
  W[13] = 0;
  W[14] = 0;
  W[15] = 256;
  expand(W);
  out.set(SHA256_IV);
  rounds(out, W);
}

/**
 * sha256d of a 64-byte message given as 16 words at `block[off..]`, written
 * as 8 words to `out` (which may alias the input). This is one merkle step:
 * sha256d(left ‖ right).
 */
export function sha256dWords64(block: Int32Array, off: number, out: Int32Array): void {
  S.set(SHA256_IV);
  compressWords(S, block, off);
  rounds(S, PAD64); // rounds() only reads the schedule, so the precomputed one is shared
  finishDouble(S, out);
}

/**
 * Folds a merkle branch (BIP 34-era Stratum: coinbase is always the leftmost
 * leaf, so every branch hash is the right-hand sibling) into `root`, in place.
 * `branch` holds 8 words per level.
 */
export function foldMerkleBranch(root: Int32Array, branch: Int32Array): void {
  const levels = branch.length >> 3;
  for (let l = 0; l < levels; l++) {
    // Schedule = current node ‖ branch hash, written straight into W.
    const off = l << 3;
    for (let i = 0; i < 8; i++) {
      W[i] = root[i];
      W[8 + i] = branch[off + i];
    }
    expand(W);
    S.set(SHA256_IV);
    rounds(S, W);
    rounds(S, PAD64);
    finishDouble(S, root);
  }
}

/** The hash state after the whole 64-byte blocks of a message prefix. */
export interface Midstate {
  readonly state: Int32Array;
  /** Bytes consumed: a multiple of 64. */
  readonly length: number;
}

/** Hashes the whole 64-byte blocks of `prefix`; the remainder must be passed as the start of the tail. */
export function createMidstate(prefix: Uint8Array): Midstate {
  const state = Int32Array.from(SHA256_IV);
  const whole = prefix.length - (prefix.length & 63);
  for (let off = 0; off < whole; off += 64) compressBytes(state, prefix, off);
  return { state, length: whole };
}

const TAIL_BLOCK = new Uint8Array(128);

/**
 * Continues from `mid` over `tail[0..tailLength)`, applies the SHA-256
 * padding for a message of `mid.length + tailLength` bytes, and writes the
 * single SHA-256 to `out` (8 words).
 */
export function sha256FromMidstate(mid: Midstate, tail: Uint8Array, tailLength: number, out: Int32Array): void {
  out.set(mid.state);
  const whole = tailLength - (tailLength & 63);
  for (let off = 0; off < whole; off += 64) compressBytes(out, tail, off);
  const rest = tailLength - whole;
  TAIL_BLOCK.fill(0);
  TAIL_BLOCK.set(tail.subarray(whole, tailLength), 0);
  TAIL_BLOCK[rest] = 0x80;
  // Bit length, big-endian, in the last 8 bytes of the final block. Messages here are < 2^53 bits.
  const blocks = rest + 9 > 64 ? 2 : 1;
  const bits = (mid.length + tailLength) * 8;
  const end = blocks * 64;
  const hi = Math.floor(bits / 0x100000000);
  const lo = bits >>> 0;
  TAIL_BLOCK[end - 8] = hi >>> 24;
  TAIL_BLOCK[end - 7] = hi >>> 16;
  TAIL_BLOCK[end - 6] = hi >>> 8;
  TAIL_BLOCK[end - 5] = hi;
  TAIL_BLOCK[end - 4] = lo >>> 24;
  TAIL_BLOCK[end - 3] = lo >>> 16;
  TAIL_BLOCK[end - 2] = lo >>> 8;
  TAIL_BLOCK[end - 1] = lo;
  compressBytes(out, TAIL_BLOCK, 0);
  if (blocks === 2) compressBytes(out, TAIL_BLOCK, 64);
}

/** sha256d continuing from a midstate: sha256(sha256(prefix ‖ tail)). */
export function sha256dFromMidstate(mid: Midstate, tail: Uint8Array, tailLength: number, out: Int32Array): void {
  sha256FromMidstate(mid, tail, tailLength, S);
  finishDouble(S, out);
}

const EMPTY_MID: Midstate = { state: Int32Array.from(SHA256_IV), length: 0 };
const ONE = new Int32Array(8);

/** Digest words -> 32 digest bytes. */
export function wordsToBytes(words: Int32Array): Uint8Array {
  const out = new Uint8Array(words.length * 4);
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    out[4 * i] = w >>> 24;
    out[4 * i + 1] = w >>> 16;
    out[4 * i + 2] = w >>> 8;
    out[4 * i + 3] = w;
  }
  return out;
}

/** Bytes (length a multiple of 4) -> big-endian words. */
export function bytesToWords(bytes: Uint8Array): Int32Array {
  const out = new Int32Array(bytes.length >> 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = (bytes[4 * i] << 24) | (bytes[4 * i + 1] << 16) | (bytes[4 * i + 2] << 8) | bytes[4 * i + 3];
  }
  return out;
}

/** SHA-256 of arbitrary bytes (convenience; the hot path uses the word functions). */
export function sha256(data: Uint8Array): Uint8Array {
  sha256FromMidstate(EMPTY_MID, data, data.length, ONE);
  return wordsToBytes(ONE);
}

/** sha256d = SHA-256(SHA-256(data)), Bitcoin's hash for headers, transactions and merkle nodes. */
export function sha256d(data: Uint8Array): Uint8Array {
  const out = new Int32Array(8);
  sha256dFromMidstate(EMPTY_MID, data, data.length, out);
  return wordsToBytes(out);
}

const HEADER_TAIL = new Int32Array(16);

/**
 * sha256d of an 80-byte block header given as 20 big-endian words, written
 * to `out`. The second block is the header's last 4 words plus the fixed
 * padding of an 80-byte message (0x80, zeros, bit length 640).
 */
export function sha256dHeaderWords(header: Int32Array, out: Int32Array): void {
  S.set(SHA256_IV);
  compressWords(S, header, 0);
  HEADER_TAIL[0] = header[16];
  HEADER_TAIL[1] = header[17];
  HEADER_TAIL[2] = header[18];
  HEADER_TAIL[3] = header[19];
  HEADER_TAIL[4] = 0x80000000 | 0;
  HEADER_TAIL[15] = 640;
  compressWords(S, HEADER_TAIL, 0);
  finishDouble(S, out);
}
