/**
 * The workers authorized on one miner connection, and the bounds on
 * mining.authorize (D6 of issue 9: 20,000 authorizes with 1 KiB names once
 * made 40,000 pool requests, 11.5 MB of logs and a 45 MB journal).
 *
 * Each worker keeps what the miner sent and the credentials the pool in use
 * was sent: in account mode those name the pool's account, so they are made
 * again for each new pool after a failover.
 */

import { type JsonValue } from '../protocol/json-rpc.js';
import { PEER_STRING_LIMITS } from '../protocol/messages.js';
import { StratumErrorCode } from '../protocol/stratum-errors.js';

export interface WorkerRewrite {
  /** passthrough: the miner's user/password go to the pool; account: pool account + separator + rig name. */
  readonly mode: 'passthrough' | 'account';
  readonly separator: string;
}

/** The account of the pool in use (account mode logs in with it). */
export interface PoolAccount {
  readonly user: string | null;
  readonly password: string | null;
}

export const WORKER_LIMITS = Object.freeze({
  maxWorkerNameChars: PEER_STRING_LIMITS.maxChars,
  defaultMaxWorkers: 64,
  /** Authorize requests sent to the pool per connection, as a multiple of maxWorkers (refused names count too). */
  authorizeAttemptsPerWorker: 2,
});

export const WORKER_ERRORS = Object.freeze({
  workerNameTooLong: [
    StratumErrorCode.Unauthorized,
    `Worker name longer than ${WORKER_LIMITS.maxWorkerNameChars} characters`,
    null,
  ] as const,
  tooManyWorkers: [StratumErrorCode.Unauthorized, 'Too many workers on one connection', null] as const,
  tooManyAuthorizes: [StratumErrorCode.Unauthorized, 'Too many authorize requests on one connection', null] as const,
});

interface Worker {
  readonly password: string | null;
  /** [pool user, pool password] as sent to the pool in use. */
  pool: readonly [string, string | null];
}

/** What to do with an authorize: ask the pool, answer true at once (already authorized), or refuse (over a limit). */
export type Admission =
  { readonly kind: 'ask' } | { readonly kind: 'known' } | { readonly kind: 'refuse'; readonly error: JsonValue; readonly what: string };

export class Workers {
  readonly #maxWorkers: number;
  readonly #rewrite: WorkerRewrite | undefined;
  readonly #authorized = new Map<string, Worker>();
  /** Names whose authorize is at the pool now (they count towards maxWorkers). */
  readonly #asking = new Set<string>();
  #attempts = 0;

  constructor(options: { maxWorkers?: number | undefined; rewrite?: WorkerRewrite | undefined }) {
    this.#maxWorkers = options.maxWorkers ?? WORKER_LIMITS.defaultMaxWorkers;
    this.#rewrite = options.rewrite;
  }

  /** The miner's worker names as they authorized (before any rewrite), in order. */
  get names(): string[] {
    return [...this.#authorized.keys()];
  }

  has(user: string): boolean {
    return this.#authorized.has(user);
  }

  /** The pool-side user of an authorized worker, or undefined. */
  poolUser(user: string): string | undefined {
    return this.#authorized.get(user)?.pool[0];
  }

  /**
   * Checks an authorize against the limits: a name over maxWorkerNameChars, a new name past maxWorkers
   * (names in flight included), more than authorizeAttemptsPerWorker × maxWorkers pool requests.
   * On 'ask' the attempt is counted and the name is in flight until `settled`.
   */
  admit(user: string): Admission {
    if (user.length > WORKER_LIMITS.maxWorkerNameChars)
      return { kind: 'refuse', error: WORKER_ERRORS.workerNameTooLong, what: 'worker name too long' };
    if (this.#authorized.has(user)) return { kind: 'known' };
    if (this.#authorized.size + this.#asking.size >= this.#maxWorkers && !this.#asking.has(user)) {
      return { kind: 'refuse', error: WORKER_ERRORS.tooManyWorkers, what: 'too many workers' };
    }
    if (this.#attempts >= this.#maxWorkers * WORKER_LIMITS.authorizeAttemptsPerWorker) {
      return { kind: 'refuse', error: WORKER_ERRORS.tooManyAuthorizes, what: 'too many authorize requests' };
    }
    this.#attempts++;
    this.#asking.add(user);
    return { kind: 'ask' };
  }

  /** The pool answered (or not) an admitted authorize. */
  settled(user: string): void {
    this.#asking.delete(user);
  }

  /** The credentials the pool gets for a miner's user/password (account mode: the pool's account + rig name). */
  credentials(user: string, password: string | null, pool: PoolAccount | null): readonly [string, string | null] {
    const rw = this.#rewrite;
    if (rw?.mode === 'account' && pool?.user) {
      // Rig name = what the miner called itself, without any account part it carries.
      const sep = rw.separator;
      const rig = user.includes(sep) ? user.slice(user.lastIndexOf(sep) + sep.length) : user;
      return [`${pool.user}${sep}${rig}`, pool.password ?? 'x'];
    }
    return [user, password];
  }

  /** The pool accepted the worker with these credentials. False when it was already authorized. */
  add(user: string, password: string | null, pool: readonly [string, string | null]): boolean {
    if (this.#authorized.has(user)) return false;
    this.#authorized.set(user, { password, pool });
    return true;
  }

  /** A new pool: every worker's credentials made again for it, in authorize order (for the replay). */
  rebind(pool: PoolAccount | null): (readonly [string, string | null])[] {
    const out: (readonly [string, string | null])[] = [];
    for (const [user, w] of this.#authorized) {
      w.pool = this.credentials(user, w.password, pool);
      out.push(w.pool);
    }
    return out;
  }
}
