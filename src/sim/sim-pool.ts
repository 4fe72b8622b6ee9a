/**
 * A simulated Stratum V1 pool over real TCP (NDJSON) on 127.0.0.1, for integration tests.
 * It checks every share itself with ./hash.ts (node:crypto), independent of the proxy's Stratum code.
 *
 * Behaviour follows what real pools do (ckpool-style answers):
 * - mining.subscribe → [[["mining.set_difficulty", id], ["mining.notify", id]], extranonce1 (4 bytes, unique), extranonce2_size]
 * - mining.authorize → true (any credentials, or a password / predicate check), then set_difficulty + notify once per connection
 * - mining.configure → BIP 310 version rolling, mask = requested & pool mask
 * - mining.submit → true, or error [code, message, null] with 20 other, 21 stale, 22 duplicate, 23 low difficulty,
 *   24 unauthorized worker, 25 not subscribed
 *
 * A share is checked against min(difficulty when its job was sent to that connection, current difficulty), so
 * shares in flight across a set_difficulty are not punished, whether the miner applies it at once or from the
 * next mining.notify (ckpool does the same for the job before a change; notes/stratum-difficulty.md). Shares
 * are never accepted for jobs the connection was not sent, or that a clean_jobs notify (or the job cap) has
 * retired. shareLog() gives every share with its verdict and the difficulty it was held to.
 *
 * Lines are cut by util's LineFramer: a line over maxLineBytes (not counting its "\r\n") is answered with
 * an error and its connection closed. The parts, in ./pool/: types.ts (the public types), context.ts (state
 * and writing), requests.ts (one handler per method), submit.ts (the share checks), jobs.ts (coinbase and
 * notify), control.ts (what a test makes the pool send); this file runs the server.
 */
import net from 'node:net';
import { lineReader, listenOn, waitForOn } from './shared.js';
import { type Conn, createPoolContext, later, newExtranonce1, type PoolContext, write } from './pool/context.js';
import * as control from './pool/control.js';
import { onLine } from './pool/requests.js';
import type { SimPool, SimPoolOptions } from './pool/types.js';

export type {
  ClientInfo,
  PoolJob,
  PoolShare,
  RejectDecision,
  ShareLogFilter,
  SimPool,
  SimPoolBehavior,
  SimPoolOptions,
  SimPoolStats,
  StratumCode,
  WorkerStats,
} from './pool/types.js';
export { REASONS } from './pool/types.js';
export { waitForOn };

/** A line over maxLineBytes: answered with an error, then the connection is closed. */
function onOversized(ctx: PoolContext, c: Conn): void {
  ctx.stats.oversize++;
  ctx.events.emit('oversize', { connId: c.id });
  write(c, { id: null, result: null, error: [20, 'Line too long', null] });
  c.dead = true;
  c.socket.end();
  later(ctx, 1000, () => c.socket.destroy());
}

function onConnection(ctx: PoolContext, socket: net.Socket): void {
  socket.on('error', () => {});
  if (ctx.behavior.refuse || ctx.closed) {
    ctx.stats.refused++;
    ctx.events.emit('refused');
    socket.resetAndDestroy();
    return;
  }
  socket.setNoDelay(true);
  const c: Conn = {
    id: ++ctx.connSeq,
    socket,
    extranonce1: newExtranonce1(ctx),
    extranonce2Size: ctx.en2Size,
    subscribed: false,
    userAgent: undefined,
    workers: new Set(),
    workSent: false,
    difficulty: ctx.difficulty,
    suggestedDifficulty: undefined,
    requestedMask: undefined,
    versionMask: undefined,
    extranonceSubscribed: false,
    jobs: new Map(),
    garbage: 0,
    dead: false,
  };
  ctx.conns.set(c.id, c);
  ctx.stats.connections++;
  ctx.stats.active++;
  socket.on(
    'data',
    lineReader(
      ctx.maxLineBytes,
      (line) => onLine(ctx, c, line),
      () => onOversized(ctx, c),
    ),
  );
  socket.on('close', () => {
    c.dead = true;
    ctx.conns.delete(c.id);
    ctx.stats.active--;
    ctx.events.emit('disconnect', { connId: c.id });
  });
  ctx.events.emit('connection', { connId: c.id, extranonce1: c.extranonce1 });
}

async function listen(ctx: PoolContext): Promise<void> {
  const s = net.createServer((socket) => onConnection(ctx, socket));
  ctx.port = await listenOn(s, { host: ctx.host, port: ctx.port, exclusive: true });
  ctx.server = s;
  const every = ctx.opts.jobIntervalMs;
  if (every && every > 0 && !ctx.jobTimer) {
    ctx.jobTimer = setInterval(() => control.notify(ctx, false), every);
    ctx.jobTimer.unref();
  }
}

/** Destroys every connection and stops listening. */
async function kill(ctx: PoolContext): Promise<void> {
  if (ctx.jobTimer) clearInterval(ctx.jobTimer);
  ctx.jobTimer = undefined;
  const gone: Promise<void>[] = [];
  for (const c of ctx.conns.values()) {
    c.dead = true;
    if (!c.socket.closed) gone.push(new Promise((resolve) => c.socket.once('close', () => resolve())));
    c.socket.destroy();
  }
  await Promise.all(gone);
  const s = ctx.server;
  ctx.server = undefined;
  if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
}

export async function startSimPool(opts: SimPoolOptions = {}): Promise<SimPool> {
  const ctx = createPoolContext(opts);
  const pool: SimPool = {
    host: ctx.host,
    get port() {
      return ctx.port;
    },
    stats: ctx.stats,
    events: ctx.events,
    behavior: ctx.behavior,
    get currentJob() {
      return ctx.currentJob;
    },
    setDifficulty: (d, connId) => control.setDifficulty(ctx, d, connId),
    notify: (clean) => control.notify(ctx, clean),
    setExtranonce: (extranonce1, size, o) => control.setExtranonce(ctx, extranonce1, size, o),
    setVersionMask: (mask) => control.setVersionMask(ctx, mask),
    sendReconnect: (h, p, wait) => control.sendReconnect(ctx, h, p, wait),
    ping: () => control.ping(ctx),
    send: (msg, connId) => control.send(ctx, msg, connId),
    clients: () => control.clients(ctx),
    shareLog: (filter) => control.shareLog(ctx, filter),
    kill: () => kill(ctx),
    async restart() {
      if (ctx.closed) throw new Error('pool is closed');
      if (ctx.server) return;
      await listen(ctx);
    },
    waitFor: (pred, timeoutMs = 5000, label) => waitForOn(ctx.events, pred, timeoutMs, label),
    async close() {
      if (ctx.closed) return;
      ctx.closed = true;
      clearTimeout(lifetime);
      for (const t of ctx.timers) clearTimeout(t);
      ctx.timers.clear();
      await kill(ctx);
      ctx.events.emit('close');
    },
  };
  await listen(ctx);
  const lifetime = setTimeout(() => void pool.close(), opts.lifetimeMs ?? 60000);
  lifetime.unref();
  return pool;
}
