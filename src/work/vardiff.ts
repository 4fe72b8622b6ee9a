/**
 * Local share difficulty: the retarget controller behind issue 12 §1. Pure: the caller holds a
 * VardiffState per miner session, feeds it the shares it checked (recordVardiffShare), calls
 * updateVardiff() at any time (on a share, on a tick) and, on 'retarget', sends
 * mining.set_difficulty (decideRetarget + applyRetarget are the same, in two steps). Times are
 * milliseconds (a Clock's now()), passed in.
 *
 * The rule, per miner:
 * - local ≤ pool, always: a pool difficulty below the local one retargets at once, whatever the
 *   timers say (the pool's value exactly, so the miner sees nothing the pool would not send).
 * - at least `minRetargetSeconds` between retargets, and only on evidence. With `minShares`
 *   shares since the last retarget (300: the rate known to ±5.8 %, 1σ), hysteresis on the
 *   measured rate: hold while it is within target / (1 + tolerance) … target · (1 + tolerance),
 *   else retarget. With fewer, retarget only when the rate is far off: its Poisson interval at
 *   `confidence` wholly outside that band (a silence, or a flood, decides in seconds). A rig
 *   truly at the target leaves the band by chance on a tiny share of its periods (z ≈ 3.4
 *   below, 4.3 above at 300 shares); a full in-band period starts a fresh one, so a later change
 *   of hash rate shows within one period.
 * - the new value: Σd · 60 / (seconds · target) (the measured hash rate over the target rate,
 *   counting each share at the difficulty it met, so shares at an old difficulty during a
 *   change-over count right). Two exceptions on the far-off path, both for a rig too slow:
 *   with no share, the interval's upper end stands in for Σd (a cautious step down, repeated
 *   until shares come); with a few shares, its lower end (a step that overshoots towards more
 *   shares rather than fewer, so the next period has plenty of them to land precisely).
 *   Then clamp to [min, max], round, and cap at the pool's difficulty.
 *
 * Rounding: integers ≥ 1 with at most 3 significant digits (1, 2, … 999, 1000, 1010, … 1230000),
 * and powers of two below 1 (only reachable when minDifficulty < 1: test rigs, CPU miners).
 * Why: ESP-Miner (Bitaxe) parses mining.set_difficulty with cJSON's valueint into a uint32_t, so a
 * fractional value is truncated (0.5 becomes 0) and values past 2^31 − 1 saturate
 * (bitaxeorg/ESP-Miner components/stratum/stratum_api.c, STRATUM_V1_parse); an early cgminer
 * util.c read it with json_integer_value and refused anything below 1; BFGMiner's parse_diff reads
 * a non-integer as bdiff, not pdiff (a slightly different target); cgminer's current parse_diff
 * reads a double. ckpool hands out integer difficulties only (`optimal = lround(dsps * 3.33)` in
 * stratifier.c, clamped to mindiff, default 1). Integers are safe with all
 * of them; 3 significant digits keep the rounding error under 0.5 %, far inside the hysteresis
 * band, so rounding never causes a retarget back, where powers of two (steps of 2×) would.
 * The default maxDifficulty (1e9) stays under ESP-Miner's 2^31 − 1. A pool difficulty below the
 * local value is sent as the pool sent it.
 */

import { HASHES_PER_DIFFICULTY, weightedPoissonInterval } from './hashrate.js';

export interface VardiffSettings {
  /** The share rate to aim at, per miner, shares per minute. */
  readonly targetSharesPerMinute: number;
  /** Hysteresis: no retarget while the rate is within target / (1 + t) … target · (1 + t). */
  readonly tolerance: number;
  /** Two-sided confidence that the rate is outside the band, to retarget on fewer than minShares. */
  readonly confidence: number;
  readonly minDifficulty: number;
  readonly maxDifficulty: number;
  /** The first local difficulty when the miner suggests none. */
  readonly startDifficulty: number;
  /** Seconds between retargets at least (a pool lowering its difficulty is not held by this). */
  readonly minRetargetSeconds: number;
  /** Shares of evidence for a retarget near the band (fewer suffice when the rate is far off). */
  readonly minShares: number;
}

/**
 * 300 shares/min (5/s): the rate at which a 60 s window holds the ~302 shares a ±10 % interval at
 * 90 % needs (issue 12 §2). startDifficulty 10,000: 1.4 shares/min for a 1 TH/s Bitaxe, 279/min
 * for a 200 TH/s S21, so a fleet reconnecting at once starts at or under the target rate (rigs
 * up to ~250 TH/s); in practice it is min(start, pool) anyway.
 */
