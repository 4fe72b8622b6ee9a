/**
 * A simulated Stratum V1 miner over real TCP (NDJSON), for integration tests. It really hashes: it builds
 * headers from the jobs it is sent (./hash.ts, node:crypto) and submits nonces that meet the current share
 * difficulty. At a tiny fractional difficulty (2^-24 ≈ 256 hashes a share) that costs little CPU.
 *
 * Handshake (sequential, like cgminer / ESP-Miner): [mining.configure] → mining.subscribe →
 * [mining.extranonce.subscribe] → [mining.suggest_difficulty] → mining.authorize.
 * Handles mining.notify (clean_jobs), mining.set_difficulty, mining.set_extranonce, mining.set_version_mask,
 * client.reconnect, mining.ping, client.get_version, client.show_message.
 * A set_difficulty applies at once or from the next mining.notify, as firmware does (options.difficultyTiming,
 * notes/stratum-difficulty.md); every share it finds records the difficulty it believed it mined at, its
 * DIFF1 / hash and its hash (miner.shares), so a test can line them up with the pool's share log.
 * Loopback only; every loop is bounded (hashes per tick, hash rate, reconnect attempts, lifetime).
 * Lines are cut by util's LineFramer; a line from the pool over maxLineBytes drops the connection.
 *
 * The parts, in ./miner/: types.ts (the public types), context.ts (state, requests), connection.ts (connect,
 * handshake, reconnect), messages.ts (what the pool sends), mining.ts (hashing), submit.ts (shares).
 */
import { waitForOn } from './shared.js';
import { connectWithRetries, reconnect } from './miner/connection.js';
import { createMinerContext, dropPending, type MinerContext, request, updateTarget } from './miner/context.js';
import { scheduleMine } from './miner/mining.js';
import { submit } from './miner/submit.js';
import type { SimMiner, SimMinerOptions } from './miner/types.js';

export type {
  DifficultyTiming,
  MinerJob,
  MinerShare,
  MinerShareRecord,
  SimMiner,
  SimMinerOptions,
  SimMinerStats,
  SubmitResult,
} from './miner/types.js';

/** Stops everything, ends the connection (destroyed after 1 s at the latest), then emits 'close'. */
async function shutdown(ctx: MinerContext, lifetime: NodeJS.Timeout): Promise<void> {
  clearTimeout(lifetime);
  for (const t of ctx.timers) clearTimeout(t);
  ctx.timers.clear();
  for (const wake of [...ctx.sleepers]) wake();
  dropPending(ctx);
  const s = ctx.socket;
  ctx.socket = undefined;
  ctx.gen++;
  if (s && !s.destroyed) {
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        s.destroy();
      }, 1000);
      s.once('close', () => {
        clearTimeout(t);
        resolve();
      });
      s.end();
    });
  }
  ctx.stats.connected = false;
  ctx.events.emit('close', ctx.stats);
}

export async function startSimMiner(opts: SimMinerOptions): Promise<SimMiner> {
  let closing: Promise<void> | undefined;
  const ctx = createMinerContext(opts, {
    reconnect: (host, port, waitMs) => void reconnect(ctx, host, port, waitMs),
    close: () => void miner.close(),
  });
  const miner: SimMiner = {
    stats: ctx.stats,
    events: ctx.events,
    options: opts,
    get currentJob() {
      return ctx.job;
    },
    shares: ctx.shares,
    get lastShare() {
      return ctx.lastShare;
    },
    get closed() {
      return ctx.closed;
    },
    submit: (share, worker) => submit(ctx, share, worker),
    request: (method, params) => request(ctx, method, params),
    sendRaw(data) {
      const s = ctx.socket;
      if (s && !s.destroyed && s.writable) s.write(data);
    },
    pause() {
      ctx.paused = true;
    },
    resume() {
      ctx.paused = false;
      scheduleMine(ctx);
    },
    waitFor: (pred, timeoutMs = 5000, label) => waitForOn(ctx.events, pred, timeoutMs, label),
    close() {
      if (closing) return closing;
      ctx.closed = true;
      closing = shutdown(ctx, lifetime);
      return closing;
    },
  };

  const lifetime = setTimeout(() => void miner.close(), opts.durationMs ?? opts.lifetimeMs ?? 60000);
  if (opts.durationMs === undefined) lifetime.unref();
  updateTarget(ctx);
  const ok = await connectWithRetries(ctx, opts.autoReconnect ? ctx.reconnectAttempts : 1);
  if (!ok) {
    await miner.close();
    throw new Error(`sim miner could not connect to ${ctx.host}:${ctx.port}`);
  }
  return miner;
}
