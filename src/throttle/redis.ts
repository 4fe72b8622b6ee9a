/**
 * The one Redis adapter (DESIGN.md: `ioredis` lives in one file). Two parts:
 *
 * - createSignalSource: reads queue depth, the site cap and manual overrides
 *   with ONE pipeline per poll, on its own connection (no offline queue, a
 *   command timeout, bounded reconnects), and never throws or stalls.
 * - createStatusPublisher: a second connection that writes the status hash
 *   and publishes ThrottleEvents; failures are counted, never thrown.
 *
 * Depth source semantics (docs/throttling.md):
 *   key    GET, a non-negative integer (missing = 0; anything else is an error)
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
 * Error codes (docs/errors.md): HG_ERR_REDIS_UNAVAILABLE (not reachable, no
 * reply in time), HG_ERR_REDIS_SIGNAL (a source answered something unusable:
 * the reading fails), HG_ERR_REDIS_DATA (a value ignored or estimated: the
 * reading counts), HG_ERR_REDIS_PUBLISH (status or event not written). A
 * failed reading carries its code; every warning log line has a `code` field.
 * Staleness is the controller's business (./stale.ts).
 */

import { Redis } from 'ioredis';
import type { DepthSource } from '../config/throttle-schema.js';
import { type ErrorCode, HashgateError, isHashgateError } from '../util/errors.js';
import { type Logger, redactUrl, truncateForLog } from '../util/log.js';
import type { SignalReading, SignalSource, SourceValue, ThrottleEvent, ThrottleStatus } from './types.js';

export type { SignalReading, SourceValue } from './types.js';

// ---------------------------------------------------------------------------
// Connections

export interface RedisLinkOptions {
  /** redis://[user:password@]host:port[/db] or rediss://; never logged unredacted. */
  readonly url: string;
  /** Per-command timeout; poll/publish never wait much longer than this. */
  readonly commandTimeoutMs: number;
  readonly logger: Logger;
  /** Clock for reading timestamps (default Date.now). */
  readonly now?: () => number;
}

/** Slack on top of commandTimeoutMs for the whole of one poll or publish. */
const GRACE_MS = 100;
const RECONNECT_MIN_MS = 100;
const RECONNECT_MAX_MS = 2000;

/** Reconnect backoff: 100 ms doubling to 2 s, for ever (never a tight loop). */
export function reconnectDelayMs(attempt: number): number {
  return Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.min(Math.max(attempt - 1, 0), 10));
}

/** A message for logs/status with any URL credentials and the configured password removed. */
export function cleanRedisError(e: unknown, url: string): string {
  let msg = e instanceof Error ? e.message : String(e);
  msg = msg.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/\s]*@/gi, '$1***@');
  for (const secret of urlSecrets(url)) msg = msg.split(secret).join('***');
  return truncateForLog(msg, 300);
}

function urlSecrets(url: string): string[] {
  try {
    const u = new URL(url);
    return [u.password, decodeURIComponent(u.password)].filter((s) => s.length >= 3);
  } catch {
    return [];
  }
}

/** One ioredis connection with the adapter's rules, its health, and once-per-outage logging. */
class Link {
  readonly client: Redis;
  lastError: string | null = null;
  private down = false;
  private closed = false;
  private readonly log: Logger;

