/** What the simulated pool does with each line a miner sends: parse it, then one handler per method. */
import { hex32, isHex, parseHex32 } from '../hash.js';
import { answer, type Conn, garbage, type PoolContext, unsolicited } from './context.js';
import { sendWork } from './jobs.js';
import { onSubmit } from './submit.js';
import { REASONS } from './types.js';

type Msg = { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };

function onSubscribe(ctx: PoolContext, c: Conn, id: unknown, params: unknown[]): void {
  c.subscribed = true;
  if (typeof params[0] === 'string') c.userAgent = params[0];
  const sub = c.id.toString(16);
  answer(ctx, c, 'mining.subscribe', id, [
    [
      ['mining.set_difficulty', sub],
      ['mining.notify', sub],
    ],
    c.extranonce1,
    c.extranonce2Size,
  ]);
  ctx.events.emit('subscribe', { connId: c.id, userAgent: c.userAgent });
}

function onAuthorize(ctx: PoolContext, c: Conn, id: unknown, params: unknown[]): void {
  const { opts } = ctx;
  const method = 'mining.authorize';
  const user = typeof params[0] === 'string' ? params[0] : '';
  const pass = typeof params[1] === 'string' ? params[1] : '';
  const ok = user !== '' && (opts.authorize ? opts.authorize(user, pass) : opts.password === undefined || pass === opts.password);
  ctx.events.emit('authorize', { connId: c.id, user, ok });
  if (!ok) {
    if (opts.authorizeFailure === 'error') answer(ctx, c, method, id, null, [24, REASONS[24], null]);
    else answer(ctx, c, method, id, false);
    return;
  }
  c.workers.add(user);
  answer(ctx, c, method, id, true, null, () => {
    if (!c.workSent) sendWork(ctx, c);
  });
}

/** BIP 310: version rolling is granted with mask = requested & pool mask; other extensions are refused. */
function onConfigure(ctx: PoolContext, c: Conn, id: unknown, params: unknown[]): void {
  const exts = Array.isArray(params[0]) ? params[0].filter((e): e is string => typeof e === 'string') : [];
  const p = params[1] && typeof params[1] === 'object' ? (params[1] as Record<string, unknown>) : {};
  const result: Record<string, unknown> = {};
  for (const ext of exts) {
    if (ext !== 'version-rolling') {
      result[ext] = false;
      continue;
    }
    const reqHex = p['version-rolling.mask'];
    const req = isHex(reqHex, 4) ? parseHex32(reqHex) : 0xffffffff;
    if (!ctx.versionRolling || ctx.poolMask === 0) {
      result['version-rolling'] = false;
      continue;
    }
    c.requestedMask = req;
    c.versionMask = (req & ctx.poolMask) >>> 0;
    result['version-rolling'] = true;
    result['version-rolling.mask'] = hex32(c.versionMask);
  }
  ctx.events.emit('configure', { connId: c.id, extensions: exts, result });
  answer(ctx, c, 'mining.configure', id, result);
}

function onSuggestDifficulty(ctx: PoolContext, c: Conn, id: unknown, params: unknown[]): void {
  const d = Number(params[0]);
  const valid = Number.isFinite(d) && d > 0;
  if (valid) c.suggestedDifficulty = d;
  ctx.events.emit('suggest', { connId: c.id, difficulty: d });
  answer(ctx, c, 'mining.suggest_difficulty', id, valid, null, () => {
    if (valid && ctx.opts.honorSuggestedDifficulty) {
      c.difficulty = d;
      if (c.workSent) unsolicited(ctx, c, 'mining.set_difficulty', [d]);
    }
  });
}

function onRequest(ctx: PoolContext, c: Conn, id: unknown, method: string, params: unknown[]): void {
  ctx.events.emit('request', { connId: c.id, id, method, params });
  switch (method) {
    case 'mining.subscribe':
      return onSubscribe(ctx, c, id, params);
    case 'mining.authorize':
      return onAuthorize(ctx, c, id, params);
    case 'mining.configure':
      return onConfigure(ctx, c, id, params);
    case 'mining.extranonce.subscribe':
      c.extranonceSubscribed = true;
      return answer(ctx, c, method, id, true);
    case 'mining.suggest_difficulty':
      return onSuggestDifficulty(ctx, c, id, params);
    case 'mining.submit':
      return onSubmit(ctx, c, id, params);
    default:
      answer(ctx, c, method, id, null, [20, `Method not found: ${method.slice(0, 64)}`, null]);
  }
}

/** One line from a miner: a request, or an answer to the pool's own mining.ping; anything else is garbage. */
export function onLine(ctx: PoolContext, c: Conn, line: string): void {
  if (c.dead || line.trim() === '') return;
  let msg: Msg;
  try {
    msg = JSON.parse(line) as Msg;
  } catch {
    garbage(ctx, c, null, 'Parse error');
    return;
  }
  if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
    garbage(ctx, c, null, 'Invalid request');
    return;
  }
  if (typeof msg.method !== 'string') {
    if ('result' in msg || 'error' in msg) {
      // The miner answering one of our requests (mining.ping, …).
      if (msg.result === 'pong' || (typeof msg.id === 'string' && msg.id.startsWith('ping-') && msg.error == null)) ctx.stats.pongs++;
      ctx.events.emit('response', { connId: c.id, msg });
      return;
    }
    garbage(ctx, c, msg.id, 'Invalid request');
    return;
  }
  const params = msg.params === undefined || msg.params === null ? [] : msg.params;
  if (!Array.isArray(params)) {
    garbage(ctx, c, msg.id, 'Params must be an array');
    return;
  }
  onRequest(ctx, c, msg.id, msg.method, params);
}
