/**
 * The records the writer builds (format v2, docs/journal.md). encodeRecord
 * keeps the object's key order, so the order of the keys here is the order
 * on disk: changing it changes the bytes of every journal.
 */

import type { StratumJob } from '../protocol/work-types.js';
import { formatU32BE } from '../util/hex.js';
import { VERSION } from '../version.js';
import type { JobStoreLimits } from '../work/job-store.js';
import type { ShareVerdict } from '../work/validate-share.js';
import {
  type HeaderRecord,
  JOURNAL_FORMAT_VERSION,
  type JobRecord,
  type LocalAggregateRecord,
  type LocalShareMode,
  type LocalShareRecord,
  type LocalVerdict,
  type PoolVerdict,
  type SessionRecord,
  type ShareRecord,
} from './format.js';
import type { JournalSession, JournalShare } from './writer-types.js';

/** The first record of every file: the format version, the share-check limits in force and how local-only shares are kept. */
export function buildHeaderRecord(ts: number, lim: JobStoreLimits, ntimeWindow: number, lm: LocalShareMode): HeaderRecord {
  return {
    t: 'hdr',
    ts,
    v: JOURNAL_FORMAT_VERSION,
    sw: `hashgate/${VERSION}`,
    lim: { maxJobs: lim.maxJobs, maxStaleIds: lim.maxStaleIds, maxSharesPerJob: lim.maxSharesPerJob, ntimeWindow },
    lm,
  };
}

export function buildSessionRecord(ts: number, info: JournalSession): SessionRecord {
  return {
    t: 'sess',
    ts,
    sid: info.sessionId,
    ...(info.worker !== undefined ? { w: info.worker } : {}),
    en1: info.extranonce1,
    en2: info.extranonce2Size,
    mask: info.versionMask === null ? null : formatU32BE(info.versionMask),
    ...(info.peer !== undefined ? { peer: info.peer } : {}),
    ...(info.pool !== undefined ? { pool: info.pool } : {}),
  };
}

export function buildJobRecord(ts: number, jk: number, j: StratumJob): JobRecord {
  return {
    t: 'job',
    ts,
    jk,
    id: j.jobId,
    ph: j.prevhash,
    c1: j.coinb1,
    c2: j.coinb2,
    mb: j.merkleBranch,
    ver: j.version,
    nb: j.nbits,
    nt: j.ntime,
  };
}

function localVerdict(v: ShareVerdict): LocalVerdict {
  return v.valid ? v.status : v.reason;
}

/** A share with both verdicts; the submit fields exactly as the miner sent them. */
export function buildShareRecord(
  ts: number,
  sid: string,
  share: JournalShare,
  pv: PoolVerdict | undefined,
  pe: readonly [number, string] | undefined,
): ShareRecord {
  const v = share.verdict;
  const sub = share.submit;
  return {
    t: 'share',
    ts,
    sid,
    w: share.worker,
    jid: sub.jobId,
    en2: sub.extranonce2,
    ntm: sub.ntime,
    non: sub.nonce,
    ...(sub.versionBits !== undefined ? { vb: sub.versionBits } : {}),
    d: share.difficulty,
    lv: localVerdict(v),
    ...(v.hash !== undefined ? { h: v.hash } : {}),
    ...(v.shareDifficulty !== undefined && Number.isFinite(v.shareDifficulty) ? { sd: v.shareDifficulty } : {}),
    pv: pv ?? 'unknown',
    ...(pe !== undefined ? { pe } : {}),
  };
}

/** One local-only share: a share record's submit fields and hash, at the local difficulty, with no pool verdict. */
export function buildLocalShareRecord(ts: number, sid: string, share: JournalShare): LocalShareRecord {
  const v = share.verdict;
  const sub = share.submit;
  const lv = localVerdict(v);
  return {
    t: 'lsh',
    ts,
    sid,
    w: share.worker,
    jid: sub.jobId,
    en2: sub.extranonce2,
    ntm: sub.ntime,
    non: sub.nonce,
    ...(sub.versionBits !== undefined ? { vb: sub.versionBits } : {}),
    d: share.difficulty,
    ...(lv !== 'accepted' ? { lv } : {}),
    ...(v.hash !== undefined ? { h: v.hash } : {}),
    ...(v.shareDifficulty !== undefined && Number.isFinite(v.shareDifficulty) ? { sd: v.shareDifficulty } : {}),
  };
}

/** The local-only shares of one session and worker since the last aggregate (local-shares.ts keeps them). */
export interface LocalAggregate {
  readonly w: string;
  n: number;
  d: number;
  lo: number;
  hi: number;
  from: number;
  to: number;
}

export function buildLocalAggregateRecord(ts: number, sid: string, a: LocalAggregate): LocalAggregateRecord {
  return { t: 'loc', ts, sid, w: a.w, n: a.n, d: a.d, lo: a.lo, hi: a.hi, from: a.from, to: a.to };
}
