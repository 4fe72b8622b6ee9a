/**
 * The audit's report filter (--worker, --since, --until): which shares are
 * counted and reported. Shares outside it are still re-validated, because
 * they change their session's JobStore (duplicate sets) like any other.
 */

import type { AuditOptions } from './audit-types.js';
import { globToRegExp } from './stats.js';

/** Worker names remembered with their match; past this the cache starts again. */
const MAX_CACHED_WORKERS = 100_000;

/**
 * Whether a share is in the report: ts in [since, until), worker matching one of the globs (all when none).
 * A local-share aggregate is given with the ts of its last share (`to`).
 */
export function createShareFilter(
  options: Pick<AuditOptions, 'workers' | 'since' | 'until'>,
): (rec: { readonly ts: number; readonly w: string }) => boolean {
  const res = options.workers !== undefined && options.workers.length > 0 ? options.workers.map(globToRegExp) : null;
  const since = options.since ?? Number.NEGATIVE_INFINITY;
  const until = options.until ?? Number.POSITIVE_INFINITY;
  const cache = new Map<string, boolean>();
  return (rec) => {
    if (rec.ts < since || rec.ts >= until) return false;
    if (res === null) return true;
    let hit = cache.get(rec.w);
    if (hit === undefined) {
      hit = res.some((re) => re.test(rec.w));
      if (cache.size >= MAX_CACHED_WORKERS) cache.clear();
      cache.set(rec.w, hit);
    }
    return hit;
  };
}