  constructor(
    private readonly o: RedisLinkOptions,
    role: string,
  ) {
    this.log = o.logger.child({ component: 'redis', role, redis: redactUrl(o.url) });
    this.client = new Redis(o.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: o.commandTimeoutMs,
      connectTimeout: Math.max(1000, o.commandTimeoutMs * 2),
      maxRetriesPerRequest: 1,
      autoResendUnfulfilledCommands: false,
      retryStrategy: reconnectDelayMs,
      connectionName: `hashgate-${role}`,
    });
    // Without a listener ioredis reports connection errors as unhandled; here they are health data.
    this.client.on('error', (e: unknown) => this.markDown(cleanRedisError(e, o.url)));
    this.client.on('close', () => this.markDown(this.lastError ?? 'connection lost'));
    this.client.on('ready', () => this.markUp());
  }

  private markDown(error: string): void {
    this.lastError = error;
    if (this.down || this.closed) return;
    this.down = true;
    this.log.warn({ code: 'HG_ERR_REDIS_UNAVAILABLE', error }, 'redis unavailable');
  }

  private markUp(): void {
    this.lastError = null;
    if (!this.down) return;
    this.down = false;
    this.log.info('redis available again');
  }

  /** Resolves when the connection is ready; rejects at once if it is between reconnect attempts or closed. */
  async ready(ms: number): Promise<void> {
    const c = this.client;
    if (this.closed || c.status === 'end') throw new Error('connection closed');
    if (c.status === 'ready') return;
    if (c.status === 'reconnecting' || c.status === 'close') throw new Error(`not connected: ${this.lastError ?? 'reconnecting'}`);
    if (c.status === 'wait') c.connect().catch(() => undefined);
    await new Promise<void>((resolve, reject) => {
      const done = (err: Error | null) => {
        clearTimeout(timer);
        c.off('ready', onReady);
        c.off('close', onClose);
        if (err === null) resolve();
        else reject(err);
      };
      const onReady = () => done(null);
      const onClose = () => done(new Error(`not connected: ${this.lastError ?? 'connection closed'}`));
      const timer = setTimeout(() => done(new Error(`not connected after ${ms} ms`)), ms);
      c.on('ready', onReady);
      c.on('close', onClose);
    });
  }

  /** Runs fn with an overall bound of commandTimeoutMs + GRACE_MS. */
  async bounded<T>(fn: (remainingMs: () => number) => Promise<T>): Promise<T> {
    const limit = this.o.commandTimeoutMs + GRACE_MS;
    const start = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no reply within ${limit} ms`)), limit);
    });
    try {
      return await Promise.race([fn(() => Math.max(1, this.o.commandTimeoutMs - (Date.now() - start))), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.closed = true;
    this.client.disconnect();
  }
}

// ---------------------------------------------------------------------------
// Signal source

export interface SignalSourceOptions extends RedisLinkOptions {
  readonly sources: readonly DepthSource[];
  /** A string key holding the site cap in watts; null = not configured. */
  readonly capKey: string | null;
  /** A hash: field = rig id, value run|curtail; null = not configured. */
  readonly overrideKey: string | null;
}

export interface SignalSourceStats {
  readonly polls: number;
  readonly failures: number;
  readonly warnings: number;
}

/** The Redis signal source: a SignalSource with counters. */
export interface RedisSignalSource extends SignalSource {
  /** One pipelined read of every source; never throws, bounded by about commandTimeoutMs. */
  poll(): Promise<SignalReading>;
  stats(): SignalSourceStats;
  close(): void;
}

/** A source answered something unusable: the reading fails with HG_ERR_REDIS_SIGNAL (anything else is HG_ERR_REDIS_UNAVAILABLE). */
function signalError(message: string): HashgateError {
  return new HashgateError('HG_ERR_REDIS_SIGNAL', message);
}

type RedisType = 'string' | 'list' | 'zset' | 'stream';
type Reply = [error: Error | null, result: unknown];

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
class OnceLog {
  private active = new Set<string>();
  constructor(private readonly max = 64) {}
  /** Returns the messages not seen in the previous call. */
  update(messages: readonly string[]): string[] {
    const fresh = messages.filter((m) => !this.active.has(m));
    this.active = new Set(messages.slice(0, this.max));
    return fresh;
  }
}

export function createSignalSource(o: SignalSourceOptions): RedisSignalSource {
  const link = new Link(o, 'signals');
  const log = o.logger.child({ component: 'redis-signals' });
  const now = o.now ?? Date.now;
  const probes = o.sources.map(probeFor);
  const counters = { polls: 0, failures: 0, warnings: 0 };
  const warnLog = new OnceLog();
  let lastError: string | null = null;

  async function read(remaining: () => number): Promise<SignalReading> {
    await link.ready(remaining());
    const p = link.client.pipeline();
    for (const probe of probes) for (const r of probe.reads) p.call('TYPE', r.key).call(r.cmd[0]!, ...r.cmd.slice(1));
    if (o.capKey !== null) p.call('GET', o.capKey);
    if (o.overrideKey !== null) p.call('HGETALL', o.overrideKey);
    const replies = ((await p.exec()) ?? []) as Reply[];
    // A connection problem (not a server reply) fails every command alike: report it once, not as a source's fault.
    const transport = replies.find(([e]) => e !== null && !isServerError(e))?.[0];
    if (transport) throw new Error(`redis unreachable: ${transport.message}`);
    let i = 0;
    const next = (): Reply => replies[i++] ?? [new Error('missing reply'), null];

    const perSource: SourceValue[] = [];
    const warnings: string[] = [];
    for (const probe of probes) {
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
        perSource.push(
          v.estimated === true ? { label: probe.label, value: v.value, estimated: true } : { label: probe.label, value: v.value },
        );
        if (v.warning !== undefined) warnings.push(v.warning);
      } catch (e) {
        throw signalError(`${probe.label}: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    let capWatts: number | null = null;
    if (o.capKey !== null) {
      const [err, v] = next();
      const c = err === null ? parseCap(o.capKey, v) : { cap: null, warning: `cap key "${o.capKey}": ${err.message}; ignored` };
      capWatts = c.cap;
      if (c.warning !== undefined) warnings.push(c.warning);
    }
    let overrides = new Map<string, 'run' | 'curtail'>();
    if (o.overrideKey !== null) {
      const [err, v] = next();
      if (err === null) overrides = parseOverrides(o.overrideKey, v, warnings);
      else warnings.push(`override hash "${o.overrideKey}": ${err.message}; ignored`);
    }
    const depth = perSource.reduce((s, x) => s + x.value, 0);
    return { ok: true, depth, perSource, capWatts, overrides, warnings, at: now() };
  }

  return {
    async poll() {
      counters.polls++;
      let reading: SignalReading;
      try {
        reading = await link.bounded(read);
      } catch (e) {
        const code: ErrorCode = isHashgateError(e) ? e.code : 'HG_ERR_REDIS_UNAVAILABLE';
        reading = { ok: false, error: cleanRedisError(e, o.url), code, at: now() };
      }
      if (!reading.ok) {
        counters.failures++;
        if (reading.error !== lastError) log.warn({ code: reading.code, error: reading.error }, 'redis signal read failed');
        lastError = reading.error;
        return reading;
      }
      if (lastError !== null) log.info({ depth: reading.depth }, 'redis signal read ok again');
      lastError = null;
      counters.warnings += reading.warnings.length;
      for (const w of warnLog.update(reading.warnings)) log.warn({ code: 'HG_ERR_REDIS_DATA', warning: w }, 'redis signal data problem');
      return reading;
    },
    stats: () => ({ ...counters }),
    close: () => link.close(),
  };
}

