/**
 * The journal writer: append-only JSONL of sessions, jobs and shares
 * (format v1, docs/journal.md).
 *
 * Ordering. The audit replays each session's records in file order and
 * re-runs validateShare, so a session's records must reach the file in the
 * order the proxy acted on them, even though a share's record is written
 * only once the pool has answered. `submit` therefore takes the share's
 * place in its session's queue and returns a handle; records of that
 * session queued behind it (notifies, later shares, the end) wait until it
 * is settled. Other sessions are not held up.
 *
 * Compactness. A job's content is written once per segment (`job`, keyed by
 * a segment-local integer `jk`); sending it to a session costs one short
 * `ntf` line. Content is deduplicated through a bounded LRU map.
 *
 * Rotation. `reopen()` (SIGHUP after logrotate) starts a new file with a
 * header, forgets the job keys, re-emits every open session's latest `sess`
 * record, and, before a session's next record, replays the jobs its store
 * holds (`ntf` with `rp`, plus the stale ids) so each file can be audited
 * alone. With `rotateBytes`, the writer does the same by itself once the
 * file reaches that size: at the next record boundary (never inside a
 * record, nor between a `job` and the `ntf` that names it) the file is
 * renamed to `<path>.<UTC timestamp>` and a new one is started at `path`.
 * Files are opened synchronously (openSync, then a stream on the fd), so
 * the rename always moves the file the old stream writes to, and records
 * it still has buffered land there.
 *
 * Failure. Write errors never reach the caller: they are counted, passed to
 * `onError`, and later records are dropped (and counted) until `reopen()`.
 * The buffer is bounded: past `maxBufferedBytes` records are dropped.
 */

import { createWriteStream, existsSync, fstatSync, openSync, renameSync, type WriteStream } from 'node:fs';
import type { StratumJob } from '../protocol/work-types.js';
import { formatU32BE } from '../util/hex.js';
import { VERSION } from '../version.js';
import { DEFAULT_JOB_STORE_LIMITS, type JobStoreLimits } from '../work/job-store.js';
import type { ShareVerdict } from '../work/validate-share.js';
import { DEFAULT_NTIME_WINDOW_SECONDS } from '../work/validate-share.js';
import {
  encodeRecord,
  type HeaderRecord,
  JOURNAL_FORMAT_VERSION,
  type JournalRecord,
  type LocalVerdict,
  type PoolVerdict,
  type SessionRecord,
} from './format.js';

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
  /** Called after each size rotation with the name the full file was renamed to. */
  readonly onRotate?: (rotatedPath: string) => void;
  /** Called for every write error, drop episode and late verdict; never throws into the caller. */
  readonly onError?: (error: Error) => void;
}

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
  /** Pool difficulty in force. */
  readonly difficulty: number;
  /** validateShare's verdict. */
  readonly verdict: ShareVerdict;
}

/** A share waiting for the pool's answer. */
export interface PendingShare {
  /** Writes the share with the pool's verdict; false when already settled. */
  settle(pool: PoolVerdict, poolError?: readonly [number, string, ...unknown[]] | null): boolean;
}

export interface JournalWriterStats {
  readonly records: number;
  readonly bytes: number;
  readonly jobsWritten: number;
  readonly writeErrors: number;
  readonly dropped: number;
  readonly pendingShares: number;
  readonly forcedVerdicts: number;
  readonly lateVerdicts: number;
  /** Files opened (the first, each reopen and each rotation). */
  readonly files: number;
  /** Size rotations done. */
  readonly rotations: number;
}

const DEFAULTS = Object.freeze({
  maxDedupeJobs: 1024,
  maxBufferedBytes: 64 * 1024 * 1024,
  batchBytes: 64 * 1024,
  flushIntervalMs: 100,
  maxPendingMs: 60_000,
  maxQueuedPerSession: 10_000,
  rotateBytes: 0,
});

interface WJob {
  readonly key: string;
  readonly job: StratumJob;
  jk: number;
  /** File generation in which `jk` was written; -1 when not written. */
  gen: number;
  inMap: boolean;
}

interface WShare {
  readonly kind: 'share';
  readonly ts: number;
  readonly sess: WSession;
  readonly share: JournalShare;
  done: boolean;
  pv?: PoolVerdict;
  pe?: readonly [number, string] | undefined;
}

