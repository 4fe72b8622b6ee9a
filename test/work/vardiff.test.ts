import fc from 'fast-check';
import t from 'tap';
import { HASHES_PER_DIFFICULTY } from '../../src/work/hashrate.js';
import {
  applyRetarget,
  createVardiffSettings,
  createVardiffState,
  decideRetarget,
  DEFAULT_VARDIFF_SETTINGS,
  difficultyForShareRate,
  initialDifficulty,
  recordVardiffShare,
  updateVardiff,
  roundDifficulty,
  roundDifficultyDown,
  validateVardiffSettings,
  type VardiffSettings,
  type VardiffState,
} from '../../src/work/vardiff.js';
import { createRng, type Rng } from '../../src/util/rng.js';

const S = DEFAULT_VARDIFF_SETTINGS;

/** Significant digits of a positive integer. */
const significantDigits = (n: number): number => String(n).replace(/0+$/, '').length;

t.test('roundDifficulty: integers of at most 3 significant digits, powers of two below 1', async (t) => {
  const cases: [number, number][] = [
    [0.3, 0.25],
    [0.0009, 2 ** -10],
    [0.75, 1],
    [1, 1],
    [1.4, 1],
    [47.4, 47],
    [999.4, 999],
    [999.6, 1000],
    [1234, 1230],
    [1235.5, 1240],
    [9313.2, 9310],
    [139_698, 140_000],
    [1e9, 1e9],
  ];
  for (const [d, want] of cases) t.equal(roundDifficulty(d), want, `${d} → ${want}`);
  t.equal(roundDifficultyDown(252.79), 252);
  t.equal(roundDifficultyDown(50_558.5), 50_500);
  t.equal(roundDifficultyDown(0.3), 0.25);
  for (const bad of [0, -1, Number.NaN, Infinity]) {
    t.throws(() => roundDifficulty(bad), RangeError);
    t.throws(() => roundDifficultyDown(bad), RangeError);
  }
});

t.test('property: a rounded difficulty ≥ 1 is an integer of ≤ 3 significant digits within 0.5 % (or 0.5) of d', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.double({ min: 1, max: 1e12, noNaN: true }), (d) => {
        const r = roundDifficulty(d);
        const down = roundDifficultyDown(d);
        return (
          Number.isInteger(r) &&
          significantDigits(r) <= 3 &&
          Math.abs(r - d) <= Math.max(0.005 * d, 0.5) &&
          Number.isInteger(down) &&
          down <= d &&
          significantDigits(down) <= 3 &&
          d - down < Math.max(0.01 * d, 1)
        );
      }),
      { numRuns: 2000 },
    ),
  );
});

t.test('settings: every problem is reported at once, then frozen', async (t) => {
  const bad = { ...S, targetSharesPerMinute: 0, tolerance: -1, confidence: 1, minDifficulty: 10, maxDifficulty: 5, minRetargetSeconds: -1 };
  const problems = validateVardiffSettings(bad);
  for (const field of ['targetSharesPerMinute', 'tolerance', 'confidence', 'maxDifficulty', 'startDifficulty', 'minRetargetSeconds']) {
    t.ok(
      problems.some((p) => p.includes(field)),
      `${field} reported`,
    );
  }
  t.throws(() => createVardiffSettings({ targetSharesPerMinute: Number.NaN }), RangeError);
  const ok = createVardiffSettings({ targetSharesPerMinute: 60 });
  t.ok(Object.isFrozen(ok));
  t.equal(ok.targetSharesPerMinute, 60);
  t.same(validateVardiffSettings(S), []);
});

t.test('initialDifficulty: the suggestion (clamped and rounded), else the start value; never above the pool', async (t) => {
  t.equal(initialDifficulty(S), 10_000);
  t.equal(initialDifficulty(S, { suggested: 1000 }), 1000);
  t.equal(initialDifficulty(S, { suggested: 1234.5 }), 1230);
  t.equal(initialDifficulty(S, { suggested: 0.01 }), 1, 'clamped to minDifficulty');
  t.equal(initialDifficulty(S, { suggested: 1e12 }), 1e9, 'clamped to maxDifficulty');
  t.equal(initialDifficulty(S, { suggested: -5 }), 10_000, 'an unusable suggestion is ignored');
  t.equal(initialDifficulty(S, { suggested: Number.NaN }), 10_000);
  t.equal(initialDifficulty(S, { poolDifficulty: 4096 }), 4096);
  t.equal(initialDifficulty(S, { suggested: 1000, poolDifficulty: 512.5 }), 512.5, 'the pool value exactly, fractional or not');
  const odd = createVardiffSettings({ maxDifficulty: 1_239_999, startDifficulty: 1000 });
  t.equal(initialDifficulty(odd, { suggested: 1_239_990 }), 1_230_000, 'rounding never crosses maxDifficulty');
});

