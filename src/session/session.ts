/**
 * One miner's Stratum V1 session as an explicit state machine. No sockets:
 * lines come in through `handleLine`, lines go out through `send`, and the
 * pool side is an `Upstream` (src/upstream/types.ts). See docs/protocol.md.
 *
 * Status: connected → subscribed → authorized → closed (one `setStatus`).
 *
 * Shares: each submit is checked with validateShare against the difficulty
 * in force for its job: the lower of the difficulty when the job was sent
 * and the current one (a set_difficulty mid-job never punishes shares
 * already in flight; the simulated pool and ckpool judge the same way).
 * A locally rejected share is answered at once with its Stratum error and
 * not forwarded (unless shares.forwardRejected); a valid one is forwarded
 * with the pool-side worker name and the pool's answer is relayed with the
 * pool's own error. Both verdicts go to the journal.
 */

import type { MetricsRecorder } from '../admin/types.js';
import type { JournalWriter, PendingShare } from '../journal/writer.js';
import {
  classifyLine,
  encodeErrorResponse,
  encodeResponse,
  type JsonValue,
  OVER_LIMIT_REASONS,
  type RpcId,
  readRpcError,
  relayableError,
  relayableResult,
} from '../protocol/json-rpc.js';
import { clipText, encodeProtocolError, PEER_STRING_LIMITS } from '../protocol/messages.js';
import {
  authorizeParams,
  type ConfigureMessage,
  configureParams,
  MINER_METHODS,
  parseMinerMessage,
  type SubmitMessage,
  submitParams,
  subscribeParams,
} from '../protocol/miner.js';
import { encodePoolMessage, parsePoolResponse } from '../protocol/pool.js';
import { encodeConfigureResult, encodeSubmitResult, encodeSubscribeResult } from '../protocol/pool-results.js';
import type { Upstream, UpstreamEvent, UpstreamNotice, UpstreamReply } from '../upstream/types.js';
import type { Logger } from '../util/log.js';
import { truncateForLog } from '../util/log.js';
import { JobCache } from '../work/job-cache.js';
import { JobStore, type JobStoreLimits } from '../work/job-store.js';
import { StratumErrorCode, stratumErrorFor } from '../work/reasons.js';
import { type ShareVerdict, validateShare } from '../work/validate-share.js';
import { createWorkerStats, type WorkerStats } from './stats.js';

/** One prepared copy of each distinct job for all sessions of the process (see JobCache). */
const SHARED_JOB_CACHE = new JobCache();

export type SessionStatus = 'connected' | 'subscribed' | 'authorized' | 'closed';

export type SessionJournal = Pick<JournalWriter, 'session' | 'notify' | 'submit' | 'endSession'>;

export interface WorkerRewrite {
  /** passthrough: the miner's user/password go to the pool; account: pool account + separator + rig name. */
  readonly mode: 'passthrough' | 'account';
  readonly separator: string;
}

export interface SessionOptions {
  readonly id: string;
  readonly peer?: string;
  readonly upstream: Upstream;
  /** Where prepared jobs are interned (default: one cache for the whole process). */
  readonly jobCache?: JobCache;
  /** Writes one line (ending in "\n") to the miner. */
  readonly send: (line: string) => void;
  /** Asks the transport to close the miner's connection. */
  readonly close: (reason: string) => void;
  readonly log: Logger;
  readonly now?: () => number;
  readonly journal?: SessionJournal | null;
  readonly worker?: WorkerRewrite;
  readonly forwardRejected?: boolean;
  readonly ntimeWindowSeconds?: number;
  readonly jobStoreLimits?: Partial<JobStoreLimits>;
  readonly onStatus?: (status: SessionStatus) => void;
  readonly onBlock?: () => void;
  /**
   * Submit flood limit (token bucket): `submitsPerSecond` sustained, `submitBurst` at once.
   * Undefined rate = no limit. Over-limit submits get [20, "rate limited", null] without hashing.
   */
  readonly submitsPerSecond?: number;
  readonly submitBurst?: number;
  /**
   * A miner that sends more than floodFactor × submitBurst over-limit submits in a row
   * (no token earned in between) is disconnected (default 10).
   */
  readonly floodFactor?: number;
  /** Called for every over-limit submit. */
  readonly onRateLimited?: () => void;
  /** Called once when the miner is disconnected for flooding. */
  readonly onFlood?: () => void;
  /** Metrics hooks (src/admin/types.ts MetricsRecorder): share verdicts, pool answers, RTT, disagreements. */
  readonly recorder?: Pick<MetricsRecorder, 'countShare' | 'countPoolAnswer' | 'observePoolRtt' | 'countPoolDisagreement'> | null;
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
  notSubscribed: [StratumErrorCode.NotSubscribed, 'Not subscribed', null] as const,
  unauthorized: [StratumErrorCode.Unauthorized, 'Unauthorized worker', null] as const,
  poolTimeout: [StratumErrorCode.Other, 'Pool did not answer in time', null] as const,
  poolClosed: [StratumErrorCode.Other, 'Pool connection lost', null] as const,
  poolBadAnswer: [StratumErrorCode.Other, 'Pool sent an unusable answer', null] as const,
  rateLimited: [StratumErrorCode.Other, 'rate limited', null] as const,
  shuttingDown: [StratumErrorCode.Other, 'Proxy is shutting down; reconnect', null] as const,
  workerNameTooLong: [
    StratumErrorCode.Unauthorized,
    `Worker name longer than ${SESSION_LIMITS.maxWorkerNameChars} characters`,
    null,
  ] as const,
  tooManyWorkers: [StratumErrorCode.Unauthorized, 'Too many workers on one connection', null] as const,
  tooManyAuthorizes: [StratumErrorCode.Unauthorized, 'Too many authorize requests on one connection', null] as const,
});

