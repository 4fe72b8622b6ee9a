/**
 * Verification (pure): does a rig's share stream show what hashgate commanded? docs/throttling.md
 * § 1 "Verification" and § 5. The statistics are the work core's (src/work/share-proof.ts); this
 * file picks the rule, its inputs and its windows.
 *
 * From the rig's measured hash rate (issue 12 § 3), for the last decision the firmware accepted:
 * - curtail: silence from the end of the driver's settle time plus STOP_GRACE_MS (shares found
 *   before the stop still arriving) is long enough that a rig still hashing at the rate measured
 *   when the curtail was sent would have sent a share with probability < FALSE_ALARM (1e-4):
 *   confirmed. A share later than settle + STOP_GRACE_MS: still-hashing (failed), until a later
 *   silence as long proves the stop after all (it stopped late). The share rate λ is the
 *   conservative one: the lower end of the 90 % Garwood interval of the shares counted, over the
 *   longest window they can span.
 * - set-power: the measured interval, over a window that starts after the settle, against the
 *   band LEVEL_TOLERANCE (±20 %) around the TH/s expected at the target (the firmware's own figure
 *   for it, else rated TH/s × target / rated watts): inside confirms, wholly below is
 *   under-performing, wholly above not-reduced, astride an edge is pending.
 * - resume: the interval over a window that starts after the answer at or above 80 % of rated
 *   confirms; wholly below it over a window after the settle, once settle + verify.afterResumeMs
 *   has passed, is not-resumed.
 *
 * Fallback, the time rules (no rate known when a curtail was sent, no measurement now):
 * - still-hashing: curtailed, yet a share arrived later than settle + verify.afterCurtailMs; a
 *   curtail with no such share by then counts as confirmed by time.
 * - not-resumed: resumed more than settle + verify.afterResumeMs ago and no share since the
 *   resume; a share after the resume confirms it by time.
 * Both windows count from the firmware's answer and add the driver's settle time
 * (RigControl.timing), so a slow firmware is not flagged for being slow. A reduced rig without a
 * measurement cannot be checked (it still hashes). driver-error stays until a command to the rig
 * succeeds (the controller clears it), unless another alert replaces it.
 *
 * Zombie: a curtailed rig flagged still-hashing whose measurement shows shares now (low end above
 * 0) is reported as such; the controller counts it in the budget at its measured watts.
 */

import { garwoodInterval, type Interval } from '../work/hashrate.js';
import { bandAround, checkPowerTarget, checkResume, checkStop } from '../work/share-proof.js';
import type {
  DecisionAction,
  DecisionProof,
  DriverTiming,
  MeasuredRate,
  RigAlert,
  RigPowerState,
  RigSpec,
  VerifySettings,
} from './types.js';

/** A stop is confirmed when a rig still hashing would have stayed silent this long with at most this probability. */
export const FALSE_ALARM = 1e-4;
/** A share checked this long after the settle ended is no longer one found before the stop (submit latency, doubled and rounded up). */
export const STOP_GRACE_MS = 2_000;
/**
 * The half-width of the band a power target and a resume are checked against. ±10 % would take about 4× the
 * shares (src/work/share-proof.ts sharesToDecideLevel: ≈ 1,080 for a 90 % chance of a decision at ±10 %,
 * ≈ 270 at ±20 %), and a rig's TH/s at a target is itself a model figure (binning, temperature): 20 % keeps the
 * check fast and its verdicts about commands that did not take, not about chip quality.
 */
export const LEVEL_TOLERANCE = 0.2;
/** Level of the measured intervals (the estimator's). */
export const CONFIDENCE = 0.9;
/**
 * The longest window a measurement can span, s: the session's estimator window (60 s) plus one grid cell, at most a
 * quarter window (src/work/hashrate.ts). Taken when a MeasuredRate does not say its own.
 */
export const MAX_WINDOW_SECONDS = 75;

const TH = 1e12;

/** The last decision the firmware accepted, with what its proof needs. */
export interface DecisionUnderProof {
  readonly action: DecisionAction;
  /** When the firmware answered, ms. */
  readonly answeredAt: number;
  /** The driver's settle time for this command, ms. */
  readonly settleMs: number;
  /** The rig's rate measured when the command was sent (null: none). */
  readonly before: MeasuredRate | null;
  /** set-power: the target, watts. */
  readonly watts: number | null;
}

