import fc from 'fast-check';
import t from 'tap';
import { buildConfig } from '../../src/config/index.js';
import { computeBudget, formatDuration, formatWatts, gpuNeedWatts, policyFromConfig } from '../../src/throttle/policy.js';
import type { GpuNeedModel, PolicySettings } from '../../src/throttle/types.js';

const POOL = 'stratum+tcp://pool.example.com:3333';
const linear: GpuNeedModel = { kind: 'linear', idleWatts: 20_000, wattsPerRequest: 150, maxWatts: 300_000 };
const steps: GpuNeedModel = {
  kind: 'steps',
  steps: [
    { depth: 0, watts: 10_000 },
    { depth: 10, watts: 80_000 },
    { depth: 100, watts: 250_000 },
  ],
};

t.test('linear GPU need: idle + per request, capped at max', async (t) => {
  t.equal(gpuNeedWatts(linear, 0), 20_000);
  t.equal(gpuNeedWatts(linear, 100), 35_000);
  t.equal(gpuNeedWatts(linear, 1_866), 299_900);
  t.equal(gpuNeedWatts(linear, 1_867), 300_000, 'reaches the cap');
  t.equal(gpuNeedWatts(linear, 1e12), 300_000);
  t.equal(gpuNeedWatts(linear, Number.POSITIVE_INFINITY), 300_000);
  t.equal(gpuNeedWatts(linear, -5), 20_000, 'a negative depth counts as 0');
  t.equal(gpuNeedWatts({ kind: 'linear', idleWatts: 0, wattsPerRequest: 0, maxWatts: 0 }, Number.POSITIVE_INFINITY), 0);
  t.equal(gpuNeedWatts({ kind: 'linear', idleWatts: 5_000, wattsPerRequest: 10, maxWatts: 1_000 }, 3), 5_000, 'never below idle');
});

t.test('step GPU need: the last step at or below the depth', async (t) => {
  t.equal(gpuNeedWatts(steps, 0), 10_000);
  t.equal(gpuNeedWatts(steps, 9), 10_000);
  t.equal(gpuNeedWatts(steps, 10), 80_000);
  t.equal(gpuNeedWatts(steps, 99), 80_000);
  t.equal(gpuNeedWatts(steps, 100), 250_000);
  t.equal(gpuNeedWatts(steps, 1e9), 250_000);
  t.equal(gpuNeedWatts(steps, 2.5), 10_000, 'fractional depth (a rate from a metrics bridge)');
});

t.test('unknown depth: the model maximum (the shed floor)', async (t) => {
  t.equal(gpuNeedWatts(linear, null), 300_000);
  t.equal(gpuNeedWatts(linear, Number.NaN), 300_000, 'NaN is unknown too');
  t.equal(gpuNeedWatts(steps, null), 250_000);
  const bumpy: GpuNeedModel = {
    kind: 'steps',
    steps: [
      { depth: 0, watts: 5 },
      { depth: 10, watts: 90 },
      { depth: 20, watts: 40 },
    ],
  };
  t.equal(gpuNeedWatts(bumpy, null), 90, 'the largest step, even when the table is not monotonic');
});

t.test('property: the unknown-depth need bounds every known depth', async (t) => {
  const model = fc.oneof(
    fc.record({
      kind: fc.constant('linear' as const),
      idleWatts: fc.integer({ min: 0, max: 1e6 }),
      wattsPerRequest: fc.integer({ min: 0, max: 1e4 }),
      maxWatts: fc.integer({ min: 0, max: 1e7 }),
    }),
    fc
      .uniqueArray(fc.integer({ min: 1, max: 10_000 }), { maxLength: 8 })
      .chain((ds) =>
        fc.tuple(
          fc.constant([0, ...ds.sort((a, b) => a - b)]),
          fc.array(fc.integer({ min: 0, max: 1e6 }), { minLength: ds.length + 1, maxLength: ds.length + 1 }),
        ),
      )
      .map(([ds, ws]) => ({ kind: 'steps' as const, steps: ds.map((depth, i) => ({ depth, watts: ws[i]! })) })),
  );
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(model, fc.integer({ min: 0, max: 1e7 }), (m, depth) => {
          const need = gpuNeedWatts(m, depth);
          return need >= 0 && need <= gpuNeedWatts(m, null);
        }),
        { numRuns: 300 },
      ),
    '300 random models and depths',
  );
});

const settings: PolicySettings = { siteBudgetWatts: 1_000_000, baseLoadWatts: 50_000, headroomPercent: 5, gpu: linear };