const DEFAULT_FLOOD_FACTOR = 10;
/** Pool messages held during a handshake, at most (oldest dropped). */
const MAX_HELD = 256;

const DEFAULT_DIFFICULTY = 1;
const MAX_JOB_DIFFICULTIES = 64;

export class MinerSession {
  readonly id: string;
  readonly workers = new Map<string, WorkerStats>();
  readonly startedAt: number;
  #status: SessionStatus = 'connected';
  readonly #o: SessionOptions;
  readonly #up: Upstream;
  readonly #now: () => number;
  readonly #store: JobStore;
  /** Difficulty in force when each job was sent. */
  readonly #jobDifficulty = new Map<string, number>();
  /** Miner worker name → [pool user, pool password]. */
  readonly #authorized = new Map<string, readonly [string, string | null]>();
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
  #lastNotify: Extract<UpstreamNotice, { type: 'notify' }> | null = null;
  #lastWorker: string | undefined;
  /** Lines that were not usable requests (garbage, wrong types, unknown methods). */
  invalidLines = 0;
  /** Over-limit events (see SESSION_LIMITS): the connection is closed past SESSION_LIMITS.maxOverLimit. */
  overLimit = 0;
  /** mining.authorize requests sent to the pool on this connection (bounded, see SESSION_LIMITS). */
  #authorizeAttempts = 0;
  /** Worker names whose authorize is at the pool now (they count towards maxWorkers). */
  readonly #authorizing = new Set<string>();
  /** The last mining.suggest_difficulty the miner sent: replayed to a new pool after failover. */
  #suggestedDifficulty: number | null = null;
  blocks = 0;
  /** Submits answered "rate limited" (never hashed, never journaled). */
  rateLimited = 0;
  /** Token bucket for submits. */
  #tokens: number;
  #tokensAt: number;
  /** Over-limit submits since the last one that got a token (one limited burst; for the log). */
  #limitedRun = 0;
  /**
   * Over-limit submits not yet forgiven: +1 for each, draining at the sustained rate. A miner more than
   * floodFactor × submitBurst above that is flooding, whether in one burst or steadily (a steady flood
   * earns a token now and then, so a count of over-limit submits "in a row" would never reach it).
   */
  #excess = 0;
  #excessAt: number;
  /**
   * Handshake requests (subscribe, authorize, failover replay) in flight. While any is, pool messages
   * are held and relayed after the answer, so the miner sees them in the pool's order (a notify sent
   * right after the subscribe answer is not dropped, set_difficulty does not overtake the answers).
   */
  #holdDepth = 0;
  readonly #held: UpstreamNotice[] = [];

