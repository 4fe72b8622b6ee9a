/**
 * A Clock (src/util/clock.ts) that moves only when the test says so:
 * advance(ms) runs the timers that fall due, each at its own time, in order.
 */

import type { Clock, ClockTimer } from '../../src/util/clock.js';
import { Signal } from '../throttle/wait.js';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly fn: () => void;
}

export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  readonly #timers = new Map<number, Timer>();
  /** Fires whenever a timer is set or cleared. */
  readonly changed = new Signal();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): ClockTimer {
    const id = ++this.#seq;
    this.#timers.set(id, { id, at: this.#now + Math.max(0, ms), fn });
    this.changed.fire();
    return id;
  }

  clearTimeout(timer: ClockTimer): void {
    this.#timers.delete(timer as number);
    this.changed.fire();
  }

  /** Timers not yet run, soonest first: how far ahead each is. */
  pending(): number[] {
    return [...this.#timers.values()].map((t) => t.at - this.#now).sort((a, b) => a - b);
  }

  /** Moves time forward by ms, running every timer that falls due on the way (a bounded number of them). */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (let runs = 0; runs < 10_000; runs++) {
      const next = [...this.#timers.values()].filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (next === undefined) break;
      this.#timers.delete(next.id);
      this.#now = next.at;
      next.fn();
    }
    this.#now = end;
  }
}
