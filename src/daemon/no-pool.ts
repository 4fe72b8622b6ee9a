/**
 * The daemon's no-pool state: entered when a session's pool link found no
 * pool for failover.poolLossGraceMs, left when a probe round finds a pool
 * that accepts connections. While in it the daemon refuses new miners (so
 * their own failover takes over); the probes run on the injected clock and
 * transport, one round every min(5 s, max(backoffBaseMs, 50 ms)).
 */

import type { PoolEndpoint, PoolTransport } from '../upstream/transport.js';
import type { Clock, ClockTimer } from '../util/clock.js';
import type { Logger } from '../util/log.js';

export interface NoPoolOptions {
  readonly clock: Clock;
  readonly transport: PoolTransport;
  readonly log: Logger;
  /** The pools to probe (read at each round: a reload may change them). */
  readonly pools: () => readonly PoolEndpoint[];
  /** failover.backoffBaseMs (read at each round). */
  readonly backoffBaseMs: () => number;
  /** A pool accepts connections again. */
  readonly back: () => void;
}

/** One stay in the state: when it started, the round timer and the cancel functions of probes under way. */
interface Episode {
  readonly since: number;
  timer: ClockTimer | undefined;
  readonly probes: Set<() => void>;
}

export class NoPoolState {
  readonly #o: NoPoolOptions;
  #state: Episode | null = null;
  #stopped = false;

  constructor(options: NoPoolOptions) {
    this.#o = options;
  }

  get active(): boolean {
    return this.#state !== null;
  }

  /** Enters the state and starts probing; false when already in it (or stopped). */
  enter(): boolean {
    if (this.#state !== null || this.#stopped) return false;
    this.#state = { since: this.#o.clock.now(), timer: undefined, probes: new Set() };
    this.#arm();
    return true;
  }

  /** The daemon is stopping: no more probes. */
  stop(): void {
    this.#stopped = true;
    this.#clear();
  }

  #arm(): void {
    const st = this.#state;
    if (st === null || this.#stopped) return;
    const every = Math.min(5000, Math.max(this.#o.backoffBaseMs(), 50));
    st.timer = this.#o.clock.setTimeout(() => this.#round(st), every);
  }

  /** One probe of every pool; a round with a pool that answered ends the state, else the next round is armed. */
  #round(st: Episode): void {
    const pools = this.#o.pools();
    let pending = pools.length;
    let found = false;
    for (const pool of pools) {
      const cancel = this.#o.transport.probe(pool, (reachable) => {
        st.probes.delete(cancel);
        found ||= reachable;
        if (--pending > 0 || this.#state !== st || this.#stopped) return;
        if (found) this.#back();
        else this.#arm();
      });
      st.probes.add(cancel);
    }
  }

  #back(): void {
    const st = this.#state;
    if (st === null) return;
    this.#clear();
    this.#o.log.warn({ downMs: this.#o.clock.now() - st.since }, 'a pool is reachable again; accepting miners');
    this.#o.back();
  }

  #clear(): void {
    const st = this.#state;
    if (st === null) return;
    this.#o.clock.clearTimeout(st.timer);
    for (const cancel of st.probes) cancel();
    this.#state = null;
  }
}
