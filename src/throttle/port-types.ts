/**
 * What the throttle loop reports and what it talks through: its mode, the status snapshot and the
 * events (admin /status, /metrics, the Redis status hash and channel), and the ports it reads from
 * and reports to (signals, status sink, fleet). Pure types; src/throttle/types.ts re-exports them.
 */

import type { ErrorCode } from '../util/errors.js';
import type { DecisionAction } from './planner-types.js';
import type { Budget } from './policy-types.js';
import type { DriverKind, RigPowerState, StratumGate } from './rig-types.js';

/** The loop's current mode, shown in logs, metrics and status. */
export type ThrottleMode =
  /** Normal: the budget follows Redis. */
  | 'live'
  /** Decisions are computed and logged but not carried out. */
  | 'shadow'
  /** Redis stale/unreachable: the configured StaleMode is in force. */
  | 'stale-hold'
  | 'stale-shed'
  | 'stale-release'
  /** No pool reachable: the fleet is curtailed through its drivers (stale work earns nothing). */
  | 'no-pool'
  /** throttle.enabled is false. */
  | 'off';

// ---------------------------------------------------------------------------
// Status: what the controller reports (admin /status, /metrics, the Redis status hash)

export type RigAlert =
  /**
   * Curtailed, but still submitting shares: later than settle + 2 s from a measured rig (./verify.ts), later than
   * settle + verify.afterCurtailMs without a measurement. A settled rig with a measured rate is then counted in the
   * budget at its measured watts (RigStatus.watts), so the planner sheds elsewhere.
   */
  | 'still-hashing'
  /** Resumed, but no share after verify.afterResumeMs, or its measured TH/s wholly below 80 % of rated by then. */
  | 'not-resumed'
  /** Reduced to a power target, but its measured TH/s lies wholly below the band expected there (−20 %). */
  | 'under-performing'
  /** Reduced to a power target, but its measured TH/s lies wholly above the band expected there (+20 %): the target did not take. */
  | 'not-reduced'
  /** The last driver command failed. */
  | 'driver-error';

/**
 * The proof of a rig's last decision the firmware accepted (docs/throttling.md § 1 "Verification"): `confirmed`
 * (stopped, in its band, back near rated), `failed` (an alert: still-hashing, under-performing, not-reduced,
 * not-resumed) or `pending` (still measuring).
 */
export interface DecisionProof {
  readonly decision: DecisionAction;
  readonly state: 'confirmed' | 'pending' | 'failed';
  /** `measurement`: from the rig's measured hash rate; `time`: the time rules, for a rig without a measured rate. */
  readonly by: 'measurement' | 'time';
  /** When the verdict was reached (ms), null while pending. */
  readonly at: number | null;
  /** From the firmware's answer to the verdict (ms): the decision's proof time; null while pending. */
  readonly afterMs: number | null;
}

export interface RigStatus {
  readonly id: string;
  readonly group: string;
  readonly entry: string;
  readonly driver: DriverKind;
  readonly ip: string | null;
  readonly state: RigPowerState['kind'];
  /**
   * Watts the rig is counted at in the budget: hashgate's model (rated, target, or idle), except a curtailed rig
   * proven still hashing (a zombie), counted at its measuredWatts.
   */
  readonly watts: number;
  readonly ratedWatts: number;
  readonly ratedThs: number;
  readonly priority: number;
  /** Live Stratum sessions of this rig. */
  readonly sessions: number;
  /** Accepted shares per minute over the last minute (measured). */
  readonly sharesPerMinute: number;
  readonly lastShareAt: number | null;
  readonly alert: RigAlert | null;
  /** Reason of the last decision about this rig. */
  readonly reason: string | null;
  readonly since: number;
  /** TH/s measured from the rig's own shares over the last minute (all its sessions), null before any job. */
  readonly measuredThs: number | null;
  /** The 90 % interval of measuredThs (high is null while unbounded: no share and no difficulty known yet). */
  readonly measuredThsLow: number | null;
  readonly measuredThsHigh: number | null;
  /** What the rig really draws by its measured hash rate: measuredThs × its rated J/TH (null when unknown). */
  readonly measuredWatts: number | null;
  /** Until when the rig's last accepted command settles (it stops, boots or ramps: not resumed, shed last); null when not settling. */
  readonly settlingUntil: number | null;
  /** The proof of the last decision the firmware accepted; null before any. */
  readonly proof: DecisionProof | null;
}

