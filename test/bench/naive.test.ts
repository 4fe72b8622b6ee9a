/**
 * The benchmark's baseline and variants must give validateShare's answers,
 * or the ratios `npm run bench` prints compare different things. Checked on
 * the real mainnet vectors in test/fixtures/blocks.json and on random jobs
 * and shares. No timings here: speed lives in `npm run bench` only.
 */

import fc from 'fast-check';
import t from 'tap';
import { BLOCKS as vectors } from '../helpers/vectors.js';
import { naiveSha256d, naiveValidateShare } from '../../src/bench/naive.js';
import {
  createNoblePrefix,
  createNodePrefix,
  cryptoHashSha256d,
  nobleSha256d,
  nobleSha256dFromPrefix,
  nobleValidateShare,
  nodeCryptoValidateShare,
  nodeSha256dFromPrefix,
} from '../../src/bench/variants.js';
import { REJECT_REASONS } from '../../src/protocol/stratum-errors.js';
import { encodeHex, formatU32BE, parseU32BE } from '../../src/util/hex.js';
import {
  JobStore,
  prepareJob,
  type ShareContext,
  type ShareSubmit,
  type ShareVerdict,
  type StratumJob,
  sha256d,
  validateShare,
} from '../../src/work/index.js';

type Validator = (store: JobStore, ctx: ShareContext, submit: ShareSubmit) => ShareVerdict;

const VARIANTS: readonly [string, Validator][] = [
  ['naiveValidateShare', naiveValidateShare],
  ['nobleValidateShare', nobleValidateShare],
  ['nodeCryptoValidateShare', nodeCryptoValidateShare],
];

/** A verdict as plain comparable values (header bytes as hex, bigint as hex). */
function plain(v: ShareVerdict): Record<string, unknown> {
  const { header, hashValue, ...rest } = v;
  return { ...rest, header: header === undefined ? undefined : encodeHex(header), hashValue: hashValue?.toString(16) };
}

function storeWith(job: StratumJob): JobStore {
  const prepared = prepareJob(job);
  if (!prepared.ok) throw new Error(`job does not prepare: ${prepared.error.field}: ${prepared.error.message}`);
  const store = new JobStore();
  store.add(prepared.job, true);
  return store;
}

t.test('real blocks: every variant finds the block validateShare finds', async (t) => {
  t.ok(vectors.length >= 3);
  for (const v of vectors) {
    const s = v.stratum;
    const job: StratumJob = {
      jobId: v.name,
      prevhash: s.prevhash,
      coinb1: s.coinb1,
      coinb2: s.coinb2,
      merkleBranch: v.merkleBranch,
      version: s.version,
      nbits: s.nbits,
      ntime: s.ntime,
    };
    const ctx: ShareContext = {
      extranonce1: s.extranonce1,
      extranonce2Size: s.extranonce2Size,
      versionMask: s.versionMask === undefined ? null : (parseU32BE(s.versionMask) as number),
      difficulty: 1,
    };
    const submit: ShareSubmit = { jobId: v.name, extranonce2: s.extranonce2, ntime: s.ntime, nonce: s.nonce, versionBits: s.versionBits };
    const expected = validateShare(storeWith(job), ctx, submit);
    t.equal(expected.status, 'block', `${v.name}: validateShare says block`);
    t.equal(expected.hash, v.blockHash, `${v.name}: validateShare hash`);
    for (const [name, fn] of VARIANTS) {
      const store = storeWith(job);
      const got = fn(store, ctx, submit);
      t.equal(got.status, 'block', `${v.name}: ${name} status`);
      t.equal(got.hash, v.blockHash, `${v.name}: ${name} hash`);
      t.equal(got.header === undefined ? undefined : encodeHex(got.header), v.header, `${v.name}: ${name} header`);
      t.strictSame(plain(got), plain(expected), `${v.name}: ${name} verdict`);
      // Resubmitting is a duplicate, through the store like validateShare.
      t.match(fn(store, ctx, submit), { status: 'rejected', reason: 'duplicate', code: 22 }, `${v.name}: ${name} duplicate`);
    }
  }
});

