/**
 * The submit pipeline of one miner session: check, record, forward, settle,
 * answer. No socket and no session state machine: the session hands in what
 * a share is checked against (SubmitContext) and a reply slot; the pool link,
 * the share recorder and the metrics are ports (./ports.ts), so the pipeline
 * is unit-tested with fakes.
 *
 * 1. check: validateShare against the miner's difficulty in force for the job
 *    (the lower of the one when the job was sent and the current one: a
 *    set_difficulty mid-job never punishes shares already in flight; the
 *    simulated pool and ckpool judge the same way). With a local (telemetry)
 *    difficulty below the pool's, a valid share that does not also meet the
 *    pool's difficulty for the job is answered true by hashgate and goes no
 *    further: the pool sees exactly the shares it would see without hashgate;
 * 2. record: the recorder takes the share's place in the journal (at the
 *    pool's difficulty: what the pool judges it at);
 * 3. forward: a valid share goes to the pool under the pool-side worker name
 *    (an invalid one is answered at once with its Stratum error, unless
 *    forwardRejected);
 * 4. settle: the journal gets the pool's verdict (or not-sent / timeout /
 *    unknown);
 * 5. answer: the pool's own error is relayed (bounded, see relayableError).
 */

import { encodeErrorResponse, type JsonValue, type RpcId, readRpcError, relayableError } from '../protocol/json-rpc.js';
import { clipText } from '../protocol/messages.js';
import { MINER_METHODS, type SubmitMessage, submitParams } from '../protocol/miner.js';
import { parsePoolResponse } from '../protocol/pool.js';
import { encodeSubmitResult } from '../protocol/pool-results.js';
import { StratumErrorCode, stratumErrorFor } from '../protocol/stratum-errors.js';
import type { Logger } from '../util/log.js';
import { truncateForLog } from '../util/log.js';
import type { JobStore } from '../work/job-store.js';
import { meetsDifficulty, type ShareVerdict, validateShare } from '../work/validate-share.js';
import type { WorkerStats } from '../work/worker-stats.js';
import type { PendingShareRecord, PoolLink, PoolReply, SessionMetrics, ShareRecorder } from './ports.js';
import type { ReplySlot } from './reply-order.js';

/** Errors the pipeline sends itself (besides the work core's share verdicts). */
export const SUBMIT_ERRORS = Object.freeze({
  notSubscribed: [StratumErrorCode.NotSubscribed, 'Not subscribed', null] as const,
  unauthorized: [StratumErrorCode.Unauthorized, 'Unauthorized worker', null] as const,
  poolTimeout: [StratumErrorCode.Other, 'Pool did not answer in time', null] as const,
  poolClosed: [StratumErrorCode.Other, 'Pool connection lost', null] as const,
  poolBadAnswer: [StratumErrorCode.Other, 'Pool sent an unusable answer', null] as const,
  shuttingDown: [StratumErrorCode.Other, 'Proxy is shutting down; reconnect', null] as const,
});

/** The error a miner gets when a relayed request got no usable answer. */
export function noAnswerError(r: Exclude<PoolReply, { status: 'ok' }>): JsonValue {
  if (r.status === 'timeout') return SUBMIT_ERRORS.poolTimeout;
  return r.status === 'invalid' ? SUBMIT_ERRORS.poolBadAnswer : SUBMIT_ERRORS.poolClosed;
}

/** What a share is checked against, read from the session when the submit arrives. */
export interface SubmitContext {
  readonly extranonce1: string | null;
  readonly extranonce2Size: number;
  readonly versionMask: number | null;
  /** The miner's difficulty in force for this job (see step 1). */
  readonly difficulty: number;
  /** The pool's difficulty in force for this job: above `difficulty` while a local difficulty is set. */
  readonly poolDifficulty: number;
  /** The miner's difficulty when the job was sent (absent: `difficulty`). */
  readonly jobDifficulty?: number;
  /** The pool-side user of the worker, or undefined when the worker is not authorized on this connection. */
  readonly poolUser: string | undefined;
  /** False until the session has a record in the recorder (shares before it are not recorded). */
  readonly recorded: boolean;
}

