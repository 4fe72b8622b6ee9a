/** The simulated pool's public types (see ../sim-pool.ts). */
import type { EventEmitter } from 'node:events';
import type { StratumJob } from '../hash.js';

export type StratumCode = 20 | 21 | 22 | 23 | 24 | 25;

export const REASONS: Record<StratumCode, string> = {
  20: 'Other/Unknown',
  21: 'Job not found (=stale)',
  22: 'Duplicate share',
  23: 'Low difficulty share',
  24: 'Unauthorized worker',
  25: 'Not subscribed',
};

export interface PoolJob extends StratumJob {
  jobId: string;
  clean: boolean;
}

/** A share as the pool saw it, with its verdict. */
export interface PoolShare {
  connId: number;
  worker: string;
  jobId: string;
  extranonce1: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  versionBits?: string | undefined;
  /**
   * Difficulty the share was checked against: min(jobDifficulty, connectionDifficulty), as ckpool does for
   * jobs sent before a change (undefined when rejected before the hash check).
   */
  difficulty?: number | undefined;
  /** The connection's difficulty when the share's job was sent to it (undefined when rejected before the hash check). */
  jobDifficulty?: number | undefined;
  /** The connection's difficulty when the share arrived (undefined when rejected before the hash check). */
  connectionDifficulty?: number | undefined;
  /** DIFF1 / hash (undefined when rejected before hashing). */
  shareDifficulty?: number | undefined;
  /** Display-order hash hex. */
  hash?: string | undefined;
  accepted: boolean;
  code?: StratumCode | undefined;
  reason?: string | undefined;
  /** The hash also meets the job's nbits target. */
  block: boolean;
  /** Rejected by rejectAll / rejectIf although the share was valid. */
  forced: boolean;
  at: number;
}

/** Input for rejectIf: the share after all real checks passed. */
export type RejectDecision = StratumCode | [StratumCode, string] | null | undefined | false;

export interface SimPoolBehavior {
  /** Stop sending unsolicited messages (set_difficulty, notify, set_extranonce, reconnect…); requests are still answered. */
  silent: boolean;
  /** Accept TCP then reset the connection at once. */
  refuse: boolean;
  /** Delay every answer (and the work sent after authorize) by this many ms. */
  answerDelayMs: number;
  /** Never answer: everything (true) or these methods. */
  neverAnswer: boolean | string[];
  /** Reject every otherwise valid share with this code (true = 23). */
  rejectAll: boolean | StratumCode;
  /** Decide per otherwise valid share; return a code (or [code, message]) to reject it. */
  rejectIf: ((share: PoolShare) => RejectDecision) | undefined;
}

export interface SimPoolOptions extends Partial<SimPoolBehavior> {
  /** Port to listen on (default 0 = ephemeral; restart() reuses whatever was bound). */
  port?: number;
  /** Host: 127.0.0.1 (default) or ::1. */
  host?: '127.0.0.1' | '::1';
  /** Share difficulty for new connections (default 2^-24: about 256 hashes a share). */
  difficulty?: number;
  extranonce2Size?: number;
  /** Pool's version-rolling mask, hex (default 1fffe000). */
  versionMask?: string;
  /** Grant version rolling at all (default true). */
  versionRolling?: boolean;
  /** Random merkle branch hashes per job (default 4). */
  branchCount?: number;
  /** Job version, hex (default 20000000). */
  version?: string;
  /** Job nbits, hex (default 1d00ffff: easy; pass e.g. 17029a8a for a mainnet one). */
  nbits?: string;
  /** Approximate coinbase size in bytes (default 200). */
  coinbaseBytes?: number;
  /** Send a new (non-clean) job every N ms (default 0: only on demand). */
  jobIntervalMs?: number;
  /** Jobs a connection may still submit to (default 8). */
  maxJobs?: number;
  /** Require this password in mining.authorize. */
  password?: string;
  /** Or decide per worker. */
  authorize?: (user: string, password: string) => boolean;
  /** How a failed authorize is answered: result false (default) or error 24. */
  authorizeFailure?: 'false' | 'error';
  /** Apply mining.suggest_difficulty (default false: recorded and answered true only). */
  honorSuggestedDifficulty?: boolean;
  /** Maximum line length in bytes (default 8192); longer lines get an error and the connection is closed. */
  maxLineBytes?: number;
  /** Unparseable lines tolerated per connection before it is dropped (default 16). */
  maxGarbage?: number;
  /** Safety net: the pool closes itself after this many ms (default 60000). */
  lifetimeMs?: number;
}

