/**
 * One session as the audit replays it: the share context from its `sess`
 * records and a JobStore rebuilt from its `ntf` records, so duplicate sets,
 * clean_jobs staleness and job eviction come out exactly as they did live.
 * A file that starts after a rotation has no history for its sessions: the
 * writer replays the jobs each store held (`ntf` with `rp`, the stale ids on
 * the first), and the store is rebuilt from them.
 */

import type { NotifyRecord, SessionRecord } from '../journal/format.js';
import { parseU32BE } from '../util/hex.js';
import { type PreparedJob, prepareJob } from '../work/job.js';
import { JobStore, type JobStoreLimits } from '../work/job-store.js';

/** Jobs whose extranonce is remembered per session, as live (src/session/miner-work.ts). */
export const MAX_JOB_TERMS = 64;

/** The extranonce a job was sent with. */
export interface JobExtranonce {
  readonly extranonce1: string;
  readonly extranonce2Size: number;
}

export interface AuditSession {
  ctx: { extranonce1: string; extranonce2Size: number; versionMask: number | null };
  /**
   * The extranonce each job was sent with: a share of a job sent before a mining.set_extranonce is
   * built on the old one, and was judged so live. Newest last, at most MAX_JOB_TERMS.
   */
  readonly jobTerms: Map<string, JobExtranonce>;
  readonly store: JobStore;
  /** No ntf applied yet. */
  fresh: boolean;
  /** Ids of jobs restored from a rotation replay while the session had no earlier state here. */
  restored: Set<string> | null;
  /** Inside the run of replayed ntf records that is restoring this session. */
  restoring: boolean;
  /** Where the session's job state became incomplete (a skipped ntf), until the next clean notify. */
  taint: string | null;
}

/** The share context a `sess` record sets. */
export function sessionContext(rec: SessionRecord): AuditSession['ctx'] {
  return {
    extranonce1: rec.en1,
    extranonce2Size: rec.en2,
    versionMask: rec.mask === null ? null : (parseU32BE(rec.mask) as number),
  };
}

export function createAuditSession(rec: SessionRecord, limits: Partial<JobStoreLimits>): AuditSession {
  return {
    ctx: sessionContext(rec),
    jobTerms: new Map(),
    store: new JobStore(limits),
    fresh: true,
    restored: null,
    restoring: false,
    taint: null,
  };
}

/** A stand-in job used only to put ids into a store's stale set (restoreStale). */
const PLACEHOLDER = (() => {
  const r = prepareJob({
    jobId: 'x',
    prevhash: '00'.repeat(32),
    coinb1: '',
    coinb2: '',
    merkleBranch: [],
    version: '20000000',
    nbits: '1d00ffff',
    ntime: '00000000',
  });
  if (!r.ok) throw new Error('placeholder job');
  return r.job;
})();

/**
 * Rebuilds a fresh store's stale set from a rotation replay: each id is added
 * as a placeholder and retired by re-adding the session's oldest live job with
 * clean_jobs, which marks them stale in order, as JobStore.add did live.
 */
function restoreStale(store: JobStore, staleIds: readonly string[], anchor: PreparedJob): void {
  for (const id of staleIds) {
    if (id === anchor.jobId) continue;
    store.add({ ...PLACEHOLDER, jobId: id, wire: { ...PLACEHOLDER.wire, jobId: id } }, false);
    store.add(anchor, true);
  }
  store.add(anchor, false);
}

/** The extranonce a share of `jobId` is checked with: its job's, else the session's current one. */
export function extranonceFor(s: AuditSession, jobId: unknown): JobExtranonce {
  return (typeof jobId === 'string' ? s.jobTerms.get(jobId) : undefined) ?? s.ctx;
}

/**
 * Remembers the extranonce a job goes out with. A rotation replay (`rp`) re-sends jobs the session
 * already held: one this audit knows keeps its terms; one it does not gets the session's current
 * extranonce (the replayed file has no earlier one; docs/journal.md).
 */
function noteTerms(s: AuditSession, rec: NotifyRecord, jobId: string): void {
  const terms = s.jobTerms;
  if (rec.rp === true && terms.has(jobId)) return;
  terms.delete(jobId);
  terms.set(jobId, { extranonce1: s.ctx.extranonce1, extranonce2Size: s.ctx.extranonce2Size });
  while (terms.size > MAX_JOB_TERMS) terms.delete(terms.keys().next().value as string);
}

/** Applies an `ntf` whose job the segment holds to the session's store. */
export function applyNotify(s: AuditSession, rec: NotifyRecord, job: PreparedJob): void {
  noteTerms(s, rec, job.jobId);
  if (rec.rp === true && (s.fresh || s.restoring)) {
    // Rotation replay into a session this audit has no history for: rebuild its store as it stood.
    s.restoring = true;
    s.restored ??= new Set();
    s.restored.add(job.jobId);
    if (s.fresh && rec.stale !== undefined && rec.stale.length > 0) restoreStale(s.store, rec.stale, job);
    else s.store.add(job, false);
  } else if (rec.rp === true) {
    // The audit already holds this session's state (files read in order): the replay changes nothing.
    s.store.add(job, false);
  } else {
    s.restoring = false;
    if (rec.clean) {
      s.taint = null;
      s.restored = null;
    }
    s.store.add(job, rec.clean);
  }
  s.fresh = false;
}
