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
 */

import net from 'node:net';
import { classifyLine, encodeNotification, encodeRequest, encodeResponse, type JsonValue } from '../protocol/json-rpc.js';
import { LineFramer } from '../protocol/line-framer.js';
import { parsePoolMessage } from '../protocol/pool.js';
import type { Logger } from '../util/log.js';
import { truncateForLog } from '../util/log.js';
import { VERSION } from '../version.js';
import type { Upstream, UpstreamEvent, UpstreamListener, UpstreamNotice, UpstreamPool, UpstreamReply } from './types.js';

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

export class PoolUpstream implements Upstream {
  readonly #o: PoolUpstreamOptions;
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
  /** Why the current socket is being closed on purpose (failover reason), if it is. */
  #closing: { reason: string; nextIndex: number; delayMs: number } | null = null;

  constructor(options: PoolUpstreamOptions) {
    if (options.pools.length === 0) throw new RangeError('PoolUpstream needs at least one pool');
    this.#o = options;
  }

  /** Starts connecting to the first pool. */
  start(): this {
    this.#armLost();
    this.#connect(0);
    return this;
  }

  get pool(): UpstreamPool | null {
    if (!this.#connected) return null;
    const p = this.#o.pools[this.#index]!;
    return { url: p.url, user: p.user, password: p.password };
  }

  /** Index in the pool list of the pool in use (or being tried). */
  get poolIndex(): number {
    return this.#index;
  }

  get connected(): boolean {
    return this.#connected;
  }

  setListener(listener: UpstreamListener): void {
    this.#listener = listener;
  }

  request(method: string, params: readonly JsonValue[]): Promise<UpstreamReply> {
    if (this.#closed) return Promise.resolve({ status: 'closed' });
    return new Promise((resolve) => {
      if (this.#connected) {
        this.#send(method, params, resolve);
        return;
      }
      if (this.#queue.length >= (this.#o.maxQueued ?? 64)) {
        resolve({ status: 'closed' });
        return;
      }
      const item: Queued = {
        method,
        params,
        resolve,
        timer: setTimeout(() => {
          const i = this.#queue.indexOf(item);
          if (i >= 0) this.#queue.splice(i, 1);
          resolve({ status: 'timeout' });
        }, this.#o.requestTimeoutMs),
      };
      this.#queue.push(item);
    });
  }

  notify(method: string, params: readonly JsonValue[]): void {
    if (this.#connected) this.#write(encodeNotification(method, params));
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
    for (const t of [this.#retryTimer, this.#silenceTimer, this.#recheckTimer, this.#lostTimer]) clearTimeout(t);
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
      if (this.#pending.delete(id)) resolve({ status: 'timeout' });
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
      p.resolve({ status });
    }
    this.#pending.clear();
    if (this.#closed) {
      for (const q of this.#queue.splice(0)) {
        clearTimeout(q.timer);
        q.resolve({ status });
      }
    }
  }

  #connect(index: number): void {
    if (this.#closed) return;
    this.#index = index;
    const target = this.#o.pools[index]!;
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
      if (this.#paused) socket.pause();
      this.#o.log.info({ pool: target.url, poolIndex: index, resumed }, 'pool connected');
      this.#emit({ type: 'up', pool: target.url, resumed });
      for (const q of this.#queue.splice(0)) {
        clearTimeout(q.timer);
        this.#send(q.method, q.params, q.resolve);
      }
      this.#armSilence();
      if (index !== 0) this.#armRecheck();
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
        this.#onLine(ev.line);
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
    clearTimeout(this.#silenceTimer);
    clearTimeout(this.#recheckTimer);
    this.#failAll('closed');
    if (this.#closed) return;
    const planned = this.#closing;
    this.#closing = null;
    const reason = planned?.reason ?? (wasUp ? 'pool closed the connection' : 'connection refused or failed');
    if (wasUp) {
      this.#o.log.warn({ pool: url, reason }, 'pool connection lost');
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
      next = (this.#index + 1) % this.#o.pools.length;
      const o = this.#o;
      delay = backoffDelay(this.#failures, o.backoffBaseMs, o.backoffMaxMs, o.backoffJitter, o.random ?? Math.random);
    }
    this.#retryTimer = setTimeout(() => this.#connect(next), delay);
  }

  #dropOnPurpose(reason: string, nextIndex = (this.#index + 1) % this.#o.pools.length, delayMs?: number): void {
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
      if (!this.#connected || this.#index === 0 || this.#closed) return;
      const primary = this.#o.pools[0]!;
      const probe = net.connect({ host: primary.host, port: primary.port });
      this.#probe = probe;
      probe.on('connect', () => {
        probe.destroy();
        if (this.#connected && this.#index !== 0 && !this.#closed) {
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

  #onLine(line: string): void {
    const env = classifyLine(line);
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
