/**
 * Staleness of the signals (pure): when the last good reading is too old,
 * the controller enters its configured StaleMode (docs/throttling.md § 3).
 * Stale = no good reading for more than staleAfterMs, counted from start-up
 * until the first one. A failed poll alone does not make the data stale; it
 * only makes it unhealthy.
 */

import type { SignalReading } from './types.js';

export interface SignalHealth {
  /** The last poll succeeded and its data is not stale. */
  readonly healthy: boolean;
  readonly lastOkAt: number | null;
  /** The last poll's error, or null when it succeeded (or none ran yet). */
  readonly error: string | null;
}

export class StaleTracker {
  #lastOk: number | null = null;
  #error: string | null = null;

  constructor(
    readonly staleAfterMs: number,
    private readonly startedAt: number,
  ) {}

  record(reading: SignalReading): void {
    if (reading.ok) {
      this.#lastOk = reading.at;
      this.#error = null;
    } else {
      this.#error = reading.error;
    }
  }

  /** When the last good reading was taken (its `at`), or null before the first one. */
  get lastOkAt(): number | null {
    return this.#lastOk;
  }

  /** The last poll's error, or null when it succeeded / none ran yet. */
  get lastError(): string | null {
    return this.#error;
  }

  ageMs(now: number): number {
    return now - (this.#lastOk ?? this.startedAt);
  }

  isStale(now: number): boolean {
    return this.ageMs(now) > this.staleAfterMs;
  }

  /** For ThrottleStatus.redis. */
  health(now: number): SignalHealth {
    return { healthy: this.#error === null && this.#lastOk !== null && !this.isStale(now), lastOkAt: this.#lastOk, error: this.#error };
  }
}
