/**
 * The audit engine: replays journal records (docs/journal.md) and re-runs
 * the share check on every share, as the live proxy ran it.
 *
 * Per session it rebuilds the JobStore from `ntf` records (prepared jobs are
 * shared by `jk`), so duplicate sets, clean_jobs staleness and job eviction
 * come out exactly as they did live; each share is then checked with the
 * recorded pool difficulty and the recomputed verdict (and hash) compared
 * with the recorded one.
 *
 * Memory is bounded whatever the journal's size: sessions and jobs are LRU
 * caches (an `end` record frees its session), workers are capped, and only
 * the first few problems and mismatches are kept as examples. Something the
 * caches no longer hold is a reference problem, never a crash.
 *
 * The engine is a LineSink: it does no I/O itself (run.ts reads the files), and the
 * validator is injected so the benchmark can run it with another one.
 */

import {
  checkRecord,
  type JournalLimits,
  type JournalRecord,
  type LocalVerdict,
  type NotifyRecord,
  parseRecord,
  type SessionRecord,
  type ShareRecord,
} from '../journal/format.js';
import type { LineSink } from '../journal/reader.js';
import type { ShareSubmit } from '../protocol/work-types.js';
import type { ErrorCode } from '../util/errors.js';
import { parseU32BE } from '../util/hex.js';
import { type PreparedJob, prepareJob } from '../work/job.js';
import { JobStore, type JobStoreLimits } from '../work/job-store.js';
import { type ShareContext, type ShareVerdict, validateShare } from '../work/validate-share.js';
import { globToRegExp, mergeStats, newWorkerStats, OTHER_WORKERS, sortReasons, type WorkerStats } from './stats.js';

export type ValidateShareFn = (store: JobStore, ctx: ShareContext, submit: ShareSubmit) => ShareVerdict;

export interface AuditOptions {
  /** The share check to replay (default validateShare). */
  readonly validate?: ValidateShareFn;
  /** Open sessions kept (LRU; default 50,000). */
  readonly maxSessions?: number;
  /** Jobs kept by jk per segment (LRU; default 4,096; must be ≥ the writer's dedupe window). */
  readonly maxJobs?: number;
  /** Workers reported separately; the rest are pooled as "(other workers)" (default 100,000). */
  readonly maxWorkers?: number;
  /** Examples kept per problem kind, and mismatches kept (default 10). */
  readonly maxExamples?: number;
  /** Report only shares whose worker matches one of these globs (* and ?). */
  readonly workers?: readonly string[];
  /** Report only shares with ts ≥ since (epoch ms). */
  readonly since?: number;
  /** Report only shares with ts < until (epoch ms). */
  readonly until?: number;
  readonly maxLineBytes?: number;
  /** Process only the sessions hashed to this shard (parallel audits; see parallel.ts). */
  readonly shard?: AuditShard;
}

/**
 * One of `count` engines reading the same files. Session records (sess, ntf,
 * share, end) go to the shard their sid hashes to; hdr and job records, and
 * lines that cannot be routed, are processed by every shard (they need the
 * segment's jobs) but counted and reported by shard 0 only, so merged results
 * equal a single engine's.
 */
export interface AuditShard {
  readonly index: number;
  readonly count: number;
}

export type ProblemKind =
  'json' | 'record-type' | 'field' | 'version' | 'header' | 'line-too-long' | 'truncated' | 'reference' | 'validator';

export interface AuditProblem {
  readonly file: string;
  readonly line: number;
  readonly kind: ProblemKind;
  readonly code: ErrorCode;
  readonly message: string;
}

export interface AuditMismatch {
  readonly file: string;
  readonly line: number;
  readonly sid: string;
  readonly worker: string;
  readonly jobId: string;
  /** lv: the verdicts differ; h: same verdict, different hash. */
  readonly field: 'lv' | 'h';
  readonly recorded: { readonly lv: LocalVerdict; readonly h: string | null };
  readonly recomputed: { readonly lv: LocalVerdict; readonly h: string | null; readonly detail: string | null };
}

export interface FileSummary {
  readonly path: string;
  bytes: number;
  lines: number;
  records: number;
  shares: number;
  problems: number;
  segments: number;
}

