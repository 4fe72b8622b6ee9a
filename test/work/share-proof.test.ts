import t from 'tap';
import { garwoodInterval, HASHES_PER_DIFFICULTY, HashrateEstimator, logGamma } from '../../src/work/hashrate.js';
import {
  bandAround,
  burstDifficultyForLevel,
  burstDifficultyForStop,
  checkPowerTarget,
  checkResume,
  checkStop,
  probabilityDecided,
  secondsToConfirmStop,
  secondsToDecideLevel,
  sharesPerSecondAt,
  sharesToDecideLevel,
  silenceProbability,
} from '../../src/work/share-proof.js';
import { createRng } from '../../src/util/rng.js';

const within = (actual: number, expected: number, relative: number): boolean =>
  Math.abs(actual - expected) <= relative * Math.abs(expected);
const LN_1E4 = Math.log(1e4);

t.test('stop detection, hand-computed: e^(−λt), ln(1/p) / λ', async (t) => {
  t.equal(sharesPerSecondAt(2 ** 32, 1), 1);
  t.ok(within(silenceProbability(1, LN_1E4), 1e-4, 1e-12));
  t.equal(silenceProbability(5, 0), 1);
  t.equal(silenceProbability(5, -3), 1, 'negative time counts as none');
  t.ok(within(secondsToConfirmStop(LN_1E4 / 10), 10, 1e-12));
  // At the default 300 shares/min (5/s): 1.84 s of silence.
  t.ok(within(secondsToConfirmStop(5), 1.8420680743952367, 1e-12));
  t.ok(within(secondsToConfirmStop(1, 1e-6), Math.log(1e6), 1e-12));
  t.equal(secondsToConfirmStop(0), Infinity);
  t.throws(() => secondsToConfirmStop(1, 0), RangeError);
  t.throws(() => secondsToConfirmStop(1, 1), RangeError);
  t.throws(() => secondsToConfirmStop(-1), RangeError);
});

t.test('burst difficulty for a 10 s curtail proof at p = 1e-4: 252 at 1 TH/s, 50,500 at 200 TH/s', async (t) => {
  // d = H · 10 / (2^32 · ln 1e4): 252.79 and 50558.5, rounded down to clean values.
  t.equal(burstDifficultyForStop(1e12), 252);
  t.equal(burstDifficultyForStop(200e12), 50_500);
  // With 1 s of grace for shares in flight, 9 s of silence must do.
  t.equal(burstDifficultyForStop(1e12, { graceSeconds: 1 }), 227);
  t.equal(burstDifficultyForStop(200e12, { graceSeconds: 1 }), 45_500);
  for (const h of [1e12, 13.5e12, 100e12, 200e12, 335e12]) {
    const d = burstDifficultyForStop(h);
    t.ok(secondsToConfirmStop(sharesPerSecondAt(h, d)) <= 10, `${h / 1e12} TH/s at ${d}: within 10 s`);
  }
  t.throws(() => burstDifficultyForStop(1e12, { graceSeconds: 10 }), RangeError);
  t.throws(() => burstDifficultyForStop(0), RangeError);
});

t.test('checkStop: stopped, still hashing, undecided; a share in flight restarts the silence', async (t) => {
  const base = { sharesPerSecond: 1, answeredAt: 100_000 };
  const need = LN_1E4; // 9.21 s at λ = 1
  t.same(checkStop({ ...base, lastShareAt: 99_500, now: 105_000 }).verdict, 'undecided');
  const stopped = checkStop({ ...base, lastShareAt: 99_500, now: 100_000 + need * 1000 + 1 });
  t.equal(stopped.verdict, 'stopped');
  t.equal(stopped.secondsToConfirm, 0);
  t.ok(stopped.probability <= 1e-4);
  const waiting = checkStop({ ...base, lastShareAt: null, now: 104_000 });
  t.equal(waiting.verdict, 'undecided');
  t.ok(within(waiting.secondsToConfirm, need - 4, 1e-12));
  t.ok(within(waiting.probability, Math.exp(-4), 1e-12));
  // A share 0.5 s after the answer (in flight): silence counts from it, so not yet stopped at answer + need.
  const inFlight = checkStop({ ...base, lastShareAt: 100_500, now: 100_000 + need * 1000 + 1 });
  t.equal(inFlight.verdict, 'undecided');
  t.ok(within(inFlight.silentSeconds, need - 0.5 + 0.001, 1e-9));
  // A share 3 s after the answer: still hashing.
  t.equal(checkStop({ ...base, lastShareAt: 103_000, now: 104_000 }).verdict, 'still-hashing');
  t.equal(checkStop({ ...base, lastShareAt: 103_000, now: 104_000, graceSeconds: 5 }).verdict, 'undecided');
});

