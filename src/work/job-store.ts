/**
 * The jobs one upstream has sent, with the shares seen for each.
 *
 * Bounded by construction: at most `maxJobs` live jobs (oldest evicted),
 * at most `maxStaleIds` remembered stale ids, and at most `maxSharesPerJob`
 * duplicate keys per job (oldest forgotten first). A job's duplicate set
 * goes with the job, so memory does not grow with uptime.
 */

import type { PreparedJob } from './job.js';

export interface JobStoreLimits {
  /** Live jobs kept; older ones are forgotten (their shares become unknown-job). */
  readonly maxJobs: number;
  /** Ids of jobs retired by clean_jobs remembered to answer stale-job rather than unknown-job. */
  readonly maxStaleIds: number;
  /** Duplicate keys kept per job. */
  readonly maxSharesPerJob: number;
}

export const DEFAULT_JOB_STORE_LIMITS: JobStoreLimits = Object.freeze({
  maxJobs: 16,
  maxStaleIds: 256,
  maxSharesPerJob: 1_000_000,
});

export interface JobEntry {
  readonly job: PreparedJob;
  /** Keys of shares already checked against this job (see shareKey in validate-share). */
  readonly seen: Set<string>;
}

export type JobLookup = { status: 'live'; entry: JobEntry } | { status: 'stale' } | { status: 'unknown' };

export class JobStore {
  readonly limits: JobStoreLimits;
  readonly #live = new Map<string, JobEntry>();
  readonly #stale = new Set<string>();

  constructor(limits: Partial<JobStoreLimits> = {}) {
    this.limits = Object.freeze({ ...DEFAULT_JOB_STORE_LIMITS, ...limits });
    for (const [k, v] of Object.entries(this.limits)) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`JobStore limit ${k} must be an integer >= 1, got ${v}`);
    }
  }

  /**
   * Adds a job. With `cleanJobs` (mining.notify's clean_jobs), every job
   * held so far becomes stale. Re-sending a job id with identical content
   * keeps its duplicate set; different content replaces it.
   */
  add(job: PreparedJob, cleanJobs: boolean): void {
    const existing = this.#live.get(job.jobId);
    if (cleanJobs) {
      for (const id of this.#live.keys()) if (id !== job.jobId) this.#markStale(id);
      for (const id of [...this.#live.keys()]) if (id !== job.jobId) this.#live.delete(id);
    }
    this.#stale.delete(job.jobId);
    if (existing !== undefined && sameWork(existing.job, job)) {
      // Move to the newest position without losing the duplicate set.
      this.#live.delete(job.jobId);
      this.#live.set(job.jobId, existing);
      return;
    }
    this.#live.delete(job.jobId);
    this.#live.set(job.jobId, { job, seen: new Set() });
    while (this.#live.size > this.limits.maxJobs) {
      const oldest = this.#live.keys().next().value as string;
      this.#live.delete(oldest);
    }
  }

  lookup(jobId: string): JobLookup {
    const entry = this.#live.get(jobId);
    if (entry !== undefined) return { status: 'live', entry };
    return this.#stale.has(jobId) ? { status: 'stale' } : { status: 'unknown' };
  }

  /** Records a share key for a job; false when it was already there (a duplicate). */
  remember(entry: JobEntry, key: string): boolean {
    if (entry.seen.has(key)) return false;
    entry.seen.add(key);
    if (entry.seen.size > this.limits.maxSharesPerJob) {
      const oldest = entry.seen.values().next().value as string;
      entry.seen.delete(oldest);
    }
    return true;
  }

  /** The newest live job, if any. */
  latest(): PreparedJob | undefined {
    let last: JobEntry | undefined;
    for (const e of this.#live.values()) last = e;
    return last?.job;
  }

  get size(): { live: number; stale: number; shares: number } {
    let shares = 0;
    for (const e of this.#live.values()) shares += e.seen.size;
    return { live: this.#live.size, stale: this.#stale.size, shares };
  }

  #markStale(id: string): void {
    this.#stale.delete(id);
    this.#stale.add(id);
    while (this.#stale.size > this.limits.maxStaleIds) {
      const oldest = this.#stale.values().next().value as string;
      this.#stale.delete(oldest);
    }
  }
}

function sameWork(a: PreparedJob, b: PreparedJob): boolean {
  const x = a.wire;
  const y = b.wire;
  return (
    x.prevhash === y.prevhash &&
    x.coinb1 === y.coinb1 &&
    x.coinb2 === y.coinb2 &&
    x.version === y.version &&
    x.nbits === y.nbits &&
    x.ntime === y.ntime &&
    x.merkleBranch.length === y.merkleBranch.length &&
    x.merkleBranch.every((h, i) => h === y.merkleBranch[i])
  );
}
