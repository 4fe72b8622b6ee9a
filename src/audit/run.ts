/**
 * Running audits over files: `auditFiles` streams files through one
 * AuditEngine; `runAudit` does the same over worker threads.
 *
 * Parallel audits: the share check costs ~30 µs a share, so one thread tops
 * out near 35,000 shares/s. Sessions are independent (one JobStore each),
 * so `runAudit` splits them over worker threads by a hash of the session
 * id: every worker reads the same files (the page cache serves the second
 * read), fully processes only its own sessions' records plus the shared hdr
 * and job records, and the main thread merges the results. The merged
 * result equals a single engine's (AuditShard in audit-types.ts says how;
 * merge.ts merges).
 *
 * This module is also the worker's entry point (it spawns itself), so the
 * same file works from dist/ and from sources under a TypeScript loader.
 */

import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { DEFAULT_MAX_LINE_BYTES, readFileLines } from '../journal/reader.js';
import { HashgateError } from '../util/errors.js';
import { AuditEngine } from './audit.js';
import type { AuditOptions, AuditResult, FileSummary, ValidateShareFn } from './audit-types.js';
import { mergeFiles, mergeResults } from './merge.js';

export { mergeResults } from './merge.js';

export interface AuditProgress {
  readonly file: string;
  readonly fileIndex: number;
  readonly fileCount: number;
  /** Bytes read over all files so far. */
  readonly bytesRead: number;
  readonly bytesTotal: number;
  readonly sharesRead: number;
}

export interface AuditFilesOptions extends AuditOptions {
  /** After every chunk read (about 1 MiB). */
  readonly onProgress?: (p: AuditProgress) => void;
  readonly onFile?: (f: FileSummary, index: number, count: number) => void;
}

/** Sizes of the files, checking each is a readable regular file (HG_ERR_JOURNAL_OPEN otherwise). */
export async function statJournals(paths: readonly string[]): Promise<number[]> {
  const sizes: number[] = [];
  for (const p of paths) {
    try {
      const st = await stat(p);
      if (!st.isFile()) throw new Error('not a regular file');
      await access(p, constants.R_OK);
      sizes.push(st.size);
    } catch (e) {
      throw new HashgateError('HG_ERR_JOURNAL_OPEN', `${p}: ${(e as Error).message}`, { cause: e });
    }
  }
  return sizes;
}

/**
 * Audits files in order (give rotated files oldest first: sessions carry
 * over from one file to the next). Every file is checked to be a readable
 * regular file first; a file that cannot be read is an HG_ERR_JOURNAL_OPEN
 * HashgateError and nothing is audited.
 */
export async function auditFiles(paths: readonly string[], options: AuditFilesOptions = {}): Promise<AuditResult> {
  const bytesTotal = (await statJournals(paths)).reduce((a, b) => a + b, 0);
  const engine = new AuditEngine(options);
  const { onProgress, onFile } = options;
  let before = 0;
  for (let i = 0; i < paths.length; i++) {
    const file = paths[i];
    engine.beginFile(file);
    let summary: { bytes: number; lines: number };
    try {
      summary = await readFileLines(
        file,
        {
          line: (t, n) => engine.line(t, n),
          oversize: (n, b, term) => engine.oversize(n, b, term),
          unterminated: (t, n) => engine.unterminated(t, n),
          progress:
            onProgress &&
            ((b) =>
              onProgress({
                file,
                fileIndex: i,
                fileCount: paths.length,
                bytesRead: before + b,
                bytesTotal,
                sharesRead: engine.sharesRead,
              })),
        },
        { maxLineBytes: options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES },
      );
    } catch (e) {
      throw new HashgateError('HG_ERR_JOURNAL_OPEN', `${file}: ${(e as Error).message}`, { cause: e });
    }
    before += summary.bytes;
    const f = engine.endFile(summary.bytes, summary.lines);
    onFile?.(f, i, paths.length);
  }
  return engine.result();
}

/** A validator a worker can load: a module URL (or path) and the name of its export. */
export interface ValidatorSpec {
  readonly module: string;
  readonly export: string;
}

export interface RunAuditOptions extends Omit<AuditFilesOptions, 'shard' | 'validate'> {
  /** Worker threads (default: available cores, at most 4). 1 audits in this thread. */
  readonly threads?: number;
  /** Validator in this thread only (threads = 1). */
  readonly validate?: ValidateShareFn;
  /** Validator loaded by module in every thread (default validateShare). */
  readonly validator?: ValidatorSpec;
}

/** Default worker count: the cores there are, at most 4 (past that the merge and the reads dominate). */
export function defaultAuditThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

async function loadValidator(spec: ValidatorSpec): Promise<ValidateShareFn> {
  const mod = (await import(spec.module)) as Record<string, unknown>;
  const fn = mod[spec.export];
  if (typeof fn !== 'function') throw new TypeError(`${spec.module} has no function export ${spec.export}`);
  return fn as ValidateShareFn;
}

type EngineOptions = Omit<AuditOptions, 'shard' | 'validate'>;

interface WorkerInput {
  readonly kind: 'hashgate-audit-shard';
  readonly paths: readonly string[];
  readonly options: EngineOptions;
  readonly validator: ValidatorSpec | null;
  readonly index: number;
  readonly count: number;
}

