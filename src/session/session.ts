/**
 * One miner's Stratum V1 session as an explicit state machine. No sockets:
 * lines come in through `handleLine`, lines go out through `send`, and the
 * pool side, the journal and the metrics are ports (./ports.ts) the daemon
 * plugs adapters into. See docs/protocol.md.
 *
 * Status: connected → subscribed → authorized → closed (one `setStatus`).
 *
 * Replies go out in the order of the miner's requests (./reply-order.ts).
 * Shares go through the submit pipeline (./submit.ts) after the flood limit
 * (./submit-limit.ts). A failover replays the handshake (#replay). Peer
 * input is bounded (SESSION_LIMITS, docs/security.md), and a throw in this
 * connection's handling closes this connection only (#fault).
 */

import {
  encodeErrorResponse,
  encodeResponse,
  type JsonValue,
  OVER_LIMIT_REASONS,
  type RpcId,
  relayableError,
  relayableResult,
  classifyLine,
} from '../protocol/json-rpc.js';
import { clipText, encodeProtocolError, PEER_STRING_LIMITS } from '../protocol/messages.js';
import {
  authorizeParams,
  type ConfigureMessage,
  configureParams,
  MINER_METHODS,
  parseMinerMessage,
  type SubmitMessage,
  subscribeParams,
} from '../protocol/miner.js';
import { encodePoolMessage, parsePoolResponse } from '../protocol/pool.js';
import { encodeConfigureResult, encodeSubscribeResult } from '../protocol/pool-results.js';
import type { Logger } from '../util/log.js';
import { truncateForLog } from '../util/log.js';
import { JobCache } from '../work/job-cache.js';
import { JobStore, type JobStoreLimits } from '../work/job-store.js';
import { StratumErrorCode } from '../work/reasons.js';
import type { PoolEvent, PoolLink, PoolNotice, PoolReply, SessionMetrics, ShareRecorder } from './ports.js';
import { ReplyOrder, type ReplySlot } from './reply-order.js';
import { createWorkerStats, type WorkerStats } from './stats.js';
import { noAnswerError, SUBMIT_ERRORS, SubmitPipeline } from './submit.js';
import { SubmitLimiter } from './submit-limit.js';

/** One prepared copy of each distinct job for all sessions of the process (see JobCache). */
const SHARED_JOB_CACHE = new JobCache();

export type SessionStatus = 'connected' | 'subscribed' | 'authorized' | 'closed';

export interface WorkerRewrite {
  /** passthrough: the miner's user/password go to the pool; account: pool account + separator + rig name. */
  readonly mode: 'passthrough' | 'account';
  readonly separator: string;
}

export interface SessionOptions {
  readonly id: string;
  readonly peer?: string;
  readonly upstream: PoolLink;
  /** Where prepared jobs are interned (default: one cache for the whole process). */
  readonly jobCache?: JobCache;
  /** Writes one line (ending in "\n") to the miner. */
  readonly send: (line: string) => void;
  /** Asks the transport to close the miner's connection. */
  readonly close: (reason: string) => void;
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
}

/**
 * Bounds on what one miner connection may make hashgate do (docs/security.md lists them all).
 * An "over-limit" event is a line no honest miner sends: JSON over the depth/size limits, a worker
 * name over maxWorkerNameChars, an authorize past the worker caps. Each is answered with an error;
 * past maxOverLimit of them the connection is closed.
 */
export const SESSION_LIMITS = Object.freeze({
  maxWorkerNameChars: PEER_STRING_LIMITS.maxChars,
  defaultMaxWorkers: 64,
  /** Authorize requests sent to the pool per connection, as a multiple of maxWorkers (refused names count too). */
  authorizeAttemptsPerWorker: 2,
  maxOverLimit: 10,
});

