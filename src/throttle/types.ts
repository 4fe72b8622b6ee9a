/**
 * The throttle's shared vocabulary: rigs, policy inputs, the planner's
 * contract, and the driver seam. Pure types, no I/O. Read docs/throttling.md
 * for the model.
 *
 *   Redis (depth, cap) --> source --> policy (watts) --> planner (decisions) --> actuator --> drivers
 *
 * Physics: share difficulty never changes an ASIC's power draw. Only a full
 * curtail (sleep / park) or a firmware power target does; the planner works
 * in watts and only with those two levers.
 */

/** A rig as the planner sees it: one row of the inventory, bound to a miner that connected (or was seen). */
export interface RigSpec {
  /** Stable id: the miner's worker name as it authorized (before any rewrite). */
  readonly id: string;
  /** Stratum source address last seen (the default address for a firmware driver). */
  readonly ip: string | null;
  /** Inventory entry that matched (its `name`, or "default"). */
  readonly entry: string;
  readonly group: string;
  /** Lower priority is curtailed first. */
  readonly priority: number;
  readonly ratedWatts: number;
  readonly ratedThs: number;
  /** Watts the rig still draws while curtailed (control board, fans), default 0. */
  readonly idleWatts: number;
  /**
   * Firmware power targets the rig's driver can set, in watts, ascending, each below ratedWatts.
   * Empty = full curtail only (the partial lever is unavailable).
   */
  readonly powerTargets: readonly number[];
  /** Manual override from config or Redis: force running, force curtailed, or none. */
  readonly override: 'run' | 'curtail' | null;
}

/** What hashgate last commanded (and the driver confirmed sending). */
export type RigPowerState =
  | { readonly kind: 'running'; readonly since: number }
  | { readonly kind: 'reduced'; readonly watts: number; readonly since: number; readonly curtailedSince: number }
  | { readonly kind: 'curtailed'; readonly since: number; readonly curtailedSince: number };

export interface PlannerRig extends RigSpec {
  readonly state: RigPowerState;
  /** False when hashgate cannot reach the rig now (no session and no firmware API): the planner leaves it alone. */
  readonly controllable: boolean;
}

export interface PlannerSettings {
  /** A rig is resumed only if the fleet still fits the budget minus this margin afterwards (anti-flap). */
  readonly hysteresisWatts: number;
  /** A rig that was resumed stays running at least this long, unless the budget cannot be met otherwise. */
  readonly minOnMs: number;
  /** A curtailed rig stays curtailed at least this long. */
  readonly minOffMs: number;
  /** Staggered resume: at most this many watts given back per resumeIntervalMs (inrush). */
  readonly resumeWattsPerStep: number;
  readonly resumeIntervalMs: number;
  /** No rig stays curtailed longer than this (0 = no cap): it is rotated with a running rig when the budget allows a swap. */
  readonly maxCurtailMs: number;
}

/** Memory the planner carries from one call to the next (returned in Plan.memory, passed back in). */
export interface PlannerMemory {
  /** Start of the current resume window and the watts resumed in it. */
  readonly resumeWindowStart: number;
  readonly resumeWindowWatts: number;
}

export const INITIAL_PLANNER_MEMORY: PlannerMemory = Object.freeze({ resumeWindowStart: 0, resumeWindowWatts: 0 });

export interface PlanInput {
  readonly now: number;
  /** Watts the ASIC fleet may draw now (from the policy). */
  readonly asicBudgetWatts: number;
  readonly rigs: readonly PlannerRig[];
  readonly settings: PlannerSettings;
  readonly memory: PlannerMemory;
}

export type DecisionAction = 'curtail' | 'set-power' | 'resume';

export interface Decision {
  readonly rig: string;
  readonly action: DecisionAction;
  /** For set-power: the firmware power target (watts). */
  readonly watts?: number;
  /** Watts this decision frees (positive) or takes back (negative). */
  readonly deltaWatts: number;
  /** Why, in words an operator reads in the log, e.g. "over budget by 3,200 W; priority 1, 21.5 J/TH (worst)". */
  readonly reason: string;
}

