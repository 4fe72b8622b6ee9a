/**
 * Passthrough upstream: one pool connection per miner session, over
 * node:net, with the pool list in failover order.
 *
 * - Requests carry hashgate's own integer ids; answers are matched through
 *   the pending map (method, send time, timeout), never by the miner's id.
 * - Requests made while no pool is connected wait (bounded, with the same
 *   timeout) and are sent once a pool is up.
 * - Failover: a refused or dropped connection, or a pool silent for
 *   failover.notifySilenceMs (no mining.notify), moves to the next pool
 *   after a backoff (base·2^n, capped, minus up to `jitter` of it at random,
 *   so 1,000 sessions do not reconnect in one burst). While on a backup,
 *   the primary is probed every failover.primaryRecheckMs and used again as
 *   soon as it accepts TCP. With no pool for failover.poolLossGraceMs the
 *   session is told ('lost') so it can disconnect its miner.
 * - client.get_version and mining.ping from the pool are answered here
 *   (pools expect an answer; miners often never answer pings), then passed
 *   on as events for logging. client.reconnect reconnects to the same pool
 *   list entry after the requested wait (capped); a redirect to another
 *   host is not followed (an operator decides where rigs' work goes).
 * - Reload (`setPools`, SIGHUP): a session whose pool is still listed stays
 *   on it and adopts the new order for later failovers; one whose pool was
 *   removed sends nothing new to it, lets the requests already there get
 *   their answers (up to requestTimeoutMs), then fails over to the head of
 *   the new list through the same path as any failover (after a random
 *   delay of up to backoffBaseMs, so a whole fleet does not reconnect at
 *   once). Requests made meanwhile wait for the new pool, as in any
 *   failover gap.
 */

import net from 'node:net';
import {
  classifyLine,
  encodeNotification,
  encodeRequest,
  encodeResponse,
  type JsonValue,
  OVER_LIMIT_REASONS,
} from '../protocol/json-rpc.js';
import { LineFramer } from '../util/line-framer.js';
import { parsePoolMessage } from '../protocol/pool.js';
import type { Logger } from '../util/log.js';
import { truncateForLog } from '../util/log.js';
import { VERSION } from '../version.js';
import type { RequestOptions, Upstream, UpstreamEvent, UpstreamListener, UpstreamNotice, UpstreamPool, UpstreamReply } from './types.js';

export interface PoolTarget extends UpstreamPool {
  readonly host: string;
  readonly port: number;
}

export interface PoolUpstreamOptions {
  readonly pools: readonly PoolTarget[];
  readonly log: Logger;
  readonly requestTimeoutMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly backoffJitter: number;
  readonly notifySilenceMs: number;
  readonly primaryRecheckMs: number;
  readonly poolLossGraceMs: number;
  /** Pool lines longer than this are a broken pool: the connection is dropped (default 64 KiB). */
  readonly maxLineBytes?: number;
  readonly tcpKeepAliveMs?: number;
  /** Requests waiting for a pool connection, at most (default 64). */
  readonly maxQueued?: number;
  /** Longest wait honoured for client.reconnect (default 30 s). */
  readonly maxReconnectWaitMs?: number;
  /** Lines over the JSON limits (too deep / too wide) one pool connection may send before it is dropped (default 16). */
  readonly maxOverLimitLines?: number;
  readonly random?: () => number;
  /** Called when the pool side's write buffer fills (true) and drains (false), besides the 'congested'/'drained' events. */
  readonly onCongestion?: (congested: boolean) => void;
}

interface Pending {
  readonly method: string;
  readonly sentAt: number;
  readonly timer: NodeJS.Timeout;
  readonly resolve: (r: UpstreamReply) => void;
}

interface Queued {
  readonly method: string;
  readonly params: readonly JsonValue[];
  readonly timer: NodeJS.Timeout;
  readonly resolve: (r: UpstreamReply) => void;
}

