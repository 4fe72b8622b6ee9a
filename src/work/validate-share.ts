/**
 * validateShare: the local verdict on one mining.submit.
 *
 * Checks run in this fixed order; the first failure is the verdict:
 *   1. malformed              – bad hex or wrong field length in the submit
 *   2. unknown-job / stale-job – the job id is not live (stale: retired by clean_jobs)
 *   3. bad-extranonce2-length – extranonce2 is not extranonce2_size bytes
 *   4. bad-version-bits       – bits outside the negotiated mask (BIP 310), or bits sent with no mask
 *   5. ntime-out-of-range     – ntime < job ntime, or > job ntime + window (default 7200 s)
 *   6. duplicate              – same extranonce1, extranonce2, ntime, nonce and version seen for this job
 *   7. low-difficulty         – hash above the share target
 * A share that passes is `accepted`, or `block` when its hash also meets the
 * network target from nbits.
 *
 * Rejections are values, never exceptions; nothing here throws on peer input.
 */

import { REJECT_TABLE, type RejectReason, type StratumErrorCode } from '../protocol/stratum-errors.js';
import type { ShareSubmit } from '../protocol/work-types.js';
import { bswap32, decodeHex, formatU32BE, parseU32BE } from '../util/hex.js';
import type { PreparedJob } from './job.js';
import type { JobStore } from './job-store.js';
import { foldMerkleBranch, sha256dFromMidstate, sha256dHeaderWords, wordsToBytes } from './sha256.js';
import { DIFF1_TARGET, isValidDifficulty, targetFromDifficulty } from './target.js';

/** Default ntime window: a submit's ntime may run at most this many seconds past the job's ntime. */
export const DEFAULT_NTIME_WINDOW_SECONDS = 7200;

/** What the session knows when a share arrives. */
export interface ShareContext {
  /** extranonce1 from mining.subscribe / mining.set_extranonce, hex. */
  readonly extranonce1: string;
  /** extranonce2_size from mining.subscribe / mining.set_extranonce, bytes. */
  readonly extranonce2Size: number;
  /** The negotiated BIP 310 version-rolling mask, or null when not negotiated. */
  readonly versionMask: number | null;
  /** Pool difficulty in force for this share's job. */
  readonly difficulty: number;
  /** Seconds past the job's ntime a submit may go (default 7200). */
  readonly ntimeWindowSeconds?: number;
}

/** The hash of a checked share. */
export interface ShareWork {
  /** Block hash in display order (as block explorers show it). */
  readonly hash: string;
  /** The hash as the 256-bit integer compared against targets. */
  readonly hashValue: bigint;
  /** diff1 / hash. */
  readonly shareDifficulty: number;
  /** The rolled version that went into the header. */
  readonly version: number;
  /** The 80-byte header. */
  readonly header: Uint8Array;
}

export type ShareVerdict =
  | ({ readonly status: 'accepted' | 'block'; readonly valid: true } & ShareWork)
  | ({
      readonly status: 'rejected';
      readonly valid: false;
      readonly reason: RejectReason;
      readonly code: StratumErrorCode;
      /** Which field or limit, for logs and the journal. */
      readonly detail: string;
    } & Partial<ShareWork>);

function reject(reason: RejectReason, detail: string, work?: ShareWork): ShareVerdict {
  return { status: 'rejected', valid: false, reason, code: REJECT_TABLE[reason].code, detail, ...work };
}

// Reusable scratch for the coinbase tail and the header; grows on demand.
let tail = new Uint8Array(1024);
const ROOT = new Int32Array(8);
const HEADER = new Int32Array(20);
const HASH = new Int32Array(8);
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// A session submits many shares with one extranonce1: decode it once, not per share.
let memoEn1Hex = '';
let memoEn1: Uint8Array | undefined = new Uint8Array(0);
function decodeExtranonce1(hex: string): Uint8Array | undefined {
  if (hex !== memoEn1Hex) {
    memoEn1 = decodeHex(hex);
    memoEn1Hex = hex;
  }
  return memoEn1;
}

