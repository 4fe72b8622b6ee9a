/**
 * Verification rules (pure): every verdict from a measured rate, the false-alarm bound of a
 * curtail's proof, and the time rules kept for a rig without a measurement.
 */

import t from 'tap';
import { garwoodInterval } from '../../src/work/hashrate.js';
import { secondsToConfirmStop, silenceProbability } from '../../src/work/share-proof.js';
import type { MeasuredRate, VerifySettings } from '../../src/throttle/types.js';
import {
  type DecisionUnderProof,
  FALSE_ALARM,
  MAX_WINDOW_SECONDS,
  STOP_GRACE_MS,
  type VerifiedRig,
  expectedThsAt,
  sharesPerSecondLow,
  verify,
  verifyRig,
} from '../../src/throttle/verify.js';

const TH = 1e12;
const settings: VerifySettings = { afterCurtailMs: 60_000, afterResumeMs: 180_000 };
const ANSWER = 1_000_000;
const SETTLE = 5_000;
const SETTLE_END = ANSWER + SETTLE;
const SPEC = { ratedThs: 100, ratedWatts: 3000 };

/** A measurement: `ths` TH/s with the interval [low, high] TH/s from `shares` shares over `windowSeconds`. */
function rate(ths: number, low: number, high: number, shares = 100, windowSeconds = 60): MeasuredRate {
  return { hashesPerSecond: ths * TH, low: low * TH, high: high * TH, shares, windowSeconds };
}

function decision(action: DecisionUnderProof['action'], o: Partial<DecisionUnderProof> = {}): DecisionUnderProof {
  return { action, answeredAt: ANSWER, settleMs: SETTLE, before: rate(100, 90, 110, 600), watts: null, ...o };
}

function rig(o: Partial<VerifiedRig> = {}): VerifiedRig {
  return {
    state: 'curtailed',
    curtailedAt: ANSWER,
    resumedAt: null,
    lastShareAt: null,
    alert: null,
    timing: { curtailSettleMs: SETTLE, resumeSettleMs: SETTLE, powerSettleMs: SETTLE },
    measured: null,
    decision: decision('curtail'),
    spec: SPEC,
    ...o,
  };
}

// 600 shares over 60 s before the curtail: λ's low end and the silence that proves the stop.
const LAMBDA = sharesPerSecondLow(rate(100, 90, 110, 600));
const NEEDED_MS = secondsToConfirmStop(LAMBDA, FALSE_ALARM) * 1000;

t.test('sharesPerSecondLow: the Garwood low end over the window, the longest window when unknown, 0 without shares', async (t) => {
  t.equal(sharesPerSecondLow(null), 0);
  t.equal(sharesPerSecondLow(rate(1, 0, 2, 0)), 0, 'no shares: no rate known');
  t.equal(sharesPerSecondLow(rate(1, 0.9, 1.1, 600, 60)), garwoodInterval(600).low / 60);
  const { windowSeconds: _, ...unknown } = rate(1, 0.9, 1.1, 600);
  t.equal(sharesPerSecondLow(unknown), garwoodInterval(600).low / MAX_WINDOW_SECONDS, 'no window given: the longest');
  t.equal(sharesPerSecondLow(rate(1, 0.9, 1.1, 600, 1000)), garwoodInterval(600).low / MAX_WINDOW_SECONDS, 'capped');
  t.ok(LAMBDA < 10 && LAMBDA > 9, `below the point estimate of 10/s (${LAMBDA})`);
});

t.test(
  'curtail from measurement: pending, then confirmed once silence since the settle makes a hashing rig unlikely (< 1e-4)',
  async (t) => {
    const at = (now: number, lastShareAt: number | null = null) => verify(rig({ lastShareAt }), now, settings);
    const from = SETTLE_END + STOP_GRACE_MS; // the silence counts from the end of the grace
    t.same(at(from + NEEDED_MS - 1), { alert: null, proof: { state: 'pending', by: 'measurement' }, zombie: false });
    t.same(at(from + NEEDED_MS + 1).proof, { state: 'confirmed', by: 'measurement' });
    t.ok(silenceProbability(LAMBDA, NEEDED_MS / 1000) <= FALSE_ALARM * (1 + 1e-9), 'the bound holds at the confirm time');
    t.ok(silenceProbability(LAMBDA, (NEEDED_MS - 10) / 1000) > FALSE_ALARM, 'and not before it');
    t.same(at(from + NEEDED_MS + 1, SETTLE_END - 100).proof?.state, 'confirmed', 'shares during the settle do not count');
    t.same(at(from + NEEDED_MS + 1, from - 1).proof?.state, 'confirmed', 'nor shares within the grace');
    t.same(at(from + 2, from + 1).alert, 'still-hashing', 'one after it does');
  },
);

