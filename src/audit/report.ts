/**
 * Rendering of an audit result: an aligned table for people, one JSON
 * object for scripts (docs/audit.md documents both). Local-only shares
 * (format v2) get their own table, printed only when there are any, so the
 * report of a journal without them reads as it always did.
 */

import type { AuditResult } from './audit.js';
import { impliedHashrate, type LocalStats, type WorkerStats } from './stats.js';

/** Version of the --json document's shape; bumped on incompatible changes. */
export const AUDIT_REPORT_VERSION = 1;

export interface ReportMeta {
  readonly elapsedMs: number;
  readonly exitCode: number;
  readonly filters: { readonly workers: readonly string[]; readonly since: number | null; readonly until: number | null };
}

const HASHRATE_UNITS = ['H/s', 'kH/s', 'MH/s', 'GH/s', 'TH/s', 'PH/s', 'EH/s'];

/** "123 TH/s" with three significant digits; "n/a" for null. */
export function formatHashrate(h: number | null): string {
  if (h === null || !Number.isFinite(h)) return 'n/a';
  let i = 0;
  while (h >= 1000 && i < HASHRATE_UNITS.length - 1) {
    h /= 1000;
    i++;
  }
  return `${h >= 100 ? Math.round(h) : h.toPrecision(3)} ${HASHRATE_UNITS[i]}`;
}

/** A difficulty sum: SI suffix from 1,000 up, exponent notation below 0.001. */
export function formatDifficulty(d: number): string {
  if (d === 0) return '0';
  if (d < 1e-3) return d.toExponential(2);
  const units = ['', 'k', 'M', 'G', 'T', 'P', 'E', 'Z'];
  let i = 0;
  while (d >= 1000 && i < units.length - 1) {
    d /= 1000;
    i++;
  }
  return `${d.toPrecision(3)}${units[i]}`;
}

/** A span in seconds as "2d 03h", "1h 02m", "5m 07s" or "12.3s". */
export function formatSpan(seconds: number | null): string {
  if (seconds === null) return 'n/a';
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const s = Math.floor(seconds);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 3600) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${pad(Math.floor((s % 3600) / 60))}m`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor((s % 86400) / 3600))}h`;
}

const int = (n: number) => n.toLocaleString('en-US');
const count = (n: number, one: string, many = `${one}s`) => `${int(n)} ${n === 1 ? one : many}`;
const DISAGREE = ['recorded verdict disagrees', 'recorded verdicts disagree'] as const;

function spanSeconds(w: { firstTs: number | null; lastTs: number | null }): number | null {
  return w.firstTs === null || w.lastTs === null ? null : (w.lastTs - w.firstTs) / 1000;
}

function invalidTotal(w: WorkerStats): number {
  let n = 0;
  for (const v of Object.values(w.invalid)) n += v;
  return n;
}

function workerJson(w: WorkerStats) {
  const span = spanSeconds(w);
  return {
    worker: w.worker,
    shares: w.shares,
    valid: w.valid,
    blocks: w.blocks,
    invalid: invalidTotal(w),
    invalidByReason: { ...w.invalid },
    unverifiable: w.unverifiable,
    disputes: w.disputes,
    poolAcceptedLocallyInvalid: w.poolAcceptedLocallyInvalid,
    mismatches: w.mismatches,
    sumDifficulty: w.sumDifficulty,
    firstTs: w.firstTs,
    lastTs: w.lastTs,
    spanSeconds: span,
    hashrate: impliedHashrate(w.sumDifficulty, w.firstTs, w.lastTs),
    local: localJson(w.local),
  };
}

function localJson(l: LocalStats) {
  return { ...l, spanSeconds: spanSeconds(l), hashrate: impliedHashrate(l.sumDifficulty, l.firstTs, l.lastTs) };
}

