/**
 * A segment of a journal: the records from one `hdr` to the next. It holds
 * the share-check limits the header recorded and the jobs defined in it,
 * by `jk`, in an LRU map bounded like the writer's dedupe map (a job the
 * map no longer holds makes the `ntf` naming it a reference problem).
 */

import type { HeaderRecord, JobRecord } from '../journal/format.js';
import { type PreparedJob, prepareJob } from '../work/job.js';
import type { JobStoreLimits } from '../work/job-store.js';

export interface Segment {
  /** A segment of an unsupported format version: its records are skipped. */
  readonly skip: boolean;
  /** Its format version (1 without a header). */
  readonly version: number;
  /**
   * Whether every local-only share is in it as an `lsh` record (header `lm: "every"`, or v1, which has no
   * local difficulty). If not, a live duplicate set held shares this journal does not: see audit.ts.
   */
  readonly everyLocalShare: boolean;
  readonly limits: Partial<JobStoreLimits>;
  readonly ntimeWindow: number | undefined;
  readonly jobs: Map<number, PreparedJob>;
}

/** A segment with the work core's default limits (no header, or a skipped one). */
export function createSegment(skip = false): Segment {
  return { skip, version: 1, everyLocalShare: true, limits: {}, ntimeWindow: undefined, jobs: new Map() };
}

/** The segment a (readable) header starts, with the limits it recorded. */
export function createSegmentFromHeader(hdr: Pick<HeaderRecord, 'v' | 'lim' | 'lm'>): Segment {
  const lim = hdr.lim;
  const limits: Partial<JobStoreLimits> = {
    ...(lim?.maxJobs !== undefined ? { maxJobs: lim.maxJobs } : {}),
    ...(lim?.maxStaleIds !== undefined ? { maxStaleIds: lim.maxStaleIds } : {}),
    ...(lim?.maxSharesPerJob !== undefined ? { maxSharesPerJob: lim.maxSharesPerJob } : {}),
  };
  const everyLocalShare = hdr.v === 1 || hdr.lm === 'every';
  return { skip: false, version: hdr.v, everyLocalShare, limits, ntimeWindow: lim?.ntimeWindow, jobs: new Map() };
}

/** The work core's job fields by their journal keys, so a problem names the key the file has. */
const JOB_FIELD_KEYS: Record<string, string> = {
  jobId: 'id',
  prevhash: 'ph',
  coinb1: 'c1',
  coinb2: 'c2',
  merkleBranch: 'mb',
  version: 'ver',
  nbits: 'nb',
  ntime: 'nt',
};

/** The job of a `job` record, prepared as the proxy prepared it, or what is wrong with it. */
export function prepareJobRecord(
  rec: JobRecord,
): { readonly ok: true; readonly job: PreparedJob } | { readonly ok: false; readonly message: string } {
  const r = prepareJob({
    jobId: rec.id,
    prevhash: rec.ph,
    coinb1: rec.c1,
    coinb2: rec.c2,
    merkleBranch: rec.mb,
    version: rec.ver,
    nbits: rec.nb,
    ntime: rec.nt,
  });
  if (r.ok) return r;
  const field = r.error.field.replace(/^job\.(\w+)/, (_m, k: string) => `job.${JOB_FIELD_KEYS[k] ?? k}`);
  return { ok: false, message: `${field}: ${r.error.message}` };
}

/** Adds a job as the newest; true when the oldest had to go to keep `maxJobs`. */
export function putJob(seg: Segment, jk: number, job: PreparedJob, maxJobs: number): boolean {
  seg.jobs.delete(jk);
  seg.jobs.set(jk, job);
  if (seg.jobs.size <= maxJobs) return false;
  seg.jobs.delete(seg.jobs.keys().next().value as number);
  return true;
}

/** The job under `jk`, made the newest; undefined when the segment does not hold it. */
export function touchJob(seg: Segment, jk: number): PreparedJob | undefined {
  const job = seg.jobs.get(jk);
  if (job === undefined) return undefined;
  seg.jobs.delete(jk);
  seg.jobs.set(jk, job);
  return job;
}
