/**
 * Local-only shares in the journal (format v2): the writer aggregates them per session and worker and
 * writes `loc` records at each period's end, at the session's end, at rotation and at close; with mode
 * `every` it writes each as an `lsh` record in its session's order; with `off`, nothing. Time is a fake
 * clock (its timers drive the period's end); nothing sleeps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { auditFiles } from '../../src/audit/run.js';
import { createJournalWriter, type JournalWriterOptions, LOCAL_SHARE_DEFAULTS } from '../../src/journal/writer.js';
import { formatU32BE } from '../../src/util/hex.js';
import { JobStore, prepareJob, type ShareSubmit, type StratumJob, validateShare } from '../../src/work/index.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { buildRealisticJob, createRng, TINY_DIFFICULTY } from '../helpers/journal-gen.js';

type Rec = Record<string, unknown> & { t: string };

function records(path: string): Rec[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Rec);
}

const rng = createRng(23);
function makeJob(id: string): StratumJob {
  return buildRealisticJob(rng, {
    jobId: id,
    height: 840_000,
    prevhash: 'ef'.repeat(32),
    ntime: 0x665a6480,
    nbits: '17034219',
    extranonceBytes: 8,
  });
}

/** The local difficulty of these tests: below the pool's TINY_DIFFICULTY, and still met by every hash. */
const LOCAL = 2 ** -34;
/** A period start (a multiple of 10 s), so the periods of the tests are easy to read. */
const T0 = Date.UTC(2024, 5, 1, 12, 0, 0);

/** A miniature proxy on a fake clock: one JobStore per session, every share checked as live. */
function proxy(options: Omit<JournalWriterOptions, 'path'> & { path: string }) {
  const clock = new FakeClock(T0);
  const errors: Error[] = [];
  const rotated: string[] = [];
  const writer = createJournalWriter({
    now: () => clock.now(),
    timers: clock,
    onError: (e) => errors.push(e),
    onRotate: (name) => rotated.push(name),
    ...options,
  });
  const sessions = new Map<string, { store: JobStore; en1: string; n: number }>();
  const check = (sid: string, jobId: string, difficulty: number, en2?: string) => {
    const s = sessions.get(sid)!;
    const submit: ShareSubmit = { jobId, extranonce2: en2 ?? formatU32BE(s.n++), ntime: '665a6481', nonce: formatU32BE(s.n * 7919) };
    const verdict = validateShare(s.store, { extranonce1: s.en1, extranonce2Size: 4, versionMask: null, difficulty }, submit);
    return { submit, verdict };
  };
  return {
    clock,
    writer,
    errors,
    rotated,
    open(sid: string) {
      const en1 = formatU32BE(sessions.size + 1);
      sessions.set(sid, { store: new JobStore(), en1, n: 0 });
      writer.session({ sessionId: sid, worker: `w-${sid}`, extranonce1: en1, extranonce2Size: 4, versionMask: null });
    },
    notify(sid: string, job: StratumJob, clean: boolean) {
      const p = prepareJob(job);
      if (!p.ok) throw new Error(p.error.message);
      sessions.get(sid)!.store.add(p.job, clean);
      writer.notify(sid, job, clean);
    },
    /** A local-only share of `worker` (default the session's) at `difficulty`, checked as live. */
    local(sid: string, jobId: string, difficulty = LOCAL, worker = `w-${sid}`) {
      const { submit, verdict } = check(sid, jobId, difficulty);
      if (!verdict.valid) throw new Error(`local share not valid: ${verdict.reason}`);
      writer.localShare(sid, { worker, submit, difficulty, verdict });
      return submit;
    },
    /** A share journaled at the pool's difficulty; returns its pending handle. */
    share(sid: string, jobId: string, en2?: string) {
      const { submit, verdict } = check(sid, jobId, TINY_DIFFICULTY, en2);
      return { verdict, pending: writer.submit(sid, { worker: `w-${sid}`, submit, difficulty: TINY_DIFFICULTY, verdict }) };
    },
  };
}

const locs = (recs: Rec[]) => recs.filter((r) => r.t === 'loc');

t.test('defaults: aggregate every 10 s; the header says v2 and the mode', async (t) => {
  t.same(LOCAL_SHARE_DEFAULTS, { mode: 'aggregate', flushMs: 10_000 });
  const path = join(t.testdir(), 'j.jsonl');
  const p = proxy({ path });
  t.same(p.writer.localShares, { mode: 'aggregate', flushMs: 10_000 });
  await p.writer.close();
  t.match(records(path)[0], { t: 'hdr', v: 2, lm: 'aggregate' });
  const every = join(t.testdir(), 'e.jsonl');
  const q = proxy({ path: every, localShares: { mode: 'every' } });
  await q.writer.close();
  t.match(records(every)[0], { t: 'hdr', v: 2, lm: 'every' });
});

