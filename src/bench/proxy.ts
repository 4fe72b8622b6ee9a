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
 */

import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildConfig, type Config } from '../config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { hashShare, type StratumJob, targetFromDifficulty } from '../sim/hash.js';
import { startSimPool } from '../sim/sim-pool.js';
import { createLogger } from '../util/log.js';
import type { BenchRow } from './harness.js';

export interface ProxyBenchOptions {
  readonly quick?: boolean;
  /** Progress lines (the run takes a minute or two). */
  readonly say?: (line: string) => void;
}

/** Pool share difficulty: target ≈ 2^256 · 0xffff/0x10000, so almost every nonce is a share. */
const SHARE_DIFFICULTY = 2 ** -32;
const CHILD_FLAG = '--hashgate-bench-child';
const SELF = fileURLToPath(import.meta.url);
/** Safety net: a child never outlives this, whatever happens to the parent. */
const CHILD_LIFETIME_MS = 10 * 60_000;
const IPC_TIMEOUT_MS = 15_000;
const HANDSHAKE_TIMEOUT_MS = 20_000;
const CONNECT_BATCH = 250;
/** Target from issue 3 §5. */
const TARGET_ADDED_P99_MS = 2;
const TARGET_PAIR_KIB = 16;
const TARGET_MINERS = 10_000;
/** fds the daemon needs besides two per miner (listener, epoll, stdio, IPC, journal, pool reconnects). */
const FD_RESERVE = 100;
/** Sampling tick of the generator's event-loop delay histogram. */
const LOOP_TICK_MS = 10;

// ---------------------------------------------------------------------------
// Child side

interface Sample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly cpuUs: number;
}

type ChildRequest = { readonly seq: number; readonly op: 'sample' | 'gc' | 'stop' };
type ChildReply =
  | { readonly op: 'ready'; readonly port: number }
  | { readonly op: 'reply'; readonly seq: number; readonly sample: Sample }
  | { readonly op: 'failed'; readonly message: string };

function sampleSelf(): Sample {
  const m = process.memoryUsage();
  const c = process.cpuUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, cpuUs: c.user + c.system };
}