/** What verification looks at for one rig. */
export interface VerifiedRig {
  readonly state: RigPowerState['kind'];
  /** When the last full curtail / resume was answered, or null. */
  readonly curtailedAt: number | null;
  readonly resumedAt: number | null;
  /** The newest share's time, or null. */
  readonly lastShareAt: number | null;
  readonly alert: RigAlert | null;
  /** The driver's timing (null: commands show at once). */
  readonly timing: DriverTiming | null;
  /** The rig's rate measured now (all its sessions); null/absent: none. */
  readonly measured?: MeasuredRate | null;
  /** The last accepted decision; absent/null: the time rules only. */
  readonly decision?: DecisionUnderProof | null;
  /** The rig's model (rated TH/s and watts, the firmware's TH/s per target); needed for the level checks. */
  readonly spec?: Pick<RigSpec, 'ratedThs' | 'ratedWatts' | 'powerTargetThs'>;
}

export type ProofVerdict = Pick<DecisionProof, 'state' | 'by'>;

export interface Verification {
  /** The alert the rig should carry now (null: none). */
  readonly alert: RigAlert | null;
  /** The proof of the last decision (null: no decision, or one that does not match the state). */
  readonly proof: ProofVerdict | null;
  /** Curtailed, flagged still-hashing, and its measurement shows shares: count it at its measured watts. */
  readonly zombie: boolean;
}

interface RuleResult {
  readonly alert: RigAlert | null;
  readonly proof: ProofVerdict | null;
}

const NONE: RuleResult = { alert: null, proof: null };
const pending = (by: ProofVerdict['by']): RuleResult => ({ alert: null, proof: { state: 'pending', by } });
const confirmed = (by: ProofVerdict['by']): RuleResult => ({ alert: null, proof: { state: 'confirmed', by } });
const failed = (alert: RigAlert, by: ProofVerdict['by']): RuleResult => ({ alert, proof: { state: 'failed', by } });

/** λ's conservative value, shares/s: the interval's low end for the count, over the longest window it can span. */
export function sharesPerSecondLow(rate: MeasuredRate | null | undefined, confidence = CONFIDENCE): number {
  if (rate === null || rate === undefined || !(rate.shares > 0)) return 0;
  const seconds = Math.min(MAX_WINDOW_SECONDS, Math.max(rate.windowSeconds ?? MAX_WINDOW_SECONDS, 0));
  // A window of under a second says little about a rate: take the longest.
  return garwoodInterval(rate.shares, confidence).low / (seconds >= 1 ? seconds : MAX_WINDOW_SECONDS);
}

/** Whether the measurement's window starts at or after `from` (ms): it then holds nothing from before. */
export function windowStartsAfter(rate: MeasuredRate, now: number, from: number): boolean {
  const seconds = rate.windowSeconds ?? MAX_WINDOW_SECONDS;
  return now - seconds * 1000 >= from;
}

/** TH/s expected at a power target: the firmware's figure where it gives one, else linear in watts from rated. */
export function expectedThsAt(spec: Pick<RigSpec, 'ratedThs' | 'ratedWatts' | 'powerTargetThs'>, watts: number): number {
  const known = spec.powerTargetThs?.[watts];
  if (known !== undefined) return known;
  return spec.ratedWatts > 0 ? (spec.ratedThs * watts) / spec.ratedWatts : 0;
}

const intervalOf = (m: MeasuredRate): Interval => ({ low: m.low, high: m.high });

