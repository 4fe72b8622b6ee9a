/** Real mainnet block vectors (test/fixtures/blocks.json, sources in test/fixtures/README.md) as validator inputs. */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ShareContext, ShareSubmit, StratumJob } from '../../src/work/index.js';

export interface BlockVector {
  name: string;
  height: number;
  blockHash: string;
  header: string;
  coinbaseTx: string;
  coinbaseTxid: string;
  merkleBranch: string[];
  stratum: {
    prevhash: string;
    version: string;
    nbits: string;
    ntime: string;
    coinb1: string;
    coinb2: string;
    extranonce1: string;
    extranonce2: string;
    extranonce2Size: number;
    nonce: string;
    versionMask?: string;
    versionBits?: string;
  };
}

export const BLOCKS: BlockVector[] = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/blocks.json', import.meta.url)), 'utf8'));

export function jobOf(v: BlockVector, jobId = 'job1'): StratumJob {
  const s = v.stratum;
  return {
    jobId,
    prevhash: s.prevhash,
    coinb1: s.coinb1,
    coinb2: s.coinb2,
    merkleBranch: v.merkleBranch,
    version: s.version,
    nbits: s.nbits,
    ntime: s.ntime,
  };
}

export function ctxOf(v: BlockVector, difficulty = 1): ShareContext {
  const s = v.stratum;
  return {
    extranonce1: s.extranonce1,
    extranonce2Size: s.extranonce2Size,
    versionMask: s.versionMask ? Number.parseInt(s.versionMask, 16) : null,
    difficulty,
  };
}

export function submitOf(v: BlockVector, jobId = 'job1'): ShareSubmit {
  const s = v.stratum;
  return { jobId, extranonce2: s.extranonce2, ntime: s.ntime, nonce: s.nonce, versionBits: s.versionBits };
}
