/**
 * Test data that looks real, for the journal generator (generate.ts): a
 * small seeded PRNG and jobs built like a real pool's coinbases. Seeded, so
 * runs are reproducible.
 */

import type { StratumJob } from '../protocol/work-types.js';
import { encodeHex, formatU32BE } from '../util/hex.js';
import { createRng } from '../util/rng.js';

export { createRng };

/** Regtest difficulty: every hash is a block candidate. */
export const REGTEST_NBITS = '207fffff';
/** Mainnet-like nbits (a 2024 difficulty): hashes are almost never blocks. */
export const MAINNET_NBITS = '17034219';

export function randomHex(rng: () => number, bytes: number): string {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) b[i] = Math.floor(rng() * 256);
  return encodeHex(b);
}

function le(value: number, bytes: number): string {
  let s = '';
  for (let i = 0; i < bytes; i++) s += ((value >>> (8 * i)) & 0xff).toString(16).padStart(2, '0');
  return s;
}

/**
 * A job shaped like a real pool's: coinb1 = tx version, one null-prevout
 * input and the scriptSig up to the extranonces (BIP 34 height push, pool
 * tag); coinb2 = the rest of the scriptSig, sequence, a P2WPKH payout and
 * the witness commitment output, locktime.
 */
export function buildRealisticJob(
  rng: () => number,
  o: { jobId: string; height: number; prevhash: string; ntime: number; nbits: string; extranonceBytes: number },
): StratumJob {
  const heightPush = `03${le(o.height, 3)}`;
  const tag = Buffer.from('/hashgate-sim/').toString('hex');
  const tail = Buffer.from('/mined by sim/').toString('hex');
  const scriptLen = heightPush.length / 2 + 1 + tag.length / 2 + o.extranonceBytes + tail.length / 2;
  const coinb1 = `01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff${le(scriptLen, 1)}${heightPush}${le(tag.length / 2, 1)}${tag}`;
  const payout = `${le(312_500_000 + Math.floor(rng() * 50_000_000), 4)}00000000160014${randomHex(rng, 20)}`;
  const commitment = `0000000000000000266a24aa21a9ed${randomHex(rng, 32)}`;
  const coinb2 = `${tail}ffffffff02${payout}${commitment}00000000`;
  const merkleBranch = Array.from({ length: 12 }, () => randomHex(rng, 32));
  return {
    jobId: o.jobId,
    prevhash: o.prevhash,
    coinb1,
    coinb2,
    merkleBranch,
    version: '20000000',
    nbits: o.nbits,
    ntime: formatU32BE(o.ntime),
  };
}
