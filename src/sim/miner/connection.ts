/**
 * The simulated miner's connection: connect with bounded attempts, the sequential handshake (like cgminer /
 * ESP-Miner), and reconnecting (client.reconnect, or autoReconnect when the peer drops it).
 */
import net from 'node:net';
import { hex32, isHex, parseHex32 } from '../hash.js';
import { lineReader } from '../shared.js';
import { dropPending, type MinerContext, request, resetDifficulty, sleep } from './context.js';
import { onLine } from './messages.js';
import { scheduleMine } from './mining.js';
import type { RequestAnswer } from './types.js';

/** BIP 310's mining.configure: version rolling with the mask asked for (opts.requestMask, default ffffffff). */
function configure(ctx: MinerContext): Promise<RequestAnswer> {
  const mask = ctx.opts.requestMask ?? 'ffffffff';
  return request(ctx, 'mining.configure', [['version-rolling'], { 'version-rolling.mask': mask, 'version-rolling.min-bit-count': 2 }]);
}

/** The mask in force when the pool grants version rolling: the pool's & the one asked for. */
function configured(ctx: MinerContext, r: RequestAnswer): void {
  const res = r.result as Record<string, unknown> | null;
  if (r.status === 'ok' && res && res['version-rolling'] === true && isHex(res['version-rolling.mask'], 4)) {
    ctx.versionMask = (parseHex32(res['version-rolling.mask']) & parseHex32(ctx.opts.requestMask ?? 'ffffffff')) >>> 0;
    ctx.stats.versionMask = hex32(ctx.versionMask);
  }
  ctx.events.emit('configured', ctx.stats.versionMask);
}

/** [mining.configure] → mining.subscribe → [mining.extranonce.subscribe] → [mining.suggest_difficulty] → mining.authorize. */
async function handshake(ctx: MinerContext, g: number): Promise<void> {
  const { opts, stats, events } = ctx;
  const current = () => g === ctx.gen && !ctx.closed;
  if (opts.versionRolling) {
    const r = await configure(ctx);
    if (!current()) return;
    configured(ctx, r);
  }
  const sub = await request(ctx, 'mining.subscribe', [ctx.userAgent]);
  if (!current()) return;
  const res = sub.result;
  if (sub.status !== 'ok' || !Array.isArray(res) || !isHex(res[1]) || typeof res[2] !== 'number') {
    events.emit('handshakeFailed', { step: 'subscribe', response: sub });
    return;
  }
  ctx.extranonce1 = res[1];
  ctx.extranonce2Size = res[2];
  stats.extranonce1 = ctx.extranonce1;
  stats.extranonce2Size = ctx.extranonce2Size;
  stats.subscribed = true;
  events.emit('subscribed', { extranonce1: ctx.extranonce1, extranonce2Size: ctx.extranonce2Size });
  if (opts.extranonceSubscribe) {
    await request(ctx, 'mining.extranonce.subscribe', []);
    if (!current()) return;
  }
  // Some pools never answer suggest_difficulty: don't wait for it.
  if (opts.suggestDifficulty !== undefined) void request(ctx, 'mining.suggest_difficulty', [opts.suggestDifficulty]);
  const auth = await request(ctx, 'mining.authorize', [opts.user, ctx.password]);
  if (!current()) return;
  if (auth.status === 'ok' && auth.result === true) {
    stats.authorized = true;
    events.emit('authorized');
    scheduleMine(ctx);
  } else events.emit('unauthorized', auth);
}

/** Forgets the session: job, work, extranonce, mask, difficulty; pending requests settle as 'closed'. */
function resetSession(ctx: MinerContext): void {
  const { stats } = ctx;
  stats.connected = false;
  stats.subscribed = false;
  stats.authorized = false;
  ctx.job = undefined;
  ctx.work = undefined;
  ctx.extranonce1 = undefined;
  ctx.versionMask = undefined;
  stats.versionMask = undefined;
  resetDifficulty(ctx);
  dropPending(ctx);
}

function connectOnce(host: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('connect timeout'));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      s.destroy();
      reject(e);
    });
  });
}

function attach(ctx: MinerContext, s: net.Socket): void {
  const { stats, events } = ctx;
  const g = ++ctx.gen;
  ctx.socket = s;
  s.setNoDelay(true);
  s.on('error', (e) => events.emit('socketError', e));
  const oversized = () => {
    stats.garbage++;
    s.destroy();
  };
  const line = (text: string) => {
    if (g === ctx.gen) onLine(ctx, text);
  };
  s.on('data', lineReader(ctx.maxLineBytes, line, oversized));
  s.on('close', () => {
    if (g !== ctx.gen) return;
    ctx.socket = undefined;
    resetSession(ctx);
    stats.disconnects++;
    events.emit('disconnect');
    if (ctx.closed || ctx.reconnecting) return;
    if (ctx.opts.autoReconnect) void reconnect(ctx, ctx.host, ctx.port, ctx.reconnectDelayMs);
    else ctx.hooks.close();
  });
  stats.connects++;
  stats.connected = true;
  events.emit('connect', { host: ctx.host, port: ctx.port });
  if (ctx.opts.handshake ?? true) void handshake(ctx, g);
}

/** Connect with bounded attempts; true on success. */
export async function connectWithRetries(ctx: MinerContext, attempts: number): Promise<boolean> {
  for (let i = 0; i < attempts && !ctx.closed; i++) {
    if (i > 0) await sleep(ctx, ctx.reconnectDelayMs);
    if (ctx.closed) return false;
    try {
      const s = await connectOnce(ctx.host, ctx.port, ctx.opts.connectTimeoutMs ?? 2000);
      if (ctx.closed) {
        s.destroy();
        return false;
      }
      attach(ctx, s);
      return true;
    } catch (e) {
      ctx.events.emit('connectFailed', e);
    }
  }
  return false;
}

/** Drops the connection and connects to host:port after waitMs; gives up (and closes) after reconnectAttempts. */
export async function reconnect(ctx: MinerContext, host: string, port: number, waitMs: number): Promise<void> {
  if (ctx.closed || ctx.reconnecting) return;
  ctx.reconnecting = true;
  ctx.stats.reconnects++;
  ctx.events.emit('reconnecting', { host, port, waitMs });
  const old = ctx.socket;
  ctx.gen++; // retire the old connection's callbacks
  ctx.socket = undefined;
  resetSession(ctx);
  old?.destroy();
  ctx.host = host;
  ctx.port = port;
  if (waitMs > 0) await sleep(ctx, waitMs);
  const ok = await connectWithRetries(ctx, ctx.reconnectAttempts);
  ctx.reconnecting = false;
  if (!ok && !ctx.closed) {
    ctx.events.emit('giveup');
    ctx.hooks.close();
  }
}
