/**
 * Independent Stratum V1 share check for the simulators, written from the spec
 * (test/fixtures/README.md, DESIGN.md "Stratum V1 facts") with node:crypto only.
 * It must never import from src/: it is the yardstick the proxy is measured against.
 *
 * Byte order, in short:
 * - coinbase = coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2 (hex as sent)
 * - merkle root = fold sha256d(node ‖ branch[i]) from sha256d(coinbase); all internal order
 * - prevhash on the wire = internal-order bytes with each 4-byte word byte-swapped
 * - version, nbits, ntime, nonce on the wire = big-endian hex of a uint32; in the header, little-endian
 * - the hash as a number = the 32 sha256d bytes read little-endian
 */
import { createHash } from 'node:crypto';

/** Difficulty 1 target: 0xFFFF · 2^208 = 0x00000000FFFF0000…0000. */
export const DIFF1 = 0xffffn << 208n;

export function sha256d(data: Uint8Array): Buffer {
  return createHash('sha256').update(createHash('sha256').update(data).digest()).digest();
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

export function isHex(s: unknown, bytes?: number): s is string {
  return typeof s === 'string' && HEX_RE.test(s) && (bytes === undefined || s.length === bytes * 2);
}

export function fromHex(s: string): Buffer {
  if (!isHex(s)) throw new Error(`not hex: ${JSON.stringify(String(s).slice(0, 80))}`);
  return Buffer.from(s, 'hex');
}

/** A uint32 as Stratum writes it: 8 hex digits, big-endian. */
export function hex32(n: number): string {
  return (n >>> 0).toString(16).padStart(8, '0');
}

/** Parse Stratum's 8-hex-digit big-endian uint32 (version, nbits, ntime, nonce, version bits). */
export function parseHex32(s: string): number {
  if (!isHex(s, 4)) throw new Error(`not an 8-digit hex uint32: ${JSON.stringify(s)}`);
  return Number.parseInt(s, 16) >>> 0;
}

/** Swap the bytes inside each 4-byte word (Stratum prevhash ⇄ internal order; the operation is its own inverse). */
export function swapWords(buf: Uint8Array): Buffer {
  if (buf.length % 4 !== 0) throw new Error('length must be a multiple of 4');
  const out = Buffer.alloc(buf.length);
  for (let i = 0; i < buf.length; i += 4) {
    out[i] = buf[i + 3]!;
    out[i + 1] = buf[i + 2]!;
    out[i + 2] = buf[i + 1]!;
    out[i + 3] = buf[i]!;
  }
  return out;
}

export function coinbase(coinb1: string, extranonce1: string, extranonce2: string, coinb2: string): Buffer {
  return fromHex(coinb1 + extranonce1 + extranonce2 + coinb2);
}

/** Merkle root (internal order) from the coinbase transaction and the branch hashes (internal order, leaf level first). */
export function merkleRoot(coinbaseTx: Uint8Array, branch: readonly string[]): Buffer {
  let node = sha256d(coinbaseTx);
  for (const h of branch) node = sha256d(Buffer.concat([node, fromHex(h)]));
  return node;
}

/** BIP 310: header version = job version with the masked bits replaced by the miner's bits. */
export function rollVersion(version: number, versionBits: number, mask: number): number {
  return ((version & ~mask) | (versionBits & mask)) >>> 0;
}

export interface HeaderFields {
  /** Final header version (already rolled). */
  version: number;
  /** Stratum (word-swapped) prevhash, 64 hex digits. */
  prevhash: string;
  /** Internal order. */
  merkleRoot: Uint8Array;
  ntime: number;
  nbits: number;
  nonce: number;
}

export function buildHeader(f: HeaderFields): Buffer {
  const prev = fromHex(f.prevhash);
  if (prev.length !== 32) throw new Error('prevhash must be 32 bytes');
  if (f.merkleRoot.length !== 32) throw new Error('merkle root must be 32 bytes');
  const h = Buffer.alloc(80);
  h.writeUInt32LE(f.version >>> 0, 0);
  swapWords(prev).copy(h, 4);
  Buffer.from(f.merkleRoot).copy(h, 36);
  h.writeUInt32LE(f.ntime >>> 0, 68);
  h.writeUInt32LE(f.nbits >>> 0, 72);
  h.writeUInt32LE(f.nonce >>> 0, 76);
  return h;
}

/** The 32 hash bytes read as a little-endian 256-bit integer. */
export function hashToBigInt(hash: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(hash).reverse().toString('hex')}`);
}

/** Display order (block-explorer hex): the reversed hash bytes. */
export function displayHex(hash: Uint8Array): string {
  return Buffer.from(hash).reverse().toString('hex');
}

/** A finite positive double as m · 2^e with m an integer (exact). */
function decompose(d: number): [bigint, number] {
  const dv = new DataView(new ArrayBuffer(8));
  dv.setFloat64(0, d);
  const hi = dv.getUint32(0);
  const lo = dv.getUint32(4);
  const expBits = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  if (expBits === 0) return [mant, -1074];
  mant |= 1n << 52n;
  return [mant, expBits - 1075];
}

/** floor(DIFF1 / difficulty), exact for any finite positive double (fractional difficulties included). */
export function targetFromDifficulty(difficulty: number): bigint {
  if (!Number.isFinite(difficulty) || difficulty <= 0) throw new Error(`bad difficulty ${difficulty}`);
  const [m, e] = decompose(difficulty);
  return e >= 0 ? DIFF1 / (m << BigInt(e)) : (DIFF1 << BigInt(-e)) / m;
}

/** Compact nBits → target (sign bit ignored; mainnet never sets it). */
export function targetFromBits(nbits: number): bigint {
  const exp = nbits >>> 24;
  const mant = BigInt(nbits & 0x007fffff);
  return exp <= 3 ? mant >> BigInt(8 * (3 - exp)) : mant << BigInt(8 * (exp - 3));
}

/** Share difficulty = DIFF1 / hash, as a double (informational; comparisons use targets). */
export function shareDifficulty(hashInt: bigint): number {
  if (hashInt === 0n) return Number.POSITIVE_INFINITY;
  const scaled = (DIFF1 << 64n) / hashInt;
  return Number(scaled) / 2 ** 64;
}

/** A job as mining.notify carries it (hex strings as on the wire). */
export interface StratumJob {
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: readonly string[];
  version: string;
  nbits: string;
  ntime: string;
}

/** What a miner contributes: mining.submit's fields plus its extranonce1. */
export interface StratumWork {
  extranonce1: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  /** mining.submit 6th parameter (hex), only with version rolling. */
  versionBits?: string | undefined;
  /** Negotiated mask (hex); versionBits are applied through it. */
  versionMask?: string | undefined;
}

export interface ShareHash {
  header: Buffer;
  /** Raw sha256d output (internal order). */
  hash: Buffer;
  /** Little-endian integer value of the hash. */
  hashInt: bigint;
  /** Display-order hex. */
  hashHex: string;
  version: number;
  merkleRoot: Buffer;
}

export function hashShare(job: StratumJob, work: StratumWork): ShareHash {
  const root = merkleRoot(coinbase(job.coinb1, work.extranonce1, work.extranonce2, job.coinb2), job.merkleBranch);
  let version = parseHex32(job.version);
  if (work.versionBits !== undefined) {
    const mask = work.versionMask === undefined ? 0xffffffff : parseHex32(work.versionMask);
    version = rollVersion(version, parseHex32(work.versionBits), mask);
  }
  const header = buildHeader({
    version,
    prevhash: job.prevhash,
    merkleRoot: root,
    ntime: parseHex32(work.ntime),
    nbits: parseHex32(job.nbits),
    nonce: parseHex32(work.nonce),
  });
  const hash = sha256d(header);
  return { header, hash, hashInt: hashToBigInt(hash), hashHex: displayHex(hash), version, merkleRoot: root };
}

/** A share meets a difficulty when its hash, as a number, is at or below the target. */
export function meetsDifficulty(hashInt: bigint, difficulty: number): boolean {
  return hashInt <= targetFromDifficulty(difficulty);
}

/** Loopback only: the simulators never talk to anything else. */
export function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1';
}
