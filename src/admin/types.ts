/**
 * The admin endpoint's seam to the rest of hashgate. The admin layer never
 * reaches into the daemon: the daemon wiring hands it an `AdminSource` (read
 * at scrape / request time) and calls the `MetricsRecorder` hooks where a
 * snapshot is not enough (events that outlive the session that saw them).
 *
 *   daemon wiring --AdminSource--> metrics collect() / server handlers
 *   session, throttle actuator --MetricsRecorder hooks--> counters, histogram
 *
 * The admin layer owns these shapes (an adapter imports no session, no
 * daemon and no other adapter, docs/architecture.md): the daemon's counters,
 * its sessions and the journal writer's stats each satisfy them as they are,
 * which TypeScript checks where the daemon builds its AdminSource.
 *
 * Pure types and constants, no I/O.
 */

import { REJECT_REASONS, type RejectReason } from '../protocol/stratum-errors.js';
import type { DriverKind, RigAlert, RigPowerState, ThrottleMode, ThrottleStatus } from '../throttle/types.js';
import type { WorkerStats } from '../work/worker-stats.js';

// ---------------------------------------------------------------------------
// Bounded label vocabularies (every value is exported from the first scrape, so rate() works at once)

/** Every ThrottleMode, in the order docs/metrics.md lists them; hashgate_throttle_mode is one-hot over these. */
export const THROTTLE_MODES = [
  'live',
  'shadow',
  'stale-hold',
  'stale-shed',
  'stale-release',
  'no-pool',
  'off',
] as const satisfies readonly ThrottleMode[];

/**
 * The statuses of a miner session (connected → subscribed → authorized → closed), as /status and
 * hashgate_sessions{status} name them. The session's own status type must fit this list: the daemon
 * hands `MinerSession.status` over as a SessionView's `status`, so a status added there and not here
 * fails to compile.
 */
export const SESSION_STATUSES = ['connected', 'subscribed', 'authorized', 'closed'] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const RIG_STATES = ['running', 'reduced', 'curtailed'] as const satisfies readonly RigPowerState['kind'][];

export const RIG_ALERTS = [
  'still-hashing',
  'not-resumed',
  'under-performing',
  'not-reduced',
  'driver-error',
] as const satisfies readonly RigAlert[];

export const DRIVER_KINDS = ['luxos', 'esp-miner', 'antminer', 'whatsminer', 'stratum'] as const satisfies readonly DriverKind[];

/** Compile-time check that a list names every member of its union (a new ThrottleMode must be added above). */
type Covers<U, L extends readonly unknown[]> = [Exclude<U, L[number]>] extends [never] ? true : never;
const _coverage: readonly true[] = [
  true satisfies Covers<ThrottleMode, typeof THROTTLE_MODES>,
  true satisfies Covers<RigPowerState['kind'], typeof RIG_STATES>,
  true satisfies Covers<RigAlert, typeof RIG_ALERTS>,
  true satisfies Covers<DriverKind, typeof DRIVER_KINDS>,
];

/**
 * hashgate_shares_total's reason label: the work core's reject reasons, "other" for refusals outside
 * the work core (unauthorized worker, not subscribed, shutting down), "none" for accepted shares.
 */
export const SHARE_REASONS = [...REJECT_REASONS, 'other', 'none'] as const;
export type ShareReasonLabel = (typeof SHARE_REASONS)[number];

/** Why a connection was refused (hashgate_connections_refused_total{reason}). */
export const REFUSE_REASONS = ['total-cap', 'per-ip-cap', 'no-pool'] as const;

/** Why the daemon closed a miner connection (hashgate_disconnects_total{reason}). */
export const DISCONNECT_REASONS = ['authorize-timeout', 'oversized-line', 'garbage', 'flood', 'over-limits', 'fault', 'no-pool'] as const;

/** How the pool answered a forwarded share (hashgate_pool_answers_total{result}). */
export const POOL_ANSWERS = ['accepted', 'rejected', 'timeout'] as const;
export type PoolAnswer = (typeof POOL_ANSWERS)[number];

// ---------------------------------------------------------------------------
// What the admin endpoint reads

/**
 * The daemon counters the admin endpoint exports (their meaning: DaemonCounters in
 * src/daemon/daemon.ts, docs/metrics.md). `Daemon.counters` satisfies it as is.
 */
export interface AdminCounters {
  readonly connections: number;
  readonly active: number;
  readonly refusedTotalCap: number;
  readonly refusedPerIpCap: number;
  readonly refusedNoPool: number;
  readonly authorizeTimeouts: number;
  readonly oversizedLines: number;
  readonly droppedForGarbage: number;
  readonly floodDisconnects: number;
  readonly overLimitDisconnects: number;
  readonly connectionFaults: number;
  readonly noPoolDisconnects: number;
  readonly rateLimitedSubmits: number;
  readonly blocks: number;
  readonly noPoolReachable: number;
  readonly noPoolEpisodes: number;
}