async function childMain(role: string, args: readonly string[]): Promise<void> {
  const send = (m: ChildReply) => process.send?.(m);
  setTimeout(() => process.exit(3), CHILD_LIFETIME_MS).unref();
  process.on('disconnect', () => process.exit(0));
  let stop: () => Promise<void>;
  let port: number;
  try {
    if (role === 'pool') {
      const pool = await startSimPool({ difficulty: SHARE_DIFFICULTY, lifetimeMs: CHILD_LIFETIME_MS });
      stop = () => pool.close();
      port = pool.port;
    } else if (role === 'proxy') {
      const [poolPort, journal] = args;
      const base = buildConfig({
        file: {
          name: 'bench',
          value: {
            listen: ['127.0.0.1:3333'],
            pools: [`stratum+tcp://127.0.0.1:${poolPort}`],
            // Every miner comes from 127.0.0.1; the caps are not what is measured.
            limits: { maxConnections: 1_000_000, maxConnectionsPerIp: 1_000_000 },
            // The sim pool sends one job per connection and then stays quiet: no silence failover.
            failover: { notifySilenceMs: 0 },
            shutdown: { deadlineMs: 2000 },
            journal: { path: journal },
          },
        },
      });
      const config = { ...base, listen: [{ host: '127.0.0.1', port: 0 }] } as Config;
      const daemon = new Daemon(config, createLogger({ level: config.log.level }));
      await daemon.start();
      stop = () => daemon.stop();
      port = daemon.addresses()[0]!.port;
    } else throw new Error(`unknown bench child role ${role}`);
  } catch (e) {
    send({ op: 'failed', message: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (raw: ChildRequest) => {
    if (raw.op === 'gc') {
      gc?.();
      gc?.();
    }
    if (raw.op === 'stop') {
      void stop().finally(() => {
        send({ op: 'reply', seq: raw.seq, sample: sampleSelf() });
        process.exit(0);
      });
      return;
    }
    send({ op: 'reply', seq: raw.seq, sample: sampleSelf() });
  });
  send({ op: 'ready', port });
}

// ---------------------------------------------------------------------------
// Parent side: children

class BenchChild {
  readonly #cp: ChildProcess;
  readonly #waiting = new Map<number, (s: Sample) => void>();
  #seq = 0;
  #exited = false;

  private constructor(
    cp: ChildProcess,
    readonly port: number,
  ) {
    this.#cp = cp;
    cp.on('message', (m: ChildReply) => {
      if (m.op === 'reply') this.#waiting.get(m.seq)?.(m.sample);
    });
    cp.on('exit', () => (this.#exited = true));
  }

  static spawn(role: 'pool' | 'proxy', args: readonly string[] = []): Promise<BenchChild> {
    const cp = fork(SELF, [CHILD_FLAG, role, ...args], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'], execArgv: ['--expose-gc'] });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cp.kill('SIGKILL');
        reject(new Error(`bench ${role} child did not start in ${IPC_TIMEOUT_MS} ms`));
      }, IPC_TIMEOUT_MS);
      cp.on('message', function first(m: ChildReply) {
        if (m.op === 'reply') return;
        clearTimeout(timer);
        cp.off('message', first);
        if (m.op === 'ready') resolve(new BenchChild(cp, m.port));
        else reject(new Error(`bench ${role} child failed: ${m.message}`));
      });
      cp.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bench ${role} child exited with ${code} before it was ready`));
      });
    });
  }

  #call(op: ChildRequest['op']): Promise<Sample> {
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(seq);
        reject(new Error(`bench child did not answer ${op} in ${IPC_TIMEOUT_MS} ms`));
      }, IPC_TIMEOUT_MS);
      this.#waiting.set(seq, (s) => {
        clearTimeout(timer);
        this.#waiting.delete(seq);
        resolve(s);
      });
      this.#cp.send({ seq, op } satisfies ChildRequest);
    });
  }

  sample(): Promise<Sample> {
    return this.#call('sample');
  }

  /** Forced GC (twice), then a sample. */
  settled(): Promise<Sample> {
    return this.#call('gc');
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#cp.once('exit', () => resolve()));
    await this.#call('stop').catch(() => undefined);
    const timer = setTimeout(() => this.#cp.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------
// Parent side: a minimal Stratum client

interface RpcMessage {
  readonly id?: unknown;
  readonly method?: unknown;
  readonly params?: unknown;
  readonly result?: unknown;
  readonly error?: unknown;
}

interface Job extends StratumJob {
  readonly jobId: string;
}

class BenchMiner {
  readonly pending = new Map<number, (msg: RpcMessage | null) => void>();
  nextId = 1;
  extranonce1 = '';
  extranonce2Size = 0;
  difficulty = 0;
  job: Job | undefined;
  /** Pre-built mining.submit params (JSON), consumed in order. */
  shares: string[] = [];
  #buf = '';
  #onWork: (() => void) | undefined;

  constructor(
    readonly socket: net.Socket,
    readonly worker: string,
  ) {
    socket.setNoDelay(true);
    socket.setEncoding('utf8');
    socket.on('error', () => {});
    socket.on('data', (chunk: string) => {
      this.#buf += chunk;
      let nl: number;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        if (line.trim() !== '') this.#onLine(line);
      }
    });
    socket.on('close', () => {
      for (const cb of [...this.pending.values()]) cb(null);
      this.pending.clear();
    });
  }

  #onLine(line: string): void {
    let msg: RpcMessage;
    try {
      msg = JSON.parse(line) as RpcMessage;
    } catch {
      return;
    }
    if (typeof msg.method === 'string') {
      const p = Array.isArray(msg.params) ? (msg.params as unknown[]) : [];
      if (msg.method === 'mining.set_difficulty' && typeof p[0] === 'number') this.difficulty = p[0];
      if (msg.method === 'mining.notify') {
        const [jobId, prevhash, coinb1, coinb2, , version, nbits, ntime] = p as string[];
        const merkleBranch = p[4] as string[];
        this.job = {
          jobId: jobId!,
          prevhash: prevhash!,
          coinb1: coinb1!,
          coinb2: coinb2!,
          merkleBranch,
          version: version!,
          nbits: nbits!,
          ntime: ntime!,
        };
      }
      if (this.job !== undefined && this.difficulty > 0) this.#onWork?.();
      return;
    }
    if (typeof msg.id === 'number') {
      const cb = this.pending.get(msg.id);
      if (cb !== undefined) {
        this.pending.delete(msg.id);
        cb(msg);
      }
    }
  }

  /** Writes a request; `onAnswer` gets the answer, or null when the socket closed. */
  send(method: string, paramsJson: string, onAnswer: (msg: RpcMessage | null) => void): void {
    const id = this.nextId++;
    this.pending.set(id, onAnswer);
    this.socket.write(`{"id":${id},"method":"${method}","params":${paramsJson}}\n`);
  }

  request(method: string, params: unknown[]): Promise<RpcMessage | null> {
    return new Promise((resolve) => this.send(method, JSON.stringify(params), resolve));
  }

  work(): Promise<void> {
    if (this.job !== undefined && this.difficulty > 0) return Promise.resolve();
    return new Promise((resolve) => (this.#onWork = resolve));
  }

  /** Finds `count` shares for the current job (a hash or so each at difficulty 2^-32). */
  prepareShares(count: number, index: number): void {
    const job = this.job!;
    const target = targetFromDifficulty(this.difficulty);
    const extranonce2 = (index >>> 0)
      .toString(16)
      .padStart(this.extranonce2Size * 2, '0')
      .slice(-this.extranonce2Size * 2);
    this.shares = [];
    for (let nonce = 0; this.shares.length < count && nonce < count * 1000; nonce++) {
      const n = nonce.toString(16).padStart(8, '0');
      const h = hashShare(job, { extranonce1: this.extranonce1, extranonce2, ntime: job.ntime, nonce: n });
      if (h.hashInt <= target) this.shares.push(JSON.stringify([this.worker, job.jobId, extranonce2, job.ntime, n]));
    }
  }

  close(): void {
    this.socket.destroy();
  }
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: timeout`)), ms))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Connect, subscribe, authorize, wait for the first job. Destroys the socket on any failure. */
async function connectMiner(port: number, worker: string): Promise<BenchMiner> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const miner = new BenchMiner(socket, worker);
  try {
    await withTimeout(
      (async () => {
        await new Promise<void>((resolve, reject) => {
          socket.once('connect', resolve);
          socket.once('error', reject);
        });
        const sub = await miner.request('mining.subscribe', ['hashgate-bench/1']);
        const r = sub?.result;
        if (!Array.isArray(r) || typeof r[1] !== 'string' || typeof r[2] !== 'number') throw new Error('bad subscribe answer');
        miner.extranonce1 = r[1];
        miner.extranonce2Size = r[2];
        const auth = await miner.request('mining.authorize', [worker, 'x']);
        if (auth?.result !== true) throw new Error('not authorized');
        await miner.work();
      })(),
      HANDSHAKE_TIMEOUT_MS,
      'miner handshake',
    );
    return miner;
  } catch (e) {
    socket.destroy();
    throw e;
  }
}

