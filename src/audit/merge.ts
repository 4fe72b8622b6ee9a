/**
 * Merging the results of a parallel audit's shards into what one engine
 * would have produced (AuditShard in audit-types.ts says why they add up):
 * counts add, workers merge by name under the same cap, and the examples
 * are the first few by place (file order, then line).
 */

import type { AuditMismatch, AuditOptions, AuditProblem, AuditResult, FileSummary, ProblemKind } from './audit-types.js';
import { mergeStats, newWorkerStats, sortWorkers, workerRow, type WorkerStats } from './stats.js';
import { verdictOf } from './tally.js';

/** One file's summary from its shards' (each counted its own records; the sums are one engine's counts). */
export function mergeFiles(parts: readonly FileSummary[]): FileSummary {
  const f: FileSummary = { ...parts[0] };
  for (const p of parts.slice(1)) {
    f.records += p.records;
    f.shares += p.shares;
    f.problems += p.problems;
    f.segments += p.segments;
  }
  return f;
}

function byPlace(order: Map<string, number>) {
  return (a: { file: string; line: number }, b: { file: string; line: number }) =>
    (order.get(a.file) ?? 0) - (order.get(b.file) ?? 0) || a.line - b.line;
}

/** Merges shard results into what one engine would have produced. */
export function mergeResults(results: readonly AuditResult[], options: Pick<AuditOptions, 'maxExamples' | 'maxWorkers'> = {}): AuditResult {
  const maxExamples = options.maxExamples ?? 10;
  const maxWorkers = options.maxWorkers ?? 100_000;
  const first = results[0];
  const order = new Map(first.files.map((f, i) => [f.path, i]));
  const files = first.files.map((_, i) => mergeFiles(results.map((r) => r.files[i])));
  const workers = new Map<string, WorkerStats>();
  for (const r of results) {
    for (const w of r.workers) mergeStats(workerRow(workers, w.worker, maxWorkers), w);
  }
  const sorted = sortWorkers(workers.values());
  const totals = newWorkerStats('(total)');
  for (const w of sorted) mergeStats(totals, w);
  const byKind: Partial<Record<ProblemKind, number>> = {};
  const perKind = new Map<ProblemKind, number>();
  const problems: AuditProblem[] = [];
  for (const p of results.flatMap((r) => r.problems.examples).sort(byPlace(order))) {
    const n = (perKind.get(p.kind) ?? 0) + 1;
    perKind.set(p.kind, n);
    if (n <= maxExamples) problems.push(p);
  }
  for (const r of results) {
    for (const [k, n] of Object.entries(r.problems.byKind)) byKind[k as ProblemKind] = (byKind[k as ProblemKind] ?? 0) + (n as number);
  }
  const mismatches: AuditMismatch[] = results
    .flatMap((r) => r.mismatches.examples)
    .sort(byPlace(order))
    .slice(0, maxExamples);
  const problemCount = results.reduce((n, r) => n + r.problems.count, 0);
  const mismatchCount = results.reduce((n, r) => n + r.mismatches.count, 0);
  return {
    verdict: verdictOf(mismatchCount, problemCount),
    files,
    workers: sorted,
    totals,
    problems: { count: problemCount, byKind, examples: problems },
    mismatches: { count: mismatchCount, examples: mismatches },
    sharesRead: results.reduce((n, r) => n + r.sharesRead, 0),
    records: results.reduce((n, r) => n + r.records, 0),
    bytes: first.bytes,
    evicted: { sessions: results.reduce((n, r) => n + r.evicted.sessions, 0), jobs: results.reduce((n, r) => n + r.evicted.jobs, 0) },
  };
}
