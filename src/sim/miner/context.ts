/**
 * The simulated miner's state and settings, and its JSON-RPC requests: one object the message, mining,
 * submit and connection parts (./messages.ts, ./mining.ts, ./submit.ts, ./connection.ts) all work on.
 * Reconnecting and closing belong to the connection and the miner itself: the parts below them reach those
 * through `hooks`.
 */
import type net from 'node:net';
import { isLoopback, targetFromDifficulty } from '../hash.js';
import { SimEmitter } from '../shared.js';
import type { DifficultyTiming, MinerJob, MinerShare, MinerShareRecord, RequestAnswer, SimMinerOptions, SimMinerStats } from './types.js';

export interface Pending {
  id: number | string;
  method: string;
  timer: NodeJS.Timeout;
  resolve: (r: RequestAnswer) => void;
}

/** The header being hashed: one job, extranonce2 and version bits; the nonce counts up. */
export interface Work {
  job: MinerJob;
  extranonce1: string;
  extranonce2: string;
  versionBits: number | undefined;
  header: Buffer;
  nonce: number;
}

export interface MinerHooks {
  reconnect(host: string, port: number, waitMs: number): void;
  close(): void;
}

export interface MinerContext {
  readonly opts: SimMinerOptions;
  readonly hooks: MinerHooks;
  readonly events: SimEmitter;
  readonly stats: SimMinerStats;
  readonly shares: MinerShareRecord[];
  readonly password: string;
  readonly userAgent: string;
  readonly mine: boolean;
  readonly answerPings: boolean;
  readonly reconnectAttempts: number;
  readonly reconnectDelayMs: number;
  readonly maxReconnectWaitMs: number;
  readonly requestTimeoutMs: number;
  readonly hashesPerTick: number;
  readonly maxHashRate: number;
  readonly maxLineBytes: number;
  readonly difficultyTiming: DifficultyTiming;
  readonly timers: Set<NodeJS.Timeout>;
  readonly sleepers: Set<() => void>;
  host: string;
  port: number;
  lastShare: MinerShare | undefined;
  socket: net.Socket | undefined;
  /** Bumped on every (re)connection; stale callbacks compare against it. */
  gen: number;
  closed: boolean;
  reconnecting: boolean;
  paused: boolean;
  doneEmitted: boolean;
  nextId: number;
  pending: Pending[];
  job: MinerJob | undefined;
  extranonce1: string | undefined;
  extranonce2Size: number;
  versionMask: number | undefined;
  /** The last difficulty the pool sent. */
  difficulty: number | undefined;
  /** The difficulty the current job is mined at ('next-notify': bound when the job arrived). */
  workDifficulty: number | undefined;
  /** 'next-notify': the difficulty the next mining.notify will bring into force. */
  pendingDifficulty: number | undefined;
  target: bigint | undefined;
  /** The difficulty `target` was made from: what a share found against it is believed to be worth. */
  targetDifficulty: number;
  work: Work | undefined;
  en2Counter: number;
  nextShareAt: number;
  windowStart: number;
  windowHashes: number;
  mineScheduled: boolean;
}

export const normalizeHost = (h: string) => (h === 'localhost' ? '127.0.0.1' : h);

function emptyStats(): SimMinerStats {
  return {
    connects: 0,
    reconnects: 0,
    disconnects: 0,
    hashes: 0,
    found: 0,
    submitted: 0,
    accepted: 0,
    rejected: 0,
    rejectedByCode: {},
    timeouts: 0,
    jobs: 0,
    cleanJobs: 0,
    difficulty: undefined,
    workDifficulty: undefined,
    pendingDifficulty: undefined,
    extranonce1: undefined,
    extranonce2Size: undefined,
    versionMask: undefined,
    subscribed: false,
    authorized: false,
    connected: false,
    pings: 0,
    garbage: 0,
    unmatched: 0,
    messages: [],
  };
}