export interface WorkerStats {
  accepted: number;
  rejected: number;
  rejectedByCode: Record<number, number>;
  /** Sum of the difficulties of accepted shares. */
  acceptedDifficulty: number;
}

export interface SimPoolStats {
  connections: number;
  active: number;
  refused: number;
  submits: number;
  accepted: number;
  rejected: number;
  rejectedByCode: Record<number, number>;
  byWorker: Record<string, WorkerStats>;
  blocks: number;
  jobs: number;
  garbage: number;
  oversize: number;
  unanswered: number;
  pongs: number;
  /** The last 10000 shares with verdicts, in the order they arrived (see SimPool.shareLog). */
  shares: PoolShare[];
}

export interface ClientInfo {
  connId: number;
  extranonce1: string;
  extranonce2Size: number;
  subscribed: boolean;
  userAgent: string | undefined;
  workers: string[];
  difficulty: number;
  suggestedDifficulty: number | undefined;
  /** Negotiated mask (hex), or undefined without mining.configure. */
  versionMask: string | undefined;
  extranonceSubscribed: boolean;
  jobIds: string[];
  /** The difficulty each job in jobIds was sent at (what its shares are held to, at most). */
  jobDifficulties: Record<string, number>;
}

/** Which entries of the share log to give (all of them when empty). */
export interface ShareLogFilter {
  worker?: string;
  connId?: number;
  jobId?: string;
  /** Only accepted (true) or only rejected (false) shares. */
  accepted?: boolean;
}

export interface SimPool {
  readonly host: string;
  readonly port: number;
  readonly stats: SimPoolStats;
  readonly events: EventEmitter;
  /** Runtime knobs (silent, refuse, answerDelayMs, neverAnswer, rejectAll, rejectIf): assign to change. */
  readonly behavior: SimPoolBehavior;
  readonly currentJob: PoolJob | undefined;
  /** Set the difficulty for every connection (or one) and send mining.set_difficulty. */
  setDifficulty(difficulty: number, connId?: number): void;
  /** Make a new job and send it to every authorized connection. clean=true also gets a new prevhash and retires older jobs. */
  notify(clean?: boolean): PoolJob;
  /** Give connections that sent mining.extranonce.subscribe (or all, with all=true) a new extranonce1 / size, then a clean job. */
  setExtranonce(extranonce1?: string, extranonce2Size?: number, opts?: { all?: boolean }): number;
  /** Change the pool mask; connections that negotiated version rolling get mining.set_version_mask. */
  setVersionMask(mask: string): number;
  /** client.reconnect to every connection: [] or [host, port, waitSeconds]. */
  sendReconnect(host?: string, port?: number, waitSeconds?: number): number;
  /** mining.ping to every connection; answers are counted in stats.pongs. */
  ping(): number;
  /** Send a raw JSON-RPC object to one connection or all. */
  send(msg: object, connId?: number): number;
  clients(): ClientInfo[];
  /**
   * The pool's share log (the last 10000 submits), oldest first, as copies: every share it was sent, with
   * its verdict, the difficulty it was held to, its DIFF1 / hash and its hash. Compare two runs share by
   * share by `hash` (independent of extranonce splits and job ids); compare with a miner's `shares`.
   */
  shareLog(filter?: ShareLogFilter): PoolShare[];
  /** Destroy all sockets and stop listening (connections are then refused). */
  kill(): Promise<void>;
  /** Listen again on the same port. */
  restart(): Promise<void>;
  /** Resolve when pred() holds (rechecked after every event), or reject after timeoutMs. */
  waitFor(pred: () => boolean, timeoutMs?: number, label?: string): Promise<void>;
  close(): Promise<void>;
}
