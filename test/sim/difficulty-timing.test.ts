/**
 * When a mining.set_difficulty takes effect, straight between the simulated miner and the simulated pool (no
 * hashgate): 'next-notify' (cgminer, bmminer, ESP-Miner: the job in progress keeps its difficulty) against
 * 'immediate' (the work in progress is retargeted at once), with the pool raising and lowering the difficulty
 * in the middle of a job. The pool holds a share to min(difficulty its job was sent at, current difficulty)
 * (ckpool), so both kinds of miner get every share accepted; the miner's share records and the pool's share
 * log line up share by share. notes/stratum-difficulty.md has the sources.
 *
 * Jobs come only on demand (no jobIntervalMs) and the miner is paused around each change, so which job and
 * which difficulty a share belongs to is fixed; only the hashes are random. Where a check needs a share below
 * the higher difficulty, the chance that none of N shares is is 16^-N (N ≥ 8: under 3e-10).
 */
import t, { type Test } from 'tap';
import { miner, pool } from '../helpers/sim.js';
import { targetFromDifficulty } from '../../src/sim/hash.js';
import type { DifficultyTiming, MinerShareRecord, SimMiner } from '../../src/sim/sim-miner.js';
import type { PoolShare, SimPool } from '../../src/sim/sim-pool.js';

/** Low and high difficulty: about 256 and 4096 hashes a share. */
const LOW = 2 ** -24;
const HIGH = 2 ** -20;
/** Shares mined in each phase (at least). */
const N = 8;
const WAIT = 10_000;

/** Lets the miner hash until it has submitted `n` more shares, then pauses it; returns those shares. */
async function mine(m: SimMiner, n: number, label: string): Promise<MinerShareRecord[]> {
  const from = m.shares.length;
  m.resume();
  await m.waitFor(() => m.shares.length >= from + n, WAIT, label);
  m.pause();
  return m.shares.slice(from);
}

/** Sends set_difficulty with the miner paused and waits until the miner has it. */
async function changeDifficulty(p: SimPool, m: SimMiner, d: number): Promise<void> {
  p.setDifficulty(d);
  await m.waitFor(() => m.stats.difficulty === d, WAIT, `miner got difficulty ${d}`);
}

/** Sends a (non-clean) job with the miner paused and waits until the miner has it. */
async function newJob(p: SimPool, m: SimMiner): Promise<string> {
  const { jobId } = p.notify(false);
  await m.waitFor(() => m.currentJob?.jobId === jobId, WAIT, `miner got job ${jobId}`);
  return jobId;
}

/** Every share submitted has its answer. */
async function allAnswered(m: SimMiner): Promise<void> {
  await m.waitFor(() => m.shares.every((s) => s.status !== undefined), WAIT, 'every submit answered');
}

const hashInt = (hash: string) => BigInt(`0x${hash}`);

/** The pool's log lines up with the miner's shares, one to one and in order; every verdict follows the rule. */
function sameShares(t: Test, p: SimPool, m: SimMiner): PoolShare[] {
  const log = p.shareLog({ worker: m.options.user });
  t.same(
    log.map((s) => s.hash),
    m.shares.map((s) => s.hash),
    'the pool saw exactly the shares the miner sent, in order',
  );
  for (const [i, s] of log.entries()) {
    const mine = m.shares[i]!;
    const heldTo = Math.min(s.jobDifficulty!, s.connectionDifficulty!);
    if (s.difficulty !== heldTo || s.shareDifficulty !== mine.shareDifficulty || s.jobId !== mine.jobId) {
      t.fail(`share ${i} does not line up`, { pool: s, miner: mine });
      return log;
    }
    if (s.accepted !== hashInt(s.hash!) <= targetFromDifficulty(heldTo) || s.accepted !== (mine.status === 'accepted')) {
      t.fail(`share ${i}: wrong verdict`, { pool: s, miner: mine });
      return log;
    }
  }
  return log;
}

interface Phases {
  /** Shares of job 1 after the raise. */
  raised: MinerShareRecord[];
  /** Shares of job 2 (sent after the raise). */
  job2: MinerShareRecord[];
  /** Shares of job 2 after the lowering. */
  lowered: MinerShareRecord[];
  /** Shares of job 3 (sent after the lowering). */
  job3: MinerShareRecord[];
  jobs: string[];
  log: PoolShare[];
}