/** The --json document. */
export function buildAuditJson(r: AuditResult, meta: ReportMeta) {
  return {
    report: 'hashgate-audit',
    v: AUDIT_REPORT_VERSION,
    verdict: r.verdict,
    exitCode: meta.exitCode,
    filters: meta.filters,
    files: r.files.map((f) => ({ ...f })),
    totals: workerJson(r.totals),
    workers: r.workers.map(workerJson),
    problems: r.problems,
    mismatches: r.mismatches,
    sharesRead: r.sharesRead,
    records: r.records,
    bytes: r.bytes,
    evicted: r.evicted,
    elapsedMs: Math.round(meta.elapsedMs),
    sharesPerSecond: meta.elapsedMs > 0 ? Math.round((r.sharesRead * 1000) / meta.elapsedMs) : null,
  };
}

export function renderAuditJson(r: AuditResult, meta: ReportMeta): string {
  return `${JSON.stringify(buildAuditJson(r, meta), null, 2)}\n`;
}

const COLUMNS = [
  ['WORKER', 'l'],
  ['SHARES', 'r'],
  ['VALID', 'r'],
  ['BLOCKS', 'r'],
  ['INVALID', 'r'],
  ['DISPUTES', 'r'],
  ['POOL-OK-INVALID', 'r'],
  ['MISMATCH', 'r'],
  ['UNVERIFIED', 'r'],
  ['SUM-DIFF', 'r'],
  ['SPAN', 'r'],
  ['HASHRATE', 'r'],
  ['INVALID BY REASON', 'l'],
] as const;

function row(w: WorkerStats): string[] {
  const reasons = Object.entries(w.invalid)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, n]) => `${k}=${int(n)}`)
    .join(' ');
  return [
    w.worker,
    int(w.shares),
    int(w.valid),
    int(w.blocks),
    int(invalidTotal(w)),
    int(w.disputes),
    int(w.poolAcceptedLocallyInvalid),
    int(w.mismatches),
    int(w.unverifiable),
    formatDifficulty(w.sumDifficulty),
    formatSpan(spanSeconds(w)),
    formatHashrate(impliedHashrate(w.sumDifficulty, w.firstTs, w.lastTs)),
    reasons || '-',
  ];
}

const LOCAL_COLUMNS = [
  ['WORKER', 'l'],
  ['LOCAL', 'r'],
  ['RECHECKED', 'r'],
  ['AGGREGATED', 'r'],
  ['INVALID', 'r'],
  ['MISMATCH', 'r'],
  ['UNVERIFIED', 'r'],
  ['SUM-DIFF', 'r'],
  ['SPAN', 'r'],
  ['HASHRATE', 'l'],
] as const;

function localRow(worker: string, l: LocalStats): string[] {
  return [
    worker,
    int(l.shares),
    int(l.valid + l.invalid),
    int(l.aggregated),
    int(l.invalid),
    int(l.mismatches),
    int(l.unverifiable),
    formatDifficulty(l.sumDifficulty),
    formatSpan(spanSeconds(l)),
    formatHashrate(impliedHashrate(l.sumDifficulty, l.firstTs, l.lastTs)),
  ];
}

