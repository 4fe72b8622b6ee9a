/**
 * A Stratum job prepared for share checks: every field of mining.notify
 * decoded once. The wire shape (StratumJob) and its byte orders are in
 * src/protocol/work-types.ts.
 */

import type { StratumJob } from '../protocol/work-types.js';
import { bswap32, decodeHex, parseU32BE } from '../util/hex.js';
import { createMidstate, type Midstate } from './sha256.js';
import { targetFromBits } from './target.js';

/** Limits on job fields: generous for any real pool, small enough that a hostile one cannot balloon memory. */
export const JOB_LIMITS = Object.freeze({
  /** Max bytes of coinb1 and of coinb2 each. A coinbase is bounded by the block weight; real ones are < 1 KiB. */
  maxCoinbasePartBytes: 32 * 1024,
  /** Max merkle branch levels: 2^32 transactions would not fit a block. */
  maxBranchLevels: 32,
  /** Max job id length (pools send short hex or decimal ids). */
  maxJobIdLength: 128,
});

/** A job with every field decoded once, ready for many share checks. */
export interface PreparedJob {
  readonly jobId: string;
  readonly wire: StratumJob;
  /** The header's prevhash as 8 big-endian words (header byte order). */
  readonly prevhashWords: Int32Array;
  readonly coinb1: Uint8Array;
  readonly coinb2: Uint8Array;
  /** SHA-256 state after coinb1's whole 64-byte blocks; shared by every share of the job. */
  readonly coinb1Midstate: Midstate;
  /** Merkle branch, 8 big-endian words per level. */
  readonly branchWords: Int32Array;
  readonly version: number;
  readonly nbits: number;
  readonly ntime: number;
  readonly networkTarget: bigint;
}

/** Why a job could not be prepared: the field (dotted path) and what is wrong with it. */
export interface JobFieldError {
  readonly field: string;
  readonly message: string;
}

export type PrepareJobResult = { ok: true; job: PreparedJob } | { ok: false; error: JobFieldError };

function fail(field: string, message: string): PrepareJobResult {
  return { ok: false, error: { field, message } };
}

function hexWords(hex: string, bytes: number): Int32Array | undefined {
  const b = decodeHex(hex);
  if (b === undefined || b.length !== bytes) return undefined;
  const out = new Int32Array(bytes >> 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = (b[4 * i] << 24) | (b[4 * i + 1] << 16) | (b[4 * i + 2] << 8) | b[4 * i + 3];
  }
  return out;
}

/**
 * Decodes and checks a job. Never throws on bad input: returns the first
 * offending field with a message an operator can act on.
 */
export function prepareJob(job: StratumJob): PrepareJobResult {
  if (job === null || typeof job !== 'object') return fail('job', 'must be an object');
  if (typeof job.jobId !== 'string' || job.jobId.length === 0 || job.jobId.length > JOB_LIMITS.maxJobIdLength) {
    return fail('job.jobId', `must be a non-empty string of at most ${JOB_LIMITS.maxJobIdLength} characters`);
  }
  const prev = hexWords(job.prevhash, 32);
  if (prev === undefined) return fail('job.prevhash', 'must be 64 hex digits (32 bytes)');
  // Stratum sends each 4-byte word byte-swapped: swap back to header order.
  const prevhashWords = prev.map(bswap32);
  const coinb1 = decodeHex(job.coinb1);
  if (coinb1 === undefined) return fail('job.coinb1', 'must be an even-length hex string');
  if (coinb1.length > JOB_LIMITS.maxCoinbasePartBytes) return fail('job.coinb1', `longer than ${JOB_LIMITS.maxCoinbasePartBytes} bytes`);
  const coinb2 = decodeHex(job.coinb2);
  if (coinb2 === undefined) return fail('job.coinb2', 'must be an even-length hex string');
  if (coinb2.length > JOB_LIMITS.maxCoinbasePartBytes) return fail('job.coinb2', `longer than ${JOB_LIMITS.maxCoinbasePartBytes} bytes`);
  if (!Array.isArray(job.merkleBranch)) return fail('job.merkleBranch', 'must be an array of 64-hex-digit hashes');
  if (job.merkleBranch.length > JOB_LIMITS.maxBranchLevels) {
    return fail('job.merkleBranch', `more than ${JOB_LIMITS.maxBranchLevels} levels`);
  }
  const branchWords = new Int32Array(job.merkleBranch.length * 8);
  for (let i = 0; i < job.merkleBranch.length; i++) {
    const w = hexWords(job.merkleBranch[i], 32);
    if (w === undefined) return fail(`job.merkleBranch[${i}]`, 'must be 64 hex digits (32 bytes)');
    branchWords.set(w, i * 8);
  }
  const version = parseU32BE(job.version);
  if (version === undefined) return fail('job.version', 'must be 8 hex digits (big-endian)');
  const nbits = parseU32BE(job.nbits);
  if (nbits === undefined) return fail('job.nbits', 'must be 8 hex digits (big-endian)');
  const target = targetFromBits(nbits);
  if (!target.ok) return fail('job.nbits', `compact target is ${target.error}`);
  const ntime = parseU32BE(job.ntime);
  if (ntime === undefined) return fail('job.ntime', 'must be 8 hex digits (big-endian)');
  return {
    ok: true,
    job: {
      jobId: job.jobId,
      wire: job,
      prevhashWords,
      coinb1,
      coinb2,
      coinb1Midstate: createMidstate(coinb1),
      branchWords,
      version,
      nbits,
      ntime,
      networkTarget: target.target,
    },
  };
}