// ---------------------------------------------------------------------------
// Random jobs and share sequences

const hexBytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map(encodeHex);
const u32hex = fc.integer({ min: 0, max: 0xffffffff }).map(formatU32BE);

const jobArb = fc.record({
  prevhash: hexBytes(32, 32),
  // Lengths on both sides of 64-byte boundaries, so prefix states end mid-block and on a block edge.
  coinb1: hexBytes(0, 200),
  coinb2: hexBytes(0, 200),
  merkleBranch: fc.array(hexBytes(32, 32), { maxLength: 14 }),
  version: u32hex,
  // Mainnet-hard, diff-1, and regtest-easy (about half of all hashes are blocks).
  nbits: fc.constantFrom('17029a8a', '1d00ffff', '207fffff'),
  ntime: fc.integer({ min: 0, max: 0xffff0000 }).map(formatU32BE),
});

const ctxArb = fc.record({
  extranonce1: hexBytes(0, 8),
  extranonce2Size: fc.integer({ min: 1, max: 8 }),
  versionMask: fc.option(fc.constantFrom(0x1fffe000, 0x1fffffff, 0), { nil: null }),
  // Tiny (all accepted), 1 (nearly all low-difficulty), and fractional.
  difficulty: fc.constantFrom(2 ** -40, 1, 2 ** -20, 1e-7),
  ntimeWindowSeconds: fc.option(fc.constantFrom(0, 60, 7200), { nil: undefined }),
});

/** A submit, mostly well-formed, sometimes wrong in one of the ways validateShare checks. */
function submitArb(job: StratumJob, ctx: ShareContext): fc.Arbitrary<ShareSubmit> {
  const jobNtime = parseU32BE(job.ntime) as number;
  return fc.record({
    jobId: fc.oneof({ weight: 15, arbitrary: fc.constant(job.jobId) }, { weight: 1, arbitrary: fc.constant('other-job') }),
    extranonce2: fc.oneof(
      { weight: 20, arbitrary: hexBytes(ctx.extranonce2Size, ctx.extranonce2Size) },
      { weight: 1, arbitrary: hexBytes(0, 9) },
      { weight: 1, arbitrary: hexBytes(ctx.extranonce2Size, ctx.extranonce2Size).map((h) => h.toUpperCase()) },
      { weight: 1, arbitrary: fc.constantFrom('zz', '0') },
    ),
    ntime: fc.oneof(
      { weight: 20, arbitrary: fc.integer({ min: 0, max: 120 }).map((d) => formatU32BE(jobNtime + d)) },
      { weight: 1, arbitrary: u32hex },
      { weight: 1, arbitrary: fc.constantFrom('1234567', 'xyzxyzxy') },
    ),
    nonce: fc.oneof({ weight: 20, arbitrary: u32hex }, { weight: 1, arbitrary: fc.constant('0000000g') }),
    versionBits: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0, max: 0xffffffff }).map((b) => formatU32BE((b & (ctx.versionMask ?? 0)) >>> 0)) },
      { weight: 1, arbitrary: u32hex },
      { weight: 4, arbitrary: fc.constant(undefined) },
    ),
  });
}

const scenarioArb = fc
  .tuple(jobArb, ctxArb)
  .chain(([j, ctx]) => {
    const job: StratumJob = { jobId: 'job-1', ...j };
    return fc.tuple(fc.constant(job), fc.constant(ctx), fc.array(submitArb(job, ctx), { minLength: 1, maxLength: 6 }));
  })
  // Resubmit the first share at the end, so duplicates are exercised in every run.
  .map(([job, ctx, submits]) => [job, ctx, [...submits, submits[0]]] as const);

