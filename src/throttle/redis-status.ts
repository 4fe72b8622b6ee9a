/**
 * The status hash the Redis adapter (./redis.ts) writes for the site's scheduler: its fields and
 * how long it lives (docs/throttling.md). Pure: no connection here.
 */

import type { ThrottleStatus } from './types.js';

/** The status hash expires after this many loop intervals, so a dead hashgate's status ages out. */
export const STATUS_TTL_INTERVALS = 10;

const n = (x: number | null): string => (x === null ? '' : String(Math.round(x)));

/**
 * The status hash's fields. Watts are rounded to integers; an unknown value
 * (depth or cap) is the empty string; redisHealthy is "1" or "0"; updatedAt is
 * milliseconds since the epoch; rigs is JSON [{id, state, watts, alert}].
 */
export function statusFields(s: ThrottleStatus): Record<string, string> {
  return {
    mode: s.mode,
    depth: s.depth === null ? '' : String(s.depth),
    capWatts: n(s.capWatts),
    siteWatts: n(s.budget.siteWatts),
    gpuNeedWatts: n(s.budget.gpuNeedWatts),
    asicBudgetWatts: n(s.budget.asicWatts),
    asicWatts: n(s.asicWatts),
    freedWatts: n(s.freedWatts),
    curtailedRigs: String(s.curtailedRigs),
    reducedRigs: String(s.reducedRigs),
    redisHealthy: s.redis.healthy ? '1' : '0',
    updatedAt: String(s.updatedAt),
    rigs: JSON.stringify(s.rigs.map((r) => ({ id: r.id, state: r.state, watts: Math.round(r.watts), alert: r.alert }))),
  };
}