export const DEFAULT_VARDIFF_SETTINGS: VardiffSettings = Object.freeze({
  targetSharesPerMinute: 300,
  tolerance: 0.25,
  confidence: 0.99,
  minDifficulty: 1,
  maxDifficulty: 1e9,
  startDifficulty: 10_000,
  minRetargetSeconds: 10,
  minShares: 300,
});

/** Every problem with a settings object, each naming its field; empty when it is usable. */
export function validateVardiffSettings(s: VardiffSettings): string[] {
  const problems: string[] = [];
  const positive = (name: keyof VardiffSettings): void => {
    const v = s[name];
    if (!(typeof v === 'number' && Number.isFinite(v) && v > 0)) problems.push(`${name} must be a finite number > 0, got ${String(v)}`);
  };
  positive('targetSharesPerMinute');
  positive('tolerance');
  positive('minDifficulty');
  positive('maxDifficulty');
  positive('startDifficulty');
  if (!(Number.isInteger(s.minShares) && s.minShares >= 1)) problems.push(`minShares must be an integer >= 1, got ${s.minShares}`);
  if (!(s.confidence > 0 && s.confidence < 1)) problems.push(`confidence must be in (0, 1), got ${s.confidence}`);
  if (!(s.minRetargetSeconds >= 0 && Number.isFinite(s.minRetargetSeconds))) {
    problems.push(`minRetargetSeconds must be a finite number >= 0, got ${s.minRetargetSeconds}`);
  }
  if (s.maxDifficulty < s.minDifficulty) problems.push(`maxDifficulty (${s.maxDifficulty}) is below minDifficulty (${s.minDifficulty})`);
  if (s.startDifficulty < s.minDifficulty || s.startDifficulty > s.maxDifficulty) {
    problems.push(`startDifficulty (${s.startDifficulty}) is outside minDifficulty … maxDifficulty`);
  }
  return problems;
}

/** Defaults overlaid with `overrides`, checked (RangeError listing every problem) and frozen. */
export function createVardiffSettings(overrides: Partial<VardiffSettings> = {}): VardiffSettings {
  const settings = { ...DEFAULT_VARDIFF_SETTINGS, ...overrides };
  const problems = validateVardiffSettings(settings);
  if (problems.length > 0) throw new RangeError(`invalid vardiff settings: ${problems.join('; ')}`);
  return Object.freeze(settings);
}

/** A clean difficulty near d (see the module comment): 3-significant-digit integers ≥ 1, powers of two below. */
export function roundDifficulty(d: number): number {
  if (!(d > 0 && Number.isFinite(d))) throw new RangeError(`difficulty must be a finite number > 0, got ${d}`);
  if (d < 1) {
    const rounded = 2 ** Math.round(Math.log2(d));
    return Math.min(rounded, 1);
  }
  const step = significantStep(d);
  return Math.round(d / step) * step;
}

/** 10^k with d / 10^k in [100, 1000): the unit of the third significant digit (1 below 1000). */
function significantStep(d: number): number {
  let step = 1;
  while (d / step >= 1000) step *= 10;
  return step;
}

/** The largest clean difficulty ≤ d (for values that must not be exceeded, like a burst's). */
export function roundDifficultyDown(d: number): number {
  if (!(d > 0 && Number.isFinite(d))) throw new RangeError(`difficulty must be a finite number > 0, got ${d}`);
  if (d < 1) return 2 ** Math.floor(Math.log2(d));
  const step = significantStep(d);
  return Math.floor(d / step) * step;
}

/** The difficulty at which a rig of `hashesPerSecond` sends `sharesPerMinute`: H · 60 / (rate · 2^32), unrounded. */
export function difficultyForShareRate(hashesPerSecond: number, sharesPerMinute: number): number {
  return (hashesPerSecond * 60) / (sharesPerMinute * HASHES_PER_DIFFICULTY);
}

function clamp(d: number, settings: VardiffSettings, poolDifficulty: number | undefined): number {
  let bounded = roundDifficulty(Math.min(Math.max(d, settings.minDifficulty), settings.maxDifficulty));
  if (bounded > settings.maxDifficulty) bounded = roundDifficultyDown(settings.maxDifficulty);
  if (bounded < settings.minDifficulty) bounded = settings.minDifficulty;
  return poolDifficulty !== undefined && poolDifficulty < bounded ? poolDifficulty : bounded;
}

/**
 * The first local difficulty: the miner's mining.suggest_difficulty when it sent a usable one,
 * else startDifficulty; clamped to [min, max], rounded, and never above the pool's.
 */
export function initialDifficulty(settings: VardiffSettings, options: { suggested?: number; poolDifficulty?: number } = {}): number {
  const { suggested, poolDifficulty } = options;
  const usable = suggested !== undefined && Number.isFinite(suggested) && suggested > 0;
  return clamp(usable ? suggested : settings.startDifficulty, settings, poolDifficulty);
}