type WorkerMessage =
  | { readonly type: 'progress'; readonly bytesRead: number; readonly sharesRead: number; readonly fileIndex: number }
  | { readonly type: 'file'; readonly index: number; readonly summary: FileSummary }
  | { readonly type: 'result'; readonly result: AuditResult }
  | { readonly type: 'error'; readonly code: string | null; readonly message: string };

function engineOptions(o: RunAuditOptions): EngineOptions {
  const { threads: _t, validate: _v, validator: _s, onProgress: _p, onFile: _f, ...rest } = o;
  return rest;
}

/** Audits files, in parallel when `threads` > 1. Unreadable files: HashgateError HG_ERR_JOURNAL_OPEN. */
export async function runAudit(paths: readonly string[], options: RunAuditOptions = {}): Promise<AuditResult> {
  const threads = options.threads ?? defaultAuditThreads();
  if (threads <= 1) {
    const validate = options.validate ?? (options.validator ? await loadValidator(options.validator) : undefined);
    return auditFiles(paths, { ...options, ...(validate !== undefined ? { validate } : {}) });
  }
  if (options.validate !== undefined) throw new TypeError('runAudit: pass `validator` (a module spec), not a function, when threads > 1');
  const bytesTotal = (await statJournals(paths)).reduce((a, b) => a + b, 0);
  return runShards(paths, threads, bytesTotal, options);
}

function runShards(paths: readonly string[], count: number, bytesTotal: number, options: RunAuditOptions): Promise<AuditResult> {
  const workers: Worker[] = [];
  const results: (AuditResult | undefined)[] = Array.from({ length: count }, () => undefined);
  const progress = Array.from({ length: count }, () => ({ bytesRead: 0, sharesRead: 0, fileIndex: 0 }));
  const fileParts = paths.map(() => [] as FileSummary[]);
  return new Promise<AuditResult>((resolve, reject) => {
    let settled = false;
    const fail = (e: Error) => {
      if (settled) return;
      settled = true;
      for (const w of workers) void w.terminate();
      reject(e);
    };
    for (let index = 0; index < count; index++) {
      const input: WorkerInput = {
        kind: 'hashgate-audit-shard',
        paths,
        options: engineOptions(options),
        validator: options.validator ?? null,
        index,
        count,
      };
      // Workers inherit the parent's node options, minus one that only makes sense for --eval input.
      const execArgv = process.execArgv.filter((a) => !a.startsWith('--input-type'));
      const w = new Worker(new URL(import.meta.url), { workerData: input, execArgv });
      workers.push(w);
      w.on('error', (e) => fail(e));
      w.on('exit', (code) => {
        if (results[index] === undefined) fail(new Error(`audit worker ${index} exited with code ${code} before reporting`));
      });
      w.on('message', (m: WorkerMessage) => {
        switch (m.type) {
          case 'progress': {
            progress[index] = m;
            if (options.onProgress === undefined) return;
            const slowest = progress.reduce((a, p) => (p.bytesRead < a.bytesRead ? p : a));
            options.onProgress({
              file: paths[slowest.fileIndex] ?? '',
              fileIndex: slowest.fileIndex,
              fileCount: paths.length,
              bytesRead: slowest.bytesRead,
              bytesTotal,
              sharesRead: progress.reduce((n, p) => n + p.sharesRead, 0),
            });
            return;
          }
          case 'file': {
            const parts = fileParts[m.index];
            parts.push(m.summary);
            if (parts.length === count) options.onFile?.(mergeFiles(parts), m.index, paths.length);
            return;
          }
          case 'result':
            results[index] = m.result;
            if (results.every((r) => r !== undefined)) {
              settled = true;
              resolve(mergeResults(results as AuditResult[], options));
            }
            return;
          case 'error':
            fail(m.code === 'HG_ERR_JOURNAL_OPEN' ? new HashgateError('HG_ERR_JOURNAL_OPEN', m.message) : new Error(m.message));
            return;
        }
      });
    }
  });
}

async function workerMain(input: WorkerInput): Promise<void> {
  const port = parentPort as NonNullable<typeof parentPort>;
  try {
    const validate = input.validator !== null ? await loadValidator(input.validator) : undefined;
    const result = await auditFiles(input.paths, {
      ...input.options,
      ...(validate !== undefined ? { validate } : {}),
      shard: { index: input.index, count: input.count },
      onProgress: (p) =>
        port.postMessage({
          type: 'progress',
          bytesRead: p.bytesRead,
          sharesRead: p.sharesRead,
          fileIndex: p.fileIndex,
        } satisfies WorkerMessage),
      onFile: (summary, index) => port.postMessage({ type: 'file', index, summary } satisfies WorkerMessage),
    });
    port.postMessage({ type: 'result', result } satisfies WorkerMessage);
  } catch (e) {
    const code = e instanceof HashgateError ? e.code : null;
    port.postMessage({ type: 'error', code, message: e instanceof Error ? e.message : String(e) } satisfies WorkerMessage);
  }
}

if (!isMainThread && (workerData as WorkerInput | null)?.kind === 'hashgate-audit-shard') {
  void workerMain(workerData as WorkerInput);
}