let memoDifficulty = Number.NaN;
let memoTarget = DIFF1_TARGET;
function shareTarget(difficulty: number): bigint {
  if (difficulty !== memoDifficulty) {
    memoTarget = targetFromDifficulty(difficulty);
    memoDifficulty = difficulty;
  }
  return memoTarget;
}

let memoPoolDifficulty = Number.NaN;
let memoPoolTarget = DIFF1_TARGET;
/**
 * Whether a checked share's hash also meets a (higher) difficulty: the pool's, when the miner works at a lower
 * local difficulty. The same target comparison as step 7, so a share is forwarded exactly when the pool, judging
 * at that difficulty, would accept it.
 */
export function meetsDifficulty(hashValue: bigint, difficulty: number): boolean {
  if (difficulty !== memoPoolDifficulty) {
    memoPoolTarget = targetFromDifficulty(difficulty);
    memoPoolDifficulty = difficulty;
  }
  return hashValue <= memoPoolTarget;
}

/**
 * Builds the header for a share and hashes it. Pure function of its inputs
 * (module scratch is overwritten, never read before being written).
 */
export function hashShare(
  job: PreparedJob,
  extranonce1: Uint8Array,
  extranonce2: Uint8Array,
  ntime: number,
  nonce: number,
  version: number,
): ShareWork {
  // coinbase = coinb1 ‖ extranonce1 ‖ extranonce2 ‖ coinb2; the job's midstate covers coinb1's whole blocks.
  const skip = job.coinb1Midstate.length;
  const need = job.coinb1.length - skip + extranonce1.length + extranonce2.length + job.coinb2.length;
  if (need > tail.length) tail = new Uint8Array(need * 2);
  let n = 0;
  tail.set(job.coinb1.subarray(skip), n);
  n += job.coinb1.length - skip;
  tail.set(extranonce1, n);
  n += extranonce1.length;
  tail.set(extranonce2, n);
  n += extranonce2.length;
  tail.set(job.coinb2, n);
  n += job.coinb2.length;
  sha256dFromMidstate(job.coinb1Midstate, tail, n, ROOT);
  foldMerkleBranch(ROOT, job.branchWords);

  // Header words (SHA-256 reads big-endian words; the header's integer fields are little-endian, hence bswap).
  HEADER[0] = bswap32(version);
  HEADER.set(job.prevhashWords, 1);
  HEADER.set(ROOT, 9); // the merkle root digest bytes go into the header as they are
  HEADER[17] = bswap32(ntime);
  HEADER[18] = bswap32(job.nbits);
  HEADER[19] = bswap32(nonce);
  sha256dHeaderWords(HEADER, HASH);

  // Display hash = digest bytes reversed = words in reverse order, each byte-swapped.
  let hash = '';
  for (let i = 7; i >= 0; i--) {
    const w = HASH[i]; // bytes of this word, last byte first
    hash += HEX_BYTE[w & 0xff] + HEX_BYTE[(w >>> 8) & 0xff] + HEX_BYTE[(w >>> 16) & 0xff] + HEX_BYTE[w >>> 24];
  }
  const hashValue = BigInt(`0x${hash}`);
  const shareDifficulty = hashValue === 0n ? Number.POSITIVE_INFINITY : Number(DIFF1_TARGET) / Number(hashValue);
  // Header bytes: copy the big-endian words and let Buffer#swap32 (native) put each word's bytes in order.
  const header = LITTLE_ENDIAN ? Buffer.from(HEADER.slice().buffer).swap32() : wordsToBytes(HEADER);
  return { hash, hashValue, shareDifficulty, version, header };
}

/**
 * Hashes one share: builds coinbase, merkle root and header for the job and
 * returns the work. `hashShare` is the production one; the benchmark plugs
 * in naive and library-based ones to measure against.
 */
export type ShareHasher = (
  job: PreparedJob,
  extranonce1: Uint8Array,
  extranonce2: Uint8Array,
  ntime: number,
  nonce: number,
  version: number,
) => ShareWork;

/**
 * Checks one submit against the job store and the session context, records
 * it in the job's duplicate set, and returns the verdict.
 */
