/** The daemon's counters: what /metrics and /status report about connections, limits and pools. */

export interface DaemonCounters {
  connections: number;
  active: number;
  refusedTotalCap: number;
  refusedPerIpCap: number;
  authorizeTimeouts: number;
  oversizedLines: number;
  droppedForGarbage: number;
  blocks: number;
  /** Submits answered "rate limited" (limits.submitsPerSecond / submitBurst). */
  rateLimitedSubmits: number;
  /** Miners disconnected for a submit flood (10 × submitBurst over-limit submits ahead of the sustained rate). */
  floodDisconnects: number;
  /** Miners disconnected for lines over the limits (JSON depth/size, worker names, authorize caps; see SESSION_LIMITS). */
  overLimitDisconnects: number;
  /** Connections closed because handling them threw (a bug, logged with HG_ERR_CONNECTION_FAULT); the daemon carried on. */
  connectionFaults: number;
  /** 1 while no pool is reachable (after failover.poolLossGraceMs), else 0. */
  noPoolReachable: number;
  /** Times the daemon entered the no-pool state. */
  noPoolEpisodes: number;
  /** Miners disconnected because no pool was reachable. */
  noPoolDisconnects: number;
  /** Connections refused while no pool was reachable. */
  refusedNoPool: number;
  /** Connections refused or closed because their rig is parked by the stratum driver. */
  refusedParked: number;
}

/** Every counter at zero. */
export function zeroCounters(): DaemonCounters {
  return {
    connections: 0,
    active: 0,
    refusedTotalCap: 0,
    refusedPerIpCap: 0,
    authorizeTimeouts: 0,
    oversizedLines: 0,
    droppedForGarbage: 0,
    blocks: 0,
    rateLimitedSubmits: 0,
    floodDisconnects: 0,
    overLimitDisconnects: 0,
    connectionFaults: 0,
    noPoolReachable: 0,
    noPoolEpisodes: 0,
    noPoolDisconnects: 0,
    refusedNoPool: 0,
    refusedParked: 0,
  };
}
