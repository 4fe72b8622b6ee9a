/**
 * A rig's hash rate, measured from the shares hashgate checked (issue 12 §2).
 *
 * Each accepted share at difficulty d is evidence of d · 2^32 hashes on average (a hash meets
 * difficulty d with probability 1 / (d · 2^32), src/work/target.ts). Shares arrive as a Poisson
 * process of rate λ(t) = H / (d(t) · 2^32), so over any interval [s, now] chosen without looking
 * at the shares, E[Σ d_i] · 2^32 = H · (now − s): Σd · 2^32 / (now − s) is an unbiased estimate
 * of H even when the difficulty changes inside the window. Two ways to lose that:
 * - starting T at the first share (the interval then opens on an event, one share too many:
 *   biased high, badly so for few shares). T here starts at a grid line or at the estimator's
 *   creation / last reset(), both chosen by time alone;
 * - clipping a merged bucket at the window edge. Buckets are cells of a fixed time grid and the
 *   window starts on a cell boundary, so every sample is wholly in or out.
 *
 * The confidence interval is the Fay–Feuer gamma interval for a weighted sum of Poisson counts
 * (Fay & Feuer, Statistics in Medicine 16 (1997) 791–801), the weights being the difficulties.
 * With one difficulty it is exactly Garwood's interval for a Poisson count (Biometrika 28 (1936)
 * 437–442): [χ²(α/2; 2n) / 2, χ²(1 − α/2; 2n + 2) / 2] · d. With mixed difficulties it treats
 * Σd as a gamma variable matching the mean and variance (Σd²) of the sum, which is conservative
 * (Fay & Feuer's simulations, and ours in test/work/hashrate.test.ts). The inverse regularized
 * gamma it needs is below (no dependency).
 */

/** 2^32: hashes per share of difficulty 1, on average. */
export const HASHES_PER_DIFFICULTY = 2 ** 32;

// ---------------------------------------------------------------------------
// Gamma function family.

const HALF_LN_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln Γ(x) for x > 0: Stirling's series, after shifting x up to ≥ 15 with Γ(x+1) = x Γ(x).
 * The series' first omitted term is below 1e-16 relative at x = 15.
 */
export function logGamma(x: number): number {
  if (!(x > 0)) throw new RangeError(`logGamma needs x > 0, got ${x}`);
  let shift = 0;
  let z = x;
  while (z < 15) {
    shift += Math.log(z);
    z += 1;
  }
  const inv = 1 / z;
  const inv2 = inv * inv;
  const series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 * (1 / 1680 - inv2 / 1188))));
  return (z - 0.5) * Math.log(z) - z + HALF_LN_2PI + series - shift;
}

/** ln(e^−x x^a / Γ(a)): the common factor of P and Q. */
function gammaPrefactorLog(a: number, x: number): number {
  return -x + a * Math.log(x) - logGamma(a);
}

/** P(a, x) by its power series; converges fast for x < a + 1. */
function lowerSeries(a: number, x: number): number {
  let term = 1 / a;
  let sum = term;
  for (let k = 1; k < 10_000; k++) {
    term *= x / (a + k);
    sum += term;
    if (Math.abs(term) < Math.abs(sum) * 1e-16) break;
  }
  return sum * Math.exp(gammaPrefactorLog(a, x));
}

/** Q(a, x) by its continued fraction (modified Lentz); converges fast for x ≥ a + 1. */
function upperFraction(a: number, x: number): number {
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(gammaPrefactorLog(a, x)) * h;
}

/** The regularized lower incomplete gamma P(a, x) = γ(a, x) / Γ(a), for a > 0, x ≥ 0. */
export function regularizedGammaP(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) throw new RangeError(`regularizedGammaP needs a > 0 and x >= 0, got a=${a} x=${x}`);
  if (x === 0) return 0;
  if (x === Infinity) return 1;
  return x < a + 1 ? lowerSeries(a, x) : 1 - upperFraction(a, x);
}

/** The regularized upper incomplete gamma Q(a, x) = 1 − P(a, x), accurate in its own tail. */
export function regularizedGammaQ(a: number, x: number): number {
  if (!(a > 0) || !(x >= 0)) throw new RangeError(`regularizedGammaQ needs a > 0 and x >= 0, got a=${a} x=${x}`);
  if (x === 0) return 1;
  if (x === Infinity) return 0;
  return x < a + 1 ? 1 - lowerSeries(a, x) : upperFraction(a, x);
}

