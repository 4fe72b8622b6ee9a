/**
 * What the demo watches while it runs, all of it from hashgate's side:
 * - the throttle loop's events (a StatusSink: mode, curtail, resume,
 *   set-power, alert) and its status after every tick;
 * - every rig's accepted-share rate, sampled from the daemon's live sessions
 *   (what hashgate validated, not what the simulated miners claim).
 * And the pure analysis the summary needs: reaction times and the check that
 * curtailed rigs really stopped submitting shares.
 */

import type { StatusSink } from '../throttle/controller.js';
import type { ThrottleEvent, ThrottleStatus } from '../throttle/types.js';
import type { DepthChange } from './signals.js';

/** Events kept for the summary (a 60 s demo has a few hundred). */
const MAX_EVENTS = 50_000;

export type CommandEvent = Extract<ThrottleEvent, { type: 'curtail' | 'resume' | 'set-power' }>;

export function isCommandEvent(e: ThrottleEvent): e is CommandEvent {
  return e.type === 'curtail' || e.type === 'resume' || e.type === 'set-power';
}

/** Collects the throttle loop's events and statuses; optionally forwards them to another sink (Redis). */
export class DemoObserver implements StatusSink {
  readonly events: ThrottleEvent[] = [];
  status: ThrottleStatus | null = null;
  peakFreedWatts = 0;
  peakCurtailed = 0;
  readonly #forward: StatusSink | null;
  readonly #listeners = new Set<(e: ThrottleEvent) => void>();

  constructor(forward: StatusSink | null = null) {
    this.#forward = forward;
  }

  onEvent(fn: (e: ThrottleEvent) => void): void {
    this.#listeners.add(fn);
  }

  /** The daemon's onThrottleTick. */
  tick(status: ThrottleStatus): void {
    this.status = status;
    this.peakFreedWatts = Math.max(this.peakFreedWatts, status.freedWatts);
    this.peakCurtailed = Math.max(this.peakCurtailed, status.curtailedRigs + status.reducedRigs);
  }

