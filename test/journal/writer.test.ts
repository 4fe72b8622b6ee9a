import { readFileSync, renameSync } from 'node:fs';
import t from 'tap';
import { auditFiles } from '../../src/audit/run.js';
import { type JournalRecord, parseRecord, type ShareRecord } from '../../src/journal/format.js';
import { createJournalWriter, type JournalWriterOptions } from '../../src/journal/writer.js';
import { formatU32BE } from '../../src/util/hex.js';
import { JobStore, prepareJob, type ShareSubmit, type StratumJob, validateShare } from '../../src/work/index.js';
import { buildRealisticJob, createRng, TINY_DIFFICULTY } from '../helpers/journal-gen.js';

function records(path: string): JournalRecord[] {
  const text = readFileSync(path, 'utf8');
  t.ok(text.endsWith('\n'), 'file ends with a newline');
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => {
      const r = parseRecord(l);
      if (!r.ok) throw new Error(`${r.message}: ${l}`);
      return r.record;
    });
}

const rng = createRng(7);
function makeJob(id: string, ntime = 0x665a6480): StratumJob {
  return buildRealisticJob(rng, { jobId: id, height: 840_000, prevhash: 'cd'.repeat(32), ntime, nbits: '17034219', extranonceBytes: 8 });
}

/** A miniature proxy: one JobStore per session, every share checked as live, everything journaled. */
function proxy(options: Omit<JournalWriterOptions, 'path'> & { path: string }) {
  let now = 1_717_200_000_000;
  const errors: Error[] = [];
  const writer = createJournalWriter({ now: () => now++, onError: (e) => errors.push(e), ...options });
  const sessions = new Map<string, { store: JobStore; en1: string; n: number }>();
  return {
    writer,
    errors,
    open(sid: string, worker = `w-${sid}`) {
      const en1 = formatU32BE(sessions.size + 1);
      sessions.set(sid, { store: new JobStore(), en1, n: 0 });
      writer.session({ sessionId: sid, worker, extranonce1: en1, extranonce2Size: 4, versionMask: 0x1fffe000 });
    },
    notify(sid: string, job: StratumJob, clean: boolean) {
      const p = prepareJob(job);
      if (!p.ok) throw new Error(p.error.message);
      sessions.get(sid)?.store.add(p.job, clean);
      writer.notify(sid, job, clean);
    },
    submit(sid: string, jobId: string, over: Partial<ShareSubmit> = {}) {
      const s = sessions.get(sid);
      if (s === undefined) throw new Error('no session');
      const submit: ShareSubmit = { jobId, extranonce2: formatU32BE(s.n++), ntime: '665a6481', nonce: formatU32BE(s.n * 7919), ...over };
      const verdict = validateShare(
        s.store,
        { extranonce1: s.en1, extranonce2Size: 4, versionMask: 0x1fffe000, difficulty: TINY_DIFFICULTY },
        submit,
      );
      return { verdict, pending: writer.submit(sid, { worker: `w-${sid}`, submit, difficulty: TINY_DIFFICULTY, verdict }) };
    },
  };
}

t.test('round trip: header first, then sessions, jobs, notifies, shares and ends as given', async (t) => {
  const path = `${t.testdir()}/j.jsonl`;
  const p = proxy({ path });
  p.open('a', 'rig-a');
  const job = makeJob('1');
  p.notify('a', job, true);
  const { verdict, pending } = p.submit('a', '1', { versionBits: '00002000' });
  t.ok(pending.settle('rejected', [23, 'Low difficulty share', null]));
  t.notOk(pending.settle('accepted'), 'a share is settled once');
  p.writer.endSession('a', 'bye');
  await p.writer.close();
  const recs = records(path);
  t.same(
    recs.map((r) => r.t),
    ['hdr', 'sess', 'job', 'ntf', 'share', 'end'],
  );
  const [hdr, sess, jobRec, ntf, share, end] = recs;
  t.match(hdr, { t: 'hdr', v: 2, sw: /^hashgate\/\d+\.\d+\.\d+/, lim: { maxJobs: 16, ntimeWindow: 7200 }, lm: 'aggregate' });
  t.match(sess, { sid: 'a', w: 'rig-a', en1: '00000001', en2: 4, mask: '1fffe000' });
  t.match(jobRec, {
    jk: 0,
    id: '1',
    ph: job.prevhash,
    c1: job.coinb1,
    c2: job.coinb2,
    mb: job.merkleBranch,
    ver: job.version,
    nb: job.nbits,
    nt: job.ntime,
  });
  t.match(ntf, { sid: 'a', jk: 0, clean: true });
  t.notOk('rp' in ntf, 'a live notify is not a replay');
  t.ok(verdict.valid);
  t.match(share, {
    sid: 'a',
    w: 'w-a',
    jid: '1',
    en2: '00000000',
    ntm: '665a6481',
    vb: '00002000',
    d: TINY_DIFFICULTY,
    lv: 'accepted',
    h: verdict.hash,
    pv: 'rejected',
    pe: [23, 'Low difficulty share'],
  });
  t.equal((share as ShareRecord).sd, verdict.shareDifficulty);
  t.match(end, { sid: 'a', why: 'bye' });
  t.same(p.errors, []);
  t.match(p.writer.stats, { records: 6, jobsWritten: 1, writeErrors: 0, dropped: 0, pendingShares: 0 });
});