function table(rows: string[][], columns: readonly (readonly [string, 'l' | 'r'])[] = COLUMNS): string {
  const widths = columns.map(([h], i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : columns[i][1] === 'r' ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [fmt(columns.map(([h]) => h)), ...rows.map(fmt)].join('\n');
}

/** The local-only shares' table, when there are any (after filters). */
function localSection(r: AuditResult): string[] {
  if (r.totals.local.shares === 0) return [];
  const rows = r.workers.filter((w) => w.local.shares > 0).map((w) => localRow(w.worker, w.local));
  return [
    '',
    'Local-only shares (answered by hashgate at its local difficulty, never forwarded; SUM-DIFF is local difficulty):',
    table([...rows, localRow(r.totals.worker, r.totals.local)], LOCAL_COLUMNS),
  ];
}

/** The human report. */
export function renderAuditTable(r: AuditResult, meta: ReportMeta): string {
  const out: string[] = [];
  const secs = meta.elapsedMs / 1000;
  const rate = secs > 0 ? ` (${int(Math.round(r.sharesRead / secs))} shares/s)` : '';
  const local = r.totals.local.shares > 0 ? ` (+ ${int(r.totals.local.shares)} local-only)` : '';
  out.push(
    `hashgate audit: ${int(r.files.length)} file${r.files.length === 1 ? '' : 's'}, ${int(r.records)} records, ${int(r.sharesRead)} shares${local}, ${formatBytes(r.bytes)} in ${secs.toFixed(1)} s${rate}`,
  );
  const f = meta.filters;
  if (f.workers.length > 0 || f.since !== null || f.until !== null) {
    const parts: string[] = [];
    if (f.workers.length > 0) parts.push(`worker ${f.workers.join(' | ')}`);
    if (f.since !== null) parts.push(`since ${new Date(f.since).toISOString()}`);
    if (f.until !== null) parts.push(`until ${new Date(f.until).toISOString()}`);
    out.push(`filters: ${parts.join(', ')} (${int(r.totals.shares)} shares reported)`);
  }
  out.push('');
  if (local !== '') out.push('Shares (share records: sent to the pool, or refused by hashgate):');
  if (r.workers.length === 0) out.push('No shares to report.');
  else out.push(table([...r.workers.filter((w) => w.shares > 0 || local === '').map(row), row(r.totals)]));
  out.push(...localSection(r));

  if (r.files.length > 1) {
    out.push('', 'Files:');
    for (const file of r.files) {
      out.push(
        `  ${file.path}: ${formatBytes(file.bytes)}, ${count(file.lines, 'line')}, ${count(file.shares, 'share')}, ${count(file.problems, 'problem')}`,
      );
    }
  }
  if (r.problems.count > 0) {
    const kinds = Object.entries(r.problems.byKind)
      .map(([k, n]) => `${k} ${int(n as number)}`)
      .join(', ');
    out.push('', `Problems: ${int(r.problems.count)} (${kinds}); first of each kind:`);
    for (const p of r.problems.examples) out.push(`  ${p.file}:${p.line}: ${p.message} [${p.code}]`);
  }
  if (r.mismatches.count > 0) {
    out.push('', `Mismatches: ${count(r.mismatches.count, ...DISAGREE)} with the recomputed ones; first ones:`);
    for (const m of r.mismatches.examples) {
      const what =
        m.field === 'h'
          ? `hash recorded ${m.recorded.h}, recomputed ${m.recomputed.h}`
          : `recorded ${m.recorded.lv}, recomputed ${m.recomputed.lv}${m.recomputed.detail ? ` (${m.recomputed.detail})` : ''}`;
      const kind = m.local === true ? ' (local-only share)' : '';
      out.push(`  ${m.file}:${m.line}: session ${m.sid} worker ${m.worker} job ${m.jobId}${kind}: ${what}`);
    }
  }
  if (r.evicted.sessions > 0 || r.evicted.jobs > 0) {
    out.push(
      '',
      `Caches evicted ${int(r.evicted.sessions)} sessions and ${int(r.evicted.jobs)} jobs (raise --max-sessions / --max-jobs if this caused reference problems).`,
    );
  }
  out.push('', verdictLine(r, meta.exitCode));
  return `${out.join('\n')}\n`;
}

function verdictLine(r: AuditResult, exitCode: number): string {
  switch (r.verdict) {
    case 'clean':
      return `Result: clean: every recorded verdict matches the recomputed one (exit ${exitCode}).`;
    case 'damaged':
      return `Result: damaged journal: ${count(r.problems.count, 'problem')}, no verdict disagreements (exit ${exitCode}).`;
    case 'mismatch':
      return `Result: MISMATCH: ${count(r.mismatches.count, ...DISAGREE)} with the recomputed ones (exit ${exitCode}).`;
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let i = -1;
  do {
    n /= 1024;
    i++;
  } while (n >= 1024 && i < units.length - 1);
  return `${n.toFixed(1)} ${units[i]}`;
}