export interface ThrottleStatus {
  readonly mode: ThrottleMode;
  readonly depth: number | null;
  readonly capWatts: number | null;
  readonly budget: Budget;
  /** ASIC watts running by the model (sum of RigStatus.watts). */
  readonly asicWatts: number;
  /** Watts freed for the GPUs: rated watts of curtailed/reduced rigs minus what they still draw. */
  readonly freedWatts: number;
  readonly curtailedRigs: number;
  readonly reducedRigs: number;
  readonly redis: { readonly healthy: boolean; readonly lastOkAt: number | null; readonly error: string | null };
  readonly driverErrors: number;
  readonly decisions: number;
  readonly updatedAt: number;
  readonly rigs: readonly RigStatus[];
}

/** Events published on the Redis channel and logged (one JSON object per event). */
export type ThrottleEvent =
  | {
      readonly type: 'curtail' | 'resume' | 'set-power';
      readonly rig: string;
      readonly watts: number;
      readonly reason: string;
      readonly at: number;
    }
  | { readonly type: 'mode'; readonly mode: ThrottleMode; readonly previous: ThrottleMode; readonly at: number }
  | { readonly type: 'alert'; readonly rig: string; readonly alert: RigAlert; readonly at: number }
  | { readonly type: 'budget'; readonly asicBudgetWatts: number; readonly freedWatts: number; readonly at: number };

// ---------------------------------------------------------------------------
// Ports: what the loop reads from and reports to (Redis, the demo's script, the daemon)

/** One depth source's share of a reading. */
export interface SourceValue {
  readonly label: string;
  readonly value: number;
  /** True for a stream whose lag Redis could not compute (value = max(XLEN, pending)). */
  readonly estimated?: boolean;
}

/** One poll of the signals (Redis, or the demo's in-process script). */
export type SignalReading =
  | {
      readonly ok: true;
      /** The queue depth: the sum of perSource. */
      readonly depth: number;
      readonly perSource: readonly SourceValue[];
      /** The site cap in watts; null when not configured or not set. */
      readonly capWatts: number | null;
      readonly overrides: ReadonlyMap<string, 'run' | 'curtail'>;
      /** Data problems that did not fail the reading (garbage cap, bad override, estimated lag). */
      readonly warnings: readonly string[];
      readonly at: number;
    }
  | {
      readonly ok: false;
      /** For logs and status: never carries credentials. */
      readonly error: string;
      /** HG_ERR_REDIS_UNAVAILABLE (not reachable, no reply in time) or HG_ERR_REDIS_SIGNAL (a source answered something unusable). */
      readonly code: ErrorCode;
      readonly at: number;
    };

export interface SignalSource {
  /** Never throws; bounded in time. */
  poll(): Promise<SignalReading>;
  close(): Promise<void> | void;
}

/** Where the loop's status and events go (the Redis status hash and channel, the demo's view). */
export interface StatusSink {
  publishStatus(status: ThrottleStatus): void | Promise<void>;
  publishEvent(event: ThrottleEvent): void | Promise<void>;
  close(): Promise<void> | void;
}

/** A hash rate measured from shares: H/s with its confidence interval (src/work/hashrate.ts), and the shares behind it. */
export interface MeasuredRate {
  readonly hashesPerSecond: number;
  readonly low: number;
  readonly high: number;
  readonly shares: number;
  /**
   * The seconds the estimate covers (HashrateEstimate.windowSeconds); absent: verification takes the estimator's
   * longest window (src/throttle/verify.ts MAX_WINDOW_SECONDS), the conservative side.
   */
  readonly windowSeconds?: number;
}

/** One live, authorized miner session as the throttle sees it. */
export interface FleetSession {
  readonly rigId: string;
  readonly ip: string | null;
  /** Shares accepted (locally valid) so far in this session. */
  readonly accepted: number;
  readonly lastShareAt: number | null;
  /** The session's hash rate measured from its valid shares over the last minute; null/absent before its first job. */
  readonly hashrate?: MeasuredRate | null;
}

/** What the daemon offers the throttle. */
export interface Fleet {
  sessions(): Iterable<FleetSession>;
  /** Fresh work with clean_jobs for the rig's sessions (after a firmware resume). */
  refreshWork(rigId: string): void;
  /** True while no pool is reachable (the daemon's no-pool state). */
  noPool(): boolean;
  readonly gate: StratumGate;
}
