/**
 * The pool link's request table: requests sent to the pool and waiting for
 * their answer (matched by hashgate's own id), and requests waiting for a
 * pool connection. Each ends exactly once: answered, timed out, invalid or
 * closed. Timers come from the injected clock; the table writes through a
 * callback and knows nothing of connections.
 */

import type { JsonValue, RpcResponse } from '../protocol/json-rpc.js';
import { encodeRequest } from '../protocol/json-rpc.js';
import { type Clock, type ClockTimer, monotonicNow } from '../util/clock.js';
import type { UpstreamReply } from './types.js';

type Resolve = (r: UpstreamReply) => void;

interface Pending {
  readonly method: string;
  readonly sentAt: number;
  readonly timer: ClockTimer;
  readonly resolve: Resolve;
}

interface Queued {
  readonly method: string;
  readonly params: readonly JsonValue[];
  readonly timer: ClockTimer;
  readonly resolve: Resolve;
}

export interface RequestTableOptions {
  readonly clock: Clock;
  /** How long a request may wait, queued or sent (limits.poolRequestTimeoutMs). */
  readonly timeoutMs: number;
  /** Queued requests at most; more resolve at once as closed, unsent. */
  readonly maxQueued: number;
  /** Sends one encoded line to the pool connection. */
  readonly write: (line: string) => void;
  /** A sent request ended (answer, timeout or invalid answer): the link may be waiting for the last one. */
  readonly settled: () => void;
}

export class RequestTable {
  readonly #o: RequestTableOptions;
  readonly #pending = new Map<number, Pending>();
  readonly #queue: Queued[] = [];
  #nextId = 1;

  constructor(options: RequestTableOptions) {
    this.#o = options;
  }

  /** Requests sent and not answered yet. */
  get inflight(): number {
    return this.#pending.size;
  }

  /** Requests waiting for a connection. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Sends now, with the next id. */
  send(method: string, params: readonly JsonValue[], resolve: Resolve): void {
    const id = this.#nextId++;
    if (this.#nextId > 0x7fffffff) this.#nextId = 1;
    const { clock } = this.#o;
    const timer = clock.setTimeout(() => {
      if (!this.#pending.delete(id)) return;
      resolve({ status: 'timeout', sent: true });
      this.#o.settled();
    }, this.#o.timeoutMs);
    this.#pending.set(id, { method, sentAt: monotonicNow(clock), timer, resolve });
    this.#o.write(encodeRequest(id, method, params));
  }

  /** Holds a request until flush(); when the queue is full it resolves at once as closed, unsent. */
  enqueue(method: string, params: readonly JsonValue[], resolve: Resolve): void {
    if (this.#queue.length >= this.#o.maxQueued) {
      resolve({ status: 'closed', sent: false });
      return;
    }
    const item: Queued = {
      method,
      params,
      resolve,
      timer: this.#o.clock.setTimeout(() => {
        const i = this.#queue.indexOf(item);
        if (i >= 0) this.#queue.splice(i, 1);
        resolve({ status: 'timeout', sent: false });
      }, this.#o.timeoutMs),
    };
    this.#queue.push(item);
  }

  /** Sends everything queued, in order. */
  flush(): void {
    for (const q of this.#queue.splice(0)) {
      this.#o.clock.clearTimeout(q.timer);
      this.send(q.method, q.params, q.resolve);
    }
  }

  /** Ends the request with this id with the pool's answer; false when no request has that id. */
  answer(id: unknown, response: RpcResponse): boolean {
    const p = this.#take(id);
    if (p === undefined) return false;
    p.resolve({ status: 'ok', response, rttMs: monotonicNow(this.#o.clock) - p.sentAt });
    this.#o.settled();
    return true;
  }

  /** Ends the request with this id as answered with a line hashgate does not read; false when no request has that id. */
  invalid(id: unknown, reason: string): boolean {
    const p = this.#take(id);
    if (p === undefined) return false;
    p.resolve({ status: 'invalid', reason });
    this.#o.settled();
    return true;
  }

  /** The connection went away: every sent request ends as closed (sent); with `queued`, the waiting ones too (unsent). */
  closeAll(queued: boolean): void {
    const { clock } = this.#o;
    for (const p of this.#pending.values()) {
      clock.clearTimeout(p.timer);
      p.resolve({ status: 'closed', sent: true });
    }
    this.#pending.clear();
    if (!queued) return;
    for (const q of this.#queue.splice(0)) {
      clock.clearTimeout(q.timer);
      q.resolve({ status: 'closed', sent: false });
    }
  }

  #take(id: unknown): Pending | undefined {
    const p = typeof id === 'number' ? this.#pending.get(id) : undefined;
    if (p === undefined) return undefined;
    this.#pending.delete(id as number);
    this.#o.clock.clearTimeout(p.timer);
    return p;
  }
}
