/**
 * The status snapshot (pure): the controller's book of rigs and loop state
 * as one ThrottleStatus, for /status, /metrics, the Redis status hash and
 * onTick. docs/throttling.md § 6.
 */

import { RATE_WINDOW_MS, type RigRecord, freedWatts, measuredWattsOf, rigWatts } from './rigs.js';
import type { SignalHealth } from './stale.js';
import type { Budget, DecisionProof, RigStatus, ThrottleMode, ThrottleStatus } from './types.js';

export interface StatusInput {
  readonly mode: ThrottleMode;
  readonly depth: number | null;
  readonly capWatts: number | null;
  readonly budget: Budget;
  readonly redis: SignalHealth;
  readonly driverErrors: number;
  readonly decisions: number;
  readonly rigs: Iterable<RigRecord>;
}

const TH = 1e12;

/** The rig's measured TH/s, its interval, and the watts that rate means at the rig's rated J/TH. */
function measuredOf(r: RigRecord): Pick<RigStatus, 'measuredThs' | 'measuredThsLow' | 'measuredThsHigh' | 'measuredWatts'> {
  const m = r.measured;
  if (m === null) return { measuredThs: null, measuredThsLow: null, measuredThsHigh: null, measuredWatts: null };
  return {
    measuredThs: m.hashesPerSecond / TH,
    measuredThsLow: m.low / TH,
    measuredThsHigh: Number.isFinite(m.high) ? m.high / TH : null,
    measuredWatts: measuredWattsOf(r),
  };
}

/** The proof of the rig's last decision (./rig-proof.ts keeps it); null before any. */
function proofOf(r: RigRecord): DecisionProof | null {
  const p = r.proof;
  if (p === null) return null;
  return { decision: p.action, state: p.state, by: p.by, at: p.at, afterMs: p.at === null ? null : p.at - p.answeredAt };
}

/**
 * One rig's row. A running rig with no session draws nothing hashgate counts (it is off, or on another pool); a
 * zombie (curtailed, proven still hashing) is counted at its measured watts (rigWatts).
 */
export function rigStatusOf(r: RigRecord, now: number): RigStatus {
  return {
    id: r.spec.id,
    group: r.spec.group,
    entry: r.spec.entry,
    driver: r.control?.kind ?? 'stratum',
    ip: r.ip,
    state: r.state.kind,
    watts: r.state.kind === 'running' && r.sessions === 0 ? 0 : rigWatts(r),
    ratedWatts: r.spec.ratedWatts,
    ratedThs: r.spec.ratedThs,
    priority: r.spec.priority,
    sessions: r.sessions,
    sharesPerMinute: r.shareStamps.filter((s) => s >= now - RATE_WINDOW_MS).length,
    lastShareAt: r.lastShareAt,
    alert: r.alert,
    reason: r.reason,
    since: r.state.since,
    settlingUntil: r.settleUntil > now ? r.settleUntil : null,
    ...measuredOf(r),
    proof: proofOf(r),
  };
}

export function buildStatus(input: StatusInput, now: number): ThrottleStatus {
  const records = [...input.rigs];
  const rigs = records.map((r) => rigStatusOf(r, now)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return {
    mode: input.mode,
    depth: input.depth,
    capWatts: input.capWatts,
    budget: input.budget,
    asicWatts: rigs.reduce((sum, r) => sum + r.watts, 0),
    freedWatts: freedWatts(records),
    curtailedRigs: records.filter((r) => r.state.kind === 'curtailed').length,
    reducedRigs: records.filter((r) => r.state.kind === 'reduced').length,
    redis: input.redis,
    driverErrors: input.driverErrors,
    decisions: input.decisions,
    updatedAt: now,
    rigs,
  };
}
