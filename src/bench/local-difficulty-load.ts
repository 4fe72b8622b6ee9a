/**
 * The local-difficulty bench's load (./local-difficulty.ts): shares sorted
 * into the two kinds hashgate treats differently, and groups of connections
 * submitting them at fixed rates.
 *
 * Shares are found before the timed run (hashShare from src/sim, an
 * implementation independent of hashgate's): each nonce is hashed once and
 * filed as "forwarded" when it meets the pool's difficulty, else "local"
 * (it meets only the miner's lower local difficulty: hashgate answers it
 * itself). The hot loop only writes a pre-built line and times the answer.
 * One extranonce2 per miner, so the merkle root is built once and only the
 * header's nonce changes; the first share of each miner is checked against
 * hashShare's full computation.
 */

import { monitorEventLoopDelay } from 'node:perf_hooks';
import { buildHeader, coinbase, hashShare, hashToBigInt, merkleRoot, parseHex32, sha256d, targetFromDifficulty } from '../sim/hash.js';
import type { BenchChild } from './proxy-child.js';
import { type BenchMiner, sleep } from './proxy-miner.js';

/** Sampling tick of the generator's event-loop delay histogram. */
const LOOP_TICK_MS = 10;
/** Nonces tried per share wanted, at most (a share of either kind is a nonce in 1–4 at the bench's difficulties). */
const NONCES_PER_SHARE = 64;
/** Offset of the nonce in the 80-byte block header. */
const HEADER_NONCE_OFFSET = 76;

/** One miner's pre-built mining.submit params (JSON), by kind, consumed in order. */
export interface ShareQueues {
  readonly local: string[];
  readonly forwarded: string[];
}

/**
 * Finds at least `local` shares that meet only the miner's difficulty and `forwarded` ones that meet the pool's
 * too, on the miner's current job (distinct nonces; extranonce2 from `index`, so no two miners share work).
 */
