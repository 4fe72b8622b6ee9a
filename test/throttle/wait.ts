/**
 * Waiting on events, not on time: a predicate re-checked whenever one of its
 * sources says something changed (an EventEmitter event, a simulator's
 * onChange, the controller's onTick, a log line). Every wait has a bound that
 * fails the test with its label; the bound is a deadline, never a timing
 * assertion.
 */

import type { EventEmitter } from 'node:events';

/** Calls wake on every change; returns the unsubscribe. (A simulator's onChange is one.) */
export type Subscribe = (wake: () => void) => () => void;

/** Resolves once pred() holds: checked at once and after every notification; rejects with the label after ms. */
export function when(pred: () => boolean, label: string, sources: readonly Subscribe[], ms = 45_000): Promise<void> {
  if (pred()) return Promise.resolve();
  return new Promise<void>((resolve, reject) => {
    const offs: (() => void)[] = [];
    const done = (err: Error | null) => {
      clearTimeout(timer);
      for (const off of offs) off();
      if (err === null) resolve();
      else reject(err);
    };
    const check = () => {
      try {
        if (pred()) done(null);
      } catch (e) {
        done(e instanceof Error ? e : new Error(String(e)));
      }
    };
    const timer = setTimeout(() => done(new Error(`timed out after ${ms} ms waiting for: ${label}`)), ms);
    for (const s of sources) offs.push(s(check));
  });
}

/** A Subscribe over named events of an emitter. */
export function onEvents(em: EventEmitter, ...names: string[]): Subscribe {
  return (wake) => {
    for (const n of names) em.on(n, wake);
    return () => {
      for (const n of names) em.off(n, wake);
    };
  };
}

/** A hand-fired notifier: fire() wakes every waiter subscribed to it. */
export class Signal {
  readonly #wakers = new Set<() => void>();
  readonly subscribe: Subscribe = (wake) => {
    this.#wakers.add(wake);
    return () => this.#wakers.delete(wake);
  };
  fire(): void {
    for (const w of [...this.#wakers]) w();
  }
}
