/**
 * The /status document of the admin endpoint (./server.ts): the daemon's counters, pools, sessions
 * with one row per worker (bounded), the journal's stats and the throttle's status, read from the
 * AdminSource at request time.
 */

import type { ThrottleStatus } from '../throttle/types.js';
import { hashrateOf } from '../work/worker-stats.js';
import type { AdminCounters, AdminSource, JournalStats, PoolView, Readiness } from './types.js';

/** /status lists at most this many workers (the rest are counted in `workersOmitted`). */
export const MAX_STATUS_WORKERS = 10_000;

export interface WorkerStatusRow {
  readonly worker: string;
  readonly session: string;
  readonly peer: string;
  readonly status: string;
  readonly pool: string | null;
  readonly difficulty: number;
  readonly accepted: number;
  readonly rejected: Readonly<Record<string, number>>;
  readonly rejectedTotal: number;
  readonly poolRejected: number;
  readonly poolTimeouts: number;
  readonly disagreements: number;
  readonly blocks: number;
  readonly acceptedDifficulty: number;
  /** H/s estimated from accepted difficulty since the session started (d × 2^32 hashes per share). */
  readonly hashrate: number;
  readonly firstShareAt: number | null;
  readonly lastShareAt: number | null;
  readonly poolRttMs: number | null;
}

export interface StatusDocument {
  readonly version: string;
  readonly now: number;
  readonly startedAt: number;
  readonly uptimeSeconds: number;
  readonly ready: Readiness;
  readonly counters: AdminCounters;
  readonly pools: readonly PoolView[];
  readonly sessions: {
    readonly count: number;
    readonly byStatus: Readonly<Record<string, number>>;
    readonly workers: readonly WorkerStatusRow[];
    readonly workersOmitted: number;
  };
  readonly journal: JournalStats | null;
  readonly throttle: ThrottleStatus | null;
}

/** The /status document (times are ms since the epoch). */
export function buildStatus(source: AdminSource, now: number, maxWorkers = MAX_STATUS_WORKERS): StatusDocument {
  const sessions = source.sessions();
  const byStatus: Record<string, number> = {};
  const workers: WorkerStatusRow[] = [];
  let omitted = 0;
  for (const s of sessions) {
    byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    for (const [worker, w] of s.workers) {
      if (workers.length >= maxWorkers) {
        omitted++;
        continue;
      }
      const rejected: Record<string, number> = {};
      let rejectedTotal = 0;
      for (const [reason, n] of Object.entries(w.rejected)) {
        if (n === undefined || n === 0) continue;
        rejected[reason] = n;
        rejectedTotal += n;
      }
      workers.push({
        worker,
        session: s.id,
        peer: s.peer,
        status: s.status,
        pool: s.pool,
        difficulty: s.difficulty,
        accepted: w.accepted,
        rejected,
        rejectedTotal,
        poolRejected: w.poolRejected,
        poolTimeouts: w.poolTimeouts,
        disagreements: w.disagreements,
        blocks: w.blocks,
        acceptedDifficulty: w.acceptedDifficulty,
        hashrate: hashrateOf(w, s.startedAt, now),
        firstShareAt: w.firstShareAt,
        lastShareAt: w.lastShareAt,
        poolRttMs: w.poolRttMs,
      });
    }
  }
  return {
    version: source.version,
    now,
    startedAt: source.startedAt,
    uptimeSeconds: Math.max(0, Math.floor((now - source.startedAt) / 1000)),
    ready: source.ready(),
    counters: source.daemonCounters(),
    pools: source.pools(),
    sessions: { count: sessions.length, byStatus, workers, workersOmitted: omitted },
    journal: source.journal(),
    throttle: source.throttle(),
  };
}
