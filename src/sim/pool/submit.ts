/**
 * mining.submit at the simulated pool: every check a real pool makes, in its order, with ./hash.ts
 * (node:crypto). A share is checked against min(difficulty when its job was sent, current difficulty)
 * (notes/stratum-difficulty.md: ckpool, and why).
 */
import { hashShare, hex32, isHex, parseHex32, shareDifficulty, targetFromBits, targetFromDifficulty } from '../hash.js';
import { countUp } from '../shared.js';
import { answer, type Conn, type PoolContext } from './context.js';
import { type PoolShare, REASONS, type SimPoolStats, type StratumCode } from './types.js';

type Verdict = [StratumCode, string] | null;

function recordShare(stats: SimPoolStats, share: PoolShare): void {
  stats.submits++;
  let w = stats.byWorker[share.worker];
  if (!w) {
    w = { accepted: 0, rejected: 0, rejectedByCode: {}, acceptedDifficulty: 0 };
    stats.byWorker[share.worker] = w;
  }
  if (share.accepted) {
    stats.accepted++;
    w.accepted++;
    w.acceptedDifficulty += share.difficulty ?? 0;
  } else {
    stats.rejected++;
    w.rejected++;
    countUp(stats.rejectedByCode, share.code ?? 20);
    countUp(w.rejectedByCode, share.code ?? 20);
  }
  if (share.block) stats.blocks++;
  stats.shares.push(share);
  if (stats.shares.length > 10000) stats.shares.splice(0, stats.shares.length - 10000);
}

const text = (v: unknown) => (typeof v === 'string' ? v : String(v));

function shareOf(c: Conn, params: unknown[]): PoolShare {
  const [worker, jobId, en2, ntime, nonce, versionBits] = params;
  return {
    connId: c.id,
    worker: text(worker),
    jobId: text(jobId),
    extranonce1: c.extranonce1,
    extranonce2: text(en2),
    ntime: text(ntime),
    nonce: text(nonce),
    versionBits: versionBits === undefined || versionBits === null ? undefined : String(versionBits),
    accepted: false,
    block: false,
    forced: false,
    at: Date.now(),
  };
}

/** The checks before hashing; fills in the extranonce1 the share's job was sent with. */
function checkFields(c: Conn, share: PoolShare, params: unknown[]): Verdict {
  const [worker, , en2, ntime, nonce] = params;
  if (params.length < 5 || params.length > 6) return [20, 'Invalid params'];
  if (!c.subscribed) return [25, REASONS[25]];
  if (typeof worker !== 'string' || !c.workers.has(worker)) return [24, REASONS[24]];
  const sent = c.jobs.get(share.jobId);
  if (!sent) return [21, REASONS[21]];
  share.extranonce1 = sent.extranonce1;
  if (!isHex(en2, sent.extranonce2Size)) return [20, 'Invalid extranonce2 size'];
  if (!isHex(ntime, 4)) return [20, 'Invalid ntime'];
  if (!isHex(nonce, 4)) return [20, 'Invalid nonce'];
  const nt = parseHex32(ntime);
  const jt = parseHex32(sent.job.ntime);
  if (nt < jt || nt > jt + 7200) return [20, 'Ntime out of range'];
  if (share.versionBits !== undefined) {
    if (!isHex(share.versionBits, 4)) return [20, 'Invalid version bits'];
    if (c.versionMask === undefined) return [20, 'Version rolling not negotiated'];
    if ((parseHex32(share.versionBits) & ~c.versionMask) !== 0) return [20, 'Invalid version mask'];
  }
  return null;
}

/** The verdict on a share whose fields passed: duplicate, hash, then the test's forced rejections. */
function checkWork(ctx: PoolContext, c: Conn, share: PoolShare): Verdict {
  const sent = c.jobs.get(share.jobId)!;
  const key = `${sent.extranonce1}:${share.extranonce2}:${share.ntime}:${share.nonce}:${share.versionBits ?? ''}`.toLowerCase();
  let dups = ctx.seen.get(share.jobId);
  if (!dups) {
    dups = new Set();
    ctx.seen.set(share.jobId, dups);
  }
  if (dups.has(key)) return [22, REASONS[22]];
  const h = hashShare(sent.job, {
    extranonce1: sent.extranonce1,
    extranonce2: share.extranonce2,
    ntime: share.ntime,
    nonce: share.nonce,
    versionBits: share.versionBits,
    versionMask: c.versionMask === undefined ? undefined : hex32(c.versionMask),
  });
  // A job sent before a set_difficulty is held to the lower of its difficulty and the current one (ckpool's
  // MIN(diff, old_diff) since commit 3a6da1f), so miners that apply the change at once and miners that wait
  // for the next mining.notify (cgminer) both get their shares across a change accepted.
  share.jobDifficulty = sent.difficulty;
  share.connectionDifficulty = c.difficulty;
  share.difficulty = Math.min(sent.difficulty, c.difficulty);
  share.hash = h.hashHex;
  share.shareDifficulty = shareDifficulty(h.hashInt);
  share.block = h.hashInt <= targetFromBits(parseHex32(sent.job.nbits));
  if (h.hashInt > targetFromDifficulty(share.difficulty)) return [23, REASONS[23]];
  dups.add(key);
  const forced = ctx.behavior.rejectIf?.(share);
  if (forced) {
    share.forced = true;
    return Array.isArray(forced) ? forced : [forced, REASONS[forced]];
  }
  if (ctx.behavior.rejectAll !== false) {
    share.forced = true;
    const code = ctx.behavior.rejectAll === true ? 23 : ctx.behavior.rejectAll;
    return [code, REASONS[code]];
  }
  return null;
}

/** mining.submit: the verdict, recorded, emitted ('share', then 'accepted' or 'rejected') and answered. */
export function onSubmit(ctx: PoolContext, c: Conn, id: unknown, params: unknown[]): void {
  const share = shareOf(c, params);
  const v = checkFields(c, share, params) ?? checkWork(ctx, c, share);
  if (v) {
    share.code = v[0];
    share.reason = v[1];
  } else share.accepted = true;
  recordShare(ctx.stats, share);
  ctx.events.emit('share', share);
  ctx.events.emit(share.accepted ? 'accepted' : 'rejected', share);
  if (v) answer(ctx, c, 'mining.submit', id, null, [v[0], v[1], null]);
  else answer(ctx, c, 'mining.submit', id, true);
}
