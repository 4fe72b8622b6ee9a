/**
 * The journal writer: append-only JSONL of sessions, jobs and shares
 * (format v2, docs/journal.md).
 *
 * Ordering. The audit replays each session's records in file order and
 * re-runs validateShare, so a session's records must reach the file in the
 * order the proxy acted on them, even though a share's record is written
 * only once the pool has answered. `submit` therefore takes the share's
 * place in its session's queue and returns a handle; records of that
 * session queued behind it (notifies, later shares, the end) wait until it
 * is settled. Other sessions are not held up (session-queue.ts).
 *
 * Compactness. A job's content is written once per segment (`job`, keyed by
 * a segment-local integer `jk`); sending it to a session costs one short
 * `ntf` line. Content is deduplicated through a bounded LRU map (job-keys.ts).
 *
 * Rotation. `reopen()` (SIGHUP after logrotate) starts a new file with a
 * header, forgets the job keys, re-emits every open session's latest `sess`
 * record, and, before a session's next record, replays the jobs its store
 * holds (`ntf` with `rp`, plus the stale ids) so each file can be audited
 * alone. With `rotateBytes`, the writer does the same by itself once the
 * file reaches that size: at the next record boundary (never inside a
 * record, nor between a `job` and the `ntf` that names it) the file is
 * renamed to `<path>.<UTC timestamp>` and a new one is started at `path`.
 *
 * Local-only shares (shares below the pool's difficulty that hashgate
 * answered itself) are aggregated per session and worker and written as
 * `loc` records when each period of `localShares.flushMs` ends (checked on
 * every local share, and by a timer at the period's end: `timers`), at the session's end (in its queue,
 * before the `end`), before a rotation (into the old file) and at close, so
 * none is lost and no aggregate spans two files; or, with mode `every`, each
 * is written as an `lsh` record in its session's order, like a share
 * (local-shares.ts).
 *
 * Failure. Write errors never reach the caller: they are counted, passed to
 * `onError`, and later records are dropped (and counted) until `reopen()`.
 * The buffer is bounded: past `maxBufferedBytes` records are dropped. The
 * file, its batching and its rotation are journal-file.ts.
 */

import type { StratumJob } from '../protocol/work-types.js';
import type { ClockTimer } from '../util/clock.js';
import { DEFAULT_JOB_STORE_LIMITS, type JobStoreLimits } from '../work/job-store.js';
import { DEFAULT_NTIME_WINDOW_SECONDS } from '../work/validate-share.js';
import {
  buildHeaderRecord,
  buildJobRecord,
  buildLocalAggregateRecord,
  buildLocalShareRecord,
  buildSessionRecord,
  buildShareRecord,
} from './build-records.js';
import type { PoolVerdict, SessionRecord } from './format.js';
import { JournalFile } from './journal-file.js';
import { JobKeys, type WJob } from './job-keys.js';
import {
  addLocalShare,
  type LocalShareSettings,
  localShareSettings,
  type LocalShareTimers,
  NODE_TIMERS,
  periodEnd,
} from './local-shares.js';
import { createWSession, mirrorAdd, type QueueItem, sameSession, settleShare, type WSession, type WShare } from './session-queue.js';
import { createWriterCounters, type JournalWriterStats } from './writer-stats.js';
import {
  type JournalSession,
  type JournalShare,
  type JournalWriterOptions,
  type PendingShare,
  stripUndefined,
  WRITER_DEFAULTS,
  type WriterSettings,
} from './writer-types.js';

export { rotatedName } from './journal-file.js';
export { LOCAL_SHARE_DEFAULTS, type LocalShareSettings } from './local-shares.js';
export type { JournalWriterStats } from './writer-stats.js';
export type { JournalSession, JournalShare, JournalWriterOptions, PendingShare, RawSubmit } from './writer-types.js';

export class JournalWriter {
  readonly #opt: WriterSettings;
  readonly #onError: ((e: Error) => void) | undefined;
  readonly #onRotate: ((rotatedPath: string) => void) | undefined;
  readonly #limits: JobStoreLimits;
  readonly #ntimeWindow: number;
  readonly #stats = createWriterCounters();
  readonly #file: JournalFile;
  /** File generation: bumped by every reopen and rotation (job keys and replays are per file). */
  #gen = 0;
  readonly #jobs: JobKeys;
  readonly #sessions = new Map<string, WSession>();
  readonly #pending = new Set<WShare>();
  readonly #sweeper: NodeJS.Timeout;
  readonly #local: LocalShareSettings;
  /** When the current local-share period ends (aggregate mode). */
  #localDue: number;
  readonly #timers: LocalShareTimers;
  #localTimer: ClockTimer | undefined;

