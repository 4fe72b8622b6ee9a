/** The simulated miner's public types (see ../sim-miner.ts). */
import type { EventEmitter } from 'node:events';

/**
 * When a mining.set_difficulty takes effect (notes/stratum-difficulty.md has the sources):
 * - 'immediate': at once, on the work in progress too (the sim's historic behaviour);
 * - 'next-notify': the current job keeps the difficulty it started with; the newest difficulty
 *   received is bound to the next mining.notify (cgminer, bmminer, bfgminer and ESP-Miner do this;
 *   unlike cgminer, which queues two changes, the newest one wins, as in bmminer and ESP-Miner).
 *   The first difficulty of a connection applies at once either way (bmminer does so too), so a
 *   pool that sends it after the first job is not mined at difficulty 1.
 */
export type DifficultyTiming = 'immediate' | 'next-notify';

export interface SimMinerOptions {
  host?: string;
  port: number;
  user: string;
  password?: string;
  /** Negotiate BIP 310 version rolling and roll version bits in submits (default false). */
  versionRolling?: boolean;
  /** Mask asked for in mining.configure (default ffffffff, as cgminer does). */
  requestMask?: string;
  userAgent?: string;
  /** Cap on shares submitted per second (default: as fast as they are found). */
  sharesPerSecond?: number;
  /** Stop searching after this many shares found (the miner stays connected; 'done' is emitted once all are answered). */
  maxShares?: number;
  /** Close after this many ms. */
  durationMs?: number;
  /** Hash at all (default true); false = handshake only, submit by hand. */
  mine?: boolean;
  /** Run the handshake (default true); false = connect only, drive it with request() / sendRaw(). */
  handshake?: boolean;
  /** Mine at this difficulty whatever the pool says (to produce low-difficulty shares). */
  mineDifficulty?: number;
  /** When a mining.set_difficulty takes effect (default 'immediate'); see DifficultyTiming. */
  difficultyTiming?: DifficultyTiming;
  /** Use this JSON-RPC id for every submit (real firmware does); answers are then matched in order. */
  sameSubmitId?: number | string;
  /** Answer mining.ping (default true). */
  answerPings?: boolean;
  suggestDifficulty?: number;
  /** Send mining.extranonce.subscribe (default false). */
  extranonceSubscribe?: boolean;
  /** Reconnect when the peer drops the connection (default false; client.reconnect is always honoured). */
  autoReconnect?: boolean;
  /** Connection attempts per reconnect (default 5). */
  reconnectAttempts?: number;
  /** Pause between attempts (default 100 ms). */
  reconnectDelayMs?: number;
  /** Give up one TCP connect after this long (default 2000 ms; a test opening hundreds at once on a busy machine wants more). */
  connectTimeoutMs?: number;
  /** Cap on client.reconnect's wait (default 5000 ms). */
  maxReconnectWaitMs?: number;
  /** Requests unanswered after this are given up (default 5000 ms). */
  requestTimeoutMs?: number;
  /** Hashes per event-loop turn (default 256). */
  hashesPerTick?: number;
  /** Hash-rate cap in H/s (default 50000), so a miner never burns a core. */
  maxHashRate?: number;
  /** Line cap for what the pool sends (default 65536). */
  maxLineBytes?: number;
  /** Safety net: the miner closes itself after this many ms (default 60000). */
  lifetimeMs?: number;
}

/** What goes into mining.submit (besides the worker name). */
export interface MinerShare {
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  versionBits?: string | undefined;
}

export interface SubmitResult {
  status: 'accepted' | 'rejected' | 'timeout' | 'closed';
  code: number | null;
  message: string | null;
}

export interface MinerShareRecord extends MinerShare, Partial<SubmitResult> {
  id: number | string;
  /** Undefined while pending. */
  status?: SubmitResult['status'];
  /** The difficulty the miner believed it mined this share at (its target); undefined for submit() by hand. */
  difficulty?: number | undefined;
  /** DIFF1 / hash of the share as the miner hashed it; undefined for submit() by hand. */
  shareDifficulty?: number | undefined;
  /** Display-order hash hex (as the pool's PoolShare.hash); undefined for submit() by hand. */
  hash?: string | undefined;
}

export interface SimMinerStats {
  connects: number;
  reconnects: number;
  disconnects: number;
  hashes: number;
  found: number;
  submitted: number;
  accepted: number;
  rejected: number;
  /** Rejections by error code ('null' when the pool gave none). */
  rejectedByCode: Record<string, number>;
  timeouts: number;
  jobs: number;
  cleanJobs: number;
  /** The last difficulty the pool sent (mining.set_difficulty), whether or not it is in force yet. */
  difficulty: number | undefined;
  /** The difficulty the current work is mined at (without mineDifficulty); undefined before the first one. */
  workDifficulty: number | undefined;
  /** 'next-notify': a difficulty received and waiting for the next mining.notify, else undefined. */
  pendingDifficulty: number | undefined;
  extranonce1: string | undefined;
  extranonce2Size: number | undefined;
  /** Negotiated version-rolling mask (hex), or undefined. */
  versionMask: string | undefined;
  subscribed: boolean;
  authorized: boolean;
  connected: boolean;
  pings: number;
  garbage: number;
  unmatched: number;
  messages: string[];
}

export interface MinerJob {
  jobId: string;
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  version: string;
  nbits: string;
  ntime: string;
  clean: boolean;
}

/** A request's answer, or why there is none. */
export interface RequestAnswer {
  result: unknown;
  error: unknown;
  status: 'ok' | 'timeout' | 'closed';
}

export interface SimMiner {
  readonly stats: SimMinerStats;
  readonly events: EventEmitter;
  readonly options: Readonly<SimMinerOptions>;
  readonly currentJob: MinerJob | undefined;
  /** Every share submitted (last 10000), with its answer once it arrived. */
  readonly shares: MinerShareRecord[];
  readonly lastShare: MinerShare | undefined;
  readonly closed: boolean;
  /** Submit a share by hand (e.g. resubmit lastShare for duplicate/stale tests). */
  submit(share: MinerShare, worker?: string): Promise<SubmitResult>;
  /** Send any JSON-RPC request and wait for its answer. */
  request(method: string, params: unknown[]): Promise<RequestAnswer>;
  /** Write raw bytes (garbage tests). */
  sendRaw(data: string | Uint8Array): void;
  pause(): void;
  resume(): void;
  /** Resolve when pred() holds (rechecked after every event), or reject after timeoutMs. */
  waitFor(pred: () => boolean, timeoutMs?: number, label?: string): Promise<void>;
  close(): Promise<void>;
}