t.test('submit fields are written exactly as the miner sent them', async (t) => {
  const path = `${t.testdir()}/j.jsonl`;
  const p = proxy({ path });
  p.open('a');
  p.notify('a', makeJob('1'), true);
  const odd = { jobId: 1, extranonce2: 'ZZ', ntime: null, nonce: '0123456789abcdef0123' } as unknown as ShareSubmit;
  const verdict = validateShare(new JobStore(), { extranonce1: '00', extranonce2Size: 4, versionMask: null, difficulty: 1 }, odd);
  p.writer.share('a', { worker: 'w', submit: odd, difficulty: 1, verdict }, 'not-sent');
  await p.writer.close();
  const share = records(path).find((r) => r.t === 'share');
  t.match(share, { jid: 1, en2: 'ZZ', ntm: null, non: '0123456789abcdef0123', lv: 'malformed', pv: 'not-sent' });
});

t.test('a job is written once however many sessions and shares use it', async (t) => {
  const path = `${t.testdir()}/j.jsonl`;
  const p = proxy({ path });
  const job = makeJob('7');
  for (let i = 0; i < 50; i++) p.open(`s${i}`);
  for (let i = 0; i < 50; i++) p.notify(`s${i}`, i % 2 === 0 ? job : { ...job }, false); // same content, different objects
  for (let k = 0; k < 10; k++) for (let i = 0; i < 50; i++) p.submit(`s${i}`, '7').pending.settle('accepted');
  await p.writer.close();
  const recs = records(path);
  t.equal(recs.filter((r) => r.t === 'job').length, 1, 'one job record');
  t.equal(recs.filter((r) => r.t === 'ntf').length, 50, 'one notify per session');
  t.equal(recs.filter((r) => r.t === 'share').length, 500);
  const audit = await auditFiles([path]);
  t.equal(audit.verdict, 'clean');
  t.equal(audit.totals.valid, 500);
});

t.test('the dedupe map is bounded; evicted jobs are written again under a new key', async (t) => {
  const path = `${t.testdir()}/j.jsonl`;
  const p = proxy({ path, maxDedupeJobs: 2 });
  p.open('a');
  const jobs = ['1', '2', '3'].map((id) => makeJob(id));
  for (let round = 0; round < 3; round++) {
    for (const j of jobs) {
      p.notify('a', j, false);
      p.submit('a', j.jobId).pending.settle('accepted');
    }
  }
  await p.writer.close();
  const recs = records(path);
  t.same(
    recs.filter((r) => r.t === 'job').map((r) => (r.t === 'job' ? r.jk : -1)),
    [0, 1, 2, 3, 4, 5, 6, 7, 8],
    'cycling 3 jobs through a 2-entry map rewrites each',
  );
  const audit = await auditFiles([path], { maxJobs: 2 });
  t.equal(audit.verdict, 'clean', 'an audit with the same window resolves every key');
});

t.test('records of a session wait behind its pending share; other sessions do not', async (t) => {
  const path = `${t.testdir()}/j.jsonl`;
  const p = proxy({ path });
  p.open('a');
  p.open('b');
  p.notify('a', makeJob('1'), true);
  p.notify('b', makeJob('1'), true);
  const first = p.submit('a', '1');
  p.notify('a', makeJob('2'), true); // clean: job 1 is now stale for a
  const stale = p.submit('a', '1');
  t.equal(stale.verdict.valid ? 'valid' : stale.verdict.reason, 'stale-job');
  stale.pending.settle('not-sent');
  p.submit('b', '1').pending.settle('accepted');
  await p.writer.flush();
  let kinds = records(path).map((r) => `${r.t}${'sid' in r ? `:${r.sid}` : ''}`);
  t.same(kinds.slice(-2), ['ntf:b', 'share:b'], "b's share is written while a's waits");
  t.notOk(kinds.includes('share:a'));
  first.pending.settle('accepted');
  await p.writer.close();
  kinds = records(path)
    .filter((r) => 'sid' in r && r.sid === 'a')
    .map((r) => r.t);
  t.same(kinds, ['sess', 'ntf', 'share', 'ntf', 'share'], 'a: submit order, not verdict order');
  const audit = await auditFiles([path]);
  t.equal(audit.verdict, 'clean', 'the audit reproduces accepted, then stale-job');
  t.same(audit.totals.invalid, { 'stale-job': 1 });
});

