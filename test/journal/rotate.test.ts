/**
 * Size rotation (journal.rotateBytes): the writer renames the full file to `<path>.<UTC timestamp>` at a
 * record boundary and continues in a self-contained new file. Every file must audit clean on its own,
 * and the files together must hold every share exactly once.
 */
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { auditFiles } from '../../src/audit/run.js';
import { createJournalWriter, type JournalWriterOptions, type PendingShare, rotatedName } from '../../src/journal/writer.js';
import { formatU32BE } from '../../src/util/hex.js';
import { JobStore, prepareJob, type ShareSubmit, type StratumJob, validateShare } from '../../src/work/index.js';
import { runCli } from '../helpers/cli.js';
import { buildRealisticJob, createRng, TINY_DIFFICULTY } from '../helpers/journal-gen.js';

type Rec = Record<string, unknown> & { t: string };

function records(path: string): Rec[] {
  const text = readFileSync(path, 'utf8');
  if (text !== '' && !text.endsWith('\n')) throw new Error(`${path} does not end with a newline`);
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Rec);
}

const rng = createRng(11);
function makeJob(id: string): StratumJob {
  return buildRealisticJob(rng, {
    jobId: id,
    height: 840_000,
    prevhash: 'ab'.repeat(32),
    ntime: 0x665a6480,
    nbits: '17034219',
    extranonceBytes: 8,
  });
}

/** A miniature proxy: one JobStore per session, every share checked as live and journaled. */
function proxy(options: Omit<JournalWriterOptions, 'path'> & { path: string }) {
  let now = Date.UTC(2024, 5, 1, 12, 0, 0);
  const errors: Error[] = [];
  const rotated: string[] = [];
  const writer = createJournalWriter({
    now: () => now++,
    onError: (e) => errors.push(e),
    onRotate: (name) => rotated.push(name),
    ...options,
  });
  const sessions = new Map<string, { store: JobStore; en1: string; n: number }>();
  return {
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
    /** A fresh (never duplicate) share on `jobId`; returns its verdict and the pending handle. */
    submit(sid: string, jobId: string): { valid: boolean; reason: string; pending: PendingShare; key: string } {
      const s = sessions.get(sid)!;
      const en2 = formatU32BE(s.n++);
      const submit: ShareSubmit = { jobId, extranonce2: en2, ntime: '665a6481', nonce: formatU32BE(s.n * 7919) };
      const verdict = validateShare(
        s.store,
        { extranonce1: s.en1, extranonce2Size: 4, versionMask: null, difficulty: TINY_DIFFICULTY },
        submit,
      );
      const pending = writer.submit(sid, { worker: `w-${sid}`, submit, difficulty: TINY_DIFFICULTY, verdict });
      return { valid: verdict.valid, reason: verdict.valid ? verdict.status : verdict.reason, pending, key: `${sid}/${en2}` };
    },
  };
}

