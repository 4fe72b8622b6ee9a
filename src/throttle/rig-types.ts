/**
 * A rig in the throttle's words: what an inventory entry says about it (settings), the rig bound to
 * a miner that connected, the power state hashgate commanded, and its control channel (the driver
 * seam a firmware driver implements). Pure types, no I/O; src/throttle/types.ts re-exports them.
 */

import { type ErrorCode, HashgateError } from '../util/errors.js';

// ---------------------------------------------------------------------------
// Inventory settings: what a rig entry says about a rig (docs/throttling.md § 2, `rigs[]`, `defaultRig`).
// The throttle core owns these types; a validated config satisfies them, so the core never imports src/config.

/** As much of a driver block as the core reads: its type, and LuxOS profiles (watts → name) or the Antminer low-power watts for power targets. */
export interface RigDriverSettings {
  readonly type: DriverKind;
  readonly profiles?: Readonly<Record<string, string>>;
  /** antminer: the watts of the low-power work mode, where the model has one. */
  readonly lowPowerWatts?: number | null;
  /** whatsminer: the power limits (watts) the planner may set with adjust_power_limit. */
  readonly powerTargets?: readonly number[];
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
  /** TH/s at each power target where known (the firmware's own list, e.g. LuxOS profiles); absent or missing key = unknown. */
  readonly powerTargetThs?: Readonly<Record<number, number>>;
  /** Manual override from config or Redis: force running, force curtailed, or none. */
  readonly override: 'run' | 'curtail' | null;
}

/** What hashgate last commanded (and the driver confirmed sending). */
export type RigPowerState =
  | { readonly kind: 'running'; readonly since: number }
  | { readonly kind: 'reduced'; readonly watts: number; readonly since: number; readonly curtailedSince: number }
  | { readonly kind: 'curtailed'; readonly since: number; readonly curtailedSince: number };

// ---------------------------------------------------------------------------
// Drivers

export type DriverKind = 'luxos' | 'esp-miner' | 'antminer' | 'whatsminer' | 'stratum';

/** What a firmware API reports, where it can. */
export interface RigFirmwareState {
  /** A hash rate above 0 now. False is not sleep: a booting or ramping rig reports 0 too. */
  readonly hashing: boolean;
  /**
   * The firmware's own sign that its API stopped the rig (LuxOS CurtailMode "Sleep", AxeOS miningPaused):
   * true = asleep, false = not asleep, null = the firmware does not say (an older build).
   */
  readonly asleep: boolean | null;
  /** The hash rate the firmware reports now, in TH/s; null when it could not be read. */
  readonly hashrateThs: number | null;
  readonly powerWatts: number | null;
  /** The firmware's own version text (e.g. LuxOS `version` Miner, AxeOS `version`), null when not reported. */
  readonly firmware: string | null;
  readonly detail: string;
}

/** A power target the firmware lists itself (a LuxOS profile): its watts, and the hash rate it gives where the firmware says. */
export interface FirmwarePowerTarget {
  readonly watts: number;
  /** TH/s at this target, as the firmware reports it; null when it does not. */
  readonly ths: number | null;
  /** The firmware's name for it (the LuxOS profile name), for logs and the driver's own use. */
  readonly name: string;
}

/**
 * How long a driver's accepted command takes to show on the rig (docs/drivers.md "Timing"). The controller keeps
 * the rig settling for that long after the firmware answered (its in-flight window: not resumed while it boots or
 * ramps, shed only when no other rig can cover) and adds it to the verification windows (verify.afterCurtailMs
 * and afterResumeMs count from the end of it).
 */
export interface DriverTiming {
  /** After an accepted curtail: until the hashboards stop (Whatsminer power_off answers before they do). */
  readonly curtailSettleMs: number;
  /** After an accepted resume: until the rig hashes again (miner process start, board init, frequency ramp). */
  readonly resumeSettleMs: number;
  /** After an accepted power target: until the new level holds (Whatsminer adjust_power_limit reboots). */
  readonly powerSettleMs: number;
}

/**
 * One rig's control channel. Methods resolve when the command was accepted by
 * the rig (or, for the stratum driver, carried out locally); they reject with
 * a DriverError (a plain message, never credentials) otherwise. Every call is
 * bounded by the driver's timeout.
 */
export interface RigControl {
  readonly kind: DriverKind;
  /** Whether this rig has a power target now (configured, or listed by its firmware: LuxOS profiles once read). */
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
  /**
   * The power targets the firmware lists (LuxOS `profiles`), read once when the channel is made; the inventory's
   * configured targets override them watt for watt. Absent: the configured targets only.
   */
  readPowerTargets?(): Promise<readonly FirmwarePowerTarget[]>;
  /** How long commands take to show on the rig; absent = at once (the stratum driver, test fakes). */
  readonly timing?: DriverTiming;
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
    /** Nothing listens at the rig's port (ECONNREFUSED): the API is off, as opposed to slow or cut short. */
    readonly refused = false,
  ) {
    super(code, message);
    this.name = 'DriverError';
  }
}