/** Checks the options (throws on a bad one) and gives the miner's starting state. */
export function createMinerContext(opts: SimMinerOptions, hooks: MinerHooks): MinerContext {
  const host = normalizeHost(opts.host ?? '127.0.0.1');
  if (!isLoopback(host)) throw new Error(`sim miner connects to loopback only, not ${host}`);
  if (opts.mineDifficulty !== undefined) targetFromDifficulty(opts.mineDifficulty);
  const timing = opts.difficultyTiming ?? 'immediate';
  if (timing !== 'immediate' && timing !== 'next-notify') throw new Error(`unknown difficultyTiming ${JSON.stringify(timing)}`);
  return {
    opts,
    hooks,
    events: new SimEmitter(),
    stats: emptyStats(),
    shares: [],
    password: opts.password ?? 'x',
    userAgent: opts.userAgent ?? 'sim-miner/1.0',
    mine: opts.mine ?? true,
    answerPings: opts.answerPings ?? true,
    reconnectAttempts: Math.max(1, opts.reconnectAttempts ?? 5),
    reconnectDelayMs: opts.reconnectDelayMs ?? 100,
    maxReconnectWaitMs: opts.maxReconnectWaitMs ?? 5000,
    requestTimeoutMs: opts.requestTimeoutMs ?? 5000,
    hashesPerTick: Math.max(1, opts.hashesPerTick ?? 256),
    maxHashRate: Math.max(1, opts.maxHashRate ?? 50000),
    maxLineBytes: opts.maxLineBytes ?? 65536,
    difficultyTiming: timing,
    timers: new Set(),
    sleepers: new Set(),
    host,
    port: opts.port,
    lastShare: undefined,
    socket: undefined,
    gen: 0,
    closed: false,
    reconnecting: false,
    paused: false,
    doneEmitted: false,
    nextId: 1,
    pending: [],
    job: undefined,
    extranonce1: undefined,
    extranonce2Size: 4,
    versionMask: undefined,
    difficulty: undefined,
    workDifficulty: undefined,
    pendingDifficulty: undefined,
    target: undefined,
    targetDifficulty: 1,
    work: undefined,
    en2Counter: 0,
    nextShareAt: 0,
    windowStart: 0,
    windowHashes: 0,
    mineScheduled: false,
  };
}

/** Waits ms; close() wakes every sleeper at once. */
export function sleep(ctx: MinerContext, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const wake = () => {
      clearTimeout(t);
      ctx.timers.delete(t);
      ctx.sleepers.delete(wake);
      resolve();
    };
    const t = setTimeout(wake, ms);
    ctx.timers.add(t);
    ctx.sleepers.add(wake);
  });
}

export function write(ctx: MinerContext, obj: object): void {
  const s = ctx.socket;
  if (s && !s.destroyed && s.writable) s.write(`${JSON.stringify(obj)}\n`);
}

/** Sends a request and resolves with its answer, or 'timeout' after requestTimeoutMs, or 'closed'. */
export function request(ctx: MinerContext, method: string, params: unknown[], id: number | string = ctx.nextId++): Promise<RequestAnswer> {
  return new Promise<RequestAnswer>((resolve) => {
    if (ctx.closed || !ctx.socket) {
      resolve({ result: null, error: null, status: 'closed' });
      return;
    }
    const p: Pending = {
      id,
      method,
      resolve,
      timer: setTimeout(() => {
        ctx.timers.delete(p.timer);
        ctx.pending = ctx.pending.filter((x) => x !== p);
        resolve({ result: null, error: null, status: 'timeout' });
        // Submits count their timeout once the share record is updated (in submit()).
        if (method !== 'mining.submit') {
          ctx.stats.timeouts++;
          ctx.events.emit('timeout', { id, method });
        }
      }, ctx.requestTimeoutMs),
    };
    ctx.timers.add(p.timer);
    ctx.pending.push(p);
    write(ctx, { id, method, params });
  });
}

/** Settles every pending request as 'closed'. */
export function dropPending(ctx: MinerContext): void {
  const old = ctx.pending;
  ctx.pending = [];
  for (const p of old) {
    clearTimeout(p.timer);
    ctx.timers.delete(p.timer);
    p.resolve({ result: null, error: null, status: 'closed' });
  }
}

/** The target the work is mined against: mineDifficulty, else the work's difficulty, else 1 (what miners assume until told). */
export function updateTarget(ctx: MinerContext): void {
  const d = ctx.opts.mineDifficulty ?? ctx.workDifficulty ?? 1;
  ctx.target = targetFromDifficulty(d);
  ctx.targetDifficulty = d;
}

/** Puts `d` in force for the work (and in the stats), and retargets. */
export function applyDifficulty(ctx: MinerContext, d: number | undefined): void {
  ctx.workDifficulty = d;
  ctx.stats.workDifficulty = d;
  updateTarget(ctx);
}

/** Forgets the difficulties in force and pending (a new connection starts from scratch; stats.difficulty stays the last one sent). */
export function resetDifficulty(ctx: MinerContext): void {
  ctx.difficulty = undefined;
  ctx.pendingDifficulty = undefined;
  ctx.stats.pendingDifficulty = undefined;
  applyDifficulty(ctx, undefined);
}
