/**
 * What an audit counts and keeps while it reads: the files, the per-worker
 * rows, the problems and mismatches (all counted, the first few kept as
 * examples, so memory stays bounded), and the place (file and line) being
 * read, which every example names. `result()` turns it into an AuditResult.
 */

import type { LocalVerdict } from '../journal/format.js';
import type { ErrorCode } from '../util/errors.js';
import type { ShareVerdict } from '../work/validate-share.js';
import type { AuditMismatch, AuditProblem, AuditResult, FileSummary, ProblemKind } from './audit-types.js';
import { mergeStats, newWorkerStats, sortReasons, sortWorkers, widenSpan, workerRow, type WorkerStats } from './stats.js';

/** What a mismatch example names: a `share` or `lsh` record. */
export interface CheckedRecord {
  readonly t: 'share' | 'lsh';
  readonly ts: number;
  readonly sid: string;
  readonly w: string;
  readonly jid: unknown;
  readonly h?: string;
}

/** clean: nothing wrong; damaged: problems, no mismatch; mismatch: a recorded verdict disagrees. */
export function verdictOf(mismatches: number, problems: number): AuditResult['verdict'] {
  return mismatches > 0 ? 'mismatch' : problems > 0 ? 'damaged' : 'clean';
}

export class AuditTally {
  readonly #maxWorkers: number;
  readonly #maxExamples: number;
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
  #file: FileSummary | null = null;
  /** The line being read (from 1). */
  line = 0;
  /** Processing a shared line in a shard other than 0: count and report nothing of it. */
  quiet = false;

  constructor(maxWorkers: number, maxExamples: number) {
    this.#maxWorkers = maxWorkers;
    this.#maxExamples = maxExamples;
  }

  get sharesRead(): number {
    return this.#sharesRead;
  }

  /** The file being read; lines given before any file count in one named "(input)". */
  get file(): FileSummary {
    return this.#file ?? this.beginFile('(input)');
  }

  /** "path:line" of the line being read. */
  get place(): string {
    return `${this.file.path}:${this.line}`;
  }

  beginFile(path: string): FileSummary {
    this.#file = { path, bytes: 0, lines: 0, records: 0, shares: 0, problems: 0, segments: 0 };
    this.#files.push(this.#file);
    return this.#file;
  }

  endFile(bytes: number, lines: number): FileSummary {
    const f = this.file;
    f.bytes = bytes;
    f.lines = lines;
    this.#file = null;
    return f;
  }

  /** A record was read. */
  record(): void {
    const file = this.file;
    if (this.quiet) return;
    file.records++;
    this.#records++;
  }

  /** A header started a segment. */
  segment(): void {
    if (!this.quiet) this.file.segments++;
  }

  /** A share record was read (filtered out or not). */
  shareRead(): void {
    this.#sharesRead++;
    this.file.shares++;
  }

  evictedSession(): void {
    this.#evictedSessions++;
  }

  evictedJob(): void {
    if (!this.quiet) this.#evictedJobs++;
  }

  problem(kind: ProblemKind, code: ErrorCode, message: string): void {
    if (this.quiet) return;
    this.#problems++;
    this.file.problems++;
    const n = (this.#problemCounts[kind] ?? 0) + 1;
    this.#problemCounts[kind] = n;
    if (n <= this.#maxExamples) this.#problemExamples.push({ file: this.file.path, line: this.line, kind, code, message });
  }

  /** The worker's row with this share counted in shares / first / last. */
  count(rec: { readonly w: string; readonly ts: number }): WorkerStats {
    const w = workerRow(this.#workers, rec.w, this.#maxWorkers);
    w.shares++;
    widenSpan(w, rec.ts, rec.ts);
    return w;
  }

  /** The worker's row with `n` local-only shares from `from` to `to` counted in its local shares / first / last. */
  countLocal(worker: string, n: number, from: number, to: number): WorkerStats {
    const w = workerRow(this.#workers, worker, this.#maxWorkers);
    w.local.shares += n;
    if (n > 0) widenSpan(w.local, from, to);
    return w;
  }

  /**
   * A recomputed verdict (lv) or hash (h) that disagrees with the recorded one (`recordedLv`); `row` is the
   * counter of the worker's row it counts in (its shares' or its local-only shares').
   */
  mismatch(
    rec: CheckedRecord,
    recordedLv: LocalVerdict,
    lv: LocalVerdict,
    v: ShareVerdict,
    field: 'lv' | 'h',
    row: { mismatches: number },
  ): void {
    this.#mismatches++;
    row.mismatches++;
    if (this.#mismatchExamples.length >= this.#maxExamples) return;
    this.#mismatchExamples.push({
      file: this.file.path,
      line: this.line,
      sid: rec.sid,
      worker: rec.w,
      jobId: String(rec.jid),
      field,
      recorded: { lv: recordedLv, h: rec.h ?? null },
      recomputed: { lv, h: v.hash ?? null, detail: v.valid ? null : v.detail },
      ...(rec.t === 'lsh' ? { local: true as const } : {}),
    });
  }

  result(): AuditResult {
    const totals = newWorkerStats('(total)');
    const workers = sortWorkers(this.#workers.values());
    for (const w of workers) {
      w.invalid = sortReasons(w.invalid);
      mergeStats(totals, w);
    }
    return {
      verdict: verdictOf(this.#mismatches, this.#problems),
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
}