t.test('random jobs and shares: every variant returns validateShare verdict', async (t) => {
  const seen = new Map<string, number>();
  fc.assert(
    fc.property(scenarioArb, ([job, ctx, submits]) => {
      const reference = storeWith(job);
      const stores = VARIANTS.map(() => storeWith(job));
      for (const submit of submits) {
        const verdict = validateShare(reference, ctx, submit);
        const label = verdict.valid ? verdict.status : verdict.reason;
        seen.set(label, (seen.get(label) ?? 0) + 1);
        const want = plain(verdict);
        VARIANTS.forEach(([name, fn], i) => {
          const got = plain(fn(stores[i], ctx, submit));
          if (JSON.stringify(got) !== JSON.stringify(want)) {
            throw new Error(`${name} on ${JSON.stringify(submit)}:\n want ${JSON.stringify(want)}\n got  ${JSON.stringify(got)}`);
          }
        });
      }
    }),
    { numRuns: 300, seed: 0x6861 },
  );
  // The property is only worth something if the sequences reach every verdict (stale-job has its own test below).
  for (const label of ['accepted', 'block', ...REJECT_REASONS.filter((r) => r !== 'stale-job')]) {
    t.ok((seen.get(label) ?? 0) > 0, `random shares reached ${label} (${seen.get(label) ?? 0} times)`);
  }
});

t.test('a stale job answers stale-job in every variant', async (t) => {
  const base = { prevhash: '00'.repeat(32), coinb1: 'aa', coinb2: 'bb', merkleBranch: [], version: '20000000', nbits: '1d00ffff' };
  const mk = (jobId: string): StratumJob => ({ jobId, ntime: '679ac169', ...base });
  const ctx: ShareContext = { extranonce1: '01020304', extranonce2Size: 4, versionMask: null, difficulty: 1 };
  const submit: ShareSubmit = { jobId: 'old', extranonce2: '00000000', ntime: '679ac169', nonce: '00000000' };
  for (const [name, fn] of [['validateShare', validateShare] as [string, Validator], ...VARIANTS]) {
    const store = storeWith(mk('old'));
    const next = prepareJob(mk('new'));
    if (!next.ok) throw new Error('job');
    store.add(next.job, true);
    t.match(fn(store, ctx, submit), { status: 'rejected', reason: 'stale-job', code: 21 }, name);
  }
});

// ---------------------------------------------------------------------------
// The sha256d steps the bench times, against createHash and the core

t.test('sha256d steps agree with createHash and the hand-written core', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (prefix, tail) => {
      const all = new Uint8Array([...prefix, ...tail]);
      const want = encodeHex(naiveSha256d(all));
      const got = {
        core: encodeHex(sha256d(all)),
        noble: encodeHex(nobleSha256d(all)),
        cryptoHash: encodeHex(cryptoHashSha256d(all)),
        noblePrefix: encodeHex(nobleSha256dFromPrefix(createNoblePrefix(prefix), tail)),
        nodePrefix: encodeHex(nodeSha256dFromPrefix(createNodePrefix(prefix), tail)),
      };
      for (const [k, v] of Object.entries(got)) if (v !== want) throw new Error(`${k}: ${v} != ${want}`);
    }),
    { numRuns: 300, seed: 0x6862 },
  );
  // A prefix state is not consumed by use.
  const p = createNoblePrefix(new Uint8Array(100).fill(7));
  const q = createNodePrefix(new Uint8Array(100).fill(7));
  const x = new Uint8Array([1, 2, 3]);
  t.equal(encodeHex(nobleSha256dFromPrefix(p, x)), encodeHex(nobleSha256dFromPrefix(p, x)));
  t.equal(encodeHex(nodeSha256dFromPrefix(q, x)), encodeHex(nodeSha256dFromPrefix(q, x)));
  t.equal(encodeHex(nodeSha256dFromPrefix(q, x)), encodeHex(naiveSha256d(new Uint8Array([...new Uint8Array(100).fill(7), 1, 2, 3]))));
});
