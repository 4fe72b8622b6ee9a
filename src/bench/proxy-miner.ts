/**
 * The proxy bench's load generator (./proxy.ts): a minimal raw-socket
 * Stratum client, and connecting many of them in bounded batches. Shares are
 * found before the timed run (hashShare from src/sim), so the hot loop only
 * writes a pre-built line and times the answer. Every wait has a timeout.
 */

import net from 'node:net';
import { hashShare, type StratumJob, targetFromDifficulty } from '../sim/hash.js';

const HANDSHAKE_TIMEOUT_MS = 20_000;
const CONNECT_BATCH = 250;

export interface RpcMessage {
  readonly id?: unknown;
  readonly method?: unknown;
  readonly params?: unknown;
  readonly result?: unknown;
  readonly error?: unknown;
}

interface Job extends StratumJob {
  readonly jobId: string;
}

export class BenchMiner {
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
export async function connectMany(port: number, total: number, miners: BenchMiner[], prefix: string): Promise<number> {
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

export function closeAll(miners: BenchMiner[]): void {
  for (const m of miners) m.close();
  miners.length = 0;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