t.test(
  'curtail from measurement: a share after settle + grace is still-hashing; a zombie while its measurement shows shares',
  async (t) => {
    const late = SETTLE_END + STOP_GRACE_MS + 1;
    const v = verify(rig({ lastShareAt: late, measured: rate(80, 70, 90) }), late + 100, settings);
    t.same(v, { alert: 'still-hashing', proof: { state: 'failed', by: 'measurement' }, zombie: true });
    t.equal(verify(rig({ lastShareAt: late, measured: rate(0, 0, 5, 0) }), late + 100, settings).zombie, false, 'no shares measured');
    t.equal(verify(rig({ lastShareAt: late, measured: null }), late + 100, settings).zombie, false, 'no measurement');
    t.equal(
      verify(rig({ state: 'running', lastShareAt: late, measured: rate(80, 70, 90) }), late + 100, settings).zombie,
      false,
      'running: no zombie',
    );
    const stoppedLate = verify(rig({ lastShareAt: late, measured: rate(20, 10, 30) }), late + NEEDED_MS + 1, settings);
    t.same(verify(rig({ lastShareAt: late }), late + NEEDED_MS - 1, settings).alert, 'still-hashing', 'until then');
    t.same(
      stoppedLate,
      { alert: null, proof: { state: 'confirmed', by: 'measurement' }, zombie: false },
      'silent long enough since: it stopped late',
    );
    t.equal(verifyRig(rig({ lastShareAt: late }), late + 100, settings), 'still-hashing', 'verifyRig gives the alert');
  },
);

t.test('the false-alarm bound: rigs that keep hashing are almost never taken as stopped (simulated, seeded)', async (t) => {
  // A rig at a true 2 shares/s, its count over the 60 s before the curtail drawn from Poisson(120); it keeps hashing:
  // its shares after the settle are a Poisson process of rate 2. A false alarm is a confirmation, checked just before
  // each share, until the first share after the grace flags it still-hashing.
  const random = mulberry32(12);
  const exp = (rate: number): number => (-Math.log(1 - random()) / rate) * 1000;
  const poisson = (mean: number): number => {
    const limit = Math.exp(-mean);
    let k = 0;
    for (let p = random(); p > limit; p *= random()) k++;
    return k;
  };
  const trials = 50_000;
  let falseAlarms = 0;
  for (let i = 0; i < trials; i++) {
    const n = poisson(120);
    const d = decision('curtail', { before: { hashesPerSecond: 1, low: 1, high: 1, shares: n, windowSeconds: 60 } });
    let lastShareAt: number | null = null;
    for (let share = SETTLE_END + exp(2); ; share += exp(2)) {
      if (verify(rig({ decision: d, lastShareAt }), share - 1e-3, settings).proof?.state === 'confirmed') {
        falseAlarms++;
        break;
      }
      lastShareAt = share;
      if (share > SETTLE_END + STOP_GRACE_MS) break; // flagged still-hashing
    }
  }
  // Expected at most trials × 1e-4 = 5 (fewer: λ's low end is below the true rate).
  t.ok(falseAlarms <= 5, `${falseAlarms} false alarms in ${trials}`);
});

t.test('curtail without a known rate: the time rules (settle + afterCurtailMs)', async (t) => {
  for (const before of [null, rate(0, 0, 5, 0)]) {
    const r = (lastShareAt: number | null) => rig({ decision: decision('curtail', { before }), lastShareAt });
    const lateForMeasurement = SETTLE_END + STOP_GRACE_MS + 1000;
    t.same(verify(r(lateForMeasurement), lateForMeasurement + 1, settings).alert, null, 'a share within afterCurtailMs is fine');
    t.same(verify(r(lateForMeasurement), lateForMeasurement + 1, settings).proof, { state: 'pending', by: 'time' });
    const deadline = SETTLE_END + settings.afterCurtailMs;
    t.same(verify(r(deadline + 1), deadline + 2, settings), {
      alert: 'still-hashing',
      proof: { state: 'failed', by: 'time' },
      zombie: false,
    });
    t.same(verify(r(null), deadline + 1, settings).proof, { state: 'confirmed', by: 'time' }, 'no share by the deadline');
  }
  // No decision on record (found asleep at start-up): alerts only.
  t.same(verify(rig({ decision: null, lastShareAt: SETTLE_END + 60_001 }), SETTLE_END + 60_002, settings).alert, 'still-hashing');
  t.same(verify(rig({ decision: null }), SETTLE_END + 60_002, settings).proof, null);
});

