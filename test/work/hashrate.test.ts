import fc from 'fast-check';
import t from 'tap';
import {
  chiSquareQuantile,
  estimateInTeraHashes,
  gammaQuantile,
  garwoodInterval,
  HASHES_PER_DIFFICULTY,
  HashrateEstimator,
  logGamma,
  regularizedGammaP,
  regularizedGammaQ,
  toTeraHashes,
  weightedPoissonInterval,
} from '../../src/work/hashrate.js';
import { createRng, type Rng } from '../../src/util/rng.js';

const within = (actual: number, expected: number, relative: number): boolean =>
  Math.abs(actual - expected) <= relative * Math.abs(expected);

t.test('logGamma: Γ(1) = 1, Γ(1/2) = √π, Γ(10) = 9!, Γ(171) near the double limit', async (t) => {
  t.ok(Math.abs(logGamma(1)) < 1e-15);
  t.ok(Math.abs(logGamma(2)) < 1e-15);
  t.ok(within(logGamma(0.5), Math.log(Math.sqrt(Math.PI)), 1e-14));
  t.ok(within(logGamma(10), Math.log(362880), 1e-14));
  // ln(170!) = 706.5730622457874 (Γ(171) = 170! ≈ 7.257e306).
  t.ok(within(logGamma(171), 706.5730622457874, 1e-14));
  for (const bad of [0, -1, Number.NaN]) t.throws(() => logGamma(bad), RangeError);
});

t.test('P and Q: closed forms for shape 1 (1 − e^−x) and shape 1/2 (erf √x), and P + Q = 1', async (t) => {
  for (const x of [1e-6, 0.1, 1, 2.5, 10, 50]) {
    t.ok(within(regularizedGammaP(1, x), -Math.expm1(-x), 1e-13), `P(1, ${x})`);
    t.ok(within(regularizedGammaQ(1, x), Math.exp(-x), 1e-13), `Q(1, ${x})`);
  }
  // erf(1) = 0.8427007929497149 (A&S table 7.1), so P(1/2, 1) = erf(1).
  t.ok(within(regularizedGammaP(0.5, 1), 0.8427007929497149, 1e-14));
  fc.assert(
    fc.property(fc.double({ min: 0.05, max: 5000, noNaN: true }), fc.double({ min: 0, max: 20_000, noNaN: true }), (a, x) => {
      return Math.abs(regularizedGammaP(a, x) + regularizedGammaQ(a, x) - 1) < 1e-12;
    }),
    { numRuns: 300 },
  );
});

t.test('chi-square quantiles against the NIST/SEMATECH table (e-Handbook §1.3.6.7.4), to its 3 decimals', async (t) => {
  // [degrees of freedom, lower-tail probability, table value]
  const table: [number, number, number][] = [
    [1, 0.95, 3.841],
    [1, 0.99, 6.635],
    [2, 0.05, 0.103],
    [2, 0.95, 5.991],
    [5, 0.05, 1.145],
    [5, 0.95, 11.07],
    [10, 0.05, 3.94],
    [10, 0.95, 18.307],
    [10, 0.99, 23.209],
    [20, 0.05, 10.851],
    [20, 0.95, 31.41],
    [30, 0.95, 43.773],
    [50, 0.05, 34.764],
    [50, 0.95, 67.505],
    [100, 0.01, 70.065],
    [100, 0.05, 77.929],
    [100, 0.95, 124.342],
    [100, 0.99, 135.807],
  ];
  for (const [dof, p, expected] of table) {
    t.ok(Math.abs(chiSquareQuantile(p, dof) - expected) <= 0.0006, `χ²(${p}; ${dof}) = ${chiSquareQuantile(p, dof)} vs ${expected}`);
  }
  // Two degrees of freedom have a closed form: −2 ln(1 − p).
  for (const p of [1e-9, 0.001, 0.05, 0.5, 0.95, 0.999999]) {
    t.ok(within(chiSquareQuantile(p, 2), -2 * Math.log1p(-p), 1e-12), `χ²(${p}; 2)`);
  }
  t.equal(gammaQuantile(0, 3), 0);
  t.equal(gammaQuantile(1, 3), Infinity);
  t.throws(() => gammaQuantile(0.5, 0), RangeError);
  t.throws(() => gammaQuantile(1.5, 2), RangeError);
});

t.test('property: gammaQuantile inverts P in both tails', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.double({ min: 0.1, max: 20_000, noNaN: true }), fc.double({ min: 1e-12, max: 1 - 1e-12, noNaN: true }), (a, p) => {
        const x = gammaQuantile(p, a);
        // Compare in the small tail so relative precision is visible there too.
        const got = p <= 0.5 ? regularizedGammaP(a, x) : regularizedGammaQ(a, x);
        const want = p <= 0.5 ? p : 1 - p;
        return Math.abs(got - want) <= 1e-8 * want;
      }),
      { numRuns: 500 },
    ),
  );
});

