/** The simulated pool's jobs: a realistic coinbase around the extranonces, and sending work to a connection. */
import { randomBytes } from 'node:crypto';
import { hex32 } from '../hash.js';
import { type Conn, type PoolContext, unsolicited, write } from './context.js';
import type { PoolJob } from './types.js';

function varint(n: number): string {
  if (n < 0xfd) return n.toString(16).padStart(2, '0');
  throw new Error('script too long');
}

function le(n: number, bytes: number): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b.subarray(0, bytes).toString('hex');
}

/**
 * A segwit-era coinbase (non-witness serialization) split around the extranonces inside the scriptSig, about
 * `coinbaseBytes` long: coinb1 ends with the BIP 34 height push and half the tag, coinb2 starts with the rest.
 */
function buildCoinbase(height: number, en2Size: number, coinbaseBytes: number): { coinb1: string; coinb2: string } {
  const heightPush = `03${le(height, 3)}`;
  const fixed = 4 + 1 + 36 + 1 + 4 + 1 + (8 + 1 + 22) + (8 + 1 + 38) + 4; // everything but the scriptSig
  const enBytes = 4 + en2Size;
  const tagBytes = Math.max(0, Math.min(100 - 4 - enBytes, coinbaseBytes - fixed - 4 - enBytes));
  const tagPre = randomBytes(Math.floor(tagBytes / 2)).toString('hex');
  const tagPost = Buffer.from('/hashgate-sim/').subarray(0, tagBytes - Math.floor(tagBytes / 2));
  const scriptLen = 4 + tagPre.length / 2 + enBytes + tagPost.length;
  const coinb1 = `01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff${varint(scriptLen)}${heightPush}${tagPre}`;
  const payout = `0014${randomBytes(20).toString('hex')}`;
  const commitment = `6a24aa21a9ed${randomBytes(32).toString('hex')}`;
  const coinb2 = `${tagPost.toString('hex')}ffffffff02${le(312500000, 8)}16${payout}${le(0, 8)}26${commitment}00000000`;
  return { coinb1, coinb2 };
}

/** A new job (clean: a new prevhash and height too); it becomes the current job. */
export function makeJob(ctx: PoolContext, clean: boolean): PoolJob {
  if (clean || ctx.prevhash === '') {
    ctx.prevhash = randomBytes(32).toString('hex');
    ctx.height++;
  }
  const { coinb1, coinb2 } = buildCoinbase(ctx.height, ctx.en2Size, ctx.coinbaseBytes);
  const job: PoolJob = {
    jobId: (++ctx.jobSeq).toString(16),
    prevhash: ctx.prevhash,
    coinb1,
    coinb2,
    merkleBranch: Array.from({ length: ctx.branchCount }, () => randomBytes(32).toString('hex')),
    version: ctx.jobVersion,
    nbits: ctx.nbits,
    ntime: hex32(Math.floor(Date.now() / 1000)),
    clean,
  };
  ctx.stats.jobs++;
  ctx.seen.set(job.jobId, new Set());
  // Duplicate sets only matter while some connection can still submit to the job.
  const keep = ctx.maxJobs * 4;
  if (ctx.seen.size > keep) for (const id of [...ctx.seen.keys()].slice(0, ctx.seen.size - keep)) ctx.seen.delete(id);
  ctx.currentJob = job;
  ctx.events.emit('job', job);
  return job;
}

/** mining.notify to one connection; the job joins the ones it may submit to (clean: the only one). */
export function sendJob(ctx: PoolContext, c: Conn, job: PoolJob, clean: boolean): boolean {
  if (ctx.behavior.silent || c.dead) return false;
  if (clean) c.jobs.clear();
  c.jobs.set(job.jobId, { job, extranonce1: c.extranonce1, extranonce2Size: c.extranonce2Size, difficulty: c.difficulty });
  while (c.jobs.size > ctx.maxJobs) c.jobs.delete(c.jobs.keys().next().value as string);
  return write(c, {
    id: null,
    method: 'mining.notify',
    params: [job.jobId, job.prevhash, job.coinb1, job.coinb2, job.merkleBranch, job.version, job.nbits, job.ntime, clean],
  });
}

/** A connection's first work: its difficulty, then the current job (clean). */
export function sendWork(ctx: PoolContext, c: Conn): void {
  if (ctx.behavior.silent || c.dead) return;
  c.workSent = true;
  unsolicited(ctx, c, 'mining.set_difficulty', [c.difficulty]);
  sendJob(ctx, c, ctx.currentJob ?? makeJob(ctx, true), true);
}
