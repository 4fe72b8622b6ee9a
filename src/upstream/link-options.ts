/**
 * What a pool link is given: its options, the pool list it walks (a target,
 * when two entries are the same pool) and the backoff between tries.
 */

import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { PoolTransport } from './transport.js';
import type { UpstreamPool } from './types.js';

export interface PoolTarget extends UpstreamPool {
  readonly host: string;
  readonly port: number;
}

export interface PoolUpstreamOptions {
  readonly pools: readonly PoolTarget[];
  readonly log: Logger;
  /** The network (./net-transport.ts in production, a scripted one in tests). */
  readonly transport: PoolTransport;
  /** Every timeout, backoff and silence timer runs on it. */
  readonly clock: Clock;
  readonly requestTimeoutMs: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
  readonly backoffJitter: number;
  readonly notifySilenceMs: number;
  readonly primaryRecheckMs: number;
  readonly poolLossGraceMs: number;
  /** Pool lines longer than this are a broken pool: the connection is dropped (default 64 KiB). */
  readonly maxLineBytes?: number;
  /** TCP keep-alive for the node:net transport createPoolUpstream builds (the link itself does not use it). */
  readonly tcpKeepAliveMs?: number;
  /** Requests waiting for a pool connection, at most (default 64). */
  readonly maxQueued?: number;
  /** Longest wait honoured for client.reconnect (default 30 s). */
  readonly maxReconnectWaitMs?: number;
  /** Lines over the JSON limits (too deep / too wide) one pool connection may send before it is dropped (default 16). */
  readonly maxOverLimitLines?: number;
  readonly random?: () => number;
  /** Called when the pool side's write buffer fills (true) and drains (false), besides the 'congested'/'drained' events. */
  readonly onCongestion?: (congested: boolean) => void;
}

/** Backoff before attempt n (1-based): base·2^(n-1) capped at max, minus a random part of up to `jitter` of it. */
export function backoffDelay(attempt: number, base: number, max: number, jitter: number, random: () => number): number {
  const raw = Math.min(max, base * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.max(0, Math.round(raw * (1 - jitter * random())));
}

/** Same pool for a reload: address and credentials (a changed account is another pool). */
export function samePool(a: PoolTarget, b: PoolTarget): boolean {
  return a.host === b.host && a.port === b.port && a.user === b.user && a.password === b.password;
}
