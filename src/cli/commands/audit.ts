/**
 * `hashgate audit FILE…`: re-validates every share recorded in journal
 * files and reports per worker (docs/audit.md).
 */

import type { AuditResult, FileSummary } from '../../audit/audit.js';
import { formatBytes, type ReportMeta, renderAuditJson, renderAuditTable } from '../../audit/report.js';
import { type AuditProgress, defaultAuditThreads, runAudit } from '../../audit/run.js';
import { HashgateError } from '../../util/errors.js';
import { ExitCode } from '../exit-codes.js';
import type { CommandIO } from '../io.js';

/** Parses --since / --until: epoch milliseconds (digits only) or an ISO 8601 date-time. */
export function parseTime(value: string): number | undefined {
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v);
  if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(v)) return undefined;
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? undefined : ms;
}

const REDRAW_MS = 100;

/** A one-line progress bar on a TTY stream: at most 10 redraws a second, cleared at the end. */
export function createProgressBar(stream: CommandIO['stderr'], now: () => number = Date.now) {
  const start = now();
  let last = Number.NEGATIVE_INFINITY;
  let shown = false;
  const clear = () => {
    if (shown) stream.write('\r\x1b[2K');
    shown = false;
  };
  return {
    update(p: AuditProgress): void {
      const t = now();
      if (t - last < REDRAW_MS) return;
      last = t;
      const frac = p.bytesTotal > 0 ? Math.min(1, p.bytesRead / p.bytesTotal) : 1;
      const width = 24;
      const filled = Math.round(frac * width);
      const secs = (t - start) / 1000;
      const rate = secs > 0 ? Math.round(p.sharesRead / secs).toLocaleString('en-US') : '-';
      const files = p.fileCount > 1 ? `  file ${p.fileIndex + 1}/${p.fileCount}` : '';
      const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${formatBytes(p.bytesRead)}/${formatBytes(p.bytesTotal)}  ${rate} shares/s${files}`;
      stream.write(`\r\x1b[2K${line.slice(0, Math.max(20, (stream.columns ?? 100) - 1))}`);
      shown = true;
    },
    file(f: FileSummary, index: number, count: number): void {
      if (count < 2) return;
      clear();
      stream.write(
        `audited ${index + 1}/${count} ${f.path}: ${f.shares.toLocaleString('en-US')} shares, ${f.problems.toLocaleString('en-US')} problems\n`,
      );
      last = Number.NEGATIVE_INFINITY;
    },
    clear,
  };
}

function exitCodeFor(r: AuditResult): number {
  return r.verdict === 'mismatch' ? ExitCode.Negative : r.verdict === 'damaged' ? ExitCode.Damaged : ExitCode.Ok;
}

function usage(io: CommandIO, message: string): number {
  io.stderr.write(`hashgate audit: ${message} [HG_ERR_USAGE]\n`);
  return ExitCode.Usage;
}

function positiveInt(v: unknown): boolean {
  return v === undefined || (typeof v === 'number' && Number.isInteger(v) && v >= 1);
}

/** `hashgate audit`: main() calls this only for a valid command line. */
export async function run(args: Record<string, unknown>, io: CommandIO): Promise<number> {
  const files = (args.files as unknown[] | undefined)?.map(String) ?? [];
  if (files.length === 0) return usage(io, 'name at least one journal file');
  const workers = ((args.worker as unknown[] | undefined) ?? []).map(String);
  let since: number | undefined;
  let until: number | undefined;
  for (const key of ['since', 'until'] as const) {
    const raw = args[key];
    if (raw === undefined) continue;
    const ms = parseTime(String(raw));
    if (ms === undefined) return usage(io, `--${key} ${JSON.stringify(raw)} is not an ISO 8601 date-time or epoch milliseconds`);
    if (key === 'since') since = ms;
    else until = ms;
  }
  for (const key of ['max-sessions', 'max-jobs', 'max-examples', 'threads'] as const) {
    if (!positiveInt(args[key])) return usage(io, `--${key} must be an integer >= 1`);
  }
  const showProgress = (args.progress as boolean | undefined) ?? io.stderr.isTTY === true;
  const bar = showProgress ? createProgressBar(io.stderr) : undefined;
  const started = performance.now();
  let result: AuditResult;
  try {
    result = await runAudit(files, {
      threads: (args.threads as number | undefined) ?? defaultAuditThreads(),
      workers,
      ...(since !== undefined ? { since } : {}),
      ...(until !== undefined ? { until } : {}),
      ...(args['max-sessions'] !== undefined ? { maxSessions: args['max-sessions'] as number } : {}),
      ...(args['max-jobs'] !== undefined ? { maxJobs: args['max-jobs'] as number } : {}),
      ...(args['max-examples'] !== undefined ? { maxExamples: args['max-examples'] as number } : {}),
      ...(bar !== undefined ? { onProgress: bar.update, onFile: bar.file } : {}),
    });
  } catch (e) {
    bar?.clear();
    if (e instanceof HashgateError) {
      io.stderr.write(`hashgate audit: ${e.message} [${e.code}]\n`);
      return ExitCode.Usage;
    }
    throw e;
  }
  bar?.clear();
  const exitCode = exitCodeFor(result);
  const meta: ReportMeta = {
    elapsedMs: performance.now() - started,
    exitCode,
    filters: { workers, since: since ?? null, until: until ?? null },
  };
  io.stdout.write(args.json ? renderAuditJson(result, meta) : renderAuditTable(result, meta));
  return exitCode;
}
