/** A bare TCP client for daemon tests: collects lines, awaits answers and the close, always bounded. */
import net from 'node:net';
import type { Tap } from './helpers.js';

export interface RawClient {
  readonly socket: net.Socket;
  readonly lines: Record<string, unknown>[];
  /** Resolves when the daemon closed the connection. */
  readonly closed: Promise<void>;
  isClosed(): boolean;
  send(obj: object): void;
  /** Resolves with the first line (already received or future) matching pred; rejects after timeoutMs. */
  waitLine(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export async function rawClient(t: Tap, port: number): Promise<RawClient> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  const lines: Record<string, unknown>[] = [];
  const waiters = new Set<() => void>();
  let buf = '';
  let isClosed = false;
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buf += d;
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      try {
        lines.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        lines.push({ raw: line });
      }
    }
    for (const w of [...waiters]) w();
  });
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      isClosed = true;
      for (const w of [...waiters]) w();
      resolve();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('close', () => reject(new Error('closed before connect')));
  });
  return {
    socket,
    lines,
    closed,
    isClosed: () => isClosed,
    send: (obj) => void socket.write(`${JSON.stringify(obj)}\n`),
    waitLine: (pred, timeoutMs = 5000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find(pred);
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (isClosed) {
            done();
            reject(new Error('connection closed while waiting for a line'));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no matching line within ${timeoutMs} ms`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}

/** Resolves when `p` settles or rejects after timeoutMs (so a test never hangs on a close that never comes). */
export function within<T>(p: Promise<T>, timeoutMs: number, label: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${label}`)), timeoutMs))),
  ]);
}

/** Resolves once pred() holds, checked every few ms (for daemon state that has no event); rejects after timeoutMs. */
export function until(pred: () => boolean, timeoutMs: number, label: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (pred()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out: ${label}`));
      setTimeout(check, 5);
    };
    check();
  });
}