  publishStatus(status: ThrottleStatus): void | Promise<void> {
    if (this.#forward !== null) return Promise.resolve(this.#forward.publishStatus(status)).then(() => undefined);
  }

  publishEvent(event: ThrottleEvent): void | Promise<void> {
    if (event.type !== 'budget') {
      this.events.push(event);
      if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
      for (const fn of this.#listeners) fn(event);
    }
    if (this.#forward !== null) return Promise.resolve(this.#forward.publishEvent(event)).then(() => undefined);
  }

  close(): void | Promise<void> {
    if (this.#forward !== null) return Promise.resolve(this.#forward.close()).then(() => undefined);
  }
}

/** The part of a live session the share meter reads (src/session MinerSession). */
export interface MeteredSession {
  readonly id: string;
  readonly workers: ReadonlyMap<string, { readonly accepted: number }>;
}

/** Accepted shares per rig over a sliding window, from the daemon's sessions. */
export class ShareMeter {
  readonly #windowMs: number;
  /** Last accepted count seen per session and worker. */
  #seen = new Map<string, number>();
  readonly #totals = new Map<string, number>();
  /** Per rig: (time, cumulative accepted) samples inside the window. */
  readonly #samples = new Map<string, { at: number; total: number }[]>();

  constructor(windowMs: number) {
    this.#windowMs = windowMs;
  }

  sample(sessions: Iterable<MeteredSession>, now: number): void {
    const seen = new Map<string, number>();
    for (const s of sessions) {
      for (const [worker, st] of s.workers) {
        const key = `${s.id}\u0000${worker}`;
        const before = this.#seen.get(key) ?? 0;
        seen.set(key, st.accepted);
        if (st.accepted > before) this.#totals.set(worker, (this.#totals.get(worker) ?? 0) + st.accepted - before);
        else if (!this.#totals.has(worker)) this.#totals.set(worker, 0);
      }
    }
    this.#seen = seen; // sessions that closed are forgotten (their shares stay in the totals)
    for (const [rig, total] of this.#totals) {
      let list = this.#samples.get(rig);
      if (list === undefined) this.#samples.set(rig, (list = []));
      list.push({ at: now, total });
      while (list.length > 2 && list[1]!.at <= now - this.#windowMs) list.shift();
    }
  }

  /** Accepted shares per minute over the window (0 when less than two samples). */
  perMinute(rig: string): number {
    const list = this.#samples.get(rig);
    if (list === undefined || list.length < 2) return 0;
    const first = list[0]!;
    const last = list[list.length - 1]!;
    const span = last.at - first.at;
    return span <= 0 ? 0 : ((last.total - first.total) * 60_000) / span;
  }

  total(rig: string): number {
    return this.#totals.get(rig) ?? 0;
  }
}

// ---------------------------------------------------------------------------
// Analysis (pure)

/** The value at quantile q (0..1) of a list, nearest-rank; null for an empty list. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1]!;
}

export interface Reactions {
  /** One per depth change that was followed by a driver command before the next change. */
  readonly samplesMs: readonly number[];
  readonly p50Ms: number | null;
  readonly maxMs: number | null;
}

/**
 * Reaction time of each depth change: from the moment the new depth was
 * readable to the first driver command (confirmed by the rig) after it and
 * before the next change. Changes that caused no command are not counted.
 */
export function reactionTimes(changes: readonly DepthChange[], commands: readonly CommandEvent[]): Reactions {
  const sorted = [...commands].sort((a, b) => a.at - b.at);
  const samples: number[] = [];
  changes.forEach((c, i) => {
    const next = changes[i + 1]?.at ?? Number.POSITIVE_INFINITY;
    const first = sorted.find((e) => e.at >= c.at && e.at < next);
    if (first !== undefined) samples.push(first.at - c.at);
  });
  return { samplesMs: samples, p50Ms: quantile(samples, 0.5), maxMs: samples.length === 0 ? null : Math.max(...samples) };
}

export interface RigVerification {
  readonly rig: string;
  /** Curtailed periods long enough to judge. */
  readonly periods: number;
  /** Shares hashgate received from the rig during those periods, after the grace time. */
  readonly sharesWhileCurtailed: number;
  /** Curtailed periods too short to judge (resumed before grace + observe time). */
  readonly tooShort: number;
}

export interface Verification {
  /** Rigs curtailed at least once. */
  readonly curtailedRigs: number;
  /** Of those, rigs whose every judged curtailed period had no share at all. */
  readonly stopped: number;
  /** Rigs that kept submitting while curtailed (the cut did not happen). */
  readonly stillHashing: readonly string[];
  /** Rigs curtailed only too briefly to judge. */
  readonly unjudged: number;
  /** Resumes followed by a share from the rig (judged when the run went on long enough after them). */
  readonly resumes: number;
  readonly resumedWithShares: number;
  readonly rigs: readonly RigVerification[];
  /** Every judged curtailed rig stopped, at least one was judged, and none kept hashing. */
  readonly ok: boolean;
}

/**
 * Did each curtailed rig's share rate fall to zero? For every period from a
 * curtail (confirmed by the driver) to the next resume (or the end of the
 * run), count the rig's shares (every share hashgate received, whatever its
 * verdict) later than graceMs after the curtail. A period shorter than
 * graceMs + observeMs is not judged.
 */
export function verifyCurtails(input: {
  readonly commands: readonly CommandEvent[];
  /** Share submit times per rig, ascending. */
  readonly shares: ReadonlyMap<string, readonly number[]>;
  readonly endAt: number;
  readonly graceMs: number;
  readonly observeMs: number;
  /** A resume counts as "came back" when the rig's next share arrives within this long. */
  readonly resumeWithinMs: number;
}): Verification {
  const byRig = new Map<string, CommandEvent[]>();
  for (const e of [...input.commands].sort((a, b) => a.at - b.at)) {
    let list = byRig.get(e.rig);
    if (list === undefined) byRig.set(e.rig, (list = []));
    list.push(e);
  }
  const rigs: RigVerification[] = [];
  let resumes = 0;
  let resumedWithShares = 0;
  for (const [rig, events] of [...byRig].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const times = input.shares.get(rig) ?? [];
    const countIn = (from: number, to: number) => times.filter((t) => t > from && t < to).length;
    let periods = 0;
    let tooShort = 0;
    let shares = 0;
    let curtailedAt: number | null = null;
    let any = false;
    const close = (end: number) => {
      if (curtailedAt === null) return;
      const from = curtailedAt + input.graceMs;
      if (end - from < input.observeMs) tooShort++;
      else {
        periods++;
        shares += countIn(from, end);
      }
      curtailedAt = null;
    };
    for (const e of events) {
      if (e.type === 'curtail') {
        any = true;
        curtailedAt ??= e.at;
      } else if (e.type === 'set-power') {
        close(e.at); // a curtailed rig given a power target hashes again
      } else {
        close(e.at);
        if (input.endAt - e.at >= input.resumeWithinMs) {
          resumes++;
          if (countIn(e.at, e.at + input.resumeWithinMs) > 0) resumedWithShares++;
        }
      }
    }
    close(input.endAt);
    if (any) rigs.push({ rig, periods, sharesWhileCurtailed: shares, tooShort });
  }
  const judged = rigs.filter((r) => r.periods > 0);
  const stillHashing = judged.filter((r) => r.sharesWhileCurtailed > 0).map((r) => r.rig);
  return {
    curtailedRigs: rigs.length,
    stopped: judged.length - stillHashing.length,
    stillHashing,
    unjudged: rigs.length - judged.length,
    resumes,
    resumedWithShares,
    rigs,
    ok: judged.length > 0 && stillHashing.length === 0,
  };
}
