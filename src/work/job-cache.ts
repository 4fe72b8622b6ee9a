/**
 * Shares prepared jobs between sessions.
 *
 * In passthrough mode every miner has its own pool connection, and a pool
 * sends all of them the same mining.notify content (the per-connection
 * extranonce1 is not part of the job). Preparing each copy separately would
 * cost ~1 KiB per job per session (decoded coinbase parts, branch words,
 * midstate); interning by content keeps one copy per distinct job. Prepared
 * jobs are immutable, so sharing them is safe; duplicate sets stay per
 * session in each JobStore.
 */

import type { StratumJob } from '../protocol/work-types.js';
import { type PrepareJobResult, prepareJob } from './job.js';

export const DEFAULT_JOB_CACHE_SIZE = 1024;

function contentKey(job: StratumJob): string {
  return [job.jobId, job.prevhash, job.coinb1, job.coinb2, job.merkleBranch.join(','), job.version, job.nbits, job.ntime].join('\n');
}

export class JobCache {
  readonly #max: number;
  readonly #jobs = new Map<string, PrepareJobResult & { ok: true }>();
  hits = 0;
  misses = 0;

  constructor(max = DEFAULT_JOB_CACHE_SIZE) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`JobCache size must be an integer >= 1, got ${max}`);
    this.#max = max;
  }

  /** prepareJob, returning the already prepared job when the same content was seen recently. */
  prepare(job: StratumJob): PrepareJobResult {
    if (!Array.isArray(job?.merkleBranch)) return prepareJob(job);
    const key = contentKey(job);
    const hit = this.#jobs.get(key);
    if (hit !== undefined) {
      this.hits++;
      // Refresh its place in the LRU order.
      this.#jobs.delete(key);
      this.#jobs.set(key, hit);
      return hit;
    }
    this.misses++;
    const r = prepareJob(job);
    if (r.ok) {
      this.#jobs.set(key, r);
      if (this.#jobs.size > this.#max) this.#jobs.delete(this.#jobs.keys().next().value as string);
    }
    return r;
  }

  get size(): number {
    return this.#jobs.size;
  }
}