  constructor(options: JournalWriterOptions) {
    this.#opt = { ...WRITER_DEFAULTS, now: Date.now, ...stripUndefined(options) } as WriterSettings;
    this.#local = localShareSettings(stripUndefined(options.localShares ?? {}));
    this.#localDue = periodEnd(this.#opt.now(), this.#local.flushMs);
    this.#timers = options.timers ?? NODE_TIMERS;
    this.#onError = options.onError;
    this.#onRotate = options.onRotate;
    this.#limits = Object.freeze({ ...DEFAULT_JOB_STORE_LIMITS, ...stripUndefined(options.limits ?? {}) });
    this.#ntimeWindow = options.ntimeWindowSeconds ?? DEFAULT_NTIME_WINDOW_SECONDS;
    this.#jobs = new JobKeys(this.#opt.maxDedupeJobs);
    this.#file = new JournalFile({
      settings: this.#opt,
      counters: this.#stats,
      header: () => buildHeaderRecord(this.#opt.now(), this.#limits, this.#ntimeWindow, this.#local.mode),
      onError: this.#onError,
    });
    this.#sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.floor(this.#opt.maxPendingMs / 4)));
    this.#sweeper.unref();
    this.#armLocalTimer();
  }

  /** How local-only shares are journaled. */
  get localShares(): LocalShareSettings {
    return this.#local;
  }

  get path(): string {
    return this.#file.path;
  }

  get stats(): JournalWriterStats {
    return { ...this.#stats, pendingShares: this.#pending.size };
  }

  /** Records a session's opening, or a change of its extranonce1 / size / mask / worker. */
  session(info: JournalSession): void {
    let s = this.#sessions.get(info.sessionId);
    if (s?.ended) {
      // Session ids are never reused (journal.md): its end may still be queued behind a pending share.
      this.#misuse(`session ${info.sessionId} was ended; session ids must not be reused`);
      return;
    }
    if (s === undefined) {
      s = createWSession(info.sessionId, this.#gen);
      this.#sessions.set(s.sid, s);
    }
    // A session change applies to the records that follow: it takes its place in the queue like the others.
    this.#enqueue(s, { kind: 'sess', rec: buildSessionRecord(this.#opt.now(), info) });
  }

  /** Records that `job` was sent to a session (mining.notify, clean_jobs = `clean`). */
  notify(sessionId: string, job: StratumJob, clean: boolean): void {
    const s = this.#sessions.get(sessionId);
    if (s === undefined || s.ended) {
      this.#misuse(`notify for unknown session ${sessionId}`);
      return;
    }
    this.#enqueue(s, { kind: 'ntf', ts: this.#opt.now(), job: this.#jobs.of(job), clean });
  }

  /** Takes a share's place in its session's order; the record is written when `settle` gives the pool's verdict. */
  submit(sessionId: string, share: JournalShare): PendingShare {
    const s = this.#sessions.get(sessionId) ?? this.#orphan(sessionId);
    const item: WShare = { kind: 'share', ts: this.#opt.now(), sess: s, share, done: false };
    this.#pending.add(item);
    s.queue.push(item);
    this.#capQueue(s);
    return {
      settle: (pool, poolError) => {
        if (item.done) {
          this.#stats.lateVerdicts++;
          return false;
        }
        this.#settle(item, pool, poolError);
        return true;
      },
    };
  }

  /** A share whose pool verdict is already known (e.g. "not-sent"). */
  share(sessionId: string, share: JournalShare, pool: PoolVerdict, poolError?: readonly [number, string, ...unknown[]] | null): void {
    this.submit(sessionId, share).settle(pool, poolError);
  }

  /**
   * A valid share below the pool's difficulty that hashgate answered itself (never forwarded); `share.difficulty`
   * is the local difficulty it was checked at. Aggregated, written one by one, or dropped, by `localShares.mode`.
   */
  localShare(sessionId: string, share: JournalShare): void {
    if (this.#local.mode === 'off') return;
    const s = this.#sessions.get(sessionId);
    if (s === undefined || s.ended) {
      this.#misuse(`local share for unknown session ${sessionId}`);
      return;
    }
    const now = this.#opt.now();
    if (this.#local.mode === 'every') {
      this.#enqueue(s, { kind: 'lsh', ts: now, share });
      this.#capQueue(s);
      return;
    }
    this.flushLocalShares(now);
    addLocalShare((s.local ??= new Map()), share.worker, now, share.difficulty);
  }

  /**
   * Once the current period has ended (at `now`), writes every session's local-share aggregates and starts
   * the next period; returns the `loc` records written. Called on each local share and by a timer; public for tests.
   */
  flushLocalShares(now = this.#opt.now()): number {
    if (now < this.#localDue) return 0;
    this.#localDue = periodEnd(now, this.#local.flushMs);
    const n = this.#writeAggregates(now);
    if (n > 0) this.#maybeRotate();
    return n;
  }

  /** Records that a session closed; its state is freed once its queued records are written. */
  endSession(sessionId: string, why?: string): void {
    const s = this.#sessions.get(sessionId);
    if (s === undefined || s.ended) return;
    s.ended = true;
    const now = this.#opt.now();
    // Its aggregates keep their place: after its earlier records, before its end.
    for (const a of s.local?.values() ?? []) this.#enqueue(s, { kind: 'loc', rec: buildLocalAggregateRecord(now, s.sid, a) });
    s.local = null;
    this.#enqueue(s, { kind: 'end', ts: now, why });
  }

  /** Settles shares that waited longer than maxPendingMs as "unknown". Called by a timer; public for tests. */
  sweep(now = this.#opt.now()): number {
    let n = 0;
    for (const p of this.#pending) {
      if (now - p.ts >= this.#opt.maxPendingMs) {
        this.#force(p);
        n++;
      }
    }
    return n;
  }

  /** Hands every buffered record to the stream and resolves when the stream (and any rotated file still draining) has written them. */
  flush(): Promise<void> {
    return this.#file.flush();
  }

  /** Size rotation threshold from now on (a reload); 0 = never. */
  setRotateBytes(bytes: number): void {
    this.#file.setRotateBytes(bytes);
  }

  /** Starts a new file (at `path`, default the current one): header, job keys reset, open sessions re-emitted. */
  async reopen(path: string = this.#file.path): Promise<void> {
    if (this.#file.closed) return;
    await this.#swap(path);
  }

  /** Writes every pending share with pv "unknown", flushes and closes the file. */
  async close(): Promise<void> {
    if (this.#file.closed) return;
    for (const p of [...this.#pending]) this.#force(p);
    this.#writeAggregates(this.#opt.now());
    clearInterval(this.#sweeper);
    if (this.#localTimer !== undefined) this.#timers.clearTimeout(this.#localTimer);
    this.#localTimer = undefined;
    await this.#file.close();
  }

  // --- internals -----------------------------------------------------------

  /**
   * Swaps to a new file at `path` synchronously (records written while the old one drains go to the
   * new file), re-emits the open sessions, and resolves once the old file is closed.
   */
  #swap(path: string): Promise<void> {
    // Aggregates end with the file they were counted in: each file stays self-contained.
    this.#writeAggregates(this.#opt.now());
    this.#gen++;
    this.#jobs.reset();
    const ended = this.#file.swap(path);
    for (const s of this.#sessions.values()) {
      if (s.rec !== null) this.#file.line({ ...s.rec, ts: this.#opt.now() });
    }
    return ended;
  }

  /** Called after each complete unit of records (never between a `job` and its `ntf`). */
  #maybeRotate(): void {
    const rotated = this.#file.rotateIfDue();
    if (rotated === null) return;
    void this.#swap(this.#file.path);
    this.#onRotate?.(rotated);
  }

  #orphan(sid: string): WSession {
    // Recorded anyway (the audit will report it as a reference problem), but not kept: the proxy never said it opened.
    this.#misuse(`share for unknown session ${sid}`);
    return createWSession(sid, this.#gen, true);
  }

  #misuse(message: string): void {
    this.#onError?.(new Error(`journal: ${message}`));
  }

  /**
   * Aggregate mode: a timer at the end of the current period writes its aggregates even when no local share
   * comes after it (a curtailed fleet); a local share past the end writes them first anyway.
   */
  #armLocalTimer(): void {
    if (this.#local.mode !== 'aggregate' || this.#file.closed) return;
    this.#localTimer = this.#timers.setTimeout(
      () => {
        this.#localTimer = undefined;
        this.flushLocalShares();
        this.#armLocalTimer();
      },
      Math.max(0, this.#localDue - this.#opt.now()),
    );
  }

  /** Past maxQueuedPerSession records queued behind a pending share, that share is settled as "unknown". */
  #capQueue(s: WSession): void {
    if (s.queue.length > this.#opt.maxQueuedPerSession) this.#force(s.queue.find((q) => q.kind === 'share' && !q.done) as WShare);
  }

  /** Writes every open aggregate (straight to the file: an aggregate is not re-validated, so it needs no place in its session's order). */
  #writeAggregates(ts: number): number {
    let n = 0;
    for (const s of this.#sessions.values()) {
      if (s.local === null) continue;
      for (const a of s.local.values()) this.#file.line(buildLocalAggregateRecord(ts, s.sid, a));
      n += s.local.size;
      s.local = null;
    }
    return n;
  }

  #enqueue(s: WSession, item: QueueItem): void {
    if (s.queue.length > 0) s.queue.push(item);
    else this.#emit(s, item);
  }

  #settle(item: WShare, pool: PoolVerdict, poolError?: readonly [number, string, ...unknown[]] | null): void {
    this.#pending.delete(item);
    settleShare(item, pool, poolError, (s, next) => this.#emit(s, next));
  }

  #force(item: WShare): void {
    this.#stats.forcedVerdicts++;
    this.#settle(item, 'unknown');
  }

  /** Writes one queue item with whatever it needs before it in this file; the file may rotate after it. */
  #emit(s: WSession, item: QueueItem): void {
    switch (item.kind) {
      case 'share':
        this.#replay(s);
        this.#file.line(buildShareRecord(item.ts, s.sid, item.share, item.pv, item.pe));
        break;
      case 'lsh':
        this.#replay(s);
        this.#file.line(buildLocalShareRecord(item.ts, s.sid, item.share));
        break;
      case 'loc':
        this.#file.line(item.rec);
        break;
      case 'ntf':
        this.#replay(s);
        this.#writeJob(item.job, item.ts);
        this.#file.line({ t: 'ntf', ts: item.ts, sid: s.sid, jk: item.job.jk, clean: item.clean });
        mirrorAdd(s, item.job, item.clean, this.#limits);
        break;
      case 'sess':
        this.#emitSession(s, item.rec);
        break;
      case 'end':
        this.#file.line({ t: 'end', ts: item.ts, sid: s.sid, ...(item.why !== undefined ? { why: item.why } : {}) });
        if (this.#sessions.get(s.sid) === s) this.#sessions.delete(s.sid);
        break;
    }
    this.#maybeRotate();
  }

  #emitSession(s: WSession, rec: SessionRecord): void {
    const prev = s.rec;
    s.rec = rec;
    if (prev !== null && s.gen === this.#gen && sameSession(prev, rec)) return;
    this.#file.line(rec);
  }

  /** First record of a session in a new file: re-send the jobs its store holds, oldest first, and its stale ids. */
  #replay(s: WSession): void {
    if (s.gen === this.#gen) return;
    s.gen = this.#gen;
    let first = true;
    for (const job of s.live.values()) {
      this.#writeJob(job, this.#opt.now());
      this.#file.line({
        t: 'ntf',
        ts: this.#opt.now(),
        sid: s.sid,
        jk: job.jk,
        clean: false,
        rp: true,
        ...(first && s.stale.size > 0 ? { stale: [...s.stale] } : {}),
      });
      first = false;
    }
  }

  /** The job's record, unless this file has it under a key already. */
  #writeJob(w: WJob, ts: number): void {
    if (!this.#jobs.place(w, this.#gen)) return;
    this.#stats.jobsWritten++;
    this.#file.line(buildJobRecord(ts, w.jk, w.job));
  }
}

/** Opens a journal for appending and writes its header. */
export function createJournalWriter(options: JournalWriterOptions): JournalWriter {
  return new JournalWriter(options);
}
