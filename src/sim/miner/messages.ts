/** What the simulated miner does with each line the pool sends: a notification or request, or an answer. */
import { hex32, isHex, isLoopback, parseHex32 } from '../hash.js';
import { applyDifficulty, type MinerContext, normalizeHost, write } from './context.js';
import { scheduleMine } from './mining.js';

type Msg = { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };

/** Params that make no sense: counted as garbage, otherwise ignored. */
function badParams(ctx: MinerContext): void {
  ctx.stats.garbage++;
}

function onNotify(ctx: MinerContext, params: unknown[]): void {
  const [jobId, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean] = params;
  if (
    typeof jobId !== 'string' ||
    !isHex(prevhash, 32) ||
    !isHex(coinb1) ||
    !isHex(coinb2) ||
    !Array.isArray(branch) ||
    !branch.every((b) => isHex(b, 32)) ||
    !isHex(version, 4) ||
    !isHex(nbits, 4) ||
    !isHex(ntime, 4)
  ) {
    ctx.stats.garbage++;
    ctx.events.emit('garbage', { why: 'bad notify', params });
    return;
  }
  const job = { jobId, prevhash, coinb1, coinb2, merkleBranch: branch as string[], version, nbits, ntime, clean: clean === true };
  ctx.job = job;
  ctx.work = undefined;
  ctx.stats.jobs++;
  if (job.clean) ctx.stats.cleanJobs++;
  // 'next-notify' (cgminer's parse_notify): the job brings the difficulty received since the last one into force.
  const pending = ctx.pendingDifficulty;
  if (pending !== undefined) {
    ctx.pendingDifficulty = undefined;
    ctx.stats.pendingDifficulty = undefined;
    applyDifficulty(ctx, pending);
  }
  ctx.events.emit('job', job);
  if (pending !== undefined) ctx.events.emit('difficultyApplied', { difficulty: pending, jobId });
  scheduleMine(ctx);
}

/**
 * mining.set_difficulty [difficulty]: any finite positive number, fractional and below 1 included (the
 * target is exact, ./hash.ts). 'immediate' retargets the work in progress; 'next-notify' holds it for the
 * next job, except the connection's first difficulty, which applies at once (there is none to keep).
 */
function onSetDifficulty(ctx: MinerContext, params: unknown[]): void {
  const d = Number(params[0]);
  if (!Number.isFinite(d) || d <= 0) return badParams(ctx);
  ctx.difficulty = d;
  ctx.stats.difficulty = d;
  const now = ctx.difficultyTiming === 'immediate' || ctx.workDifficulty === undefined;
  ctx.pendingDifficulty = now ? undefined : d;
  ctx.stats.pendingDifficulty = ctx.pendingDifficulty;
  if (now) applyDifficulty(ctx, d);
  ctx.events.emit('difficulty', d);
  if (now) ctx.events.emit('difficultyApplied', { difficulty: d, jobId: ctx.job?.jobId });
  scheduleMine(ctx);
}

function onSetExtranonce(ctx: MinerContext, params: unknown[]): void {
  const [en1, size] = params;
  if (!isHex(en1) || typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 16) return badParams(ctx);
  ctx.extranonce1 = en1;
  ctx.extranonce2Size = size;
  ctx.stats.extranonce1 = en1;
  ctx.stats.extranonce2Size = size;
  ctx.work = undefined;
  ctx.events.emit('extranonce', { extranonce1: en1, extranonce2Size: size });
  scheduleMine(ctx);
}

function onSetVersionMask(ctx: MinerContext, params: unknown[]): void {
  if (!isHex(params[0], 4)) return badParams(ctx);
  ctx.versionMask = parseHex32(params[0]);
  ctx.stats.versionMask = hex32(ctx.versionMask);
  ctx.work = undefined;
  ctx.events.emit('versionMask', ctx.stats.versionMask);
}

/** client.reconnect [host, port, wait]: honoured, but never away from loopback, and the wait is capped. */
function onReconnect(ctx: MinerContext, params: unknown[]): void {
  const [h, p, wait] = params;
  let nh = typeof h === 'string' && h !== '' ? normalizeHost(h) : ctx.host;
  if (!isLoopback(nh)) nh = ctx.host; // never leave loopback
  const np = Number(p);
  const nport = Number.isInteger(np) && np > 0 && np < 65536 ? np : ctx.port;
  const waitMs = Math.min(ctx.maxReconnectWaitMs, Math.max(0, Number(wait) * 1000 || 0));
  ctx.events.emit('reconnectRequested', { host: nh, port: nport, waitMs });
  ctx.hooks.reconnect(nh, nport, waitMs);
}

function onNotification(ctx: MinerContext, method: string, params: unknown[], id: unknown): void {
  switch (method) {
    case 'mining.notify':
      return onNotify(ctx, params);
    case 'mining.set_difficulty':
      return onSetDifficulty(ctx, params);
    case 'mining.set_extranonce':
      return onSetExtranonce(ctx, params);
    case 'mining.set_version_mask':
      return onSetVersionMask(ctx, params);
    case 'client.reconnect':
      return onReconnect(ctx, params);
    case 'mining.ping':
      ctx.stats.pings++;
      ctx.events.emit('ping');
      if (ctx.answerPings && id !== undefined && id !== null) write(ctx, { id, result: 'pong', error: null });
      return;
    case 'client.get_version':
      if (id !== undefined && id !== null) write(ctx, { id, result: ctx.userAgent, error: null });
      return;
    case 'client.show_message':
      ctx.stats.messages.push(String(params[0]));
      ctx.events.emit('message', String(params[0]));
      return;
    default:
      ctx.events.emit('unknown', { method, params, id });
  }
}

/** A response settles the oldest pending request with its id (ids may repeat with sameSubmitId). */
function onResponse(ctx: MinerContext, msg: Msg): void {
  const i = ctx.pending.findIndex((p) => p.id === msg.id);
  if (i === -1) {
    ctx.stats.unmatched++;
    ctx.events.emit('unmatched', msg);
    return;
  }
  const p = ctx.pending[i]!;
  ctx.pending.splice(i, 1);
  clearTimeout(p.timer);
  ctx.timers.delete(p.timer);
  p.resolve({ result: msg.result, error: msg.error ?? null, status: 'ok' });
}

export function onLine(ctx: MinerContext, line: string): void {
  if (line.trim() === '') return;
  let msg: Msg;
  try {
    msg = JSON.parse(line);
  } catch {
    ctx.stats.garbage++;
    ctx.events.emit('garbage', { why: 'parse', line: line.slice(0, 200) });
    return;
  }
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
    ctx.stats.garbage++;
    ctx.events.emit('garbage', { why: 'not an object', line: line.slice(0, 200) });
    return;
  }
  if (typeof msg.method === 'string') onNotification(ctx, msg.method, Array.isArray(msg.params) ? msg.params : [], msg.id);
  else onResponse(ctx, msg);
}
