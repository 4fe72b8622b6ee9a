/**
 * What the simulators share: an emitter that wakes waitFor predicates, a socket line reader over util's
 * byte-level LineFramer, listening on loopback, and the outline of a firmware API sim. Internal to src/sim:
 * importers use sim-pool.ts, sim-miner.ts, hostile.ts, esp-miner-sim.ts and luxos-sim.ts. Like them it
 * shares no Stratum code with the proxy (docs/architecture.md: src/sim imports only src/util).
 */
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import { LineFramer } from '../util/line-framer.js';

/** An EventEmitter that re-evaluates waitFor predicates after each emit. Never emits 'error'. */
export class SimEmitter extends EventEmitter {
  readonly waiters = new Set<() => void>();
  override emit(name: string | symbol, ...args: unknown[]): boolean {
    const r = super.emit(name, ...args);
    for (const w of [...this.waiters]) w();
    return r;
  }
}

/**
 * Resolves when pred() holds (rechecked after every event on `em`), rejects with pred's error or after
 * timeoutMs with "<who> timed out after <timeoutMs> ms: <label>".
 */
export function waitForOn(
  em: SimEmitter,
  pred: () => boolean,
  timeoutMs: number,
  label: string | undefined,
  who = 'waitFor',
): Promise<void> {
  if (pred()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      em.waiters.delete(check);
    };
    const check = () => {
      let ok: boolean;
      try {
        ok = pred();
      } catch (e) {
        done();
        reject(e);
        return;
      }
      if (ok) {
        done();
        resolve();
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${who} timed out after ${timeoutMs} ms${label ? `: ${label}` : ''}`));
    }, timeoutMs);
    em.waiters.add(check);
  });
}

/**
 * A socket 'data' handler: util's LineFramer cuts the bytes into lines (split on "\n", one trailing "\r"
 * and empty lines dropped, UTF-8 decoded once per whole line) and `onLine` gets each. The first line over
 * maxLineBytes calls `onOversized` once; nothing is delivered after it (every sim drops such a peer).
 */
export function lineReader(maxLineBytes: number, onLine: (line: string) => void, onOversized: () => void): (chunk: Buffer) => void {
  const framer = new LineFramer({ maxLineBytes });
  let stopped = false;
  return (chunk) => {
    if (stopped) return;
    for (const ev of framer.feed(chunk)) {
      if (ev.type === 'oversized') {
        stopped = true;
        onOversized();
        return;
      }
      onLine(ev.line);
    }
  };
}

/** Adds one to a counter in a record of counters. */
export function countUp<K extends string | number>(rec: Record<K, number>, key: K): void {
  rec[key] = (rec[key] ?? 0) + 1;
}

/** Listens (port 0 unless `options` names one) and resolves with the bound port; later server errors are ignored. */
export async function listenOn(server: net.Server, options: net.ListenOptions): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', () => {});
  return (server.address() as net.AddressInfo).port;
}

// ------------------------------------------------------------------ firmware API sims (ESP-Miner, LuxOS)

/** What every firmware API sim takes: a clock, and a listener of state changes. */
export interface FirmwareSimOptions<S> {
  readonly now?: () => number;
  readonly onChange?: (state: S) => void;
}

/** What every firmware API sim offers: S its state, F the failure switches tests flip at any time. */
export interface FirmwareSim<S, F> {
  readonly host: string;
  readonly port: number;
  readonly state: S;
  readonly failures: F;
  /** Calls fn with the new state after every change; returns an unsubscribe function. */
  onChange(fn: (state: S) => void): () => void;
  close(): Promise<void>;
}

/** A failure switch: `true` matches every route or command, a list the ones it names. */
export function matches<T>(list: boolean | readonly T[], name: T): boolean {
  return list === true || (Array.isArray(list) && list.includes(name));
}

/** The listeners of a sim's state changes: `notify` calls each, `add` returns an unsubscribe function. */
export interface StateListeners<S> {
  notify(state: S): void;
  add(fn: (state: S) => void): () => void;
}

export function stateListeners<S>(first: ((state: S) => void) | undefined): StateListeners<S> {
  const listeners = new Set<(state: S) => void>();
  if (first) listeners.add(first);
  return {
    notify(state) {
      for (const fn of listeners) fn(state);
    },
    add(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}

/**
 * Serves a firmware API sim on 127.0.0.1:0 and gives the outline every one offers, for the sim to add its
 * own members to. It keeps the open sockets, so `close` can destroy them before it stops listening.
 */
export async function serveFirmwareSim<S, F>(
  server: net.Server,
  state: () => S,
  failures: F,
  listeners: StateListeners<S>,
): Promise<FirmwareSim<S, F>> {
  const sockets = new Set<net.Socket>();
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  const port = await listenOn(server, { host: '127.0.0.1', port: 0 });
  return {
    host: '127.0.0.1',
    port,
    get state() {
      return state();
    },
    failures,
    onChange: listeners.add,
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
