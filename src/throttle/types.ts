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
 *
 * The vocabulary lives in four files, re-exported here so a caller needs one import:
 * rig-types.ts (inventory settings, rigs, power states, the driver seam), planner-types.ts,
 * policy-types.ts, and port-types.ts (mode, status, events, the loop's ports). What stays here are
 * the loop's own settings, which bundle the others.
 */

import type { PlannerSettings } from './planner-types.js';
import type { PolicySettings } from './policy-types.js';
import type { RigEntrySettings, RigModelSettings } from './rig-types.js';

export * from './planner-types.js';
export type * from './policy-types.js';
export type * from './port-types.js';
export * from './rig-types.js';

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
  /**
   * Check power targets and resumes against the level of the measured hash rate (default true). Off: a power target
   * is not checked and a resume only by time (the demo: its simulated miners hash kH/s, not their rated TH/s).
   */
  readonly measuredLevels?: boolean;
}

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