type QueueItem =
  | { readonly kind: 'sess'; readonly rec: SessionRecord }
  | { readonly kind: 'ntf'; readonly ts: number; readonly job: WJob; readonly clean: boolean }
  | { readonly kind: 'end'; readonly ts: number; readonly why: string | undefined }
  | WShare;

type Settings = typeof DEFAULTS & { readonly path: string; readonly now: () => number };

interface WSession {
  readonly sid: string;
  rec: SessionRecord | null;
  /** Mirror of the session's JobStore (same add semantics) for rotation replays. */
  readonly live: Map<string, WJob>;
  readonly stale: Set<string>;
  /** File generation the session's records were last written in. */
  gen: number;
  readonly queue: QueueItem[];
  ended: boolean;
}

function contentKey(j: StratumJob): string {
  return `${j.jobId}\u0000${j.prevhash}\u0000${j.coinb1}\u0000${j.coinb2}\u0000${j.merkleBranch.join(',')}\u0000${j.version}\u0000${j.nbits}\u0000${j.ntime}`;
}

function localVerdict(v: ShareVerdict): LocalVerdict {
  return v.valid ? v.status : v.reason;
}

export class JournalWriter {
  readonly #opt: Settings;
  readonly #onError: ((e: Error) => void) | undefined;
  readonly #onRotate: ((rotatedPath: string) => void) | undefined;
  readonly #limits: JobStoreLimits;
  readonly #ntimeWindow: number;
  #path: string;
  /** Null when the file could not be opened (records are dropped until reopen()). */
  #stream: WriteStream | null = null;
  /** Bytes in the current file: what it held when opened plus every line handed to it since. */
  #fileBytes = 0;
  #rotateBytes: number;
  /** Size at which the next rotation is due (pushed back by rotateBytes when a rename fails). */
  #rotateAt = 0;
  /** Old files still draining after a reopen or rotation; flush() and close() wait for them. */
  readonly #draining = new Set<Promise<void>>();
  #broken = false;
  #closed = false;
  #gen = 0;
  #nextJk = 0;
  readonly #dedupe = new Map<string, WJob>();
  readonly #byObject = new WeakMap<StratumJob, WJob>();
  readonly #sessions = new Map<string, WSession>();
  readonly #pending = new Set<WShare>();
  #batch: string[] = [];
  #batchBytes = 0;
  #lastWrite: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  readonly #sweeper: NodeJS.Timeout;
  #dropping = false;
  #stats = {
    records: 0,
    bytes: 0,
    jobsWritten: 0,
    writeErrors: 0,
    dropped: 0,
    forcedVerdicts: 0,
    lateVerdicts: 0,
    files: 0,
    rotations: 0,
  };

  constructor(options: JournalWriterOptions) {
    this.#opt = { ...DEFAULTS, now: Date.now, ...stripUndefined(options) } as Settings;
    this.#onError = options.onError;
    this.#onRotate = options.onRotate;
    this.#limits = Object.freeze({ ...DEFAULT_JOB_STORE_LIMITS, ...stripUndefined(options.limits ?? {}) });
    this.#ntimeWindow = options.ntimeWindowSeconds ?? DEFAULT_NTIME_WINDOW_SECONDS;
    this.#path = options.path;
    this.#rotateBytes = Math.max(0, this.#opt.rotateBytes);
    this.#open();
    this.#sweeper = setInterval(() => this.sweep(), Math.max(1000, Math.floor(this.#opt.maxPendingMs / 4)));
    this.#sweeper.unref();
  }

  get path(): string {
    return this.#path;
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
      s = { sid: info.sessionId, rec: null, live: new Map(), stale: new Set(), gen: this.#gen, queue: [], ended: false };
      this.#sessions.set(s.sid, s);
    }
    const rec: SessionRecord = {
      t: 'sess',
      ts: this.#opt.now(),
      sid: info.sessionId,
      ...(info.worker !== undefined ? { w: info.worker } : {}),
      en1: info.extranonce1,
      en2: info.extranonce2Size,
      mask: info.versionMask === null ? null : formatU32BE(info.versionMask),
      ...(info.peer !== undefined ? { peer: info.peer } : {}),
      ...(info.pool !== undefined ? { pool: info.pool } : {}),
    };
    // A session change applies to the records that follow: it takes its place in the queue like the others.
    this.#enqueue(s, { kind: 'sess', rec });
  }

  /** Records that `job` was sent to a session (mining.notify, clean_jobs = `clean`). */
  notify(sessionId: string, job: StratumJob, clean: boolean): void {
    const s = this.#sessions.get(sessionId);
    if (s === undefined || s.ended) {
      this.#misuse(`notify for unknown session ${sessionId}`);
      return;
    }
    let w = this.#byObject.get(job);
    if (w === undefined) {
      const key = contentKey(job);
      w = this.#dedupe.get(key) ?? { key, job, jk: -1, gen: -1, inMap: false };
      this.#byObject.set(job, w);
    }
    this.#enqueue(s, { kind: 'ntf', ts: this.#opt.now(), job: w, clean });
  }

  /** Takes a share's place in its session's order; the record is written when `settle` gives the pool's verdict. */
  submit(sessionId: string, share: JournalShare): PendingShare {
    const s = this.#sessions.get(sessionId) ?? this.#orphan(sessionId);
    const item: WShare = { kind: 'share', ts: this.#opt.now(), sess: s, share, done: false };
    this.#pending.add(item);
    s.queue.push(item);
    if (s.queue.length > this.#opt.maxQueuedPerSession) this.#force(s.queue.find((q) => q.kind === 'share' && !q.done) as WShare);
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

  /** Records that a session closed; its state is freed once its queued records are written. */
  endSession(sessionId: string, why?: string): void {
    const s = this.#sessions.get(sessionId);
    if (s === undefined || s.ended) return;
    s.ended = true;
    this.#enqueue(s, { kind: 'end', ts: this.#opt.now(), why });
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
  async flush(): Promise<void> {
    this.#writeBatch();
    await Promise.all([this.#lastWrite, ...this.#draining]);
  }

  /** Size rotation threshold from now on (a reload); 0 = never. */
  setRotateBytes(bytes: number): void {
    this.#rotateBytes = Math.max(0, bytes);
    this.#rotateAt = this.#rotateBytes;
  }

  /** Starts a new file (at `path`, default the current one): header, job keys reset, open sessions re-emitted. */
  async reopen(path: string = this.#path): Promise<void> {
    if (this.#closed) return;
    await this.#swap(path);
  }

  /** Writes every pending share with pv "unknown", flushes and closes the file. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const p of [...this.#pending]) this.#force(p);
    this.#writeBatch();
    this.#closed = true;
    clearInterval(this.#sweeper);
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await Promise.all([endStream(this.#stream), ...this.#draining]);
  }

  // --- internals -----------------------------------------------------------

  /**
   * Swaps to a new file at `path` synchronously (records written while the old one drains go to the
   * new file), re-emits the open sessions, and resolves once the old file is closed.
   */
  #swap(path: string): Promise<void> {
    this.#writeBatch();
    const old = this.#stream;
    this.#path = path;
    this.#gen++;
    this.#open();
    for (const s of this.#sessions.values()) {
      if (s.rec !== null) this.#line({ ...s.rec, ts: this.#opt.now() });
    }
    const ended = endStream(old);
    this.#draining.add(ended);
    void ended.then(() => this.#draining.delete(ended));
    return ended;
  }

  /**
   * Called after each complete unit of records (never between a `job` and its `ntf`): once the file
   * has reached rotateBytes, renames it to `<path>.<UTC timestamp>` and continues in a new file.
   */
  #maybeRotate(): void {
    if (this.#rotateBytes <= 0 || this.#fileBytes < this.#rotateAt || this.#closed || this.#broken || this.#stream === null) return;
    const full = this.#path;
    let rotated: string;
    try {
      rotated = rotatedName(full, this.#opt.now());
      renameSync(full, rotated);
    } catch (e) {
      // Keep writing to the current file; try again after another rotateBytes.
      this.#rotateAt = this.#fileBytes + this.#rotateBytes;
      this.#onError?.(new Error(`journal: cannot rotate ${full}: ${(e as Error).message}`));
      return;
    }
    this.#stats.rotations++;
    void this.#swap(full);
    this.#onRotate?.(rotated);
  }

  #open(): void {
    this.#broken = false;
    this.#nextJk = 0;
    for (const w of this.#dedupe.values()) w.inMap = false;
    this.#dedupe.clear();
    this.#stats.files++;
    this.#rotateAt = this.#rotateBytes;
    let fd: number;
    try {
      fd = openSync(this.#path, 'a');
      this.#fileBytes = fstatSync(fd).size;
    } catch (e) {
      // Records are dropped (and counted) until reopen().
      this.#stats.writeErrors++;
      this.#broken = true;
      this.#stream = null;
      this.#fileBytes = 0;
      this.#onError?.(e as Error);
      return;
    }
    const stream = createWriteStream('', { fd });
    stream.on('error', (e) => {
      this.#stats.writeErrors++;
      if (stream === this.#stream) this.#broken = true;
      this.#onError?.(e);
    });
    this.#stream = stream;
    const lim = this.#limits;
    const hdr: HeaderRecord = {
      t: 'hdr',
      ts: this.#opt.now(),
      v: JOURNAL_FORMAT_VERSION,
      sw: `hashgate/${VERSION}`,
      lim: { maxJobs: lim.maxJobs, maxStaleIds: lim.maxStaleIds, maxSharesPerJob: lim.maxSharesPerJob, ntimeWindow: this.#ntimeWindow },
    };
    this.#line(hdr);
  }

  #orphan(sid: string): WSession {
    // Recorded anyway (the audit will report it as a reference problem), but not kept: the proxy never said it opened.
    this.#misuse(`share for unknown session ${sid}`);
    return { sid, rec: null, live: new Map(), stale: new Set(), gen: this.#gen, queue: [], ended: true };
  }

  #misuse(message: string): void {
    this.#onError?.(new Error(`journal: ${message}`));
  }

  #enqueue(s: WSession, item: QueueItem): void {
    if (s.queue.length > 0) s.queue.push(item);
    else this.#emit(s, item);
  }

  #settle(item: WShare, pool: PoolVerdict, poolError?: readonly [number, string, ...unknown[]] | null): void {
    item.done = true;
    item.pv = pool;
    item.pe = poolError ? [Number(poolError[0]), String(poolError[1])] : undefined;
    this.#pending.delete(item);
    const s = item.sess;
    while (s.queue.length > 0) {
      const head = s.queue[0];
      if (head.kind === 'share' && !head.done) break;
      s.queue.shift();
      this.#emit(s, head);
    }
  }

  #force(item: WShare): void {
    this.#stats.forcedVerdicts++;
    this.#settle(item, 'unknown');
  }

  /** Writes one queue item with whatever it needs before it in this file; the file may rotate after it. */
  #emit(s: WSession, item: QueueItem): void {
    switch (item.kind) {
      case 'share':
        this.#emitShare(s, item);
        break;
      case 'ntf':
        this.#emitNotify(s, item.job, item.clean, item.ts);
        break;
      case 'sess':
        this.#emitSession(s, item.rec);
        break;
      case 'end':
        this.#line({ t: 'end', ts: item.ts, sid: s.sid, ...(item.why !== undefined ? { why: item.why } : {}) });
        if (this.#sessions.get(s.sid) === s) this.#sessions.delete(s.sid);
        break;
    }
    this.#maybeRotate();
  }

  #emitSession(s: WSession, rec: SessionRecord): void {
    const prev = s.rec;
    s.rec = rec;
    if (prev !== null && s.gen === this.#gen && sameSession(prev, rec)) return;
    this.#line(rec);
  }

  #emitNotify(s: WSession, job: WJob, clean: boolean, ts: number): void {
    this.#replay(s);
    this.#writeJob(job, ts);
    this.#line({ t: 'ntf', ts, sid: s.sid, jk: job.jk, clean });
    mirrorAdd(s, job, clean, this.#limits);
  }

  #emitShare(s: WSession, item: WShare): void {
    this.#replay(s);
    const { share } = item;
    const v = share.verdict;
    const sub = share.submit;
    const rec = {
      t: 'share' as const,
      ts: item.ts,
      sid: s.sid,
      w: share.worker,
      jid: sub.jobId,
      en2: sub.extranonce2,
      ntm: sub.ntime,
      non: sub.nonce,
      ...(sub.versionBits !== undefined ? { vb: sub.versionBits } : {}),
      d: share.difficulty,
      lv: localVerdict(v),
      ...(v.hash !== undefined ? { h: v.hash } : {}),
      ...(v.shareDifficulty !== undefined && Number.isFinite(v.shareDifficulty) ? { sd: v.shareDifficulty } : {}),
      pv: item.pv ?? 'unknown',
      ...(item.pe !== undefined ? { pe: item.pe } : {}),
    };
    this.#line(rec);
  }

  /** First record of a session in a new file: re-send the jobs its store holds, oldest first, and its stale ids. */
  #replay(s: WSession): void {
    if (s.gen === this.#gen) return;
    s.gen = this.#gen;
    let first = true;
    for (const job of s.live.values()) {
      this.#writeJob(job, this.#opt.now());
      this.#line({
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

  #writeJob(w: WJob, ts: number): void {
    if (w.gen === this.#gen && w.inMap) {
      // Touch: the dedupe map is an LRU in file order, which the audit's job cache mirrors.
      this.#dedupe.delete(w.key);
      this.#dedupe.set(w.key, w);
      return;
    }
    const stale = this.#dedupe.get(w.key);
    if (stale !== undefined && stale !== w) stale.inMap = false;
    w.jk = this.#nextJk++;
    w.gen = this.#gen;
    w.inMap = true;
    this.#dedupe.delete(w.key);
    this.#dedupe.set(w.key, w);
    while (this.#dedupe.size > this.#opt.maxDedupeJobs) {
      const [k, old] = this.#dedupe.entries().next().value as [string, WJob];
      old.inMap = false;
      this.#dedupe.delete(k);
    }
    const j = w.job;
    this.#stats.jobsWritten++;
    this.#line({
      t: 'job',
      ts,
      jk: w.jk,
      id: j.jobId,
      ph: j.prevhash,
      c1: j.coinb1,
      c2: j.coinb2,
      mb: j.merkleBranch,
      ver: j.version,
      nb: j.nbits,
      nt: j.ntime,
    });
  }

  #line(record: JournalRecord): void {
    if (this.#closed || this.#broken) {
      this.#stats.dropped++;
      return;
    }
    const line = `${encodeRecord(record)}\n`;
    const bytes = Buffer.byteLength(line);
    this.#stats.records++;
    this.#stats.bytes += bytes;
    this.#fileBytes += bytes;
    this.#batch.push(line);
    this.#batchBytes += line.length;
    if (this.#batchBytes >= this.#opt.batchBytes) this.#writeBatch();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#writeBatch();
      }, this.#opt.flushIntervalMs);
      this.#timer.unref();
    }
  }

  #writeBatch(): void {
    if (this.#batch.length === 0) return;
    const lines = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    const stream = this.#stream;
    if (this.#broken || stream === null || stream.destroyed) {
      this.#stats.dropped += lines.length;
      return;
    }
    if (stream.writableLength > this.#opt.maxBufferedBytes) {
      this.#stats.dropped += lines.length;
      if (!this.#dropping) this.#onError?.(new Error(`journal: write buffer above ${this.#opt.maxBufferedBytes} bytes, dropping records`));
      this.#dropping = true;
      return;
    }
    this.#dropping = false;
    this.#lastWrite = new Promise((resolve) => {
      stream.write(lines.join(''), () => resolve());
    });
  }
}

/** The same add semantics as JobStore.add, on ids and content keys only. */
function mirrorAdd(s: WSession, job: WJob, clean: boolean, limits: JobStoreLimits): void {
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

function endStream(stream: WriteStream | null): Promise<void> {
  return new Promise((resolve) => {
    if (stream === null || stream.destroyed || stream.writableFinished) return resolve();
    stream.once('close', () => resolve());
    stream.end();
  });
}

/** `<path>.<YYYYMMDDTHHMMSS.mmmZ>` (UTC; sorts in time order), with `-1`, `-2`… if that name exists. */
export function rotatedName(path: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '');
  const base = `${path}.${stamp}`;
  let name = base;
  for (let n = 1; existsSync(name); n++) name = `${base}-${n}`;
  return name;
}

function sameSession(a: SessionRecord, b: SessionRecord): boolean {
  return a.w === b.w && a.en1 === b.en1 && a.en2 === b.en2 && a.mask === b.mask && a.peer === b.peer && a.pool === b.pool;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Opens a journal for appending and writes its header. */
export function createJournalWriter(options: JournalWriterOptions): JournalWriter {
  return new JournalWriter(options);
}
