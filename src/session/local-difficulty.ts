/**
 * One miner's telemetry difficulty (issue 12 §1): when `shares.localDifficulty.enabled`, hashgate picks the
 * difficulty the miner works at, under the pool's, so the rig sends enough shares for hashgate to measure its
 * hash rate (src/work/hashrate.ts) and prove power decisions from them. The rule is the vardiff controller's
 * (src/work/vardiff.ts); this class holds one miner's state and says when the local difficulty changes. No I/O:
 * the session sends mining.set_difficulty (MinerSession.setLocalDifficulty) and passes the time in.
 *
 * It starts when the pool's first difficulty is known, at the miner's mining.suggest_difficulty if it sent one
 * (still forwarded to the pool as before), else the configured start; never above the pool's.
 *
 * A change takes effect on the miner's next job at the latest (cgminer, bmminer, bfgminer and ESP-Miner all apply
 * mining.set_difficulty from the next notify; notes/stratum-difficulty.md), so after a retarget the controller
 * waits for that job: its measuring period starts when the job goes out, and the session feeds it only shares of
 * jobs sent at the difficulty in force. Without this wait a rig whose pool sends jobs every 30 s would be stepped
 * down again and again before its first share at the new difficulty could arrive.
 */

import {
  applyRetarget,
  createVardiffState,
  initialDifficulty,
  recordVardiffShare,
  updateVardiff,
  type VardiffSettings,
  type VardiffState,
} from '../work/vardiff.js';

export class LocalDifficulty {
  readonly #settings: VardiffSettings;
  #state: VardiffState | null = null;
  #suggested: number | undefined;
  /** A new difficulty was set and no job has gone out at it yet. */
  #pending = false;
  /** Retargets so far (status, tests). */
  retargets = 0;

  constructor(settings: VardiffSettings) {
    this.#settings = settings;
  }

  /** The local difficulty now, or null before the pool's first difficulty. */
  get difficulty(): number | null {
    return this.#state?.difficulty ?? null;
  }

  /** mining.suggest_difficulty: the starting point, if no share has been counted yet. Returns a new local difficulty or null. */
  suggest(difficulty: number, poolDifficulty: number | null, now: number): number | null {
    this.#suggested = difficulty;
    if (this.#state === null || this.#state.shares > 0 || poolDifficulty === null) return null;
    return this.#start(poolDifficulty, now);
  }

  /** The pool's mining.set_difficulty. Returns the local difficulty to set now, or null for no change. */
  poolDifficulty(poolDifficulty: number, now: number): number | null {
    if (this.#state === null) return this.#start(poolDifficulty, now);
    if (poolDifficulty < this.#state.difficulty) {
      // local ≤ pool at once, even while waiting for a change to take effect.
      applyRetarget(this.#state, poolDifficulty, now);
      this.#pending = true;
      this.retargets++;
      return poolDifficulty;
    }
    return this.#update(poolDifficulty, now);
  }

  /** A share hashgate found valid at `difficulty` (its job's miner difficulty). Returns a new local difficulty or null. */
  share(difficulty: number, poolDifficulty: number, now: number): number | null {
    if (this.#state === null) return null;
    recordVardiffShare(this.#state, difficulty);
    return this.#update(poolDifficulty, now);
  }

  /**
   * A job is about to go out: the session calls it before every notify. The first job after a change starts the
   * measuring period at the new difficulty; otherwise a chance to retarget without a share (a silent rig steps down).
   */
  tick(poolDifficulty: number, now: number): number | null {
    if (this.#state === null) return null;
    if (this.#pending) {
      this.#pending = false;
      applyRetarget(this.#state, this.#state.difficulty, now);
      return null;
    }
    return this.#update(poolDifficulty, now);
  }

  #start(poolDifficulty: number, now: number): number {
    const d = initialDifficulty(this.#settings, { suggested: this.#suggested, poolDifficulty });
    this.#state = createVardiffState(d, now);
    this.#pending = true;
    return d;
  }

  #update(poolDifficulty: number, now: number): number | null {
    if (this.#pending) return null;
    const decision = updateVardiff(this.#settings, this.#state!, now, poolDifficulty);
    if (decision.action !== 'retarget') return null;
    this.retargets++;
    this.#pending = true;
    return decision.difficulty;
  }
}