/**
 * A standard normal quantile good to about 5e-4 (Abramowitz & Stegun 26.2.23); only a starting
 * point for the gamma quantile's Newton steps.
 */
function roughNormalQuantile(p: number): number {
  const tail = Math.min(p, 1 - p);
  const t = Math.sqrt(-2 * Math.log(tail));
  const z = t - (2.515517 + t * (0.802853 + t * 0.010328)) / (1 + t * (1.432788 + t * (0.189269 + t * 0.001308)));
  return p < 0.5 ? -z : z;
}

/** A first guess at the gamma quantile: Wilson–Hilferty for a ≥ 1, the small-x and large-x tails below that. */
function gammaQuantileGuess(p: number, a: number): number {
  if (a >= 1) {
    const z = roughNormalQuantile(p);
    const c = 1 / (9 * a);
    const guess = a * (1 - c + z * Math.sqrt(c)) ** 3;
    if (guess > 0) return guess;
  }
  // P(a, x) ≈ x^a / Γ(a + 1) for small x; Q(a, x) ≈ x^(a−1) e^−x / Γ(a) for large x.
  const small = Math.exp((Math.log(p) + logGamma(a + 1)) / a);
  return p < 0.5 || small < 1 ? small : Math.max(1, -Math.log(1 - p) - logGamma(a));
}

/**
 * The gamma quantile: the x ≥ 0 with P(shape, x) = p (unit scale). Halley steps from a first
 * guess inside a bracket that shrinks each step, bisecting whenever a step leaves it; the residual
 * is taken on whichever of P and Q is small, so both tails keep their relative precision.
 */
export function gammaQuantile(p: number, shape: number): number {
  if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`gammaQuantile needs a finite shape > 0, got ${shape}`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`gammaQuantile needs 0 <= p <= 1, got ${p}`);
  if (p === 0) return 0;
  if (p === 1) return Infinity;
  const useUpper = p > 0.5;
  const q = 1 - p;
  // Residual f(x) = P(a, x) − p, increasing in x.
  const residual = (x: number): number => (useUpper ? q - regularizedGammaQ(shape, x) : regularizedGammaP(shape, x) - p);
  let lo = 0;
  let hi = Math.max(1, gammaQuantileGuess(p, shape));
  while (residual(hi) < 0) {
    lo = hi;
    hi *= 2;
  }
  let x = Math.min(Math.max(gammaQuantileGuess(p, shape), lo), hi);
  for (let i = 0; i < 200; i++) {
    const f = residual(x);
    if (f === 0) return x;
    if (f < 0) lo = x;
    else hi = x;
    const density = Math.exp(gammaPrefactorLog(shape, x)) / x;
    let next = Number.NaN;
    if (density > 0 && Number.isFinite(density)) {
      const newton = f / density;
      const halley = newton / (1 - 0.5 * newton * ((shape - 1) / x - 1));
      next = x - (Number.isFinite(halley) ? halley : newton);
    }
    if (!(next > lo && next < hi)) next = lo === 0 ? hi / 2 : 0.5 * (lo + hi);
    if (Math.abs(next - x) <= 1e-14 * x || hi - lo <= 1e-15 * hi) return next;
    x = next;
  }
  return x;
}

/** The chi-square quantile with `dof` degrees of freedom: 2 · gammaQuantile(p, dof / 2). */
export function chiSquareQuantile(p: number, dof: number): number {
  return 2 * gammaQuantile(p, dof / 2);
}

// ---------------------------------------------------------------------------
// Poisson intervals.

export interface Interval {
  readonly low: number;
  readonly high: number;
}

function checkConfidence(confidence: number): void {
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
}

/**
 * Garwood's exact interval for the mean of a Poisson count n at two-sided level `confidence`:
 * [G⁻¹(α/2; n), G⁻¹(1 − α/2; n + 1)] (G the unit gamma, = half the chi-square with 2n and
 * 2n + 2 degrees of freedom); low is 0 for n = 0. n may be fractional (an effective count).
 */
