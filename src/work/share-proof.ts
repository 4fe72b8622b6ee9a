/**
 * The statistics of proving a power decision from a rig's shares (issue 12 §3). Pure: rates,
 * times and intervals in, verdicts and plans out. Times are milliseconds where they are instants
 * (a Clock's now()) and seconds where they are durations.
 *
 * Stop (curtail, sleep): a rig still hashing at H sends shares at difficulty d as a Poisson
 * process of rate λ = H / (d · 2^32), so it stays silent for t seconds with probability e^(−λt).
 * The stop is confirmed once that probability is at most the false-alarm bound p (default 1e-4),
 * i.e. after t = ln(1/p) / λ of silence. Take λ from the estimator's lower bound (HashrateEstimate.low)
 * to stay conservative: a smaller λ only lengthens the wait. A share that arrives later than
 * `graceSeconds` after the firmware's answer is a rig still hashing.
 *
 * Level (power target, resume): the estimator's interval against the band the rig's profile
 * expects. The interval inside the band confirms; wholly below or above decides the other way;
 * straddling an edge means keep measuring. Time to a decision: the mean share count at which
 * the check decides with a chosen probability (exact Poisson sums over Garwood intervals, one
 * difficulty), over the share rate.
 */

import { garwoodInterval, HASHES_PER_DIFFICULTY, type Interval, regularizedGammaP, regularizedGammaQ } from './hashrate.js';
import { roundDifficultyDown } from './vardiff.js';

export const DEFAULT_FALSE_ALARM = 1e-4;
export const DEFAULT_PROOF_SECONDS = 10;

/** λ: shares per second from a rig of `hashesPerSecond` at share difficulty `difficulty`. */
export function sharesPerSecondAt(hashesPerSecond: number, difficulty: number): number {
  return hashesPerSecond / (difficulty * HASHES_PER_DIFFICULTY);
}

/** e^(−λt): the chance that a rig still sending λ shares/s sends none for `seconds`. */
export function silenceProbability(sharesPerSecond: number, seconds: number): number {
  return Math.exp(-sharesPerSecond * Math.max(0, seconds));
}

function checkProbability(p: number, name: string): void {
  if (!(p > 0 && p < 1)) throw new RangeError(`${name} must be in (0, 1), got ${p}`);
}

/** ln(1/p) / λ: seconds of silence that confirm a stop at false-alarm probability p. */
export function secondsToConfirmStop(sharesPerSecond: number, falseAlarm = DEFAULT_FALSE_ALARM): number {
  checkProbability(falseAlarm, 'falseAlarm');
  if (!(sharesPerSecond >= 0)) throw new RangeError(`sharesPerSecond must be >= 0, got ${sharesPerSecond}`);
  return Math.log(1 / falseAlarm) / sharesPerSecond;
}

/**
 * The local difficulty for a verification burst: the largest clean difficulty (roundDifficultyDown)
 * at which a rig of `hashesPerSecond` would confirm its stop within `targetSeconds` of silence,
 * after `graceSeconds` for shares already in flight: d = H · (target − grace) / (2^32 · ln(1/p)).
 */
export function burstDifficultyForStop(
  hashesPerSecond: number,
  options: { targetSeconds?: number; falseAlarm?: number; graceSeconds?: number } = {},
): number {
  const { targetSeconds = DEFAULT_PROOF_SECONDS, falseAlarm = DEFAULT_FALSE_ALARM, graceSeconds = 0 } = options;
  checkProbability(falseAlarm, 'falseAlarm');
  const silence = targetSeconds - graceSeconds;
  if (!(silence > 0)) throw new RangeError(`targetSeconds (${targetSeconds}) must exceed graceSeconds (${graceSeconds})`);
  if (!(hashesPerSecond > 0)) throw new RangeError(`hashesPerSecond must be > 0, got ${hashesPerSecond}`);
  return roundDifficultyDown((hashesPerSecond * silence) / (HASHES_PER_DIFFICULTY * Math.log(1 / falseAlarm)));
}

export type StopVerdict = 'stopped' | 'still-hashing' | 'undecided';

export interface StopCheckInput {
  /** λ before the stop (shares/s at the local difficulty in force now); prefer the interval's low end. */
  readonly sharesPerSecond: number;
  /** When the firmware answered that the rig stops, ms. */
  readonly answeredAt: number;
  /** The last accepted share from the rig, ms (null: none yet). */
  readonly lastShareAt: number | null;
  readonly now: number;
  readonly falseAlarm?: number;
  /** Seconds after the answer in which a share is still one found before the stop (default 1). */
  readonly graceSeconds?: number;
}

