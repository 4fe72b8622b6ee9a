/**
 * The audit's contract: its options, and the result it gives (per file, per
 * worker, the problems and the mismatches). docs/audit.md describes the
 * result as the report shows it.
 */

import type { LocalVerdict } from '../journal/format.js';
import type { ShareSubmit } from '../protocol/work-types.js';
import type { ErrorCode } from '../util/errors.js';
import type { JobStore } from '../work/job-store.js';
import type { ShareContext, ShareVerdict } from '../work/validate-share.js';
import type { WorkerStats } from './stats.js';

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
  /** Process only the sessions hashed to this shard (parallel audits; see run.ts). */
  readonly shard?: AuditShard;
}

/**
 * One of `count` engines reading the same files. Session records (sess, ntf,
 * share, end, lsh, loc) go to the shard their sid hashes to; hdr and job records, and
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
  /** A local-only share (`lsh` record); absent for a `share` record. */
  readonly local?: true;
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