/** Adds miners to `miners` until it holds `total`, in bounded batches; stops early when a batch mostly fails. */
async function connectMany(port: number, total: number, miners: BenchMiner[], prefix: string): Promise<number> {
  let failed = 0;
  while (miners.length < total) {
    const n = Math.min(CONNECT_BATCH, total - miners.length);
    const base = miners.length;
    const results = await Promise.allSettled(Array.from({ length: n }, (_, i) => connectMiner(port, `${prefix}.${base + failed + i}`)));
    let bad = 0;
    for (const r of results) {
      if (r.status === 'fulfilled') miners.push(r.value);
      else bad++;
    }
    failed += bad;
    if (bad > n / 10) break;
  }
  return failed;
}

function closeAll(miners: BenchMiner[]): void {
  for (const m of miners) m.close();
  miners.length = 0;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------
// Latency run

interface LoadResult {
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
class LoadGroup {
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
async function runInterleaved(groups: readonly LoadGroup[], warmupS: number, rounds: number, segmentS: number): Promise<LoadResult[]> {
  const perMiner = warmupS + rounds * (segmentS + 1) + 2;
  for (const g of groups) g.miners.forEach((m, i) => m.prepareShares(perMiner, i));
  for (const g of groups) await g.segment(warmupS, false);
  for (let r = 0; r < rounds; r++) for (const g of r % 2 === 0 ? groups : [...groups].reverse()) await g.segment(segmentS, true);
  return groups.map((g) => g.result());
}

// ---------------------------------------------------------------------------
// The bench

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

export async function benchProxy(options: ProxyBenchOptions = {}): Promise<BenchRow[]> {
  const quick = options.quick === true;
  const say = options.say ?? (() => {});
  const loadMiners = quick ? 100 : 1000;
  const warmupS = quick ? 1 : 2;
  const rounds = quick ? 3 : 5;
  const segmentS = quick ? 1 : 3;
  const measureS = rounds * segmentS;
  const fdLimit = openFileLimit();
  const maxMiners = Math.min(TARGET_MINERS, Math.floor((fdLimit - FD_RESERVE) / 2));
  const idleSteps = quick ? [200, Math.min(1000, maxMiners)] : [1000, maxMiners];
  const cores = cpus().length;
  const load = loadavg()[0]!.toFixed(2);
  const contention =
    cores <= 2
      ? `${cores} cores shared by the daemon, the sim pool and the generator: figures include CPU contention (load average ${load} at start)`
      : `${cores} cores (daemon, sim pool and generator in 3 processes; load average ${load} at start)`;
  const dir = await mkdtemp(join(tmpdir(), 'hashgate-bench-proxy-'));
  const miners: BenchMiner[] = [];
  const children: BenchChild[] = [];
  const rows: BenchRow[] = [];
  try {
    // --- latency and CPU -------------------------------------------------
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
    const [via, direct] = (await runInterleaved(
      [new LoadGroup(viaMiners, [proxy, pool]), new LoadGroup(directMiners, [pool])],
      warmupS,
      rounds,
      segmentS,
    )) as [LoadResult, LoadResult];
    closeAll(miners);
    await proxy.stop();
    await pool.stop();
    children.length = 0;

    const loadName = `${fmtInt(loadMiners)} miners × 1 share/s`;
    const loadNotes = [
      `${fmtInt(via.shares)} shares via hashgate (${via.rejected} rejected, ${via.lost} unanswered), ${fmtInt(direct.shares)} direct (${direct.rejected} rejected, ${direct.lost} unanswered), ${measureS} s each, in alternating ${segmentS} s segments`,
      `max ${ms(via.max)} ms via hashgate, ${ms(direct.max)} ms direct; generator event-loop delay p99 ${ms(via.loopP99)} / ${ms(direct.loopP99)} ms`,
      contention,
    ];
    rows.push(
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
    );
    const proxyCpu = (via.cpuUs[0]! / 1000 / Math.max(1, via.shares)) * 1000;
    const poolCpu = (direct.cpuUs[0]! / 1000 / Math.max(1, direct.shares)) * 1000;
    rows.push({
      name: 'hashgate CPU per 1,000 shares (user+sys)',
      value: proxyCpu,
      unit: 'ms',
      baseline: { name: 'sim pool CPU per 1,000 shares, direct run', value: poolCpu },
      notes: [
        `hashgate used ${((via.cpuUs[0]! / 1000 / via.windowMs) * 100).toFixed(1)} % of one core at ${fmtInt(loadMiners)} shares/s (local SHA-256d check, journal, relay); sim pool ${((via.cpuUs[1]! / 1000 / via.windowMs) * 100).toFixed(1)} % behind it`,
      ],
    });

    // --- idle memory ----------------------------------------------------
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
    const steps: { n: number; proxy: Sample; pool: Sample; failed: number; ms: number }[] = [];
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

    steps.forEach((s, i) => {
      const prev = i > 0 ? steps[i - 1] : undefined;
      const marginal =
        prev === undefined || s.n === prev.n
          ? []
          : [
              `marginal ${fmtInt(prev.n)} → ${fmtInt(s.n)}: ${(kib(s.proxy.rss - prev.proxy.rss) / (s.n - prev.n)).toFixed(1)} KiB per pair (sim pool ${(kib(s.pool.rss - prev.pool.rss) / (s.n - prev.n)).toFixed(1)} KiB per connection)`,
            ];
      rows.push({
        name: `hashgate RSS per idle miner + upstream pair @ ${fmtInt(s.n)}`,
        value: kib(s.proxy.rss - p0.rss) / s.n,
        unit: 'KiB',
        baseline: { name: 'sim pool RSS per idle connection', value: kib(s.pool.rss - q0.rss) / s.n },
        target: { maxValue: TARGET_PAIR_KIB },
        notes: [
          `hashgate RSS ${(s.proxy.rss / 2 ** 20).toFixed(1)} MiB (${(p0.rss / 2 ** 20).toFixed(1)} MiB with none); JS heap ${(kib(s.proxy.heapUsed - p0.heapUsed) / s.n).toFixed(2)} KiB per pair; connected in ${(s.ms / 1000).toFixed(1)} s${s.failed > 0 ? `, ${s.failed} handshakes failed` : ''}`,
          ...marginal,
        ],
      });
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
  } finally {
    closeAll(miners);
    await Promise.all(children.map((c) => c.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === CHILD_FLAG && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await childMain(process.argv[3] ?? '', process.argv.slice(4));
}
