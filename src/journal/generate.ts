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
 * shares, reconnects and rotation. With `localPerShare`, sessions also
 * send local-only shares (format v2: answered by the proxy at a lower,
 * local difficulty, never forwarded), journaled by the writer's
 * `localShares` mode. Seeded, so runs are reproducible.
 */

import { rename } from 'node:fs/promises';
import type { RejectReason } from '../protocol/stratum-errors.js';
import type { ShareSubmit, StratumJob } from '../protocol/work-types.js';
import { formatU32BE } from '../util/hex.js';
import { prepareJob } from '../work/job.js';
import { JobStore, type JobStoreLimits } from '../work/job-store.js';
import { type ShareVerdict, validateShare } from '../work/validate-share.js';
import type { LocalShareMode, PoolVerdict } from './format.js';
import { buildRealisticJob, createRng, MAINNET_NBITS, randomHex, REGTEST_NBITS } from './generate-job.js';
import { createJournalWriter, type JournalWriter, type PendingShare } from './writer.js';

export { buildRealisticJob, createRng } from './generate-job.js';

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
  /** Local-only shares sent after each journaled share, by random sessions at LOCAL_DIFFICULTY (default 0). */
  readonly localPerShare?: number;
  /** The writer's local-share journaling (default: the writer's, aggregates every 10 s). */
  readonly localShares?: { readonly mode?: LocalShareMode; readonly flushMs?: number };
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
  /** Local-only shares (all valid): count, sum of their local difficulty, first and last ts (±Infinity when none). */
  local: { shares: number; sumDifficulty: number; firstTs: number; lastTs: number };
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
/** The local difficulty of generated local-only shares: below the pool's TINY_DIFFICULTY, as the proxy's would be. */
export const LOCAL_DIFFICULTY = 2 ** -34;

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
    local: { shares: 0, sumDifficulty: 0, firstTs: Infinity, lastTs: -Infinity },
  };
}

/** A pool answer not delivered yet: it arrives a few shares later, so notifies and other shares overtake it. */
interface PoolAnswer {
  readonly handle: PendingShare;
  readonly pv: PoolVerdict;
  readonly pe?: [number, string];
  readonly due: number;
}

/** The proxy side: the sessions, the pool's current job, and what the writer is told about them. */
function createSimProxy(options: GenerateJournalOptions, writer: JournalWriter, rng: () => number, clock: { ts: number }) {
  const cleanEvery = options.cleanEvery ?? 4;
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
      ntime: Math.floor(clock.ts / 1000),
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

  for (let i = 0; i < (options.sessions ?? 20); i++) sessions.push(open(`site-a.rig${String(i + 1).padStart(4, '0')}`));

  return {
    sessions,
    /** The pool's current job (there is one from the first share on). */
    job: () => job as StratumJob,
    /** The pool sends a new job to every session. */
    newJob(): void {
      const next = nextJob();
      job = next.job;
      for (const s of sessions) send(s, job, next.clean);
    },
    /** A random session disconnects; its worker comes back in a new one. */
    reconnect(): void {
      const idx = Math.floor(rng() * sessions.length);
      const old = sessions[idx];
      writer.endSession(old.sid, 'miner disconnected');
      sessions[idx] = open(old.worker);
    },
  };
}

/** A share of the given kind from session `s` on the current job, checked as the proxy checks it live. */
function drawShare(rng: () => number, s: SimSession, current: StratumJob, mix: boolean, difficulty = TINY_DIFFICULTY) {
  const kind = mix ? pickKind(rng()) : 'valid';
  const en2 = (s.en2Counter++).toString(16).padStart(s.en2Size * 2, '0');
  let submit: ShareSubmit = {
    jobId: current.jobId,
    extranonce2: en2,
    ntime: formatU32BE(parseInt(current.ntime, 16) + Math.floor(rng() * 30)),
    nonce: randomHex(rng, 4),
    versionBits: s.mask === null ? undefined : formatU32BE(Math.floor(rng() * 2 ** 32) & s.mask),
  };
  let d = difficulty;
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
  return { submit, difficulty: d, verdict };
}

/** What the pool answers: mostly what the proxy thinks, with disputes and timeouts in the mix. */
function drawPoolAnswer(rng: () => number, verdict: ShareVerdict, mix: boolean): { pv: PoolVerdict; pe?: [number, string] } {
  const r = rng();
  if (!mix) return { pv: 'accepted' };
  if (verdict.valid) {
    if (r < 0.01) return { pv: 'rejected', pe: [23, 'Low difficulty share'] };
    return { pv: r < 0.02 ? 'timeout' : 'accepted' };
  }
  if (verdict.reason === 'low-difficulty' && r < 0.2) return { pv: 'accepted' };
  return { pv: 'not-sent' };
}

/** Delivers the answers due by share number `produced` (order among them does not matter). */
function deliverDue(pending: PoolAnswer[], produced: number): void {
  for (let k = 0; k < pending.length;) {
    const p = pending[k];
    if (p.due <= produced) {
      p.handle.settle(p.pv, p.pe);
      pending[k] = pending[pending.length - 1];
      pending.pop();
    } else k++;
  }
}

