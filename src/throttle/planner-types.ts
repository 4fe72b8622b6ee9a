/**
 * The planner's contract (./planner.ts): a rig as the planner sees it, its settings and memory, and
 * the plan it returns. Pure types; src/throttle/types.ts re-exports them.
 */

import type { RigPowerState, RigSpec } from './rig-types.js';

export interface PlannerRig extends RigSpec {
  readonly state: RigPowerState;
  /** False when hashgate cannot reach the rig now (no session and no firmware API): the planner leaves it alone. */
  readonly controllable: boolean;
  /**
   * Until when the rig's last accepted command settles (its driver's timing: it stops, boots or ramps). Meanwhile it
   * is not resumed or stepped up, and is shed only when no other rig can cover (as within min-on). Absent = settled.
   */
  readonly settlingUntil?: number;
  /**
   * Watts the rig is known to draw now whatever its state's model says, counted in place of the model's and as its
   * floor: the controller sets it for a curtailed rig whose measured shares keep coming (a zombie: measured TH/s ×
   * rated J/TH, docs/throttling.md § 1 "Verification"). Absent = the model's watts.
   */
  readonly drawWatts?: number;
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
