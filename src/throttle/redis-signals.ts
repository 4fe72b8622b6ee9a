/**
 * The signal source's Redis side without a connection (./redis.ts holds the connection): the
 * commands of one poll, sent as ONE pipeline, and how their replies become a SignalReading.
 *
 * Depth source semantics (docs/throttling.md):
 *   list   LLEN (Celery: the queue name; RQ: rq:queue:NAME)
 *   zset   ZCARD
 *   stream XINFO GROUPS: the group's lag + pending. Redis reports lag as nil when
 *          it cannot compute it (entries deleted after the group's last-delivered
 *          id, a group created at an arbitrary id, Redis < 7). Then the source
 *          counts max(XLEN, pending) and marks itself estimated: exact when
 *          consumers XDEL each entry after XACK (the stream then holds only
 *          undelivered and pending entries), an over-estimate when acknowledged
 *          history is kept, which errs toward giving the GPUs power.
 *   bullmq LLEN {prefix}:{queue}:wait + ZCARD …:prioritized + LLEN …:paused. BullMQ ≥ 4
 *          keeps prioritized jobs only in the zset (its getWaitPlusPrioritizedCount
 *          sums the two). Pausing a queue RENAMEd wait → paused up to at least BullMQ
 *          5.71; later versions leave jobs in wait (meta.paused) and drain the old list.
 * Every key is checked with TYPE in the same pipeline: a missing key counts 0
 * (an empty queue has no key); a key of the wrong type makes the reading fail
 * with the key and its type named.
 *
 * A reply that makes the reading fail throws: HG_ERR_REDIS_SIGNAL (a HashgateError) when a source
 * answered something unusable, a plain Error when the connection failed (HG_ERR_REDIS_UNAVAILABLE).
 * Data problems that do not fail the reading (a garbage cap, a bad override, an estimated lag) are
 * the reading's warnings (HG_ERR_REDIS_DATA when logged).
 */

import type { DepthSource } from '../config/throttle-schema.js';
import { HashgateError } from '../util/errors.js';
import { truncateForLog } from '../util/log.js';
import type { SignalReading, SourceValue } from './types.js';

/** A source answered something unusable: the reading fails with HG_ERR_REDIS_SIGNAL (anything else is HG_ERR_REDIS_UNAVAILABLE). */
function signalError(message: string): HashgateError {
  return new HashgateError('HG_ERR_REDIS_SIGNAL', message);
}

type RedisType = 'string' | 'list' | 'zset' | 'stream';
export type Reply = [error: Error | null, result: unknown];

/** Reads one key: TYPE plus one command, both in the poll's pipeline. */
interface KeyRead {
  readonly key: string;
  readonly want: RedisType;
  readonly cmd: readonly string[];
}

interface Probe {
  readonly label: string;
  readonly reads: readonly KeyRead[];
  /** Given each read's reply (null when the key is missing), the source's value. */
  readonly value: (replies: readonly unknown[]) => { value: number; estimated?: boolean; warning?: string };
}

export function sourceLabel(s: DepthSource): string {
  switch (s.type) {
    case 'stream':
      return `stream:${s.key}/${s.group}`;
    case 'bullmq':
      return `bullmq:${s.prefix}:${s.queue}`;
    default:
      return `${s.type}:${s.key}`;
  }
}

function probeFor(s: DepthSource): Probe {
  const label = sourceLabel(s);
  const count = (r: readonly unknown[]) => ({ value: r.reduce<number>((sum, x) => sum + (x === null ? 0 : toCount(x)), 0) });
  switch (s.type) {
    case 'key':
      return { label, reads: [{ key: s.key, want: 'string', cmd: ['GET', s.key] }], value: (r) => ({ value: parseDepthKey(s.key, r[0]) }) };
    case 'list':
      return { label, reads: [{ key: s.key, want: 'list', cmd: ['LLEN', s.key] }], value: count };
    case 'zset':
      return { label, reads: [{ key: s.key, want: 'zset', cmd: ['ZCARD', s.key] }], value: count };
    case 'stream':
      return {
        label,
        reads: [
          { key: s.key, want: 'stream', cmd: ['XINFO', 'GROUPS', s.key] },
          { key: s.key, want: 'stream', cmd: ['XLEN', s.key] },
        ],
        value: (r) => streamDepth(s.key, s.group, r[0], r[1]),
      };
    case 'bullmq': {
      const base = `${s.prefix}:${s.queue}`;
      return {
        label,
        reads: [
          { key: `${base}:wait`, want: 'list', cmd: ['LLEN', `${base}:wait`] },
          { key: `${base}:prioritized`, want: 'zset', cmd: ['ZCARD', `${base}:prioritized`] },
          { key: `${base}:paused`, want: 'list', cmd: ['LLEN', `${base}:paused`] },
        ],
        value: count,
      };
    }
  }
}

