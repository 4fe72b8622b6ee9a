/**
 * The work one miner has been given, and what its shares are checked
 * against: extranonce1 and extranonce2_size, the version-rolling mask
 * (BIP 310), the difficulties in force and the ones each job was sent at,
 * and the job store. No I/O: the session feeds it the pool's messages and
 * answers and asks it for a submit's context.
 *
 * Two difficulties: the pool's (its mining.set_difficulty) and the miner's,
 * which is the pool's unless a local difficulty is set (telemetry difficulty,
 * issue 12): then the miner works at min(local, pool) and hashgate forwards
 * only the shares that also meet the pool's. Each is remembered per job, and
 * a share is checked against the lower of its job's and the current value of
 * each: cgminer applies a set_difficulty from the next notify, other firmware
 * at once, and either way no share in flight is punished.
 */

import type { NotifyMessage } from '../protocol/pool.js';
import type { ConfigureResult } from '../protocol/pool-results.js';
import type { JobCache } from '../work/job-cache.js';
import { JobStore, type JobStoreLimits } from '../work/job-store.js';

/** Difficulty a miner assumes until the pool says otherwise (Stratum V1 convention). */
const DEFAULT_DIFFICULTY = 1;
/** Jobs whose send-time terms are remembered (the store keeps fewer live jobs than this). */
const MAX_JOB_TERMS = 64;

/** What a job was sent under: the difficulties in force and the extranonce the miner builds its coinbase with. */
interface JobTerms {
  /** The miner's difficulty (min(local, pool)). */
  readonly difficulty: number;
  readonly poolDifficulty: number;
  readonly extranonce1: string | null;
  readonly extranonce2Size: number;
}

/** Why a job could not be used. */
export interface UnusableJob {
  readonly field: string;
  readonly message: string;
}

export class MinerWork {
  readonly store: JobStore;
  readonly #jobs: JobCache;
  /** The terms in force when each job was sent. */
  readonly #jobTerms = new Map<string, JobTerms>();
  #poolDifficulty = DEFAULT_DIFFICULTY;
  #poolDifficultySet = false;
  /** The local (telemetry) difficulty, or null: the miner works at the pool's. */
  #localDifficulty: number | null = null;
  #extranonce1: string | null = null;
  #extranonce2Size = 0;
  /** The mask the miner asked for in mining.configure, or null (no version rolling). */
  #requestedMask: number | null = null;
  #versionMask: number | null = null;
  /** The next job goes out with clean_jobs = true (fresh work after a failover). */
  #forceClean = false;
  /** The last job relayed to the miner (for a resend after a throttle resume). */
  #lastNotify: NotifyMessage | null = null;

  constructor(jobs: JobCache, limits?: Partial<JobStoreLimits>) {
    this.#jobs = jobs;
    this.store = new JobStore(limits);
  }

  /** The difficulty the miner works at: the pool's, or the local one when lower. */
  get difficulty(): number {
    const local = this.#localDifficulty;
    return local !== null && local < this.#poolDifficulty ? local : this.#poolDifficulty;
  }

  get poolDifficulty(): number {
    return this.#poolDifficulty;
  }

  /** The pool's difficulty, or null before it sent one (the miner assumes 1 meanwhile). */
  get knownPoolDifficulty(): number | null {
    return this.#poolDifficultySet ? this.#poolDifficulty : null;
  }

  get localDifficulty(): number | null {
    return this.#localDifficulty;
  }

  get extranonce1(): string | null {
    return this.#extranonce1;
  }

  get extranonce2Size(): number {
    return this.#extranonce2Size;
  }

  get versionMask(): number | null {
    return this.#versionMask;
  }

