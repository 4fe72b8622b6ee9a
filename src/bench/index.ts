/**
 * `npm run bench`: the speed targets, each printed beside a baseline
 * measured in the same run.
 *
 *   node dist/bench/index.js [--quick] [--json] [--no-proxy | --proxy-only] [--no-throttle | --throttle-only]
 *                            [--no-memory | --memory-only] [--no-local-difficulty | --local-difficulty-only]
 *                            [--only <name>]…
 *
 * --quick       short budgets (a smoke run; numbers are noisy)
 * --json        one JSON document on stdout instead of the table
 * --no-proxy    skip the proxy bench (daemon + sim pool in child processes, about a minute)
 * --proxy-only  run only the proxy bench (--proxy, the default, runs it with the others)
 * --no-throttle skip the throttle reaction bench (private redis-server, about 30 s)
 * --throttle-only  run only the throttle reaction bench
 * --no-memory   skip the memory-at-start bench (the built `hashgate run`, no miner, a few seconds)
 * --memory-only    run only the memory-at-start bench
 * --no-local-difficulty    skip the telemetry-difficulty bench (two daemons + sim pool in child processes, about a minute)
 * --local-difficulty-only  run only the telemetry-difficulty bench
 * --only <name>    the same as --<name>-only (proxy, throttle, memory, local-difficulty)
 *
 * Several --*-only flags run each of the benches they name.
 *
 * Exit code 0 whatever the PASS/FAIL column says (speed is information,
 * not a build gate); 1 when a variant disagrees with validateShare, since
 * then the numbers compare different answers; 2 when --only names no bench.
 */

import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './harness.js';
import { benchLocalDifficulty } from './local-difficulty.js';
import { benchProxy } from './proxy.js';
import { benchStartMemory } from './start-memory.js';
import { benchThrottle } from './throttle.js';
import { BenchDisagreementError, type BenchOptions, benchValidate } from './validate.js';

interface Machine {
  readonly node: string;
  readonly cpu: string;
  readonly cores: number;
  readonly platform: string;
}

function machine(): Machine {
  const c = cpus();
  return { node: process.version, cpu: c[0]?.model.trim() ?? 'unknown', cores: c.length, platform: `${process.platform}-${process.arch}` };
}

interface Verdict {
  readonly ratio: number | null;
  /** null when the row has no target. */
  readonly pass: boolean | null;
}

function judge(row: BenchRow): Verdict {
  const ratio = row.baseline !== undefined && row.baseline.value > 0 ? row.value / row.baseline.value : null;
  const t = row.target;
  if (t === undefined) return { ratio, pass: null };
  const pass =
    (t.min === undefined || row.value >= t.min) &&
    (t.minRatio === undefined || (ratio !== null && ratio >= t.minRatio)) &&
    (t.maxValue === undefined || row.value <= t.maxValue);
  return { ratio, pass };
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US');
  return n.toPrecision(3);
}

function targetText(row: BenchRow): string {
  const t = row.target;
  if (t === undefined) return '';
  const parts: string[] = [];
  if (t.min !== undefined) parts.push(`≥ ${fmt(t.min)}`);
  if (t.minRatio !== undefined) parts.push(`≥ ${t.minRatio}×`);
  if (t.maxValue !== undefined) parts.push(`≤ ${fmt(t.maxValue)}`);
  return parts.join(', ');
}

