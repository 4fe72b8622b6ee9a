/**
 * The throttle policy: queue depth and site cap in, the ASIC fleet's power
 * budget out. Pure functions of their inputs (no Redis, no clock).
 *
 *   site      = min(throttle.siteBudgetWatts, Redis cap)
 *   headroom  = site × headroomPercent / 100      (cooling swings, inrush)
 *   GPU need  = the gpu model at this depth        (worst case when the depth is unknown)
 *   ASIC      = max(0, site − base load − headroom − GPU need)
 *
 * Reference: docs/throttling.md.
 */

import type { Budget, GpuNeedModel, PolicyInput, PolicySettings, PolicySpec } from './types.js';

/** Watts (rounded to the watt) with thousands separators, locale-independent: 1234567.4 -> "1,234,567 W". */
export function formatWatts(watts: number): string {
  if (!Number.isFinite(watts)) return `${watts > 0 ? '∞' : watts < 0 ? '-∞' : '?'} W`;
  const n = Math.round(watts);
  const digits = Math.abs(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${n < 0 ? '-' : ''}${digits} W`;
}

/** A duration for an operator: "45 s", "2 min 5 s", "3 h 10 min". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever';
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return s % 60 === 0 ? `${m} min` : `${m} min ${s % 60} s`;
  const h = Math.floor(m / 60);
  return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`;
}

/**
 * The GPUs' power need at a queue depth. `linear`: idleWatts + wattsPerRequest × depth, at most
 * maxWatts (never below idleWatts: a cap under the idle draw would hide watts the GPUs really use).
 * `steps`: the watts of the last step whose depth ≤ the queue depth.
 *
 * depth null (unknown: Redis stale or unreachable) answers the model's maximum, the worst case:
 * the budget that leaves is the safe floor the `shed` stale mode plans against. A negative depth
 * counts as 0; NaN as unknown.
 */
export function gpuNeedWatts(model: GpuNeedModel, depth: number | null): number {
  const unknown = depth === null || Number.isNaN(depth);
  const d = unknown ? 0 : Math.max(0, depth);
  switch (model.kind) {
    case 'linear': {
      const cap = Math.max(model.maxWatts, model.idleWatts);
      if (unknown) return cap;
      // 0 × Infinity is NaN: with no per-request watts the depth does not matter.
      const perRequest = model.wattsPerRequest === 0 ? 0 : model.wattsPerRequest * d;
      return Math.min(model.idleWatts + perRequest, cap);
    }
    case 'steps': {
      if (model.steps.length === 0) return 0;
      if (unknown) return Math.max(...model.steps.map((s) => s.watts));
      let watts = model.steps[0]!.watts;
      for (const s of model.steps) {
        if (s.depth > d) break;
        watts = s.watts;
      }
      return watts;
    }
  }
}

/**
 * The ASIC budget. The effective site budget is the configured contract, or the Redis cap when
 * that is lower (demand response); a cap that is not a finite number ≥ 0 is ignored.
 */
export function computeBudget(settings: PolicySettings, input: PolicyInput): Budget {
  const cap = input.capWatts !== null && Number.isFinite(input.capWatts) ? Math.max(0, input.capWatts) : Number.POSITIVE_INFINITY;
  const siteWatts = Math.min(settings.siteBudgetWatts, cap);
  const headroomWatts = (siteWatts * settings.headroomPercent) / 100;
  const gpu = gpuNeedWatts(settings.gpu, input.depth);
  return {
    siteWatts,
    gpuNeedWatts: gpu,
    headroomWatts,
    baseLoadWatts: settings.baseLoadWatts,
    asicWatts: Math.max(0, siteWatts - settings.baseLoadWatts - headroomWatts - gpu),
  };
}

/**
 * The policy settings from the options as the operator writes them (a validated `throttle` config section is a
 * PolicySpec): the GPU model's two written forms become a tagged union.
 */
export function policyFromConfig(throttle: PolicySpec): PolicySettings {
  const g = throttle.gpu;
  const gpu: GpuNeedModel =
    'steps' in g
      ? { kind: 'steps', steps: g.steps.map((s) => ({ depth: s.depth, watts: s.watts })) }
      : { kind: 'linear', idleWatts: g.idleWatts, wattsPerRequest: g.wattsPerRequest, maxWatts: g.maxWatts };
  return {
    siteBudgetWatts: throttle.siteBudgetWatts,
    baseLoadWatts: throttle.baseLoadWatts,
    headroomPercent: throttle.headroomPercent,
    gpu,
  };
}