t.test('decideRetarget, hand-computed', async (t) => {
  const state = createVardiffState(1000, 0);
  t.same(decideRetarget(S, state, 5000), { action: 'hold', reason: 'too-soon', newPeriod: false });
  // 100 shares at 1000 in 10 s = 600/min; fewer than 300, but the 99 % interval (457–773/min)
  // is wholly above the band (≤ 375): too fast. Next: Σd · 60 / (10 · 300) = 2000.
  for (let i = 0; i < 100; i++) recordVardiffShare(state, 1000);
  t.same(decideRetarget(S, state, 10_000), { action: 'retarget', reason: 'too-fast', difficulty: 2000, observedSharesPerMinute: 600 });
  // 50 in 10 s = 300/min on 50 shares: keep gathering.
  const early = createVardiffState(1000, 0);
  for (let i = 0; i < 50; i++) recordVardiffShare(early, 1000);
  t.same(decideRetarget(S, early, 10_000), { action: 'hold', reason: 'gathering', newPeriod: false });
  // 300 in 60 s = 300/min: a full period in band, start a fresh one.
  const steady = createVardiffState(1000, 0);
  for (let i = 0; i < 300; i++) recordVardiffShare(steady, 1000);
  t.same(decideRetarget(S, steady, 60_000), { action: 'hold', reason: 'in-band', newPeriod: true });
  // The same 300 in 40 s = 450/min: out of band; next = 300000 · 60 / (40 · 300) = 1500.
  t.same(decideRetarget(S, steady, 40_000), { action: 'retarget', reason: 'too-fast', difficulty: 1500, observedSharesPerMinute: 450 });
  // 10 in 10 s = 60/min: the 99 % interval (22.3–128.4/min) is wholly below the band (≥ 240): too slow,
  // stepping with the interval's low end 3.7169 · 1000 · 60 / (10 · 300) = 74.3 → 74 (≈ 811/min if the rate is 60/min).
  const slow = createVardiffState(1000, 0);
  for (let i = 0; i < 10; i++) recordVardiffShare(slow, 1000);
  t.same(decideRetarget(S, slow, 10_000), { action: 'retarget', reason: 'too-slow', difficulty: 74, observedSharesPerMinute: 60 });
  // Silence at 8192 for 10 s: the 99 % upper end of Σd is 8192 · −ln(0.005) = 43403.8; next = that · 60 / (10 · 300) = 868.
  const silent = createVardiffState(8192, 0);
  t.same(decideRetarget(S, silent, 10_000), { action: 'retarget', reason: 'too-slow', difficulty: 868, observedSharesPerMinute: 0 });
  // At the floor already: nothing to do.
  t.same(decideRetarget(S, createVardiffState(1, 0), 10_000), { action: 'hold', reason: 'at-limit', newPeriod: false });
});

t.test('updateVardiff: applies a retarget and restarts a full in-band period', async (t) => {
  const state = createVardiffState(1000, 0);
  for (let i = 0; i < 300; i++) recordVardiffShare(state, 1000);
  t.equal(updateVardiff(S, state, 60_000).action, 'hold');
  t.same(state, createVardiffState(1000, 60_000), 'fresh period at the same difficulty');
  for (let i = 0; i < 300; i++) recordVardiffShare(state, 1000);
  const d = updateVardiff(S, state, 70_000);
  t.ok(d.action === 'retarget' && d.difficulty === 6000);
  t.same(state, createVardiffState(6000, 70_000));
  applyRetarget(state, 512, 80_000);
  t.same(state, createVardiffState(512, 80_000));
});

t.test('decideRetarget: a pool difficulty below the local one retargets at once; local never exceeds the pool', async (t) => {
  const state = createVardiffState(8192, 0);
  t.same(decideRetarget(S, state, 1, 4096), { action: 'retarget', reason: 'pool-lowered', difficulty: 4096, observedSharesPerMinute: 0 });
  // Too fast, but the pool caps the increase.
  const fast = createVardiffState(1000, 0);
  for (let i = 0; i < 500; i++) recordVardiffShare(fast, 1000);
  const capped = decideRetarget(S, fast, 10_000, 3000);
  t.ok(capped.action === 'retarget' && capped.difficulty === 3000, 'capped at the pool');
  const atPool = createVardiffState(3000, 0);
  for (let i = 0; i < 500; i++) recordVardiffShare(atPool, 3000);
  t.same(decideRetarget(S, atPool, 10_000, 3000), { action: 'hold', reason: 'at-limit', newPeriod: true });
});