t.test('aggregate: one loc per session and worker per period, with count, sums, min / max and first / last ts', async (t) => {
  const path = join(t.testdir(), 'j.jsonl');
  const p = proxy({ path });
  p.open('a');
  p.open('b');
  const job = makeJob('1');
  p.notify('a', job, true);
  p.notify('b', job, true);
  p.clock.advance(1000);
  p.local('a', '1', LOCAL);
  p.clock.advance(2000);
  p.local('a', '1', LOCAL * 2);
  p.local('a', '1', LOCAL, 'other-worker');
  p.clock.advance(3000);
  p.local('a', '1', LOCAL * 4);
  p.local('b', '1', LOCAL);
  t.equal(p.writer.flushLocalShares(), 0, 'nothing before the period ends');
  await p.writer.flush();
  t.same(locs(records(path)), [], 'no loc record yet');
  t.same(p.clock.pending(), [4000], 'the period timer is set for the end of the period');

  p.clock.advance(4000); // T0 + 10 s: the timer writes the period's aggregates
  await p.writer.flush();
  const first = locs(records(path));
  t.same(
    first.map((r) => [r.sid, r.w]),
    [
      ['a', 'w-a'],
      ['a', 'other-worker'],
      ['b', 'w-b'],
    ],
    'one per session and worker',
  );
  t.same(first[0], {
    t: 'loc',
    ts: T0 + 10_000,
    sid: 'a',
    w: 'w-a',
    n: 3,
    d: LOCAL * 7,
    lo: LOCAL,
    hi: LOCAL * 4,
    from: T0 + 1000,
    to: T0 + 6000,
  });
  t.match(first[1], { n: 1, d: LOCAL, from: T0 + 3000, to: T0 + 3000 });
  t.match(first[2], { n: 1, d: LOCAL, from: T0 + 6000, to: T0 + 6000 });

  // The next period: a share after its end writes the period's aggregates before it is counted.
  p.clock.advance(2000);
  p.local('a', '1');
  t.same(p.clock.pending(), [8000], 'the timer is re-armed for the next period');
  p.writer.flushLocalShares(T0 + 19_999);
  t.equal(locs(records(path)).length, 3, 'not yet at T0 + 19.999 s');
  p.clock.advance(9000); // past T0 + 20 s: the timer falls due on the way and writes period 2
  p.local('a', '1');
  await p.writer.close();
  const all = locs(records(path));
  t.equal(all.length, 5, 'period 2 and, at close, the rest');
  t.match(all[3], { sid: 'a', n: 1, ts: T0 + 20_000, from: T0 + 12_000, to: T0 + 12_000 });
  t.match(all[4], { sid: 'a', n: 1, from: T0 + 21_000, to: T0 + 21_000 }, 'close writes the open aggregate');
  t.same(p.errors, []);
  const audit = await auditFiles([path]);
  t.equal(audit.verdict, 'clean');
  t.match(audit.totals.local, { shares: 7, aggregated: 7, aggregates: 5, valid: 0, unverifiable: 0 });
  t.equal(audit.totals.local.sumDifficulty, LOCAL * 11);
  t.equal(audit.totals.shares, 0, 'local-only shares are not counted as shares');
});

t.test('a share after the period end, with no timer run, still closes the period first', async (t) => {
  const path = join(t.testdir(), 'j.jsonl');
  const timers = { setTimeout: () => 0, clearTimeout: () => undefined }; // timers that never fire
  let now = T0 + 500;
  const writer = createJournalWriter({ path, now: () => now, timers });
  writer.session({ sessionId: 's', worker: 'w', extranonce1: '00000001', extranonce2Size: 4, versionMask: null });
  const share = {
    worker: 'w',
    submit: { jobId: 'x', extranonce2: '00', ntime: '00', nonce: '00' },
    difficulty: 1,
    verdict: { valid: true, status: 'accepted' },
  };
  writer.localShare('s', share as never);
  now = T0 + 10_000;
  writer.localShare('s', share as never);
  now = T0 + 10_001;
  writer.localShare('s', share as never);
  await writer.close();
  t.same(
    locs(records(path)).map((r) => [r.n, r.from, r.to]),
    [
      [1, T0 + 500, T0 + 500],
      [2, T0 + 10_000, T0 + 10_001],
    ],
    'periods are aligned to multiples of flushMs: [T0, T0 + 10 s), then the rest at close',
  );
});

t.test('session end: its aggregates go before its end, after a share still waiting for the pool', async (t) => {
  const path = join(t.testdir(), 'j.jsonl');
  const p = proxy({ path });
  p.open('a');
  p.notify('a', makeJob('1'), true);
  const held = p.share('a', '1');
  p.local('a', '1');
  p.local('a', '1');
  p.writer.endSession('a', 'bye');
  p.local('a', '1');
  t.match(p.errors.at(-1)?.message ?? '', /local share for unknown session a/, 'a local share after the end is refused');
  await p.writer.flush();
  t.same(
    records(path).map((r) => r.t),
    ['hdr', 'sess', 'job', 'ntf'],
    'the session is held by its pending share',
  );
  held.pending.settle('accepted');
  p.clock.advance(60_000);
  await p.writer.close();
  const recs = records(path);
  t.same(
    recs.map((r) => r.t),
    ['hdr', 'sess', 'job', 'ntf', 'share', 'loc', 'end'],
  );
  t.match(recs[5], { sid: 'a', n: 2 });
  t.equal((await auditFiles([path])).verdict, 'clean');
});

