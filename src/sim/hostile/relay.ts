/**
 * The hostile pool link's relay: what it does with each line from the proxy and from the pool, and the
 * hostile lines it slips in between (./link.ts runs the sockets). A request unsafe for the simulated pool is
 * held back and answered with an error by the link itself.
 */
import type net from 'node:net';
import { countUp, SimEmitter } from '../shared.js';
import { hostileAnswer } from './answers.js';
import type { HostileLinkOptions, HostileLinkStats, LinkRole } from './link-types.js';
import { buildLine, type HostileLine, isHarmlessPoolTarget, poolBaseParams, poolTargets, type Target } from './targets.js';
import { createRng, HEAVY_KINDS, jsonShape, pick, type Rng, WEIGHTED_KINDS } from './values.js';

const BAD_KEYS = new Set([
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
]);

/** Small, shallow, plain: what the simulated pool can read without tripping over it (it String()s params). */
function safeForPool(line: string, value: unknown): boolean {
  if (line.length > 4096 || jsonShape(line).depth > 6) return false;
  const stack: unknown[] = [value];
  let nodes = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (++nodes > 256) return false;
    if (typeof v === 'string' && v.length > 1024) return false;
    if (typeof v === 'number' && !Number.isFinite(v)) return false;
    if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (BAD_KEYS.has(k) || !/^[a-z0-9][\w.-]{0,63}$/i.test(k)) return false;
        stack.push(x);
      }
    }
  }
  return true;
}

type Msg = { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };

export interface Link {
  readonly proxy: net.Socket;
  readonly pool: net.Socket;
  role: LinkRole;
  readonly pending: Map<number | string, string>;
  lastNotify: readonly string[] | undefined;
  difficulty: string | undefined;
  injected: number;
  heavy: number;
}

export interface LinkContext {
  readonly o: HostileLinkOptions;
  readonly rng: Rng;
  readonly targets: readonly Target[];
  readonly events: SimEmitter;
  readonly stats: HostileLinkStats;
  /** Labels of the last 32 hostile lines written. */
  readonly recent: string[];
  readonly links: Set<Link>;
  /** Per role, the next target to try. */
  readonly cursor: Record<LinkRole, number>;
  /** Answers per method seen on hostile links. */
  readonly answerCount: Map<string, number>;
  readonly perLink: number;
  readonly maxHeavy: number;
  honestSubmits: number;
  injectId: number;
  armed: boolean;
}

export function createLinkContext(o: HostileLinkOptions): LinkContext {
  return {
    o,
    rng: createRng(o.seed),
    targets: poolTargets(),
    events: new SimEmitter(),
    stats: {
      links: 0,
      roles: { unknown: 0, honest: 0, hostile: 0 },
      toPool: 0,
      toProxy: 0,
      injected: 0,
      injectedHonest: 0,
      injectedByTarget: {},
      replaced: 0,
      replacedHonestSubmits: 0,
      replacedByMethod: {},
      replacedByShape: {},
      heldBack: 0,
      proxyAnswers: 0,
    },
    recent: [],
    links: new Set(),
    cursor: { unknown: 0, honest: 0, hostile: 0 },
    answerCount: new Map(),
    perLink: o.maxInjectionsPerLink ?? 60,
    maxHeavy: o.maxHeavyPerLink ?? 12,
    honestSubmits: 0,
    injectId: 0,
    armed: false,
  };
}

const lineBytes = (ctx: LinkContext, l: Link) =>
  l.role === 'hostile' ? (ctx.o.hostileLineBytes ?? 60_000) : (ctx.o.honestLineBytes ?? 16_000);

function send(ctx: LinkContext, l: Link, h: HostileLine): void {
  if (l.proxy.destroyed) return;
  l.proxy.write(`${h.line}\n`);
  if (HEAVY_KINDS.has(h.kind)) l.heavy++;
  ctx.recent.push(h.label);
  if (ctx.recent.length > 32) ctx.recent.shift();
}

/** One hostile line towards the proxy, if armed and within the budgets; careful on honest and unknown links. */
export function inject(ctx: LinkContext, l: Link): void {
  const { o, rng, stats, targets } = ctx;
  if (!ctx.armed || l.injected >= ctx.perLink || stats.injected >= (o.maxInjections ?? 5000)) return;
  const careful = l.role !== 'hostile';
  for (let attempt = 0; attempt < 8; attempt++) {
    const t = targets[ctx.cursor[l.role]++ % targets.length]!;
    const kind = pick(rng, WEIGHTED_KINDS);
    const realBase = t.method === 'mining.notify' ? l.lastNotify !== undefined : l.difficulty !== undefined;
    if (careful && (!isHarmlessPoolTarget(t, kind, realBase) || (HEAVY_KINDS.has(kind) && l.heavy >= ctx.maxHeavy))) continue;
    // Injected requests get ids the proxy never uses for its own (a string), so answers are never mixed up.
    const id = t.method === 'response' ? String(1_000_000_000 + ctx.injectId++) : pick(rng, ['null', `"hx${ctx.injectId++}"`]);
    const h = buildLine(rng, t, kind, lineBytes(ctx, l), id, poolBaseParams(t.method, l.lastNotify, l.difficulty));
    send(ctx, l, h);
    l.injected++;
    stats.injected++;
    if (l.role === 'honest') stats.injectedHonest++;
    countUp(stats.injectedByTarget, `${t.method} ${t.slot}`);
    ctx.events.emit('inject', h.label);
    return;
  }
}