t.test('Monte Carlo: the false-alarm rate of stop detection is at most 1e-4, with λ as measured', async (t) => {
  const rng = createRng(99);
  // A 100 TH/s rig at vardiff's 4660 (≈ 5 shares/s): 2,000 measured windows give λ's lower bound.
  const hashesPerSecond = 100e12;
  const difficulty = 4660;
  const lambda = sharesPerSecondAt(hashesPerSecond, difficulty);
  const meanGapMs = 1000 / lambda;
  const lows: number[] = [];
  for (let w = 0; w < 2000; w++) {
    const e = new HashrateEstimator(0);
    for (let now = -Math.log(1 - rng()) * meanGapMs; now <= 60_000; now -= Math.log(1 - rng()) * meanGapMs) e.record(now, difficulty);
    lows.push(sharesPerSecondAt(e.estimate(60_000).low, difficulty));
  }
  // Analytically: the false-alarm probability given a measured λ̂ is e^(−λ · ln(1e4) / λ̂) = 1e-4^(λ / λ̂).
  const analytic = lows.reduce((sum, low) => sum + 1e-4 ** (lambda / low), 0) / lows.length;
  t.ok(analytic <= 1e-4, `expected false-alarm rate ${analytic.toExponential(3)}`);
  // Simulated: a rig that never stopped; its next share after the answer is Exp(λ) away (memoryless).
  // 1,000,000 trials: at exactly 1e-4 we would see 100 ± 10.
  const trials = 1_000_000;
  let alarms = 0;
  for (let i = 0; i < trials; i++) {
    const firstShare = -Math.log(1 - rng()) / lambda;
    if (firstShare > secondsToConfirmStop(lows[i % lows.length]!)) alarms++;
  }
  t.ok(alarms / trials <= 1e-4 + 3 * Math.sqrt(1e-4 / trials), `simulated ${alarms} / ${trials}`);
  // The same trials with the true λ sit at 1e-4 (so the check above can fail).
  let exact = 0;
  const need = secondsToConfirmStop(lambda);
  for (let i = 0; i < trials; i++) if (-Math.log(1 - rng()) / lambda > need) exact++;
  t.ok(exact >= 65 && exact <= 135, `true λ: ${exact} alarms (expected 100)`);
});

t.test('Monte Carlo: a 1 TH/s rig at its burst difficulty is decided within 10 s', async (t) => {
  const rng = createRng(3);
  const d = burstDifficultyForStop(1e12, { graceSeconds: 1 });
  const lambda = sharesPerSecondAt(1e12, d);
  let stoppedOk = 0;
  let flagged = 0;
  for (let i = 0; i < 2000; i++) {
    // A rig that stopped at the answer (t = 0 s) decides 'stopped' at 10 s.
    if (checkStop({ sharesPerSecond: lambda, answeredAt: 0, lastShareAt: -200, now: 10_000 }).verdict === 'stopped') stoppedOk++;
    // A rig that kept hashing: its shares after the answer; the first past 1 s of grace flags it.
    let at = 0;
    let last = -200;
    while (at <= 10_000) {
      at -= (Math.log(1 - rng()) / lambda) * 1000;
      if (at <= 10_000) last = at;
      if (last > 1000) break;
    }
    if (checkStop({ sharesPerSecond: lambda, answeredAt: 0, lastShareAt: last, now: 10_000 }).verdict === 'still-hashing') flagged++;
  }
  t.equal(stoppedOk, 2000);
  t.ok(flagged >= 1999, `still-hashing flagged in ${flagged} / 2000 (a silent 9 s has p ≈ 1e-4)`);
});

t.test('power target and resume verdicts', async (t) => {
  const band = bandAround(100, 0.1);
  t.same(band, { low: 90, high: 110.00000000000001 });
  t.equal(checkPowerTarget(band, { low: 92, high: 108 }), 'confirmed');
  t.equal(checkPowerTarget(band, { low: 70, high: 89 }), 'under-performing');
  t.equal(checkPowerTarget(band, { low: 111, high: 140 }), 'not-reduced');
  t.equal(checkPowerTarget(band, { low: 85, high: 105 }), 'undecided', 'straddles the low edge');
  t.equal(checkPowerTarget(band, { low: 95, high: 120 }), 'undecided', 'straddles the high edge');
  t.equal(checkPowerTarget(band, { low: 80, high: 120 }), 'undecided', 'wider than the band');
  t.equal(checkResume(200, { low: 185, high: 215 }), 'confirmed');
  t.equal(checkResume(200, { low: 190, high: 260 }), 'confirmed', 'above rated is fine');
  t.equal(checkResume(200, { low: 0, high: 150 }), 'not-resumed');
  t.equal(checkResume(200, { low: 160, high: 200 }), 'undecided');
  t.throws(() => bandAround(100, 1), RangeError);
});

