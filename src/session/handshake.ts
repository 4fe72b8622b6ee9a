/**
 * The handshake a miner makes through hashgate (configure, subscribe,
 * authorize, extranonce.subscribe, suggest_difficulty), relayed to the pool
 * with typed params only, and replayed to a new pool after a failover.
 *
 * The session owns the state machine; this module owns the requests: it
 * remembers what the miner asked for (to replay it), applies the pool's
 * answers to the miner's work (./miner-work.ts) and workers (./workers.ts),
 * and fills each request's reply slot with the bounded answer.
 */

import { encodeErrorResponse, encodeResponse, type JsonValue, type RpcId, relayableError, relayableResult } from '../protocol/json-rpc.js';
import { authorizeParams, type ConfigureMessage, configureParams, MINER_METHODS } from '../protocol/miner.js';
import { encodePoolMessage, parsePoolResponse } from '../protocol/pool.js';
import { encodeConfigureResult, encodeSubscribeResult, type SubscribeResultMessage } from '../protocol/pool-results.js';
import type { Logger } from '../util/log.js';
import { truncateForLog } from '../util/log.js';
import type { EndCause } from './options.js';
import type { MinerWork } from './miner-work.js';
import type { PoolLink, PoolReply } from './ports.js';
import type { ReplySlot } from './reply-order.js';
import { noAnswerError, SUBMIT_ERRORS } from './submit.js';
import type { Workers } from './workers.js';

/** What the handshake needs from its session. */
export interface HandshakeHost {
  readonly link: PoolLink;
  readonly work: MinerWork;
  readonly workers: Workers;
  readonly log: Logger;
  /** A line to the miner that is not a reply (set_extranonce, set_version_mask, client.reconnect). */
  send(line: string): void;
  /** Closes the miner's connection and the session. */
  end(why: string, cause: EndCause): void;
  /** The session's record changed (extranonce, mask, worker): write it again. */
  record(): void;
  /** The pool gave the miner an extranonce: the session is subscribed. */
  subscribed(): void;
  /** The pool accepted a new worker. */
  authorized(user: string): void;
}

const HANDSHAKE = { handshake: true } as const;

/** A JSON-RPC error reply, or nothing for a notification. */
export function errorReply(id: RpcId, error: JsonValue, result: JsonValue = null): string | null {
  return id === null ? null : encodeErrorResponse(id, error, result);
}

/** The pool's answer relayed as is: its result and error, each bounded (relayableResult / relayableError). */
function relayed(id: RpcId, result: JsonValue, error: JsonValue): string | null {
  if (id === null) return null;
  if (error !== null) return encodeErrorResponse(id, relayableError(error), relayableResult(result));
  return encodeResponse(id, relayableResult(result));
}

/** A subscribe answer: the typed result, or the error the miner gets. */
function subscribeResult(r: PoolReply): { ok: true; msg: SubscribeResultMessage } | { ok: false; error: JsonValue } {
  if (r.status !== 'ok') return { ok: false, error: noAnswerError(r) };
  const parsed = parsePoolResponse(r.response, MINER_METHODS.subscribe);
  if (!parsed.ok || parsed.msg.type !== 'subscribe-result') return { ok: false, error: SUBMIT_ERRORS.poolBadAnswer };
  return { ok: true, msg: parsed.msg };
}

export class Handshake {
  readonly #h: HandshakeHost;
  #subscribeParams: readonly JsonValue[] | null = null;
  #configureParams: readonly JsonValue[] | null = null;
  #extranonceSubscribed = false;
  /** The last mining.suggest_difficulty the miner sent. */
  #suggestedDifficulty: number | null = null;

  constructor(host: HandshakeHost) {
    this.#h = host;
  }

  /** True once the miner sent mining.extranonce.subscribe: it takes mining.set_extranonce. */
  get extranonceSubscribed(): boolean {
    return this.#extranonceSubscribed;
  }

  async subscribe(id: RpcId, params: readonly JsonValue[], reply: ReplySlot): Promise<void> {
    this.#subscribeParams = params;
    const a = subscribeResult(await this.#h.link.request(MINER_METHODS.subscribe, params));
    if (!a.ok) return reply(errorReply(id, a.error));
    const m = a.msg;
    if (m.result === null) return reply(errorReply(id, relayableError(m.error)));
    this.#h.work.setExtranonce(m.result.extranonce1, m.result.extranonce2Size);
    this.#h.record();
    this.#h.subscribed();
    reply(id === null ? null : encodeSubscribeResult({ ...m, id, error: relayableError(m.error) }));
  }

  async configure(msg: ConfigureMessage, reply: ReplySlot): Promise<void> {
    const params = configureParams(msg);
    this.#configureParams = params;
    this.#h.work.requestMask(msg.versionRolling?.mask ?? null);
    const r = await this.#h.link.request(MINER_METHODS.configure, params);
    if (r.status !== 'ok') return reply(errorReply(msg.id, noAnswerError(r)));
    const m = this.#applyConfigure(r);
    if (m === null) return reply(errorReply(msg.id, SUBMIT_ERRORS.poolBadAnswer));
    this.#h.record();
    if (msg.id === null) return reply(null);
    const mask = this.#h.work.versionMask;
    const result = m.result === null ? null : { ...m.result, versionRollingMask: mask ?? m.result.versionRollingMask };
    reply(encodeConfigureResult({ ...m, id: msg.id, result, error: relayableError(m.error) }));
  }

  /** A configure answer applied to the work (BIP 310 mask); null when unusable. */
  #applyConfigure(r: PoolReply) {
    if (r.status !== 'ok') return null;
    const parsed = parsePoolResponse(r.response, MINER_METHODS.configure);
    if (!parsed.ok || parsed.msg.type !== 'configure-result') return null;
    this.#h.work.granted(parsed.msg.result);
    return parsed.msg;
  }