  constructor(options: SessionOptions) {
    this.#o = options;
    this.id = options.id;
    this.#up = options.upstream;
    this.#now = options.now ?? Date.now;
    this.startedAt = this.#now();
    this.#tokens = options.submitBurst ?? 1;
    this.#tokensAt = this.startedAt;
    this.#excessAt = this.startedAt;
    this.#store = new JobStore(options.jobStoreLimits);
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

  /** True while the pool side has a live pool connection. */
  get poolConnected(): boolean {
    return this.#up.pool !== null;
  }

  /** The daemon decided no pool is reachable: disconnect the miner (its own failover takes over). */
  poolLost(): void {
    if (this.#status === 'closed') return;
    this.#o.close('no pool reachable');
    this.close('no pool reachable');
  }

  #setStatus(s: SessionStatus): void {
    if (this.#status === s || this.#status === 'closed') return;
    this.#status = s;
    this.#o.onStatus?.(s);
  }

  /** Ends the session (the transport closed, or the daemon is stopping). Idempotent. */
  close(why: string): void {
    if (this.#status === 'closed') return;
    this.#status = 'closed';
    this.#o.onStatus?.('closed');
    this.#up.close();
    if (this.#journaled) this.#o.journal?.endSession(this.id, why);
  }

  #send(line: string): void {
    if (this.#status !== 'closed') this.#o.send(line);
  }

  #replyError(id: RpcId, error: JsonValue, result: JsonValue = null): void {
    if (id !== null) this.#send(encodeErrorResponse(id, error, result));
  }

  /** The pool's answer to a request relayed as is: its result and error, each bounded (relayableResult / relayableError). */
  #relayAnswer(id: RpcId, result: JsonValue, error: JsonValue): void {
    if (id === null) return;
    if (error !== null) this.#send(encodeErrorResponse(id, relayableError(error), relayableResult(result)));
    else this.#send(encodeResponse(id, relayableResult(result)));
  }

  /** The error a miner gets when a relayed request got no answer. */
  static #noAnswer(r: Exclude<UpstreamReply, { status: 'ok' }>): JsonValue {
    if (r.status === 'timeout') return SESSION_ERRORS.poolTimeout;
    return r.status === 'invalid' ? SESSION_ERRORS.poolBadAnswer : SESSION_ERRORS.poolClosed;
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
    this.#o.close('internal error');
    this.close('internal error');
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
    this.#o.close('over the limits');
    this.close('over the limits');
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
      if (reply !== null) this.#send(reply);
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
        this.#task(
          this.#holding(() => this.#relaySubscribe(msg.id, params)),
          'subscribe',
        );
        return;
      }
      case 'authorize':
        this.#authorize(msg.id, msg.user, msg.password);
        return;
      case 'configure':
        this.#configureParams = configureParams(msg);
        this.#task(this.#relayConfigure(msg, this.#configureParams), 'configure');
        return;
      case 'submit':
        this.#task(this.#submit(msg), 'submit');
        return;
      case 'extranonce-subscribe':
        this.#extranonceSubscribed = true;
        this.#task(this.#relayPlain(msg.id, MINER_METHODS['extranonce-subscribe'], []), 'extranonce.subscribe');
        return;
      case 'suggest-difficulty':
        this.#suggestedDifficulty = msg.difficulty;
        this.#task(this.#relayPlain(msg.id, MINER_METHODS['suggest-difficulty'], [msg.difficulty]), 'suggest_difficulty');
        return;
      case 'ping':
        if (msg.id !== null) this.#send(encodeResponse(msg.id, 'pong'));
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

