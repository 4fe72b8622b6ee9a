/**
 * The throttle's shared vocabulary: rigs, settings, policy inputs, the
 * planner's contract, the driver seam, and the ports the loop talks through
 * (signals, status, fleet). Pure types, no I/O. Read docs/throttling.md for
 * the model.
 *
 *   Redis (depth, cap) --> source --> policy (watts) --> planner (decisions) --> actuator --> drivers
 *
 * Physics: share difficulty never changes an ASIC's power draw. Only a full
 * curtail (sleep / park) or a firmware power target does; the planner works
 * in watts and only with those two levers.
 */

import { type ErrorCode, HashgateError } from '../util/errors.js';

/** A rig as the planner sees it: one row of the inventory, bound to a miner that connected (or was seen). */
// ---------------------------------------------------------------------------
// Inventory settings: what a rig entry says about a rig (docs/throttling.md § 2, `rigs[]`, `defaultRig`).
// The throttle core owns these types; a validated config satisfies them, so the core never imports src/config.

/** As much of a driver block as the core reads: its type, and LuxOS profiles (watts → name) for power targets. */
export interface RigDriverSettings {
  readonly type: DriverKind;
  readonly profiles?: Readonly<Record<string, string>>;
}

/** A rig model: `defaultRig`, and the shared part of every `rigs[]` entry. */
export interface RigModelSettings<D extends RigDriverSettings = RigDriverSettings> {
  readonly ratedWatts: number;
  readonly ratedThs: number;
  readonly idleWatts: number;
  readonly priority: number;
  readonly group: string;
  readonly driver: D;
}

/** One `rigs[]` entry: a rig model, which miners it describes, and a standing override. */
export interface RigEntrySettings<D extends RigDriverSettings = RigDriverSettings> extends RigModelSettings<D> {
  readonly name: string;
  /** `worker`: a glob on the worker name; `cidr`: the source address or network. An entry with neither matches nothing. */
  readonly match: { readonly worker?: string; readonly cidr?: string };
  readonly override: 'run' | 'curtail' | null;
}

/** A rig bound to a miner that connected (or was seen), as the planner sees it. */
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

/** The GPU model as the operator writes it (docs/throttling.md § 2, `throttle.gpu`): linear, or a step table. */
export type GpuModelSpec =
  | { readonly idleWatts: number; readonly wattsPerRequest: number; readonly maxWatts: number }
  | { readonly steps: readonly { readonly depth: number; readonly watts: number }[] };

/** The policy's options as the operator writes them (a validated `throttle` config section is one). */
export interface PolicySpec {
  readonly siteBudgetWatts: number;
  readonly baseLoadWatts: number;
  readonly headroomPercent: number;
  readonly gpu: GpuModelSpec;
}

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

/** When the signals count as stale, and what the loop does then (`throttle.redis.staleAfterMs`, `onStale`). */
export interface StaleSettings {
  readonly staleAfterMs: number;
  readonly onStale: StaleMode;
}

/** How long after a curtail or resume the share rate must show it (`throttle.verify`). */
export interface VerifySettings {
  /** A curtailed rig that submits a share later than this after the curtail is flagged still-hashing. */
  readonly afterCurtailMs: number;
  /** A resumed rig with no share within this is flagged not-resumed. */
  readonly afterResumeMs: number;
}

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

/** Everything the loop needs to know, in the core's own types (src/throttle/settings.ts maps the config into it). */
export interface ThrottleSettings {
  /** false: mode off, nothing read, planned, sent or published. */
  readonly enabled: boolean;
  /** Plan and log, send nothing. */
  readonly shadow: boolean;
  /** The loop period. */
  readonly intervalMs: number;
  readonly policy: PolicySettings;
  readonly planner: PlannerSettings;
  readonly stale: StaleSettings;
  readonly verify: VerifySettings;
  /** The inventory: entries in match order, and the model of a rig no entry matches. */
  readonly rigs: readonly RigEntrySettings[];
  readonly defaultRig: RigModelSettings;
}

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

/** The registry codes a DriverError carries (docs/errors.md). */
export type DriverErrorCode = Extract<ErrorCode, 'HG_ERR_DRIVER_COMMAND' | 'HG_ERR_DRIVER_CONFIG'>;

/**
 * A driver's failure: HG_ERR_DRIVER_COMMAND when the rig refused, timed out, was unreachable or answered
 * something unusable; HG_ERR_DRIVER_CONFIG when the driver's settings cannot work (no address, an unreadable
 * password file, no profile for a power target).
 */
export class DriverError extends HashgateError {
  declare readonly code: DriverErrorCode;

  constructor(
    readonly driver: DriverKind,
    message: string,
    code: DriverErrorCode = 'HG_ERR_DRIVER_COMMAND',
  ) {
    super(code, message);
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

/** One live, authorized miner session as the throttle sees it. */
export interface FleetSession {
  readonly rigId: string;
  readonly ip: string | null;
  /** Shares accepted (locally valid) so far in this session. */
  readonly accepted: number;
  readonly lastShareAt: number | null;
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