t.test('rotation by size: every file audits clean alone, the shares across files are exact', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'journal.jsonl');
  const ROTATE = 8 * 1024;
  const p = proxy({ path, rotateBytes: ROTATE });
  const sids = ['a', 'b', 'c', 'd'];
  for (const sid of sids) p.open(sid);
  let jobN = 0;
  let job = makeJob(String(++jobN));
  for (const sid of sids) p.notify(sid, job, true);

  const submitted = new Set<string>();
  let valid = 0;
  let stale = 0;
  // A share of session a whose pool verdict comes only after several rotations.
  const held = p.submit('a', job.jobId);
  submitted.add(held.key);
  valid++;
  let retiredJob = job.jobId;
  for (let i = 0; i < 400; i++) {
    if (i % 60 === 59) {
      retiredJob = job.jobId;
      job = makeJob(String(++jobN));
      for (const sid of sids) p.notify(sid, job, true); // a's notifies wait behind its held share
    }
    const sid = sids[i % sids.length]!;
    // Every 25th share is on the job a clean notify just retired: stale-job, answered locally.
    const s = p.submit(sid, i % 25 === 24 && retiredJob !== job.jobId ? retiredJob : job.jobId);
    submitted.add(s.key);
    if (s.valid) {
      valid++;
      s.pending.settle('accepted');
    } else {
      t.equal(s.reason, 'stale-job');
      stale++;
      s.pending.settle('not-sent');
    }
    if (i === 200) {
      t.ok(p.rotated.length >= 2, `rotated at least twice while the share is pending (${p.rotated.length})`);
      t.equal(p.writer.stats.pendingShares, 1);
      held.pending.settle('accepted');
    }
  }
  p.writer.endSession('d', 'bye');
  await p.writer.close();

  t.same(p.errors, [], 'no write error');
  t.ok(p.rotated.length >= 5, `several rotations (${p.rotated.length})`);
  t.equal(p.writer.stats.rotations, p.rotated.length);
  t.same([...p.rotated].sort(), p.rotated, 'rotated names sort in time order');
  for (const name of p.rotated) t.match(name, /journal\.jsonl\.\d{8}T\d{6}\.\d{3}Z(-\d+)?$/);
  t.same(readdirSync(dir).sort(), ['journal.jsonl', ...p.rotated.map((n) => n.slice(dir.length + 1))].sort(), 'no other file');

  const files = [...p.rotated, path];
  const seen = new Map<string, number>();
  let heldIn = '';
  for (const f of files) {
    if (f !== path) t.ok(statSync(f).size >= ROTATE, `${f} reached rotateBytes before it was rotated`);
    const recs = records(f);
    t.equal(recs[0]?.t, 'hdr', 'every file starts with a header');
    for (const r of recs.filter((r) => r.t === 'share')) {
      const key = `${String(r.sid)}/${String(r.en2)}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
      if (key === held.key) {
        heldIn = f;
        t.equal(r.pv, 'accepted', 'the held share is complete, with its pool verdict');
      }
    }
    const alone = await auditFiles([f]);
    t.equal(alone.verdict, 'clean', `${f} audits clean on its own`);
    t.equal(alone.problems.count, 0);
    t.equal(alone.totals.unverifiable, 0);
  }
  t.not(heldIn, '', 'the held share was written');
  t.not(heldIn, p.rotated[0], 'after the file it was submitted in had been rotated away');
  t.equal(seen.size, submitted.size, 'every share is in exactly one file');
  t.ok(
    [...seen.values()].every((n) => n === 1),
    'no share written twice',
  );
  t.ok(
    [...submitted].every((k) => seen.has(k)),
    'no share lost',
  );

  const all = await auditFiles(files);
  t.equal(all.verdict, 'clean');
  t.equal(all.totals.valid, valid, 'valid shares across files');
  t.same(all.totals.invalid, { 'stale-job': stale }, 'stale-job reproduced in whichever file it fell');
  const cli = await runCli(['audit', ...files]);
  t.equal(cli.code, 0, `hashgate audit of all files exits 0${cli.code === 0 ? '' : `: ${cli.stdout}${cli.stderr}`}`);
});

t.test('rotateBytes 0 never rotates; setRotateBytes turns it on and off', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'j.jsonl');
  const p = proxy({ path });
  p.open('a');
  p.notify('a', makeJob('1'), true);
  for (let i = 0; i < 100; i++) p.submit('a', '1').pending.settle('accepted');
  t.equal(p.rotated.length, 0, 'default: never');
  p.writer.setRotateBytes(4096);
  p.submit('a', '1').pending.settle('accepted');
  t.equal(p.rotated.length, 1, 'the file was already past the new size: rotated after the next record');
  p.writer.setRotateBytes(0);
  for (let i = 0; i < 100; i++) p.submit('a', '1').pending.settle('accepted');
  t.equal(p.rotated.length, 1, 'off again');
  await p.writer.close();
  for (const f of [...p.rotated, path]) t.equal((await auditFiles([f])).verdict, 'clean', `${f} clean alone`);
});

t.test('a file already past rotateBytes when opened (a restart) is rotated after the first records', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'j.jsonl');
  const first = proxy({ path });
  first.open('a');
  first.notify('a', makeJob('1'), true);
  for (let i = 0; i < 40; i++) first.submit('a', '1').pending.settle('accepted');
  await first.writer.close();
  const size = statSync(path).size;
  const again = proxy({ path, rotateBytes: size });
  again.open('b');
  t.equal(again.rotated.length, 1, 'rotated at the first record boundary');
  again.notify('b', makeJob('2'), true);
  again.submit('b', '2').pending.settle('accepted');
  await again.writer.close();
  const old = records(again.rotated[0]!);
  t.equal(old.filter((r) => r.t === 'share').length, 40, 'the old file keeps its shares');
  t.same(
    records(path).map((r) => r.t),
    ['hdr', 'sess', 'job', 'ntf', 'share'],
    'the new file is self-contained',
  );
  for (const f of [again.rotated[0]!, path]) t.equal((await auditFiles([f])).verdict, 'clean');
});

t.test('rotatedName: UTC timestamp, never an existing file', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'j.jsonl');
  const at = Date.UTC(2024, 0, 2, 3, 4, 5, 678);
  t.equal(rotatedName(path, at), `${path}.20240102T030405.678Z`);
  writeFileSync(`${path}.20240102T030405.678Z`, '');
  t.equal(rotatedName(path, at), `${path}.20240102T030405.678Z-1`);
  writeFileSync(`${path}.20240102T030405.678Z-1`, '');
  t.equal(rotatedName(path, at), `${path}.20240102T030405.678Z-2`);
});
