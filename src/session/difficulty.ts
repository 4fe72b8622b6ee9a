/**
 * The difficulty side of one miner session: the pool's difficulty, the local (telemetry) one when
 * `shares.localDifficulty` is on (./local-difficulty.ts), and the hash rate measured from the shares
 * (./measured-hashrate.ts). MinerWork keeps the difficulties per job; this class decides when the miner
 * gets a mining.set_difficulty and what counts as evidence. No I/O: the session hands in how to send.
 * docs/protocol.md "Telemetry difficulty".
 */

import type { HashrateEstimate } from '../work/hashrate.js';
import type { VardiffSettings } from '../work/vardiff.js';
import { LocalDifficulty } from './local-difficulty.js';
import { MeasuredHashrate } from './measured-hashrate.js';
import type { MinerWork } from './miner-work.js';

export class MinerDifficulty {
  readonly #work: MinerWork;
  readonly #local: LocalDifficulty | null;
  readonly #measured = new MeasuredHashrate();
  readonly #now: () => number;
  /** Sends the miner a mining.set_difficulty (the session drops it before subscribe). */
  readonly #send: (difficulty: number) => void;

  constructor(work: MinerWork, settings: VardiffSettings | null | undefined, now: () => number, send: (difficulty: number) => void) {
    this.#work = work;
    this.#local = settings ? new LocalDifficulty(settings) : null;
    this.#now = now;
    this.#send = send;
  }

  /**
   * Sets the local (telemetry) difficulty, or null to work at the pool's again. The miner works at min(local, pool)
   * and gets a mining.set_difficulty when that changes. Not a power lever: an ASIC draws the same at any difficulty.
   */
  setLocal(difficulty: number | null): void {
    const w = this.#work;
    const before = w.difficulty;
    const after = w.setLocalDifficulty(difficulty);
    if (after === before) return;
    this.#measured.difficultyChanged(this.#now());
    this.#send(after);
  }

  /** The pool's mining.set_difficulty. Returns the difficulty to relay to the miner (its own: min(local, pool)). */
  pool(difficulty: number): number {
    const w = this.#work;
    const before = w.difficulty;
    const local = this.#local?.poolDifficulty(difficulty, this.#now());
    if (local !== undefined && local !== null) w.setLocalDifficulty(local);
    const after = w.setDifficulty(difficulty);
    if (after !== before) this.#measured.difficultyChanged(this.#now());
    return after;
  }

  /** mining.suggest_difficulty: the local difficulty's starting point. */
  suggest(difficulty: number): void {
    this.#retune(this.#local?.suggest(difficulty, this.#work.knownPoolDifficulty, this.#now()));
  }

  /** Before a job goes out: a silent rig steps down here, so a new difficulty precedes the job it applies to. */
  beforeJob(): void {
    this.#retune(this.#local?.tick(this.#work.poolDifficulty, this.#now()));
  }

  /** A job went out to the miner at the difficulty in force. */
  jobSent(jobId: string): void {
    this.#measured.jobSent(jobId, this.#work.difficulty, this.#now());
  }

  /**
   * A valid share: evidence for the hash rate and the local difficulty. Only shares of jobs sent at the difficulty in
   * force count, so a share was mined at that difficulty whether the firmware applies a change at once or at the
   * next notify.
   */
  validShare(jobDifficulty: number, jobId: string): void {
    const now = this.#now();
    this.#measured.share(jobId, now);
    if (this.#local === null || jobDifficulty !== this.#work.difficulty) return;
    this.#retune(this.#local.share(jobDifficulty, this.#work.poolDifficulty, now));
  }

  /** The connection's measured hash rate (its valid shares over the last minute), or null before its first job. */
  hashrate(): HashrateEstimate | null {
    return this.#measured.estimate(this.#now());
  }

  #retune(difficulty: number | null | undefined): void {
    if (difficulty !== null && difficulty !== undefined) this.setLocal(difficulty);
  }
}