t.test('budget: site − base − headroom − GPU need', async (t) => {
  const b = computeBudget(settings, { depth: 1_000, capWatts: null });
  t.same(b, { siteWatts: 1_000_000, gpuNeedWatts: 170_000, headroomWatts: 50_000, baseLoadWatts: 50_000, asicWatts: 730_000 });
});

t.test('budget: a Redis cap below the contract wins, one above does not', async (t) => {
  const low = computeBudget(settings, { depth: 0, capWatts: 600_000 });
  t.equal(low.siteWatts, 600_000);
  t.equal(low.headroomWatts, 30_000, 'headroom is a share of the effective site budget');
  t.equal(low.asicWatts, 600_000 - 50_000 - 30_000 - 20_000);
  t.equal(computeBudget(settings, { depth: 0, capWatts: 2_000_000 }).siteWatts, 1_000_000);
  t.equal(computeBudget(settings, { depth: 0, capWatts: 0 }).asicWatts, 0, 'a zero cap leaves nothing');
  t.equal(computeBudget(settings, { depth: 0, capWatts: -10 }).siteWatts, 0, 'a negative cap counts as 0');
  t.equal(computeBudget(settings, { depth: 0, capWatts: Number.NaN }).siteWatts, 1_000_000, 'a cap that is not a number is ignored');
});

t.test('budget: never below zero; unknown depth plans for the worst case', async (t) => {
  const b = computeBudget({ ...settings, siteBudgetWatts: 100_000 }, { depth: 5_000, capWatts: null });
  t.equal(b.asicWatts, 0);
  t.equal(b.gpuNeedWatts, 300_000);
  const stale = computeBudget(settings, { depth: null, capWatts: null });
  t.equal(stale.gpuNeedWatts, 300_000);
  t.equal(stale.asicWatts, 1_000_000 - 50_000 - 50_000 - 300_000);
  t.ok(stale.asicWatts <= computeBudget(settings, { depth: 0, capWatts: null }).asicWatts);
});

t.test('property: the ASIC budget falls as the depth grows', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 1e6 }), fc.integer({ min: 0, max: 1e6 }), (a, b) => {
          const [lo, hi] = a <= b ? [a, b] : [b, a];
          const x = computeBudget(settings, { depth: lo, capWatts: null }).asicWatts;
          const y = computeBudget(settings, { depth: hi, capWatts: null }).asicWatts;
          return y <= x && y >= 0;
        }),
        { numRuns: 200 },
      ),
    '200 random depth pairs',
  );
});

t.test('policyFromConfig: both GPU model shapes', async (t) => {
  const c = buildConfig({
    file: {
      name: 'c.json',
      value: {
        pools: [POOL],
        throttle: {
          siteBudgetWatts: 500_000,
          baseLoadWatts: 1_000,
          headroomPercent: 7,
          gpu: { idleWatts: 1, wattsPerRequest: 2, maxWatts: 3 },
        },
      },
    },
  });
  t.same(policyFromConfig(c.throttle), {
    siteBudgetWatts: 500_000,
    baseLoadWatts: 1_000,
    headroomPercent: 7,
    gpu: { kind: 'linear', idleWatts: 1, wattsPerRequest: 2, maxWatts: 3 },
  });
  const s = buildConfig({
    file: {
      name: 'c.json',
      value: {
        pools: [POOL],
        throttle: {
          gpu: {
            steps: [
              { depth: 0, watts: 100 },
              { depth: 50, watts: 900 },
            ],
          },
        },
      },
    },
  });
  const p = policyFromConfig(s.throttle);
  t.same(p.gpu, {
    kind: 'steps',
    steps: [
      { depth: 0, watts: 100 },
      { depth: 50, watts: 900 },
    ],
  });
  t.equal(p.headroomPercent, 5, 'defaults come through');
  const d = policyFromConfig(buildConfig({ flags: { pool: POOL } }).throttle);
  t.equal(gpuNeedWatts(d.gpu, 1_000), 0, 'the default GPU model needs nothing');
});

t.test('formatting for reasons', async (t) => {
  t.equal(formatWatts(3_200), '3,200 W');
  t.equal(formatWatts(1_234_567.6), '1,234,568 W');
  t.equal(formatWatts(0), '0 W');
  t.equal(formatWatts(-1_500), '-1,500 W');
  t.equal(formatWatts(Number.POSITIVE_INFINITY), '∞ W');
  t.equal(formatDuration(45_000), '45 s');
  t.equal(formatDuration(125_000), '2 min 5 s');
  t.equal(formatDuration(120_000), '2 min');
  t.equal(formatDuration(3 * 3_600_000 + 600_000), '3 h 10 min');
  t.equal(formatDuration(-5), '0 s');
});