/** The journal writer's stats as /status and /metrics read them. `JournalWriter.stats` satisfies it as is. */
export interface JournalStats {
  readonly records: number;
  readonly bytes: number;
  readonly jobsWritten: number;
  readonly writeErrors: number;
  readonly dropped: number;
  readonly pendingShares: number;
  readonly forcedVerdicts: number;
  readonly lateVerdicts: number;
  /** Files opened (the first, each reopen and each rotation). */
  readonly files: number;
  /** Size rotations done. */
  readonly rotations: number;
}

/**
 * One live miner session as the admin endpoint sees it. A `MinerSession` has every field but
 * `peer` and `pool` (the daemon knows those: the socket's address and `upstream.pool?.url`).
 */
export interface SessionView {
  readonly id: string;
  /** "ip:port" of the miner. */
  readonly peer: string;
  readonly status: SessionStatus;
  /** ms since the epoch. */
  readonly startedAt: number;
  /** Share difficulty in force. */
  readonly difficulty: number;
  readonly poolConnected: boolean;
  /** URL of the pool in use (never with credentials), null while none is connected. */
  readonly pool: string | null;
  /** Per-worker stats, keyed by the worker name the miner authorized. */
  readonly workers: ReadonlyMap<string, Readonly<WorkerStats>>;
}

/**
 * A configured pool. `up`: at least one session is connected to it; `down`: the last attempt
 * failed / it is in backoff; `standby`: a failover pool nobody needs now (not known to be down).
 */
export type PoolState = 'up' | 'down' | 'standby';

export interface PoolView {
  /** "stratum+tcp://host:port"; credentials are stripped again before use as a label. */
  readonly url: string;
  readonly state: PoolState;
  /** Sessions connected to this pool now. */
  readonly sessions: number;
}

export interface Readiness {
  readonly ready: boolean;
  /** Why not, one short sentence each (empty when ready). Shown unauthenticated by /readyz: no secrets. */
  readonly why: readonly string[];
}

/** Everything the admin endpoint reads, at scrape / request time. The daemon wiring implements it. */
export interface AdminSource {
  readonly version: string;
  /** When the daemon started, ms since the epoch (for uptime). */
  readonly startedAt: number;
  daemonCounters(): AdminCounters;
  sessions(): readonly SessionView[];
  pools(): readonly PoolView[];
  /** Null while the throttle is not running (throttle.enabled false): hashgate_throttle_mode{mode="off"} is 1. */
  throttle(): ThrottleStatus | null;
  /** The journal writer's stats (`Daemon.journal?.stats ?? null`); null while journaling is off. */
  journal(): JournalStats | null;
  /** Listening and a pool connected (or still within failover.poolLossGraceMs); see evaluateReadiness. */
  ready(): Readiness;
}

// ---------------------------------------------------------------------------
// What the rest of hashgate records

export type ShareEvent =
  /** A share that passed the local check (a block candidate too). `difficulty` is the pool difficulty it was checked at. */
  | { readonly verdict: 'accepted'; readonly difficulty: number }
  /** A share refused locally; a reason outside the work core's list is counted as "other". */
  | { readonly verdict: 'rejected'; readonly reason: RejectReason | 'other' };

/**
 * Hooks for events a snapshot cannot reconstruct (the session that saw them may be gone by the next
 * scrape). Every method is cheap, synchronous and never throws; bad input is ignored.
 *
 * Who calls what (the daemon wiring passes the recorder down):
 * - `countShare`: the session, once per submit it answered locally, after the work core's verdict
 *   (accepted and block shares as "accepted" with their difficulty; rejections with the reason).
 *   Submits refused before hashing (unauthorized, not subscribed, shutting down) count as "other";
 *   rate-limited submits do not count here (DaemonCounters.rateLimitedSubmits has them).
 * - `countPoolAnswer` + `observePoolRtt`: the session, when a forwarded submit's UpstreamReply
 *   arrives ('ok' → accepted/rejected and `rttMs`; 'timeout' → timeout; 'closed' → nothing).
 * - `countPoolDisagreement`: the session, where it increments WorkerStats.disagreements.
 * - `countDriverError`: the throttle actuator, when a RigControl call rejects (DriverError.driver).
 */
export interface MetricsRecorder {
  countShare(event: ShareEvent): void;
  countPoolAnswer(result: PoolAnswer): void;
  /** Round-trip time of one submit to the pool, milliseconds. */
  observePoolRtt(ms: number): void;
  countPoolDisagreement(): void;
  countDriverError(driver: DriverKind): void;
}

/** A recorder that drops everything: for code paths that run with the admin endpoint off. */
export const NULL_RECORDER: MetricsRecorder = Object.freeze({
  countShare: () => {},
  countPoolAnswer: () => {},
  observePoolRtt: () => {},
  countPoolDisagreement: () => {},
  countDriverError: () => {},
});
