/**
 * Per-worker audit numbers: what one row of the report holds, and how rows
 * merge (workers pooled past the cap, shards of a parallel audit, totals).
 */

import { REJECT_REASONS } from '../protocol/stratum-errors.js';

/** The row that pools workers past the cap. */
export const OTHER_WORKERS = '(other workers)';

export interface WorkerStats {
  readonly worker: string;
  shares: number;
  valid: number;
  blocks: number;
  /** Recomputed reject reason → count. */
  invalid: Record<string, number>;
  /** Shares that could not be re-validated (missing context); not in valid / invalid. */
  unverifiable: number;
  /** Pool rejected, recomputed valid. */
  disputes: number;
  /** Pool accepted, recomputed invalid. */
  poolAcceptedLocallyInvalid: number;
  /** Recorded verdict differs from the recomputed one. */
  mismatches: number;
  /** Sum of pool difficulty over valid shares. */
  sumDifficulty: number;
  firstTs: number | null;
  lastTs: number | null;
}

/** Hashrate implied by a summed pool difficulty over a span: sumDiff · 2^32 / seconds; null when the span is 0. */
export function impliedHashrate(sumDifficulty: number, firstTs: number | null, lastTs: number | null): number | null {
  if (firstTs === null || lastTs === null || lastTs <= firstTs) return null;
  return (sumDifficulty * 2 ** 32) / ((lastTs - firstTs) / 1000);
}

/** A worker glob (* any run, ? one character) as an anchored RegExp. */
export function globToRegExp(glob: string): RegExp {
  const body = glob
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${body}$`, 's');
}

export function newWorkerStats(worker: string): WorkerStats {
  return {
    worker,
    shares: 0,
    valid: 0,
    blocks: 0,
    invalid: {},
    unverifiable: 0,
    disputes: 0,
    poolAcceptedLocallyInvalid: 0,
    mismatches: 0,
    sumDifficulty: 0,
    firstTs: null,
    lastTs: null,
  };
}

/** Reject reasons in validateShare's order, for a stable key order in reports. */
export function sortReasons(invalid: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of REJECT_REASONS) if (invalid[r] !== undefined) out[r] = invalid[r];
  for (const [k, n] of Object.entries(invalid)) if (out[k] === undefined) out[k] = n;
  return out;
}

export function mergeStats(into: WorkerStats, w: WorkerStats): void {
  into.shares += w.shares;
  into.valid += w.valid;
  into.blocks += w.blocks;
  const invalid = { ...into.invalid };
  for (const [k, n] of Object.entries(w.invalid)) invalid[k] = (invalid[k] ?? 0) + n;
  into.invalid = sortReasons(invalid);
  into.unverifiable += w.unverifiable;
  into.disputes += w.disputes;
  into.poolAcceptedLocallyInvalid += w.poolAcceptedLocallyInvalid;
  into.mismatches += w.mismatches;
  into.sumDifficulty += w.sumDifficulty;
  if (w.firstTs !== null && (into.firstTs === null || w.firstTs < into.firstTs)) into.firstTs = w.firstTs;
  if (w.lastTs !== null && (into.lastTs === null || w.lastTs > into.lastTs)) into.lastTs = w.lastTs;
}

/**
 * The row of `worker` in `rows`, created on first use. Once `rows` holds `maxWorkers` rows, a new
 * worker is counted in the OTHER_WORKERS row instead.
 */
export function workerRow(rows: Map<string, WorkerStats>, worker: string, maxWorkers: number): WorkerStats {
  let w = rows.get(worker);
  if (w === undefined) {
    const key = rows.size >= maxWorkers ? OTHER_WORKERS : worker;
    w = rows.get(key);
    if (w === undefined) {
      w = newWorkerStats(key);
      rows.set(key, w);
    }
  }
  return w;
}

/** The rows in worker-name order (code unit order, as the report and --json list them). */
export function sortWorkers(rows: Iterable<WorkerStats>): WorkerStats[] {
  return [...rows].sort((a, b) => (a.worker < b.worker ? -1 : a.worker > b.worker ? 1 : 0));
}