/** What one miner's controller knows: the local difficulty and the shares since it was set. */
export interface VardiffState {
  difficulty: number;
  lastRetargetAt: number;
  shares: number;
  sumDifficulty: number;
  sumSquares: number;
  /** Largest difficulty credited since the retarget. */
  maxShareDifficulty: number;
}

export function createVardiffState(difficulty: number, now: number): VardiffState {
  return { difficulty, lastRetargetAt: now, shares: 0, sumDifficulty: 0, sumSquares: 0, maxShareDifficulty: 0 };
}

/** Counts one accepted share at the difficulty it was checked against (the job's local difficulty). */
export function recordVardiffShare(state: VardiffState, difficulty: number): void {
  state.shares += 1;
  state.sumDifficulty += difficulty;
  state.sumSquares += difficulty * difficulty;
  if (difficulty > state.maxShareDifficulty) state.maxShareDifficulty = difficulty;
}

/** Starts a new period at `difficulty` (the value just sent to the miner). */
export function applyRetarget(state: VardiffState, difficulty: number, now: number): void {
  Object.assign(state, createVardiffState(difficulty, now));
}

export type HoldReason = 'too-soon' | 'in-band' | 'gathering' | 'at-limit';
export type RetargetReason = 'too-fast' | 'too-slow' | 'pool-lowered';

export type VardiffDecision =
  | {
      readonly action: 'hold';
      readonly reason: HoldReason;
      /** In band on a full period of evidence: start a new period (applyRetarget at the same difficulty) so later changes show. */
      readonly newPeriod: boolean;
    }
  | {
      readonly action: 'retarget';
      readonly reason: RetargetReason;
      readonly difficulty: number;
      /** The share rate seen since the last retarget, in shares/min at the old difficulty (NaN with no time elapsed). */
      readonly observedSharesPerMinute: number;
    };

const hold = (reason: HoldReason, newPeriod = false): VardiffDecision => ({ action: 'hold', reason, newPeriod });

/**
 * What to do now. `poolDifficulty` is the pool's difficulty in force (undefined before the pool
 * sent one: then only min/max bound the value).
 */
export function decideRetarget(settings: VardiffSettings, state: VardiffState, now: number, poolDifficulty?: number): VardiffDecision {
  const seconds = (now - state.lastRetargetAt) / 1000;
  const observed = seconds > 0 ? (state.sumDifficulty / state.difficulty / seconds) * 60 : Number.NaN;
  if (poolDifficulty !== undefined && poolDifficulty < state.difficulty) {
    return { action: 'retarget', reason: 'pool-lowered', difficulty: poolDifficulty, observedSharesPerMinute: observed };
  }
  if (seconds < settings.minRetargetSeconds || seconds <= 0) return hold('too-soon');
  const target = settings.targetSharesPerMinute;
  const bandLow = target / (1 + settings.tolerance);
  const bandHigh = target * (1 + settings.tolerance);
  let evidence = state.sumDifficulty;
  if (state.shares >= settings.minShares) {
    if (observed >= bandLow && observed <= bandHigh) return hold('in-band', true);
  } else {
    // Few shares: act only when the rate is far off, its interval wholly outside the band.
    const ci = weightedPoissonInterval(
      { sum: state.sumDifficulty, sumSquares: state.sumSquares, maxWeight: Math.max(state.maxShareDifficulty, state.difficulty) },
      settings.confidence,
    );
    const perMinute = 60 / (seconds * state.difficulty);
    if (ci.low * perMinute <= bandHigh && ci.high * perMinute >= bandLow) return hold('gathering');
    // Too slow: no share → the upper end of Σd (cautious); a few → the lower end (more shares next period).
    if (state.shares === 0) evidence = ci.high;
    else if (ci.high * perMinute < bandLow) evidence = ci.low;
  }
  const next = clamp((evidence * 60) / (seconds * target), settings, poolDifficulty);
  if (next === state.difficulty) return hold('at-limit', state.shares >= settings.minShares);
  return { action: 'retarget', reason: observed > bandHigh ? 'too-fast' : 'too-slow', difficulty: next, observedSharesPerMinute: observed };
}

/**
 * decideRetarget, then its bookkeeping on `state`: a retarget starts a period at the new
 * difficulty, a full in-band period starts a fresh one. The caller sends mining.set_difficulty
 * when the result is a retarget.
 */
export function updateVardiff(settings: VardiffSettings, state: VardiffState, now: number, poolDifficulty?: number): VardiffDecision {
  const decision = decideRetarget(settings, state, now, poolDifficulty);
  if (decision.action === 'retarget') applyRetarget(state, decision.difficulty, now);
  else if (decision.newPeriod) applyRetarget(state, state.difficulty, now);
  return decision;
}