export function garwoodInterval(count: number, confidence = 0.9): Interval {
  checkConfidence(confidence);
  if (!(count >= 0)) throw new RangeError(`count must be >= 0, got ${count}`);
  const alpha = 1 - confidence;
  return {
    low: count === 0 ? 0 : gammaQuantile(alpha / 2, count),
    high: gammaQuantile(1 - alpha / 2, count + 1),
  };
}

/** Sufficient statistics of a weighted Poisson sum: here the shares' difficulties. */
export interface WeightedCount {
  /** Σ d over the shares. */
  readonly sum: number;
  /** Σ d² over the shares. */
  readonly sumSquares: number;
  /** The largest weight a share could have had (the largest difficulty in force); 0 when unknown. */
  readonly maxWeight: number;
}

/**
 * Fay–Feuer interval for E[Σ d] (Fay & Feuer 1997): low = (v / y) · G⁻¹(α/2; y² / v),
 * high = ((v + w²) / (y + w)) · G⁻¹(1 − α/2; (y + w)² / (v + w²)), with y = Σd, v = Σd², w the
 * largest weight. Garwood's interval times d when every d is equal. high is ∞ when nothing was
 * seen and no weight is known.
 */
export function weightedPoissonInterval(counts: WeightedCount, confidence = 0.9): Interval {
  checkConfidence(confidence);
  const { sum: y, sumSquares: v } = counts;
  // The largest weight is at least Σd² / Σd (a d-weighted mean of the weights).
  const w = Math.max(counts.maxWeight, y > 0 ? v / y : 0);
  const alpha = 1 - confidence;
  const low = y > 0 ? (v / y) * gammaQuantile(alpha / 2, (y * y) / v) : 0;
  if (!(w > 0)) return { low, high: Infinity };
  const high = ((v + w * w) / (y + w)) * gammaQuantile(1 - alpha / 2, (y + w) ** 2 / (v + w * w));
  return { low, high };
}

// ---------------------------------------------------------------------------
// The sliding-window estimator.

export interface HashrateSettings {
  /** Length of the sliding window, seconds. */
  readonly windowSeconds: number;
  /**
   * Entries kept at most. Shares are kept one per entry until this many are held; then every
   * entry is merged into its cell of a fixed grid (maxSamples / 4 cells per window), so memory
   * is at most maxSamples entries of 6 numbers whatever the share rate.
   */
  readonly maxSamples: number;
  /** Two-sided confidence level of the interval. */
  readonly confidence: number;
}

export const DEFAULT_HASHRATE_SETTINGS: HashrateSettings = Object.freeze({ windowSeconds: 60, maxSamples: 256, confidence: 0.9 });

export interface HashrateEstimate {
  /** Σd · 2^32 / T, H/s (0 with T = 0). */
  readonly hashesPerSecond: number;
  /** Lower end of the confidence interval, H/s. */
  readonly low: number;
  /** Upper end of the confidence interval, H/s (∞ with T = 0, or with no share and no known difficulty). */
  readonly high: number;
  /** Shares in the window. */
  readonly shares: number;
  /** Σd of those shares. */
  readonly sumDifficulty: number;
  /** T: the seconds the estimate covers (the window, or less since creation or reset). */
  readonly windowSeconds: number;
}

/** One sample (count 1) or a grid cell's merged samples. */
interface Entry {
  cell: number;
  time: number;
  count: number;
  sum: number;
  sumSquares: number;
  max: number;
}

/** H/s → TH/s. */
export function toTeraHashes(hashesPerSecond: number): number {
  return hashesPerSecond / 1e12;
}

/** An estimate's rate and interval in TH/s. */
export function estimateInTeraHashes(e: HashrateEstimate): { teraHashesPerSecond: number; low: number; high: number } {
  return { teraHashesPerSecond: toTeraHashes(e.hashesPerSecond), low: toTeraHashes(e.low), high: toTeraHashes(e.high) };
}

/**
 * One rig's estimator. Times are milliseconds (a Clock's now()), passed in; a time earlier than
 * the previous one is taken as the previous one (a wall clock stepped back).
 */
export class HashrateEstimator {
  readonly settings: HashrateSettings;
  readonly #windowMs: number;
  readonly #cellMs: number;
  #entries: Entry[] = [];
  #startedAt: number;
  #lastTime: number;

