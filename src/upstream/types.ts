/**
 * The seam between a miner session and its pool side. A session talks to an
 * `Upstream`, never to a socket: in passthrough mode (today) each session
 * owns one upstream connection so the pool sees each worker; an aggregating
 * mode (many sessions on one pool connection, extranonce1 split per session)
 * can implement the same interface later without touching sessions.
 */

import type { JsonValue, RpcResponse } from '../protocol/json-rpc.js';
import type { PoolMessage } from '../protocol/pool.js';

/** How a request to the pool ended. */
export type UpstreamReply =
  | { readonly status: 'ok'; readonly response: RpcResponse; readonly rttMs: number }
  /** No answer within limits.poolRequestTimeoutMs. `sent` is false when the request never left hashgate (no pool came up). */
  | { readonly status: 'timeout'; readonly sent: boolean }
  /** The pool connection went away (or the upstream was closed) before an answer. `sent` as for timeout. */
  | { readonly status: 'closed'; readonly sent: boolean }
  /** The pool answered with a line hashgate does not read (over the JSON limits): an answer, but no verdict. */
  | { readonly status: 'invalid'; readonly reason: string };

/** Options of one request. */
export interface RequestOptions {
  /**
   * Part of the handshake replay after a failover: sent at once on a resumed pool connection, where
   * every other request waits until the session calls handshakeDone() (the new pool must know the
   * worker before it sees its shares).
   */
  readonly handshake?: boolean;
}

/** Pool-initiated messages passed to the session (answers to hashgate's requests are not events). */
export type UpstreamNotice = Exclude<
  PoolMessage,
  { type: 'subscribe-result' | 'authorize-result' | 'submit-result' | 'configure-result' | 'response' }
>;

export type UpstreamEvent =
  /** A pool message (notify, set_difficulty, set_extranonce, set_version_mask, client.reconnect, show_message, get_version, ping). */
  | { readonly type: 'message'; readonly msg: UpstreamNotice }
  /**
   * A pool connection is up. `resumed` is true when an earlier connection
   * existed: the new one knows nothing of this miner, so the session replays
   * configure/subscribe/authorize (requests with `handshake: true`) and gives the miner fresh work,
   * then calls handshakeDone(). Until then every other request is held, so no share reaches the new
   * pool before it knows the worker.
   */
  | { readonly type: 'up'; readonly pool: string; readonly resumed: boolean }
  /** The pool connection is gone; the upstream is trying the next pool. */
  | { readonly type: 'down'; readonly pool: string; readonly reason: PoolDownReason }
  /** No pool was reachable for failover.poolLossGraceMs: the session should disconnect its miner. */
  | { readonly type: 'lost'; readonly downMs: number }
  /** The pool side's write buffer is full (pause reading the miner) / has drained (resume). */
  | { readonly type: 'congested' }
  | { readonly type: 'drained' };

/** Why a pool connection ended or never came up: a typed reason, with its words in POOL_DOWN_TEXT. */
export type PoolDownReason =
  'refused' | 'closed' | 'silent' | 'line-too-long' | 'over-limit-lines' | 'reconnect' | 'removed' | 'primary-back' | 'fault';

/** What each PoolDownReason means, for logs. */
export const POOL_DOWN_TEXT: Readonly<Record<PoolDownReason, string>> = Object.freeze({
  refused: 'connection refused or failed',
  closed: 'pool closed the connection',
  silent: 'no mining.notify within failover.notifySilenceMs',
  'line-too-long': 'pool sent a line over the line limit',
  'over-limit-lines': 'pool sent too many lines over the JSON limits',
  reconnect: 'pool sent client.reconnect',
  removed: 'pool removed from the configuration',
  'primary-back': 'returning to the primary pool',
  fault: 'internal error handling a pool line',
});

export type UpstreamListener = (event: UpstreamEvent) => void;

/** Credentials and address of the pool in use (account-mode worker rewrite needs user/password). */
export interface UpstreamPool {
  readonly url: string;
  readonly user: string | null;
  readonly password: string | null;
}

export interface Upstream {
  /** Sends a request with hashgate's own JSON-RPC id (never the miner's); resolves with the answer, a timeout, or closed. */
  request(method: string, params: readonly JsonValue[], options?: RequestOptions): Promise<UpstreamReply>;
  /**
   * The session has replayed its handshake on a resumed pool connection ('up' with resumed = true):
   * requests held meanwhile go out now. Idempotent; a no-op when nothing is held.
   */
  handshakeDone(): void;
  /** Sends a notification (id null). Dropped while no pool is connected. */
  notify(method: string, params: readonly JsonValue[]): void;
  /** Registers the one listener (the session). */
  setListener(listener: UpstreamListener): void;
  /** The pool in use, or null while none is connected. */
  readonly pool: UpstreamPool | null;
  /** Stop / resume reading from the pool (backpressure from a slow miner). */
  pause(): void;
  resume(): void;
  /** Closes everything; pending requests resolve as closed. Idempotent. */
  close(): void;
}
