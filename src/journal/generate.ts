/**
 * Writes realistic journals with the real writer, for tests and the audit
 * benchmark.
 *
 * It plays a proxy: sessions subscribe (some with BIP 310 version rolling),
 * a pool sends jobs built like real coinbases (BIP 34 height, pool tag,
 * P2WPKH payout, witness commitment, a 12-level merkle branch), miners
 * submit at difficulty 2^-32 so every hash counts, and each share is checked
 * with validateShare against a per-session JobStore exactly as the proxy
 * does live. A share mix covers every reject reason, block candidates
 * (jobs with the regtest nbits 207fffff), pool verdicts that arrive late
 * (so notifies overtake them), disputes, pool-accepted-but-locally-invalid
 * shares, reconnects and rotation. Seeded, so runs are reproducible.
 */

import { rename } from 'node:fs/promises';
import type { RejectReason } from '../protocol/stratum-errors.js';
import type { ShareSubmit, StratumJob } from '../protocol/work-types.js';
import { encodeHex, formatU32BE } from '../util/hex.js';
import { prepareJob } from '../work/job.js';
import { JobStore, type JobStoreLimits } from '../work/job-store.js';
import { validateShare } from '../work/validate-share.js';
import type { PoolVerdict } from './format.js';
import { createJournalWriter, type PendingShare } from './writer.js';

export interface GenerateJournalOptions {
  readonly path: string;
  readonly shares: number;
  /** Concurrent sessions (default 20). */
  readonly sessions?: number;
  readonly seed?: number;
  /** Epoch ms of the first record (default 2024-06-01T00:00:00Z). */
  readonly startTs?: number;
  /** Mean milliseconds between shares, site-wide (default 5). */
  readonly meanIntervalMs?: number;
  /** A new job every this many shares (default 200). */
  readonly sharesPerJob?: number;
  /** Every this many jobs is a new block (clean_jobs, new prevhash) (default 4). */
  readonly cleanEvery?: number;
  /** A session reconnects every this many shares (default 1000; 0 never). */
  readonly reconnectEvery?: number;
  /** Rotate (rename to path.N, reopen) every this many shares (default never). */
  readonly rotateEvery?: number;
  /** Include rejects, disputes and odd pool verdicts (default true); false: all valid and accepted. */
  readonly mix?: boolean;
  readonly limits?: Partial<JobStoreLimits>;
  readonly maxDedupeJobs?: number;
}

/** What the audit should report for one worker, tracked while generating. */
export interface WorkerExpectation {
  shares: number;
  valid: number;
  blocks: number;
  invalid: Partial<Record<RejectReason, number>>;
  disputes: number;
  poolAcceptedLocallyInvalid: number;
  sumDifficulty: number;
  firstTs: number;
  lastTs: number;
}

export interface GenerateJournalResult {
  /** Files written, oldest first. */
  readonly files: readonly string[];
  readonly shares: number;
  readonly records: number;
  readonly bytes: number;
  readonly jobs: number;
  readonly workers: ReadonlyMap<string, WorkerExpectation>;
}

/** Pool difficulty at which every hash is a valid share (bar 1 in 65,536: target diff1 · 2^32). */
export const TINY_DIFFICULTY = 2 ** -32;

const REGTEST_NBITS = '207fffff';
const MAINNET_NBITS = '17034219';