function toCount(x: unknown): number {
  const n = typeof x === 'number' ? x : typeof x === 'string' ? Number(x) : NaN;
  if (!Number.isSafeInteger(n) || n < 0) throw signalError(`unexpected reply ${truncateForLog(String(x), 40)}`);
  return n;
}

function parseDepthKey(key: string, v: unknown): number {
  if (v === null) return 0;
  const text = String(v).trim();
  const n = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n))
    throw signalError(`key "${key}" holds ${JSON.stringify(truncateForLog(text, 40))}, not a non-negative integer`);
  return n;
}

/** A RESP map as flat [k, v, …] array (RESP2 / legacy mapping), Map or object. */
function toRecord(x: unknown): Record<string, unknown> | null {
  if (Array.isArray(x)) {
    const r: Record<string, unknown> = {};
    for (let i = 0; i + 1 < x.length; i += 2) r[String(x[i])] = x[i + 1];
    return r;
  }
  if (x instanceof Map) return Object.fromEntries([...x.entries()].map(([k, v]) => [String(k), v]));
  if (x !== null && typeof x === 'object') return x as Record<string, unknown>;
  return null;
}

function streamDepth(key: string, group: string, groups: unknown, xlen: unknown): { value: number; estimated?: boolean; warning?: string } {
  if (groups === null) return { value: 0 }; // no stream yet
  const list = Array.isArray(groups) ? groups : [];
  const g = list.map(toRecord).find((r) => r !== null && String(r.name) === group);
  if (g === undefined || g === null) throw signalError(`stream "${key}" has no consumer group "${group}"`);
  const pending = toCount(g.pending ?? 0);
  if (g.lag !== null && g.lag !== undefined) return { value: toCount(g.lag) + pending };
  const estimate = Math.max(xlen === null ? 0 : toCount(xlen), pending);
  return {
    value: estimate,
    estimated: true,
    warning: `stream "${key}" group "${group}": Redis cannot compute lag; counting max(XLEN, pending) = ${estimate}`,
  };
}

function parseCap(key: string, v: unknown): { cap: number | null; warning?: string } {
  if (v === null) return { cap: null };
  const text = String(v).trim();
  const n = /^\d{1,12}(\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!Number.isFinite(n))
    return { cap: null, warning: `cap key "${key}" holds ${JSON.stringify(truncateForLog(text, 40))}, not watts; ignored` };
  return { cap: n };
}

function parseOverrides(key: string, v: unknown, warnings: string[]): Map<string, 'run' | 'curtail'> {
  const out = new Map<string, 'run' | 'curtail'>();
  const rec = v === null ? {} : toRecord(v);
  if (rec === null) return out;
  for (const [rig, raw] of Object.entries(rec)) {
    const value = String(raw).trim().toLowerCase();
    if (value === 'run' || value === 'curtail') out.set(rig, value);
    else
      warnings.push(
        `override hash "${key}" field ${JSON.stringify(truncateForLog(rig, 64))}: ${JSON.stringify(truncateForLog(String(raw), 40))} is not run|curtail; ignored`,
      );
  }
  return out;
}

/** An error reply from the server (ioredis names them ReplyError), as opposed to a timeout or a lost connection. */
function isServerError(e: Error): boolean {
  return e.name === 'ReplyError';
}

function isWrongType(e: Error | null): boolean {
  return e !== null && e.message.startsWith('WRONGTYPE');
}