t.test('every: an lsh per share in its session order; the audit re-validates each; off writes none', async (t) => {
  const path = join(t.testdir(), 'j.jsonl');
  const p = proxy({ path, localShares: { mode: 'every' } });
  p.open('a');
  p.notify('a', makeJob('1'), true);
  const held = p.share('a', '1');
  const submits = [p.local('a', '1'), p.local('a', '1')];
  p.notify('a', makeJob('2'), true);
  p.local('a', '2');
  t.same(p.clock.pending(), [], 'no period timer in every mode');
  held.pending.settle('accepted');
  await p.writer.close();
  const recs = records(path);
  t.same(
    recs.map((r) => r.t),
    ['hdr', 'sess', 'job', 'ntf', 'share', 'lsh', 'lsh', 'job', 'ntf', 'lsh'],
    'after the share they followed, before the clean notify that came after them',
  );
  t.same(recs[5], {
    t: 'lsh',
    ts: T0,
    sid: 'a',
    w: 'w-a',
    jid: '1',
    en2: submits[0]!.extranonce2,
    ntm: '665a6481',
    non: submits[0]!.nonce,
    d: LOCAL,
    h: recs[5]!.h,
    sd: recs[5]!.sd,
  });
  t.match(recs[5]!.h, /^[0-9a-f]{64}$/);
  t.notOk('pv' in recs[5]! || 'lv' in recs[5]!, 'no pool verdict, and lv only when not accepted');
  const audit = await auditFiles([path]);
  t.equal(audit.verdict, 'clean');
  t.match(audit.totals.local, { shares: 3, valid: 3, aggregated: 0, invalid: 0, mismatches: 0 });
  t.match(audit.totals, { shares: 1, valid: 1 });

  const off = join(t.testdir(), 'off.jsonl');
  const q = proxy({ path: off, localShares: { mode: 'off' } });
  q.open('a');
  q.notify('a', makeJob('3'), true);
  q.local('a', '3');
  q.clock.advance(60_000);
  await q.writer.close();
  t.same(
    records(off).map((r) => r.t),
    ['hdr', 'sess', 'job', 'ntf'],
  );
  t.match(records(off)[0], { lm: 'off' });
});

t.test('rotation: aggregates end with their file; every file audits clean alone; nothing is lost', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'journal.jsonl');
  const p = proxy({ path, rotateBytes: 4096, localShares: { flushMs: 1000 } });
  const sids = ['a', 'b', 'c'];
  for (const sid of sids) p.open(sid);
  const job = makeJob('1');
  for (const sid of sids) p.notify(sid, job, true);
  let sent = 0;
  for (let i = 0; i < 300; i++) {
    p.clock.advance(37);
    const sid = sids[i % 3]!;
    p.local(sid, '1');
    sent++;
    if (i % 10 === 9) p.share(sid, '1').pending.settle('accepted');
  }
  await p.writer.reopen(); // a logrotate-style reopen flushes too
  p.local('a', '1');
  sent++;
  await p.writer.close();
  t.ok(p.rotated.length >= 3, `rotated by size (${p.rotated.length})`);
  const files = [...p.rotated, path];
  let counted = 0;
  for (const f of files) {
    const recs = records(f);
    const open = new Set(recs.filter((r) => r.t === 'sess').map((r) => r.sid));
    const started = recs[0]!.ts as number;
    for (const r of locs(recs)) {
      t.ok(open.has(r.sid), `${f}: loc of a session this file knows`);
      t.ok((r.from as number) >= started, `${f}: its shares came after the file was started (none carried over)`);
      counted += r.n as number;
    }
    const alone = await auditFiles([f]);
    t.equal(alone.verdict, 'clean', `${f} audits clean alone`);
    t.equal(alone.totals.local.unverifiable, 0);
  }
  t.equal(counted, sent, 'every local share is in exactly one aggregate');
  const together = await auditFiles(files);
  t.equal(together.verdict, 'clean');
  t.equal(together.totals.local.shares, sent);
  t.same(p.errors, []);
});

t.test('bounded: aggregates are dropped once written; one per live session and worker', async (t) => {
  const path = join(t.testdir(), 'j.jsonl');
  const p = proxy({ path });
  p.open('a');
  p.notify('a', makeJob('1'), true);
  for (let i = 0; i < 500; i++) p.local('a', '1', LOCAL, `w${i % 3}`);
  p.clock.advance(10_000);
  await p.writer.flush();
  t.equal(locs(records(path)).length, 3, 'three workers, three records for 500 shares');
  t.equal(p.writer.flushLocalShares(T0 + 60_000), 0, 'nothing kept after writing');
  await p.writer.close();
  t.equal(locs(records(path)).length, 3, 'close has nothing left to write');
});
