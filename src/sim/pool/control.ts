/** What a test does to the simulated pool's connections (the SimPool methods that send something). */
import { hex32, isHex, parseHex32, targetFromDifficulty } from '../hash.js';
import { newExtranonce1, type PoolContext, unsolicited, write } from './context.js';
import { makeJob, sendJob, sendWork } from './jobs.js';
import type { ClientInfo, PoolJob, PoolShare, ShareLogFilter } from './types.js';

export function setDifficulty(ctx: PoolContext, d: number, connId?: number): void {
  targetFromDifficulty(d);
  if (connId === undefined) ctx.difficulty = d;
  for (const c of ctx.conns.values()) {
    if (connId !== undefined && c.id !== connId) continue;
    c.difficulty = d;
    if (c.workSent) unsolicited(ctx, c, 'mining.set_difficulty', [d]);
  }
}

export function notify(ctx: PoolContext, clean = false): PoolJob {
  const job = makeJob(ctx, clean);
  for (const c of ctx.conns.values()) {
    if (c.workSent) sendJob(ctx, c, job, clean);
    else if (c.workers.size > 0) sendWork(ctx, c); // authorized while silent: difficulty first, then this job
  }
  return job;
}

export function setExtranonce(ctx: PoolContext, extranonce1?: string, size?: number, o?: { all?: boolean }): number {
  if (extranonce1 !== undefined && !isHex(extranonce1)) throw new Error('extranonce1 must be hex');
  let n = 0;
  let job: PoolJob | undefined;
  for (const c of ctx.conns.values()) {
    if (!c.subscribed || !(c.extranonceSubscribed || o?.all)) continue;
    c.extranonce1 = extranonce1 ?? newExtranonce1(ctx);
    if (size !== undefined) c.extranonce2Size = size;
    if (!unsolicited(ctx, c, 'mining.set_extranonce', [c.extranonce1, c.extranonce2Size])) continue;
    n++;
    // The old jobs were tied to the old extranonce: retire them with a clean job.
    if (c.workSent) {
      if (!job) job = makeJob(ctx, false);
      sendJob(ctx, c, job, true);
    }
  }
  return n;
}

export function setVersionMask(ctx: PoolContext, mask: string): number {
  ctx.poolMask = parseHex32(mask);
  let n = 0;
  for (const c of ctx.conns.values()) {
    if (c.requestedMask === undefined) continue;
    c.versionMask = (c.requestedMask & ctx.poolMask) >>> 0;
    if (unsolicited(ctx, c, 'mining.set_version_mask', [hex32(c.versionMask)])) n++;
  }
  return n;
}

export function sendReconnect(ctx: PoolContext, h?: string, p?: number, wait?: number): number {
  const params = h === undefined ? [] : [h, p ?? ctx.port, wait ?? 0];
  let n = 0;
  for (const c of ctx.conns.values()) if (unsolicited(ctx, c, 'client.reconnect', params)) n++;
  return n;
}

export function ping(ctx: PoolContext): number {
  let n = 0;
  for (const c of ctx.conns.values()) if (!c.dead && write(c, { id: `ping-${++ctx.pingSeq}`, method: 'mining.ping', params: [] })) n++;
  return n;
}

export function send(ctx: PoolContext, msg: object, connId?: number): number {
  let n = 0;
  for (const c of ctx.conns.values()) if ((connId === undefined || c.id === connId) && write(c, msg)) n++;
  return n;
}

export function clients(ctx: PoolContext): ClientInfo[] {
  return [...ctx.conns.values()].map((c) => ({
    connId: c.id,
    extranonce1: c.extranonce1,
    extranonce2Size: c.extranonce2Size,
    subscribed: c.subscribed,
    userAgent: c.userAgent,
    workers: [...c.workers],
    difficulty: c.difficulty,
    suggestedDifficulty: c.suggestedDifficulty,
    versionMask: c.versionMask === undefined ? undefined : hex32(c.versionMask),
    extranonceSubscribed: c.extranonceSubscribed,
    jobIds: [...c.jobs.keys()],
    jobDifficulties: Object.fromEntries([...c.jobs].map(([id, sent]) => [id, sent.difficulty])),
  }));
}

export function shareLog(ctx: PoolContext, filter: ShareLogFilter = {}): PoolShare[] {
  const { worker, connId, jobId, accepted } = filter;
  return ctx.stats.shares
    .filter(
      (s) =>
        (worker === undefined || s.worker === worker) &&
        (connId === undefined || s.connId === connId) &&
        (jobId === undefined || s.jobId === jobId) &&
        (accepted === undefined || s.accepted === accepted),
    )
    .map((s) => ({ ...s }));
}
