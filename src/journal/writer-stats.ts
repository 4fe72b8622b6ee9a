/**
 * The journal writer's counters. Its parts (the file output, the job keys,
 * the share queue) count into one mutable object; `JournalWriter.stats`
 * hands out a copy. The admin endpoint declares the same shape itself
 * (`JournalStats` in src/admin/types.ts: admin and journal are siblings and
 * may not import each other); the daemon, which wires them, checks the fit.
 */

export interface JournalWriterStats {
  readonly records: number;
  readonly bytes: number;
  readonly jobsWritten: number;
  readonly writeErrors: number;
  readonly dropped: number;
  readonly pendingShares: number;
  readonly forcedVerdicts: number;
  readonly lateVerdicts: number;
  /** Files opened (the first, each reopen and each rotation). */
  readonly files: number;
  /** Size rotations done. */
  readonly rotations: number;
}

/** Every stat but `pendingShares` (the size of the pending set, read when asked), writable. */
export type WriterCounters = { -readonly [K in Exclude<keyof JournalWriterStats, 'pendingShares'>]: number };

export function createWriterCounters(): WriterCounters {
  // Key order is the order of the stats object /status prints.
  return { records: 0, bytes: 0, jobsWritten: 0, writeErrors: 0, dropped: 0, forcedVerdicts: 0, lateVerdicts: 0, files: 0, rotations: 0 };
}
