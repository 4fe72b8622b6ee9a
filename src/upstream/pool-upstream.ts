/**
 * The pool link: passthrough upstream, one pool connection per miner
 * session, with the pool list in failover order. A state machine over an
 * injected clock and transport (./transport.ts): no socket and no global
 * timer here, so tests drive connect, answers, silence, backoff and
 * failover step by step (test/upstream/pool-link.test.ts). node:net is in
 * ./net-transport.ts, which also has createPoolUpstream.
 *
 * - Requests carry hashgate's own integer ids; answers are matched through
 *   the request table (./requests.ts), never by the miner's id. Requests
 *   made while no pool is connected wait there (bounded, with the same
 *   timeout) and are sent once a pool is up.
 * - Failover: a refused or dropped connection, or a pool silent for
 *   failover.notifySilenceMs (no mining.notify), moves to the next pool
 *   after a backoff (base·2^n, capped, minus up to `jitter` of it at random,
 *   so 1,000 sessions do not reconnect in one burst). While on a backup,
 *   the primary is probed every failover.primaryRecheckMs and used again as
 *   soon as it accepts TCP. With no pool for failover.poolLossGraceMs the
 *   session is told ('lost') so it can disconnect its miner. Why a
 *   connection ended is a typed PoolDownReason.
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
 *
 * One file on purpose (near the size limit): the link's states (connecting, up, resumed and
 * holding for the handshake replay, leaving a removed pool, waiting to
 * retry, closed) and the timers that move between them read best in one
 * place; the request table (./requests.ts) and the sockets
 * (./net-transport.ts) are apart.
 */

import { classifyLine, encodeNotification, encodeResponse, type JsonValue, OVER_LIMIT_REASONS } from '../protocol/json-rpc.js';
import { parsePoolMessage } from '../protocol/pool.js';
import type { Clock, ClockTimer } from '../util/clock.js';
import { LineFramer } from '../util/line-framer.js';
import { truncateForLog } from '../util/log.js';
import { VERSION } from '../version.js';
import { backoffDelay, type PoolTarget, type PoolUpstreamOptions, samePool } from './link-options.js';
import { RequestTable } from './requests.js';

export { backoffDelay, type PoolTarget, type PoolUpstreamOptions } from './link-options.js';
import type { TransportConnection } from './transport.js';
import {
  POOL_DOWN_TEXT,
  type PoolDownReason,
  type RequestOptions,
  type Upstream,
  type UpstreamEvent,
  type UpstreamListener,
  type UpstreamNotice,
  type UpstreamPool,
  type UpstreamReply,
} from './types.js';

/** One connection attempt: the transport's connection, the pool it goes to, and its line framer. */
interface Link {
  readonly conn: TransportConnection;
  readonly target: PoolTarget;
  readonly framer: LineFramer;
}

export class PoolUpstream implements Upstream {
  readonly #o: PoolUpstreamOptions;
  readonly #clock: Clock;
  readonly #requests: RequestTable;
  #pools: readonly PoolTarget[];
  /** The pool of the current connection (or of the last one), whatever the list says now. */
  #target: PoolTarget;
  /** Set while leaving a pool that a reload removed: the move happens once in-flight requests are answered. */
  #retiring: { timer: ClockTimer } | null = null;
  #listener: UpstreamListener = () => {};
  #link: Link | null = null;
  #connected = false;
  #index = 0;
  #failures = 0;
  #everUp = false;
  #closed = false;
  #paused = false;
  #retryTimer: ClockTimer | undefined;
  #silenceTimer: ClockTimer | undefined;
  #recheckTimer: ClockTimer | undefined;
  #lostTimer: ClockTimer | undefined;
  #cancelProbe: (() => void) | null = null;
  /** Set on a resumed connection until the session's handshake replay is done (see RequestOptions.handshake). */
  #awaitingHandshake = false;
  /** Lines over the JSON limits on the current connection. */
  #overLimitLines = 0;
  /** Why the current connection is being closed on purpose (failover reason), if it is. */
  #closing: { reason: PoolDownReason; nextIndex: number; delayMs: number } | null = null;
  /** The pool the retry timer will connect to (resolved in the list when it fires). */
  #retryTo: PoolTarget | null = null;

