/**
 * Audit benchmark: `hashgate audit` end to end (read, parse, rebuild job
 * stores, re-hash every share, aggregate) on generated journals of two
 * sizes, to show throughput and that memory stays flat as the journal grows.
 *
 * Each audit runs in a child process so its peak RSS (getrusage maxrss) is
 * its own, not the generator's. The baseline is the same audit with
 * naiveValidateShare (node:crypto createHash, no midstate) on the same
 * journal. Temp files are deleted at the end.
 */

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultAuditThreads, type ValidatorSpec } from '../audit/run.js';
import { generateJournal } from '../journal/generate.js';
import type { BenchRow } from './harness.js';

export interface AuditBenchOptions {
  /** Shares in the large journal (default 1,000,000; --quick 200,000). The small one has a quarter. */
  readonly shares?: number;
  readonly quick?: boolean;
}

interface Run {
  readonly ms: number;
  readonly shares: number;
  readonly maxRssBytes: number;
  readonly verdict: string;
}

const RUN_JS = new URL('../audit/run.js', import.meta.url).href;
const NAIVE: ValidatorSpec = { module: new URL('./naive.js', import.meta.url).href, export: 'naiveValidateShare' };

const CHILD = `
const [file, threads, validator] = JSON.parse(process.argv[1]);
const { runAudit } = await import(${JSON.stringify(RUN_JS)});
const t0 = performance.now();
const r = await runAudit([file], { threads, ...(validator ? { validator } : {}) });
const ms = performance.now() - t0;
process.stdout.write(JSON.stringify({ ms, shares: r.sharesRead, maxRssBytes: process.resourceUsage().maxRSS * 1024, verdict: r.verdict }));
`;

function auditInChild(file: string, threads: number, validator: ValidatorSpec | null): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', CHILD, JSON.stringify([file, threads, validator])],
      { maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`audit child failed: ${err.message}\n${stderr}`));
        else resolve(JSON.parse(stdout) as Run);
      },
    );
  });
}

const rate = (r: Run) => (r.shares * 1000) / r.ms;
const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

export async function benchAudit(options: AuditBenchOptions = {}): Promise<BenchRow[]> {
  const big = options.shares ?? (options.quick ? 200_000 : 1_000_000);
  if (!Number.isInteger(big) || big < 4000) throw new RangeError(`benchAudit: shares must be an integer >= 4000, got ${big}`);
  const small = Math.max(1000, Math.round(big / 4));
  const threads = defaultAuditThreads();
  const dir = await mkdtemp(join(tmpdir(), 'hashgate-bench-audit-'));
  try {
    // A 200-rig site; a new job every 2,000 shares (~10 s at 200 shares/s), a new block every 4th.
    const gen = { sessions: 200, sharesPerJob: 2000, meanIntervalMs: 5, reconnectEvery: 5000 };
    const smallJ = await generateJournal({ ...gen, path: join(dir, 'small.jsonl'), shares: small, seed: 1 });
    const bigJ = await generateJournal({ ...gen, path: join(dir, 'big.jsonl'), shares: big, seed: 2 });
    const smallRun = await auditInChild(smallJ.files[0], threads, null);
    const bigRun = await auditInChild(bigJ.files[0], threads, null);
    const naiveRun = await auditInChild(bigJ.files[0], threads, NAIVE);
    const oneThread = await auditInChild(smallJ.files[0], 1, null);
    for (const [r, n] of [
      [smallRun, small],
      [bigRun, big],
      [naiveRun, big],
      [oneThread, small],
    ] as const) {
      if (r.verdict !== 'clean' || r.shares !== n)
        throw new Error(`audit bench: a ${n}-share journal audited as ${r.verdict} with ${r.shares} shares`);
    }
    const k = (n: number) => (n >= 1e6 && n % 1e5 === 0 ? `${n / 1e6}M` : `${Math.round(n / 1000)}k`);
    return [
      {
        name: `audit end to end, ${k(big)}-share journal (validateShare, ${threads} thread${threads > 1 ? 's' : ''})`,
        value: rate(bigRun),
        unit: 'shares/s',
        baseline: { name: 'same, naiveValidateShare', value: rate(naiveRun) },
        target: { min: 40_000 },
        notes: [
          `journal ${mib(bigJ.bytes)} (${Math.round(bigJ.bytes / big)} B/share, ${bigJ.records.toLocaleString('en-US')} records, ${bigJ.jobs} jobs), audited in ${(bigRun.ms / 1000).toFixed(1)} s, peak RSS ${mib(bigRun.maxRssBytes)}`,
          `${k(small)}-share journal: ${Math.round(rate(smallRun)).toLocaleString('en-US')} shares/s; 1 thread: ${Math.round(rate(oneThread)).toLocaleString('en-US')} shares/s`,
        ],
      },
      {
        name: `audit peak RSS, ${k(big)} vs ${k(small)}-share journal`,
        value: bigRun.maxRssBytes / smallRun.maxRssBytes,
        unit: '×',
        target: { maxValue: 1.5 },
        notes: [
          `${mib(smallRun.maxRssBytes)} → ${mib(bigRun.maxRssBytes)} for ${(big / small).toFixed(0)}× the shares (flat: sessions and jobs are bounded caches)`,
        ],
      },
    ];
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