/** Errors hashgate itself sends (besides REJECT_TABLE's share verdicts). */
export const SESSION_ERRORS = Object.freeze({
  ...SUBMIT_ERRORS,
  rateLimited: [StratumErrorCode.Other, 'rate limited', null] as const,
  workerNameTooLong: [
    StratumErrorCode.Unauthorized,
    `Worker name longer than ${SESSION_LIMITS.maxWorkerNameChars} characters`,
    null,
  ] as const,
  tooManyWorkers: [StratumErrorCode.Unauthorized, 'Too many workers on one connection', null] as const,
  tooManyAuthorizes: [StratumErrorCode.Unauthorized, 'Too many authorize requests on one connection', null] as const,
});

/** Pool messages held during a handshake, at most (oldest dropped). */
const MAX_HELD = 256;
const DEFAULT_DIFFICULTY = 1;
const MAX_JOB_DIFFICULTIES = 64;

/** A worker authorized on this connection: what the miner sent, and what the pool in use was sent. */
interface AuthorizedWorker {
  readonly user: string;
  readonly password: string | null;
  /** [pool user, pool password]: recomputed for each new pool (account mode names the pool's account). */
  pool: readonly [string, string | null];
}

/** A reply for a request without an id (a notification): nothing to send, nothing to hold. */
const NO_REPLY: ReplySlot = () => {};

export class MinerSession {
  readonly id: string;
  readonly workers = new Map<string, WorkerStats>();
  readonly startedAt: number;
  #status: SessionStatus = 'connected';
  readonly #o: SessionOptions;
  readonly #up: PoolLink;
  readonly #now: () => number;
  readonly #store: JobStore;
  readonly #pipeline: SubmitPipeline;
  readonly #limiter: SubmitLimiter;
  readonly #replies: ReplyOrder;
  /** Difficulty in force when each job was sent. */
  readonly #jobDifficulty = new Map<string, number>();
  readonly #authorized = new Map<string, AuthorizedWorker>();
  /** Worker names whose authorize is at the pool now (they count towards maxWorkers). */
  readonly #authorizing = new Set<string>();
  /** mining.authorize requests sent to the pool on this connection (bounded, see SESSION_LIMITS). */
  #authorizeAttempts = 0;
  /** The last mining.suggest_difficulty the miner sent: replayed to a new pool after failover. */
  #suggestedDifficulty: number | null = null;
  #difficulty = DEFAULT_DIFFICULTY;
  #extranonce1: string | null = null;
  #extranonce2Size = 0;
  #requestedMask: number | null = null;
  #versionMask: number | null = null;
  #configureParams: readonly JsonValue[] | null = null;
  #subscribeParams: readonly JsonValue[] | null = null;
  #extranonceSubscribed = false;
  #journaled = false;
  #forceClean = false;
  /** The last job relayed to the miner (for refreshWork after a throttle resume). */
  #lastNotify: Extract<PoolNotice, { type: 'notify' }> | null = null;
  #lastWorker: string | undefined;
  /** Lines that were not usable requests (garbage, wrong types, unknown methods). */
  invalidLines = 0;
  /** Over-limit events (see SESSION_LIMITS): the connection is closed past SESSION_LIMITS.maxOverLimit. */
  overLimit = 0;
  /** Submits answered "rate limited" (never hashed, never journaled). */
  rateLimited = 0;
  /**
   * Handshake requests (subscribe, authorize, failover replay) in flight. While any is, pool messages
   * are held and relayed after the answer, so the miner sees them in the pool's order (a notify sent
   * right after the subscribe answer is not dropped, set_difficulty does not overtake the answers).
   */
  #holdDepth = 0;
  readonly #held: PoolNotice[] = [];

