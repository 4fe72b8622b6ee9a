/**
 * validateShare's hashing pipeline with the SHA-256 swapped out, for
 * `npm run bench`: the measurement that justifies (or refutes) the
 * hand-written core in src/work/sha256.ts, step by step.
 *
 * Both variants re-use per job what validateShare re-uses (decoded branch,
 * prevhash, coinb2, the hash state after coinb1), so the only difference
 * left is the SHA-256 implementation and the byte-oriented API around it:
 * - noble: @noble/hashes `sha256`; the coinb1 prefix state is a hasher fed
 *   coinb1 once per job and `.clone()`d per share.
 * - node:crypto: `crypto.hash('sha256', …)` one-shot (Node ≥ 20.12) for
 *   merkle, header and second passes; `createHash().copy()` for the coinb1
 *   prefix state.
 *
 * Per-job state lives in a WeakMap keyed by the PreparedJob, so it goes
 * away with the job.
 */

import { createHash, hash as cryptoHash, type Hash } from 'node:crypto';
import { sha256 } from '@noble/hashes/sha2.js';
import { bswap32, decodeHex } from '../util/hex.js';
import {
  DIFF1_TARGET,
  type JobStore,
  type PreparedJob,
  type ShareContext,
  type ShareHasher,
  type ShareSubmit,
  type ShareVerdict,
  type ShareWork,
  targetFromDifficulty,
  validateShareWith,
} from '../work/index.js';
import { workFromDigest } from './naive.js';

// ---------------------------------------------------------------------------
// sha256d steps, one per implementation