export interface StopCheck {
  readonly verdict: StopVerdict;
  /** Seconds of silence counted (since the answer or the last share after it). */
  readonly silentSeconds: number;
  /** e^(−λ · silentSeconds). */
  readonly probability: number;
  /** Further seconds of silence still needed to confirm (0 once stopped; ∞ with λ = 0). */
  readonly secondsToConfirm: number;
}

/** Where a curtail stands at `now`. */
export function checkStop(input: StopCheckInput): StopCheck {
  const { sharesPerSecond, answeredAt, lastShareAt, now, falseAlarm = DEFAULT_FALSE_ALARM, graceSeconds = 1 } = input;
  const needed = secondsToConfirmStop(sharesPerSecond, falseAlarm);
  const since = lastShareAt !== null && lastShareAt > answeredAt ? lastShareAt : answeredAt;
  const silentSeconds = Math.max(0, (now - since) / 1000);
  const probability = silenceProbability(sharesPerSecond, silentSeconds);
  if (lastShareAt !== null && lastShareAt > answeredAt + graceSeconds * 1000) {
    return { verdict: 'still-hashing', silentSeconds, probability, secondsToConfirm: Math.max(0, needed - silentSeconds) };
  }
  if (probability <= falseAlarm) return { verdict: 'stopped', silentSeconds, probability, secondsToConfirm: 0 };
  return { verdict: 'undecided', silentSeconds, probability, secondsToConfirm: needed - silentSeconds };
}

// ---------------------------------------------------------------------------
// Level checks.

/** A range of hash rate (any unit, the same as the interval it is compared with). */
export interface Band {
  readonly low: number;
  readonly high: number;
}

/** target · (1 ± tolerance). */
export function bandAround(target: number, tolerance: number): Band {
  if (!(tolerance >= 0 && tolerance < 1)) throw new RangeError(`tolerance must be in [0, 1), got ${tolerance}`);
  return { low: target * (1 - tolerance), high: target * (1 + tolerance) };
}

export type PowerTargetVerdict = 'confirmed' | 'under-performing' | 'not-reduced' | 'undecided';

/** A power target's proof: the measured interval inside the band expected at that target. */
export function checkPowerTarget(band: Band, measured: Interval): PowerTargetVerdict {
  if (measured.high < band.low) return 'under-performing';
  if (measured.low > band.high) return 'not-reduced';
  if (measured.low >= band.low && measured.high <= band.high) return 'confirmed';
  return 'undecided';
}

export type ResumeVerdict = 'confirmed' | 'not-resumed' | 'undecided';

/** A resume's proof: the interval at or above rated · (1 − tolerance) (above rated is fine). */
export function checkResume(ratedHashesPerSecond: number, measured: Interval, tolerance = 0.1): ResumeVerdict {
  const floor = bandAround(ratedHashesPerSecond, tolerance).low;
  if (measured.low >= floor) return 'confirmed';
  if (measured.high < floor) return 'not-resumed';
  return 'undecided';
}

/**
 * P(a level check on a rig truly at `expected` decides right) when its window holds a Poisson
 * count of mean `meanCount` at one difficulty. The count k gives the interval
 * [G⁻¹(α/2; k), G⁻¹(1 − α/2; k + 1)] · expected / meanCount; by the Poisson–gamma duality
 * G⁻¹(α/2; k) ≥ x ⇔ P(k, x) ≤ α/2 and G⁻¹(1 − α/2; k + 1) ≤ y ⇔ Q(k + 1, y) ≤ α/2, so the
 * deciding counts form a range [kMin, kMax] and the answer is a difference of Poisson tails.
 */
export function probabilityDecided(expected: number, band: Band, meanCount: number, confidence = 0.9): number {
  if (!(expected > 0) || !(meanCount > 0)) throw new RangeError(`expected and meanCount must be > 0, got ${expected}, ${meanCount}`);
  const half = (1 - confidence) / 2;
  const scale = meanCount / expected; // a rate r corresponds to the count-scale value r · scale
  // Smallest k with low(k) ≥ x (low(0) = 0), largest k with high(k) ≤ y.
  const lowAtLeast = (x: number): number => firstInteger((k) => k > 0 && regularizedGammaP(k, x) <= half, x);
  const lowAbove = (x: number): number => firstInteger((k) => k > 0 && regularizedGammaP(k, x) < half, x);
  const highAtMost = (y: number): number => firstInteger((k) => regularizedGammaQ(k + 1, y) > half, y) - 1;
  const highBelow = (y: number): number => firstInteger((k) => regularizedGammaQ(k + 1, y) >= half, y) - 1;
  // P(K ≤ k) = Q(k + 1, μ); P(K ≥ k) = P(k, μ).
  const atMost = (k: number): number => (k < 0 ? 0 : regularizedGammaQ(k + 1, meanCount));
  const atLeast = (k: number): number => (k <= 0 ? 1 : regularizedGammaP(k, meanCount));
  // 'under-performing' needs high < band.low; 'not-reduced' low > band.high; 'confirmed' both inside.
  if (expected < band.low) return atMost(highBelow(band.low * scale));
  if (expected > band.high) return atLeast(lowAbove(band.high * scale));
  const kMin = lowAtLeast(band.low * scale);
  const kMax = highAtMost(band.high * scale);
  return kMax < kMin ? 0 : atMost(kMax) - atMost(kMin - 1);
}

