import fc from 'fast-check';
import t from 'tap';
import {
  bitsFromTarget,
  DIFF1_TARGET,
  difficultyFromHash,
  difficultyFromTarget,
  MAX_TARGET,
  targetFromBits,
  targetFromDifficulty,
} from '../../src/work/target.js';
import { BLOCKS } from '../helpers/vectors.js';

t.test('difficulty 1 is 0x00000000FFFF0000…0000, the target of nbits 1d00ffff', async (t) => {
  t.equal(DIFF1_TARGET.toString(16).padStart(64, '0'), `00000000ffff${'0'.repeat(52)}`);
  t.equal(targetFromDifficulty(1), DIFF1_TARGET);
  const genesis = targetFromBits(0x1d00ffff);
  t.ok(genesis.ok && genesis.target === DIFF1_TARGET);
  t.equal(bitsFromTarget(DIFF1_TARGET), 0x1d00ffff);
});

t.test('fractional and very large difficulties are exact', async (t) => {
  t.equal(targetFromDifficulty(0.5), DIFF1_TARGET * 2n);
  t.equal(targetFromDifficulty(2 ** -32), DIFF1_TARGET << 32n);
  t.equal(targetFromDifficulty(1024), DIFF1_TARGET / 1024n);
  t.equal(targetFromDifficulty(0.001), (DIFF1_TARGET * 2n ** 62n) / BigInt(Math.round(0.001 * 2 ** 62)), '0.001 = its exact double');
  // A network-scale difficulty far beyond 2^53.
  const big = 1.2e14;
  const tgt = targetFromDifficulty(big);
  t.ok(tgt * BigInt(big) <= DIFF1_TARGET && (tgt + 1n) * BigInt(big) > DIFF1_TARGET, 'floor(diff1 / 1.2e14)');
  t.equal(targetFromDifficulty(1e-300), MAX_TARGET, 'capped at 2^256 - 1');
  t.equal(targetFromDifficulty(Number.MIN_VALUE), MAX_TARGET, 'subnormal');
  for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) t.throws(() => targetFromDifficulty(bad), RangeError);
});

t.test(
  'property: target is floor(diff1 / d) exactly, for any double from 2^-31 (below that the target caps at 2^256-1) to 2^200',
  async (t) => {
    t.doesNotThrow(
      () =>
        fc.assert(
          fc.property(fc.double({ min: 2 ** -31, max: 2 ** 200, noNaN: true, noDefaultInfinity: true }), (d) => {
            const tgt = targetFromDifficulty(d);
            // d = m · 2^e exactly; check tgt·d ≤ diff1 < (tgt+1)·d in integers scaled by 2^1100.
            const scale = 1100n;
            const dScaled = exactScaled(d, scale);
            const one = DIFF1_TARGET << scale;
            return tgt * dScaled <= one && (tgt + 1n) * dScaled > one;
          }),
          { numRuns: 500 },
        ),
      '500 random difficulties',
    );
  },
);

t.test('property: monotonic and round-trips through difficultyFromTarget', async (t) => {
  const d = fc.double({ min: 1e-9, max: 1e18, noNaN: true, noDefaultInfinity: true });
  fc.assert(
    fc.property(d, d, (a, b) =>
      a <= b ? targetFromDifficulty(a) >= targetFromDifficulty(b) : targetFromDifficulty(a) <= targetFromDifficulty(b),
    ),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(d, (x) => Math.abs(difficultyFromTarget(targetFromDifficulty(x)) / x - 1) < 1e-12),
    { numRuns: 500 },
  );
  t.equal(difficultyFromHash(DIFF1_TARGET), 1);
  t.equal(difficultyFromHash(0n), Number.POSITIVE_INFINITY);
  t.equal(difficultyFromTarget(DIFF1_TARGET / 4n), 4);
});

t.test('nbits: real headers, and Bitcoin Core’s negative / overflow rules', async (t) => {
  for (const v of BLOCKS) {
    const bits = Number.parseInt(v.stratum.nbits, 16);
    const r = targetFromBits(bits);
    t.ok(r.ok, `${v.name} nbits decodes`);
    if (r.ok) {
      t.ok(BigInt(`0x${v.blockHash}`) <= r.target, `${v.name} hash meets its nbits target`);
      t.equal(bitsFromTarget(r.target), bits, `${v.name} nbits round trip`);
    }
  }
  // Block 100000's nbits 1b04864c: 0x04864c · 256^(0x1b-3).
  const b = targetFromBits(0x1b04864c);
  t.ok(b.ok && b.target === 0x04864cn << (8n * 24n));
  t.same(targetFromBits(0x1d80ffff), { ok: false, error: 'negative' }, 'sign bit set');
  t.same(targetFromBits(0x2301ffff), { ok: false, error: 'overflow' }, 'exponent 35');
  t.same(targetFromBits(0x22010000), { ok: false, error: 'overflow' }, 'mantissa > 0xffff with exponent 34');
  t.same(targetFromBits(0x21ffffff & 0x217fffff), { ok: false, error: 'overflow' }, 'mantissa > 0xffff with exponent 33');
  t.same(targetFromBits(0x1d000000), { ok: false, error: 'zero' });
  t.same(targetFromBits(0x01003456), { ok: false, error: 'zero' }, 'mantissa shifted out');
  const small = targetFromBits(0x02123456);
  t.ok(small.ok && small.target === 0x1234n, 'exponent 2 shifts right');
  t.ok(targetFromBits(0x80000000 >>> 0).ok === false, 'sign bit with zero mantissa is zero, not negative');
});

/** d · 2^scale as an exact integer (d a double with exponent ≥ -scale). */
function exactScaled(d: number, scale: bigint): bigint {
  const f = new Float64Array([d]);
  const bits = new BigUint64Array(f.buffer)[0];
  const biased = (bits >> 52n) & 0x7ffn;
  const mant = biased === 0n ? bits & 0xfffffffffffffn : (bits & 0xfffffffffffffn) | (1n << 52n);
  const exp = biased === 0n ? -1074n : biased - 1075n;
  return mant << (exp + scale);
}