  /** An authorize the workers admitted (see Workers.admit). */
  async authorize(id: RpcId, user: string, password: string | null, reply: ReplySlot): Promise<void> {
    const h = this.#h;
    const pool = h.workers.credentials(user, password, h.link.pool);
    try {
      const r = await h.link.request(MINER_METHODS.authorize, authorizeParams({ user: pool[0], password: pool[1] }));
      if (r.status !== 'ok') return reply(errorReply(id, noAnswerError(r)));
      const res = r.response;
      const ok = res.result === true;
      h.log.info({ worker: truncateForLog(user, 80), authorized: ok }, 'miner authorize answered by pool');
      if (ok && h.workers.add(user, password, pool)) h.authorized(user);
      reply(relayed(id, res.result, res.error));
    } finally {
      h.workers.settled(user);
    }
  }

  extranonceSubscribe(id: RpcId, reply: ReplySlot): Promise<void> {
    this.#extranonceSubscribed = true;
    return this.#plain(id, MINER_METHODS['extranonce-subscribe'], [], reply);
  }

  suggestDifficulty(id: RpcId, difficulty: number, reply: ReplySlot): Promise<void> {
    this.#suggestedDifficulty = difficulty;
    return this.#plain(id, MINER_METHODS['suggest-difficulty'], [difficulty], reply);
  }

  async #plain(id: RpcId, method: string, params: readonly JsonValue[], reply: ReplySlot): Promise<void> {
    if (id === null) {
      this.#h.link.notify(method, params);
      return;
    }
    const r = await this.#h.link.request(method, params);
    if (r.status !== 'ok') return reply(errorReply(id, noAnswerError(r)));
    reply(relayed(id, r.response.result, r.response.error));
  }

  /**
   * A new pool connection after failover: replay the handshake in the order the miner made it
   * (configure, subscribe, extranonce.subscribe, suggest_difficulty, authorize: ESP-Miner's order) and
   * give the miner fresh work. Every request is marked `handshake`: the pool link sends these at once and
   * holds the miner's other requests (submits) until handshakeDone(), which the session calls after this.
   */
  async replay(): Promise<void> {
    const h = this.#h;
    h.work.expectFreshWork();
    if (this.#configureParams !== null) {
      const before = h.work.versionMask;
      this.#applyConfigure(await h.link.request(MINER_METHODS.configure, this.#configureParams, HANDSHAKE));
      const mask = h.work.versionMask;
      if (mask !== before && mask !== null) h.send(encodePoolMessage({ type: 'set-version-mask', id: null, mask }));
    }
    if (this.#subscribeParams !== null && !(await this.#replaySubscribe(this.#subscribeParams))) return;
    // Without this the new pool starts the miner at its default difficulty (D4 of issue 9: a miner that
    // had suggested 1e-4 got 1e-9 and 221,072 of 221,862 submits were answered "rate limited").
    // Not awaited (some pools never answer it); the pool reads requests in order, so it comes first.
    if (this.#suggestedDifficulty !== null) {
      void h.link.request(MINER_METHODS['suggest-difficulty'], [this.#suggestedDifficulty], HANDSHAKE);
    }
    // The credentials are made for the pool now in use: in account mode they name its account, not the old pool's.
    for (const pool of h.workers.rebind(h.link.pool)) {
      await h.link.request(MINER_METHODS.authorize, authorizeParams({ user: pool[0], password: pool[1] }), HANDSHAKE);
    }
  }

  /** The subscribe part of the replay; false when the session had to end. */
  async #replaySubscribe(params: readonly JsonValue[]): Promise<boolean> {
    const h = this.#h;
    const a = subscribeResult(await h.link.request(MINER_METHODS.subscribe, params, HANDSHAKE));
    if (!a.ok || a.msg.result === null) {
      h.end('new pool refused mining.subscribe', 'failover');
      return false;
    }
    const { extranonce1, extranonce2Size } = a.msg.result;
    const changed = extranonce1 !== h.work.extranonce1 || extranonce2Size !== h.work.extranonce2Size;
    if (changed && !this.#extranonceSubscribed) {
      // The miner cannot learn a new extranonce1 without reconnecting (no mining.set_extranonce support).
      h.send(encodePoolMessage({ type: 'reconnect', id: null, host: null, port: null, waitSeconds: null }));
      h.end('extranonce changed after failover; miner told to reconnect', 'failover');
      return false;
    }
    // The new pool must know the miner takes set_extranonce, whether or not extranonce1 changed now.
    // Not awaited (some pools never answer it); the pool reads requests in order, so it comes first.
    if (this.#extranonceSubscribed) void h.link.request(MINER_METHODS['extranonce-subscribe'], [], HANDSHAKE);
    if (changed) {
      h.work.setExtranonce(extranonce1, extranonce2Size);
      h.send(encodePoolMessage({ type: 'set-extranonce', id: null, extranonce1, extranonce2Size }));
    }
    h.record();
    return true;
  }
}