/** Whether to replace this answer: every Nth submit answer on honest links, every Nth per method on hostile ones. */
function replaces(ctx: LinkContext, l: Link, method: string): boolean {
  if (!ctx.armed) return false;
  if (l.role === 'honest' && method === 'mining.submit' && l.heavy < ctx.maxHeavy) {
    return ++ctx.honestSubmits % (ctx.o.replaceSubmitEvery ?? 8) === 0;
  }
  if (l.role === 'hostile') {
    const n = (ctx.answerCount.get(method) ?? 0) + 1;
    ctx.answerCount.set(method, n);
    return n % (ctx.o.replaceHostileEvery ?? 2) === 0;
  }
  return false;
}

/** The pool's answer `line` to the proxy's `method` request: relayed, or replaced. */
function answer(ctx: LinkContext, l: Link, method: string, id: unknown, line: string): void {
  const { stats } = ctx;
  const idText = typeof id === 'number' ? String(id) : JSON.stringify(id);
  if (!replaces(ctx, l, method)) {
    l.proxy.write(`${line}\n`);
    return;
  }
  // The first replacement of each method is issue 9's D2 case; later ones cycle through the shapes.
  const n = stats.replacedByMethod[method] ?? 0;
  const h = hostileAnswer(ctx.rng, method, idText, pick(ctx.rng, WEIGHTED_KINDS), n, lineBytes(ctx, l), l.role === 'honest');
  send(ctx, l, h);
  stats.replaced++;
  stats.replacedByMethod[method] = n + 1;
  countUp(stats.replacedByShape, h.label.split(' ').slice(2, 4).join(' ')); // label: pool answer <method> <shape> <kind>
  if (l.role === 'honest') stats.replacedHonestSubmits++;
  // A hostile link's handshake must not stall for the proxy's request timeout: the real answer follows, and
  // a proxy that took the hostile one ignores it as an unknown id.
  if (l.role === 'hostile') l.proxy.write(`${line}\n`);
  ctx.events.emit('replace', h.label);
}

/** A line from the proxy: passed on to the pool (its id remembered), or held back; the first request sets the role. */
export function fromProxy(ctx: LinkContext, l: Link, line: string): void {
  const { stats } = ctx;
  let msg: Msg;
  try {
    msg = JSON.parse(line) as Msg;
  } catch {
    return;
  }
  if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return;
  if (typeof msg.method !== 'string') {
    stats.proxyAnswers++; // the pool never asks anything here: it answers the link's own requests
    ctx.events.emit('proxyAnswer');
    return;
  }
  const params = Array.isArray(msg.params) ? (msg.params as unknown[]) : [];
  if (l.role === 'unknown' && msg.id !== undefined && msg.id !== null) {
    l.role = ctx.o.isHonest?.(msg.method, params) ? 'honest' : 'hostile';
    stats.roles.unknown--;
    stats.roles[l.role]++;
  }
  const idOk = typeof msg.id === 'number' || (typeof msg.id === 'string' && msg.id.length <= 64);
  if (!safeForPool(line, msg)) {
    stats.heldBack++;
    if (idOk) l.proxy.write(`${JSON.stringify({ id: msg.id, result: null, error: [20, 'not passed on by the hostile link', null] })}\n`);
    return;
  }
  if (idOk) l.pending.set(msg.id as number | string, msg.method);
  stats.toPool++;
  l.pool.write(`${line}\n`);
}

/** A line from the pool: an answer to a proxy request (relayed or replaced) or a call (relayed, remembered). */
export function fromPool(ctx: LinkContext, l: Link, line: string): void {
  ctx.stats.toProxy++;
  let msg: Msg | undefined;
  try {
    msg = JSON.parse(line) as Msg;
  } catch {
    msg = undefined;
  }
  const id = msg?.id;
  if (msg && typeof msg.method !== 'string' && (typeof id === 'number' || typeof id === 'string') && l.pending.has(id)) {
    const method = l.pending.get(id)!;
    l.pending.delete(id);
    answer(ctx, l, method, id, line);
  } else {
    if (msg?.method === 'mining.notify' && Array.isArray(msg.params)) {
      l.lastNotify = msg.params.map((p, i) => (i === 8 ? 'false' : JSON.stringify(p))); // a copy is never clean
    } else if (msg?.method === 'mining.set_difficulty' && Array.isArray(msg.params) && typeof msg.params[0] === 'number') {
      l.difficulty = JSON.stringify(msg.params[0]);
    }
    l.proxy.write(`${line}\n`);
  }
  if (ctx.rng() < (ctx.o.injectChance ?? 0.25)) inject(ctx, l);
}