/** Backoff before attempt n (1-based): base·2^(n-1) capped at max, minus a random part of up to `jitter` of it. */
export function backoffDelay(attempt: number, base: number, max: number, jitter: number, random: () => number): number {
  const raw = Math.min(max, base * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.max(0, Math.round(raw * (1 - jitter * random())));
}

const REMOVED = 'pool removed from the configuration';

/** Same pool for a reload: address and credentials (a changed account is another pool). */
function samePool(a: PoolTarget, b: PoolTarget): boolean {
  return a.host === b.host && a.port === b.port && a.user === b.user && a.password === b.password;
}

export class PoolUpstream implements Upstream {
  readonly #o: PoolUpstreamOptions;
  #pools: readonly PoolTarget[];
  /** The pool of the current socket (or of the last one), whatever the list says now. */
  #target: PoolTarget;
  /** Set while leaving a pool that a reload removed: the move happens once in-flight requests are answered. */
  #retiring: { timer: NodeJS.Timeout } | null = null;
  readonly #pending = new Map<number, Pending>();
  readonly #queue: Queued[] = [];
  #listener: UpstreamListener = () => {};
  #socket: net.Socket | null = null;
  #connected = false;
  #index = 0;
  #failures = 0;
  #nextId = 1;
  #everUp = false;
  #closed = false;
  #paused = false;
  #retryTimer: NodeJS.Timeout | undefined;
  #silenceTimer: NodeJS.Timeout | undefined;
  #recheckTimer: NodeJS.Timeout | undefined;
  #lostTimer: NodeJS.Timeout | undefined;
  #probe: net.Socket | null = null;
  /** Set on a resumed connection until the session's handshake replay is done (see RequestOptions.handshake). */
  #awaitingHandshake = false;
  /** Lines over the JSON limits on the current connection. */
  #overLimitLines = 0;
  /** Why the current socket is being closed on purpose (failover reason), if it is. */
  #closing: { reason: string; nextIndex: number; delayMs: number } | null = null;
  /** The pool the retry timer will connect to (resolved in the list when it fires). */
  #retryTo: PoolTarget | null = null;

  constructor(options: PoolUpstreamOptions) {
    if (options.pools.length === 0) throw new RangeError('PoolUpstream needs at least one pool');
    this.#o = options;
    this.#pools = options.pools;
    this.#target = options.pools[0]!;
  }

  /** Starts connecting to the first pool. */
  start(): this {
    this.#armLost();
    this.#connect(0);
    return this;
  }

  get pool(): UpstreamPool | null {
    if (!this.#connected) return null;
    const p = this.#target;
    return { url: p.url, user: p.user, password: p.password };
  }

  /** Index in the pool list of the pool in use (or being tried; the next one to try while leaving a removed pool). */
  get poolIndex(): number {
    return this.#index;
  }

  /**
   * Adopts a new pool list (SIGHUP reload). Returns 'kept' when the pool in use (or being tried, or
   * due to be tried next) is still listed: the connection stays and the new order applies to later
   * failovers and primary rechecks. Returns 'moved' when it was removed: new requests wait for the
   * next pool, in-flight ones get their answers first (at most requestTimeoutMs), then the
   * connection is dropped on purpose and the session fails over to the head of the new list
   * ('down', then 'up' with resumed = true, so the session replays its handshake and gives the
   * miner fresh work).
   */
  setPools(pools: readonly PoolTarget[]): 'kept' | 'moved' {
    if (pools.length === 0) throw new RangeError('PoolUpstream needs at least one pool');
    const current = this.#socket === null && this.#retryTo !== null ? this.#retryTo : this.#target;
    const at = this.#retiring === null ? pools.findIndex((p) => samePool(p, current)) : -1;
    this.#pools = pools;
    if (this.#closed) return 'kept';
    clearTimeout(this.#recheckTimer);
    this.#probe?.destroy();
    this.#probe = null;
    if (at >= 0) {
      this.#index = at;
      if (this.#connected && at !== 0) this.#armRecheck();
      return 'kept';
    }
    this.#index = 0;
    if (this.#socket === null) return 'moved'; // waiting to retry: the timer resolves its target in the new list
    if (this.#retiring !== null) return 'moved';
    if (!this.#connected) {
      this.#moveToNewList();
      return 'moved';
    }
    this.#retiring = { timer: setTimeout(() => this.#moveToNewList(), this.#o.requestTimeoutMs) };
    // One line per session at debug: the daemon logs the reload once with the counts.
    this.#o.log.debug(
      { pool: current.url, inflight: this.#pending.size },
      'pool removed from the configuration; moving after in-flight requests',
    );
    if (this.#pending.size === 0) this.#moveToNewList();
    return 'moved';
  }

  get connected(): boolean {
    return this.#connected;
  }

  setListener(listener: UpstreamListener): void {
    this.#listener = listener;
  }

  request(method: string, params: readonly JsonValue[], options: RequestOptions = {}): Promise<UpstreamReply> {
    if (this.#closed) return Promise.resolve({ status: 'closed', sent: false });
    return new Promise((resolve) => {
      // While leaving a removed pool, new requests wait for the next pool like in any failover gap; on a
      // resumed connection only the handshake replay goes out until the session says it is done.
      if (this.#connected && this.#retiring === null && (!this.#awaitingHandshake || options.handshake === true)) {
        this.#send(method, params, resolve);
        return;
      }
      if (this.#queue.length >= (this.#o.maxQueued ?? 64)) {
        resolve({ status: 'closed', sent: false });
        return;
      }
      const item: Queued = {
        method,
        params,
        resolve,
        timer: setTimeout(() => {
          const i = this.#queue.indexOf(item);
          if (i >= 0) this.#queue.splice(i, 1);
          resolve({ status: 'timeout', sent: false });
        }, this.#o.requestTimeoutMs),
      };
      this.#queue.push(item);
    });
  }

  handshakeDone(): void {
    if (!this.#awaitingHandshake) return;
    this.#awaitingHandshake = false;
    if (this.#connected && this.#retiring === null) this.#flushQueue();
  }

  notify(method: string, params: readonly JsonValue[]): void {
    if (this.#connected && this.#retiring === null && !this.#awaitingHandshake) this.#write(encodeNotification(method, params));
  }

  pause(): void {
    this.#paused = true;
    this.#socket?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#socket?.resume();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of [this.#retryTimer, this.#silenceTimer, this.#recheckTimer, this.#lostTimer, this.#retiring?.timer]) clearTimeout(t);
    this.#retiring = null;
    this.#probe?.destroy();
    this.#socket?.destroy();
    this.#socket = null;
    this.#connected = false;
    this.#failAll('closed');
  }

  // ------------------------------------------------------------ internals

  #emit(e: UpstreamEvent): void {
    this.#listener(e);
  }

  #send(method: string, params: readonly JsonValue[], resolve: (r: UpstreamReply) => void): void {
    const id = this.#nextId++;
    if (this.#nextId > 0x7fffffff) this.#nextId = 1;
    const timer = setTimeout(() => {
      if (!this.#pending.delete(id)) return;
      resolve({ status: 'timeout', sent: true });
      if (this.#retiring !== null && this.#pending.size === 0) this.#moveToNewList();
    }, this.#o.requestTimeoutMs);
    this.#pending.set(id, { method, sentAt: performance.now(), timer, resolve });
    this.#write(encodeRequest(id, method, params));
  }

  #write(line: string): void {
    const s = this.#socket;
    if (s === null || s.destroyed) return;
    if (!s.write(line)) {
      this.#o.onCongestion?.(true);
      this.#emit({ type: 'congested' });
    }
  }

  #failAll(status: 'closed'): void {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.resolve({ status, sent: true });
    }
    this.#pending.clear();
    if (this.#closed) {
      for (const q of this.#queue.splice(0)) {
        clearTimeout(q.timer);
        q.resolve({ status, sent: false });
      }
    }
  }

  #flushQueue(): void {
    for (const q of this.#queue.splice(0)) {
      clearTimeout(q.timer);
      this.#send(q.method, q.params, q.resolve);
    }
  }

  #connect(index: number): void {
    if (this.#closed) return;
    this.#retryTo = null;
    this.#index = index;
    const target = this.#pools[index]!;
    this.#target = target;
    const framer = new LineFramer({ maxLineBytes: this.#o.maxLineBytes ?? 64 * 1024 });
    const socket = net.connect({ host: target.host, port: target.port });
    this.#socket = socket;
    socket.setNoDelay(true);
    if ((this.#o.tcpKeepAliveMs ?? 0) > 0) socket.setKeepAlive(true, this.#o.tcpKeepAliveMs);
    socket.on('connect', () => {
      if (socket !== this.#socket) return;
      this.#connected = true;
      this.#failures = 0;
      clearTimeout(this.#lostTimer);
      this.#lostTimer = undefined;
      const resumed = this.#everUp;
      this.#everUp = true;
      this.#overLimitLines = 0;
      // A resumed connection holds the queue until the session has replayed its handshake (handshakeDone).
      this.#awaitingHandshake = resumed;
      if (this.#paused) socket.pause();
      this.#o.log.info({ pool: target.url, poolIndex: this.#index, resumed }, 'pool connected');
      this.#emit({ type: 'up', pool: target.url, resumed });
      if (!this.#awaitingHandshake && socket === this.#socket) this.#flushQueue();
      this.#armSilence();
      if (this.#index !== 0) this.#armRecheck(); // (a reload while connecting may have moved it)
    });
    socket.on('data', (chunk: Buffer) => {
      if (socket !== this.#socket) return;
      for (const ev of framer.feed(chunk)) {
        // A listener may have closed this upstream (or dropped the socket) on an earlier line of the chunk.
        if (socket !== this.#socket || this.#closed) return;
        if (ev.type === 'oversized') {
          this.#dropOnPurpose(`pool sent a line over ${framer.maxLineBytes} bytes`);
          return;
        }
        try {
          this.#onLine(ev.line);
        } catch (e) {
          // A bug in handling one pool line (the session guards its own handling): drop this pool
          // connection and fail over, never take the daemon down.
          this.#o.log.error(
            { code: 'HG_ERR_CONNECTION_FAULT', pool: target.url, err: e instanceof Error ? e.message : String(e) },
            'handling a pool connection failed; dropping it',
          );
          this.#dropOnPurpose('internal error handling a pool line');
          return;
        }
      }
    });
    socket.on('drain', () => {
      if (socket !== this.#socket) return;
      this.#o.onCongestion?.(false);
      this.#emit({ type: 'drained' });
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (socket === this.#socket) this.#o.log.debug({ pool: target.url, err: err.code ?? err.message }, 'pool socket error');
    });
    socket.on('close', () => {
      if (socket !== this.#socket) return;
      this.#onClosed(target.url);
    });
  }

  #onClosed(url: string): void {
    const wasUp = this.#connected;
    this.#socket = null;
    this.#connected = false;
    this.#awaitingHandshake = false;
    clearTimeout(this.#silenceTimer);
    clearTimeout(this.#recheckTimer);
    this.#failAll('closed');
    if (this.#closed) return;
    const retired = this.#retiring !== null;
    if (this.#retiring !== null) {
      clearTimeout(this.#retiring.timer);
      this.#retiring = null;
    }
    const planned = this.#closing;
    this.#closing = null;
    const reason = planned?.reason ?? (wasUp ? 'pool closed the connection' : 'connection refused or failed');
    if (wasUp) {
      // Leaving a removed pool is no fault: the daemon logs the reload once for all sessions.
      this.#o.log[planned?.reason === REMOVED ? 'debug' : 'warn']({ pool: url, reason }, 'pool connection lost');
      this.#emit({ type: 'down', pool: url, reason });
    } else {
      this.#o.log.debug({ pool: url, reason }, 'pool connection failed');
    }
    this.#armLost();
    let next: number;
    let delay: number;
    if (planned !== null) {
      next = planned.nextIndex;
      delay = planned.delayMs;
    } else {
      this.#failures++;
      // Leaving a removed pool that dropped us first: the new list's head is next (#index is already 0).
      next = retired ? 0 : (this.#index + 1) % this.#pools.length;
      const o = this.#o;
      delay = backoffDelay(this.#failures, o.backoffBaseMs, o.backoffMaxMs, o.backoffJitter, o.random ?? Math.random);
    }
    // The target is resolved again when the timer fires: a reload in between may have reordered or removed it.
    const target = this.#pools[next] ?? this.#pools[0]!; // a planned index may predate a reload
    this.#retryTo = target;
    this.#retryTimer = setTimeout(() => {
      const i = this.#pools.findIndex((p) => samePool(p, target));
      this.#connect(i >= 0 ? i : 0);
    }, delay);
  }

  /** Leaves a pool a reload removed: drop the connection on purpose, head of the new list next, after a random delay. */
  #moveToNewList(): void {
    const o = this.#o;
    this.#failures = 0;
    this.#dropOnPurpose(REMOVED, 0, Math.round(o.backoffBaseMs * (o.random ?? Math.random)()));
  }

  #dropOnPurpose(reason: string, nextIndex = this.#retiring !== null ? 0 : (this.#index + 1) % this.#pools.length, delayMs?: number): void {
    if (this.#socket === null) return;
    this.#failures++;
    const o = this.#o;
    const delay = delayMs ?? backoffDelay(this.#failures, o.backoffBaseMs, o.backoffMaxMs, o.backoffJitter, o.random ?? Math.random);
    this.#closing = { reason, nextIndex, delayMs: delay };
    this.#socket.destroy();
  }

  #armLost(): void {
    if (this.#lostTimer !== undefined || this.#closed) return;
    const grace = this.#o.poolLossGraceMs;
    this.#lostTimer = setTimeout(() => {
      this.#lostTimer = undefined;
      if (!this.#connected && !this.#closed) this.#emit({ type: 'lost', downMs: grace });
    }, grace);
  }

  #armSilence(): void {
    clearTimeout(this.#silenceTimer);
    const ms = this.#o.notifySilenceMs;
    if (ms <= 0 || this.#closed) return;
    this.#silenceTimer = setTimeout(() => this.#dropOnPurpose(`no mining.notify for ${ms} ms`), ms);
  }

  #armRecheck(): void {
    clearTimeout(this.#recheckTimer);
    const ms = this.#o.primaryRecheckMs;
    if (ms <= 0 || this.#closed) return;
    this.#recheckTimer = setTimeout(() => {
      if (!this.#connected || this.#index === 0 || this.#closed || this.#retiring !== null) return;
      const primary = this.#pools[0]!;
      const probe = net.connect({ host: primary.host, port: primary.port });
      this.#probe = probe;
      probe.on('connect', () => {
        probe.destroy();
        if (this.#connected && this.#index !== 0 && !this.#closed && this.#retiring === null && this.#probe === probe) {
          this.#o.log.info({ pool: primary.url }, 'primary pool is back; switching to it');
          this.#failures = 0;
          this.#dropOnPurpose('returning to the primary pool', 0, 0);
        }
      });
      probe.on('error', () => this.#armRecheck());
      probe.on('close', () => {
        if (this.#probe === probe) this.#probe = null;
      });
    }, ms);
  }

  /**
   * A pool line over the JSON limits: never parsed into anything. When it answers a pending request
   * (its id could be read) that request ends as 'invalid' (the session answers the miner and journals
   * the pool verdict as unknown). Past maxOverLimitLines on one connection the pool is taken as broken
   * (or the link as tampered with) and the session fails over.
   */
  #onOverLimit(id: unknown, why: string): void {
    this.#overLimitLines++;
    const p = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (p !== undefined) {
      this.#pending.delete(id as number);
      clearTimeout(p.timer);
      p.resolve({ status: 'invalid', reason: why });
      if (this.#retiring !== null && this.#pending.size === 0) this.#moveToNewList();
    }
    const max = this.#o.maxOverLimitLines ?? 16;
    if (this.#overLimitLines === 1)
      this.#o.log.warn({ pool: this.#target.url, why, answered: p !== undefined }, 'pool sent a line over the JSON limits');
    if (this.#overLimitLines > max && this.#socket !== null) {
      this.#o.log.warn(
        { pool: this.#target.url, lines: this.#overLimitLines, max },
        'pool keeps sending lines over the JSON limits; failing over',
      );
      this.#dropOnPurpose('pool sent too many lines over the JSON limits');
    }
  }

  #onLine(line: string): void {
    const env = classifyLine(line);
    if (env.kind === 'invalid' && OVER_LIMIT_REASONS.has(env.reason)) {
      this.#onOverLimit(env.id, env.message);
      return;
    }
    if (env.kind === 'response') {
      const id = env.id;
      const p = typeof id === 'number' ? this.#pending.get(id) : undefined;
      if (p === undefined) {
        this.#o.log.debug({ id: truncateForLog(String(id), 40) }, 'pool answered an unknown request id');
        return;
      }
      this.#pending.delete(id as number);
      clearTimeout(p.timer);
      p.resolve({ status: 'ok', response: env, rttMs: performance.now() - p.sentAt });
      if (this.#retiring !== null && this.#pending.size === 0) this.#moveToNewList();
      return;
    }
    const parsed = parsePoolMessage(env);
    if (!parsed.ok) {
      this.#o.log.debug({ error: parsed.error.message, line: truncateForLog(line) }, 'unusable line from pool');
      return;
    }
    const msg = parsed.msg as UpstreamNotice;
    switch (msg.type) {
      case 'notify':
        this.#armSilence();
        break;
      case 'get-version':
        if (msg.id !== null) this.#write(encodeResponse(msg.id, `hashgate/${VERSION}`));
        break;
      case 'ping':
        if (msg.id !== null) this.#write(encodeResponse(msg.id, 'pong'));
        break;
      case 'reconnect': {
        const wait = Math.min((msg.waitSeconds ?? 0) * 1000, this.#o.maxReconnectWaitMs ?? 30_000);
        this.#o.log.info({ waitMs: wait, redirect: msg.host !== null || msg.port !== null }, 'pool asked for client.reconnect');
        this.#dropOnPurpose('pool sent client.reconnect', this.#index, wait);
        break;
      }
      default:
        break;
    }
    this.#emit({ type: 'message', msg });
  }
}

export function createPoolUpstream(options: PoolUpstreamOptions): PoolUpstream {
  return new PoolUpstream(options).start();
}