/** mulberry32: a small seeded PRNG; good enough for test data. */
export function createRng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomHex(rng: () => number, bytes: number): string {
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

interface SimSession {
  sid: string;
  worker: string;
  en1: string;
  en2Size: number;
  mask: number | null;
  store: JobStore;
  en2Counter: number;
  last?: ShareSubmit;
  staleJobId?: string;
}

type Kind = 'valid' | 'duplicate' | 'stale' | 'unknown' | 'bad-en2' | 'bad-vb' | 'ntime' | 'low-diff' | 'malformed';

/** Cumulative share mix: mostly valid, every reject reason represented. */
const MIX: readonly [Kind, number][] = [
  ['duplicate', 0.012],
  ['stale', 0.022],
  ['unknown', 0.026],
  ['bad-en2', 0.03],
  ['bad-vb', 0.034],
  ['ntime', 0.038],
  ['low-diff', 0.05],
  ['malformed', 0.054],
];

function pickKind(r: number): Kind {
  for (const [k, p] of MIX) if (r < p) return k;
  return 'valid';
}

function expectation(): WorkerExpectation {
  return {
    shares: 0,
    valid: 0,
    blocks: 0,
    invalid: {},
    disputes: 0,
    poolAcceptedLocallyInvalid: 0,
    sumDifficulty: 0,
    firstTs: Infinity,
    lastTs: -Infinity,
  };
}

/** Generates a journal (see the module comment). */
export async function generateJournal(options: GenerateJournalOptions): Promise<GenerateJournalResult> {
  if (!Number.isInteger(options.shares) || options.shares < 0)
    throw new RangeError(`generateJournal: shares must be an integer >= 0, got ${options.shares}`);
  const rng = createRng(options.seed ?? 1);
  const nSessions = options.sessions ?? 20;
  const sharesPerJob = options.sharesPerJob ?? 200;
  const cleanEvery = options.cleanEvery ?? 4;
  const reconnectEvery = options.reconnectEvery ?? 1000;
  const meanMs = options.meanIntervalMs ?? 5;
  const mix = options.mix ?? true;
  let ts = options.startTs ?? Date.UTC(2024, 5, 1);
  const writer = createJournalWriter({
    path: options.path,
    now: () => ts,
    ...(options.limits !== undefined ? { limits: options.limits } : {}),
    ...(options.maxDedupeJobs !== undefined ? { maxDedupeJobs: options.maxDedupeJobs } : {}),
  });
  const files: string[] = [];
  const workers = new Map<string, WorkerExpectation>();
  const sessions: SimSession[] = [];
  let sidCounter = 0;
  let jobCounter = 0;
  let height = 840_000;
  let prevhash = randomHex(rng, 32);
  let job: StratumJob | undefined;

  const nextJob = (): { job: StratumJob; clean: boolean } => {
    const clean = jobCounter % cleanEvery === 0;
    if (clean) {
      height++;
      prevhash = randomHex(rng, 32);
    }
    const nbits = jobCounter % 50 === 7 ? REGTEST_NBITS : MAINNET_NBITS;
    const j = buildRealisticJob(rng, {
      jobId: (jobCounter++).toString(16),
      height,
      prevhash,
      ntime: Math.floor(ts / 1000),
      nbits,
      extranonceBytes: 12,
    });
    return { job: j, clean };
  };

  const send = (s: SimSession, j: StratumJob, clean: boolean) => {
    const prepared = prepareJob(j);
    if (!prepared.ok) throw new Error(`generator built a bad job: ${prepared.error.field} ${prepared.error.message}`);
    if (clean) s.staleJobId = s.store.latest()?.jobId;
    s.store.add(prepared.job, clean);
    writer.notify(s.sid, j, clean);
  };

  const open = (worker: string) => {
    const n = sidCounter++;
    const s: SimSession = {
      sid: `${(options.seed ?? 1).toString(36)}-${n.toString(36)}`,
      worker,
      en1: formatU32BE(0x10000000 + n),
      en2Size: 8,
      mask: n % 4 === 3 ? null : 0x1fffe000,
      store: new JobStore(options.limits),
      en2Counter: 0,
    };
    writer.session({
      sessionId: s.sid,
      worker,
      extranonce1: s.en1,
      extranonce2Size: s.en2Size,
      versionMask: s.mask,
      peer: `10.0.${(n >> 8) & 255}.${n & 255}:4028`,
      pool: 'pool.example:3333',
    });
    if (job !== undefined) send(s, job, true);
    return s;
  };

  for (let i = 0; i < nSessions; i++) sessions.push(open(`site-a.rig${String(i + 1).padStart(4, '0')}`));

  const pending: { handle: PendingShare; pv: PoolVerdict; pe?: [number, string]; due: number }[] = [];
  let produced = 0;
  let rotations = 0;
  while (produced < options.shares) {
    if (produced % sharesPerJob === 0) {
      const next = nextJob();
      job = next.job;
      for (const s of sessions) send(s, job, next.clean);
    }
    if (reconnectEvery > 0 && produced > 0 && produced % reconnectEvery === 0) {
      const idx = Math.floor(rng() * sessions.length);
      const old = sessions[idx];
      writer.endSession(old.sid, 'miner disconnected');
      sessions[idx] = open(old.worker);
    }
    if (options.rotateEvery !== undefined && produced > 0 && produced % options.rotateEvery === 0) {
      await writer.flush();
      const rotated = `${options.path}.${++rotations}`;
      await rename(options.path, rotated);
      files.push(rotated);
      await writer.reopen();
    }
    ts += Math.floor(rng() * 2 * meanMs);

    const s = sessions[Math.floor(rng() * sessions.length)];
    const current = job as StratumJob;
    const kind = mix ? pickKind(rng()) : 'valid';
    const en2 = (s.en2Counter++).toString(16).padStart(s.en2Size * 2, '0');
    let submit: ShareSubmit = {
      jobId: current.jobId,
      extranonce2: en2,
      ntime: formatU32BE(parseInt(current.ntime, 16) + Math.floor(rng() * 30)),
      nonce: randomHex(rng, 4),
      versionBits: s.mask === null ? undefined : formatU32BE(Math.floor(rng() * 2 ** 32) & s.mask),
    };
    let d = TINY_DIFFICULTY;
    switch (kind) {
      case 'duplicate':
        if (s.last !== undefined) submit = s.last;
        break;
      case 'stale':
        if (s.staleJobId !== undefined) submit = { ...submit, jobId: s.staleJobId };
        break;
      case 'unknown':
        submit = { ...submit, jobId: 'deadbeef' };
        break;
      case 'bad-en2':
        submit = { ...submit, extranonce2: en2.slice(2) };
        break;
      case 'bad-vb':
        submit = { ...submit, versionBits: 'e0000000' };
        break;
      case 'ntime':
        submit = { ...submit, ntime: formatU32BE(parseInt(current.ntime, 16) - 1) };
        break;
      case 'low-diff':
        // Not on a regtest-nbits job: there every hash is a block, which outranks low difficulty.
        if (current.nbits !== REGTEST_NBITS) d = 2 ** 20;
        break;
      case 'malformed':
        submit = { ...submit, nonce: 'xyz' };
        break;
      case 'valid':
        break;
    }
    s.last = submit;
    const verdict = validateShare(s.store, { extranonce1: s.en1, extranonce2Size: s.en2Size, versionMask: s.mask, difficulty: d }, submit);
    const r = rng();
    let pv: PoolVerdict;
    let pe: [number, string] | undefined;
    if (!mix) pv = 'accepted';
    else if (verdict.valid) {
      if (r < 0.01) {
        pv = 'rejected';
        pe = [23, 'Low difficulty share'];
      } else pv = r < 0.02 ? 'timeout' : 'accepted';
    } else if (verdict.reason === 'low-difficulty' && r < 0.2) pv = 'accepted';
    else pv = 'not-sent';

    const handle = writer.submit(s.sid, { worker: s.worker, submit, difficulty: d, verdict });
    // Pool answers arrive a few shares later, so notifies and other shares overtake them.
    const delay = pv === 'not-sent' ? 0 : Math.floor(rng() * 4);
    pending.push({ handle, pv, ...(pe !== undefined ? { pe } : {}), due: produced + delay });
    for (let k = 0; k < pending.length;) {
      const p = pending[k];
      if (p.due <= produced) {
        p.handle.settle(p.pv, p.pe);
        pending[k] = pending[pending.length - 1];
        pending.pop();
      } else k++;
    }

    let w = workers.get(s.worker);
    if (w === undefined) {
      w = expectation();
      workers.set(s.worker, w);
    }
    w.shares++;
    w.firstTs = Math.min(w.firstTs, ts);
    w.lastTs = Math.max(w.lastTs, ts);
    if (verdict.valid) {
      w.valid++;
      if (verdict.status === 'block') w.blocks++;
      w.sumDifficulty += d;
      if (pv === 'rejected') w.disputes++;
    } else {
      w.invalid[verdict.reason] = (w.invalid[verdict.reason] ?? 0) + 1;
      if (pv === 'accepted') w.poolAcceptedLocallyInvalid++;
    }
    produced++;
    if (produced % 5000 === 0) await writer.flush();
  }
  for (const p of pending) p.handle.settle(p.pv, p.pe);
  for (const s of sessions) writer.endSession(s.sid, 'shutdown');
  await writer.close();
  files.push(options.path);
  const st = writer.stats;
  if (st.writeErrors > 0 || st.dropped > 0)
    throw new Error(`generator: writer reported ${st.writeErrors} write errors, ${st.dropped} dropped records`);
  return { files, shares: produced, records: st.records, bytes: st.bytes, jobs: st.jobsWritten, workers };
}
