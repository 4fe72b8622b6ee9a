/**
 * Share-validation benchmark: validateShare (hand-written SHA-256 core)
 * against the naive baseline and the @noble/hashes and node:crypto
 * pipelines, on one realistic job, plus per-step sha256d micro numbers.
 *
 * The job: a ≈255-byte segwit-style coinbase split coinb1 (70 B) /
 * extranonce1 (4) / extranonce2 (8) / coinb2 (173), a 12-level branch
 * (≈4000 transactions), version 0x20000000 with mask 0x1fffe000 (BIP 310),
 * mainnet-like nbits. Difficulty 2^-40 caps the share target at 2^256 − 1,
 * so every share is accepted and the whole hash path runs every time.
 *
 * Everything is seeded: two runs hash the same shares.
 */

import { hash as cryptoHash } from 'node:crypto';
import { encodeHex, formatU32BE } from '../util/hex.js';
import {
  createMidstate,
  JobStore,
  type PreparedJob,
  prepareJob,
  type ShareContext,
  type ShareSubmit,
  type ShareVerdict,
  type StratumJob,
  sha256dFromMidstate,
  sha256dHeaderWords,
  sha256dWords64,
  sha256FromMidstate,
  validateShare,
  wordsToBytes,
} from '../work/index.js';
import type { BenchRow } from './harness.js';
import { naiveSha256d, naiveValidateShare } from './naive.js';
import {
  createNoblePrefix,
  createNodePrefix,
  cryptoHashSha256d,
  nobleSha256d,
  nobleSha256dFromPrefix,
  nobleValidateShare,
  nodeCryptoValidateShare,
  nodeSha256dFromPrefix,
} from './variants.js';

export interface BenchOptions {
  /** Short budgets, for a smoke run; numbers are noisy. */
  readonly quick?: boolean;
}

/** Thrown when two implementations disagree: the benchmark would compare different answers. */
export class BenchDisagreementError extends Error {
  override readonly name = 'BenchDisagreementError';
}

// ---------------------------------------------------------------------------
// Deterministic inputs

/** mulberry32: a tiny seeded PRNG, plenty for filler bytes. */
function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function randomBytes(rng: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng() & 0xff;
  return out;
}

function hexOf(...parts: (string | Uint8Array)[]): string {
  return parts.map((p) => (typeof p === 'string' ? p : encodeHex(p))).join('');
}

export const BENCH_VERSION_MASK = 0x1fffe000;
/** Below diff1 / 2^256, so the share target is capped at 2^256 − 1: every share is accepted. */
export const BENCH_DIFFICULTY = 2 ** -40;

export interface BenchJob {
  readonly stratum: StratumJob;
  readonly job: PreparedJob;
  readonly ctx: ShareContext;
  readonly coinbaseBytes: number;
}

/** The realistic job described in the file comment, from a fixed seed. */
export function buildBenchJob(seed = 0x68617368): BenchJob {
  const rng = createRng(seed);
  // coinb1: version, 1 input (null prevout), scriptSig length, BIP 34 height push, pool tag, padding.
  const coinb1 = hexOf(
    '02000000',
    '01',
    '00'.repeat(32),
    'ffffffff',
    '34', // scriptSig: 4 height + 16 tag + 8 padding + 4 en1 + 8 en2 + 12 tail = 52 bytes
    '030f730d',
    encodeHex(new TextEncoder().encode('/hashgate bench/')),
    randomBytes(rng, 8),
  );
  // coinb2: rest of scriptSig, sequence, 4 outputs (P2WPKH, P2TR, witness commitment, P2WPKH), locktime.
  const coinb2 = hexOf(
    randomBytes(rng, 12),
    'ffffffff',
    '04',
    randomBytes(rng, 8),
    '160014',
    randomBytes(rng, 20),
    randomBytes(rng, 8),
    '225120',
    randomBytes(rng, 32),
    '0000000000000000',
    '266a24aa21a9ed',
    randomBytes(rng, 32),
    randomBytes(rng, 8),
    '160014',
    randomBytes(rng, 20),
    '00000000',
  );
  const stratum: StratumJob = {
    jobId: 'bench-1',
    prevhash: hexOf(randomBytes(rng, 28), '00000000'),
    coinb1,
    coinb2,
    merkleBranch: Array.from({ length: 12 }, () => encodeHex(randomBytes(rng, 32))),
    version: '20000000',
    nbits: '17029a8a',
    ntime: '679ac169',
  };
  const prepared = prepareJob(stratum);
  if (!prepared.ok) throw new Error(`bench job does not prepare: ${prepared.error.field}: ${prepared.error.message}`);
  const ctx: ShareContext = {
    extranonce1: encodeHex(randomBytes(rng, 4)),
    extranonce2Size: 8,
    versionMask: BENCH_VERSION_MASK,
    difficulty: BENCH_DIFFICULTY,
  };
  return { stratum, job: prepared.job, ctx, coinbaseBytes: (coinb1.length + coinb2.length) / 2 + 4 + 8 };
}