  constructor(now: number, settings: Partial<HashrateSettings> = {}) {
    this.settings = Object.freeze({ ...DEFAULT_HASHRATE_SETTINGS, ...settings });
    const { windowSeconds, maxSamples, confidence } = this.settings;
    if (!(windowSeconds > 0 && Number.isFinite(windowSeconds))) throw new RangeError(`windowSeconds must be > 0, got ${windowSeconds}`);
    if (!Number.isInteger(maxSamples) || maxSamples < 16) throw new RangeError(`maxSamples must be an integer >= 16, got ${maxSamples}`);
    checkConfidence(confidence);
    this.#windowMs = windowSeconds * 1000;
    this.#cellMs = this.#windowMs / Math.floor(maxSamples / 4);
    this.#startedAt = now;
    this.#lastTime = now;
  }

  /** Entries held now (≤ settings.maxSamples). */
  get size(): number {
    return this.#entries.length;
  }

  /** Forgets every sample: estimates after now cover only shares after now (a curtail or resume). */
  reset(now: number): void {
    this.#entries = [];
    this.#startedAt = Math.max(now, this.#lastTime);
    this.#lastTime = this.#startedAt;
  }

  /** Records one accepted share of difficulty `difficulty` checked at `now`. */
  record(now: number, difficulty: number): void {
    if (!(difficulty > 0 && Number.isFinite(difficulty))) throw new RangeError(`difficulty must be a finite number > 0, got ${difficulty}`);
    const time = Math.max(now, this.#lastTime);
    this.#lastTime = time;
    this.#evict(time);
    const cell = Math.floor(time / this.#cellMs);
    this.#entries.push({ cell, time, count: 1, sum: difficulty, sumSquares: difficulty * difficulty, max: difficulty });
    if (this.#entries.length >= this.settings.maxSamples) this.#compact();
  }

  /**
   * The estimate at `now`. `difficulty` is the local difficulty in force, used as the largest
   * weight of the interval (so a silent window still has a finite upper bound).
   */
  estimate(now: number, options: { difficulty?: number } = {}): HashrateEstimate {
    const time = Math.max(now, this.#lastTime);
    this.#lastTime = time;
    const start = this.#evict(time);
    const seconds = (time - start) / 1000;
    let count = 0;
    let sum = 0;
    let sumSquares = 0;
    let max = options.difficulty ?? 0;
    for (const e of this.#entries) {
      count += e.count;
      sum += e.sum;
      sumSquares += e.sumSquares;
      if (e.max > max) max = e.max;
    }
    if (seconds <= 0) return { hashesPerSecond: 0, low: 0, high: Infinity, shares: count, sumDifficulty: sum, windowSeconds: 0 };
    const perSecond = HASHES_PER_DIFFICULTY / seconds;
    const ci = weightedPoissonInterval({ sum, sumSquares, maxWeight: max }, this.settings.confidence);
    return {
      hashesPerSecond: sum * perSecond,
      low: ci.low * perSecond,
      high: ci.high * perSecond,
      shares: count,
      sumDifficulty: sum,
      windowSeconds: seconds,
    };
  }

  /** Drops what fell out of the window; returns the window's start (a cell boundary, or the reset time). */
  #evict(now: number): number {
    const gridStart = Math.floor((now - this.#windowMs) / this.#cellMs) * this.#cellMs;
    const start = Math.max(gridStart, this.#startedAt);
    const firstCell = Math.floor(gridStart / this.#cellMs);
    let drop = 0;
    while (drop < this.#entries.length && this.#entries[drop]!.cell < firstCell) drop++;
    if (drop > 0) this.#entries.splice(0, drop);
    return start;
  }

  /** Merges every entry into its grid cell: at most maxSamples / 4 + 1 entries remain. */
  #compact(): void {
    const merged: Entry[] = [];
    for (const e of this.#entries) {
      const last = merged[merged.length - 1];
      if (last !== undefined && last.cell === e.cell) {
        last.count += e.count;
        last.sum += e.sum;
        last.sumSquares += e.sumSquares;
        if (e.max > last.max) last.max = e.max;
      } else {
        merged.push({ ...e, time: e.cell * this.#cellMs });
      }
    }
    this.#entries = merged;
  }
}