t.test('power target: the measured interval after the settle against ±20 % of the TH/s expected at the target', async (t) => {
  t.equal(expectedThsAt(SPEC, 1500), 50, 'linear from rated when the firmware gives no figure');
  t.equal(expectedThsAt({ ...SPEC, powerTargetThs: { 1500: 70 } }, 1500), 70, "the firmware's own figure");
  const afterWindow = SETTLE_END + 60_000;
  const r = (measured: MeasuredRate | null, spec = SPEC) =>
    rig({ state: 'reduced', curtailedAt: null, decision: decision('set-power', { watts: 1500 }), measured, spec });
  // band at 50 TH/s: [40, 60]
  t.same(verify(r(rate(50, 45, 55)), afterWindow, settings), {
    alert: null,
    proof: { state: 'confirmed', by: 'measurement' },
    zombie: false,
  });
  t.same(verify(r(rate(100, 92, 108)), afterWindow, settings).alert, 'not-reduced');
  t.same(verify(r(rate(100, 92, 108)), afterWindow, settings).proof, { state: 'failed', by: 'measurement' });
  t.same(verify(r(rate(20, 15, 25)), afterWindow, settings).alert, 'under-performing');
  t.same(verify(r(rate(55, 50, 65)), afterWindow, settings).proof, { state: 'pending', by: 'measurement' }, 'astride an edge');
  t.same(
    verify(r(rate(100, 92, 108)), afterWindow - 1, settings).proof,
    { state: 'pending', by: 'measurement' },
    'window still holds the ramp',
  );
  t.same(verify(r(null), afterWindow, settings).proof, { state: 'pending', by: 'time' }, 'no measurement: cannot tell');
  const fw = { ...SPEC, powerTargetThs: { 1500: 70 } }; // band [56, 84]
  t.same(verify(r(rate(70, 65, 75), fw), afterWindow, settings).proof?.state, 'confirmed');
  t.same(verify(r(rate(50, 45, 55), fw), afterWindow, settings).alert, 'under-performing', 'judged against the firmware figure');
  const { windowSeconds: _, ...noWindow } = rate(100, 92, 108);
  t.same(verify(r(noWindow), SETTLE_END + 60_000, settings).proof?.state, 'pending', 'no window given: the longest is assumed');
  t.same(verify(r(noWindow), SETTLE_END + MAX_WINDOW_SECONDS * 1000, settings).alert, 'not-reduced');
});

t.test('resume: confirmed near rated over a window after the answer; not-resumed below 80 % after settle + afterResumeMs', async (t) => {
  const r = (measured: MeasuredRate | null, lastShareAt: number | null = ANSWER + 10_000) =>
    rig({ state: 'running', curtailedAt: null, resumedAt: ANSWER, decision: decision('resume'), measured, lastShareAt });
  t.same(verify(r(rate(98, 88, 108)), ANSWER + 60_000, settings), {
    alert: null,
    proof: { state: 'confirmed', by: 'measurement' },
    zombie: false,
  });
  t.same(verify(r(rate(98, 88, 108)), ANSWER + 59_999, settings).proof?.state, 'pending', 'window still holds time before the answer');
  const late = SETTLE_END + settings.afterResumeMs + 1;
  t.same(verify(r(rate(30, 25, 35)), late, settings), {
    alert: 'not-resumed',
    proof: { state: 'failed', by: 'measurement' },
    zombie: false,
  });
  t.same(verify(r(rate(30, 25, 35)), late - 2, settings).alert, null, 'not before settle + afterResumeMs');
  t.same(verify(r(rate(78, 70, 85)), late, settings).proof?.state, 'pending', 'astride 80 %');
  t.same(verify(r(rate(0, 0, 2, 0), null), late, settings), {
    alert: 'not-resumed',
    proof: { state: 'failed', by: 'time' },
    zombie: false,
  });
  t.same(verify(r(null), ANSWER + 10_001, settings).proof, { state: 'confirmed', by: 'time' }, 'no measurement: a share confirms');
  t.same(verify(r(null, null), ANSWER + 10_001, settings).proof, { state: 'pending', by: 'time' });
});

t.test('measuredLevels off: power targets are not checked, a resume only by time', async (t) => {
  const off: VerifySettings = { ...settings, measuredLevels: false };
  const reduced = rig({
    state: 'reduced',
    curtailedAt: null,
    decision: decision('set-power', { watts: 1500 }),
    measured: rate(100, 92, 108),
    spec: SPEC,
  });
  t.same(verify(reduced, SETTLE_END + 60_000, settings).alert, 'not-reduced', 'on: flagged');
  t.same(verify(reduced, SETTLE_END + 60_000, off), { alert: null, proof: null, zombie: false }, 'off: not checked');
  const resumed = (lastShareAt: number | null) =>
    rig({ state: 'running', curtailedAt: null, resumedAt: ANSWER, decision: decision('resume'), measured: rate(30, 25, 35), lastShareAt });
  const late = SETTLE_END + settings.afterResumeMs + 1;
  t.same(verify(resumed(ANSWER + 10_000), late, settings).alert, 'not-resumed', 'on: far below rated');
  t.same(
    verify(resumed(ANSWER + 10_000), late, off).proof,
    { state: 'confirmed', by: 'time' },
    'off: a share since the resume confirms it',
  );
  t.same(verify(resumed(null), late, off).alert, 'not-resumed', 'off: still not-resumed with no share at all');
});

t.test('driver-error stays unless another alert replaces it', async (t) => {
  t.equal(verifyRig(rig({ alert: 'driver-error', decision: null, curtailedAt: null }), ANSWER, settings), 'driver-error');
  t.equal(
    verifyRig(rig({ alert: 'not-resumed', decision: null, curtailedAt: null }), ANSWER, settings),
    null,
    'other alerts are recomputed',
  );
});

/** A small seeded PRNG (Mulberry32), so the simulation is the same on every run. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
