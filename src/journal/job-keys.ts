/**
 * The writer's job keys: a job's content is written once per file (a `job`
 * record keyed by a file-local integer `jk`), and every `ntf` names it by
 * that key (docs/journal.md). Content is deduplicated through a bounded LRU
 * map in file order, which the audit's job cache mirrors: a job that fell
 * out of the map is written again under a new key.
 */

import type { StratumJob } from '../protocol/work-types.js';

/** A job as the writer tracks it (one per distinct content; sessions' mirrors share it). */
export interface WJob {
  readonly key: string;
  readonly job: StratumJob;
  jk: number;
  /** File generation in which `jk` was written; -1 when not written. */
  gen: number;
  inMap: boolean;
}

function contentKey(j: StratumJob): string {
  return `${j.jobId}\u0000${j.prevhash}\u0000${j.coinb1}\u0000${j.coinb2}\u0000${j.merkleBranch.join(',')}\u0000${j.version}\u0000${j.nbits}\u0000${j.ntime}`;
}

export class JobKeys {
  readonly #maxJobs: number;
  #nextJk = 0;
  readonly #dedupe = new Map<string, WJob>();
  readonly #byObject = new WeakMap<StratumJob, WJob>();

  constructor(maxJobs: number) {
    this.#maxJobs = maxJobs;
  }

  /** The tracked job for `job`: the same object, or one with the same content, or a new one. */
  of(job: StratumJob): WJob {
    let w = this.#byObject.get(job);
    if (w === undefined) {
      const key = contentKey(job);
      w = this.#dedupe.get(key) ?? { key, job, jk: -1, gen: -1, inMap: false };
      this.#byObject.set(job, w);
    }
    return w;
  }

  /** A new file: keys start again at 0 and every job will be written again. */
  reset(): void {
    this.#nextJk = 0;
    for (const w of this.#dedupe.values()) w.inMap = false;
    this.#dedupe.clear();
  }

  /**
   * Makes `w` the most recently used job of file generation `gen`. True when its `job` record must
   * be written first (it has no key in this file yet): `w.jk` is then its new key.
   */
  place(w: WJob, gen: number): boolean {
    if (w.gen === gen && w.inMap) {
      // Touch: the dedupe map is an LRU in file order, which the audit's job cache mirrors.
      this.#dedupe.delete(w.key);
      this.#dedupe.set(w.key, w);
      return false;
    }
    const stale = this.#dedupe.get(w.key);
    if (stale !== undefined && stale !== w) stale.inMap = false;
    w.jk = this.#nextJk++;
    w.gen = gen;
    w.inMap = true;
    this.#dedupe.delete(w.key);
    this.#dedupe.set(w.key, w);
    while (this.#dedupe.size > this.#maxJobs) {
      const [k, old] = this.#dedupe.entries().next().value as [string, WJob];
      old.inMap = false;
      this.#dedupe.delete(k);
    }
    return true;
  }
}