/** sha256d with @noble/hashes (two one-shot calls). */
export function nobleSha256d(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

/** sha256d with node:crypto's one-shot `hash()` (no Hash object). */
export function cryptoHashSha256d(data: Uint8Array): Uint8Array {
  return cryptoHash('sha256', cryptoHash('sha256', data, 'buffer'), 'buffer');
}

export type NoblePrefix = ReturnType<typeof sha256.create>;

/** A noble hasher that has absorbed `prefix` (any length; noble buffers the partial block). */
export function createNoblePrefix(prefix: Uint8Array): NoblePrefix {
  return sha256.create().update(prefix);
}

/** sha256d(prefix ‖ tail…) from a prefix state, which is cloned and left untouched. */
export function nobleSha256dFromPrefix(prefix: NoblePrefix, ...tail: Uint8Array[]): Uint8Array {
  const h = prefix.clone();
  for (const t of tail) h.update(t);
  return sha256(h.digest());
}

/** A node:crypto Hash that has absorbed `prefix`. */
export function createNodePrefix(prefix: Uint8Array): Hash {
  return createHash('sha256').update(prefix);
}

/** sha256d(prefix ‖ tail…) from a prefix state, which is copied and left untouched. */
export function nodeSha256dFromPrefix(prefix: Hash, ...tail: Uint8Array[]): Uint8Array {
  const h = prefix.copy();
  for (const t of tail) h.update(t);
  return cryptoHash('sha256', h.digest(), 'buffer');
}

// ---------------------------------------------------------------------------
// Share pipelines

interface JobBytes {
  readonly coinb2: Uint8Array;
  /** Branch hashes, internal byte order, leaf level first. */
  readonly branch: readonly Uint8Array[];
  /** An 80-byte header with the prevhash (header order) filled in; copied per share. */
  readonly headerTemplate: Uint8Array;
}

function jobBytes(job: PreparedJob): JobBytes {
  const headerTemplate = new Uint8Array(80);
  // prevhashWords are the header's words read big-endian: write them back big-endian.
  for (let i = 0; i < 8; i++) writeU32BE(headerTemplate, 4 + 4 * i, job.prevhashWords[i]);
  const branch = job.wire.merkleBranch.map((h) => decodeHex(h) as Uint8Array);
  return { coinb2: job.coinb2, branch, headerTemplate };
}

function writeU32BE(out: Uint8Array, off: number, v: number): void {
  out[off] = v >>> 24;
  out[off + 1] = v >>> 16;
  out[off + 2] = v >>> 8;
  out[off + 3] = v;
}

/** Header integers are little-endian (the wire's big-endian numbers, byte-swapped). */
function writeU32LE(out: Uint8Array, off: number, v: number): void {
  writeU32BE(out, off, bswap32(v));
}

const PAIR = new Uint8Array(64);

/**
 * The shared shape of both pipelines: coinbase hash from the prefix state,
 * merkle fold over the branch (sha256d of the 64-byte pair), header, then
 * sha256d of the header.
 */
function pipeline(
  bytes: JobBytes,
  coinbaseHash: Uint8Array,
  merkleStep: (pair: Uint8Array) => Uint8Array,
  headerHash: (header: Uint8Array) => Uint8Array,
  ntime: number,
  nbits: number,
  nonce: number,
  version: number,
): ShareWork {
  let root = coinbaseHash;
  for (const b of bytes.branch) {
    PAIR.set(root, 0);
    PAIR.set(b, 32);
    root = merkleStep(PAIR);
  }
  const header = bytes.headerTemplate.slice();
  writeU32LE(header, 0, version);
  header.set(root, 36);
  writeU32LE(header, 68, ntime);
  writeU32LE(header, 72, nbits);
  writeU32LE(header, 76, nonce);
  return workFromDigest(headerHash(header), version, header);
}

interface NobleJob extends JobBytes {
  readonly prefix: NoblePrefix;
}
const nobleJobs = new WeakMap<PreparedJob, NobleJob>();

/** hashShare with @noble/hashes for every SHA-256. */
export const nobleHashShare: ShareHasher = (job, extranonce1, extranonce2, ntime, nonce, version) => {
  let j = nobleJobs.get(job);
  if (j === undefined) {
    j = { ...jobBytes(job), prefix: createNoblePrefix(job.coinb1) };
    nobleJobs.set(job, j);
  }
  const cb = nobleSha256dFromPrefix(j.prefix, extranonce1, extranonce2, j.coinb2);
  return pipeline(j, cb, nobleSha256d, nobleSha256d, ntime, job.nbits, nonce, version);
};

interface NodeJob extends JobBytes {
  readonly prefix: Hash;
}
const nodeJobs = new WeakMap<PreparedJob, NodeJob>();

/** hashShare with node:crypto: createHash().copy() for the coinbase, one-shot hash() for the rest. */
export const nodeCryptoHashShare: ShareHasher = (job, extranonce1, extranonce2, ntime, nonce, version) => {
  let j = nodeJobs.get(job);
  if (j === undefined) {
    j = { ...jobBytes(job), prefix: createNodePrefix(job.coinb1) };
    nodeJobs.set(job, j);
  }
  const cb = nodeSha256dFromPrefix(j.prefix, extranonce1, extranonce2, j.coinb2);
  return pipeline(j, cb, cryptoHashSha256d, cryptoHashSha256d, ntime, job.nbits, nonce, version);
};

/** The share target memoised on the last difficulty, as validateShare does. */
function memoTarget(): (difficulty: number) => bigint {
  let lastDifficulty = Number.NaN;
  let lastTarget = DIFF1_TARGET;
  return (difficulty) => {
    if (difficulty !== lastDifficulty) {
      lastTarget = targetFromDifficulty(difficulty);
      lastDifficulty = difficulty;
    }
    return lastTarget;
  };
}

const nobleTarget = memoTarget();
const nodeTarget = memoTarget();

/** validateShare with the @noble/hashes pipeline. */
export function nobleValidateShare(store: JobStore, ctx: ShareContext, submit: ShareSubmit): ShareVerdict {
  return validateShareWith(nobleHashShare, nobleTarget, store, ctx, submit);
}

/** validateShare with the node:crypto pipeline. */
export function nodeCryptoValidateShare(store: JobStore, ctx: ShareContext, submit: ShareSubmit): ShareVerdict {
  return validateShareWith(nodeCryptoHashShare, nodeTarget, store, ctx, submit);
}