  constructor(options: PoolUpstreamOptions) {
    if (options.pools.length === 0) throw new RangeError('PoolUpstream needs at least one pool');
    this.#o = options;
    this.#clock = options.clock;
    this.#pools = options.pools;
    this.#target = options.pools[0]!;
    this.#requests = new RequestTable({
      clock: options.clock,
      timeoutMs: options.requestTimeoutMs,
      maxQueued: options.maxQueued ?? 64,
      write: (line) => this.#write(line),
      settled: () => {
        if (this.#retiring !== null && this.#requests.inflight === 0) this.#moveToNewList();
      },
    });
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
    const current = this.#link === null && this.#retryTo !== null ? this.#retryTo : this.#target;
    const at = this.#retiring === null ? pools.findIndex((p) => samePool(p, current)) : -1;
    this.#pools = pools;
    if (this.#closed) return 'kept';
    this.#clock.clearTimeout(this.#recheckTimer);
    this.#stopProbe();
    if (at >= 0) {
      this.#index = at;
      if (this.#connected && at !== 0) this.#armRecheck();
      return 'kept';
    }
    this.#index = 0;
    if (this.#link === null) return 'moved'; // waiting to retry: the timer resolves its target in the new list
    if (this.#retiring !== null) return 'moved';
    if (!this.#connected) {
      this.#moveToNewList();
      return 'moved';
    }
    this.#retiring = { timer: this.#clock.setTimeout(() => this.#moveToNewList(), this.#o.requestTimeoutMs) };
    // One line per session at debug: the daemon logs the reload once with the counts.
    this.#o.log.debug(
      { pool: current.url, inflight: this.#requests.inflight },
      'pool removed from the configuration; moving after in-flight requests',
    );
    if (this.#requests.inflight === 0) this.#moveToNewList();
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
        this.#requests.send(method, params, resolve);
      } else {
        this.#requests.enqueue(method, params, resolve);
      }
    });
  }

  handshakeDone(): void {
    if (!this.#awaitingHandshake) return;
    this.#awaitingHandshake = false;
    if (this.#connected && this.#retiring === null) this.#requests.flush();
  }

  notify(method: string, params: readonly JsonValue[]): void {
    if (this.#connected && this.#retiring === null && !this.#awaitingHandshake) this.#write(encodeNotification(method, params));
  }

  pause(): void {
    this.#paused = true;
    this.#link?.conn.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#link?.conn.resume();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of [this.#retryTimer, this.#silenceTimer, this.#recheckTimer, this.#lostTimer, this.#retiring?.timer])
      this.#clock.clearTimeout(t);
    this.#retiring = null;
    this.#stopProbe();
    const link = this.#link;
    this.#link = null;
    this.#connected = false;
    link?.conn.destroy();
    this.#requests.closeAll(true);
  }

  // ------------------------------------------------------------ internals

  #emit(e: UpstreamEvent): void {
    this.#listener(e);
  }

  #write(line: string): void {
    const link = this.#link;
    if (link === null) return;
    if (!link.conn.write(line)) {
      this.#o.onCongestion?.(true);
      this.#emit({ type: 'congested' });
    }
  }

  #connect(index: number): void {
    if (this.#closed) return;
    this.#retryTo = null;
    this.#index = index;
    const target = this.#pools[index]!;
    this.#target = target;
    const framer = new LineFramer({ maxLineBytes: this.#o.maxLineBytes ?? 64 * 1024 });
    // The handlers ignore a connection that is no longer the current one (dropped, or the link closed).
    const current = () => this.#link === link;
    const link: Link = {
      target,
      framer,
      conn: this.#o.transport.connect(target, {
        connected: () => current() && this.#onConnected(link),
        data: (chunk) => current() && this.#onData(link, chunk),
        drained: () => {
          if (!current()) return;
          this.#o.onCongestion?.(false);
          this.#emit({ type: 'drained' });
        },
        error: (detail) => current() && this.#o.log.debug({ pool: target.url, err: detail }, 'pool socket error'),
        closed: () => current() && this.#onClosed(target.url),
      }),
    };
    this.#link = link;
  }

  #onConnected(link: Link): void {
    this.#connected = true;
    this.#failures = 0;
    this.#clock.clearTimeout(this.#lostTimer);
    this.#lostTimer = undefined;
    const resumed = this.#everUp;
    this.#everUp = true;
    this.#overLimitLines = 0;
    // A resumed connection holds the queue until the session has replayed its handshake (handshakeDone).
    this.#awaitingHandshake = resumed;
    if (this.#paused) link.conn.pause();
    this.#o.log.info({ pool: link.target.url, poolIndex: this.#index, resumed }, 'pool connected');
    this.#emit({ type: 'up', pool: link.target.url, resumed });
    if (!this.#awaitingHandshake && this.#link === link) this.#requests.flush();
    this.#armSilence();
    if (this.#index !== 0) this.#armRecheck(); // (a reload while connecting may have moved it)
  }

  #onData(link: Link, chunk: Uint8Array): void {
    for (const ev of link.framer.feed(chunk)) {
      // A listener may have closed this upstream (or dropped the connection) on an earlier line of the chunk.
      if (this.#link !== link || this.#closed) return;
      if (ev.type === 'oversized') {
        this.#o.log.debug({ pool: link.target.url, maxLineBytes: link.framer.maxLineBytes }, 'pool sent a line over the line limit');
        this.#dropOnPurpose('line-too-long');
        return;
      }
      try {
        this.#onLine(ev.line);
      } catch (e) {
        // A bug in handling one pool line (the session guards its own handling): drop this pool
        // connection and fail over, never take the daemon down.
        this.#o.log.error(
          { code: 'HG_ERR_CONNECTION_FAULT', pool: link.target.url, err: e instanceof Error ? e.message : String(e) },
          'handling a pool connection failed; dropping it',
        );
        this.#dropOnPurpose('fault');
        return;
      }
    }
  }

  #onClosed(url: string): void {
    const wasUp = this.#connected;
    this.#link = null;
    this.#connected = false;
    this.#awaitingHandshake = false;
    this.#clock.clearTimeout(this.#silenceTimer);
    this.#clock.clearTimeout(this.#recheckTimer);
    this.#requests.closeAll(false);
    if (this.#closed) return;
    const retired = this.#retiring !== null;
    if (this.#retiring !== null) {
      this.#clock.clearTimeout(this.#retiring.timer);
      this.#retiring = null;
    }
    const planned = this.#closing;
    this.#closing = null;
    const reason: PoolDownReason = planned?.reason ?? (wasUp ? 'closed' : 'refused');
    if (wasUp) {
      // Leaving a removed pool is no fault: the daemon logs the reload once for all sessions.
      this.#o.log[reason === 'removed' ? 'debug' : 'warn']({ pool: url, reason: POOL_DOWN_TEXT[reason] }, 'pool connection lost');
      this.#emit({ type: 'down', pool: url, reason });
    } else {
      this.#o.log.debug({ pool: url, reason: POOL_DOWN_TEXT[reason] }, 'pool connection failed');
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
      delay = this.#backoff();
    }
    // The target is resolved again when the timer fires: a reload in between may have reordered or removed it.
    const target = this.#pools[next] ?? this.#pools[0]!; // a planned index may predate a reload
    this.#retryTo = target;
    this.#retryTimer = this.#clock.setTimeout(() => {
      const i = this.#pools.findIndex((p) => samePool(p, target));
      this.#connect(i >= 0 ? i : 0);
    }, delay);
  }

  #backoff(): number {
    const o = this.#o;
    return backoffDelay(this.#failures, o.backoffBaseMs, o.backoffMaxMs, o.backoffJitter, o.random ?? Math.random);
  }

  /** Leaves a pool a reload removed: drop the connection on purpose, head of the new list next, after a random delay. */
  #moveToNewList(): void {
    const o = this.#o;
    this.#failures = 0;
    this.#dropOnPurpose('removed', 0, Math.round(o.backoffBaseMs * (o.random ?? Math.random)()));
  }