export function validateShare(store: JobStore, ctx: ShareContext, submit: ShareSubmit): ShareVerdict {
  return validateShareWith(hashShare, shareTarget, store, ctx, submit);
}

/**
 * validateShare with the hashing and the difficulty→target step plugged in.
 * The one implementation of the checks and their order; benchmarks reuse
 * it so that their baselines differ from production only in how they hash.
 */
export function validateShareWith(
  hasher: ShareHasher,
  targetFor: (difficulty: number) => bigint,
  store: JobStore,
  ctx: ShareContext,
  submit: ShareSubmit,
): ShareVerdict {
  // 1. malformed
  if (submit === null || typeof submit !== 'object') return reject('malformed', 'submit is not an object');
  if (typeof submit.jobId !== 'string') return reject('malformed', 'job id is not a string');
  const en2 = decodeHex(submit.extranonce2);
  if (en2 === undefined) return reject('malformed', 'extranonce2 is not hex');
  const ntime = parseU32BE(submit.ntime);
  if (ntime === undefined) return reject('malformed', 'ntime is not 8 hex digits');
  const nonce = parseU32BE(submit.nonce);
  if (nonce === undefined) return reject('malformed', 'nonce is not 8 hex digits');
  let versionBits: number | undefined;
  if (submit.versionBits !== undefined && submit.versionBits !== null) {
    versionBits = parseU32BE(submit.versionBits);
    if (versionBits === undefined) return reject('malformed', 'version bits are not 8 hex digits');
  }
  const en1 = decodeExtranonce1(ctx.extranonce1);
  if (en1 === undefined) return reject('malformed', 'session extranonce1 is not hex');
  if (!isValidDifficulty(ctx.difficulty)) return reject('malformed', 'session difficulty is not a number > 0');

  // 2. unknown-job / stale-job
  const found = store.lookup(submit.jobId);
  if (found.status === 'unknown') return reject('unknown-job', 'job id not known');
  if (found.status === 'stale') return reject('stale-job', 'job retired by clean_jobs');
  const { job } = found.entry;

  // 3. bad-extranonce2-length
  if (en2.length !== ctx.extranonce2Size) {
    return reject('bad-extranonce2-length', `extranonce2 is ${en2.length} bytes, expected ${ctx.extranonce2Size}`);
  }

  // 4. bad-version-bits (BIP 310: version = job.version & ~mask | bits & mask)
  let version = job.version;
  if (versionBits !== undefined) {
    if (ctx.versionMask === null) return reject('bad-version-bits', 'version bits sent but version rolling was not negotiated');
    if ((versionBits & ~ctx.versionMask) !== 0) {
      return reject('bad-version-bits', `bits ${formatU32BE(versionBits)} outside mask ${formatU32BE(ctx.versionMask)}`);
    }
    version = ((job.version & ~ctx.versionMask) | (versionBits & ctx.versionMask)) >>> 0;
  }

  // 5. ntime-out-of-range
  const window = ctx.ntimeWindowSeconds ?? DEFAULT_NTIME_WINDOW_SECONDS;
  if (ntime < job.ntime) return reject('ntime-out-of-range', `ntime ${ntime} is before the job's ${job.ntime}`);
  if (ntime > job.ntime + window)
    return reject('ntime-out-of-range', `ntime ${ntime} is more than ${window} s after the job's ${job.ntime}`);

  // 6. duplicate
  const key = `${ctx.extranonce1}:${submit.extranonce2.toLowerCase()}:${ntime}:${nonce}:${version}`;
  if (!store.remember(found.entry, key)) return reject('duplicate', 'share already submitted for this job');

  // 7. low-difficulty
  const work = hasher(job, en1, en2, ntime, nonce, version);
  if (work.hashValue <= job.networkTarget) return { status: 'block', valid: true, ...work };
  if (work.hashValue > targetFor(ctx.difficulty)) {
    return reject('low-difficulty', `share difficulty ${work.shareDifficulty} below ${ctx.difficulty}`, work);
  }
  return { status: 'accepted', valid: true, ...work };
}