t.test('Garwood: exact Poisson limits at 95 % (Garwood 1936) and the 90 % ones this module uses', async (t) => {
  // 95 % two-sided exact limits for observed counts 0, 1, 2, 5, 10, as printed in the usual tables
  // of exact Poisson limits (and re-derived with scipy.stats.chi2.ppf 1.17 before writing them here):
  // 0–3.689, 0.0253–5.572, 0.242–7.225, 1.623–11.668, 4.795–18.390.
  const table: [number, number, number][] = [
    [0, 0, 3.689],
    [1, 0.0253, 5.572],
    [2, 0.242, 7.225],
    [5, 1.623, 11.668],
    [10, 4.795, 18.39],
  ];
  for (const [n, low, high] of table) {
    const ci = garwoodInterval(n, 0.95);
    t.ok(Math.abs(ci.low - low) <= 0.0006 && Math.abs(ci.high - high) <= 0.0006, `n=${n}: ${ci.low}–${ci.high}`);
  }
  // 90 %, n = 0: the upper limit is −ln(0.05) exactly.
  t.ok(within(garwoodInterval(0, 0.9).high, -Math.log(0.05), 1e-13));
  t.throws(() => garwoodInterval(-1), RangeError);
  t.throws(() => garwoodInterval(3, 1), RangeError);
});

t.test('Fay–Feuer reduces to Garwood · d with one difficulty; mixed difficulties widen it', async (t) => {
  for (const [n, d] of [
    [1, 1],
    [7, 512],
    [300, 9310],
  ] as const) {
    const g = garwoodInterval(n, 0.9);
    const f = weightedPoissonInterval({ sum: n * d, sumSquares: n * d * d, maxWeight: d }, 0.9);
    t.ok(within(f.low, g.low * d, 1e-12) && within(f.high, g.high * d, 1e-12), `n=${n} d=${d}`);
  }
  // 100 shares at 1 and 100 at 8: Σd = 900, wider (relative) than 200 shares at one difficulty.
  const mixed = weightedPoissonInterval({ sum: 900, sumSquares: 100 + 6400, maxWeight: 8 }, 0.9);
  const plain = garwoodInterval(200, 0.9);
  t.ok(mixed.high / 900 > plain.high / 200 && mixed.low / 900 < plain.low / 200);
  t.same(weightedPoissonInterval({ sum: 0, sumSquares: 0, maxWeight: 0 }), { low: 0, high: Infinity });
  const silent = weightedPoissonInterval({ sum: 0, sumSquares: 0, maxWeight: 64 }, 0.9);
  t.ok(silent.low === 0 && within(silent.high, 64 * -Math.log(0.05), 1e-12));
});

t.test('estimator, hand-computed: 10 shares at 1000 over the first 10 s', async (t) => {
  const e = new HashrateEstimator(0);
  for (let i = 1; i <= 10; i++) e.record(i * 1000, 1000);
  const r = e.estimate(10_000);
  // T is the time since creation (10 s), not since the first share (9 s).
  t.equal(r.windowSeconds, 10);
  t.equal(r.shares, 10);
  t.equal(r.sumDifficulty, 10_000);
  t.equal(r.hashesPerSecond, (10_000 * HASHES_PER_DIFFICULTY) / 10);
  const g = garwoodInterval(10, 0.9);
  t.ok(within(r.low, (g.low * 1000 * HASHES_PER_DIFFICULTY) / 10, 1e-12));
  t.ok(within(r.high, (g.high * 1000 * HASHES_PER_DIFFICULTY) / 10, 1e-12));
  t.ok(within(toTeraHashes(r.hashesPerSecond), 4.294967296, 1e-15));
  t.ok(within(estimateInTeraHashes(r).teraHashesPerSecond, 4.294967296, 1e-15));
});

t.test('estimator: the window starts on the grid line at or before now − 60 s', async (t) => {
  // Default grid: 256 / 4 = 64 cells per 60 s window, 937.5 ms each.
  const e = new HashrateEstimator(0);
  for (let i = 0; i < 100; i++) e.record(i * 1000, 1);
  const r = e.estimate(100_000);
  // floor(40000 / 937.5) · 937.5 = 39375 ms, so T = 60.625 s and shares at 40 s … 99 s count.
  t.equal(r.windowSeconds, 60.625);
  t.equal(r.shares, 60);
  t.equal(r.sumDifficulty, 60);
  t.equal(e.estimate(0).windowSeconds, 60.625, 'a time going backwards is taken as the last one');
});

t.test('estimator: zero elapsed time and an empty window are honest', async (t) => {
  const e = new HashrateEstimator(5000);
  t.same(e.estimate(5000), { hashesPerSecond: 0, low: 0, high: Infinity, shares: 0, sumDifficulty: 0, windowSeconds: 0 });
  const silent = e.estimate(15_000, { difficulty: 256 });
  t.equal(silent.hashesPerSecond, 0);
  t.ok(within(silent.high, (256 * -Math.log(0.05) * HASHES_PER_DIFFICULTY) / 10, 1e-12), 'upper bound from the difficulty in force');
  t.equal(e.estimate(15_000).high, Infinity, 'no share and no difficulty: no upper bound');
  t.throws(() => e.record(16_000, 0), RangeError);
  t.throws(() => new HashrateEstimator(0, { maxSamples: 8 }), RangeError);
  t.throws(() => new HashrateEstimator(0, { windowSeconds: 0 }), RangeError);
  t.throws(() => new HashrateEstimator(0, { confidence: 1 }), RangeError);
});

