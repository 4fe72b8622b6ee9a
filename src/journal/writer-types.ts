/**
 * The journal writer's contract: its options with their defaults, and what
 * the proxy hands it (a session, a share) and gets back (a pending share).
 * The session's ShareRecorder port (src/session/ports.ts) takes
 * `JournalSession` from here as its `SessionRecord`.
 */

import type { Clock } from '../util/clock.js';
import type { JobStoreLimits } from '../work/job-store.js';
import type { ShareVerdict } from '../work/validate-share.js';
import type { LocalShareMode, PoolVerdict } from './format.js';

export interface JournalWriterOptions {
  readonly path: string;
  /** Clock (epoch ms); injected by tests. */
  readonly now?: () => number;
  /** The JobStore limits the proxy uses (recorded in the header and mirrored for rotation replays). */
  readonly limits?: Partial<JobStoreLimits>;
  readonly ntimeWindowSeconds?: number;
  /** Distinct jobs remembered for content dedupe (the audit's --max-jobs must be at least this). */
  readonly maxDedupeJobs?: number;
  /** Bytes handed to the stream but not yet written above which records are dropped. */
  readonly maxBufferedBytes?: number;
  /** Records are batched up to this many bytes before a stream write. */
  readonly batchBytes?: number;
  /** A partial batch is written after at most this long. */
  readonly flushIntervalMs?: number;
  /** A share with no pool verdict after this long is written with pv "unknown". */
  readonly maxPendingMs?: number;
  /** Queued records per session above which the oldest pending share is settled as "unknown". */
  readonly maxQueuedPerSession?: number;
  /**
   * Start a new file once the current one holds this many bytes (0 = never, the default). The
   * daemon's config requires at least 1 MiB; the writer accepts any size (tests use a few KiB).
   */
  readonly rotateBytes?: number;
  /**
   * Local-only shares (`localShare`): `mode` `aggregate` (default) writes a `loc` record per session and
   * worker every `flushMs` (default 10 s), at the session's end, at rotation and at close; `every` an
   * `lsh` record per share; `off` none. The daemon passes `journal.localShares` from its config.
   */
  readonly localShares?: { readonly mode?: LocalShareMode | undefined; readonly flushMs?: number | undefined } | undefined;
  /**
   * Timers for the end of each local-share period (default Node's, unref'd). Tests pass a fake Clock; its
   * `now` is not used: `now` above is the writer's clock.
   */
  readonly timers?: Pick<Clock, 'setTimeout' | 'clearTimeout'>;
  /** Called after each size rotation with the name the full file was renamed to. */
  readonly onRotate?: (rotatedPath: string) => void;
  /** Called for every write error, drop episode and late verdict; never throws into the caller. */
  readonly onError?: (error: Error) => void;
}

/** The defaults of the writer's numeric options. */
export const WRITER_DEFAULTS = Object.freeze({
  maxDedupeJobs: 1024,
  maxBufferedBytes: 64 * 1024 * 1024,
  batchBytes: 64 * 1024,
  flushIntervalMs: 100,
  maxPendingMs: 60_000,
  maxQueuedPerSession: 10_000,
  rotateBytes: 0,
});

/** The options in force: the defaults overlaid with what was given. */
export type WriterSettings = typeof WRITER_DEFAULTS & { readonly path: string; readonly now: () => number };

/** What the proxy knows about a session. */
export interface JournalSession {
  readonly sessionId: string;
  readonly worker?: string | undefined;
  readonly extranonce1: string;
  readonly extranonce2Size: number;
  readonly versionMask: number | null;
  readonly peer?: string | undefined;
  readonly pool?: string | undefined;
}

/** mining.submit parameters exactly as the miner sent them. */
export interface RawSubmit {
  readonly jobId: unknown;
  readonly extranonce2: unknown;
  readonly ntime: unknown;
  readonly nonce: unknown;
  readonly versionBits?: unknown;
}

export interface JournalShare {
  readonly worker: string;
  readonly submit: RawSubmit;
  /** Pool difficulty in force (for a local-only share: the local difficulty it was checked at). */
  readonly difficulty: number;
  /** validateShare's verdict. */
  readonly verdict: ShareVerdict;
}

/** A share waiting for the pool's answer. */
export interface PendingShare {
  /** Writes the share with the pool's verdict; false when already settled. */
  settle(pool: PoolVerdict, poolError?: readonly [number, string, ...unknown[]] | null): boolean;
}

/** Options without the keys given as undefined (so they do not hide a default). */
export function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
