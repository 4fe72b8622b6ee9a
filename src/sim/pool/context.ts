/**
 * The simulated pool's state, settings and ways to write to a connection: one object the request, job and
 * share handlers (./requests.ts, ./jobs.ts, ./submit.ts) and the server (../sim-pool.ts) all work on.
 */
import { randomBytes } from 'node:crypto';
import type net from 'node:net';
import { hex32, parseHex32, targetFromDifficulty } from '../hash.js';
import { SimEmitter } from '../shared.js';
import type { PoolJob, SimPoolBehavior, SimPoolOptions, SimPoolStats } from './types.js';

/** A job as sent to one connection: what its shares are checked against. */
export interface SentJob {
  job: PoolJob;
  extranonce1: string;
  extranonce2Size: number;
  difficulty: number;
}

export interface Conn {
  id: number;
  socket: net.Socket;
  extranonce1: string;
  extranonce2Size: number;
  subscribed: boolean;
  userAgent: string | undefined;
  workers: Set<string>;
  workSent: boolean;
  difficulty: number;
  suggestedDifficulty: number | undefined;
  requestedMask: number | undefined;
  versionMask: number | undefined;
  extranonceSubscribed: boolean;
  jobs: Map<string, SentJob>;
  garbage: number;
  dead: boolean;
}

export interface PoolContext {
  readonly opts: SimPoolOptions;
  readonly host: '127.0.0.1' | '::1';
  readonly behavior: SimPoolBehavior;
  readonly events: SimEmitter;
  readonly stats: SimPoolStats;
  readonly en2Size: number;
  readonly versionRolling: boolean;
  readonly branchCount: number;
  readonly jobVersion: string;
  readonly nbits: string;
  readonly coinbaseBytes: number;
  readonly maxJobs: number;
  readonly maxLineBytes: number;
  readonly maxGarbage: number;
  readonly conns: Map<number, Conn>;
  readonly timers: Set<NodeJS.Timeout>;
  /** Duplicate keys per job id, pruned with the job history. */
  readonly seen: Map<string, Set<string>>;
  /** Difficulty for new connections. */
  difficulty: number;
  poolMask: number;
  connSeq: number;
  jobSeq: number;
  pingSeq: number;
  en1Seq: number;
  height: number;
  prevhash: string;
  currentJob: PoolJob | undefined;
  server: net.Server | undefined;
  port: number;
  jobTimer: NodeJS.Timeout | undefined;
  closed: boolean;
}

function emptyStats(): SimPoolStats {
  return {
    connections: 0,
    active: 0,
    refused: 0,
    submits: 0,
    accepted: 0,
    rejected: 0,
    rejectedByCode: {},
    byWorker: {},
    blocks: 0,
    jobs: 0,
    garbage: 0,
    oversize: 0,
    unanswered: 0,
    pongs: 0,
    shares: [],
  };
}

/** Checks the options (throws on a bad one) and gives the pool's starting state. */
export function createPoolContext(opts: SimPoolOptions): PoolContext {
  const host = opts.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== '::1') throw new Error('sim pool binds to loopback only');
  const behavior: SimPoolBehavior = {
    silent: opts.silent ?? false,
    refuse: opts.refuse ?? false,
    answerDelayMs: opts.answerDelayMs ?? 0,
    neverAnswer: opts.neverAnswer ?? false,
    rejectAll: opts.rejectAll ?? false,
    rejectIf: opts.rejectIf,
  };
  const difficulty = opts.difficulty ?? 2 ** -24;
  targetFromDifficulty(difficulty); // validates
  const en2Size = opts.extranonce2Size ?? 4;
  const poolMask = parseHex32(opts.versionMask ?? '1fffe000');
  const jobVersion = opts.version ?? '20000000';
  const nbits = opts.nbits ?? '1d00ffff';
  parseHex32(jobVersion);
  parseHex32(nbits);
  return {
    opts,
    host,
    behavior,
    events: new SimEmitter(),
    stats: emptyStats(),
    en2Size,
    versionRolling: opts.versionRolling ?? true,
    branchCount: opts.branchCount ?? 4,
    jobVersion,
    nbits,
    coinbaseBytes: opts.coinbaseBytes ?? 200,
    maxJobs: Math.max(1, opts.maxJobs ?? 8),
    maxLineBytes: opts.maxLineBytes ?? 8192,
    maxGarbage: opts.maxGarbage ?? 16,
    conns: new Map(),
    timers: new Set(),
    seen: new Map(),
    difficulty,
    poolMask,
    connSeq: 0,
    jobSeq: 0,
    pingSeq: 0,
    en1Seq: randomBytes(4).readUInt32BE(0),
    height: 900000,
    prevhash: '',
    currentJob: undefined,
    server: undefined,
    port: opts.port ?? 0,
    jobTimer: undefined,
    closed: false,
  };
}

/** Runs fn after ms, unless the pool closes first. */
export function later(ctx: PoolContext, ms: number, fn: () => void): void {
  const t = setTimeout(() => {
    ctx.timers.delete(t);
    fn();
  }, ms);
  ctx.timers.add(t);
}

/** Writes one JSON-RPC object as a line; false when the connection is gone. */
export function write(c: Conn, msg: object): boolean {
  if (c.dead || c.socket.destroyed || !c.socket.writable) return false;
  c.socket.write(`${JSON.stringify(msg)}\n`);
  return true;
}

/** A pool → miner notification; nothing while the pool is silent. */
export function unsolicited(ctx: PoolContext, c: Conn, method: string, params: unknown[]): boolean {
  if (ctx.behavior.silent) return false;
  return write(c, { id: null, method, params });
}

export function newExtranonce1(ctx: PoolContext): string {
  ctx.en1Seq = (ctx.en1Seq + 1) >>> 0;
  return hex32(ctx.en1Seq);
}

function wantsAnswer(behavior: SimPoolBehavior, method: string): boolean {
  return !(behavior.neverAnswer === true || (Array.isArray(behavior.neverAnswer) && behavior.neverAnswer.includes(method)));
}

/** Answer a request (respecting neverAnswer / answerDelayMs), then run `after`. */
export function answer(
  ctx: PoolContext,
  c: Conn,
  method: string,
  id: unknown,
  result: unknown,
  error: unknown = null,
  after?: () => void,
): void {
  if (!wantsAnswer(ctx.behavior, method)) {
    ctx.stats.unanswered++;
    ctx.events.emit('unanswered', { connId: c.id, method, id });
    return;
  }
  const go = () => {
    if (id !== undefined) write(c, { id, result, error });
    after?.();
  };
  if (ctx.behavior.answerDelayMs > 0) later(ctx, ctx.behavior.answerDelayMs, go);
  else go();
}

/** Counts an unusable line, answers it with error 20, and drops the connection after maxGarbage of them. */
export function garbage(ctx: PoolContext, c: Conn, id: unknown, why: string): void {
  ctx.stats.garbage++;
  c.garbage++;
  ctx.events.emit('garbage', { connId: c.id, why });
  write(c, { id: id ?? null, result: null, error: [20, why, null] });
  if (c.garbage > ctx.maxGarbage) c.socket.destroy();
}