function printTable(rows: readonly BenchRow[]): void {
  const header = ['name', 'value', 'unit', 'baseline', 'ratio', 'target', 'result'];
  const cells = rows.map((row) => {
    const v = judge(row);
    return [
      row.name,
      fmt(row.value),
      row.unit,
      row.baseline === undefined ? '' : `${fmt(row.baseline.value)} (${row.baseline.name})`,
      v.ratio === null ? '' : `${v.ratio.toFixed(2)}×`,
      targetText(row),
      v.pass === null ? '' : v.pass ? 'PASS' : 'FAIL',
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i].length)));
  const line = (c: readonly string[]) =>
    c
      .map((x, i) => (i === 1 || i === 4 ? x.padStart(widths[i]) : x.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  rows.forEach((row, i) => {
    console.log(line(cells[i]));
    for (const note of row.notes ?? []) console.log(`    ${note}`);
  });
}

/** The benches --<name>-only, --no-<name> and --only <name> select (the validate and audit benches run with none of them). */
const BENCHES = ['proxy', 'throttle', 'memory', 'local-difficulty'] as const;

type AuditBench = (options: BenchOptions) => BenchRow[] | Promise<BenchRow[]>;

/**
 * The audit bench lives in audit.ts, which may not exist yet: loaded by a
 * computed specifier so the build does not depend on it.
 */
async function loadAuditBench(): Promise<AuditBench | undefined> {
  const specifier = './audit.js';
  try {
    const mod = (await import(specifier)) as { benchAudit?: unknown };
    if (typeof mod.benchAudit !== 'function') throw new Error('src/bench/audit.ts does not export a benchAudit function');
    return mod.benchAudit as AuditBench;
  } catch (err) {
    // Only audit.js itself missing means "not available"; a missing import inside it is a real failure
    // (Node's message then names the missing module and "imported from …/audit.js").
    const e = err as { code?: unknown; message?: unknown };
    const self = fileURLToPath(new URL(specifier, import.meta.url));
    if (e.code === 'ERR_MODULE_NOT_FOUND' && !existsSync(self)) return undefined;
    throw err;
  }
}

async function main(argv: readonly string[]): Promise<number> {
  const options: BenchOptions = { quick: argv.includes('--quick') };
  const json = argv.includes('--json');
  // With any --X-only flag, exactly the benches named by one; otherwise all but the --no-X ones.
  const named = argv.flatMap((a, i) => (a === '--only' && argv[i + 1] !== undefined ? [argv[i + 1]!] : []));
  const only: string[] = BENCHES.filter((b) => argv.includes(`--${b}-only`) || named.includes(b));
  const unknown = named.filter((b) => !(BENCHES as readonly string[]).includes(b));
  if (unknown.length > 0) {
    process.stderr.write(`unknown bench ${unknown.join(', ')}: --only takes one of ${BENCHES.join(', ')}\n`);
    return 2;
  }
  const wanted = (b: string) => (only.length > 0 ? only.includes(b) : !argv.includes(`--no-${b}`));
  const proxy = wanted('proxy');
  const throttle = wanted('throttle');
  const memory = wanted('memory');
  const localDifficulty = wanted('local-difficulty');
  const m = machine();
  const say = (s: string) => {
    // With --json, progress goes to stderr so stdout stays one JSON document.
    if (json) process.stderr.write(`${s}\n`);
    else console.log(s);
  };
  say(`hashgate bench — node ${m.node}, ${m.cpu}, ${m.cores} cores, ${m.platform}${options.quick ? ', --quick (noisy)' : ''}`);
  say('Ratios are against a baseline measured in this run; PASS/FAIL is information, not the exit code.\n');

  const rows: BenchRow[] = [];
  try {
    if (only.length === 0) {
      rows.push(...benchValidate(options));
      const audit = await loadAuditBench();
      if (audit === undefined) say('audit bench not available (src/bench/audit.ts not built)\n');
      else rows.push(...(await audit(options)));
    }
    if (proxy) rows.push(...(await benchProxy({ ...options, say })));
    if (throttle) rows.push(...(await benchThrottle({ ...options, say })));
    if (memory) rows.push(...(await benchStartMemory({ ...options, say })));
    if (localDifficulty) rows.push(...(await benchLocalDifficulty({ ...options, say })));
  } catch (err) {
    if (err instanceof BenchDisagreementError) {
      process.stderr.write(`bench aborted: implementations disagree, numbers would be meaningless\n${err.message}\n`);
      return 1;
    }
    throw err;
  }

  if (json) {
    const out = rows.map((row) => ({ ...row, ...judge(row) }));
    process.stdout.write(`${JSON.stringify({ machine: m, quick: options.quick, rows: out }, null, 2)}\n`);
  } else {
    printTable(rows);
  }
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
