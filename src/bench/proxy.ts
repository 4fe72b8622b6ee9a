/**
 * Proxy benchmark (issue 3 §5): what hashgate's daemon adds on the path of a
 * share, and what an idle miner costs it.
 *
 * Processes, so each figure belongs to one of them:
 * - a child running the daemon (`hashgate run`'s Daemon, built from a config
 *   as the CLI does; journal on, in a temp dir): its CPU (process.cpuUsage)
 *   and RSS are sampled over IPC;
 * - a child running the simulated pool (src/sim, node:crypto share check,
 *   difficulty 2^-32 so nearly every nonce is a share);
 * - this process: the load generator, a minimal raw-socket Stratum client.
 *   Shares are found before the timed run (hashShare from src/sim), so the
 *   hot loop only writes a pre-built line and times the answer.
 *
 * Latency: the same load (M connections, 1 share/s each, phases spread over
 * the second) first through the daemon, then straight to the pool; the
 * figure is submit written → answer read, in the generator. The added
 * latency is the difference of the percentiles. The pool is warmer for the
 * direct run, so the difference errs on the high side.
 *
 * Memory: fresh children; N idle miners (subscribe + authorize + first job,
 * then silence) connected in bounded batches; (RSS_N − RSS_0) / N after a
 * forced GC, for the daemon (one miner socket + one upstream socket each)
 * and, as the baseline, for the pool process (one socket each).
 *
 * Everything is on 127.0.0.1, port 0; every wait has a timeout; children
 * exit when told, when the IPC channel closes, or after CHILD_LIFETIME_MS.
 *
 * The parts: the children (./proxy-child.ts), the load generator's Stratum
 * client (./proxy-miner.ts), the latency run (./proxy-load.ts); this file
 * plans the run and turns the measurements into rows.
 */

import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow } from './harness.js';
import { BenchChild, type Sample } from './proxy-child.js';
import { LoadGroup, type LoadResult, runInterleaved } from './proxy-load.js';
import { type BenchMiner, closeAll, connectMany, sleep } from './proxy-miner.js';

export interface ProxyBenchOptions {
  readonly quick?: boolean;
  /** Progress lines (the run takes a minute or two). */
  readonly say?: (line: string) => void;
}

/** Target from issue 3 §5. */
const TARGET_ADDED_P99_MS = 2;
const TARGET_PAIR_KIB = 16;
const TARGET_MINERS = 10_000;
/** fds the daemon needs besides two per miner (listener, epoll, stdio, IPC, journal, pool reconnects). */
const FD_RESERVE = 100;

/** The soft fd limit of this process (children inherit it); Node raises it to the hard limit at start. */
function openFileLimit(): number {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (m) return Number(m[1]);
  } catch {
    // not Linux
  }
  return 1024;
}

const kib = (bytes: number) => bytes / 1024;
const ms = (x: number) => Number(x.toFixed(3));
const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');

/** What one run measures, fixed before it starts. */
interface ProxyBenchPlan {
  readonly say: (line: string) => void;
  readonly loadMiners: number;
  readonly warmupS: number;
  readonly rounds: number;
  readonly segmentS: number;
  readonly fdLimit: number;
  readonly maxMiners: number;
  readonly idleSteps: readonly number[];
  /** How the machine's cores are shared, for the notes. */
  readonly contention: string;
  /** A temp dir for the daemon's journals. */
  readonly dir: string;
}

/** What is open while the bench runs, so a failure still closes it. */
interface Held {
  readonly miners: BenchMiner[];
  readonly children: BenchChild[];
}

function planOf(options: ProxyBenchOptions, dir: string, contention: string): ProxyBenchPlan {
  const quick = options.quick === true;
  const fdLimit = openFileLimit();
  const maxMiners = Math.min(TARGET_MINERS, Math.floor((fdLimit - FD_RESERVE) / 2));
  return {
    say: options.say ?? (() => {}),
    loadMiners: quick ? 100 : 1000,
    warmupS: quick ? 1 : 2,
    rounds: quick ? 3 : 5,
    segmentS: quick ? 1 : 3,
    fdLimit,
    maxMiners,
    idleSteps: quick ? [200, Math.min(1000, maxMiners)] : [1000, maxMiners],
    contention,
    dir,
  };
}

/** The machine as the run starts: cores and load average. */
function contentionNote(): string {
  const cores = cpus().length;
  const load = loadavg()[0]!.toFixed(2);
  return cores <= 2
    ? `${cores} cores shared by the daemon, the sim pool and the generator: figures include CPU contention (load average ${load} at start)`
    : `${cores} cores (daemon, sim pool and generator in 3 processes; load average ${load} at start)`;
}

