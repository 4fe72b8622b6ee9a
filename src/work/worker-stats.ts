/**
 * Per-worker share stats and the hash-rate estimate they give: counts,
 * reject reasons, pool disagreements, accepted difficulty, pool RTT. Plain
 * data and pure functions (times are passed in). A session keeps one record
 * per worker; the admin endpoint reads them (docs/metrics.md).
 */

import type { RejectReason } from '../protocol/stratum-errors.js';

export interface WorkerStats {
  accepted: number;
  /** Local rejections by reason. */
  rejected: Partial<Record<RejectReason, number>>;
  /** Shares the pool rejected (whatever the local verdict). */
  poolRejected: number;
  /** Local verdict and pool verdict differ. */
  disagreements: number;
  /** Forwarded shares the pool never answered in time. */
  poolTimeouts: number;
  blocks: number;
  /** Sum of the pool difficulty of accepted shares. */
  acceptedDifficulty: number;
  /** Shares hashgate found valid at the miner's difficulty (forwarded or not): the hash-rate evidence. */
  localShares: number;
  /** Sum of the miner's difficulty over localShares. */
  localDifficulty: number;
  /** Valid shares below the pool's difficulty (a local difficulty is set), answered by hashgate, not forwarded. */
  localOnly: number;
  firstShareAt: number | null;
  lastShareAt: number | null;
  /** Last pool round-trip time of a submit, ms. */
  poolRttMs: number | null;
}

export function createWorkerStats(): WorkerStats {
  return {
    accepted: 0,
    rejected: {},
    poolRejected: 0,
    disagreements: 0,
    poolTimeouts: 0,
    blocks: 0,
    acceptedDifficulty: 0,
    localShares: 0,
    localDifficulty: 0,
    localOnly: 0,
    firstShareAt: null,
    lastShareAt: null,
    poolRttMs: null,
  };
}

/**
 * Hashrate in H/s estimated from accepted shares: each share of difficulty d
 * stands for d·2^32 hashes on average. Over the window from `since` to `now`.
 */
export function hashrateOf(stats: WorkerStats, since: number, now: number): number {
  const seconds = (now - since) / 1000;
  if (seconds <= 0) return 0;
  return (stats.acceptedDifficulty * 2 ** 32) / seconds;
}
