/**
 * Per-worker audit numbers: what one row of the report holds, and how rows
 * merge (workers pooled past the cap, shards of a parallel audit, totals).
 * Shares the pool saw or could have seen (`share` records) and local-only
 * shares (format v2 `lsh` and `loc` records) are counted apart.
 */

import { REJECT_REASONS } from '../protocol/stratum-errors.js';

/** The row that pools workers past the cap. */
export const OTHER_WORKERS = '(other workers)';

/** A worker's local-only shares (answered by hashgate at its local difficulty, never forwarded). */
export interface LocalStats {
  /** Local-only shares in the report: aggregated + valid + invalid + unverifiable. */
  shares: number;
  /** Counted from `loc` aggregates, as recorded (an aggregate cannot be re-validated). */
  aggregated: number;
  /** `loc` records counted. */
  aggregates: number;
  /** `lsh` records re-validated as valid. */
  valid: number;
  /** `lsh` records recomputed invalid (each is also a mismatch: hashgate answered them as valid). */
  invalid: number;
  /** `lsh` records whose recorded verdict or hash differs from the recomputed one. */
  mismatches: number;
  /** Not re-checkable (session or jobs missing), or aggregates of a session that is not open. */
  unverifiable: number;
  /** Sum of local difficulty: aggregates' `d` plus valid `lsh` records' `d`. */
  sumDifficulty: number;
  firstTs: number | null;
  lastTs: number | null;
}

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
  /** Local-only shares, apart from the shares above. */
  local: LocalStats;
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
    local: newLocalStats(),
  };
}

export function newLocalStats(): LocalStats {
  return {
    shares: 0,
    aggregated: 0,
    aggregates: 0,
    valid: 0,
    invalid: 0,
    mismatches: 0,
    unverifiable: 0,
    sumDifficulty: 0,
    firstTs: null,
    lastTs: null,
  };
}

/** Widens [first, last] to include [from, to]. */
export function widenSpan(x: { firstTs: number | null; lastTs: number | null }, from: number | null, to: number | null): void {
  if (from !== null && (x.firstTs === null || from < x.firstTs)) x.firstTs = from;
  if (to !== null && (x.lastTs === null || to > x.lastTs)) x.lastTs = to;
}

function mergeLocal(into: LocalStats, l: LocalStats): void {
  into.shares += l.shares;
  into.aggregated += l.aggregated;
  into.aggregates += l.aggregates;
  into.valid += l.valid;
  into.invalid += l.invalid;
  into.mismatches += l.mismatches;
  into.unverifiable += l.unverifiable;
  into.sumDifficulty += l.sumDifficulty;
  widenSpan(into, l.firstTs, l.lastTs);
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
  widenSpan(into, w.firstTs, w.lastTs);
  mergeLocal(into.local, w.local);
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