  /**
   * What a share of `jobId` is checked against: the extranonce the job was sent with (a
   * mining.set_extranonce applies from the next job on, so a share of an earlier job, still on its way
   * when the change came, is built on the old one, and the pool judges it so), and for each difficulty
   * (the miner's, the pool's) the lower of the one when the job was sent and now.
   */
  context(jobId: string): {
    extranonce1: string | null;
    extranonce2Size: number;
    versionMask: number | null;
    difficulty: number;
    jobDifficulty: number;
    poolDifficulty: number;
  } {
    const sent = this.#jobTerms.get(jobId);
    const difficulty = this.difficulty;
    return {
      extranonce1: sent?.extranonce1 ?? this.#extranonce1,
      extranonce2Size: sent?.extranonce2Size ?? this.#extranonce2Size,
      versionMask: this.#versionMask,
      difficulty: Math.min(sent?.difficulty ?? difficulty, difficulty),
      jobDifficulty: sent?.difficulty ?? difficulty,
      poolDifficulty: Math.min(sent?.poolDifficulty ?? this.#poolDifficulty, this.#poolDifficulty),
    };
  }

  /** The pool's extranonce (subscribe answer, set_extranonce). True when it changed. */
  setExtranonce(extranonce1: string, extranonce2Size: number): boolean {
    const changed = extranonce1 !== this.#extranonce1 || extranonce2Size !== this.#extranonce2Size;
    this.#extranonce1 = extranonce1;
    this.#extranonce2Size = extranonce2Size;
    return changed;
  }

  /** The mask the miner asked for (mining.configure), or null. */
  requestMask(mask: number | null): void {
    this.#requestedMask = mask;
  }

  /** BIP 310: the mask the miner gets is what the pool granted, ANDed with what the miner asked. */
  granted(result: ConfigureResult | null): void {
    const r = result;
    this.#versionMask =
      this.#requestedMask !== null && r !== null && r.versionRolling === true && r.versionRollingMask !== null
        ? (r.versionRollingMask & this.#requestedMask) >>> 0
        : null;
  }

  /** mining.set_version_mask: the miner's new mask, or null when it never asked for version rolling. */
  setPoolMask(mask: number): number | null {
    if (this.#requestedMask === null) return null;
    this.#versionMask = (mask & this.#requestedMask) >>> 0;
    return this.#versionMask;
  }

  /** The pool's mining.set_difficulty. Returns the miner's difficulty after it. */
  setDifficulty(difficulty: number): number {
    this.#poolDifficulty = difficulty;
    this.#poolDifficultySet = true;
    return this.difficulty;
  }

  /** The local (telemetry) difficulty, or null to work at the pool's. Returns the miner's difficulty after it. */
  setLocalDifficulty(difficulty: number | null): number {
    this.#localDifficulty = difficulty;
    return this.difficulty;
  }

  /** After a failover: the next job is sent with clean_jobs = true. */
  expectFreshWork(): void {
    this.#forceClean = true;
  }

  /** A pool job: prepared and stored. Returns the message for the miner (clean_jobs forced when due), or why it is unusable. */
  notify(msg: NotifyMessage): { ok: true; msg: NotifyMessage } | { ok: false; error: UnusableJob } {
    const prepared = this.#jobs.prepare(msg.job);
    if (!prepared.ok) return { ok: false, error: prepared.error };
    const clean = msg.cleanJobs || this.#forceClean;
    this.#forceClean = false;
    this.store.add(prepared.job, clean);
    const terms = this.#jobTerms;
    terms.delete(msg.job.jobId);
    terms.set(msg.job.jobId, {
      difficulty: this.difficulty,
      poolDifficulty: this.#poolDifficulty,
      extranonce1: this.#extranonce1,
      extranonce2Size: this.#extranonce2Size,
    });
    while (terms.size > MAX_JOB_TERMS) terms.delete(terms.keys().next().value as string);
    this.#lastNotify = msg;
    return { ok: true, msg: { ...msg, cleanJobs: clean } };
  }

  /** The current job again with clean_jobs = true, or null when there is none (or no extranonce yet). */
  refresh(): NotifyMessage | null {
    if (this.#lastNotify === null || this.#extranonce1 === null) return null;
    return { ...this.#lastNotify, cleanJobs: true };
  }
}
