/**
 * The policy's contract (./policy.ts): the GPU need model, the settings as the operator writes them
 * and as the policy reads them, its input (depth, cap) and the budget it returns, in watts. Pure
 * types; src/throttle/types.ts re-exports them.
 */

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