t.test('rotation: every file stands alone, including a stale job and a duplicate set from before', async (t) => {
  const dir = t.testdir();
  const path = `${dir}/j.jsonl`;
  const p = proxy({ path });
  p.open('a');
  p.open('b');
  const j1 = makeJob('1');
  const j2 = makeJob('2');
  p.notify('a', j1, true);
  p.notify('a', j2, true); // 1 is stale for a
  p.notify('b', j2, true);
  const dupOf = p.submit('a', '2', { extranonce2: 'aaaaaaaa', nonce: '00000abc' });
  dupOf.pending.settle('accepted');
  const pendingAcross = p.submit('b', '2'); // settled after the rotation
  await p.writer.flush();
  renameSync(path, `${path}.1`);
  await p.writer.reopen();
  pendingAcross.pending.settle('accepted');
  const stale = p.submit('a', '1');
  t.equal(stale.verdict.valid ? 'valid' : stale.verdict.reason, 'stale-job');
  stale.pending.settle('not-sent');
  const dup = p.submit('a', '2', { extranonce2: 'aaaaaaaa', nonce: '00000abc' });
  t.equal(dup.verdict.valid ? 'valid' : dup.verdict.reason, 'duplicate', 'live, it is a duplicate of a share in the first file');
  dup.pending.settle('not-sent');
  await p.writer.close();

  const second = records(path);
  t.equal(second[0].t, 'hdr', 'the new file starts with a header');
  t.same(
    second.filter((r) => r.t === 'sess').map((r) => (r.t === 'sess' ? r.sid : '')),
    ['a', 'b'],
    'open sessions re-emitted',
  );
  t.match(
    second.find((r) => r.t === 'job'),
    { jk: 0 },
    'job keys restart',
  );
  const replay = second.filter((r) => r.t === 'ntf');
  t.ok(
    replay.every((r) => r.t === 'ntf' && r.rp === true),
    'only replayed notifies',
  );
  t.match(
    replay.find((r) => r.t === 'ntf' && r.sid === 'a'),
    { stale: ['1'] },
    'the stale id travels with the replay',
  );

  const alone = await auditFiles([path]);
  t.equal(alone.mismatches.count, 0, 'the second file audited alone has no mismatch');
  t.equal(alone.problems.count, 0);
  t.same(alone.totals.invalid, { 'stale-job': 1 }, 'stale-job reproduced from the replayed stale ids');
  t.equal(alone.totals.unverifiable, 1, 'the duplicate of a share in the first file cannot be checked alone');
  const both = await auditFiles([`${path}.1`, path]);
  t.equal(both.verdict, 'clean');
  t.same(both.totals.invalid, { 'stale-job': 1, duplicate: 1 }, 'together, the duplicate is checked');
  t.equal(both.totals.unverifiable, 0);
});

t.test('write errors are counted and reported, never thrown; reopen recovers', async (t) => {
  const dir = t.testdir();
  const p = proxy({ path: `${dir}/missing-dir/j.jsonl` });
  p.open('a');
  p.notify('a', makeJob('1'), true);
  await p.writer.flush();
  await new Promise((r) => setImmediate(r));
  t.ok(p.errors.length >= 1, 'onError called');
  t.ok(p.writer.stats.writeErrors >= 1);
  p.submit('a', '1').pending.settle('accepted');
  await p.writer.flush();
  t.ok(p.writer.stats.dropped >= 1, 'records after the failure are dropped and counted');
  await p.writer.reopen(`${dir}/j.jsonl`);
  p.submit('a', '1').pending.settle('accepted');
  await p.writer.close();
  const recs = records(`${dir}/j.jsonl`);
  t.same(
    recs.map((r) => r.t),
    ['hdr', 'sess', 'job', 'ntf', 'share'],
    'the new file is self-contained',
  );
});