/** LOW → (mid job 1) HIGH → job 2 → (mid job 2) LOW → job 3, with a miner of the given timing. */
async function scenario(t: Test, timing: DifficultyTiming | undefined): Promise<Phases> {
  const p = await pool(t, { difficulty: LOW });
  const m = await miner(t, p, { maxHashRate: 100_000, ...(timing === undefined ? {} : { difficultyTiming: timing }) });
  await m.waitFor(() => m.stats.accepted >= 2, WAIT, 'first shares accepted');
  m.pause();
  const job1 = m.currentJob!.jobId;
  t.equal(m.stats.workDifficulty, LOW, 'the first difficulty applies at once');

  await changeDifficulty(p, m, HIGH);
  const raised = await mine(m, N, 'shares of job 1 after the raise');
  const job2 = await newJob(p, m);
  const job2Shares = await mine(m, N, 'shares of job 2');
  await changeDifficulty(p, m, LOW);
  const lowered = await mine(m, N, 'shares of job 2 after the lowering');
  const job3 = await newJob(p, m);
  const job3Shares = await mine(m, N, 'shares of job 3');
  await allAnswered(m);

  t.same(new Set(raised.map((s) => s.jobId)), new Set([job1]), 'raise: still job 1');
  t.same(new Set(lowered.map((s) => s.jobId)), new Set([job2]), 'lowering: still job 2');
  t.equal(m.stats.rejected, 0, 'the miner had no share rejected');
  t.equal(p.stats.rejected, 0, 'the pool rejected none');
  t.equal(p.stats.accepted, m.shares.length);
  const log = sameShares(t, p, m);
  return { raised, job2: job2Shares, lowered, job3: job3Shares, jobs: [job1, job2, job3], log };
}

const at = (shares: MinerShareRecord[]) => new Set(shares.map((s) => s.difficulty));
const meets = (shares: MinerShareRecord[], d: number) => shares.every((s) => s.shareDifficulty! >= d);
const someBelow = (shares: MinerShareRecord[], d: number) => shares.some((s) => s.shareDifficulty! < d);
const poolEntries = (r: Phases, shares: MinerShareRecord[]) => {
  const hashes = new Set(shares.map((s) => s.hash));
  return r.log.filter((s) => hashes.has(s.hash));
};

t.test("'next-notify' (cgminer): the job in progress keeps its difficulty, the next job brings the new one", async (t) => {
  const r = await scenario(t, 'next-notify');
  t.same(at(r.raised), new Set([LOW]), 'job 1 after the raise: still mined at the low difficulty');
  t.ok(someBelow(r.raised, HIGH), 'some of them are below the new difficulty, so really mined at the old one');
  t.same(at(r.job2), new Set([HIGH]), 'job 2: the high difficulty');
  t.ok(meets(r.job2, HIGH));
  t.same(at(r.lowered), new Set([HIGH]), 'job 2 after the lowering: still mined at the high difficulty');
  t.ok(meets(r.lowered, HIGH));
  t.same(at(r.job3), new Set([LOW]), 'job 3: the low difficulty');

  // The pool's side: job 1's shares after the raise were held to the difficulty job 1 was sent at.
  const raised = poolEntries(r, r.raised);
  t.ok(
    raised.every((s) => s.accepted && s.jobDifficulty === LOW && s.connectionDifficulty === HIGH && s.difficulty === LOW),
    'job 1 after the raise: accepted at the low difficulty job 1 was sent at',
  );
  t.ok(
    raised.some((s) => s.shareDifficulty! < HIGH),
    'including shares a pool judging at the current difficulty would have rejected',
  );
  t.ok(
    poolEntries(r, r.lowered).every((s) => s.accepted && s.jobDifficulty === HIGH && s.difficulty === LOW),
    'job 2 after the lowering: held to the lower, current difficulty',
  );
});