t.test('time to a level decision: the ±10 % interval needs 302 shares, a ±10 % band confirmation more', async (t) => {
  let brute = 1;
  for (;;) {
    const ci = garwoodInterval(brute, 0.9);
    if (ci.low / brute >= 0.9 && ci.high / brute <= 1.1) break;
    brute++;
  }
  t.equal(brute, 302, 'the smallest count whose 90 % interval is within ±10 %');
  // Brute force over the Poisson count of mean 1000 for a rig at the band centre.
  const band = bandAround(1, 0.1);
  let p = 0;
  for (let k = 0; k < 2000; k++) {
    const term = Math.exp(-1000 + k * Math.log(1000) - logGamma(k + 1));
    const ci = garwoodInterval(k, 0.9);
    if (ci.low / 1000 >= 0.9 && ci.high / 1000 <= 1.1) p += term;
  }
  t.ok(Math.abs(probabilityDecided(1, band, 1000) - p) < 1e-9, `P(confirmed | mean 1000) = ${p}`);
  // A plug-in "interval fits at the expected count" is a poor plan: at 302 it decides 7 % of the time.
  t.ok(probabilityDecided(1, band, 302) < 0.1);
  const median = sharesToDecideLevel(1, band, { probability: 0.5 });
  const likely = sharesToDecideLevel(1, band);
  t.ok(median > 535 && median < 555, `even odds at ${median} shares`);
  t.ok(likely > 1080 && likely < 1110, `90 % at ${likely} shares`);
  // Far from the band, a handful of shares decide.
  t.ok(sharesToDecideLevel(2, band) < 40, 'not reduced: twice the band');
  t.ok(sharesToDecideLevel(0.3, band) < 10, 'under-performing: 30 % of it');
  t.equal(sharesToDecideLevel(0.9, { low: 0.9, high: 1.1 }), Infinity, 'on an edge: never');
  // At vardiff's 300/min (5/s) a rig at the centre of a ±10 % band confirms in ≈ 220 s (90 %).
  const seconds = secondsToDecideLevel({ expectedHashesPerSecond: 1e12, band: bandAround(1e12, 0.1), difficulty: 47 });
  t.ok(seconds > 200 && seconds < 240, `${seconds} s`);
  // A stopped rig under a 50 % target: the silent upper bound −ln(0.05) · d · 2^32 / T < 0.45 TH/s.
  const silent = secondsToDecideLevel({ expectedHashesPerSecond: 0, band: bandAround(0.5e12, 0.1), difficulty: 47 });
  t.ok(within(silent, (-Math.log(0.05) * 47 * HASHES_PER_DIFFICULTY) / 0.45e12, 1e-9));
});

t.test('burst difficulty for a level decision within 10 s, and its Monte Carlo check', async (t) => {
  const band = bandAround(100e12, 0.1);
  const d = burstDifficultyForLevel({ expectedHashesPerSecond: 100e12, band })!;
  t.equal(d, 212, '100e12 · 10 / (≈1094 · 2^32) ≈ 212.8');
  t.ok(secondsToDecideLevel({ expectedHashesPerSecond: 100e12, band, difficulty: d }) <= 10);
  t.equal(burstDifficultyForLevel({ expectedHashesPerSecond: 90e12, band: { low: 90e12, high: 110e12 } }), null);
  t.ok(burstDifficultyForLevel({ expectedHashesPerSecond: 0, band })! > 0);
  // 2,000 rigs at the band centre, measured 10 s at d: about 90 % confirmed, wrong verdicts rare.
  const rng = createRng(8);
  const counts = { confirmed: 0, 'under-performing': 0, 'not-reduced': 0, undecided: 0 };
  const meanGapMs = ((d * HASHES_PER_DIFFICULTY) / 100e12) * 1000;
  for (let i = 0; i < 2000; i++) {
    const e = new HashrateEstimator(0);
    for (let now = -Math.log(1 - rng()) * meanGapMs; now <= 10_000; now -= Math.log(1 - rng()) * meanGapMs) e.record(now, d);
    counts[checkPowerTarget(band, e.estimate(10_000, { difficulty: d }))]++;
  }
  t.ok(counts['under-performing'] + counts['not-reduced'] <= 4, `wrong verdicts ${JSON.stringify(counts)}`);
  t.ok(counts.confirmed >= 1760 && counts.confirmed <= 1880, `confirmed in ${counts.confirmed} / 2000 (planned: ≥ 90 %)`);
  // A rig that ignored a 50 % target (running at 100 TH/s against a 50 TH/s ± 10 % band): 'not-reduced' by the plan.
  const ignore = bandAround(50e12, 0.1);
  const dIgnore = burstDifficultyForLevel({ expectedHashesPerSecond: 100e12, band: ignore })!;
  const gap = ((dIgnore * HASHES_PER_DIFFICULTY) / 100e12) * 1000;
  let notReduced = 0;
  for (let i = 0; i < 2000; i++) {
    const e = new HashrateEstimator(0);
    for (let now = -Math.log(1 - rng()) * gap; now <= 10_000; now -= Math.log(1 - rng()) * gap) e.record(now, dIgnore);
    if (checkPowerTarget(ignore, e.estimate(10_000, { difficulty: dIgnore })) === 'not-reduced') notReduced++;
  }
  t.ok(notReduced >= 1780, `not-reduced in ${notReduced} / 2000 at d=${dIgnore}`);
});