  async #relayPlain(id: RpcId, method: string, params: readonly JsonValue[]): Promise<void> {
    if (id === null) {
      this.#up.notify(method, params);
      return;
    }
    const r = await this.#up.request(method, params);
    if (r.status !== 'ok') return this.#replyError(id, MinerSession.#noAnswer(r));
    this.#relayAnswer(id, r.response.result, r.response.error);
  }

  /** Applies a subscribe answer; returns the miner-facing line, or an error triple. */
  #applySubscribe(r: UpstreamReply): { ok: true; msg: ReturnType<typeof parsePoolResponse> } | { ok: false; error: JsonValue } {
    if (r.status !== 'ok') return { ok: false, error: MinerSession.#noAnswer(r) };
    const parsed = parsePoolResponse(r.response, MINER_METHODS.subscribe);
    if (!parsed.ok || parsed.msg.type !== 'subscribe-result') return { ok: false, error: SESSION_ERRORS.poolBadAnswer };
    return { ok: true, msg: parsed };
  }

  async #relaySubscribe(id: RpcId, params: readonly JsonValue[]): Promise<void> {
    const r = await this.#up.request(MINER_METHODS.subscribe, params);
    const a = this.#applySubscribe(r);
    if (!a.ok) return this.#replyError(id, a.error);
    if (!a.msg.ok || a.msg.msg.type !== 'subscribe-result') return;
    const m = a.msg.msg;
    if (m.result === null) return this.#replyError(id, relayableError(m.error));
    this.#extranonce1 = m.result.extranonce1;
    this.#extranonce2Size = m.result.extranonce2Size;
    this.#journalSession();
    this.#setStatus('subscribed');
    if (id !== null) this.#send(encodeSubscribeResult({ ...m, id, error: relayableError(m.error) }));
  }

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
   * maxWorkers, or more than authorizeAttemptsPerWorker × maxWorkers pool requests are refused locally
   * (and counted as over the limits); a name already authorized is answered true without the pool.
   */
  #authorize(id: RpcId, user: string, password: string | null): void {
    const refuse = (error: JsonValue, what: string): void => {
      if (!this.#overLimit(what)) this.#replyError(id, error, false);
    };
    if (user.length > SESSION_LIMITS.maxWorkerNameChars) return refuse(SESSION_ERRORS.workerNameTooLong, 'worker name too long');
    if (this.#authorized.has(user)) {
      if (id !== null) this.#send(encodeResponse(id, true));
      return;
    }
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
      this.#holding(() => this.#relayAuthorize(id, user, password)).finally(() => this.#authorizing.delete(user)),
      'authorize',
    );
  }

  async #relayAuthorize(id: RpcId, user: string, password: string | null): Promise<void> {
    const creds = this.#poolCredentials(user, password);
    const r = await this.#up.request(MINER_METHODS.authorize, authorizeParams({ user: creds[0], password: creds[1] }));
    if (r.status !== 'ok') return this.#replyError(id, MinerSession.#noAnswer(r));
    const res = r.response;
    const authorized = res.result === true;
    this.#o.log.info({ worker: truncateForLog(user, 80), authorized }, 'miner authorize answered by pool');
    if (authorized && !this.#authorized.has(user)) {
      this.#authorized.set(user, creds);
      if (!this.workers.has(user)) this.workers.set(user, createWorkerStats());
      this.#lastWorker = user;
      this.#journalSession();
      if (this.#status === 'subscribed') this.#setStatus('authorized');
    }
    this.#relayAnswer(id, res.result, res.error);
  }

  /** BIP 310: the mask the miner gets is what the pool granted, ANDed with what the miner asked. */
  #applyConfigure(r: UpstreamReply): ReturnType<typeof parsePoolResponse> | null {
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

  async #relayConfigure(msg: ConfigureMessage, params: readonly JsonValue[]): Promise<void> {
    this.#requestedMask = msg.versionRolling?.mask ?? null;
    const r = await this.#up.request(MINER_METHODS.configure, params);
    if (r.status !== 'ok') return this.#replyError(msg.id, MinerSession.#noAnswer(r));
    const parsed = this.#applyConfigure(r);
    if (parsed === null || !parsed.ok || parsed.msg.type !== 'configure-result')
      return this.#replyError(msg.id, SESSION_ERRORS.poolBadAnswer);
    this.#journalSession();
    if (msg.id === null) return;
    const m = parsed.msg;
    const result = m.result === null ? null : { ...m.result, versionRollingMask: this.#versionMask ?? m.result.versionRollingMask };
    this.#send(encodeConfigureResult({ ...m, id: msg.id, result, error: relayableError(m.error) }));
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

  /** Takes a submit token; false when the miner is over limits.submitsPerSecond / submitBurst. */
  #takeToken(): boolean {
    const rate = this.#o.submitsPerSecond;
    if (rate === undefined || rate <= 0) return true;
    const burst = Math.max(1, this.#o.submitBurst ?? 1);
    const now = this.#now();
    this.#tokens = Math.min(burst, this.#tokens + (Math.max(0, now - this.#tokensAt) * rate) / 1000);
    this.#tokensAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      if (this.#limitedRun > 0) this.#o.log.debug({ rateLimited: this.#limitedRun }, 'submit burst over the limit ended');
      this.#limitedRun = 0;
      return true;
    }
    return false;
  }

  /**
   * Answers an over-limit submit; logs once per episode (from the first over-limit submit until the
   * excess has drained again); disconnects a flood: more than floodFactor × submitBurst over-limit
   * submits beyond what the sustained rate forgives, in one burst or steadily.
   */
  #rateLimit(id: RpcId): void {
    this.rateLimited++;
    this.#limitedRun++;
    this.#o.onRateLimited?.();
    const burst = Math.max(1, this.#o.submitBurst ?? 1);
    const rate = this.#o.submitsPerSecond ?? 0;
    const now = this.#now();
    this.#excess = Math.max(0, this.#excess - (Math.max(0, now - this.#excessAt) * rate) / 1000);
    this.#excessAt = now;
    if (this.#excess === 0) {
      this.#o.log.warn(
        { submitsPerSecond: this.#o.submitsPerSecond, submitBurst: burst },
        'miner over the submit rate limit; over-limit submits answered "rate limited"',
      );
    }
    this.#excess++;
    const floodAt = (this.#o.floodFactor ?? DEFAULT_FLOOD_FACTOR) * burst;
    if (this.#excess > floodAt) {
      this.#o.log.warn({ rateLimited: this.rateLimited, limit: floodAt }, 'submit flood; disconnecting the miner');
      this.#o.onFlood?.();
      this.#o.close('submit flood');
      this.close('submit flood');
      return;
    }
    this.#replyError(id, SESSION_ERRORS.rateLimited, false);
  }

  /** Submits forwarded to the pool and not answered yet. */
  get inflightSubmits(): number {
    return this.#inflight;
  }

  /**
   * Stops taking submits (they are answered "shutting down") and resolves
   * once every forwarded submit has its pool answer relayed (or timed out),
   * so a graceful stop loses no share the pool may credit.
   */
  drain(): Promise<void> {
    this.#draining = true;
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #inflight = 0;
  #draining = false;
  #drainWaiters: (() => void)[] = [];

  async #submit(msg: SubmitMessage): Promise<void> {
    const id = msg.id;
    if (this.#draining) return this.#replyError(id, SESSION_ERRORS.shuttingDown, false);
    if (!this.#takeToken()) return this.#rateLimit(id);
    if (this.#extranonce1 === null) return this.#replyError(id, SESSION_ERRORS.notSubscribed, false);
    const creds = this.#authorized.get(msg.worker);
    if (creds === undefined) return this.#replyError(id, SESSION_ERRORS.unauthorized, false);
    const share = msg.share;
    const sentDiff = this.#jobDifficulty.get(share.jobId) ?? this.#difficulty;
    const difficulty = Math.min(sentDiff, this.#difficulty);
    const verdict: ShareVerdict = validateShare(
      this.#store,
      {
        extranonce1: this.#extranonce1,
        extranonce2Size: this.#extranonce2Size,
        versionMask: this.#versionMask,
        difficulty,
        ntimeWindowSeconds: this.#o.ntimeWindowSeconds,
      },
      share,
    );
    const stats = this.#stats(msg.worker);
    const now = this.#now();
    stats.lastShareAt = now;
    stats.firstShareAt ??= now;
    const journal = this.#o.journal && this.#journaled ? this.#o.journal : null;
    const pending: PendingShare | null = journal
      ? journal.submit(this.id, { worker: msg.worker, submit: share, difficulty, verdict })
      : null;
    if (verdict.status === 'block') {
      this.blocks++;
      stats.blocks++;
      this.#o.onBlock?.();
      this.#o.log.warn({ worker: truncateForLog(msg.worker, 80), hash: verdict.hash, jobId: share.jobId }, 'BLOCK CANDIDATE');
    }
    const rec = this.#o.recorder;
    if (verdict.valid) rec?.countShare({ verdict: 'accepted', difficulty });
    else rec?.countShare({ verdict: 'rejected', reason: verdict.reason });
    if (!verdict.valid) {
      stats.rejected[verdict.reason] = (stats.rejected[verdict.reason] ?? 0) + 1;
      if (!this.#o.forwardRejected) {
        pending?.settle('not-sent');
        return this.#replyError(id, stratumErrorFor(verdict.reason), false);
      }
    }
    this.#inflight++;
    let r: Awaited<ReturnType<Upstream['request']>>;
    try {
      // After a failover the upstream holds this until the handshake replay is done (the new pool must
      // know the worker first, or it refuses the share as unauthorized, 24).
      r = await this.#up.request(MINER_METHODS.submit, submitParams(creds[0], share));
    } finally {
      this.#inflight--;
      if (this.#inflight === 0 && this.#drainWaiters.length > 0) {
        // Resolve after this answer is relayed (the rest of this function runs synchronously first).
        const waiters = this.#drainWaiters.splice(0);
        queueMicrotask(() => {
          for (const w of waiters) w();
        });
      }
    }
    if (r.status !== 'ok') {
      if (r.status === 'invalid')
        pending?.settle('unknown'); // the pool answered, hashgate cannot read it
      else if (!r.sent)
        pending?.settle('not-sent'); // no pool came up for it in time
      else {
        if (r.status === 'timeout') rec?.countPoolAnswer('timeout');
        stats.poolTimeouts++;
        pending?.settle(r.status === 'timeout' ? 'timeout' : 'unknown');
      }
      return this.#replyError(id, MinerSession.#noAnswer(r), false);
    }
    stats.poolRttMs = r.rttMs;
    rec?.observePoolRtt(r.rttMs);
    const parsed = parsePoolResponse(r.response, MINER_METHODS.submit);
    if (!parsed.ok || parsed.msg.type !== 'submit-result') {
      // The miner still gets an answer, and the journal says the pool's verdict is unknown.
      pending?.settle('unknown');
      return this.#replyError(id, SESSION_ERRORS.poolBadAnswer, false);
    }
    const res = parsed.msg;
    rec?.countPoolAnswer(res.accepted ? 'accepted' : 'rejected');
    if (verdict.valid !== res.accepted) rec?.countPoolDisagreement();
    if (res.accepted) {
      if (verdict.valid) {
        stats.accepted++;
        stats.acceptedDifficulty += difficulty;
      } else stats.disagreements++;
      pending?.settle('accepted');
    } else {
      stats.poolRejected++;
      if (verdict.valid) {
        stats.disagreements++;
        this.#o.log.info(
          { worker: truncateForLog(msg.worker, 80), poolError: relayableError(res.error) },
          'pool rejected a share hashgate accepted',
        );
      }
      const e = readRpcError(res.error);
      pending?.settle('rejected', e === null ? null : [e.code ?? StratumErrorCode.Other, clipText(e.message)]);
    }
    if (id !== null) this.#send(encodeSubmitResult({ ...res, id, error: relayableError(res.error) }));
  }

  // ------------------------------------------------------------- pool side

  #onUpstream(e: UpstreamEvent): void {
    if (this.#status === 'closed') return;
    try {
      this.#onUpstreamEvent(e);
    } catch (err) {
      this.#fault(err, `pool ${e.type}`);
    }
  }

  #onUpstreamEvent(e: UpstreamEvent): void {
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
      case 'down':
        return;
      case 'lost':
        // Logged once for all miners by the daemon (onPoolLost); here at debug only.
        this.#o.log.debug({ downMs: e.downMs }, 'no pool reachable: disconnecting the miner so its own failover takes over');
        this.poolLost();
        this.#o.onPoolLost?.();
        return;
      case 'congested':
      case 'drained':
        return; // the transport handles backpressure
      default:
        return;
    }
  }

  #onPoolMessage(msg: UpstreamNotice): void {
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
          this.#o.close('extranonce changed; miner told to reconnect');
          this.close('extranonce changed');
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
    if (this.#subscribeParams !== null) {
      const a = this.#applySubscribe(await this.#up.request(MINER_METHODS.subscribe, this.#subscribeParams, hs));
      if (!a.ok || !a.msg.ok || a.msg.msg.type !== 'subscribe-result' || a.msg.msg.result === null) {
        this.#o.close('new pool refused mining.subscribe');
        this.close('new pool refused mining.subscribe');
        return;
      }
      const res = a.msg.msg.result;
      const changed = res.extranonce1 !== this.#extranonce1 || res.extranonce2Size !== this.#extranonce2Size;
      if (changed && !this.#extranonceSubscribed) {
        // The miner cannot learn a new extranonce1 without reconnecting (no mining.set_extranonce support).
        this.#send(encodePoolMessage({ type: 'reconnect', id: null, host: null, port: null, waitSeconds: null }));
        this.#o.close('extranonce changed after failover; miner told to reconnect');
        this.close('extranonce changed after failover');
        return;
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
    }
    // Without this the new pool starts the miner at its default difficulty (D4 of issue 9: a miner that
    // had suggested 1e-4 got 1e-9 and 221,072 of 221,862 submits were answered "rate limited").
    if (this.#suggestedDifficulty !== null) {
      void this.#up.request(MINER_METHODS['suggest-difficulty'], [this.#suggestedDifficulty], hs);
    }
    for (const creds of this.#authorized.values()) {
      await this.#up.request(MINER_METHODS.authorize, authorizeParams({ user: creds[0], password: creds[1] }), hs);
    }
  }
}

export function createSession(options: SessionOptions): MinerSession {
  return new MinerSession(options);
}
