/**
 * One miner's Stratum V1 session as an explicit state machine. No sockets:
 * lines come in through `handleLine`, lines go out through `send`, and the
 * pool side, the journal and the metrics are ports (./ports.ts) the daemon
 * plugs adapters into. See docs/protocol.md.
 *
 * Status: connected → subscribed → authorized → closed (one `setStatus`).
 *
 * The parts, each in its own module:
 * - replies leave in the order of the miner's requests (./reply-order.ts);
 * - the handshake is relayed with typed params and replayed after a failover
 *   (./handshake.ts), workers and authorize limits in ./workers.ts;
 * - the work the miner was given and what shares are checked against
 *   (./miner-work.ts);
 * - shares: the flood limit (./submit-limit.ts), then check, record,
 *   forward, settle, answer (./submit.ts).
 * Peer input is bounded (SESSION_LIMITS, docs/security.md), and a throw in
 * this connection's handling closes this connection only (#fault).
 *
 * Size: about 480 lines, over the house's ~400. What is left here is the
 * state machine itself (status, dispatch of miner lines and pool events,
 * the hold queue, faults and limits), whose handlers share its state; every
 * part that stands alone is in the modules above.
 */

import { encodeResponse, OVER_LIMIT_REASONS, type RpcId, classifyLine } from '../protocol/json-rpc.js';
import { clipText, encodeProtocolError } from '../protocol/messages.js';
import { parseMinerMessage, type SubmitMessage, subscribeParams } from '../protocol/miner.js';
import { encodePoolMessage } from '../protocol/pool.js';
import { truncateForLog } from '../util/log.js';
import { JobCache } from '../work/job-cache.js';
import { errorReply, Handshake } from './handshake.js';
import { MinerWork } from './miner-work.js';
import type { PoolEvent, PoolLink, PoolNotice } from './ports.js';
import { ReplyOrder, type ReplySlot } from './reply-order.js';
import { createWorkerStats, type WorkerStats } from '../work/worker-stats.js';
import { type EndCause, SESSION_ERRORS, SESSION_LIMITS, type SessionOptions, type SessionStatus } from './options.js';
import { SubmitPipeline } from './submit.js';
import { SubmitLimiter } from './submit-limit.js';
import { Workers } from './workers.js';
import { MinerDifficulty } from './difficulty.js';
import type { HashrateEstimate } from '../work/hashrate.js';

export { type EndCause, SESSION_ERRORS, SESSION_LIMITS, type SessionOptions, type SessionStatus, type WorkerRewrite } from './options.js';

/** One prepared copy of each distinct job for all sessions of the process (see JobCache). */
const SHARED_JOB_CACHE = new JobCache();

