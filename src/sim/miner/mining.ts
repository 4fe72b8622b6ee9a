/**
 * The simulated miner's hashing: headers built from the current job (./hash.ts, node:crypto), nonces tried a
 * bounded number per event-loop turn, under a hash-rate cap and an optional shares-per-second cap.
 */
import {
  buildHeader,
  coinbase,
  displayHex,
  hashToBigInt,
  hex32,
  merkleRoot,
  parseHex32,
  rollVersion,
  sha256d,
  shareDifficulty,
} from '../hash.js';
import type { MinerContext, Work } from './context.js';
import { submit } from './submit.js';
import type { MinerShare } from './types.js';

/** Fresh work for the current job: the next extranonce2 and, with version rolling, the next version bits. */
function buildWork(ctx: MinerContext): Work | undefined {
  const { job, extranonce1, versionMask } = ctx;
  if (!job || extranonce1 === undefined) return undefined;
  const width = ctx.extranonce2Size * 2;
  const en2 = (ctx.en2Counter++).toString(16).padStart(width, '0').slice(-width);
  let versionBits: number | undefined;
  let version = parseHex32(job.version);
  if (versionMask !== undefined && versionMask !== 0) {
    const low = versionMask & -versionMask;
    versionBits = (Math.imul(ctx.en2Counter, low) & versionMask) >>> 0 || low >>> 0;
    version = rollVersion(version, versionBits, versionMask);
  }
  const root = merkleRoot(coinbase(job.coinb1, extranonce1, en2, job.coinb2), job.merkleBranch);
  const header = buildHeader({
    version,
    prevhash: job.prevhash,
    merkleRoot: root,
    ntime: parseHex32(job.ntime),
    nbits: parseHex32(job.nbits),
    nonce: 0,
  });
  return { job, extranonce1, extranonce2: en2, versionBits, header, nonce: 0 };
}

function canMine(ctx: MinerContext): boolean {
  const { opts, stats } = ctx;
  return (
    ctx.mine &&
    !ctx.closed &&
    !ctx.paused &&
    stats.connected &&
    stats.authorized &&
    ctx.job !== undefined &&
    ctx.extranonce1 !== undefined &&
    (opts.maxShares === undefined || stats.found < opts.maxShares)
  );
}

/** Runs mineTick on the next turn (or after delayMs); at most one is scheduled. */
export function scheduleMine(ctx: MinerContext, delayMs = 0): void {
  if (ctx.mineScheduled || ctx.closed) return;
  ctx.mineScheduled = true;
  if (delayMs > 0) {
    const t = setTimeout(() => {
      ctx.timers.delete(t);
      ctx.mineScheduled = false;
      mineTick(ctx);
    }, delayMs);
    ctx.timers.add(t);
  } else
    setImmediate(() => {
      ctx.mineScheduled = false;
      mineTick(ctx);
    });
}

/** A share found in `w` (hash `h`, internal order): counted, emitted and submitted; the next one gets fresh work. */
function found(ctx: MinerContext, w: Work, h: Buffer, hashInt: bigint): void {
  const share: MinerShare = {
    jobId: w.job.jobId,
    extranonce2: w.extranonce2,
    ntime: w.job.ntime,
    nonce: hex32(w.nonce),
    versionBits: w.versionBits === undefined ? undefined : hex32(w.versionBits),
  };
  ctx.stats.found++;
  ctx.events.emit('found', share);
  ctx.work = undefined; // next share: fresh extranonce2 (and version bits)
  const rate = ctx.opts.sharesPerSecond;
  if (rate && rate > 0) ctx.nextShareAt = Date.now() + 1000 / rate;
  // What the miner believes it mined at: the difficulty behind the target this share met (mineTick reads
  // ctx.target once per turn, and only a message handler, between turns, changes it).
  void submit(ctx, share, undefined, { difficulty: ctx.targetDifficulty, shareDifficulty: shareDifficulty(hashInt), hash: displayHex(h) });
}

/** One turn of hashing: up to hashesPerTick nonces, within this second's hash budget. */
function mineTick(ctx: MinerContext): void {
  if (!canMine(ctx)) return;
  const now = Date.now();
  if (now < ctx.nextShareAt) return scheduleMine(ctx, ctx.nextShareAt - now);
  if (now - ctx.windowStart >= 1000) {
    ctx.windowStart = now;
    ctx.windowHashes = 0;
  }
  if (ctx.windowHashes >= ctx.maxHashRate) return scheduleMine(ctx, ctx.windowStart + 1000 - now);
  if (!ctx.work) ctx.work = buildWork(ctx);
  if (!ctx.work || ctx.target === undefined) return;
  const w = ctx.work;
  const tgt = ctx.target;
  const n = Math.min(ctx.hashesPerTick, ctx.maxHashRate - ctx.windowHashes);
  for (let i = 0; i < n; i++) {
    w.header.writeUInt32LE(w.nonce, 76);
    const h = sha256d(w.header);
    ctx.stats.hashes++;
    ctx.windowHashes++;
    const hashInt = hashToBigInt(h);
    if (hashInt <= tgt) {
      found(ctx, w, h, hashInt);
      break;
    }
    if (w.nonce === 0xffffffff) {
      ctx.work = undefined;
      break;
    }
    w.nonce++;
  }
  scheduleMine(ctx);
}
