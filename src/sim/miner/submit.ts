/** mining.submit from the simulated miner: the share record, the pool's answer, the counters. */
import { countUp } from '../shared.js';
import { type MinerContext, request } from './context.js';
import type { MinerShare, MinerShareRecord, SubmitResult } from './types.js';

/** A Stratum error ([code, message, data]) or a JSON-RPC 2.0 one ({code, message}) as code and text. */
function errorCode(error: unknown): { code: number | null; message: string | null } {
  if (Array.isArray(error))
    return { code: typeof error[0] === 'number' ? error[0] : null, message: error[1] == null ? null : String(error[1]) };
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown };
    return { code: typeof e.code === 'number' ? e.code : null, message: e.message == null ? null : String(e.message) };
  }
  return { code: null, message: error == null ? null : String(error) };
}

/** 'done' once maxShares were found and every submit is answered. */
function maybeDone(ctx: MinerContext): void {
  const { opts, stats } = ctx;
  if (ctx.doneEmitted || opts.maxShares === undefined || stats.found < opts.maxShares) return;
  if (ctx.pending.some((p) => p.method === 'mining.submit')) return;
  ctx.doneEmitted = true;
  ctx.events.emit('done', stats);
}

function settle(ctx: MinerContext, rec: MinerShareRecord, out: SubmitResult): void {
  const { stats, events } = ctx;
  Object.assign(rec, out);
  if (out.status === 'accepted') {
    stats.accepted++;
    events.emit('accepted', rec);
  } else if (out.status === 'rejected') {
    stats.rejected++;
    countUp(stats.rejectedByCode, String(out.code));
    events.emit('rejected', rec);
  } else {
    if (out.status === 'timeout') {
      stats.timeouts++;
      events.emit('timeout', { id: rec.id, method: 'mining.submit' });
    }
    events.emit('submitFailed', rec);
  }
}

/** What the miner knows of a share it found itself (absent for submit() by hand). */
export type Mined = Pick<MinerShareRecord, 'difficulty' | 'shareDifficulty' | 'hash'>;

export async function submit(ctx: MinerContext, share: MinerShare, worker = ctx.opts.user, mined?: Mined): Promise<SubmitResult> {
  const params: unknown[] = [worker, share.jobId, share.extranonce2, share.ntime, share.nonce];
  if (share.versionBits !== undefined) params.push(share.versionBits);
  const id = ctx.opts.sameSubmitId ?? ctx.nextId++;
  const rec: MinerShareRecord = { ...share, id, ...mined };
  ctx.shares.push(rec);
  if (ctx.shares.length > 10000) ctx.shares.splice(0, ctx.shares.length - 10000);
  ctx.lastShare = share;
  ctx.stats.submitted++;
  ctx.events.emit('submit', rec);
  const r = await request(ctx, 'mining.submit', params, id);
  let out: SubmitResult;
  if (r.status !== 'ok') out = { status: r.status, code: null, message: null };
  else if (r.result === true) out = { status: 'accepted', code: null, message: null };
  else out = { status: 'rejected', ...errorCode(r.error) };
  settle(ctx, rec, out);
  maybeDone(ctx);
  return out;
}
