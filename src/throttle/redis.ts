/**
 * The one Redis adapter file (DESIGN.md: `ioredis` lives in one file). Two parts:
 *
 * - createSignalSource: reads queue depth, the site cap and manual overrides
 *   with ONE pipeline per poll, on its own connection (no offline queue, a
 *   command timeout, bounded reconnects), and never throws or stalls. Which
 *   commands a poll sends and how the replies become a reading (the depth
 *   source semantics: key, list, zset, stream, bullmq) is ./redis-signals.ts.
 * - createStatusPublisher: a second connection that writes the status hash
 *   (its fields: ./redis-status.ts) and publishes ThrottleEvents; failures
 *   are counted, never thrown.
 *
 * Error codes (docs/errors.md): HG_ERR_REDIS_UNAVAILABLE (not reachable, no
 * reply in time), HG_ERR_REDIS_SIGNAL (a source answered something unusable:
 * the reading fails), HG_ERR_REDIS_DATA (a value ignored or estimated: the
 * reading counts), HG_ERR_REDIS_PUBLISH (status or event not written). A
 * failed reading carries its code; every warning log line has a `code` field.
 * Staleness is the controller's business (./stale.ts).
 */

import { Redis } from 'ioredis';
import { type ErrorCode, isHashgateError } from '../util/errors.js';
import { type Logger, redactUrl, truncateForLog } from '../util/log.js';
import { createSignalRead, OnceLog, type Reply, type SignalKeys } from './redis-signals.js';
import { STATUS_TTL_INTERVALS, statusFields } from './redis-status.js';
import type { SignalReading, SignalSource, ThrottleEvent, ThrottleStatus } from './types.js';

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

export type SignalSourceOptions = RedisLinkOptions & SignalKeys;

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

export function createSignalSource(o: SignalSourceOptions): RedisSignalSource {
  const link = new Link(o, 'signals');
  const log = o.logger.child({ component: 'redis-signals' });
  const now = o.now ?? Date.now;
  const signals = createSignalRead(o);
  const counters = { polls: 0, failures: 0, warnings: 0 };
  const warnLog = new OnceLog();
  let lastError: string | null = null;

  async function read(remaining: () => number): Promise<SignalReading> {
    await link.ready(remaining());
    const p = link.client.pipeline();
    for (const [cmd, ...args] of signals.commands) p.call(cmd, ...args);
    const replies = ((await p.exec()) ?? []) as Reply[];
    return signals.reading(replies, now());
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
