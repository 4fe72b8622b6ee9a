/**
 * The wire shapes of work: a job as mining.notify carries it and a share as
 * mining.submit carries it, every field hex exactly as sent. The pool and
 * miner codecs (./pool.ts, ./miner.ts) produce them; the work core
 * (src/work) prepares and checks them; the journal records them.
 *
 * Byte orders, as they arrive on the wire (mining.notify params):
 * - prevhash: the 32-byte previous block hash in header (internal) order
 *   with every 4-byte word byte-swapped. Reading the hex as big-endian words
 *   and byte-swapping each word gives the header's words.
 * - coinb1, coinb2: raw coinbase transaction bytes (non-witness serialization).
 * - merkle_branch: 32-byte hashes in internal byte order, leaf level first.
 * - version, nbits, ntime: 8 hex digits, big-endian numbers. The header
 *   stores them little-endian.
 * mining.submit: ntime, nonce and version_bits are 8 hex digits, big-endian.
 */

/** mining.notify parameters, all hex exactly as sent on the wire. */
export interface StratumJob {
  readonly jobId: string;
  readonly prevhash: string;
  readonly coinb1: string;
  readonly coinb2: string;
  readonly merkleBranch: readonly string[];
  /** Big-endian hex. */
  readonly version: string;
  /** Big-endian hex. */
  readonly nbits: string;
  /** Big-endian hex. */
  readonly ntime: string;
  readonly cleanJobs?: boolean;
}

/** mining.submit parameters (after the worker name), hex as on the wire. */
export interface ShareSubmit {
  readonly jobId: string;
  readonly extranonce2: string;
  /** Big-endian hex. */
  readonly ntime: string;
  /** Big-endian hex. */
  readonly nonce: string;
  /** BIP 310 version_bits, big-endian hex; optional. */
  readonly versionBits?: string | undefined;
}