function workerExpectation(workers: Map<string, WorkerExpectation>, worker: string): WorkerExpectation {
  let w = workers.get(worker);
  if (w === undefined) {
    w = expectation();
    workers.set(worker, w);
  }
  return w;
}

/** Local-only shares: each from a random session, valid at LOCAL_DIFFICULTY, handed to the writer's localShare. */
function sendLocalShares(
  n: number,
  ctx: { rng: () => number; clock: { ts: number }; writer: JournalWriter; proxy: ReturnType<typeof createSimProxy> },
  workers: Map<string, WorkerExpectation>,
): void {
  const { rng, clock, writer, proxy } = ctx;
  for (let k = 0; k < n; k++) {
    clock.ts += Math.floor(rng() * 3);
    writer.flushLocalShares();
    const s = proxy.sessions[Math.floor(rng() * proxy.sessions.length)];
    const last = s.last;
    const { submit, difficulty, verdict } = drawShare(rng, s, proxy.job(), false, LOCAL_DIFFICULTY);
    // A generated duplicate repeats a journaled share: a local-only one here would meet the pool's TINY_DIFFICULTY
    // too (every hash does), which no real local-only share does (docs/audit.md: duplicates of local-only shares).
    s.last = last;
    writer.localShare(s.sid, { worker: s.worker, submit, difficulty, verdict });
    const e = workerExpectation(workers, s.worker).local;
    e.shares++;
    e.sumDifficulty += difficulty;
    e.firstTs = Math.min(e.firstTs, clock.ts);
    e.lastTs = Math.max(e.lastTs, clock.ts);
  }
}

/** Counts a share into its worker's expectation, as the audit should count it. */
function countExpected(
  workers: Map<string, WorkerExpectation>,
  worker: string,
  ts: number,
  verdict: ShareVerdict,
  d: number,
  pv: PoolVerdict,
): void {
  const w = workerExpectation(workers, worker);
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
}

/** Generates a journal (see the module comment). */
export async function generateJournal(options: GenerateJournalOptions): Promise<GenerateJournalResult> {
  if (!Number.isInteger(options.shares) || options.shares < 0)
    throw new RangeError(`generateJournal: shares must be an integer >= 0, got ${options.shares}`);
  const rng = createRng(options.seed ?? 1);
  const sharesPerJob = options.sharesPerJob ?? 200;
  const reconnectEvery = options.reconnectEvery ?? 1000;
  const meanMs = options.meanIntervalMs ?? 5;
  const mix = options.mix ?? true;
  const localPerShare = options.localPerShare ?? 0;
  const clock = { ts: options.startTs ?? Date.UTC(2024, 5, 1) };
  const writer = createJournalWriter({
    path: options.path,
    now: () => clock.ts,
    ...(options.limits !== undefined ? { limits: options.limits } : {}),
    ...(options.maxDedupeJobs !== undefined ? { maxDedupeJobs: options.maxDedupeJobs } : {}),
    ...(options.localShares !== undefined ? { localShares: options.localShares } : {}),
  });
  const proxy = createSimProxy(options, writer, rng, clock);
  const files: string[] = [];
  const workers = new Map<string, WorkerExpectation>();
  const pending: PoolAnswer[] = [];
  let produced = 0;
  let rotations = 0;
  while (produced < options.shares) {
    if (produced % sharesPerJob === 0) proxy.newJob();
    if (reconnectEvery > 0 && produced > 0 && produced % reconnectEvery === 0) proxy.reconnect();
    if (options.rotateEvery !== undefined && produced > 0 && produced % options.rotateEvery === 0) {
      await writer.flush();
      const rotated = `${options.path}.${++rotations}`;
      await rename(options.path, rotated);
      files.push(rotated);
      await writer.reopen();
    }
    clock.ts += Math.floor(rng() * 2 * meanMs);
    // The writer's timer, played on the generator's clock, so the output does not depend on real time.
    writer.flushLocalShares();

    const s = proxy.sessions[Math.floor(rng() * proxy.sessions.length)];
    const { submit, difficulty, verdict } = drawShare(rng, s, proxy.job(), mix);
    const { pv, pe } = drawPoolAnswer(rng, verdict, mix);
    const handle = writer.submit(s.sid, { worker: s.worker, submit, difficulty, verdict });
    const delay = pv === 'not-sent' ? 0 : Math.floor(rng() * 4);
    pending.push({ handle, pv, ...(pe !== undefined ? { pe } : {}), due: produced + delay });
    deliverDue(pending, produced);
    countExpected(workers, s.worker, clock.ts, verdict, difficulty, pv);
    if (localPerShare > 0) sendLocalShares(localPerShare, { rng, clock, writer, proxy }, workers);
    produced++;
    if (produced % 5000 === 0) await writer.flush();
  }
  for (const p of pending) p.handle.settle(p.pv, p.pe);
  for (const s of proxy.sessions) writer.endSession(s.sid, 'shutdown');
  await writer.close();
  files.push(options.path);
  const st = writer.stats;
  if (st.writeErrors > 0 || st.dropped > 0)
    throw new Error(`generator: writer reported ${st.writeErrors} write errors, ${st.dropped} dropped records`);
  return { files, shares: produced, records: st.records, bytes: st.bytes, jobs: st.jobsWritten, workers };
}
