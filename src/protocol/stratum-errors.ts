/**
 * Stratum V1 error codes, why a share is refused, and the one table that maps
 * each reason to the code and message a miner is sent. Wire vocabulary, so it
 * lives in the protocol layer: the codecs, the work core's verdicts, the
 * journal and the metrics all read it from here (docs/architecture.md).
 *
 * Stratum V1 error codes in common use (cgminer, ckpool, slush's spec):
 * 20 other/unknown, 21 job not found (stale), 22 duplicate share,
 * 23 low difficulty share, 24 unauthorized worker, 25 not subscribed.
 */

/**
 * The reasons, in the order the work core's validateShare checks them: the
 * first check that fails names the verdict. (unknown-job and stale-job are
 * one step.) Also the journal's `reason` values (docs/journal.md).
 */
export const REJECT_REASONS = [
  'malformed',
  'unknown-job',
  'stale-job',
  'bad-extranonce2-length',
  'bad-version-bits',
  'ntime-out-of-range',
  'duplicate',
  'low-difficulty',
] as const;

export type RejectReason = (typeof REJECT_REASONS)[number];

export const StratumErrorCode = {
  Other: 20,
  JobNotFound: 21,
  Duplicate: 22,
  LowDifficulty: 23,
  Unauthorized: 24,
  NotSubscribed: 25,
} as const;

export type StratumErrorCode = (typeof StratumErrorCode)[keyof typeof StratumErrorCode];

/** One row per reason: the Stratum error sent to the miner and a one-line explanation. */
export const REJECT_TABLE: Readonly<Record<RejectReason, { code: StratumErrorCode; message: string }>> = Object.freeze({
  malformed: { code: StratumErrorCode.Other, message: 'Malformed share (bad hex or wrong field length)' },
  'unknown-job': { code: StratumErrorCode.JobNotFound, message: 'Job not found' },
  'stale-job': { code: StratumErrorCode.JobNotFound, message: 'Stale job (superseded by clean_jobs)' },
  'bad-extranonce2-length': { code: StratumErrorCode.Other, message: 'Extranonce2 has the wrong length' },
  'bad-version-bits': { code: StratumErrorCode.Other, message: 'Version bits outside the negotiated mask' },
  'ntime-out-of-range': { code: StratumErrorCode.Other, message: 'ntime out of range' },
  duplicate: { code: StratumErrorCode.Duplicate, message: 'Duplicate share' },
  'low-difficulty': { code: StratumErrorCode.LowDifficulty, message: 'Low difficulty share' },
});

export function isRejectReason(s: unknown): s is RejectReason {
  return typeof s === 'string' && (REJECT_REASONS as readonly string[]).includes(s);
}

/** The Stratum error triple `[code, message, null]` for a reason, as sent in a JSON-RPC error. */
export function stratumErrorFor(reason: RejectReason): [number, string, null] {
  const row = REJECT_TABLE[reason];
  return [row.code, row.message, null];
}