export interface AuditResult {
  /** clean: nothing wrong; damaged: problems, no mismatch; mismatch: a recorded verdict disagrees. */
  readonly verdict: 'clean' | 'damaged' | 'mismatch';
  readonly files: readonly FileSummary[];
  readonly workers: readonly WorkerStats[];
  readonly totals: WorkerStats;
  readonly problems: {
    readonly count: number;
    readonly byKind: Partial<Record<ProblemKind, number>>;
    readonly examples: readonly AuditProblem[];
  };
  readonly mismatches: { readonly count: number; readonly examples: readonly AuditMismatch[] };
  /** Every share record read, including filtered-out ones. */
  readonly sharesRead: number;
  readonly records: number;
  readonly bytes: number;
  readonly evicted: { readonly sessions: number; readonly jobs: number };
}

interface Session {
  ctx: { extranonce1: string; extranonce2Size: number; versionMask: number | null };
  readonly store: JobStore;
  /** No ntf applied yet. */
  fresh: boolean;
  /** Ids of jobs restored from a rotation replay while the session had no earlier state here. */
  restored: Set<string> | null;
  /** Inside the run of replayed ntf records that is restoring this session. */
  restoring: boolean;
  /** Where the session's job state became incomplete (a skipped ntf), until the next clean notify. */
  taint: string | null;
}

interface Segment {
  readonly skip: boolean;
  readonly limits: Partial<JobStoreLimits>;
  readonly ntimeWindow: number | undefined;
  readonly jobs: Map<number, PreparedJob>;
}

const SESSION_TYPES = new Set(['sess', 'ntf', 'share', 'end']);
/** Writer-formatted session records start `{"t":…,"ts":…,"sid":"…"`: routable without JSON.parse. */
const ROUTE_RE = /^\{"t":"([a-z]+)","ts":[-+.\deE]+,"sid":"([^"\\]*)"/;
const TYPE_RE = /^\{"t":"([a-z]+)"/;
const JK_RE = /"jk":(\d+)[,}]/;
const UNPARSED = Symbol('unparsed');

/** FNV-1a of the sid, modulo the shard count. */
export function shardOf(sid: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sid.length; i++) h = Math.imul(h ^ sid.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return UNPARSED;
  }
}

function lineIsHeader(text: string): boolean {
  const m = TYPE_RE.exec(text);
  if (m !== null) return m[1] === 'hdr';
  try {
    return (JSON.parse(text) as { t?: unknown } | null)?.t === 'hdr';
  } catch {
    return false;
  }
}
const JOB_FIELD_KEYS: Record<string, string> = {
  jobId: 'id',
  prevhash: 'ph',
  coinb1: 'c1',
  coinb2: 'c2',
  merkleBranch: 'mb',
  version: 'ver',
  nbits: 'nb',
  ntime: 'nt',
};

/** A stand-in job used only to put ids into a store's stale set (restoreStale). */
const PLACEHOLDER = (() => {
  const r = prepareJob({
    jobId: 'x',
    prevhash: '00'.repeat(32),
    coinb1: '',
    coinb2: '',
    merkleBranch: [],
    version: '20000000',
    nbits: '1d00ffff',
    ntime: '00000000',
  });
  if (!r.ok) throw new Error('placeholder job');
  return r.job;
})();

/**
 * Rebuilds a fresh store's stale set from a rotation replay: each id is added
 * as a placeholder and retired by re-adding the session's oldest live job with
 * clean_jobs, which marks them stale in order, as JobStore.add did live.
 */
function restoreStale(store: JobStore, staleIds: readonly string[], anchor: PreparedJob): void {
  for (const id of staleIds) {
    if (id === anchor.jobId) continue;
    store.add({ ...PLACEHOLDER, jobId: id, wire: { ...PLACEHOLDER.wire, jobId: id } }, false);
    store.add(anchor, true);
  }
  store.add(anchor, false);
}

export class AuditEngine implements LineSink {
  readonly #validate: ValidateShareFn;
  #maxSessions: number;
  readonly #maxJobs: number;
  readonly #maxWorkers: number;
  readonly #maxExamples: number;
  readonly #workerRes: readonly RegExp[] | null;
  readonly #since: number;
  readonly #until: number;
  readonly #filterCache = new Map<string, boolean>();
  readonly #sessions = new Map<string, Session>();
  readonly #workers = new Map<string, WorkerStats>();
  readonly #files: FileSummary[] = [];
  readonly #problemCounts: Partial<Record<ProblemKind, number>> = {};
  readonly #problemExamples: AuditProblem[] = [];
  readonly #mismatchExamples: AuditMismatch[] = [];
  #problems = 0;
  #mismatches = 0;
  #sharesRead = 0;
  #records = 0;
  #evictedSessions = 0;
  #evictedJobs = 0;
  readonly #shard: AuditShard | null;
  /** Processing a shared line in a shard other than 0: apply it, count and report nothing. */
  #quiet = false;
  #file: FileSummary | null = null;
  #seg: Segment | null = null;
  #line = 0;