t.test('change-over: shares still at the old difficulty count at the difficulty they met', async (t) => {
  // Retargeted from 1000 to 2000; a cgminer-style rig keeps 1000 until the next notify: 300 shares
  // at 1000 in 30 s is the hash rate of 300/min at 2000, in band.
  const state = createVardiffState(2000, 0);
  for (let i = 0; i < 300; i++) recordVardiffShare(state, 1000);
  t.same(decideRetarget(S, state, 30_000), { action: 'hold', reason: 'in-band', newPeriod: true });
  // Counted at 2000 instead, the same shares would look twice as fast.
  const wrong = createVardiffState(2000, 0);
  for (let i = 0; i < 300; i++) recordVardiffShare(wrong, 2000);
  t.equal(decideRetarget(S, wrong, 30_000).action, 'retarget');
});

interface Run {
  retargets: { at: number; difficulty: number }[];
  state: VardiffState;
  maxOverPool: number;
}

/** A rig of `hashesPerSecond` on the controller, decided every second, for `seconds`. */
function run(rng: Rng, settings: VardiffSettings, hashesPerSecond: number, start: number, seconds: number, pool?: number): Run {
  const state = createVardiffState(start, 0);
  const retargets: { at: number; difficulty: number }[] = [];
  let maxOverPool = 0;
  let next = 0;
  const gap = (): number => (-Math.log(1 - rng()) * state.difficulty * HASHES_PER_DIFFICULTY * 1000) / hashesPerSecond;
  next = gap();
  for (let s = 1; s <= seconds; s++) {
    const tick = s * 1000;
    while (next <= tick) {
      recordVardiffShare(state, state.difficulty);
      next += gap();
    }
    const decision = updateVardiff(settings, state, tick, pool);
    if (decision.action === 'retarget') {
      retargets.push({ at: tick, difficulty: decision.difficulty });
      next = tick + gap(); // memoryless: the new difficulty's process starts now
    }
    if (pool !== undefined) maxOverPool = Math.max(maxOverPool, state.difficulty - pool);
  }
  return { retargets, state, maxOverPool };
}

const inBand = (settings: VardiffSettings, hashesPerSecond: number, difficulty: number): boolean => {
  const rate = (hashesPerSecond * 60) / (difficulty * HASHES_PER_DIFFICULTY);
  return (
    rate >= settings.targetSharesPerMinute / (1 + settings.tolerance) && rate <= settings.targetSharesPerMinute * (1 + settings.tolerance)
  );
};

t.test('convergence: a 1 TH/s Bitaxe and a 200 TH/s S21 reach the band within 4 retargets, then stay', async (t) => {
  const rng = createRng(42);
  const rigs: [string, number, number][] = [
    ['Bitaxe 1 TH/s from 8192', 1e12, 8192],
    ['Bitaxe 1 TH/s from its suggestion 1000', 1e12, 1000],
    ['S21 200 TH/s from 8192', 200e12, 8192],
    ['S21 200 TH/s from 1', 200e12, 1],
    ['S21 200 TH/s from 65536', 200e12, 65_536],
  ];
  for (const [name, hashesPerSecond, start] of rigs) {
    const settleTimes: number[] = [];
    for (let trial = 0; trial < 20; trial++) {
      const r = run(rng, S, hashesPerSecond, start, 660);
      const steps = [{ at: 0, difficulty: start }, ...r.retargets];
      const settled = steps.findIndex((x) => inBand(S, hashesPerSecond, x.difficulty));
      const first = settled >= 0 ? steps[settled]! : undefined;
      if (first === undefined || settled > 4 || first.at > 300_000) {
        t.fail(`${name}: ${JSON.stringify(r.retargets.slice(0, 6))}`);
        continue;
      }
      settleTimes.push(first.at);
      // After that: in band at the end, and only a few corrections (a landing near a band edge, corrected once).
      const later = r.retargets.filter((x) => x.at > first.at);
      if (later.length > 4 || !inBand(S, hashesPerSecond, r.state.difficulty)) t.fail(`${name}: unsettled ${JSON.stringify(later)}`);
    }
    settleTimes.sort((a, b) => a - b);
    t.ok(settleTimes.length === 20 && settleTimes[10]! <= 30_000, `${name}: median time to the band ${settleTimes[10]} ms`);
  }
  t.equal(roundDifficulty(difficultyForShareRate(1e12, 300)), 47);
  t.equal(roundDifficulty(difficultyForShareRate(200e12, 300)), 9310);
});

t.test('convergence under a pool cap: local stays at or below the pool the whole time', async (t) => {
  const rng = createRng(5);
  const r = run(rng, S, 200e12, 8192, 300, 4096);
  t.equal(r.maxOverPool, 0);
  t.equal(r.state.difficulty, 4096, 'held at the pool value (the S21 wants 9310)');
});
