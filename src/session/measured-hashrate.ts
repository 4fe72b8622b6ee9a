/**
 * One miner connection's measured hash rate (issue 12 §2): its valid shares as evidence, through the work core's
 * estimator (src/work/hashrate.ts: Σd · 2^32 / T over a 60 s window, with a Poisson interval). No I/O; the session
 * passes the time in.
 *
 * A share counts only if its job went out in the current measuring period, at the difficulty in force: firmware
 * applies a mining.set_difficulty at once or from the next job (notes/stratum-difficulty.md), so between a change
 * and the next job hashgate cannot tell which difficulty a share was mined at. That gap is left out: the estimate
 * restarts when the difficulty changes and again when the first job at the new one goes out, and a share of a job
 * sent before that (mined before the restart, or at another difficulty) is not counted. Created at the first job,
 * so an idle connection holds nothing.
 */

import { type HashrateEstimate, HashrateEstimator } from '../work/hashrate.js';

/** Samples kept per connection (the estimator merges older ones into grid cells past this): about 4 KiB. */
const MAX_SAMPLES = 64;
/** Job ids remembered per period (pools keep a handful of live jobs; the session's job store keeps fewer). */
const MAX_JOBS = 64;

export class MeasuredHashrate {
  #estimator: HashrateEstimator | null = null;
  /** The difficulty shares count at now; null in the gap after a change. */
  #countingAt: number | null = null;
  /** The jobs sent in this period, at #countingAt. */
  readonly #jobs = new Set<string>();

  /** The miner's difficulty changed: nothing counts until a job at the new one goes out. */
  difficultyChanged(now: number): void {
    this.#countingAt = null;
    this.#jobs.clear();
    this.#estimator?.reset(now);
  }

  /** A job went out at `difficulty`: the first one after a change starts a clean estimate. */
  jobSent(jobId: string, difficulty: number, now: number): void {
    if (this.#countingAt !== difficulty) {
      if (this.#estimator === null) this.#estimator = new HashrateEstimator(now, { maxSamples: MAX_SAMPLES });
      else this.#estimator.reset(now);
      this.#countingAt = difficulty;
      this.#jobs.clear();
    }
    this.#jobs.delete(jobId);
    this.#jobs.add(jobId);
    if (this.#jobs.size > MAX_JOBS) this.#jobs.delete(this.#jobs.values().next().value as string);
  }

  /** A valid share of job `jobId`: counted when the job went out in this period. */
  share(jobId: string, now: number): void {
    if (this.#countingAt !== null && this.#jobs.has(jobId)) this.#estimator?.record(now, this.#countingAt);
  }

  /** The estimate now, or null before the first job. */
  estimate(now: number): HashrateEstimate | null {
    if (this.#estimator === null) return null;
    return this.#estimator.estimate(now, this.#countingAt === null ? {} : { difficulty: this.#countingAt });
  }
}
