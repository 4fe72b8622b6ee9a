/**
 * The audit engine: replays journal records (docs/journal.md, format v1 and
 * v2) and re-runs the share check on every share, as the live proxy ran it.
 *
 * Per session it rebuilds the JobStore from `ntf` records (prepared jobs are
 * shared by `jk`), so duplicate sets, clean_jobs staleness and job eviction
 * come out exactly as they did live (audit-session.ts); each share is then
 * checked with the recorded pool difficulty and the recomputed verdict (and
 * hash) compared with the recorded one.
 *
 * Local-only shares (v2) are counted apart: each `lsh` record is re-validated
 * the same way at its local difficulty (in order with the session's shares:
 * it fills the same duplicate sets); a `loc` aggregate cannot be re-validated,
 * so it is counted as recorded once the reader has checked its fields agree
 * (format.ts) and the audit that its session is open.
 *
 * Memory is bounded whatever the journal's size: sessions and jobs are LRU
 * caches (an `end` record frees its session; jobs: segment.ts), workers are
 * capped, and only the first few problems and mismatches are kept as
 * examples (tally.ts). Something the caches no longer hold is a reference
 * problem, never a crash.
 *
 * The engine is a LineSink: it does no I/O itself (run.ts reads the files), and the
 * validator is injected so the benchmark can run it with another one. As one
 * of several shards of a parallel audit it processes only its own sessions
 * (shard.ts routes the lines).
 */

import {
  checkRecord,
  type HeaderRecord,
  type JobRecord,
  JOURNAL_FORMAT_VERSION,
  type JournalRecord,
  type LocalAggregateRecord,
  type LocalShareRecord,
  type LocalVerdict,
  type NotifyRecord,
  parseRecord,
  READABLE_VERSIONS,
  type SessionRecord,
  type ShareRecord,
} from '../journal/format.js';
import type { LineSink } from '../journal/reader.js';
import type { ShareSubmit } from '../protocol/work-types.js';
import { type ShareContext, type ShareVerdict, validateShare } from '../work/validate-share.js';
import { applyNotify, type AuditSession, createAuditSession, extranonceFor, sessionContext } from './audit-session.js';
import type { AuditOptions, AuditResult, AuditShard, FileSummary, ValidateShareFn } from './audit-types.js';
import { createSegment, createSegmentFromHeader, prepareJobRecord, putJob, type Segment, touchJob } from './segment.js';
import { jkOf, lineIsHeader, routeOf, shardOf, UNPARSED } from './shard.js';
import { createShareFilter } from './share-filter.js';
import { AuditTally } from './tally.js';

export { shardOf } from './shard.js';
export type {
  AuditMismatch,
  AuditOptions,
  AuditProblem,
  AuditResult,
  AuditShard,
  FileSummary,
  ProblemKind,
  ValidateShareFn,
} from './audit-types.js';

export class AuditEngine implements LineSink {
  readonly #validate: ValidateShareFn;
  #maxSessions: number;
  readonly #maxJobs: number;
  readonly #inReport: (rec: { readonly ts: number; readonly w: string }) => boolean;
  readonly #sessions = new Map<string, AuditSession>();
  readonly #tally: AuditTally;
  readonly #shard: AuditShard | null;
  #seg: Segment | null = null;

  constructor(options: AuditOptions = {}) {
    this.#validate = options.validate ?? validateShare;
    this.#maxSessions = options.maxSessions ?? 50_000;
    this.#maxJobs = options.maxJobs ?? 4096;
    this.#tally = new AuditTally(options.maxWorkers ?? 100_000, options.maxExamples ?? 10);
    this.#inReport = createShareFilter(options);
    this.#shard = options.shard !== undefined && options.shard.count > 1 ? options.shard : null;
    if (this.#shard !== null) this.#maxSessions = Math.max(1, Math.ceil(this.#maxSessions / this.#shard.count));
  }

  /** Share records read so far (for progress). */
  get sharesRead(): number {
    return this.#tally.sharesRead;
  }

  beginFile(path: string): FileSummary {
    this.#seg = null;
    return this.#tally.beginFile(path);
  }

  endFile(bytes: number, lines: number): FileSummary {
    this.#seg = null;
    return this.#tally.endFile(bytes, lines);
  }

  line(text: string, lineNo: number): void {
    this.#tally.line = lineNo;
    if (lineNo === 1 && !lineIsHeader(text)) {
      this.#shared(() =>
        this.#tally.problem(
          'header',
          'HG_ERR_JOURNAL_RECORD',
          'the first line is not a hdr record; the file is read as format v1 with default limits',
        ),
      );
      this.#seg = createSegment();
    }
    if (this.#shard === null) this.#process(text, UNPARSED);
    else this.#routeLine(text, UNPARSED);
  }

