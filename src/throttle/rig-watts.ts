/**
 * A rig's watts by hashgate's model (rated, reduced to a target, or idle when
 * curtailed), its efficiency, the fleet's floor, the state a decision leads to,
 * and the planner's settings from a config. Pure; used by the planner, the
 * actuator and `hashgate plan`.
 */

import type { Decision, PlannerRig, PlannerSettings, RigPowerState } from './types.js';

/** Watts a rig draws in a state, by hashgate's model. */
export function stateWatts(rig: Pick<PlannerRig, 'ratedWatts' | 'idleWatts'>, state: RigPowerState): number {
  switch (state.kind) {
    case 'running':
      return rig.ratedWatts;
    case 'reduced':
      return state.watts;
    case 'curtailed':
      return rig.idleWatts;
  }
}

/** Watts a rig draws now, by hashgate's model. */
export function modelWatts(rig: PlannerRig): number {
  return stateWatts(rig, rig.state);
}

/** Joules per terahash at rated power (higher = less efficient); Infinity for a rig rated at 0 TH/s. */
export function joulesPerTh(rig: Pick<PlannerRig, 'ratedWatts' | 'ratedThs'>): number {
  return rig.ratedThs > 0 ? rig.ratedWatts / rig.ratedThs : Number.POSITIVE_INFINITY;
}

/**
 * The least the fleet can draw: every controllable rig without a `run` override curtailed,
 * `run` overrides at rated watts, uncontrollable rigs as they are. A plan is feasible when this fits.
 */
export function minimumWatts(rigs: readonly PlannerRig[]): number {
  let total = 0;
  for (const r of sortById(rigs)) {
    if (!r.controllable) total += modelWatts(r);
    else total += r.override === 'run' ? r.ratedWatts : r.idleWatts;
  }
  return total;
}

/** The state a rig is in once a decision about it was carried out at `now` (for the actuator, status and tests). */
export function nextState(rig: PlannerRig, decision: Decision, now: number): RigPowerState {
  const prev = rig.state;
  const curtailedSince = prev.kind === 'running' ? now : prev.curtailedSince;
  switch (decision.action) {
    case 'resume':
      return { kind: 'running', since: now };
    case 'set-power':
      return { kind: 'reduced', watts: decision.watts ?? rig.ratedWatts, since: now, curtailedSince };
    case 'curtail':
      return { kind: 'curtailed', since: now, curtailedSince };
  }
}

/** The planner settings of a `throttle` section (a validated config's, for one): exactly its `planner` fields. */
export function plannerSettingsFromConfig(throttle: { readonly planner: PlannerSettings }): PlannerSettings {
  const p = throttle.planner;
  return {
    hysteresisWatts: p.hysteresisWatts,
    minOnMs: p.minOnMs,
    minOffMs: p.minOffMs,
    resumeWattsPerStep: p.resumeWattsPerStep,
    resumeIntervalMs: p.resumeIntervalMs,
    maxCurtailMs: p.maxCurtailMs,
  };
}

/** Orders by id (every tie in hashgate's plans is broken by id). */
export const byId = (a: { readonly id: string }, b: { readonly id: string }): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Rigs in id order. */
export function sortById<T extends { readonly id: string }>(list: readonly T[]): T[] {
  return [...list].sort(byId);
}
