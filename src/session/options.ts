/**
 * The session's options, status, limits and the errors it sends: the
 * contract the daemon builds a session with (./session.ts).
 */

import type { JobCache } from '../work/job-cache.js';
import type { JobStoreLimits } from '../work/job-store.js';
import type { VardiffSettings } from '../work/vardiff.js';
import { StratumErrorCode } from '../protocol/stratum-errors.js';
import type { Logger } from '../util/log.js';
import type { PoolLink, SessionMetrics, ShareRecorder } from './ports.js';
import { SUBMIT_ERRORS } from './submit.js';
import { WORKER_ERRORS, WORKER_LIMITS, type WorkerRewrite } from './workers.js';

export type { WorkerRewrite } from './workers.js';

/**
 * Why a session closed its miner's connection. 'pool-lost' is the one every miner shares at once (no
 * pool reachable: the daemon logs it once); 'failover' a new pool the miner cannot follow (refused
 * subscribe, or an extranonce it cannot take); 'extranonce' the same on the pool's set_extranonce;
 * 'flood', 'over-limit' and 'fault' the session's own limits and guard.
 */
export type EndCause = 'pool-lost' | 'failover' | 'extranonce' | 'flood' | 'over-limit' | 'fault';

export type SessionStatus = 'connected' | 'subscribed' | 'authorized' | 'closed';

export interface SessionOptions {
  readonly id: string;
  readonly peer?: string;
  readonly upstream: PoolLink;
  /** Where prepared jobs are interned (default: one cache for the whole process). */
  readonly jobCache?: JobCache;
  /** Writes one line (ending in "\n") to the miner. */
  readonly send: (line: string) => void;
  /** Asks the transport to close the miner's connection: `reason` in words (logs, journal), `cause` typed. */
  readonly close: (reason: string, cause: EndCause) => void;
  readonly log: Logger;
  readonly now?: () => number;
  /** Where jobs, shares and verdicts are recorded (the journal), or none. */
  readonly journal?: ShareRecorder | null;
  readonly worker?: WorkerRewrite;
  readonly forwardRejected?: boolean;
  readonly ntimeWindowSeconds?: number;
  readonly jobStoreLimits?: Partial<JobStoreLimits>;
  readonly onStatus?: (status: SessionStatus) => void;
  readonly onBlock?: () => void;
  /**
   * Submit flood limit (./submit-limit.ts): `submitsPerSecond` sustained, `submitBurst` at once.
   * Undefined rate = no limit. Over-limit submits get [20, "rate limited", null] without hashing.
   */
  readonly submitsPerSecond?: number;
  readonly submitBurst?: number;
  /** An excess of over-limit submits above floodFactor × submitBurst disconnects the miner (default 10). */
  readonly floodFactor?: number;
  /** Called for every over-limit submit. */
  readonly onRateLimited?: () => void;
  /** Called once when the miner is disconnected for flooding. */
  readonly onFlood?: () => void;
  /** Metrics hooks: share verdicts, pool answers, RTT, disagreements. */
  readonly recorder?: SessionMetrics | null;
  /** Called when the upstream found no pool for failover.poolLossGraceMs (the session then closes the miner). */
  readonly onPoolLost?: () => void;
  /** Distinct worker names one connection may authorize (default 64); see SESSION_LIMITS for the rest. */
  readonly maxWorkers?: number;
  /** Called once when the miner is disconnected for sending too much over the limits (SESSION_LIMITS.maxOverLimit). */
  readonly onOverLimit?: () => void;
  /** Called once when handling this connection threw (a bug): the session logged it and closed the connection. */
  readonly onFault?: () => void;
  /**
   * Telemetry difficulty (`shares.localDifficulty`): the vardiff settings the miner's local difficulty follows,
   * or null/absent to let the miner work at the pool's difficulty (./local-difficulty.ts).
   */
  readonly localDifficulty?: VardiffSettings | null;
}

/**
 * Bounds on what one miner connection may make hashgate do (docs/security.md lists them all).
 * An "over-limit" event is a line no honest miner sends: JSON over the depth/size limits, a worker
 * name over maxWorkerNameChars, an authorize past the worker caps. Each is answered with an error;
 * past maxOverLimit of them the connection is closed.
 */
export const SESSION_LIMITS = Object.freeze({ ...WORKER_LIMITS, maxOverLimit: 10 });

/** Errors hashgate itself sends (besides REJECT_TABLE's share verdicts). */
export const SESSION_ERRORS = Object.freeze({
  ...SUBMIT_ERRORS,
  ...WORKER_ERRORS,
  rateLimited: [StratumErrorCode.Other, 'rate limited', null] as const,
});