export interface Plan {
  readonly decisions: readonly Decision[];
  /** ASIC watts expected after the decisions are carried out. */
  readonly runningWatts: number;
  readonly budgetWatts: number;
  /** False when even curtailing every controllable rig would not fit the budget. */
  readonly feasible: boolean;
  /** Rigs that wanted to resume but waited (stagger, min-off, hysteresis), with why; for status and `hashgate plan`. */
  readonly waiting: readonly { readonly rig: string; readonly reason: string }[];
  readonly memory: PlannerMemory;
}

// ---------------------------------------------------------------------------
// Policy

export type GpuNeedModel =
  /** idleWatts + wattsPerRequest × depth, at most maxWatts. */
  | { readonly kind: 'linear'; readonly idleWatts: number; readonly wattsPerRequest: number; readonly maxWatts: number }
  /** The watts of the last step whose depth ≤ the queue depth (steps ascending by depth, first depth 0). */
  | { readonly kind: 'steps'; readonly steps: readonly { readonly depth: number; readonly watts: number }[] };

export interface PolicySettings {
  /** The site's power contract (watts). A Redis cap lower than this wins. */
  readonly siteBudgetWatts: number;
  /** Other loads on the contract that are always there (cooling, network), watts. */
  readonly baseLoadWatts: number;
  /** Kept free for cooling swings and inrush, as a percentage of the effective site budget. */
  readonly headroomPercent: number;
  readonly gpu: GpuNeedModel;
}

export interface PolicyInput {
  /** Summed queue depth; null when unknown (Redis stale or unreachable). */
  readonly depth: number | null;
  /** Site cap from Redis (watts), null when not configured / not set. */
  readonly capWatts: number | null;
}

export interface Budget {
  readonly siteWatts: number;
  readonly gpuNeedWatts: number;
  readonly headroomWatts: number;
  readonly baseLoadWatts: number;
  /** What the ASICs may draw: site − base load − headroom − GPU need, floored at 0. */
  readonly asicWatts: number;
}

/** What the loop does when Redis data is stale or unreachable for signals.staleAfterMs. */
export type StaleMode = 'hold' | 'shed' | 'release';

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
// Drivers

export type DriverKind = 'luxos' | 'esp-miner' | 'stratum';

/** What a firmware API reports, where it can. */
export interface RigFirmwareState {
  readonly hashing: boolean;
  readonly powerWatts: number | null;
  readonly detail: string;
}

/**
 * One rig's control channel. Methods resolve when the command was accepted by
 * the rig (or, for the stratum driver, carried out locally); they reject with
 * a DriverError (a plain message, never credentials) otherwise. Every call is
 * bounded by the driver's timeout.
 */
export interface RigControl {
  readonly kind: DriverKind;
  /** Whether setPowerTarget exists for this rig (e.g. LuxOS profiles configured). */
  readonly supportsPowerTarget: boolean;
  /**
   * True for firmware drivers: hashgate keeps the rig's Stratum session alive and fed while it is curtailed
   * (so it does not fail over to a backup pool). False for the stratum driver, which closes it.
   */
  readonly keepsSession: boolean;
  curtail(): Promise<void>;
  setPowerTarget?(watts: number): Promise<void>;
  resume(): Promise<void>;
  readState?(): Promise<RigFirmwareState>;
  /** Releases sockets/timers. */
  close(): void;
}

/** What the daemon offers the stratum driver: park = close the rig's sessions and refuse its reconnects. */
export interface StratumGate {
  park(rigId: string): void;
  unpark(rigId: string): void;
}

export class DriverError extends Error {
  constructor(
    readonly driver: DriverKind,
    message: string,
  ) {
    super(message);
    this.name = 'DriverError';
  }
}

// ---------------------------------------------------------------------------
// Status: what the controller reports (admin /status, /metrics, the Redis status hash)

export type RigAlert =
  /** Curtailed, but still submitting shares after verify.afterCurtailMs: the cut did not happen. */
  | 'still-hashing'
  /** Resumed, but no share after verify.afterResumeMs. */
  | 'not-resumed'
  /** The last driver command failed. */
  | 'driver-error';

export interface RigStatus {
  readonly id: string;
  readonly group: string;
  readonly entry: string;
  readonly driver: DriverKind;
  readonly ip: string | null;
  readonly state: RigPowerState['kind'];
  /** Watts the rig draws now by hashgate's model (rated, target, or idle). */
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