export async function benchProxy(options: ProxyBenchOptions = {}): Promise<BenchRow[]> {
  const contention = contentionNote();
  const dir = await mkdtemp(join(tmpdir(), 'hashgate-bench-proxy-'));
  const plan = planOf(options, dir, contention);
  const held: Held = { miners: [], children: [] };
  try {
    const rows = latencyRows(plan, ...(await runLatency(plan, held)));
    const idle = await runIdle(plan, held);
    return [...rows, ...idleRows(plan, idle)];
  } finally {
    closeAll(held.miners);
    await Promise.all(held.children.map((c) => c.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------
// Latency and CPU

/** The same load via hashgate and straight to the pool, taking turns: [via, direct]. */
async function runLatency(plan: ProxyBenchPlan, held: Held): Promise<[LoadResult, LoadResult]> {
  const { say, loadMiners, rounds, segmentS, warmupS, dir } = plan;
  const { miners, children } = held;
  say(
    `proxy bench: latency, ${loadMiners} miners × 1 share/s, via hashgate and direct taking turns (${rounds} × ${segmentS} s each, after ${warmupS} s warm-up)…`,
  );
  const pool = await BenchChild.spawn('pool');
  children.push(pool);
  const proxy = await BenchChild.spawn('proxy', [String(pool.port), join(dir, 'latency.jsonl')]);
  children.push(proxy);
  const viaMiners: BenchMiner[] = [];
  let failed = await connectMany(proxy.port, loadMiners, viaMiners, 'lat');
  miners.push(...viaMiners);
  if (viaMiners.length < loadMiners)
    throw new Error(`only ${viaMiners.length} of ${loadMiners} miners connected through hashgate (${failed} failed)`);
  const directMiners: BenchMiner[] = [];
  failed = await connectMany(pool.port, loadMiners, directMiners, 'direct');
  miners.push(...directMiners);
  if (directMiners.length < loadMiners)
    throw new Error(`only ${directMiners.length} of ${loadMiners} miners connected to the sim pool (${failed} failed)`);
  const results = (await runInterleaved(
    [new LoadGroup(viaMiners, [proxy, pool]), new LoadGroup(directMiners, [pool])],
    warmupS,
    rounds,
    segmentS,
  )) as [LoadResult, LoadResult];
  closeAll(miners);
  await proxy.stop();
  await pool.stop();
  children.length = 0;
  return results;
}

function latencyRows(plan: ProxyBenchPlan, via: LoadResult, direct: LoadResult): BenchRow[] {
  const { loadMiners, rounds, segmentS, contention } = plan;
  const measureS = rounds * segmentS;
  const loadName = `${fmtInt(loadMiners)} miners × 1 share/s`;
  const loadNotes = [
    `${fmtInt(via.shares)} shares via hashgate (${via.rejected} rejected, ${via.lost} unanswered), ${fmtInt(direct.shares)} direct (${direct.rejected} rejected, ${direct.lost} unanswered), ${measureS} s each, in alternating ${segmentS} s segments`,
    `max ${ms(via.max)} ms via hashgate, ${ms(direct.max)} ms direct; generator event-loop delay p99 ${ms(via.loopP99)} / ${ms(direct.loopP99)} ms`,
    contention,
  ];
  const proxyCpu = (via.cpuUs[0]! / 1000 / Math.max(1, via.shares)) * 1000;
  const poolCpu = (direct.cpuUs[0]! / 1000 / Math.max(1, direct.shares)) * 1000;
  return [
    {
      name: `submit round trip via hashgate, p50 (${loadName})`,
      value: via.p50,
      unit: 'ms',
      baseline: { name: 'straight to sim pool', value: direct.p50 },
      notes: loadNotes,
    },
    {
      name: `submit round trip via hashgate, p99 (${loadName})`,
      value: via.p99,
      unit: 'ms',
      baseline: { name: 'straight to sim pool', value: direct.p99 },
    },
    { name: 'added latency, p50 (via − direct)', value: via.p50 - direct.p50, unit: 'ms' },
    {
      name: 'added latency, p99 (via − direct)',
      value: via.p99 - direct.p99,
      unit: 'ms',
      target: { maxValue: TARGET_ADDED_P99_MS },
    },
    {
      name: 'hashgate CPU per 1,000 shares (user+sys)',
      value: proxyCpu,
      unit: 'ms',
      baseline: { name: 'sim pool CPU per 1,000 shares, direct run', value: poolCpu },
      notes: [
        `hashgate used ${((via.cpuUs[0]! / 1000 / via.windowMs) * 100).toFixed(1)} % of one core at ${fmtInt(loadMiners)} shares/s (local SHA-256d check, journal, relay); sim pool ${((via.cpuUs[1]! / 1000 / via.windowMs) * 100).toFixed(1)} % behind it`,
      ],
    },
  ];
}

// ---------------------------------------------------------------------------
// Idle memory

interface IdleStep {
  readonly n: number;
  readonly proxy: Sample;
  readonly pool: Sample;
  readonly failed: number;
  readonly ms: number;
}

/** What the idle run measured: the children with no miner (p0: hashgate, q0: the pool), then at each step. */
interface IdleRun {
  readonly p0: Sample;
  readonly q0: Sample;
  readonly steps: readonly IdleStep[];
}

/** Fresh children, then idle miners added step by step (in bounded batches), each step sampled after a forced GC. */
async function runIdle(plan: ProxyBenchPlan, held: Held): Promise<IdleRun> {
  const { say, idleSteps, fdLimit, dir } = plan;
  const { miners, children } = held;
  say(`proxy bench: memory, idle miners at ${idleSteps.map(fmtInt).join(' and ')} (fd limit ${fmtInt(fdLimit)})…`);
  const pool2 = await BenchChild.spawn('pool');
  children.push(pool2);
  const proxy2 = await BenchChild.spawn('proxy', [String(pool2.port), join(dir, 'idle.jsonl')]);
  children.push(proxy2);
  // Warm the code paths once so the baseline already holds what the first connection allocates.
  await connectMany(proxy2.port, 20, miners, 'warm');
  closeAll(miners);
  await sleep(500);
  const p0 = await proxy2.settled();
  const q0 = await pool2.settled();
  const steps: IdleStep[] = [];
  for (const n of idleSteps) {
    const t0 = performance.now();
    const bad = await connectMany(proxy2.port, n, miners, 'idle');
    const took = performance.now() - t0;
    await sleep(1000);
    steps.push({ n: miners.length, proxy: await proxy2.settled(), pool: await pool2.settled(), failed: bad, ms: took });
    if (miners.length < n) break;
  }
  closeAll(miners);
  await proxy2.stop();
  await pool2.stop();
  children.length = 0;
  return { p0, q0, steps };
}

function idleRows(plan: ProxyBenchPlan, { p0, q0, steps }: IdleRun): BenchRow[] {
  const { maxMiners, fdLimit } = plan;
  const rows: BenchRow[] = steps.map((s, i) => {
    const prev = i > 0 ? steps[i - 1] : undefined;
    const marginal =
      prev === undefined || s.n === prev.n
        ? []
        : [
            `marginal ${fmtInt(prev.n)} → ${fmtInt(s.n)}: ${(kib(s.proxy.rss - prev.proxy.rss) / (s.n - prev.n)).toFixed(1)} KiB per pair (sim pool ${(kib(s.pool.rss - prev.pool.rss) / (s.n - prev.n)).toFixed(1)} KiB per connection)`,
          ];
    return {
      name: `hashgate RSS per idle miner + upstream pair @ ${fmtInt(s.n)}`,
      value: kib(s.proxy.rss - p0.rss) / s.n,
      unit: 'KiB',
      baseline: { name: 'sim pool RSS per idle connection', value: kib(s.pool.rss - q0.rss) / s.n },
      target: { maxValue: TARGET_PAIR_KIB },
      notes: [
        `hashgate RSS ${(s.proxy.rss / 2 ** 20).toFixed(1)} MiB (${(p0.rss / 2 ** 20).toFixed(1)} MiB with none); JS heap ${(kib(s.proxy.heapUsed - p0.heapUsed) / s.n).toFixed(2)} KiB per pair; connected in ${(s.ms / 1000).toFixed(1)} s${s.failed > 0 ? `, ${s.failed} handshakes failed` : ''}`,
        ...marginal,
      ],
    };
  });
  const last = steps[steps.length - 1];
  const top = last?.n ?? 0;
  rows.push({
    name: 'idle miners held by one hashgate process',
    value: top,
    unit: 'miners',
    target: { min: TARGET_MINERS },
    notes: [
      ...(maxMiners < TARGET_MINERS
        ? [
            `capped at ${fmtInt(maxMiners)} by the fd limit (${fmtInt(fdLimit)}: 2 sockets per miner); 10,000 needs ulimit -n ≥ ${fmtInt(2 * TARGET_MINERS + FD_RESERVE)}`,
          ]
        : []),
      ...(last === undefined
        ? []
        : [
            `${(last.proxy.rss / 2 ** 20).toFixed(1)} MiB RSS at ${fmtInt(top)}; reference: btcagent claims 10,000 miners in < 64 MB on one core (${((64 * 1024) / 10_000).toFixed(1)} KiB/miner, not measured here)`,
          ]),
    ],
  });
  return rows;
}