/** `n` distinct submits: extranonce2 counts, nonce and version bits are seeded-random, ntime walks the window. */
export function buildBenchSubmits(job: BenchJob, n: number, seed = 0x73686172): ShareSubmit[] {
  const rng = createRng(seed);
  const out: ShareSubmit[] = [];
  for (let i = 0; i < n; i++) {
    out.push({
      jobId: job.stratum.jobId,
      extranonce2: `${formatU32BE(i)}${formatU32BE(rng())}`,
      ntime: formatU32BE(job.job.ntime + (i % 600)),
      nonce: formatU32BE(rng()),
      versionBits: formatU32BE(rng() & BENCH_VERSION_MASK),
    });
  }
  return out;
}

// ---------------------------------------------------------------------------
// Timing

interface Timing {
  readonly budgetMs: number;
  readonly warmupMs: number;
  readonly rounds: number;
}

/**
 * Runs `batch()` (which does `opsPerBatch` operations) for `ms`
 * milliseconds, returning operations per second.
 */
function runFor(ms: number, opsPerBatch: number, batch: () => void): number {
  const start = performance.now();
  let ops = 0;
  let now = start;
  do {
    batch();
    ops += opsPerBatch;
    now = performance.now();
  } while (now - start < ms);
  return (ops * 1000) / (now - start);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Measures every case in `rounds` interleaved rounds (so drift in clock
 * speed or background load hits all of them alike), after a warm-up of
 * each, and returns the median rate per case.
 */
function measureInterleaved(cases: readonly { opsPerBatch: number; batch: () => void }[], t: Timing): number[] {
  for (const c of cases) runFor(t.warmupMs, c.opsPerBatch, c.batch);
  const rates: number[][] = cases.map(() => []);
  const slice = t.budgetMs / t.rounds;
  for (let r = 0; r < t.rounds; r++) {
    cases.forEach((c, i) => {
      rates[i].push(runFor(slice, c.opsPerBatch, c.batch));
    });
  }
  return rates.map(median);
}

/** Keeps results observable so the optimiser cannot drop the work. */
let sink = 0;

// ---------------------------------------------------------------------------
// Agreement checks

type Validator = (store: JobStore, ctx: ShareContext, submit: ShareSubmit) => ShareVerdict;

function verdictFingerprint(v: ShareVerdict): string {
  return JSON.stringify({
    status: v.status,
    reason: v.valid ? null : v.reason,
    code: v.valid ? null : v.code,
    detail: v.valid ? null : v.detail,
    hash: v.hash ?? null,
    hashValue: v.hashValue?.toString(16) ?? null,
    shareDifficulty: v.shareDifficulty ?? null,
    version: v.version ?? null,
    header: v.header === undefined ? null : encodeHex(v.header),
  });
}

function assertValidatorsAgree(
  bench: BenchJob,
  submits: readonly ShareSubmit[],
  variants: readonly { name: string; fn: Validator }[],
): void {
  const stores = variants.map(() => {
    const s = new JobStore();
    s.add(bench.job, true);
    return s;
  });
  for (const submit of submits) {
    const expected = validateShare(stores[0], bench.ctx, submit);
    if (expected.status !== 'accepted') {
      throw new BenchDisagreementError(
        `bench setup: validateShare did not accept share ${JSON.stringify(submit)} (${verdictFingerprint(expected)}); the bench needs every share on the full hash path`,
      );
    }
    const want = verdictFingerprint(expected);
    variants.forEach((v, i) => {
      if (i === 0) return;
      const got = verdictFingerprint(v.fn(stores[i], bench.ctx, submit));
      if (got !== want) {
        throw new BenchDisagreementError(
          `${v.name} disagrees with validateShare on ${JSON.stringify(submit)}:\n  want ${want}\n  got  ${got}`,
        );
      }
    });
  }
}

function assertSameBytes(step: string, name: string, got: Uint8Array, want: Uint8Array): void {
  if (encodeHex(got) !== encodeHex(want)) {
    throw new BenchDisagreementError(`${step}: ${name} gives ${encodeHex(got)}, createHash gives ${encodeHex(want)}`);
  }
}

// ---------------------------------------------------------------------------
// Benchmarks

function bytesToWordsBE(bytes: Uint8Array): Int32Array {
  const out = new Int32Array(bytes.length >> 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = (bytes[4 * i] << 24) | (bytes[4 * i + 1] << 16) | (bytes[4 * i + 2] << 8) | bytes[4 * i + 3];
  }
  return out;
}

interface StepImpl {
  readonly name: string;
  /** One sha256d; returns the digest bytes (only called for the agreement check). */
  readonly once: () => Uint8Array;
  /** `OPS` sha256d calls. */
  readonly batch: () => void;
}

const OPS = 256;

/** A byte-API implementation timed on a fixed input. */
function bytesImpl(name: string, fn: () => Uint8Array): StepImpl {
  return {
    name,
    once: fn,
    batch: () => {
      for (let i = 0; i < OPS; i++) sink ^= fn()[0];
    },
  };
}

/** A hand-written core call: words in, 8 words out in `out`, as on validateShare's hot path. */
function wordsImpl(name: string, out: Int32Array, fn: () => void): StepImpl {
  return {
    name,
    once: () => {
      fn();
      return wordsToBytes(out);
    },
    batch: () => {
      for (let i = 0; i < OPS; i++) {
        fn();
        sink ^= out[0];
      }
    },
  };
}

/** Checks every implementation against createHash on `data`, then times them; the first is the baseline. */
function stepRows(step: string, data: Uint8Array, impls: readonly StepImpl[], t: Timing): BenchRow[] {
  const want = naiveSha256d(data);
  for (const impl of impls) assertSameBytes(step, impl.name, impl.once(), want);
  const rates = measureInterleaved(
    impls.map((i) => ({ opsPerBatch: OPS, batch: i.batch })),
    t,
  );
  const baseline = { name: impls[0].name, value: rates[0] };
  return impls.slice(1).map((impl, i) => ({ name: `${step}: ${impl.name}`, value: rates[i + 1], unit: 'sha256d/s', baseline }));
}

/**
 * Per-step sha256d throughput for each implementation, against createHash×2
 * on the same bytes. The hand-written core is timed through the word API
 * validateShare uses (no byte/word conversion on its hot path).
 */
function microRows(bench: BenchJob, t: Timing): BenchRow[] {
  const rng = createRng(0x6d696372);
  const out = new Int32Array(8);
  const { job } = bench;
  const rows: BenchRow[] = [];
  const oneShots = (data: Uint8Array): StepImpl[] => [
    bytesImpl('createHash×2 (naive)', () => naiveSha256d(data)),
    bytesImpl('@noble/hashes', () => nobleSha256d(data)),
    bytesImpl('crypto.hash', () => cryptoHashSha256d(data)),
  ];

  // Merkle step: sha256d of the 64-byte pair (left ‖ right).
  const pair = randomBytes(rng, 64);
  const pairWords = bytesToWordsBE(pair);
  const [naive64, ...libs64] = oneShots(pair);
  const hand64 = wordsImpl('hand-written', out, () => sha256dWords64(pairWords, 0, out));
  rows.push(...stepRows('sha256d 64 B (merkle step)', pair, [naive64, hand64, ...libs64], t));

  // Header: sha256d of 80 bytes.
  const header = randomBytes(rng, 80);
  const headerWords = bytesToWordsBE(header);
  const [naive80, ...libs80] = oneShots(header);
  const hand80 = wordsImpl('hand-written', out, () => sha256dHeaderWords(headerWords, out));
  rows.push(...stepRows('sha256d 80 B (header)', header, [naive80, hand80, ...libs80], t));

  // Coinbase, hashed whole (no prefix state).
  const en1 = randomBytes(rng, 4);
  const en2 = randomBytes(rng, 8);
  const coinbase = new Uint8Array([...job.coinb1, ...en1, ...en2, ...job.coinb2]);
  const empty = createMidstate(new Uint8Array(0));
  const cb = `sha256d ${coinbase.length} B (coinbase)`;
  const [naiveCb, ...libsCb] = oneShots(coinbase);
  const handCb = wordsImpl('hand-written', out, () => sha256dFromMidstate(empty, coinbase, coinbase.length, out));
  // Hybrid: node's native first pass (one call for all the blocks), the core's cheap 1-block second pass.
  const hybridCb = wordsImpl('crypto.hash + hand-written 2nd pass', out, () =>
    sha256FromMidstate(empty, cryptoHash('sha256', coinbase, 'buffer'), 32, out),
  );
  rows.push(...stepRows(`${cb}, whole`, coinbase, [naiveCb, handCb, ...libsCb, hybridCb], t));

  // Coinbase from the coinb1 prefix state, which is what a share pays. (crypto.hash has no prefix state.)
  const tail = coinbase.subarray(job.coinb1Midstate.length);
  const rest = new Uint8Array([...en1, ...en2, ...job.coinb2]);
  const noblePrefix = createNoblePrefix(job.coinb1);
  const nodePrefix = createNodePrefix(job.coinb1);
  rows.push(
    ...stepRows(
      `${cb}, coinb1 prefix reused`,
      coinbase,
      [
        naiveCb,
        wordsImpl('hand-written midstate', out, () => sha256dFromMidstate(job.coinb1Midstate, tail, tail.length, out)),
        bytesImpl('@noble/hashes clone()', () => nobleSha256dFromPrefix(noblePrefix, rest)),
        bytesImpl('createHash copy()', () => nodeSha256dFromPrefix(nodePrefix, rest)),
        // For scale: the fastest whole-coinbase options, which need no prefix state at all.
        { ...libsCb[1], name: 'crypto.hash (whole, no prefix state)' },
        { ...hybridCb, name: 'crypto.hash + hand-written 2nd pass (whole)' },
      ],
      t,
    ),
  );
  return rows;
}

const SUBMIT_POOL = 16_384;
const BATCH = 1_024;

function validateRows(bench: BenchJob, t: Timing): BenchRow[] {
  const submits = buildBenchSubmits(bench, SUBMIT_POOL);
  const variants: { name: string; fn: Validator }[] = [
    { name: 'validateShare (hand-written core)', fn: validateShare },
    { name: 'naiveValidateShare (createHash×2 per sha256d, no caching)', fn: naiveValidateShare },
    { name: 'validateShare pipeline on @noble/hashes', fn: nobleValidateShare },
    { name: 'validateShare pipeline on node:crypto hash()/copy()', fn: nodeCryptoValidateShare },
  ];
  assertValidatorsAgree(bench, submits.slice(0, 512), variants);

  // A fresh store per batch of BATCH shares: each batch's duplicate set stays small, so Set growth
  // (the same for every variant) does not drown the hashing. Shares within a batch are distinct.
  const cases = variants.map((v) => {
    let next = 0;
    return {
      opsPerBatch: BATCH,
      batch: () => {
        const store = new JobStore({ maxJobs: 1 });
        store.add(bench.job, true);
        for (let i = 0; i < BATCH; i++) {
          const verdict = v.fn(store, bench.ctx, submits[next]);
          next = next + 1 === SUBMIT_POOL ? 0 : next + 1;
          if (verdict.status !== 'accepted')
            throw new BenchDisagreementError(`${v.name}: share not accepted (${verdictFingerprint(verdict)})`);
          sink ^= verdict.header[0];
        }
      },
    };
  });
  const rates = measureInterleaved(cases, t);
  const base = { name: 'naive', value: rates[1] };
  const notes = [
    `job: ${bench.coinbaseBytes}-byte coinbase (coinb1 ${bench.job.coinb1.length} B, en1 4, en2 8, coinb2 ${bench.job.coinb2.length} B), ` +
      `${bench.job.branchWords.length / 8}-level branch, version rolling mask ${formatU32BE(BENCH_VERSION_MASK)}, difficulty 2^-40 (all accepted)`,
    `${SUBMIT_POOL} distinct shares cycled, fresh JobStore every ${BATCH} shares; median of ${t.rounds} interleaved rounds, ${t.budgetMs} ms per variant`,
  ];
  return [
    { name: variants[0].name, value: rates[0], unit: 'shares/s', baseline: base, target: { min: 50_000, minRatio: 3 }, notes },
    { name: variants[1].name, value: rates[1], unit: 'shares/s', baseline: base },
    { name: variants[2].name, value: rates[2], unit: 'shares/s', baseline: base },
    { name: variants[3].name, value: rates[3], unit: 'shares/s', baseline: base },
  ];
}

/**
 * The validation benchmark: shares/s per variant, then per-step micro
 * numbers. Throws BenchDisagreementError when any variant gives a different
 * answer from validateShare.
 */
export function benchValidate(options: BenchOptions = {}): BenchRow[] {
  const quick = options.quick === true;
  const bench = buildBenchJob();
  const shares: Timing = quick ? { budgetMs: 250, warmupMs: 100, rounds: 5 } : { budgetMs: 2_000, warmupMs: 500, rounds: 5 };
  const steps: Timing = quick ? { budgetMs: 100, warmupMs: 30, rounds: 5 } : { budgetMs: 600, warmupMs: 150, rounds: 5 };
  const rows = [...validateRows(bench, shares), ...microRows(bench, steps)];
  if (sink === 0.5) console.log('unreachable'); // sink is an integer; this only keeps it alive
  return rows;
}