function curtailRule(rig: VerifiedRig, now: number, s: VerifySettings): RuleResult {
  const d = rig.decision;
  const lambda = d?.action === 'curtail' ? sharesPerSecondLow(d.before) : 0;
  if (d !== null && d !== undefined && lambda > 0) {
    // The silence counts from the end of the grace: shares found before the stop may arrive until then, and a
    // single look at one silent stretch keeps the false-alarm bound (a restart at each share in the grace would not).
    const from = d.answeredAt + d.settleMs + Math.min(STOP_GRACE_MS, s.afterCurtailMs);
    const c = checkStop({
      sharesPerSecond: lambda,
      answeredAt: from,
      lastShareAt: rig.lastShareAt,
      now,
      falseAlarm: FALSE_ALARM,
      graceSeconds: 0,
    });
    // Still-hashing once, but silent since for as long as a stop needs: it stopped late.
    if (c.verdict === 'stopped' || (c.verdict === 'still-hashing' && c.probability <= FALSE_ALARM)) return confirmed('measurement');
    return c.verdict === 'still-hashing' ? failed('still-hashing', 'measurement') : pending('measurement');
  }
  if (rig.curtailedAt === null) return NONE;
  const deadline = rig.curtailedAt + (rig.timing?.curtailSettleMs ?? 0) + s.afterCurtailMs;
  if (rig.lastShareAt !== null && rig.lastShareAt > deadline) return failed('still-hashing', 'time');
  const proven = d?.action === 'curtail' ? (now > deadline ? confirmed('time') : pending('time')) : null;
  return { alert: null, proof: proven?.proof ?? null };
}

function powerRule(rig: VerifiedRig, now: number, s: VerifySettings): RuleResult {
  const d = rig.decision;
  if (s.measuredLevels === false || d?.action !== 'set-power' || d.watts === null || rig.spec === undefined) return NONE;
  const m = rig.measured;
  if (m === null || m === undefined) return pending('time');
  if (!windowStartsAfter(m, now, d.answeredAt + d.settleMs)) return pending('measurement');
  const band = bandAround(expectedThsAt(rig.spec, d.watts) * TH, LEVEL_TOLERANCE);
  const v = checkPowerTarget(band, intervalOf(m));
  if (v === 'confirmed') return confirmed('measurement');
  return v === 'undecided' ? pending('measurement') : failed(v, 'measurement');
}

function resumeRule(rig: VerifiedRig, now: number, s: VerifySettings): RuleResult {
  const d = rig.decision;
  const resumedAt = rig.resumedAt;
  const settleEnd = resumedAt === null ? 0 : resumedAt + (rig.timing?.resumeSettleMs ?? 0);
  const late = resumedAt !== null && now > settleEnd + s.afterResumeMs;
  // The time rule first: no share at all since the resume.
  if (late && resumedAt !== null && (rig.lastShareAt === null || rig.lastShareAt < resumedAt)) return failed('not-resumed', 'time');
  if (d?.action !== 'resume') return NONE;
  const m = rig.measured;
  if (s.measuredLevels !== false && m !== null && m !== undefined && rig.spec !== undefined && rig.spec.ratedThs > 0) {
    const v = checkResume(rig.spec.ratedThs * TH, intervalOf(m), LEVEL_TOLERANCE);
    if (v === 'confirmed' && windowStartsAfter(m, now, d.answeredAt)) return confirmed('measurement');
    if (v === 'not-resumed' && late && windowStartsAfter(m, now, settleEnd)) return failed('not-resumed', 'measurement');
    return pending('measurement');
  }
  const shared = resumedAt !== null && rig.lastShareAt !== null && rig.lastShareAt >= resumedAt;
  return shared ? confirmed('time') : pending('time');
}

/** The rig's alert and the proof of its last decision, now. */
export function verify(rig: VerifiedRig, now: number, settings: VerifySettings): Verification {
  const r =
    rig.state === 'curtailed'
      ? curtailRule(rig, now, settings)
      : rig.state === 'reduced'
        ? powerRule(rig, now, settings)
        : resumeRule(rig, now, settings);
  const alert = r.alert ?? (rig.alert === 'driver-error' ? 'driver-error' : null);
  const m = rig.measured;
  const zombie = rig.state === 'curtailed' && r.alert === 'still-hashing' && m !== null && m !== undefined && m.low > 0;
  return { alert, proof: r.proof, zombie };
}

/** The alert the rig should carry now (null: none); the time rules alone for a rig without a measurement. */
export function verifyRig(rig: VerifiedRig, now: number, settings: VerifySettings): RigAlert | null {
  return verify(rig, now, settings).alert;
}