  constructor(options: AuditOptions = {}) {
    this.#validate = options.validate ?? validateShare;
    this.#maxSessions = options.maxSessions ?? 50_000;
    this.#maxJobs = options.maxJobs ?? 4096;
    this.#maxWorkers = options.maxWorkers ?? 100_000;
    this.#maxExamples = options.maxExamples ?? 10;
    this.#workerRes = options.workers !== undefined && options.workers.length > 0 ? options.workers.map(globToRegExp) : null;
    this.#since = options.since ?? Number.NEGATIVE_INFINITY;
    this.#until = options.until ?? Number.POSITIVE_INFINITY;
    this.#shard = options.shard !== undefined && options.shard.count > 1 ? options.shard : null;
    if (this.#shard !== null) this.#maxSessions = Math.max(1, Math.ceil(this.#maxSessions / this.#shard.count));
  }

  /** Share records read so far (for progress). */
  get sharesRead(): number {
    return this.#sharesRead;
  }

  beginFile(path: string): FileSummary {
    this.#file = { path, bytes: 0, lines: 0, records: 0, shares: 0, problems: 0, segments: 0 };
    this.#files.push(this.#file);
    this.#seg = null;
    return this.#file;
  }

  endFile(bytes: number, lines: number): FileSummary {
    const f = this.#currentFile();
    f.bytes = bytes;
    f.lines = lines;
    this.#file = null;
    this.#seg = null;
    return f;
  }

  line(text: string, lineNo: number): void {
    this.#line = lineNo;
    if (lineNo === 1 && !lineIsHeader(text)) {
      this.#shared(() =>
        this.#problem(
          'header',
          'HG_ERR_JOURNAL_RECORD',
          'the first line is not a hdr record; the file is read as format v1 with default limits',
        ),
      );
      this.#seg = { skip: false, limits: {}, ntimeWindow: undefined, jobs: new Map() };
    }
    if (this.#shard === null) this.#process(text, UNPARSED);
    else this.#routeLine(text);
  }

