/**
 * The throttle loop's clock: the time it stamps and plans with, and the
 * timer that schedules its next tick. Injected (DESIGN.md: clocks and timers
 * are injected), so the controller can be driven by a fake clock in tests
 * without sleeping; systemClock is the real one.
 */

/** An opaque timer handle, only ever handed back to the clock that made it. */
export type ClockTimer = unknown;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls fn once, about ms from now. */
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
}

/** Date.now and the global timers. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): ClockTimer => setTimeout(fn, ms),
  clearTimeout: (timer: ClockTimer) => clearTimeout(timer as NodeJS.Timeout | undefined),
});

/** systemClock with another time source (the controller's older `now` option). */
export function clockWithNow(now: () => number): Clock {
  return Object.freeze({ ...systemClock, now });
}
