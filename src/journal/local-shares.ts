/**
 * Local-only shares in the journal (format v2, docs/journal.md): shares
 * valid at the miner's local (telemetry) difficulty but below the pool's,
 * which hashgate answers itself and never forwards. There can be many
 * (10,000 rigs × 20 a minute ≈ 3,300/s), so by default the writer keeps one
 * running aggregate per session and worker (count, sum / min / max of the
 * local difficulty, first and last ts) and writes it as a `loc` record when
 * the period ends; `every` writes each share as an `lsh` record instead.
 *
 * Periods are aligned to multiples of `flushMs` since the epoch, so the
 * aggregates of every rig (and of several proxies) cover the same wall-clock
 * windows. Memory: one aggregate per live session and worker, dropped when
 * written.
 */

import type { Clock, ClockTimer } from '../util/clock.js';
import type { LocalAggregate } from './build-records.js';
import type { LocalShareMode } from './format.js';

export interface LocalShareSettings {
  /** `aggregate` (default): `loc` records per session and worker; `every`: an `lsh` record per share; `off`: none. */
  readonly mode: LocalShareMode;
  /** Length of an aggregation period, ms. */
  readonly flushMs: number;
}

/**
 * The writer's defaults (the daemon passes `journal.localShares` from its config, whose defaults are
 * the same). 10 s: the window in which the issue asks a curtail to be proven, so the journal shows the
 * period in which a rig's share stream stopped; a `loc` record is ~150–190 B, so at 10,000 rigs (20
 * local-only shares a minute each) this is ~1,000 records/s, against ~3,300 `lsh` records/s of ~270 B
 * each with `every`.
 */
export const LOCAL_SHARE_DEFAULTS: LocalShareSettings = Object.freeze({ mode: 'aggregate', flushMs: 10_000 });

/** The settings in force: the defaults overlaid with what was given; flushMs at least 1 ms. */
export function localShareSettings(given: Partial<LocalShareSettings> | undefined): LocalShareSettings {
  const mode = given?.mode ?? LOCAL_SHARE_DEFAULTS.mode;
  const flushMs = given?.flushMs ?? LOCAL_SHARE_DEFAULTS.flushMs;
  return Object.freeze({ mode, flushMs: Math.max(1, Math.floor(flushMs)) });
}

/** The timers the writer's period timer runs on (a Clock's; tests pass a fake one). */
export type LocalShareTimers = Pick<Clock, 'setTimeout' | 'clearTimeout'>;

/** Node's timers, unref'd: a journal waiting for its next period never keeps the process alive. */
export const NODE_TIMERS: LocalShareTimers = Object.freeze({
  setTimeout: (fn: () => void, ms: number): ClockTimer => setTimeout(fn, ms).unref(),
  clearTimeout: (timer: ClockTimer) => clearTimeout(timer as NodeJS.Timeout | undefined),
});

/** The end of the period `now` falls in: the next multiple of flushMs after it. */
export function periodEnd(now: number, flushMs: number): number {
  return (Math.floor(now / flushMs) + 1) * flushMs;
}

/** Counts one local-only share into its worker's aggregate (created on first use). */
export function addLocalShare(aggs: Map<string, LocalAggregate>, worker: string, ts: number, difficulty: number): void {
  const a = aggs.get(worker);
  if (a === undefined) {
    aggs.set(worker, { w: worker, n: 1, d: difficulty, lo: difficulty, hi: difficulty, from: ts, to: ts });
    return;
  }
  a.n++;
  a.d += difficulty;
  if (difficulty < a.lo) a.lo = difficulty;
  if (difficulty > a.hi) a.hi = difficulty;
  if (ts < a.from) a.from = ts;
  if (ts > a.to) a.to = ts;
}