export interface SubmitPipelineOptions {
  readonly sessionId: string;
  readonly link: Pick<PoolLink, 'request'>;
  readonly store: JobStore;
  readonly log: Logger;
  readonly now: () => number;
  readonly recorder?: ShareRecorder | null | undefined;
  readonly metrics?: SessionMetrics | null | undefined;
  readonly forwardRejected?: boolean | undefined;
  readonly ntimeWindowSeconds?: number | undefined;
  /** The stats of a worker (created on first use). */
  readonly stats: (worker: string) => WorkerStats;
  readonly onBlock?: (() => void) | undefined;
  /** Every share found valid, with what it was checked against (the telemetry difficulty's evidence). */
  readonly onValidShare?: ((ctx: SubmitContext, jobId: string) => void) | undefined;
}

export class SubmitPipeline {
  readonly #o: SubmitPipelineOptions;
  #inflight = 0;
  #draining = false;
  #drainWaiters: (() => void)[] = [];
  blocks = 0;

  constructor(options: SubmitPipelineOptions) {
    this.#o = options;
  }

  /** Submits forwarded to the pool and not answered yet. */
  get inflight(): number {
    return this.#inflight;
  }

  /**
   * Stops taking submits (they are answered "shutting down") and resolves once every forwarded
   * submit has its pool answer relayed (or timed out), so a graceful stop loses no share the pool
   * may credit.
   */
  drain(): Promise<void> {
    this.#draining = true;
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  /** Runs one submit through the pipeline; `reply` gets exactly one line (or null when id is null). */
  async submit(msg: SubmitMessage, ctx: SubmitContext, reply: ReplySlot): Promise<void> {
    const id = msg.id;
    const fail = (error: JsonValue) => reply(id === null ? null : encodeErrorResponse(id, error, false));
    if (this.#draining) return fail(SUBMIT_ERRORS.shuttingDown);
    if (ctx.extranonce1 === null) return fail(SUBMIT_ERRORS.notSubscribed);
    if (ctx.poolUser === undefined) return fail(SUBMIT_ERRORS.unauthorized);
    const o = this.#o;
    const share = msg.share;
    // 1. check
    const verdict: ShareVerdict = validateShare(
      o.store,
      {
        extranonce1: ctx.extranonce1,
        extranonce2Size: ctx.extranonce2Size,
        versionMask: ctx.versionMask,
        difficulty: ctx.difficulty,
        ntimeWindowSeconds: o.ntimeWindowSeconds,
      },
      share,
    );
    const stats = o.stats(msg.worker);
    const now = o.now();
    stats.lastShareAt = now;
    stats.firstShareAt ??= now;
    this.#count(msg.worker, verdict, ctx.difficulty, stats);
    if (verdict.valid) {
      stats.localShares++;
      stats.localDifficulty += ctx.difficulty;
      o.onValidShare?.(ctx, share.jobId);
      if (ctx.poolDifficulty > ctx.difficulty && !meetsDifficulty(verdict.hashValue, ctx.poolDifficulty)) {
        // Telemetry only: below the pool's difficulty, so the pool would never have seen it.
        stats.localOnly++;
        if (o.recorder && ctx.recorded)
          o.recorder.localShare?.(o.sessionId, { worker: msg.worker, submit: share, difficulty: ctx.difficulty, verdict });
        return reply(
          id === null ? null : encodeSubmitResult({ type: 'submit-result', id, accepted: true, error: null, rejectReason: null }),
        );
      }
    }
    // 2. record
    const recorder = o.recorder && ctx.recorded ? o.recorder : null;
    const pending = recorder
      ? recorder.submit(o.sessionId, { worker: msg.worker, submit: share, difficulty: ctx.poolDifficulty, verdict })
      : null;
    if (!verdict.valid) {
      stats.rejected[verdict.reason] = (stats.rejected[verdict.reason] ?? 0) + 1;
      if (!o.forwardRejected) {
        pending?.settle('not-sent');
        return fail(stratumErrorFor(verdict.reason));
      }
    }
    // 3. forward
    const r = await this.#forward(ctx.poolUser, msg);
    // 4. settle and 5. answer
    this.#settle(id, msg.worker, verdict, ctx.poolDifficulty, stats, pending, r, reply);
  }

  #count(worker: string, verdict: ShareVerdict, difficulty: number, stats: WorkerStats): void {
    const m = this.#o.metrics;
    if (verdict.valid) m?.countShare({ verdict: 'accepted', difficulty });
    else m?.countShare({ verdict: 'rejected', reason: verdict.reason });
    if (verdict.status !== 'block') return;
    this.blocks++;
    stats.blocks++;
    this.#o.onBlock?.();
    this.#o.log.warn({ worker: truncateForLog(worker, 80), hash: verdict.hash }, 'BLOCK CANDIDATE');
  }

  async #forward(poolUser: string, msg: SubmitMessage): Promise<PoolReply> {
    this.#inflight++;
    try {
      // After a failover the pool link holds this until the handshake replay is done (the new pool must
      // know the worker first, or it refuses the share as unauthorized, 24).
      return await this.#o.link.request(MINER_METHODS.submit, submitParams(poolUser, msg.share));
    } finally {
      this.#inflight--;
      if (this.#inflight === 0 && this.#drainWaiters.length > 0) {
        // Resolve after this answer is relayed (the caller's settle runs synchronously first).
        const waiters = this.#drainWaiters.splice(0);
        queueMicrotask(() => {
          for (const w of waiters) w();
        });
      }
    }
  }