  unterminated(text: string, lineNo: number): void {
    this.#line = lineNo;
    let value: unknown = UNPARSED;
    try {
      value = JSON.parse(text);
    } catch {
      this.#shared(() =>
        this.#problem(
          'truncated',
          'HG_ERR_JOURNAL_TRUNCATED',
          `last line cut off mid-record (${text.length} characters, no newline); skipped`,
        ),
      );
      return;
    }
    this.#shared(() =>
      this.#problem('truncated', 'HG_ERR_JOURNAL_TRUNCATED', 'last line has no newline (the record is complete JSON and was processed)'),
    );
    if (this.#shard === null) this.#process(text, value);
    else this.#routeLine(text, value);
  }

  oversize(lineNo: number, bytes: number, terminated: boolean): void {
    this.#line = lineNo;
    const tail = terminated ? '' : ' (and it is the last line, with no newline)';
    this.#shared(() =>
      this.#problem('line-too-long', 'HG_ERR_JOURNAL_RECORD', `line of ${bytes} bytes is longer than the cap; skipped${tail}`),
    );
  }

  result(): AuditResult {
    const totals = newWorkerStats('(total)');
    const workers = [...this.#workers.values()].sort((a, b) => (a.worker < b.worker ? -1 : a.worker > b.worker ? 1 : 0));
    for (const w of workers) {
      w.invalid = sortReasons(w.invalid);
      mergeStats(totals, w);
    }
    const verdict = this.#mismatches > 0 ? 'mismatch' : this.#problems > 0 ? 'damaged' : 'clean';
    return {
      verdict,
      files: this.#files,
      workers,
      totals,
      problems: { count: this.#problems, byKind: { ...this.#problemCounts }, examples: [...this.#problemExamples] },
      mismatches: { count: this.#mismatches, examples: [...this.#mismatchExamples] },
      sharesRead: this.#sharesRead,
      records: this.#records,
      bytes: this.#files.reduce((n, f) => n + f.bytes, 0),
      evicted: { sessions: this.#evictedSessions, jobs: this.#evictedJobs },
    };
  }

  // --- records ---------------------------------------------------------------

  #currentFile(): FileSummary {
    return this.#file ?? this.beginFile('(input)');
  }

  /** Runs `fn` as shard 0's business: other shards apply state but stay quiet. */
  #shared(fn: () => void): void {
    const was = this.#quiet;
    this.#quiet = this.#shard !== null && this.#shard.index !== 0;
    try {
      fn();
    } finally {
      this.#quiet = was;
    }
  }

  #process(text: string, value: unknown): void {
    const r = value === UNPARSED ? parseRecord(text) : checkRecord(value);
    if (!r.ok) this.#problem(r.kind, r.code, r.message);
    else this.#apply(r.record);
  }

  /** Shard mode: process the line if its session is ours, or (quietly unless shard 0) if it is shared. */
  #routeLine(text: string, value: unknown = UNPARSED): void {
    const shard = this.#shard as AuditShard;
    let sid: string | undefined;
    let type: unknown;
    if (value === UNPARSED) {
      const m = ROUTE_RE.exec(text);
      if (m !== null && SESSION_TYPES.has(m[1])) {
        sid = m[2];
        type = m[1];
      } else {
        const t = TYPE_RE.exec(text)?.[1];
        if (t !== 'hdr' && t !== 'job') value = tryParse(text);
      }
    }
    if (sid === undefined && value !== null && typeof value === 'object') {
      const o = value as { t?: unknown; sid?: unknown };
      if (typeof o.t === 'string' && SESSION_TYPES.has(o.t) && typeof o.sid === 'string') {
        sid = o.sid;
        type = o.t;
      }
    }
    if (sid !== undefined) {
      if (shardOf(sid, shard.count) === shard.index) this.#process(text, value);
      else if (type === 'ntf') this.#touchJob(text, value);
      return;
    }
    this.#shared(() => this.#process(text, value));
  }

  /**
   * Another shard's notify still refreshes the job in this shard's LRU, so
   * every shard evicts jobs in the same order a single engine would.
   */
  #touchJob(text: string, value: unknown): void {
    const jobs = this.#seg?.jobs;
    if (jobs === undefined) return;
    const jk = value === UNPARSED ? Number(JK_RE.exec(text)?.[1]) : (value as { jk?: unknown }).jk;
    if (typeof jk !== 'number') return;
    const job = jobs.get(jk);
    if (job === undefined) return;
    jobs.delete(jk);
    jobs.set(jk, job);
  }

  #apply(rec: JournalRecord): void {
    const file = this.#currentFile();
    if (!this.#quiet) {
      file.records++;
      this.#records++;
    }
    if (rec.t === 'hdr') {
      this.#header(rec.v, rec.lim);
      return;
    }
    let seg = this.#seg;
    if (seg === null) {
      // Only after a first line that looked like a hdr but was not a valid one (already reported).
      seg = this.#seg = { skip: false, limits: {}, ntimeWindow: undefined, jobs: new Map() };
    }
    if (seg.skip) return;
    switch (rec.t) {
      case 'share':
        this.#share(rec, seg);
        return;
      case 'ntf':
        this.#notify(rec, seg);
        return;
      case 'job':
        this.#job(rec, seg);
        return;
      case 'sess':
        this.#session(rec, seg);
        return;
      case 'end':
        if (!this.#sessions.delete(rec.sid))
          this.#problem('reference', 'HG_ERR_JOURNAL_REFERENCE', `end of session ${rec.sid}, which is not open here`);
        return;
    }
  }

  #header(v: number, lim: JournalLimits | undefined): void {
    if (!this.#quiet) this.#currentFile().segments++;
    if (v !== 1) {
      this.#problem(
        'version',
        'HG_ERR_JOURNAL_VERSION',
        `format version ${v} is not supported (this hashgate reads v1); records up to the next hdr are skipped`,
      );
      this.#seg = { skip: true, limits: {}, ntimeWindow: undefined, jobs: new Map() };
      return;
    }
    const limits: Partial<JobStoreLimits> = {
      ...(lim?.maxJobs !== undefined ? { maxJobs: lim.maxJobs } : {}),
      ...(lim?.maxStaleIds !== undefined ? { maxStaleIds: lim.maxStaleIds } : {}),
      ...(lim?.maxSharesPerJob !== undefined ? { maxSharesPerJob: lim.maxSharesPerJob } : {}),
    };
    this.#seg = { skip: false, limits, ntimeWindow: lim?.ntimeWindow, jobs: new Map() };
  }

  #session(rec: SessionRecord, seg: Segment): void {
    const ctx = {
      extranonce1: rec.en1,
      extranonce2Size: rec.en2,
      versionMask: rec.mask === null ? null : (parseU32BE(rec.mask) as number),
    };
    const s = this.#sessions.get(rec.sid);
    if (s !== undefined) {
      // A change (or a rotation re-emit): the store carries on.
      s.ctx = ctx;
      this.#sessions.delete(rec.sid);
      this.#sessions.set(rec.sid, s);
      return;
    }
    this.#sessions.set(rec.sid, { ctx, store: new JobStore(seg.limits), fresh: true, restored: null, restoring: false, taint: null });
    if (this.#sessions.size > this.#maxSessions) {
      this.#sessions.delete(this.#sessions.keys().next().value as string);
      this.#evictedSessions++;
    }
  }

  #job(rec: Extract<JournalRecord, { t: 'job' }>, seg: Segment): void {
    const r = prepareJob({
      jobId: rec.id,
      prevhash: rec.ph,
      coinb1: rec.c1,
      coinb2: rec.c2,
      merkleBranch: rec.mb,
      version: rec.ver,
      nbits: rec.nb,
      ntime: rec.nt,
    });
    if (!r.ok) {
      const field = r.error.field.replace(/^job\.(\w+)/, (_m, k: string) => `job.${JOB_FIELD_KEYS[k] ?? k}`);
      this.#problem('field', 'HG_ERR_JOURNAL_RECORD', `${field}: ${r.error.message}`);
      return;
    }
    if (seg.jobs.has(rec.jk)) {
      this.#problem('field', 'HG_ERR_JOURNAL_RECORD', `job.jk: ${rec.jk} is defined twice in this segment; the later one is used`);
      seg.jobs.delete(rec.jk);
    }
    seg.jobs.set(rec.jk, r.job);
    if (seg.jobs.size > this.#maxJobs) {
      seg.jobs.delete(seg.jobs.keys().next().value as number);
      if (!this.#quiet) this.#evictedJobs++;
    }
  }

  #notify(rec: NotifyRecord, seg: Segment): void {
    const s = this.#sessions.get(rec.sid);
    if (s === undefined) {
      this.#problem(
        'reference',
        'HG_ERR_JOURNAL_REFERENCE',
        `ntf for session ${rec.sid}, which is not open here (never opened, ended or evicted)`,
      );
      return;
    }
    const job = seg.jobs.get(rec.jk);
    if (job === undefined) {
      s.taint ??= `${this.#currentFile().path}:${this.#line}`;
      this.#problem(
        'reference',
        'HG_ERR_JOURNAL_REFERENCE',
        `ntf refers to job jk ${rec.jk}, which this segment does not define (missing, bad or evicted)`,
      );
      return;
    }
    seg.jobs.delete(rec.jk);
    seg.jobs.set(rec.jk, job);
    if (rec.rp === true && (s.fresh || s.restoring)) {
      // Rotation replay into a session this audit has no history for: rebuild its store as it stood.
      s.restoring = true;
      s.restored ??= new Set();
      s.restored.add(job.jobId);
      if (s.fresh && rec.stale !== undefined && rec.stale.length > 0) restoreStale(s.store, rec.stale, job);
      else s.store.add(job, false);
    } else if (rec.rp === true) {
      // The audit already holds this session's state (files read in order): the replay changes nothing.
      s.store.add(job, false);
    } else {
      s.restoring = false;
      if (rec.clean) {
        s.taint = null;
        s.restored = null;
      }
      s.store.add(job, rec.clean);
    }
    s.fresh = false;
  }

  #share(rec: ShareRecord, seg: Segment): void {
    this.#sharesRead++;
    this.#currentFile().shares++;
    const inFilter = this.#matches(rec);
    const s = this.#sessions.get(rec.sid);
    if (s === undefined) {
      if (!inFilter) return;
      this.#problem(
        'reference',
        'HG_ERR_JOURNAL_REFERENCE',
        `share of session ${rec.sid}, which is not open here (never opened, ended or evicted): not re-validated`,
      );
      this.#count(rec).unverifiable++;
      return;
    }
    this.#sessions.delete(rec.sid);
    this.#sessions.set(rec.sid, s);
    s.restoring = false;
    // One object shape for every share (no spreads): validateShare's property reads stay monomorphic.
    const c = s.ctx;
    const ctx: ShareContext = {
      extranonce1: c.extranonce1,
      extranonce2Size: c.extranonce2Size,
      versionMask: c.versionMask,
      difficulty: rec.d,
      ntimeWindowSeconds: seg.ntimeWindow,
    };
    const submit = { jobId: rec.jid, extranonce2: rec.en2, ntime: rec.ntm, nonce: rec.non, versionBits: rec.vb } as ShareSubmit;
    let v: ShareVerdict;
    try {
      v = this.#validate(s.store, ctx, submit);
    } catch (e) {
      if (!inFilter) return;
      this.#problem('validator', 'HG_ERR_INTERNAL', `the share check threw: ${(e as Error).message}`);
      this.#count(rec).unverifiable++;
      return;
    }
    if (!inFilter) return;
    const w = this.#count(rec);
    const lv: LocalVerdict = v.valid ? v.status : v.reason;
    const hashDiffers = rec.h !== undefined && rec.h !== v.hash && rec.h.toLowerCase() !== v.hash;
    if (lv !== rec.lv || hashDiffers) {
      if (s.taint !== null) {
        this.#problem(
          'reference',
          'HG_ERR_JOURNAL_REFERENCE',
          `share cannot be re-validated: session ${rec.sid} has missing jobs since ${s.taint} (recorded ${rec.lv}, recomputed ${lv})`,
        );
        w.unverifiable++;
        return;
      }
      if (rec.lv === 'duplicate' && v.valid && s.restored?.has(rec.jid as string)) {
        // Its twin is in an earlier file that was not part of this audit.
        w.unverifiable++;
        return;
      }
      this.#mismatch(rec, lv, v, hashDiffers && lv === rec.lv ? 'h' : 'lv', w);
    }
    if (v.valid) {
      w.valid++;
      if (v.status === 'block') w.blocks++;
      w.sumDifficulty += rec.d;
      if (rec.pv === 'rejected') w.disputes++;
    } else {
      w.invalid[v.reason] = (w.invalid[v.reason] ?? 0) + 1;
      if (rec.pv === 'accepted') w.poolAcceptedLocallyInvalid++;
    }
  }

  #matches(rec: ShareRecord): boolean {
    if (rec.ts < this.#since || rec.ts >= this.#until) return false;
    const res = this.#workerRes;
    if (res === null) return true;
    let hit = this.#filterCache.get(rec.w);
    if (hit === undefined) {
      hit = res.some((re) => re.test(rec.w));
      if (this.#filterCache.size >= 100_000) this.#filterCache.clear();
      this.#filterCache.set(rec.w, hit);
    }
    return hit;
  }

  /** The worker's stats with this share counted in shares / first / last. */
  #count(rec: ShareRecord): WorkerStats {
    let w = this.#workers.get(rec.w);
    if (w === undefined) {
      const key = this.#workers.size >= this.#maxWorkers ? OTHER_WORKERS : rec.w;
      w = this.#workers.get(key);
      if (w === undefined) {
        w = newWorkerStats(key);
        this.#workers.set(key, w);
      }
    }
    w.shares++;
    if (w.firstTs === null || rec.ts < w.firstTs) w.firstTs = rec.ts;
    if (w.lastTs === null || rec.ts > w.lastTs) w.lastTs = rec.ts;
    return w;
  }

  #mismatch(rec: ShareRecord, lv: LocalVerdict, v: ShareVerdict, field: 'lv' | 'h', w: WorkerStats): void {
    this.#mismatches++;
    w.mismatches++;
    if (this.#mismatchExamples.length >= this.#maxExamples) return;
    this.#mismatchExamples.push({
      file: this.#currentFile().path,
      line: this.#line,
      sid: rec.sid,
      worker: rec.w,
      jobId: String(rec.jid),
      field,
      recorded: { lv: rec.lv, h: rec.h ?? null },
      recomputed: { lv, h: v.hash ?? null, detail: v.valid ? null : v.detail },
    });
  }

  #problem(kind: ProblemKind, code: ErrorCode, message: string): void {
    if (this.#quiet) return;
    this.#problems++;
    this.#currentFile().problems++;
    const n = (this.#problemCounts[kind] ?? 0) + 1;
    this.#problemCounts[kind] = n;
    if (n <= this.#maxExamples) this.#problemExamples.push({ file: this.#currentFile().path, line: this.#line, kind, code, message });
  }
}
