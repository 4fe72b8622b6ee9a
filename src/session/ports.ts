/**
 * The session's ports: what a miner session needs from the outside, named
 * and shaped by the session. The daemon plugs adapters in (the pool
 * upstream, the journal writer, the admin metrics); the session loads none
 * of them (where an adapter's own contract fits, it takes that type under its
 * own name), so it can be driven in tests with fakes.
 */

import type { JournalSession } from '../journal/writer-types.js';
import type { RejectReason } from '../protocol/stratum-errors.js';
import type { ShareSubmit, StratumJob } from '../protocol/work-types.js';
import type { ShareVerdict } from '../work/validate-share.js';

/** The pool side of one session: the upstream's own contract (src/upstream/types.ts), under the session's names. */
export type {
  RequestOptions as PoolRequestOptions,
  Upstream as PoolLink,
  UpstreamEvent as PoolEvent,
  UpstreamNotice as PoolNotice,
  UpstreamReply as PoolReply,
} from '../upstream/types.js';

/** How the pool answered a share, as the share recorder keeps it. */
export type PoolVerdict = 'accepted' | 'rejected' | 'not-sent' | 'timeout' | 'unknown';

/**
 * What the recorder keeps about a session (re-sent whenever it changes: extranonce, mask, worker):
 * the journal's own input shape (src/journal/writer-types.ts), under the session's name.
 */
export type SessionRecord = JournalSession;

/** One checked share: the submit as the miner sent it, the difficulty it was checked at, the local verdict. */
export interface ShareRecord {
  readonly worker: string;
  readonly submit: ShareSubmit;
  readonly difficulty: number;
  readonly verdict: ShareVerdict;
}

/** A recorded share waiting for the pool's verdict. */
export interface PendingShareRecord {
  settle(pool: PoolVerdict, poolError?: readonly [number, string] | null): unknown;
}

/** Where jobs, shares and both verdicts go (the journal). */
export interface ShareRecorder {
  session(record: SessionRecord): void;
  notify(sessionId: string, job: StratumJob, clean: boolean): void;
  submit(sessionId: string, share: ShareRecord): PendingShareRecord;
  /**
   * A valid share below the pool's difficulty (a local difficulty is set): answered by hashgate, never forwarded.
   * `difficulty` is the miner's (local) difficulty it was checked at. The journal keeps these as periodic per-worker
   * aggregates by default, or each one when configured (docs/journal.md). Optional: a recorder without it drops them.
   */
  localShare?(sessionId: string, share: ShareRecord): void;
  endSession(sessionId: string, why?: string): void;
}

/** A share's local verdict for the metrics: a reason outside the work core's list is "other". */
export type ShareMetric =
  { readonly verdict: 'accepted'; readonly difficulty: number } | { readonly verdict: 'rejected'; readonly reason: RejectReason | 'other' };

/** Where the session's counters go (the admin endpoint's metrics). */
export interface SessionMetrics {
  countShare(event: ShareMetric): void;
  countPoolAnswer(result: 'accepted' | 'rejected' | 'timeout'): void;
  /** Round-trip time of one submit to the pool, milliseconds. */
  observePoolRtt(ms: number): void;
  countPoolDisagreement(): void;
}
