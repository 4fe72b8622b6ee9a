/**
 * The clock hashgate's timed logic runs on: the throttle loop (its stamps, plans
 * and next tick), the pool link (request timeouts, silence detection, backoff,
 * failover) and the daemon (authorize deadline, pool-loss probes, stop
 * deadline). Injected (DESIGN.md: clocks and timers are injected), so tests
 * drive them with a fake clock (test/helpers/fake-clock.ts) instead of sleeping;
 * systemClock is the real one.
 */

/** An opaque timer handle, only ever handed back to the clock that made it. */
export type ClockTimer = unknown;

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls fn once, about ms from now. */
  setTimeout(fn: () => void, ms: number): ClockTimer;
  clearTimeout(timer: ClockTimer): void;
  /**
   * Milliseconds from an arbitrary origin that never goes back, with sub-millisecond resolution: for
   * measuring durations (a pool's round-trip time). Defaults to now() where a clock has none.
   */
  monotonic?(): number;
}

/** clock.monotonic() where it has one, else clock.now(). */
export function monotonicNow(clock: Clock): number {
  return clock.monotonic !== undefined ? clock.monotonic() : clock.now();
}

/** Date.now and the global timers. */
export const systemClock: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): ClockTimer => setTimeout(fn, ms),
  clearTimeout: (timer: ClockTimer) => clearTimeout(timer as NodeJS.Timeout | undefined),
  monotonic: () => performance.now(),
});

/** systemClock with another time source (the controller's older `now` option). */
export function clockWithNow(now: () => number): Clock {
  return Object.freeze({ ...systemClock, now });
}