/** Pool messages held during a handshake, at most (oldest dropped). */
const MAX_HELD = 256;

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
  /** The pool's and the local difficulty, and the hash rate measured from shares. */
  readonly #difficulty: MinerDifficulty;
  readonly #work: MinerWork;
  readonly #authorized: Workers;
  readonly #handshake: Handshake;
  readonly #pipeline: SubmitPipeline;
  readonly #limiter: SubmitLimiter;
  readonly #replies: ReplyOrder;
  #journaled = false;
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
    this.#work = new MinerWork(options.jobCache ?? SHARED_JOB_CACHE, options.jobStoreLimits);
    this.#difficulty = new MinerDifficulty(this.#work, options.localDifficulty, this.#now, (difficulty) => {
      if (this.#work.extranonce1 !== null) this.#send(encodePoolMessage({ type: 'set-difficulty', id: null, difficulty }));
    });
    this.#authorized = new Workers({ maxWorkers: options.maxWorkers, rewrite: options.worker });
    this.#replies = new ReplyOrder((line) => this.#send(line));
    this.#limiter = new SubmitLimiter(
      { perSecond: options.submitsPerSecond, burst: options.submitBurst, floodFactor: options.floodFactor },
      this.startedAt,
    );
    this.#pipeline = new SubmitPipeline({
      sessionId: options.id,
      link: options.upstream,
      store: this.#work.store,
      log: options.log,
      now: this.#now,
      recorder: options.journal,
      metrics: options.recorder,
      forwardRejected: options.forwardRejected,
      ntimeWindowSeconds: options.ntimeWindowSeconds,
      stats: (w) => this.#stats(w),
      onBlock: options.onBlock,
      onValidShare: (ctx, jobId) => this.#difficulty.validShare(ctx.jobDifficulty ?? ctx.difficulty, jobId),
    });
    this.#handshake = new Handshake({
      link: options.upstream,
      work: this.#work,
      workers: this.#authorized,
      log: options.log,
      send: (line) => this.#send(line),
      end: (why, cause) => this.#end(why, cause),
      record: () => this.#journalSession(),
      subscribed: () => this.#setStatus('subscribed'),
      authorized: (user) => {
        this.#stats(user);
        this.#lastWorker = user;
        this.#journalSession();
        if (this.#status === 'subscribed') this.#setStatus('authorized');
      },
    });
    this.#up.setListener((e) => this.#onUpstream(e));
  }

  get status(): SessionStatus {
    return this.#status;
  }

  /** The difficulty the miner works at: the pool's, or the local (telemetry) one when lower. */
  get difficulty(): number {
    return this.#work.difficulty;
  }

  get poolDifficulty(): number {
    return this.#work.poolDifficulty;
  }

  /** Sets the local (telemetry) difficulty, or null to work at the pool's again (./difficulty.ts). */
  setLocalDifficulty(difficulty: number | null): void {
    this.#difficulty.setLocal(difficulty);
  }

  /** This connection's measured hash rate (its valid shares over the last minute), or null before its first job. */
  hashrate(): HashrateEstimate | null {
    return this.#difficulty.hashrate();
  }

  get versionMask(): number | null {
    return this.#work.versionMask;
  }

  get extranonce(): { extranonce1: string | null; extranonce2Size: number } {
    return { extranonce1: this.#work.extranonce1, extranonce2Size: this.#work.extranonce2Size };
  }

  /** The miner's worker names as they authorized (before any rewrite), in order. */
  get workerNames(): string[] {
    return this.#authorized.names;
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
   * The job is already in the store; only the miner is told to drop what it was doing. Older jobs stay
   * valid locally, as they do at the pool (which sent no clean_jobs).
   */
  refreshWork(): boolean {
    const job = this.#status === 'closed' ? null : this.#work.refresh();
    if (job === null) return false;
    this.#send(encodePoolMessage(job));
    return true;
  }

  /** The daemon decided no pool is reachable: disconnect the miner (its own failover takes over). */
  poolLost(): void {
    this.#end('no pool reachable', 'pool-lost');
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
  #end(why: string, cause: EndCause): void {
    if (this.#status === 'closed') return;
    this.#o.close(why, cause);
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
    this.#end('internal error', 'fault');
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
    this.#end('over the limits', 'over-limit');
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
    const hs = this.#handshake;
    // Only typed fields go on to the pool: nothing the miner made up is re-encoded upstream.
    switch (msg.type) {
      case 'subscribe': {
        const reply = this.#slot(msg.id);
        return this.#task(
          this.#holding(() => hs.subscribe(msg.id, subscribeParams(msg), reply)),
          'subscribe',
        );
      }
      case 'authorize':
        return this.#authorize(msg.id, msg.user, msg.password, this.#slot(msg.id));
      case 'configure':
        return this.#task(hs.configure(msg, this.#slot(msg.id)), 'configure');
      case 'submit':
        return this.#submit(msg, this.#slot(msg.id));
      case 'extranonce-subscribe':
        return this.#task(hs.extranonceSubscribe(msg.id, this.#slot(msg.id)), 'extranonce.subscribe');
      case 'suggest-difficulty':
        this.#difficulty.suggest(msg.difficulty);
        return this.#task(hs.suggestDifficulty(msg.id, msg.difficulty, this.#slot(msg.id)), 'suggest_difficulty');
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

  /** mining.authorize within the limits of ./workers.ts; a refusal counts as over the limits. */
  #authorize(id: RpcId, user: string, password: string | null, reply: ReplySlot): void {
    const a = this.#authorized.admit(user);
    if (a.kind === 'known') return reply(id === null ? null : encodeResponse(id, true));
    if (a.kind === 'refuse') {
      if (!this.#overLimit(a.what)) reply(errorReply(id, a.error, false));
      return;
    }
    this.#task(
      this.#holding(() => this.#handshake.authorize(id, user, password, reply)),
      'authorize',
    );
  }

  #journalSession(): void {
    const j = this.#o.journal;
    const w = this.#work;
    if (!j || w.extranonce1 === null) return;
    j.session({
      sessionId: this.id,
      worker: this.#lastWorker,
      extranonce1: w.extranonce1,
      extranonce2Size: w.extranonce2Size,
      versionMask: w.versionMask,
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
        return this.#end('submit flood', 'flood');
      }
      if (limit.episodeStart) {
        this.#o.log.warn(
          { submitsPerSecond: this.#o.submitsPerSecond, submitBurst: Math.max(1, this.#o.submitBurst ?? 1) },
          'miner over the submit rate limit; over-limit submits answered "rate limited"',
        );
      }
      return reply(errorReply(msg.id, SESSION_ERRORS.rateLimited, false));
    }
    const ctx = { ...this.#work.context(msg.share.jobId), poolUser: this.#authorized.poolUser(msg.worker), recorded: this.#journaled };
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
          // Whatever happens to the replay, the pool link must stop holding the miner's requests.
          const replay = this.#holding(() => this.#handshake.replay()).finally(() => this.#up.handshakeDone());
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
    const w = this.#work;
    switch (msg.type) {
      case 'notify': {
        this.#difficulty.beforeJob();
        const n = w.notify(msg);
        if (!n.ok) {
          this.#o.log.warn({ field: n.error.field, error: n.error.message }, 'pool sent an unusable job; not relayed');
          return;
        }
        if (this.#journaled) this.#o.journal?.notify(this.id, msg.job, n.msg.cleanJobs);
        if (w.extranonce1 === null) return;
        this.#send(encodePoolMessage(n.msg));
        this.#difficulty.jobSent(msg.job.jobId);
        return;
      }
      case 'set-difficulty': {
        // The miner gets its own difficulty: the pool's, or the local one when lower.
        this.#send(encodePoolMessage({ ...msg, difficulty: this.#difficulty.pool(msg.difficulty) }));
        return;
      }
      case 'set-extranonce':
        if (!this.#handshake.extranonceSubscribed) {
          // The miner never said it understands mining.set_extranonce: its next shares would all be
          // built on the old extranonce1. Make it reconnect (and subscribe afresh) instead.
          this.#o.log.info('pool changed extranonce1; miner did not send mining.extranonce.subscribe, telling it to reconnect');
          this.#send(encodePoolMessage({ type: 'reconnect', id: null, host: null, port: null, waitSeconds: null }));
          this.#end('extranonce changed; miner told to reconnect', 'extranonce');
          return;
        }
        w.setExtranonce(msg.extranonce1, msg.extranonce2Size);
        this.#journalSession();
        this.#send(encodePoolMessage(msg));
        return;
      case 'set-version-mask': {
        const mask = w.setPoolMask(msg.mask);
        if (mask === null) return;
        this.#journalSession();
        this.#send(encodePoolMessage({ ...msg, mask }));
        return;
      }
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
}

export function createSession(options: SessionOptions): MinerSession {
  return new MinerSession(options);
}
