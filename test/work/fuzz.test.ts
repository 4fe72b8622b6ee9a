/** Random and truncated input never makes the parser or the validator throw. */
import fc from 'fast-check';
import t from 'tap';
import { decodeHex, parseU32BE } from '../../src/util/hex.js';
import { JobStore, prepareJob, type ShareSubmit, type StratumJob, validateShare } from '../../src/work/index.js';
import { BLOCKS, ctxOf, jobOf, submitOf } from '../helpers/vectors.js';

const hexish = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.stringMatching(/^[0-9a-fA-F]{0,80}$/),
  fc.constantFrom('', '0', '00000000', 'ffffffff', 'zz', '０', '\u0000', 'ａｂ'),
);
const anything = fc.oneof(hexish, fc.integer(), fc.constant(null), fc.constant(undefined), fc.object(), fc.array(hexish));

t.test('hex codecs never throw and never accept a bad string', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(anything, (s) => {
          const b = decodeHex(s as string);
          const n = parseU32BE(s);
          if (b !== undefined && Buffer.from(b).toString('hex') !== (s as string).toLowerCase()) return false;
          return n === undefined || (typeof s === 'string' && s.length === 8);
        }),
        { numRuns: 2000 },
      ),
    '2000 inputs',
  );
});

t.test('prepareJob and validateShare on random fields never throw', async (t) => {
  const v = BLOCKS[1];
  const job = jobOf(v);
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(
          fc.record({
            prevhash: anything,
            coinb1: anything,
            coinb2: anything,
            version: anything,
            nbits: anything,
            ntime: anything,
            merkleBranch: anything,
          }),
          fc.record({ jobId: anything, extranonce2: anything, ntime: anything, nonce: anything, versionBits: anything }),
          fc.record({
            extranonce1: anything,
            extranonce2Size: anything,
            versionMask: fc.oneof(fc.constant(null), fc.integer()),
            difficulty: anything,
          }),
          (jobOver, submit, ctx) => {
            const p = prepareJob({ ...job, ...jobOver } as unknown as StratumJob);
            const store = new JobStore();
            if (p.ok) store.add(p.job, true);
            const valid = prepareJob(job);
            if (valid.ok) store.add(valid.job, false);
            const r = validateShare(store, ctx as never, submit as unknown as ShareSubmit);
            return r.status === 'rejected' || r.status === 'accepted' || r.status === 'block';
          },
        ),
        { numRuns: 1500 },
      ),
    '1500 random jobs/submits/contexts',
  );
});

t.test('every truncation of a real share is rejected as malformed or a specific reason, never thrown', async (t) => {
  for (const v of BLOCKS) {
    const submit = submitOf(v);
    const ctx = ctxOf(v);
    for (const key of ['extranonce2', 'ntime', 'nonce', 'versionBits'] as const) {
      const full = submit[key];
      if (full === undefined) continue;
      for (let cut = 0; cut < full.length; cut++) {
        const p = prepareJob(jobOf(v));
        if (!p.ok) throw new Error('prepare');
        const store = new JobStore();
        store.add(p.job, true);
        const r = validateShare(store, ctx, { ...submit, [key]: full.slice(0, cut) });
        const expected = key === 'extranonce2' && cut % 2 === 0 ? 'bad-extranonce2-length' : 'malformed';
        t.equal(r.valid ? 'valid' : r.reason, expected, `${v.name} ${key} cut to ${cut}`);
      }
    }
    for (const key of ['prevhash', 'coinb1', 'version', 'nbits', 'ntime'] as const) {
      const full = jobOf(v)[key];
      for (const cut of [0, 1, full.length - 1]) {
        const r = prepareJob({ ...jobOf(v), [key]: full.slice(0, cut) });
        if (key === 'coinb1' && cut % 2 === 0) continue; // a shorter coinb1 is still well-formed hex
        t.equal(r.ok ? 'ok' : r.error.field, `job.${key}`, `${v.name} job.${key} cut to ${cut}`);
      }
    }
  }
});