  #settle(
    id: RpcId,
    worker: string,
    verdict: ShareVerdict,
    difficulty: number,
    stats: WorkerStats,
    pending: PendingShareRecord | null,
    r: PoolReply,
    reply: ReplySlot,
  ): void {
    const m = this.#o.metrics;
    const fail = (error: JsonValue) => reply(id === null ? null : encodeErrorResponse(id, error, false));
    if (r.status !== 'ok') {
      if (r.status === 'invalid')
        pending?.settle('unknown'); // the pool answered, hashgate cannot read it
      else if (!r.sent)
        pending?.settle('not-sent'); // no pool came up for it in time
      else {
        if (r.status === 'timeout') m?.countPoolAnswer('timeout');
        stats.poolTimeouts++;
        pending?.settle(r.status === 'timeout' ? 'timeout' : 'unknown');
      }
      return fail(noAnswerError(r));
    }
    stats.poolRttMs = r.rttMs;
    m?.observePoolRtt(r.rttMs);
    const parsed = parsePoolResponse(r.response, MINER_METHODS.submit);
    if (!parsed.ok || parsed.msg.type !== 'submit-result') {
      // The miner still gets an answer, and the journal says the pool's verdict is unknown.
      pending?.settle('unknown');
      return fail(SUBMIT_ERRORS.poolBadAnswer);
    }
    const res = parsed.msg;
    m?.countPoolAnswer(res.accepted ? 'accepted' : 'rejected');
    if (verdict.valid !== res.accepted) m?.countPoolDisagreement();
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
          { worker: truncateForLog(worker, 80), poolError: relayableError(res.error) },
          'pool rejected a share hashgate accepted',
        );
      }
      const e = readRpcError(res.error);
      pending?.settle('rejected', e === null ? null : [e.code ?? StratumErrorCode.Other, clipText(e.message)]);
    }
    reply(id === null ? null : encodeSubmitResult({ ...res, id, error: relayableError(res.error) }));
  }
}