t.test('a share whose verdict never comes is written as unknown by sweep and by close', async (t) => {
  const path = `${t.testdir()}/j.jsonl`;
  let now = 1000;
  const writer = createJournalWriter({ path, now: () => now, maxPendingMs: 5000 });
  writer.session({ sessionId: 'a', extranonce1: '00', extranonce2Size: 4, versionMask: null });
  const verdict = validateShare(
    new JobStore(),
    { extranonce1: '00', extranonce2Size: 4, versionMask: null, difficulty: 1 },
    { jobId: 'x', extranonce2: '00000000', ntime: '00000000', nonce: '00000000' },
  );
  const share = {
    worker: 'w',
    submit: { jobId: 'x', extranonce2: '00000000', ntime: '00000000', nonce: '00000000' },
    difficulty: 1,
    verdict,
  };
  const early = writer.submit('a', share);
  now += 4000;
  const late = writer.submit('a', share);
  t.equal(writer.sweep(), 0, 'nothing is old enough yet');
  now += 1000;
  t.equal(writer.sweep(), 1, 'the first share is forced');
  t.notOk(early.settle('accepted'), 'its real verdict comes too late');
  await writer.close();
  t.notOk(late.settle('accepted'));
  const shares = records(path).filter((r) => r.t === 'share');
  t.same(
    shares.map((r) => (r.t === 'share' ? r.pv : '')),
    ['unknown', 'unknown'],
  );
  t.match(writer.stats, { forcedVerdicts: 2, lateVerdicts: 2, pendingShares: 0 });
});

t.test('records written while reopen() drains the old file land in the new one', async (t) => {
  const dir = t.testdir();
  const path = `${dir}/j.jsonl`;
  const p = proxy({ path });
  p.open('a');
  p.notify('a', makeJob('1'), true);
  await p.writer.flush();
  renameSync(path, `${path}.1`);
  const reopening = p.writer.reopen();
  p.submit('a', '1').pending.settle('accepted'); // before the old stream has closed
  await reopening;
  await p.writer.close();
  t.same(
    records(path).map((r) => r.t),
    ['hdr', 'sess', 'job', 'ntf', 'share'],
  );
  t.same(
    records(`${path}.1`).map((r) => r.t),
    ['hdr', 'sess', 'job', 'ntf'],
  );
  t.same(p.errors, []);
});

t.test('misuse is reported through onError, never thrown', async (t) => {
  const path = `${t.testdir()}/j.jsonl`;
  const p = proxy({ path });
  p.writer.notify('ghost', makeJob('1'), true);
  p.open('a');
  p.notify('a', makeJob('1'), true);
  const waiting = p.submit('a', '1').pending;
  p.writer.endSession('a'); // queued behind the pending share
  p.writer.session({ sessionId: 'a', extranonce1: '00', extranonce2Size: 4, versionMask: null });
  waiting.settle('accepted');
  const verdict = validateShare(
    new JobStore(),
    { extranonce1: '00', extranonce2Size: 4, versionMask: null, difficulty: 1 },
    { jobId: 'x', extranonce2: '00', ntime: '00000000', nonce: '00000000' },
  );
  p.writer.share(
    'ghost',
    { worker: 'w', submit: { jobId: 'x', extranonce2: '00', ntime: '00000000', nonce: '00000000' }, difficulty: 1, verdict },
    'not-sent',
  );
  await p.writer.close();
  t.match(
    p.errors.map((e) => e.message),
    [/notify for unknown session ghost/, /session a was ended/, /share for unknown session ghost/],
  );
  const recs = records(path);
  t.same(
    recs.map((r) => r.t),
    ['hdr', 'sess', 'job', 'ntf', 'share', 'end', 'share'],
    'the orphan share is still recorded (the audit reports it)',
  );
  const audit = await auditFiles([path]);
  t.match(audit.problems.examples, [{ kind: 'reference', line: 7, message: /session ghost, which is not open here/ }]);
});

t.test('reopen() on the file it still writes (nothing rotated it away): every record stays in order', async (t) => {
  // Found by test/daemon/reload.test.ts: a second stream appending to the same file landed the new segment's header
  // before the first stream's buffered lines, so an ntf of the old segment ended up referring to an undefined job.
  const path = `${t.testdir()}/j.jsonl`;
  const p = proxy({ path });
  p.open('a');
  for (let i = 0; i < 400; i++) p.notify('a', makeJob(String(i)), i === 0); // plenty buffered in the old stream
  const reopening = p.writer.reopen(); // same path, same file
  for (let i = 400; i < 800; i++) p.notify('a', makeJob(String(i)), false);
  await reopening;
  await p.writer.close();
  const recs = records(path);
  t.equal(recs.filter((r) => r.t === 'hdr').length, 2, 'a second segment in the same file');
  const firstHdrAfter = recs.findIndex((r, i) => i > 0 && r.t === 'hdr');
  t.ok(
    recs.slice(0, firstHdrAfter).every((r) => r.t !== 'ntf' || Number((r as { jk: number }).jk) < 400),
    'the old segment holds only what came before the reopen',
  );
  const audit = await auditFiles([path]);
  t.equal(audit.problems.count, 0, 'every ntf refers to a job of its own segment');
  t.same(p.errors, []);
});