t.test('estimator: reset(now) forgets everything before now', async (t) => {
  const e = new HashrateEstimator(0);
  for (let i = 1; i <= 50; i++) e.record(i * 1000, 4096);
  e.reset(50_000);
  e.record(52_000, 1024);
  const r = e.estimate(54_000);
  t.equal(r.windowSeconds, 4);
  t.equal(r.shares, 1);
  t.equal(r.sumDifficulty, 1024);
});

t.test('estimator: memory stays bounded and the sum stays exact (against a brute-force window)', async (t) => {
  const rng = createRng(12);
  const e = new HashrateEstimator(0, { maxSamples: 64 });
  const all: [number, number][] = [];
  let now = 0;
  let maxSize = 0;
  for (let i = 0; i < 50_000; i++) {
    now += Math.floor(rng() * 20);
    const d = 2 ** Math.floor(rng() * 10);
    e.record(now, d);
    all.push([now, d]);
    maxSize = Math.max(maxSize, e.size);
    if (i % 997 === 0) {
      const r = e.estimate(now);
      const start = now - r.windowSeconds * 1000;
      let sum = 0;
      let count = 0;
      for (const [time, diff] of all) {
        if (time >= start) {
          sum += diff;
          count++;
        }
      }
      if (sum !== r.sumDifficulty || count !== r.shares) t.fail(`at ${now}: ${r.sumDifficulty}/${r.shares} vs ${sum}/${count}`);
    }
  }
  t.ok(maxSize <= 64, `size ${maxSize} <= 64`);
});

/** One rig's shares: a Poisson process of rate H / (d · 2^32), d changing at each segment's start (ms), until `to`. */
function simulate(rng: Rng, e: HashrateEstimator, hashesPerSecond: number, segments: [number, number][], to: number): void {
  segments.forEach(([from, d], i) => {
    const end = i + 1 < segments.length ? segments[i + 1]![0] : to;
    const meanGapMs = ((d * HASHES_PER_DIFFICULTY) / hashesPerSecond) * 1000;
    // The process is memoryless, so it can restart at each change.
    for (let now = from - Math.log(1 - rng()) * meanGapMs; now <= end; now -= Math.log(1 - rng()) * meanGapMs) e.record(now, d);
  });
}

t.test('Monte Carlo: the 90 % interval covers the true rate in 88–92 % of 2,000 windows', async (t) => {
  const rng = createRng(2026);
  // Sizes at the difficulty vardiff gives them for 300 shares/min (≈ 300 shares per window).
  for (const [hashesPerSecond, difficulty] of [
    [1e12, 47],
    [100e12, 4660],
    [200e12, 9310],
  ] as const) {
    let covered = 0;
    for (let trial = 0; trial < 2000; trial++) {
      const e = new HashrateEstimator(0);
      simulate(rng, e, hashesPerSecond, [[0, difficulty]], 70_000);
      const r = e.estimate(70_000);
      if (r.low <= hashesPerSecond && hashesPerSecond <= r.high) covered++;
    }
    const coverage = covered / 2000;
    t.ok(coverage >= 0.88 && coverage <= 0.92, `${hashesPerSecond / 1e12} TH/s at d=${difficulty}: coverage ${coverage}`);
  }
});

t.test('Monte Carlo: unbiased and covered when the difficulty changes 8× inside the window', async (t) => {
  const rng = createRng(77);
  const hashesPerSecond = 100e12;
  // 4660 until 30 s, then 37280: ≈ 150 + 19 shares a window; expected Σd · 2^32 / T = H.
  let covered = 0;
  let sum = 0;
  for (let trial = 0; trial < 2000; trial++) {
    const e = new HashrateEstimator(0);
    simulate(
      rng,
      e,
      hashesPerSecond,
      [
        [0, 4660],
        [30_000, 37_280],
      ],
      60_000,
    );
    const r = e.estimate(60_000);
    sum += r.hashesPerSecond;
    if (r.low <= hashesPerSecond && hashesPerSecond <= r.high) covered++;
  }
  const mean = sum / 2000;
  // Relative SD of one estimate ≈ √(Σd²)/Σd ≈ 0.1; of the mean of 2,000 ≈ 0.0023.
  t.ok(within(mean, hashesPerSecond, 0.008), `mean ${toTeraHashes(mean)} TH/s`);
  const coverage = covered / 2000;
  t.ok(coverage >= 0.88 && coverage <= 0.95, `coverage ${coverage} (Fay–Feuer is conservative)`);
});
