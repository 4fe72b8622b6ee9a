/**
 * The writer's per-session state: the queue that keeps a session's records
 * in the order the proxy acted on them (a share holds back what follows it
 * until the pool has answered), and a mirror of the session's JobStore for
 * rotation replays.
 */

import type { JobStoreLimits } from '../work/job-store.js';
import type { LocalAggregate } from './build-records.js';
import type { LocalAggregateRecord, PoolVerdict, SessionRecord } from './format.js';
import type { WJob } from './job-keys.js';
import type { JournalShare } from './writer-types.js';

/** A share in its session's queue; `done` once the pool's verdict (or "unknown") is known. */
export interface WShare {
  readonly kind: 'share';
  readonly ts: number;
  readonly sess: WSession;
  readonly share: JournalShare;
  done: boolean;
  pv?: PoolVerdict;
  pe?: readonly [number, string] | undefined;
}

export type QueueItem =
  | { readonly kind: 'sess'; readonly rec: SessionRecord }
  | { readonly kind: 'ntf'; readonly ts: number; readonly job: WJob; readonly clean: boolean }
  | { readonly kind: 'end'; readonly ts: number; readonly why: string | undefined }
  | { readonly kind: 'lsh'; readonly ts: number; readonly share: JournalShare }
  | { readonly kind: 'loc'; readonly rec: LocalAggregateRecord }
  | WShare;

export interface WSession {
  readonly sid: string;
  rec: SessionRecord | null;
  /** Mirror of the session's JobStore (same add semantics) for rotation replays. */
  readonly live: Map<string, WJob>;
  readonly stale: Set<string>;
  /** File generation the session's records were last written in. */
  gen: number;
  readonly queue: QueueItem[];
  ended: boolean;
  /** Local-only shares aggregated per worker since the last `loc` records (null when none). */
  local: Map<string, LocalAggregate> | null;
}

export function createWSession(sid: string, gen: number, ended = false): WSession {
  return { sid, rec: null, live: new Map(), stale: new Set(), gen, queue: [], ended, local: null };
}

/** Gives `item` its pool verdict, then hands `emit` every record of its session no longer held back, in order. */
export function settleShare(
  item: WShare,
  pool: PoolVerdict,
  poolError: readonly [number, string, ...unknown[]] | null | undefined,
  emit: (s: WSession, item: QueueItem) => void,
): void {
  item.done = true;
  item.pv = pool;
  item.pe = poolError ? [Number(poolError[0]), String(poolError[1])] : undefined;
  const s = item.sess;
  while (s.queue.length > 0) {
    const head = s.queue[0];
    if (head.kind === 'share' && !head.done) break;
    s.queue.shift();
    emit(s, head);
  }
}

/** The same add semantics as JobStore.add, on ids and content keys only. */
export function mirrorAdd(s: WSession, job: WJob, clean: boolean, limits: JobStoreLimits): void {
  const id = job.job.jobId;
  if (clean) {
    for (const other of [...s.live.keys()]) {
      if (other === id) continue;
      s.stale.delete(other);
      s.stale.add(other);
      while (s.stale.size > limits.maxStaleIds) s.stale.delete(s.stale.values().next().value as string);
      s.live.delete(other);
    }
  }
  s.stale.delete(id);
  s.live.delete(id);
  s.live.set(id, job);
  while (s.live.size > limits.maxJobs) s.live.delete(s.live.keys().next().value as string);
}

export function sameSession(a: SessionRecord, b: SessionRecord): boolean {
  return a.w === b.w && a.en1 === b.en1 && a.en2 === b.en2 && a.mask === b.mask && a.peer === b.peer && a.pool === b.pool;
}