// ---------------------------------------------------------------------------
// Status back to the site

export interface StatusPublisherOptions extends RedisLinkOptions {
  /** Hash written on every publishStatus; null = disabled. */
  readonly statusKey: string | null;
  /** Pub/sub channel for ThrottleEvents (JSON); null = disabled. */
  readonly eventsChannel: string | null;
  /** The loop interval: the status hash expires after 10 intervals, so a dead hashgate's status ages out. */
  readonly intervalMs: number;
}

export interface StatusPublisherStats {
  readonly published: number;
  readonly failures: number;
  /** True while publishing fails (an outage). */
  readonly failing: boolean;
}

export interface StatusPublisher {
  /** Writes the status hash (no-op when statusKey is null). Never throws: failures land in stats(). */
  publishStatus(status: ThrottleStatus): Promise<void>;
  /** PUBLISHes the event as JSON (no-op when eventsChannel is null). Never throws: failures land in stats(). */
  publishEvent(event: ThrottleEvent): Promise<void>;
  stats(): StatusPublisherStats;
  close(): void;
}

export const STATUS_TTL_INTERVALS = 10;

const n = (x: number | null): string => (x === null ? '' : String(Math.round(x)));

/**
 * The status hash's fields. Watts are rounded to integers; an unknown value
 * (depth or cap) is the empty string; redisHealthy is "1" or "0"; updatedAt is
 * milliseconds since the epoch; rigs is JSON [{id, state, watts, alert}].
 */
export function statusFields(s: ThrottleStatus): Record<string, string> {
  return {
    mode: s.mode,
    depth: s.depth === null ? '' : String(s.depth),
    capWatts: n(s.capWatts),
    siteWatts: n(s.budget.siteWatts),
    gpuNeedWatts: n(s.budget.gpuNeedWatts),
    asicBudgetWatts: n(s.budget.asicWatts),
    asicWatts: n(s.asicWatts),
    freedWatts: n(s.freedWatts),
    curtailedRigs: String(s.curtailedRigs),
    reducedRigs: String(s.reducedRigs),
    redisHealthy: s.redis.healthy ? '1' : '0',
    updatedAt: String(s.updatedAt),
    rigs: JSON.stringify(s.rigs.map((r) => ({ id: r.id, state: r.state, watts: Math.round(r.watts), alert: r.alert }))),
  };
}

export function createStatusPublisher(o: StatusPublisherOptions): StatusPublisher {
  const link = new Link(o, 'status');
  const log = o.logger.child({ component: 'redis-status' });
  const ttlMs = Math.max(1000, STATUS_TTL_INTERVALS * o.intervalMs);
  const counters = { published: 0, failures: 0 };
  let failing = false;

  async function attempt(what: string, fn: (remaining: () => number) => Promise<unknown>): Promise<void> {
    try {
      await link.bounded(async (remaining) => {
        await link.ready(remaining());
        await fn(remaining);
      });
      counters.published++;
      if (failing) log.info({ failures: counters.failures }, 'redis status publishing recovered');
      failing = false;
    } catch (e) {
      counters.failures++;
      if (!failing) log.warn({ code: 'HG_ERR_REDIS_PUBLISH', what, error: cleanRedisError(e, o.url) }, 'redis status publishing failing');
      failing = true;
    }
  }

  return {
    publishStatus(status) {
      const key = o.statusKey;
      if (key === null) return Promise.resolve();
      return attempt('status', async () => {
        // MULTI so a reader never sees the hash without its expiry.
        const replies = (await link.client.multi().hset(key, statusFields(status)).pexpire(key, ttlMs).exec()) ?? [];
        if (replies.length === 0) throw new Error('transaction aborted');
        const err = (replies as Reply[]).find(([e]) => e !== null)?.[0];
        if (err) throw err;
      });
    },
    publishEvent(event) {
      const channel = o.eventsChannel;
      if (channel === null) return Promise.resolve();
      return attempt('event', () => link.client.publish(channel, JSON.stringify(event)));
    },
    stats: () => ({ ...counters, failing }),
    close: () => link.close(),
  };
}
