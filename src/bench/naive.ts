/**
 * The naive baseline for `npm run bench`: validateShare's checks and verdicts
 * with the hashing done the obvious way, so the hand-written core's speed-up
 * is measured against something real.
 *
 * Naive on purpose, per share:
 * - every sha256d is two `createHash('sha256')` calls;
 * - the coinbase is `Buffer.concat` of coinb1/coinb2 decoded from the job's
 *   wire hex each time (no midstate);
 * - every merkle level decodes its branch hash from hex and concatenates;
 * - the header is an 80-byte Buffer written field by field;
 * - the share target is recomputed from the difficulty (no memo).
 *
 * The checks before hashing are validateShare's own (`validateShareWith`
 * from the work core), so every variant differs from validateShare only in
 * how it hashes. Tests (test/bench/naive.test.ts) hold every one of them
 * to validateShare's verdicts on real blocks and random shares.
 */

import { createHash } from 'node:crypto';
import {
  DIFF1_TARGET,
  type JobStore,
  type PreparedJob,
  type ShareContext,
  type ShareSubmit,
  type ShareVerdict,
  type ShareWork,
  targetFromDifficulty,
  validateShareWith,
} from '../work/index.js';

/** sha256d the naive way: two fresh createHash objects per call. */
export function naiveSha256d(data: Uint8Array): Buffer {
  return createHash('sha256').update(createHash('sha256').update(data).digest()).digest();
}

/** The ShareWork fields derived from a header and its sha256d digest (internal byte order). */
export function workFromDigest(digest: Uint8Array, version: number, header: Uint8Array): ShareWork {
  // Display hash = the digest's bytes reversed.
  const hash = Buffer.from(digest).reverse().toString('hex');
  const hashValue = BigInt(`0x${hash}`);
  const shareDifficulty = hashValue === 0n ? Number.POSITIVE_INFINITY : Number(DIFF1_TARGET) / Number(hashValue);
  return { hash, hashValue, shareDifficulty, version, header };
}

/** Naive share hashing: everything rebuilt from the job's wire hex, every sha256d via createHash twice. */
export function naiveHashShare(
  job: PreparedJob,
  extranonce1: Uint8Array,
  extranonce2: Uint8Array,
  ntime: number,
  nonce: number,
  version: number,
): ShareWork {
  const w = job.wire;
  const coinbase = Buffer.concat([Buffer.from(w.coinb1, 'hex'), extranonce1, extranonce2, Buffer.from(w.coinb2, 'hex')]);
  let root = naiveSha256d(coinbase);
  for (const branch of w.merkleBranch) root = naiveSha256d(Buffer.concat([root, Buffer.from(branch, 'hex')]));
  const header = Buffer.alloc(80);
  header.writeUInt32LE(version, 0);
  // mining.notify's prevhash has every 4-byte word byte-swapped: swap32 restores header order.
  Buffer.from(w.prevhash, 'hex').swap32().copy(header, 4);
  root.copy(header, 36);
  // ntime, nbits and nonce are big-endian numbers on the wire and little-endian in the header.
  header.writeUInt32LE(ntime, 68);
  header.writeUInt32LE(job.nbits, 72);
  header.writeUInt32LE(nonce, 76);
  return workFromDigest(naiveSha256d(header), version, new Uint8Array(header.buffer, header.byteOffset, 80));
}

/**
 * validateShare's exact signature and semantics, hashed naively (see the
 * file comment). The baseline of the validate and audit benchmarks.
 */
export function naiveValidateShare(store: JobStore, ctx: ShareContext, submit: ShareSubmit): ShareVerdict {
  return validateShareWith(naiveHashShare, targetFromDifficulty, store, ctx, submit);
}