/** Logs each distinct message once while it persists (bounded), so a bad key does not flood the log every second. */
export class OnceLog {
  private active = new Set<string>();
  constructor(private readonly max = 64) {}
  /** Returns the messages not seen in the previous call. */
  update(messages: readonly string[]): string[] {
    const fresh = messages.filter((m) => !this.active.has(m));
    this.active = new Set(messages.slice(0, this.max));
    return fresh;
  }
}

/** What one poll reads: the depth sources, and the optional cap and override keys. */
export interface SignalKeys {
  readonly sources: readonly DepthSource[];
  /** A string key holding the site cap in watts; null = not configured. */
  readonly capKey: string | null;
  /** A hash: field = rig id, value run|curtail; null = not configured. */
  readonly overrideKey: string | null;
}

/** A successful reading. */
export type SignalValues = Extract<SignalReading, { ok: true }>;

/** One poll's commands and the reading of their replies. */
export interface SignalRead {
  /** The commands, in reply order: TYPE and one command per key a source reads, then GET cap, then HGETALL overrides. */
  readonly commands: readonly (readonly string[])[];
  /** The reading from the pipeline's replies; throws when it fails (see the header). */
  reading(replies: readonly Reply[], at: number): SignalValues;
}

export function createSignalRead(keys: SignalKeys): SignalRead {
  const probes = keys.sources.map(probeFor);
  const commands: string[][] = [];
  for (const probe of probes) for (const r of probe.reads) commands.push(['TYPE', r.key], [...r.cmd]);
  if (keys.capKey !== null) commands.push(['GET', keys.capKey]);
  if (keys.overrideKey !== null) commands.push(['HGETALL', keys.overrideKey]);
  return { commands, reading: (replies, at) => readingOf(keys, probes, replies, at) };
}

function readingOf(keys: SignalKeys, probes: readonly Probe[], replies: readonly Reply[], at: number): SignalValues {
  // A connection problem (not a server reply) fails every command alike: report it once, not as a source's fault.
  const transport = replies.find(([e]) => e !== null && !isServerError(e))?.[0];
  if (transport) throw new Error(`redis unreachable: ${transport.message}`);
  let i = 0;
  const next = (): Reply => replies[i++] ?? [new Error('missing reply'), null];
  const warnings: string[] = [];
  const perSource = probes.map((probe) => sourceValue(probe, next, warnings));
  let capWatts: number | null = null;
  if (keys.capKey !== null) {
    const [err, v] = next();
    const c = err === null ? parseCap(keys.capKey, v) : { cap: null, warning: `cap key "${keys.capKey}": ${err.message}; ignored` };
    capWatts = c.cap;
    if (c.warning !== undefined) warnings.push(c.warning);
  }
  let overrides = new Map<string, 'run' | 'curtail'>();
  if (keys.overrideKey !== null) {
    const [err, v] = next();
    if (err === null) overrides = parseOverrides(keys.overrideKey, v, warnings);
    else warnings.push(`override hash "${keys.overrideKey}": ${err.message}; ignored`);
  }
  const depth = perSource.reduce((s, x) => s + x.value, 0);
  return { ok: true, depth, perSource, capWatts, overrides, warnings, at };
}

/** One source's value from its replies (TYPE, then its command, per key it reads). */
function sourceValue(probe: Probe, next: () => Reply, warnings: string[]): SourceValue {
  const values: unknown[] = [];
  for (const r of probe.reads) {
    const [typeErr, type] = next();
    const [err, value] = next();
    if (typeErr !== null) throw signalError(`${probe.label}: TYPE ${r.key}: ${typeErr.message}`);
    if (type === 'none') {
      values.push(null);
      continue;
    }
    if (type !== r.want || isWrongType(err))
      throw signalError(`${probe.label}: key "${r.key}" holds a ${String(type)}, expected a ${r.want}`);
    if (err !== null) throw signalError(`${probe.label}: ${r.cmd[0]} ${r.key}: ${err.message}`);
    values.push(value);
  }
  try {
    const v = probe.value(values);
    if (v.warning !== undefined) warnings.push(v.warning);
    return v.estimated === true ? { label: probe.label, value: v.value, estimated: true } : { label: probe.label, value: v.value };
  } catch (e) {
    throw signalError(`${probe.label}: ${e instanceof Error ? e.message : String(e)}`);
  }
}