/** The smallest integer k ≥ 0 with test(k), for a test that turns true once and stays true; search around `near`. */
function firstInteger(test: (k: number) => boolean, near: number): number {
  let hi = Math.max(1, Math.ceil(near + 10 * Math.sqrt(near) + 20));
  while (!test(hi)) hi *= 2;
  let lo = -1; // test(lo) taken as false
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (mid >= 0 && test(mid)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/**
 * The mean share count at which a level check on a rig truly at `expected` decides with
 * probability `probability` (default 0.9): ∞ when `expected` sits on a band edge. Confirming a
 * rig inside a band as wide as the interval's precision takes far more shares than the
 * precision alone (±10 % band, 90 % intervals: ≈ 1,080 shares for a 90 % chance, ≈ 540 for
 * even odds, where a ±10 % interval needs 302).
 */
export function sharesToDecideLevel(expected: number, band: Band, options: { confidence?: number; probability?: number } = {}): number {
  const { confidence = 0.9, probability = 0.9 } = options;
  if (!(expected > 0)) throw new RangeError(`expected must be > 0, got ${expected}`);
  if (!(probability > 0 && probability < 1)) throw new RangeError(`probability must be in (0, 1), got ${probability}`);
  if (expected === band.low || expected === band.high) return Infinity;
  let lo = 0;
  let hi = 1;
  while (probabilityDecided(expected, band, hi, confidence) < probability) {
    lo = hi;
    hi *= 2;
    if (hi > 1e8) return Infinity;
  }
  while (hi - lo > Math.max(2e-3 * hi, 1e-3)) {
    const mid = 0.5 * (lo + hi);
    if (probabilityDecided(expected, band, mid, confidence) >= probability) hi = mid;
    else lo = mid;
  }
  return hi;
}

export interface LevelPlanInput {
  /** The rate the rig is assumed to run at, H/s (the band's centre to plan a confirmation; 0 for a rig that stopped). */
  readonly expectedHashesPerSecond: number;
  /** The band, H/s. */
  readonly band: Band;
  /** The local difficulty the shares are checked at. */
  readonly difficulty: number;
  /** Level of the estimator's interval (default 0.9). */
  readonly confidence?: number;
  /** Chance of a decision by the planned time (default 0.9). */
  readonly probability?: number;
}

/**
 * Seconds until a level check decides at `difficulty`, with chance `probability`. A rig at 0
 * decides 'under-performing' (surely) once the silent window's upper bound
 * G⁻¹(1 − α/2; 1) · d · 2^32 / T drops below band.low.
 */
export function secondsToDecideLevel(input: LevelPlanInput): number {
  const { expectedHashesPerSecond: m, band, difficulty, confidence = 0.9, probability = 0.9 } = input;
  if (m === 0) {
    const silentUpper = garwoodInterval(0, confidence).high;
    return (silentUpper * difficulty * HASHES_PER_DIFFICULTY) / band.low;
  }
  return sharesToDecideLevel(m, band, { confidence, probability }) / sharesPerSecondAt(m, difficulty);
}

/**
 * The local difficulty (largest clean value) at which a level check on a rig at
 * `expectedHashesPerSecond` decides within `targetSeconds` with chance `probability`; null when
 * no difficulty can (the rate sits on a band edge).
 */
export function burstDifficultyForLevel(input: Omit<LevelPlanInput, 'difficulty'> & { targetSeconds?: number }): number | null {
  const { expectedHashesPerSecond: m, band, confidence = 0.9, probability = 0.9, targetSeconds = DEFAULT_PROOF_SECONDS } = input;
  if (m === 0) {
    const silentUpper = garwoodInterval(0, confidence).high;
    return roundDifficultyDown((band.low * targetSeconds) / (silentUpper * HASHES_PER_DIFFICULTY));
  }
  const shares = sharesToDecideLevel(m, band, { confidence, probability });
  if (!Number.isFinite(shares)) return null;
  return roundDifficultyDown((m * targetSeconds) / (shares * HASHES_PER_DIFFICULTY));
}