  constructor(options: SessionOptions) {
    this.#o = options;
    this.id = options.id;
    this.#up = options.upstream;
    this.#now = options.now ?? Date.now;
    this.startedAt = this.#now();
    this.#store = new JobStore(options.jobStoreLimits);
    this.#replies = new ReplyOrder((line) => this.#send(line));
    this.#limiter = new SubmitLimiter(
      { perSecond: options.submitsPerSecond, burst: options.submitBurst, floodFactor: options.floodFactor },
      this.startedAt,
    );
    this.#pipeline = new SubmitPipeline({
      sessionId: options.id,
      link: options.upstream,
      store: this.#store,
      log: options.log,
      now: this.#now,
      recorder: options.journal,
      metrics: options.recorder,
      forwardRejected: options.forwardRejected,
      ntimeWindowSeconds: options.ntimeWindowSeconds,
      stats: (w) => this.#stats(w),
      onBlock: options.onBlock,
    });
    this.#up.setListener((e) => this.#onUpstream(e));
  }

  get status(): SessionStatus {
    return this.#status;
  }

  get difficulty(): number {
    return this.#difficulty;
  }

  get versionMask(): number | null {
    return this.#versionMask;
  }

  get extranonce(): { extranonce1: string | null; extranonce2Size: number } {
    return { extranonce1: this.#extranonce1, extranonce2Size: this.#extranonce2Size };
  }

  /** The miner's worker names as they authorized (before any rewrite), in order. */
  get workerNames(): string[] {
    return [...this.#authorized.keys()];
  }

  /** Block candidates found on this connection. */
  get blocks(): number {
    return this.#pipeline.blocks;
  }

  /** Submits forwarded to the pool and not answered yet. */
  get inflightSubmits(): number {
    return this.#pipeline.inflight;
  }

  /** Replies held for request order (./reply-order.ts). */
  get pendingReplies(): number {
    return this.#replies.pending;
  }

  /** True while the pool side has a live pool connection. */
  get poolConnected(): boolean {
    return this.#up.pool !== null;
  }

  /**
   * Sends the current job again with clean_jobs = true, so a rig that was curtailed through its firmware
   * starts on fresh work when it resumes. False when there is no job yet (the next notify will do).
   */
  refreshWork(): boolean {
    if (this.#status === 'closed' || this.#lastNotify === null || this.#extranonce1 === null) return false;
    // The job is already in the store; only the miner is told to drop what it was doing. Older jobs stay
    // valid locally, as they do at the pool (which sent no clean_jobs).
    this.#send(encodePoolMessage({ ...this.#lastNotify, cleanJobs: true }));
    return true;
  }

  /** The daemon decided no pool is reachable: disconnect the miner (its own failover takes over). */
  poolLost(): void {
    this.#end('no pool reachable');
  }

  /**
   * Stops taking submits (they are answered "shutting down") and resolves once every forwarded submit
   * has its pool answer relayed (or timed out), so a graceful stop loses no share the pool may credit.
   */
  drain(): Promise<void> {
    return this.#pipeline.drain();
  }

  /** Ends the session (the transport closed, or the daemon is stopping). Idempotent. */
  close(why: string): void {
    if (this.#status === 'closed') return;
    this.#status = 'closed';
    this.#o.onStatus?.('closed');
    this.#up.close();
    if (this.#journaled) this.#o.journal?.endSession(this.id, why);
  }

  /** Closes the miner's connection and this session. */
  #end(why: string): void {
    if (this.#status === 'closed') return;
    this.#o.close(why);
    this.close(why);
  }

  #setStatus(s: SessionStatus): void {
    if (this.#status === s || this.#status === 'closed') return;
    this.#status = s;
    this.#o.onStatus?.(s);
  }

  #send(line: string): void {
    if (this.#status !== 'closed') this.#o.send(line);
  }

  /** The reply slot of a request: replies leave in request order; a notification gets none. */
  #slot(id: RpcId): ReplySlot {
    return id === null ? NO_REPLY : this.#replies.reserve();
  }

  /** The pool's answer to a request relayed as is: its result and error, each bounded (relayableResult / relayableError). */
  static #relayed(id: RpcId, result: JsonValue, error: JsonValue): string | null {
    if (id === null) return null;
    if (error !== null) return encodeErrorResponse(id, relayableError(error), relayableResult(result));
    return encodeResponse(id, relayableResult(result));
  }

  static #error(id: RpcId, error: JsonValue, result: JsonValue = null): string | null {
    return id === null ? null : encodeErrorResponse(id, error, result);
  }

  /**
   * Handling this connection threw: a bug, never a reason to take the daemon down. Log it with its
   * code, close this connection, carry on.
   */
  #fault(e: unknown, where: string): void {
    const err = e instanceof Error ? e : new Error(String(e));
    this.#o.log.error(
      { code: 'HG_ERR_CONNECTION_FAULT', where, err: truncateForLog(err.message), stack: err.stack?.split('\n').slice(0, 6).join('\n') },
      'handling a miner connection failed; closing it',
    );
    if (this.#status === 'closed') return;
    this.#o.onFault?.();
    this.#end('internal error');
  }

  /** Runs one piece of async handling; a rejection is a fault of this connection only. */
  #task(p: Promise<void>, where: string): void {
    p.catch((e: unknown) => this.#fault(e, where));
  }

  /**
   * Something no honest miner sends (see SESSION_LIMITS). Counted; past SESSION_LIMITS.maxOverLimit the
   * connection is closed. Returns true when it was.
   */
  #overLimit(what: string): boolean {
    this.overLimit++;
    if (this.overLimit === 1) this.#o.log.info({ what }, 'miner sent a line over the limits; answered with an error');
    if (this.overLimit <= SESSION_LIMITS.maxOverLimit) return false;
    this.#o.log.warn(
      { overLimit: this.overLimit, max: SESSION_LIMITS.maxOverLimit, what },
      'miner keeps sending lines over the limits; closing',
    );
    this.#o.onOverLimit?.();
    this.#end('over the limits');
    return true;
  }

  // ------------------------------------------------------------ miner side

  /** One complete line from the miner. Never throws: a bug in handling it closes this connection only. */
  handleLine(line: string): void {
    if (this.#status === 'closed') return;
    try {
      this.#handleLine(line);
    } catch (e) {
      this.#fault(e, 'miner line');
    }
  }

  #handleLine(line: string): void {
    const env = classifyLine(line);
    const parsed = parseMinerMessage(env);
    if (!parsed.ok) {
      this.invalidLines++;
      const reply = encodeProtocolError(parsed.error);
      if (reply !== null) this.#slot(parsed.error.id)(reply);
      this.#o.log.debug({ error: parsed.error.message, bytes: line.length }, 'unusable line from miner');
      if (env.kind === 'invalid' && OVER_LIMIT_REASONS.has(env.reason)) this.#overLimit(env.reason);
      return;
    }
    const msg = parsed.msg;
    // Only typed fields go on to the pool: nothing the miner made up is re-encoded upstream.
    switch (msg.type) {
      case 'subscribe': {
        const params = subscribeParams(msg);
        this.#subscribeParams = params;
        const reply = this.#slot(msg.id);
        this.#task(
          this.#holding(() => this.#relaySubscribe(msg.id, params, reply)),
          'subscribe',
        );
        return;
      }
      case 'authorize':
        this.#authorize(msg.id, msg.user, msg.password, this.#slot(msg.id));
        return;
      case 'configure':
        this.#configureParams = configureParams(msg);
        this.#task(this.#relayConfigure(msg, this.#configureParams, this.#slot(msg.id)), 'configure');
        return;
      case 'submit':
        this.#submit(msg, this.#slot(msg.id));
        return;
      case 'extranonce-subscribe':
        this.#extranonceSubscribed = true;
        this.#task(this.#relayPlain(msg.id, MINER_METHODS['extranonce-subscribe'], [], this.#slot(msg.id)), 'extranonce.subscribe');
        return;
      case 'suggest-difficulty':
        this.#suggestedDifficulty = msg.difficulty;
        this.#task(
          this.#relayPlain(msg.id, MINER_METHODS['suggest-difficulty'], [msg.difficulty], this.#slot(msg.id)),
          'suggest_difficulty',
        );
        return;
      case 'ping':
        if (msg.id !== null) this.#slot(msg.id)(encodeResponse(msg.id, 'pong'));
        return;
      case 'version-result':
      case 'pong':
      case 'response':
        return; // answers to requests hashgate never sends on to the pool
      default:
        return;
    }
  }

  async #holding(fn: () => Promise<void>): Promise<void> {
    this.#holdDepth++;
    try {
      await fn();
    } finally {
      if (--this.#holdDepth === 0) {
        for (const m of this.#held.splice(0)) {
          if (this.#status === 'closed') break;
          this.#onPoolMessage(m);
        }
      }
    }
  }

  async #relayPlain(id: RpcId, method: string, params: readonly JsonValue[], reply: ReplySlot): Promise<void> {
    if (id === null) {
      this.#up.notify(method, params);
      return;
    }
    const r = await this.#up.request(method, params);
    if (r.status !== 'ok') return reply(MinerSession.#error(id, noAnswerError(r)));
    reply(MinerSession.#relayed(id, r.response.result, r.response.error));
  }

  /** Reads a subscribe answer: the typed result, or the error the miner gets. */
  static #subscribeResult(r: PoolReply) {
    if (r.status !== 'ok') return { ok: false as const, error: noAnswerError(r) };
    const parsed = parsePoolResponse(r.response, MINER_METHODS.subscribe);
    if (!parsed.ok || parsed.msg.type !== 'subscribe-result')
      return { ok: false as const, error: SESSION_ERRORS.poolBadAnswer as JsonValue };
    return { ok: true as const, msg: parsed.msg };
  }

  async #relaySubscribe(id: RpcId, params: readonly JsonValue[], reply: ReplySlot): Promise<void> {
    const a = MinerSession.#subscribeResult(await this.#up.request(MINER_METHODS.subscribe, params));
    if (!a.ok) return reply(MinerSession.#error(id, a.error));
    const m = a.msg;
    if (m.result === null) return reply(MinerSession.#error(id, relayableError(m.error)));
    this.#extranonce1 = m.result.extranonce1;
    this.#extranonce2Size = m.result.extranonce2Size;
    this.#journalSession();
    this.#setStatus('subscribed');
    reply(id === null ? null : encodeSubscribeResult({ ...m, id, error: relayableError(m.error) }));
  }

  /** The credentials the pool in use gets for a miner's user/password (account mode: the pool's account + rig name). */
  #poolCredentials(user: string, password: string | null): readonly [string, string | null] {
    const rw = this.#o.worker;
    const pool = this.#up.pool;
    if (rw?.mode === 'account' && pool?.user) {
      // Rig name = what the miner called itself, without any account part it carries.
      const sep = rw.separator;
      const rig = user.includes(sep) ? user.slice(user.lastIndexOf(sep) + sep.length) : user;
      return [`${pool.user}${sep}${rig}`, pool.password ?? 'x'];
    }
    return [user, password];
  }

  /**
   * mining.authorize, bounded (D6 of issue 9: 20,000 authorizes with 1 KiB names once made 40,000 pool
   * requests, 11.5 MB of logs and a 45 MB journal): a name over maxWorkerNameChars, a new name past
   * maxWorkers (names in flight included), or more than authorizeAttemptsPerWorker × maxWorkers pool
   * requests are refused locally (and counted as over the limits); a name already authorized is
   * answered true without the pool.
   */
  #authorize(id: RpcId, user: string, password: string | null, reply: ReplySlot): void {
    const refuse = (error: JsonValue, what: string): void => {
      if (!this.#overLimit(what)) reply(MinerSession.#error(id, error, false));
    };
    if (user.length > SESSION_LIMITS.maxWorkerNameChars) return refuse(SESSION_ERRORS.workerNameTooLong, 'worker name too long');
    if (this.#authorized.has(user)) return reply(id === null ? null : encodeResponse(id, true));
    const maxWorkers = this.#o.maxWorkers ?? SESSION_LIMITS.defaultMaxWorkers;
    if (this.#authorized.size + this.#authorizing.size >= maxWorkers && !this.#authorizing.has(user)) {
      return refuse(SESSION_ERRORS.tooManyWorkers, 'too many workers');
    }
    if (this.#authorizeAttempts >= maxWorkers * SESSION_LIMITS.authorizeAttemptsPerWorker) {
      return refuse(SESSION_ERRORS.tooManyAuthorizes, 'too many authorize requests');
    }
    this.#authorizeAttempts++;
    this.#authorizing.add(user);
    this.#task(
      this.#holding(() => this.#relayAuthorize(id, user, password, reply)).finally(() => this.#authorizing.delete(user)),
      'authorize',
    );
  }

  async #relayAuthorize(id: RpcId, user: string, password: string | null, reply: ReplySlot): Promise<void> {
    const pool = this.#poolCredentials(user, password);
    const r = await this.#up.request(MINER_METHODS.authorize, authorizeParams({ user: pool[0], password: pool[1] }));
    if (r.status !== 'ok') return reply(MinerSession.#error(id, noAnswerError(r)));
    const res = r.response;
    const authorized = res.result === true;
    this.#o.log.info({ worker: truncateForLog(user, 80), authorized }, 'miner authorize answered by pool');
    if (authorized && !this.#authorized.has(user)) {
      this.#authorized.set(user, { user, password, pool });
      if (!this.workers.has(user)) this.workers.set(user, createWorkerStats());
      this.#lastWorker = user;
      this.#journalSession();
      if (this.#status === 'subscribed') this.#setStatus('authorized');
    }
    reply(MinerSession.#relayed(id, res.result, res.error));
  }

  /** BIP 310: the mask the miner gets is what the pool granted, ANDed with what the miner asked. */
  #applyConfigure(r: PoolReply): ReturnType<typeof parsePoolResponse> | null {
    if (r.status !== 'ok') return null;
    const parsed = parsePoolResponse(r.response, MINER_METHODS.configure);
    if (!parsed.ok || parsed.msg.type !== 'configure-result') return null;
    const res = parsed.msg.result;
    if (this.#requestedMask !== null && res !== null && res.versionRolling === true && res.versionRollingMask !== null) {
      this.#versionMask = (res.versionRollingMask & this.#requestedMask) >>> 0;
    } else {
      this.#versionMask = null;
    }
    return parsed;
  }

  async #relayConfigure(msg: ConfigureMessage, params: readonly JsonValue[], reply: ReplySlot): Promise<void> {
    this.#requestedMask = msg.versionRolling?.mask ?? null;
    const r = await this.#up.request(MINER_METHODS.configure, params);
    if (r.status !== 'ok') return reply(MinerSession.#error(msg.id, noAnswerError(r)));
    const parsed = this.#applyConfigure(r);
    if (parsed === null || !parsed.ok || parsed.msg.type !== 'configure-result') {
      return reply(MinerSession.#error(msg.id, SESSION_ERRORS.poolBadAnswer));
    }
    this.#journalSession();
    if (msg.id === null) return reply(null);
    const m = parsed.msg;
    const result = m.result === null ? null : { ...m.result, versionRollingMask: this.#versionMask ?? m.result.versionRollingMask };
    reply(encodeConfigureResult({ ...m, id: msg.id, result, error: relayableError(m.error) }));
  }

  #journalSession(): void {
    const j = this.#o.journal;
    if (!j || this.#extranonce1 === null) return;
    j.session({
      sessionId: this.id,
      worker: this.#lastWorker,
      extranonce1: this.#extranonce1,
      extranonce2Size: this.#extranonce2Size,
      versionMask: this.#versionMask,
      peer: this.#o.peer,
      pool: this.#up.pool?.url,
    });
    this.#journaled = true;
  }

  #stats(worker: string): WorkerStats {
    let s = this.workers.get(worker);
    if (s === undefined) {
      s = createWorkerStats();
      this.workers.set(worker, s);
    }
    return s;
  }

  /** The flood limit first (over-limit submits are never hashed), then the submit pipeline. */
  #submit(msg: SubmitMessage, reply: ReplySlot): void {
    const limit = this.#limiter.take(this.#now());
    if (limit !== 'ok') {
      this.rateLimited++;
      this.#o.onRateLimited?.();
      if (limit === 'flood') {
        this.#o.log.warn({ rateLimited: this.rateLimited, limit: this.#limiter.floodAt }, 'submit flood; disconnecting the miner');
        this.#o.onFlood?.();
        return this.#end('submit flood');
      }
      if (limit.episodeStart) {
        this.#o.log.warn(
          { submitsPerSecond: this.#o.submitsPerSecond, submitBurst: Math.max(1, this.#o.submitBurst ?? 1) },
          'miner over the submit rate limit; over-limit submits answered "rate limited"',
        );
      }
      return reply(MinerSession.#error(msg.id, SESSION_ERRORS.rateLimited, false));
    }
    const jobId = msg.share.jobId;
    const sentDiff = this.#jobDifficulty.get(jobId) ?? this.#difficulty;
    const ctx = {
      extranonce1: this.#extranonce1,
      extranonce2Size: this.#extranonce2Size,
      versionMask: this.#versionMask,
      difficulty: Math.min(sentDiff, this.#difficulty),
      poolUser: this.#authorized.get(msg.worker)?.pool[0],
      recorded: this.#journaled,
    };
    this.#task(this.#pipeline.submit(msg, ctx, reply), 'submit');
  }

  // ------------------------------------------------------------- pool side

  #onUpstream(e: PoolEvent): void {
    if (this.#status === 'closed') return;
    try {
      this.#onUpstreamEvent(e);
    } catch (err) {
      this.#fault(err, `pool ${e.type}`);
    }
  }

  #onUpstreamEvent(e: PoolEvent): void {
    switch (e.type) {
      case 'message':
        if (this.#holdDepth > 0) {
          if (this.#held.length >= MAX_HELD) this.#held.shift();
          this.#held.push(e.msg);
        } else this.#onPoolMessage(e.msg);
        return;
      case 'up':
        if (e.resumed) {
          // Whatever happens to the replay, the upstream must stop holding the miner's requests.
          const replay = this.#holding(() => this.#replay()).finally(() => this.#up.handshakeDone());
          this.#task(replay, 'failover replay');
        }
        return;
      case 'lost':
        // Logged once for all miners by the daemon (onPoolLost); here at debug only.
        this.#o.log.debug({ downMs: e.downMs }, 'no pool reachable: disconnecting the miner so its own failover takes over');
        this.poolLost();
        this.#o.onPoolLost?.();
        return;
      case 'down':
      case 'congested':
      case 'drained':
        return; // the transport handles backpressure; a failover shows as 'up' with resumed
      default:
        return;
    }
  }

  #onPoolMessage(msg: PoolNotice): void {
    switch (msg.type) {
      case 'notify': {
        const prepared = (this.#o.jobCache ?? SHARED_JOB_CACHE).prepare(msg.job);
        if (!prepared.ok) {
          this.#o.log.warn({ field: prepared.error.field, error: prepared.error.message }, 'pool sent an unusable job; not relayed');
          return;
        }
        const clean = msg.cleanJobs || this.#forceClean;
        this.#forceClean = false;
        this.#store.add(prepared.job, clean);
        this.#jobDifficulty.delete(msg.job.jobId);
        this.#jobDifficulty.set(msg.job.jobId, this.#difficulty);
        while (this.#jobDifficulty.size > MAX_JOB_DIFFICULTIES)
          this.#jobDifficulty.delete(this.#jobDifficulty.keys().next().value as string);
        if (this.#journaled) this.#o.journal?.notify(this.id, msg.job, clean);
        this.#lastNotify = msg;
        if (this.#extranonce1 !== null) this.#send(encodePoolMessage({ ...msg, cleanJobs: clean }));
        return;
      }
      case 'set-difficulty':
        this.#difficulty = msg.difficulty;
        this.#send(encodePoolMessage(msg));
        return;
      case 'set-extranonce':
        if (!this.#extranonceSubscribed) {
          // The miner never said it understands mining.set_extranonce: its next shares would all be
          // built on the old extranonce1. Make it reconnect (and subscribe afresh) instead.
          this.#o.log.info('pool changed extranonce1; miner did not send mining.extranonce.subscribe, telling it to reconnect');
          this.#send(encodePoolMessage({ type: 'reconnect', id: null, host: null, port: null, waitSeconds: null }));
          this.#end('extranonce changed; miner told to reconnect');
          return;
        }
        this.#extranonce1 = msg.extranonce1;
        this.#extranonce2Size = msg.extranonce2Size;
        this.#journalSession();
        this.#send(encodePoolMessage(msg));
        return;
      case 'set-version-mask':
        if (this.#requestedMask !== null) {
          this.#versionMask = (msg.mask & this.#requestedMask) >>> 0;
          this.#journalSession();
          this.#send(encodePoolMessage({ ...msg, mask: this.#versionMask }));
        }
        return;
      case 'show-message':
        this.#o.log.info({ message: truncateForLog(msg.message) }, 'pool message');
        this.#send(encodePoolMessage({ ...msg, message: clipText(msg.message) }));
        return;
      case 'reconnect':
      case 'get-version':
      case 'ping':
        return; // handled by the upstream (it reconnects / answers)
      default:
        return;
    }
  }

  /**
   * A new pool connection after failover: replay the handshake in the order the miner made it
   * (configure, subscribe, extranonce.subscribe, suggest_difficulty, authorize: ESP-Miner's order) and
   * give the miner fresh work. Every request is marked `handshake`: the upstream sends these at once and
   * holds the miner's other requests (submits) until handshakeDone().
   */
  async #replay(): Promise<void> {
    this.#forceClean = true;
    const hs = { handshake: true } as const;
    if (this.#configureParams !== null) {
      const before = this.#versionMask;
      this.#applyConfigure(await this.#up.request(MINER_METHODS.configure, this.#configureParams, hs));
      if (this.#versionMask !== before && this.#versionMask !== null) {
        this.#send(encodePoolMessage({ type: 'set-version-mask', id: null, mask: this.#versionMask }));
      }
    }
    if (this.#subscribeParams !== null && !(await this.#replaySubscribe())) return;
    // Without this the new pool starts the miner at its default difficulty (D4 of issue 9: a miner that
    // had suggested 1e-4 got 1e-9 and 221,072 of 221,862 submits were answered "rate limited").
    // Not awaited (some pools never answer it); the pool reads requests in order, so it comes first.
    if (this.#suggestedDifficulty !== null) void this.#up.request(MINER_METHODS['suggest-difficulty'], [this.#suggestedDifficulty], hs);
    for (const w of this.#authorized.values()) {
      // The credentials are made for the pool now in use: in account mode they name its account, not the old pool's.
      w.pool = this.#poolCredentials(w.user, w.password);
      await this.#up.request(MINER_METHODS.authorize, authorizeParams({ user: w.pool[0], password: w.pool[1] }), hs);
    }
  }

  /** The subscribe part of the replay; false when the session had to end. */
  async #replaySubscribe(): Promise<boolean> {
    const hs = { handshake: true } as const;
    const a = MinerSession.#subscribeResult(await this.#up.request(MINER_METHODS.subscribe, this.#subscribeParams ?? [], hs));
    if (!a.ok || a.msg.result === null) {
      this.#end('new pool refused mining.subscribe');
      return false;
    }
    const res = a.msg.result;
    const changed = res.extranonce1 !== this.#extranonce1 || res.extranonce2Size !== this.#extranonce2Size;
    if (changed && !this.#extranonceSubscribed) {
      // The miner cannot learn a new extranonce1 without reconnecting (no mining.set_extranonce support).
      this.#send(encodePoolMessage({ type: 'reconnect', id: null, host: null, port: null, waitSeconds: null }));
      this.#end('extranonce changed after failover; miner told to reconnect');
      return false;
    }
    // The new pool must know the miner takes set_extranonce, whether or not extranonce1 changed now.
    // Not awaited (some pools never answer it); the pool reads requests in order, so it comes first.
    if (this.#extranonceSubscribed) void this.#up.request(MINER_METHODS['extranonce-subscribe'], [], hs);
    if (changed) {
      this.#extranonce1 = res.extranonce1;
      this.#extranonce2Size = res.extranonce2Size;
      this.#send(
        encodePoolMessage({ type: 'set-extranonce', id: null, extranonce1: res.extranonce1, extranonce2Size: res.extranonce2Size }),
      );
    }
    this.#journalSession();
    return true;
  }
}

export function createSession(options: SessionOptions): MinerSession {
  return new MinerSession(options);
}
