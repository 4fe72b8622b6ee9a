/**
 * The proxy bench's latency run (./proxy.ts): groups of connections (via
 * hashgate, or straight to the pool) submitting 1 share/s each, taking turns,
 * with the percentiles of submit written → answer read and the CPU each
 * watched child spent in the measured segments.
 */

import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { BenchChild } from './proxy-child.js';
import { type BenchMiner, sleep } from './proxy-miner.js';

/** Sampling tick of the generator's event-loop delay histogram. */
const LOOP_TICK_MS = 10;

export interface LoadResult {
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Shares submitted in the measured segments. */
  readonly shares: number;
  readonly rejected: number;
  readonly lost: number;
  /** CPU µs of each watched child during this group's measured segments. */
  readonly cpuUs: number[];
  readonly windowMs: number;
  /** The generator's event-loop delay p99 beyond the sampling tick (ms): how late the submits themselves were written. */
  readonly loopP99: number;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** One set of connections (via hashgate, or direct) submitting 1 share/s each, phases spread evenly over the second. */
export class LoadGroup {
  readonly latencies: number[] = [];
  rejected = 0;
  submitted = 0;
  answered = 0;
  measuring = false;
  windowMs = 0;
  readonly cpuUs: number[];
  readonly loop = monitorEventLoopDelay({ resolution: LOOP_TICK_MS });
  #timers: NodeJS.Timeout[] = [];

  constructor(
    readonly miners: BenchMiner[],
    readonly watched: BenchChild[],
  ) {
    this.cpuUs = watched.map(() => 0);
  }

  #fire(m: BenchMiner): void {
    const share = m.shares.shift();
    if (share === undefined || m.socket.destroyed) return;
    const counted = this.measuring;
    const t0 = performance.now();
    if (counted) this.submitted++;
    m.send('mining.submit', share, (msg) => {
      if (!counted || msg === null) return;
      this.answered++;
      this.latencies.push(performance.now() - t0);
      if (msg.result !== true) this.rejected++;
    });
  }

  start(): void {
    this.miners.forEach((m, i) => {
      this.#timers.push(
        setTimeout(
          () => {
            this.#fire(m);
            this.#timers.push(setInterval(() => this.#fire(m), 1000));
          },
          (i * 1000) / this.miners.length,
        ),
      );
    });
  }

  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
  }

  /** Runs for `seconds`; when measured, adds its latencies, the watched children's CPU and the wall time. */
  async segment(seconds: number, measured: boolean): Promise<void> {
    const before = measured ? await Promise.all(this.watched.map((c) => c.sample())) : [];
    const t0 = performance.now();
    this.measuring = measured;
    if (measured) this.loop.enable();
    this.start();
    await sleep(seconds * 1000);
    this.stop();
    this.loop.disable();
    this.measuring = false;
    // Let the last answers in (bounded).
    for (let i = 0; i < 50 && this.answered < this.submitted; i++) await sleep(20);
    if (!measured) return;
    this.windowMs += performance.now() - t0;
    const after = await Promise.all(this.watched.map((c) => c.sample()));
    after.forEach((a, i) => (this.cpuUs[i]! += a.cpuUs - before[i]!.cpuUs));
  }

  result(): LoadResult {
    const sorted = Float64Array.from(this.latencies).sort();
    return {
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
      shares: this.submitted,
      rejected: this.rejected,
      lost: this.submitted - this.answered,
      cpuUs: this.cpuUs,
      windowMs: this.windowMs,
      // The histogram records the whole interval between ticks, not the excess.
      loopP99: Math.max(0, this.loop.percentile(99) / 1e6 - LOOP_TICK_MS),
    };
  }
}

/**
 * The two groups take turns (never both at once), so background load on the
 * machine falls on both alike: a warm-up each, then `rounds` measured
 * segments of `segmentS` seconds each.
 */
export async function runInterleaved(
  groups: readonly LoadGroup[],
  warmupS: number,
  rounds: number,
  segmentS: number,
): Promise<LoadResult[]> {
  const perMiner = warmupS + rounds * (segmentS + 1) + 2;
  for (const g of groups) g.miners.forEach((m, i) => m.prepareShares(perMiner, i));
  for (const g of groups) await g.segment(warmupS, false);
  for (let r = 0; r < rounds; r++) for (const g of r % 2 === 0 ? groups : [...groups].reverse()) await g.segment(segmentS, true);
  return groups.map((g) => g.result());
}