  unterminated(text: string, lineNo: number): void {
    this.#tally.line = lineNo;
    let value: unknown = UNPARSED;
    try {
      value = JSON.parse(text);
    } catch {
      this.#shared(() =>
        this.#tally.problem(
          'truncated',
          'HG_ERR_JOURNAL_TRUNCATED',
          `last line cut off mid-record (${text.length} characters, no newline); skipped`,
        ),
      );
      return;
    }
    this.#shared(() =>
      this.#tally.problem(
        'truncated',
        'HG_ERR_JOURNAL_TRUNCATED',
        'last line has no newline (the record is complete JSON and was processed)',
      ),
    );
    if (this.#shard === null) this.#process(text, value);
    else this.#routeLine(text, value);
  }

  oversize(lineNo: number, bytes: number, terminated: boolean): void {
    this.#tally.line = lineNo;
    const tail = terminated ? '' : ' (and it is the last line, with no newline)';
    this.#shared(() =>
      this.#tally.problem('line-too-long', 'HG_ERR_JOURNAL_RECORD', `line of ${bytes} bytes is longer than the cap; skipped${tail}`),
    );
  }

  result(): AuditResult {
    return this.#tally.result();
  }

  // --- records ---------------------------------------------------------------

  /** Runs `fn` as shard 0's business: other shards apply state but stay quiet. */
  #shared(fn: () => void): void {
    const t = this.#tally;
    const was = t.quiet;
    t.quiet = this.#shard !== null && this.#shard.index !== 0;
    try {
      fn();
    } finally {
      t.quiet = was;
    }
  }

  #process(text: string, value: unknown): void {
    const version = this.#seg?.version ?? JOURNAL_FORMAT_VERSION;
    const r = value === UNPARSED ? parseRecord(text, version) : checkRecord(value, version);
    if (!r.ok) this.#tally.problem(r.kind, r.code, r.message);
    else this.#apply(r.record);
  }

  /** Shard mode: process the line if its session is ours, or (quietly unless shard 0) if it is shared. */
  #routeLine(text: string, value: unknown): void {
    const shard = this.#shard as AuditShard;
    const route = routeOf(text, value);
    if (route.sid === undefined) this.#shared(() => this.#process(text, route.value));
    else if (shardOf(route.sid, shard.count) === shard.index) this.#process(text, route.value);
    // Another shard's notify still refreshes the job in this shard's LRU, so every shard evicts
    // jobs in the same order a single engine would.
    else if (route.type === 'ntf' && this.#seg !== null) {
      const jk = jkOf(text, route.value);
      if (typeof jk === 'number') touchJob(this.#seg, jk);
    }
  }

  #apply(rec: JournalRecord): void {
    this.#tally.record();
    if (rec.t === 'hdr') {
      this.#header(rec);
      return;
    }
    // Null only after a first line that looked like a hdr but was not a valid one (already reported).
    const seg = (this.#seg ??= createSegment());
    if (seg.skip) return;
    switch (rec.t) {
      case 'share':
        this.#share(rec, seg);
        return;
      case 'lsh':
        this.#localShare(rec, seg);
        return;
      case 'loc':
        this.#aggregate(rec);
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
          this.#tally.problem('reference', 'HG_ERR_JOURNAL_REFERENCE', `end of session ${rec.sid}, which is not open here`);
        return;
    }
  }

  #header(rec: HeaderRecord): void {
    this.#tally.segment();
    if (!READABLE_VERSIONS.includes(rec.v)) {
      this.#tally.problem(
        'version',
        'HG_ERR_JOURNAL_VERSION',
        `format version ${rec.v} is not supported (this hashgate reads v${READABLE_VERSIONS.join(' and v')}); records up to the next hdr are skipped`,
      );
      this.#seg = createSegment(true);
      return;
    }
    this.#seg = createSegmentFromHeader(rec);
  }

  #session(rec: SessionRecord, seg: Segment): void {
    const s = this.#sessions.get(rec.sid);
    if (s !== undefined) {
      // A change (or a rotation re-emit): the store carries on.
      s.ctx = sessionContext(rec);
      this.#sessions.delete(rec.sid);
      this.#sessions.set(rec.sid, s);
      return;
    }
    this.#sessions.set(rec.sid, createAuditSession(rec, seg.limits));
    if (this.#sessions.size > this.#maxSessions) {
      this.#sessions.delete(this.#sessions.keys().next().value as string);
      this.#tally.evictedSession();
    }
  }

  #job(rec: JobRecord, seg: Segment): void {
    const r = prepareJobRecord(rec);
    if (!r.ok) {
      this.#tally.problem('field', 'HG_ERR_JOURNAL_RECORD', r.message);
      return;
    }
    if (seg.jobs.has(rec.jk))
      this.#tally.problem('field', 'HG_ERR_JOURNAL_RECORD', `job.jk: ${rec.jk} is defined twice in this segment; the later one is used`);
    if (putJob(seg, rec.jk, r.job, this.#maxJobs)) this.#tally.evictedJob();
  }

  #notify(rec: NotifyRecord, seg: Segment): void {
    const s = this.#sessions.get(rec.sid);
    if (s === undefined) {
      this.#tally.problem(
        'reference',
        'HG_ERR_JOURNAL_REFERENCE',
        `ntf for session ${rec.sid}, which is not open here (never opened, ended or evicted)`,
      );
      return;
    }
    const job = touchJob(seg, rec.jk);
    if (job === undefined) {
      s.taint ??= this.#tally.place;
      this.#tally.problem(
        'reference',
        'HG_ERR_JOURNAL_REFERENCE',
        `ntf refers to job jk ${rec.jk}, which this segment does not define (missing, bad or evicted)`,
      );
      return;
    }
    applyNotify(s, rec, job);
  }

  /** Re-validates a share in its session's store (in the report or not: it fills the duplicate sets either way). */
  #share(rec: ShareRecord, seg: Segment): void {
    this.#tally.shareRead();
    const inReport = this.#inReport(rec);
    const r = this.#recheck(rec, seg, inReport, () => this.#tally.count(rec));
    if (r !== null && inReport) this.#judge(rec, r.s, r.v, seg);
  }

  /** A local-only share: re-validated like a share, at its local difficulty, and counted apart. */
  #localShare(rec: LocalShareRecord, seg: Segment): void {
    const inReport = this.#inReport(rec);
    const r = this.#recheck(rec, seg, inReport, () => this.#tally.countLocal(rec.w, 1, rec.ts, rec.ts).local);
    if (r !== null && inReport) this.#judgeLocal(rec, r.s, r.v);
  }

  /**
   * Runs the share check on a `share` or `lsh` record in its session's store. Null when it cannot be run
   * (no open session, the check threw): then, if in the report, a problem and one more unverifiable in `row()`.
   */
  #recheck(
    rec: ShareRecord | LocalShareRecord,
    seg: Segment,
    inReport: boolean,
    row: () => { unverifiable: number },
  ): { s: AuditSession; v: ShareVerdict } | null {
    const t = this.#tally;
    const s = this.#sessions.get(rec.sid);
    if (s === undefined) {
      if (!inReport) return null;
      t.problem(
        'reference',
        'HG_ERR_JOURNAL_REFERENCE',
        `${rec.t === 'lsh' ? 'local-only share' : 'share'} of session ${rec.sid}, which is not open here (never opened, ended or evicted): not re-validated`,
      );
      row().unverifiable++;
      return null;
    }
    this.#sessions.delete(rec.sid);
    this.#sessions.set(rec.sid, s);
    s.restoring = false;
    // One object shape for every share (no spreads): validateShare's property reads stay monomorphic.
    const en = extranonceFor(s, rec.jid);
    const ctx: ShareContext = {
      extranonce1: en.extranonce1,
      extranonce2Size: en.extranonce2Size,
      versionMask: s.ctx.versionMask,
      difficulty: rec.d,
      ntimeWindowSeconds: seg.ntimeWindow,
    };
    const submit = { jobId: rec.jid, extranonce2: rec.en2, ntime: rec.ntm, nonce: rec.non, versionBits: rec.vb } as ShareSubmit;
    try {
      return { s, v: this.#validate(s.store, ctx, submit) };
    } catch (e) {
      if (!inReport) return null;
      t.problem('validator', 'HG_ERR_INTERNAL', `the share check threw: ${(e as Error).message}`);
      row().unverifiable++;
      return null;
    }
  }

  /**
   * True when a recorded verdict (or hash) that differs from the recomputed one cannot be called a mismatch:
   * the share is then counted as unverifiable.
   */
  #excused(rec: ShareRecord | LocalShareRecord, recorded: LocalVerdict, v: ShareVerdict, s: AuditSession, seg: Segment): boolean {
    const lv: LocalVerdict = v.valid ? v.status : v.reason;
    if (s.taint !== null) {
      this.#tally.problem(
        'reference',
        'HG_ERR_JOURNAL_REFERENCE',
        `share cannot be re-validated: session ${rec.sid} has missing jobs since ${s.taint} (recorded ${recorded}, recomputed ${lv})`,
      );
      return true;
    }
    if (recorded !== 'duplicate') return false;
    // Its twin is in an earlier file that was not part of this audit.
    if (v.valid && s.restored?.has(rec.jid as string) === true) return true;
    // Its twin may be a local-only share that this segment keeps only in an aggregate: below the pool's
    // difficulty, so without the twin it re-checks as low-difficulty at the pool's.
    return lv === 'low-difficulty' && !seg.everyLocalShare;
  }

  /** Counts a re-validated share in the report: its verdict, and whether it agrees with the recorded one. */
  #judge(rec: ShareRecord, s: AuditSession, v: ShareVerdict, seg: Segment): void {
    const t = this.#tally;
    const w = t.count(rec);
    const lv: LocalVerdict = v.valid ? v.status : v.reason;
    const hashDiffers = rec.h !== undefined && rec.h !== v.hash && rec.h.toLowerCase() !== v.hash;
    if (lv !== rec.lv || hashDiffers) {
      if (this.#excused(rec, rec.lv, v, s, seg)) {
        w.unverifiable++;
        return;
      }
      t.mismatch(rec, rec.lv, lv, v, hashDiffers && lv === rec.lv ? 'h' : 'lv', w);
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

  /** Counts a re-validated local-only share: hashgate answered it as valid (recorded `accepted` unless `lv` says otherwise). */
  #judgeLocal(rec: LocalShareRecord, s: AuditSession, v: ShareVerdict): void {
    const l = this.#tally.countLocal(rec.w, 1, rec.ts, rec.ts).local;
    const recorded = rec.lv ?? 'accepted';
    const lv: LocalVerdict = v.valid ? v.status : v.reason;
    const hashDiffers = rec.h !== undefined && rec.h !== v.hash && rec.h.toLowerCase() !== v.hash;
    if (lv !== recorded || hashDiffers) {
      if (s.taint !== null) {
        this.#tally.problem(
          'reference',
          'HG_ERR_JOURNAL_REFERENCE',
          `local-only share cannot be re-validated: session ${rec.sid} has missing jobs since ${s.taint} (recomputed ${lv})`,
        );
        l.unverifiable++;
        return;
      }
      this.#tally.mismatch(rec, recorded, lv, v, hashDiffers && lv === recorded ? 'h' : 'lv', l);
    }
    if (v.valid) {
      l.valid++;
      l.sumDifficulty += rec.d;
    } else l.invalid++;
  }

  /** A local-share aggregate: counted as recorded when its session is open (its fields were checked by format.ts). */
  #aggregate(rec: LocalAggregateRecord): void {
    if (!this.#inReport({ ts: rec.to, w: rec.w })) return;
    const t = this.#tally;
    const s = this.#sessions.get(rec.sid);
    const w = t.countLocal(rec.w, rec.n, rec.from, rec.to);
    if (s === undefined) {
      t.problem(
        'reference',
        'HG_ERR_JOURNAL_REFERENCE',
        `local-share aggregate of session ${rec.sid}, which is not open here (never opened, ended or evicted): not counted`,
      );
      w.local.unverifiable += rec.n;
      return;
    }
    this.#sessions.delete(rec.sid);
    this.#sessions.set(rec.sid, s);
    w.local.aggregates++;
    w.local.aggregated += rec.n;
    w.local.sumDifficulty += rec.d;
  }
}