t.test("'immediate' (the default): the work in progress is retargeted at once", async (t) => {
  const r = await scenario(t, undefined);
  t.same(at(r.raised), new Set([HIGH]), 'job 1 after the raise: mined at the high difficulty at once');
  t.ok(meets(r.raised, HIGH), 'every one of them meets it');
  t.same(at(r.job2), new Set([HIGH]));
  t.same(at(r.lowered), new Set([LOW]), 'job 2 after the lowering: mined at the low difficulty at once');
  t.ok(someBelow(r.lowered, HIGH), 'some of them are below the difficulty job 2 was sent at');
  t.same(at(r.job3), new Set([LOW]));

  t.ok(
    poolEntries(r, r.raised).every((s) => s.accepted && s.difficulty === LOW && s.shareDifficulty! >= HIGH),
    'job 1 after the raise: held to the lower, send-time difficulty (they meet the high one anyway)',
  );
  const lowered = poolEntries(r, r.lowered);
  t.ok(
    lowered.every((s) => s.accepted && s.jobDifficulty === HIGH && s.connectionDifficulty === LOW && s.difficulty === LOW),
    'job 2 after the lowering: accepted at the new, lower difficulty',
  );
  t.ok(
    lowered.some((s) => s.shareDifficulty! < HIGH),
    'including shares a pool holding job 2 to its send-time difficulty would have rejected',
  );
});

t.test("'next-notify': the newest difficulty received wins; the stats show what is in force and what waits", async (t) => {
  const p = await pool(t, { difficulty: LOW });
  const m = await miner(t, p, { difficultyTiming: 'next-notify', mine: false });
  await m.waitFor(() => m.stats.authorized && m.currentJob !== undefined, WAIT, 'work');
  t.match(m.stats, { difficulty: LOW, workDifficulty: LOW, pendingDifficulty: undefined });
  p.setDifficulty(2 ** -22);
  p.setDifficulty(HIGH);
  await m.waitFor(() => m.stats.difficulty === HIGH, WAIT, 'both changes received');
  t.match(m.stats, { workDifficulty: LOW, pendingDifficulty: HIGH }, 'the job in progress keeps its difficulty');
  const applied: unknown[] = [];
  m.events.on('difficultyApplied', (a: unknown) => applied.push(a));
  const job = await newJob(p, m);
  t.match(m.stats, { workDifficulty: HIGH, pendingDifficulty: undefined }, 'the next job brings the newest one');
  t.same(applied, [{ difficulty: HIGH, jobId: job }]);
  t.same(p.clients()[0]!.jobDifficulties[job], HIGH, 'the pool sent that job at the same difficulty');
});

t.test('a share submitted by hand records no difficulty; a bad difficultyTiming is refused', async (t) => {
  const p = await pool(t);
  const m = await miner(t, p, { maxShares: 1 });
  await m.waitFor(() => m.stats.accepted === 1, WAIT, 'one share');
  const [found] = m.shares;
  t.equal(found!.difficulty, 2 ** -24, 'a found share records the difficulty it was mined at');
  t.match(found, { hash: /^[0-9a-f]{64}$/ });
  t.ok(hashInt(found!.hash!) <= targetFromDifficulty(found!.difficulty!), 'and its hash meets it');
  await m.submit(m.lastShare!);
  t.match(m.shares[1], { status: 'rejected', code: 22, difficulty: undefined, hash: undefined });
  t.same(
    p.shareLog({ accepted: false }).map((s) => s.code),
    [22],
  );
  t.same(p.shareLog({ jobId: 'none' }), []);
  await t.rejects(miner(t, p, { difficultyTiming: 'later' as DifficultyTiming }), /unknown difficultyTiming/);
});

t.test('a miner that keeps the old difficulty on a job sent after the raise gets its easy shares rejected (23)', async (t) => {
  const p = await pool(t, { difficulty: LOW });
  // mineDifficulty: hashes at LOW whatever the pool says (a firmware that never applies the change).
  const m = await miner(t, p, { mineDifficulty: LOW, maxHashRate: 100_000 });
  await m.waitFor(() => m.stats.accepted >= 1, WAIT, 'first share');
  m.pause();
  await changeDifficulty(p, m, HIGH);
  const old = await mine(m, 4, 'job 1 after the raise');
  const job2 = await newJob(p, m);
  const late = await mine(m, N, 'job 2');
  await allAnswered(m);
  t.ok(
    old.every((s) => s.status === 'accepted'),
    'job 1: still accepted at the difficulty it was sent at',
  );
  t.ok(
    late.every((s) => s.jobId === job2 && (s.shareDifficulty! >= HIGH ? s.status === 'accepted' : s.code === 23)),
    'job 2: accepted only where the share meets the new difficulty',
  );
  t.ok(
    late.some((s) => s.code === 23),
    'and some are rejected',
  );
  sameShares(t, p, m);
});