export function prepareShares(
  m: BenchMiner,
  poolDifficulty: number,
  want: { local: number; forwarded: number },
  index: number,
): ShareQueues {
  const job = m.job;
  if (job === undefined || m.difficulty <= 0) throw new Error(`miner ${m.worker} has no work`);
  const minerTarget = targetFromDifficulty(m.difficulty);
  const poolTarget = targetFromDifficulty(poolDifficulty);
  const extranonce2 = (index >>> 0)
    .toString(16)
    .padStart(m.extranonce2Size * 2, '0')
    .slice(-m.extranonce2Size * 2);
  const q: ShareQueues = { local: [], forwarded: [] };
  const root = merkleRoot(coinbase(job.coinb1, m.extranonce1, extranonce2, job.coinb2), job.merkleBranch);
  const header = buildHeader({
    version: parseHex32(job.version),
    prevhash: job.prevhash,
    merkleRoot: root,
    ntime: parseHex32(job.ntime),
    nbits: parseHex32(job.nbits),
    nonce: 0,
  });
  const limit = (want.local + want.forwarded + 1) * NONCES_PER_SHARE;
  for (let nonce = 0; nonce < limit && (q.local.length < want.local || q.forwarded.length < want.forwarded); nonce++) {
    // The header's last 4 bytes are the nonce, little-endian (the wire's big-endian hex, byte-swapped).
    header.writeUInt32LE(nonce, HEADER_NONCE_OFFSET);
    const hashInt = hashToBigInt(sha256d(header));
    if (hashInt > minerTarget) continue;
    const n = nonce.toString(16).padStart(8, '0');
    if (q.local.length + q.forwarded.length === 0) {
      const full = hashShare(job, { extranonce1: m.extranonce1, extranonce2, ntime: job.ntime, nonce: n });
      if (full.hashInt !== hashInt) throw new Error(`share preparation disagrees with hashShare for ${m.worker} nonce ${n}`);
    }
    const list = hashInt <= poolTarget ? q.forwarded : q.local;
    list.push(JSON.stringify([m.worker, job.jobId, extranonce2, job.ntime, n]));
  }
  if (q.local.length < want.local || q.forwarded.length < want.forwarded)
    throw new Error(
      `found ${q.local.length}/${want.local} local and ${q.forwarded.length}/${want.forwarded} forwarded shares in ${limit} nonces`,
    );
  return q;
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** What one group measured over its measured segments. */
export interface RateResult {
  /** Submit written → answer read, of the timed kind only (ms). */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** Shares of the timed kind submitted in the measured segments. */
  readonly timed: number;
  /** Shares of every kind submitted in the measured segments. */
  readonly shares: number;
  /** Answers other than true, of any kind. */
  readonly rejected: number;
  /** Submits with no answer by the end of their segment (plus a bounded grace). */
  readonly lost: number;
  /** CPU µs the watched child (the daemon) spent in the measured segments. */
  readonly cpuUs: number;
  /** The kernel's part of cpuUs. */
  readonly sysUs: number;
  readonly windowMs: number;
  /** The generator's event-loop delay p99 beyond the sampling tick (ms): how late the submits themselves were written. */
  readonly loopP99: number;
}

/** What a group sends: per miner, shares per second of each kind, and whose latency is recorded. */
export interface RateSpec {
  readonly localPerS: number;
  readonly forwardedPerS: number;
  readonly timed: 'local' | 'forwarded';
}

/** One set of connections to one daemon, each submitting at fixed rates (phases spread evenly over the period). */
export class RateGroup {
  readonly #latencies: number[] = [];
  #rejected = 0;
  #submitted = 0;
  #timed = 0;
  #answered = 0;
  #measuring = false;
  #windowMs = 0;
  #cpuUs = 0;
  #sysUs = 0;
  readonly #loop = monitorEventLoopDelay({ resolution: LOOP_TICK_MS });
  #timers: NodeJS.Timeout[] = [];

  constructor(
    readonly name: string,
    readonly miners: readonly BenchMiner[],
    readonly queues: readonly ShareQueues[],
    readonly spec: RateSpec,
    readonly daemon: BenchChild,
  ) {}

  #fire(i: number, kind: 'local' | 'forwarded'): void {
    const m = this.miners[i]!;
    const share = this.queues[i]![kind].shift();
    if (share === undefined || m.socket.destroyed) return;
    const counted = this.#measuring;
    const timed = counted && kind === this.spec.timed;
    const t0 = performance.now();
    if (counted) this.#submitted++;
    if (timed) this.#timed++;
    m.send('mining.submit', share, (msg) => {
      if (!counted || msg === null) return;
      this.#answered++;
      if (msg.result !== true) this.#rejected++;
      if (timed) this.#latencies.push(performance.now() - t0);
    });
  }

  #stream(i: number, kind: 'local' | 'forwarded', perS: number): void {
    if (perS <= 0) return;
    const periodMs = 1000 / perS;
    const start = setTimeout(
      () => {
        this.#fire(i, kind);
        this.#timers.push(setInterval(() => this.#fire(i, kind), periodMs));
      },
      (i * periodMs) / this.miners.length,
    );
    this.#timers.push(start);
  }

  #stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
  }

  /** Runs for `seconds`; when measured, adds its latencies, the daemon's CPU and the wall time. */
  async segment(seconds: number, measured: boolean): Promise<void> {
    const before = measured ? await this.daemon.sample() : undefined;
    const t0 = performance.now();
    this.#measuring = measured;
    if (measured) this.#loop.enable();
    this.miners.forEach((_, i) => {
      this.#stream(i, 'local', this.spec.localPerS);
      this.#stream(i, 'forwarded', this.spec.forwardedPerS);
    });
    await sleep(seconds * 1000);
    this.#stop();
    this.#loop.disable();
    this.#measuring = false;
    // Let the last answers in (bounded: 50 × 20 ms).
    for (let i = 0; i < 50 && this.#answered < this.#submitted; i++) await sleep(20);
    if (before === undefined) return;
    this.#windowMs += performance.now() - t0;
    const after = await this.daemon.sample();
    this.#cpuUs += after.cpuUs - before.cpuUs;
    this.#sysUs += after.sysUs - before.sysUs;
  }

  result(): RateResult {
    const sorted = Float64Array.from(this.#latencies).sort();
    return {
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99),
      max: sorted.length > 0 ? sorted[sorted.length - 1]! : Number.NaN,
      timed: this.#timed,
      shares: this.#submitted,
      rejected: this.#rejected,
      lost: this.#submitted - this.#answered,
      cpuUs: this.#cpuUs,
      sysUs: this.#sysUs,
      windowMs: this.#windowMs,
      // The histogram records the whole interval between ticks, not the excess.
      loopP99: Math.max(0, this.#loop.percentile(99) / 1e6 - LOOP_TICK_MS),
    };
  }
}

/**
 * The groups take turns (never two at once), so background load on the machine falls on all alike: a warm-up
 * each, then `rounds` measured segments of `segmentS` seconds each, the order reversed every other round.
 */
export async function runTurns(groups: readonly RateGroup[], warmupS: number, rounds: number, segmentS: number): Promise<RateResult[]> {
  for (const g of groups) await g.segment(warmupS, false);
  for (let r = 0; r < rounds; r++) for (const g of r % 2 === 0 ? groups : [...groups].reverse()) await g.segment(segmentS, true);
  return groups.map((g) => g.result());
}