  #dropOnPurpose(
    reason: PoolDownReason,
    nextIndex = this.#retiring !== null ? 0 : (this.#index + 1) % this.#pools.length,
    delayMs?: number,
  ): void {
    const link = this.#link;
    if (link === null) return;
    this.#failures++;
    this.#closing = { reason, nextIndex, delayMs: delayMs ?? this.#backoff() };
    link.conn.destroy();
  }

  #armLost(): void {
    if (this.#lostTimer !== undefined || this.#closed) return;
    const grace = this.#o.poolLossGraceMs;
    this.#lostTimer = this.#clock.setTimeout(() => {
      this.#lostTimer = undefined;
      if (!this.#connected && !this.#closed) this.#emit({ type: 'lost', downMs: grace });
    }, grace);
  }

  #armSilence(): void {
    this.#clock.clearTimeout(this.#silenceTimer);
    const ms = this.#o.notifySilenceMs;
    if (ms <= 0 || this.#closed) return;
    this.#silenceTimer = this.#clock.setTimeout(() => {
      this.#o.log.debug({ pool: this.#target.url, ms }, 'pool sent no mining.notify for failover.notifySilenceMs');
      this.#dropOnPurpose('silent');
    }, ms);
  }

  #armRecheck(): void {
    this.#clock.clearTimeout(this.#recheckTimer);
    const ms = this.#o.primaryRecheckMs;
    if (ms <= 0 || this.#closed) return;
    this.#recheckTimer = this.#clock.setTimeout(() => {
      if (!this.#onBackup()) return;
      const primary = this.#pools[0]!;
      this.#stopProbe();
      const cancel = this.#o.transport.probe(primary, (reachable) => {
        if (this.#cancelProbe !== cancel) return;
        this.#cancelProbe = null;
        if (!reachable) return this.#armRecheck();
        if (!this.#onBackup()) return;
        this.#o.log.info({ pool: primary.url }, 'primary pool is back; switching to it');
        this.#failures = 0;
        this.#dropOnPurpose('primary-back', 0, 0);
      });
      this.#cancelProbe = cancel;
    }, ms);
  }

  /** Connected to a pool other than the head of the list, and staying (not closed, not leaving a removed pool). */
  #onBackup(): boolean {
    return this.#connected && this.#index !== 0 && !this.#closed && this.#retiring === null;
  }

  #stopProbe(): void {
    const cancel = this.#cancelProbe;
    this.#cancelProbe = null;
    cancel?.();
  }

  /**
   * A pool line over the JSON limits: never parsed into anything. When it answers a pending request
   * (its id could be read) that request ends as 'invalid' (the session answers the miner and journals
   * the pool verdict as unknown). Past maxOverLimitLines on one connection the pool is taken as broken
   * (or the link as tampered with) and the session fails over.
   */
  #onOverLimit(id: unknown, why: string): void {
    this.#overLimitLines++;
    const answered = this.#requests.invalid(id, why);
    const max = this.#o.maxOverLimitLines ?? 16;
    if (this.#overLimitLines === 1) this.#o.log.warn({ pool: this.#target.url, why, answered }, 'pool sent a line over the JSON limits');
    if (this.#overLimitLines > max && this.#link !== null) {
      this.#o.log.warn(
        { pool: this.#target.url, lines: this.#overLimitLines, max },
        'pool keeps sending lines over the JSON limits; failing over',
      );
      this.#dropOnPurpose('over-limit-lines');
    }
  }

  #onLine(line: string): void {
    const env = classifyLine(line);
    if (env.kind === 'invalid' && OVER_LIMIT_REASONS.has(env.reason)) {
      this.#onOverLimit(env.id, env.message);
      return;
    }
    if (env.kind === 'response') {
      if (!this.#requests.answer(env.id, env))
        this.#o.log.debug({ id: truncateForLog(String(env.id), 40) }, 'pool answered an unknown request id');
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
        this.#dropOnPurpose('reconnect', this.#index, wait);
        break;
      }
      default:
        break;
    }
    this.#emit({ type: 'message', msg });
  }
}
