import { readFileSync, writeFileSync } from 'node:fs';
import t from 'tap';
import type { AuditResult } from '../../src/audit/audit.js';
import { auditFiles, mergeResults, runAudit } from '../../src/audit/run.js';
import { globToRegExp, impliedHashrate, type WorkerStats } from '../../src/audit/stats.js';
import { createJournalWriter } from '../../src/journal/writer.js';
import { JobStore, prepareJob, type ShareSubmit, validateShare } from '../../src/work/index.js';
import {
  buildRealisticJob,
  createRng,
  type GenerateJournalOptions,
  generateJournal,
  TINY_DIFFICULTY,
  type WorkerExpectation,
} from '../helpers/journal-gen.js';

/** Compares the audit's per-worker numbers with what the generator recorded as it went. */
function expectWorkers(t: Asserts, result: AuditResult, expected: ReadonlyMap<string, WorkerExpectation>) {
  t.same(
    result.workers.map((w) => w.worker),
    [...expected.keys()].sort(),
    'one row per worker',
  );
  for (const w of result.workers) {
    const e = expected.get(w.worker) as WorkerExpectation;
    t.same(
      { ...pick(w), invalid: w.invalid },
      {
        shares: e.shares,
        valid: e.valid,
        blocks: e.blocks,
        disputes: e.disputes,
        poolAcceptedLocallyInvalid: e.poolAcceptedLocallyInvalid,
        sumDifficulty: e.sumDifficulty,
        firstTs: e.firstTs,
        lastTs: e.lastTs,
        invalid: e.invalid,
      },
      w.worker,
    );
  }
}

function pick(w: WorkerStats) {
  const { shares, valid, blocks, disputes, poolAcceptedLocallyInvalid, sumDifficulty, firstTs, lastTs } = w;
  return { shares, valid, blocks, disputes, poolAcceptedLocallyInvalid, sumDifficulty, firstTs, lastTs };
}

interface Asserts {
  same(found: unknown, wanted: unknown, ...message: [] | [string]): boolean;
  testdir(): string;
}

async function journal(t: Asserts, shares = 3000, extra: Partial<GenerateJournalOptions> = {}) {
  // t.testdir() makes a fresh directory on every call: only call it for the test's first journal.
  const path = extra.path ?? `${t.testdir()}/j.jsonl`;
  return generateJournal({ shares, seed: 11, sharesPerJob: 150, ...extra, path });
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

let edits = 0;
function rewrite(path: string, edit: (lines: string[]) => string[], trailingNewline = true): string {
  const out = `${path}.edit${++edits}`;
  const ls = edit(lines(path));
  writeFileSync(out, ls.join('\n') + (trailingNewline ? '\n' : ''));
  return out;
}

function findLine(ls: string[], pred: (rec: Record<string, unknown>) => boolean, from = 0): number {
  for (let i = from; i < ls.length; i++) if (pred(JSON.parse(ls[i]))) return i;
  throw new Error('no such line');
}

t.test('happy path: per-worker totals equal what the live checks produced', async (t) => {
  const g = await journal(t);
  const r = await auditFiles(g.files);
  t.equal(r.verdict, 'clean');
  t.equal(r.problems.count, 0);
  t.equal(r.mismatches.count, 0);
  t.equal(r.sharesRead, 3000);
  expectWorkers(t, r, g.workers);
  const total = r.totals;
  t.ok(total.blocks > 0, 'block candidates present');
  t.ok(total.disputes > 0, 'disputes present');
  t.ok(total.poolAcceptedLocallyInvalid > 0, 'pool-accepted-but-invalid present');
  for (const reason of [
    'duplicate',
    'stale-job',
    'unknown-job',
    'bad-extranonce2-length',
    'bad-version-bits',
    'ntime-out-of-range',
    'low-difficulty',
    'malformed',
  ]) {
    t.ok((total.invalid[reason] ?? 0) > 0, `some ${reason}`);
  }
  t.equal(r.files[0].records, lines(g.files[0]).length, 'every line is a record');
});

t.test('rotated files: audited together they equal the whole; alone each has no mismatch', async (t) => {
  const g = await journal(t, 3000, { rotateEvery: 700 });
  t.equal(g.files.length, 5);
  const r = await auditFiles(g.files);
  t.equal(r.verdict, 'clean');
  expectWorkers(t, r, g.workers);
  let shares = 0;
  for (const f of g.files) {
    const alone = await auditFiles([f]);
    t.equal(alone.mismatches.count, 0, `${f} alone`);
    t.equal(alone.problems.count, 0, `${f} alone`);
    shares += alone.sharesRead;
  }
  t.equal(shares, 3000);
});

t.test('hashrate is summed difficulty · 2^32 over the span; n/a for no span', async (t) => {
  t.equal(impliedHashrate(1, 0, 1000), 2 ** 32);
  t.equal(impliedHashrate(3, 1000, 4000), 2 ** 32);
  t.equal(impliedHashrate(5, 1000, 1000), null);
  t.equal(impliedHashrate(5, null, null), null);
});

t.test('corruption: each kind is reported with file:line and code, nothing crashes', async (t) => {
  const g = await journal(t, 800);
  const path = g.files[0];
  const base = lines(path);
  const shareAt = findLine(base, (r) => r.t === 'share' && r.lv === 'accepted', 100);
  const jobAt = findLine(base, (r) => r.t === 'job', 10);

  const cases: { name: string; file: string; kind: string; code: string; line: number; message: RegExp }[] = [
    {
      name: 'truncated last line',
      file: rewrite(path, (ls) => [...ls.slice(0, -1), ls.at(-1)?.slice(0, 40) ?? ''], false),
      kind: 'truncated',
      code: 'HG_ERR_JOURNAL_TRUNCATED',
      line: base.length,
      message: /cut off mid-record/,
    },
    {
      name: 'unknown record type',
      file: rewrite(path, (ls) => [...ls.slice(0, 50), '{"t":"pool-stats","ts":1,"x":2}', ...ls.slice(50)]),
      kind: 'record-type',
      code: 'HG_ERR_JOURNAL_RECORD',
      line: 51,
      message: /unknown record type "pool-stats"/,
    },
    {
      name: 'bad hex in a share hash',
      file: rewrite(path, (ls) => ls.map((l, i) => (i === shareAt ? l.replace(/"h":"[0-9a-f]{2}/, '"h":"zz') : l))),
      kind: 'field',
      code: 'HG_ERR_JOURNAL_RECORD',
      line: shareAt + 1,
      message: /share\.h: must be 64 hex digits/,
    },
    {
      name: 'bad hex in a job',
      file: rewrite(path, (ls) => ls.map((l, i) => (i === jobAt ? l.replace(/"ph":"[0-9a-f]{2}/, '"ph":"g0') : l))),
      kind: 'field',
      code: 'HG_ERR_JOURNAL_RECORD',
      line: jobAt + 1,
      message: /job\.ph: must be 64 hex digits/,
    },
    {
      name: 'not JSON',
      file: rewrite(path, (ls) => [...ls.slice(0, 20), '{"t":"share","ts":1,', ...ls.slice(20)]),
      kind: 'json',
      code: 'HG_ERR_JOURNAL_RECORD',
      line: 21,
      message: /not JSON/,
    },
    {
      name: 'unsupported version',
      file: rewrite(path, (ls) => [ls[0].replace('"v":2', '"v":3'), ...ls.slice(1)]),
      kind: 'version',
      code: 'HG_ERR_JOURNAL_VERSION',
      line: 1,
      message: /format version 3 is not supported \(this hashgate reads v1 and v2\)/,
    },
    {
      name: 'missing header',
      file: rewrite(path, (ls) => ls.slice(1)),
      kind: 'header',
      code: 'HG_ERR_JOURNAL_RECORD',
      line: 1,
      message: /first line is not a hdr/,
    },
    {
      name: 'line over the cap',
      file: rewrite(path, (ls) => [...ls.slice(0, 30), `{"t":"job","x":"${'a'.repeat(2 * 1024 * 1024)}"}`, ...ls.slice(30)]),
      kind: 'line-too-long',
      code: 'HG_ERR_JOURNAL_RECORD',
      line: 31,
      message: /longer than the cap/,
    },
  ];
  for (const c of cases) {
    const r = await auditFiles([c.file]);
    t.not(r.verdict, 'clean', c.name);
    const p = r.problems.examples.find((e) => e.kind === c.kind);
    t.ok(p, `${c.name}: a ${c.kind} problem`);
    t.match(p, { file: c.file, line: c.line, code: c.code, message: c.message }, c.name);
    t.ok((r.problems.byKind[c.kind as keyof typeof r.problems.byKind] ?? 0) >= 1, `${c.name}: counted by kind`);
  }
});

t.test('a bad job makes its shares unverifiable (exit 3), not mismatches (exit 1)', async (t) => {
  const g = await journal(t, 800);
  const path = g.files[0];
  const base = lines(path);
  const jobAt = findLine(base, (r) => r.t === 'job', 10);
  const r = await auditFiles([rewrite(path, (ls) => ls.map((l, i) => (i === jobAt ? l.replace(/"ph":"[0-9a-f]{2}/, '"ph":"g0') : l)))]);
  t.equal(r.verdict, 'damaged');
  t.equal(r.mismatches.count, 0);
  t.ok((r.problems.byKind.reference ?? 0) > 0, 'notifies of the bad job are reference problems');
  t.ok(r.totals.unverifiable > 0, 'shares on it are counted as unverifiable');
  t.equal(r.totals.shares, 800, 'every share is still counted');
});

t.test('a tampered verdict or nonce is a mismatch naming the share', async (t) => {
  const g = await journal(t, 800);
  const path = g.files[0];
  const base = lines(path);
  const at = findLine(base, (r) => r.t === 'share' && r.lv === 'accepted', 200);
  const rec = JSON.parse(base[at]);

  const flipped = await auditFiles([
    rewrite(path, (ls) => ls.map((l, i) => (i === at ? l.replace('"lv":"accepted"', '"lv":"low-difficulty"') : l))),
  ]);
  t.equal(flipped.verdict, 'mismatch');
  t.equal(flipped.mismatches.count, 1);
  t.match(flipped.mismatches.examples[0], {
    line: at + 1,
    sid: rec.sid,
    worker: rec.w,
    jobId: rec.jid,
    field: 'lv',
    recorded: { lv: 'low-difficulty' },
    recomputed: { lv: 'accepted', h: rec.h },
  });
  t.equal(flipped.workers.find((w) => w.worker === rec.w)?.mismatches, 1);

  const nonce = ((parseInt(rec.non, 16) ^ 1) >>> 0).toString(16).padStart(8, '0');
  const renonced = await auditFiles([
    rewrite(path, (ls) => ls.map((l, i) => (i === at ? l.replace(`"non":"${rec.non}"`, `"non":"${nonce}"`) : l))),
  ]);
  t.equal(renonced.verdict, 'mismatch');
  t.match(renonced.mismatches.examples[0], {
    line: at + 1,
    field: 'h',
    recorded: { lv: 'accepted', h: rec.h },
    recomputed: { lv: 'accepted' },
  });
  t.not(renonced.mismatches.examples[0].recomputed.h, rec.h);
});

t.test('a share on a job retired by clean_jobs re-validates as stale-job', async (t) => {
  const path = `${t.testdir()}/j.jsonl`;
  let now = 1_000_000;
  const w = createJournalWriter({ path, now: () => now++ });
  const rng = createRng(3);
  const mk = (id: string) =>
    buildRealisticJob(rng, { jobId: id, height: 1, prevhash: '11'.repeat(32), ntime: 0x665a6480, nbits: '17034219', extranonceBytes: 8 });
  const store = new JobStore();
  const ctx = { extranonce1: '01020304', extranonce2Size: 4, versionMask: null, difficulty: TINY_DIFFICULTY };
  w.session({ sessionId: 's', worker: 'rig', extranonce1: ctx.extranonce1, extranonce2Size: 4, versionMask: null });
  const send = (id: string, clean: boolean) => {
    const j = mk(id);
    store.add((prepareJob(j) as { ok: true; job: never }).job, clean);
    w.notify('s', j, clean);
  };
  const submit = (jobId: string, n: number) => {
    const s: ShareSubmit = { jobId, extranonce2: `0000000${n}`, ntime: '665a6481', nonce: `0000000${n}` };
    const v = validateShare(store, ctx, s);
    w.share('s', { worker: 'rig', submit: s, difficulty: TINY_DIFFICULTY, verdict: v }, v.valid ? 'accepted' : 'not-sent');
    return v;
  };
  send('A', true);
  send('B', false);
  t.ok(submit('A', 1).valid, 'A is live');
  send('C', true);
  const v = submit('A', 2);
  t.equal(v.valid ? 'valid' : v.reason, 'stale-job', 'live: A is stale after clean_jobs');
  t.equal((submit('B', 3) as { reason?: string }).reason, 'stale-job');
  await w.close();
  const r = await auditFiles([path]);
  t.equal(r.verdict, 'clean');
  t.same(r.totals.invalid, { 'stale-job': 2 });
  t.equal(r.totals.valid, 1);

  const tampered = await auditFiles([rewrite(path, (ls) => ls.map((l) => l.replace('"lv":"stale-job"', '"lv":"accepted"')))]);
  t.equal(tampered.mismatches.count, 2);
  t.match(tampered.mismatches.examples[0], { recorded: { lv: 'accepted' }, recomputed: { lv: 'stale-job' } });
});

t.test('filters: worker globs and a time window report a subset; filtered shares still feed duplicate sets', async (t) => {
  const g = await journal(t, 2000);
  const all = await auditFiles(g.files);
  const one = await auditFiles(g.files, { workers: ['site-a.rig000?'] });
  t.same(
    one.workers.map((w) => w.worker),
    [
      'site-a.rig0001',
      'site-a.rig0002',
      'site-a.rig0003',
      'site-a.rig0004',
      'site-a.rig0005',
      'site-a.rig0006',
      'site-a.rig0007',
      'site-a.rig0008',
      'site-a.rig0009',
    ],
  );
  t.same(one.workers, all.workers.slice(0, 9), 'the same numbers as the unfiltered rows');
  const two = await auditFiles(g.files, { workers: ['*rig0010', '*rig0020'] });
  t.same(
    two.workers.map((w) => w.worker),
    ['site-a.rig0010', 'site-a.rig0020'],
  );
  const mid = (all.totals.firstTs as number) + ((all.totals.lastTs as number) - (all.totals.firstTs as number)) / 2;
  const before = await auditFiles(g.files, { until: mid });
  const after = await auditFiles(g.files, { since: mid });
  t.equal(before.totals.shares + after.totals.shares, all.totals.shares, 'since/until split the shares');
  t.ok((before.totals.lastTs as number) < mid && (after.totals.firstTs as number) >= mid);
  t.equal(before.verdict, 'clean');
  t.equal(after.verdict, 'clean', 'no mismatch: shares before the window were validated too');
  t.equal((before.totals.invalid.duplicate ?? 0) + (after.totals.invalid.duplicate ?? 0), all.totals.invalid.duplicate);
  t.ok(globToRegExp('a.b*').test('a.bcd') && !globToRegExp('a.b*').test('axbcd'), 'dots are literal');
});

t.test('bounded memory: cache limits turn into reference problems, never crashes', async (t) => {
  const g = await journal(t, 1500, { sessions: 8 });
  const tight = await auditFiles(g.files, { maxSessions: 3 });
  t.equal(tight.verdict, 'damaged');
  t.ok(tight.evicted.sessions > 0);
  t.ok((tight.problems.byKind.reference ?? 0) > 0);
  t.match(
    tight.problems.examples.find((p) => p.kind === 'reference'),
    { code: 'HG_ERR_JOURNAL_REFERENCE', message: /not open here/ },
  );
  t.equal(tight.totals.shares, 1500, 'every share is counted, verified or not');
  t.ok(tight.totals.unverifiable > 0);
  t.equal(tight.mismatches.count, 0);

  // Rotation replays refer back to several jobs at once: with a 1-job cache, most are gone.
  const rotated = await journal(t, 1500, { sessions: 8, rotateEvery: 500, path: `${g.files[0]}.rotated` });
  const oneJob = await auditFiles(rotated.files, { maxJobs: 1 });
  t.ok(oneJob.evicted.jobs > 0);
  t.ok((oneJob.problems.byKind.reference ?? 0) > 0, 'notifies of evicted jobs are reference problems');
  t.equal(oneJob.mismatches.count, 0, 'shares they affect are unverifiable, not mismatches');

  const few = await auditFiles(g.files, { maxWorkers: 2 });
  t.equal(few.workers.length, 3, 'two workers and the rest pooled');
  t.ok(few.workers.some((w) => w.worker === '(other workers)'));
  t.equal(few.totals.shares, 1500);
  const capped = await auditFiles(g.files, { maxSessions: 3, maxExamples: 2 });
  t.equal(capped.problems.examples.filter((p) => p.kind === 'reference').length, 2, 'examples are capped per kind');
});

t.test('the validator is injectable', async (t) => {
  const g = await journal(t, 300, { mix: false });
  let calls = 0;
  const r = await auditFiles(g.files, {
    validate: (store, ctx, submit) => {
      calls++;
      return validateShare(store, ctx, submit);
    },
  });
  t.equal(calls, 300);
  t.equal(r.verdict, 'clean');
  const liar = await auditFiles(g.files, {
    validate: () => ({ status: 'rejected', valid: false, reason: 'duplicate', code: 22, detail: 'always' }),
  });
  t.equal(liar.mismatches.count, 300);
  const thrower = await auditFiles(g.files, {
    validate: () => {
      throw new Error('boom');
    },
  });
  t.match(thrower.problems, { count: 300, byKind: { validator: 300 } });
  t.match(thrower.problems.examples[0], { code: 'HG_ERR_INTERNAL', message: /boom/ });
});

t.test('unreadable files are HG_ERR_JOURNAL_OPEN errors', async (t) => {
  const dir = t.testdir();
  await t.rejects(auditFiles([`${dir}/nope.jsonl`]), { code: 'HG_ERR_JOURNAL_OPEN' });
  await t.rejects(auditFiles([dir]), { code: 'HG_ERR_JOURNAL_OPEN', message: /not a regular file/ });
});

t.test('parallel shards merge to exactly the single-thread result, damage included', async (t) => {
  const g = await journal(t, 1500, { rotateEvery: 600 });
  const damaged = g.files.map((f, i) =>
    i === 1
      ? rewrite(
          f,
          (ls) => [...ls.slice(0, 40), '{"t":"nope","ts":1}', 'garbage', ...ls.slice(40, -1), ls.at(-1)?.slice(0, 30) ?? ''],
          false,
        )
      : f,
  );
  const tamperAt = findLine(lines(damaged[0]), (r) => r.t === 'share' && r.lv === 'accepted');
  damaged[0] = rewrite(damaged[0], (ls) => ls.map((l, i) => (i === tamperAt ? l.replace('"lv":"accepted"', '"lv":"duplicate"') : l)));
  const single = await runAudit(damaged, { threads: 1 });
  const parallel = await runAudit(damaged, { threads: 3 });
  t.equal(single.verdict, 'mismatch');
  t.same(parallel, single);
  t.same(mergeResults([single]), single, 'merging one result is the identity');
  // A tiny job cache: evictions (and the reference problems they cause) are the same in every shard.
  const tightSingle = await runAudit(g.files, { threads: 1, maxJobs: 2 });
  t.ok(tightSingle.evicted.jobs > 0 && (tightSingle.problems.byKind.reference ?? 0) > 0);
  t.same(await runAudit(g.files, { threads: 2, maxJobs: 2 }), tightSingle);
});

t.test('after a set_extranonce, a share of an earlier job is checked with the extranonce that job was sent with', async (t) => {
  const path = `${t.testdir()}/j.jsonl`;
  let now = 1_000_000;
  const w = createJournalWriter({ path, now: () => now++ });
  const rng = createRng(5);
  const mk = (id: string) =>
    buildRealisticJob(rng, { jobId: id, height: 1, prevhash: '22'.repeat(32), ntime: 0x665a6480, nbits: '17034219', extranonceBytes: 8 });
  const store = new JobStore();
  // 1 in 256 hashes meets this: a share found for one extranonce1 almost never meets it for another.
  const difficulty = 2 ** -24;
  const old = { extranonce1: '01020304', extranonce2Size: 4, versionMask: null, difficulty };
  const now1 = { ...old, extranonce1: 'a1b2c3d4' };
  const jobs = new Map<string, never>();
  const send = (id: string, clean: boolean) => {
    const j = mk(id);
    jobs.set(id, (prepareJob(j) as { ok: true; job: never }).job);
    store.add(jobs.get(id)!, clean);
    w.notify('s', j, clean);
  };
  /** The first nonce whose share meets the difficulty under `ctx` and not under `other` (searched in a scratch store). */
  const find = (jobId: string, ctx: typeof old, other: typeof old) => {
    const scratch = new JobStore();
    scratch.add(jobs.get(jobId)!, true);
    for (let n = 0; n < 100_000; n++) {
      const s: ShareSubmit = { jobId, extranonce2: '00000001', ntime: '665a6481', nonce: n.toString(16).padStart(8, '0') };
      if (!validateShare(scratch, other, s).valid && validateShare(scratch, ctx, s).valid) return s;
    }
    throw new Error('no share found');
  };
  w.session({ sessionId: 's', worker: 'rig', extranonce1: old.extranonce1, extranonce2Size: 4, versionMask: null });
  send('A', true);
  const onOld = find('A', old, now1);
  w.session({ sessionId: 's', worker: 'rig', extranonce1: now1.extranonce1, extranonce2Size: 4, versionMask: null });
  send('B', false);
  const onNew = find('B', now1, old);
  for (const [s, ctx] of [
    [onOld, old],
    [onNew, now1],
  ] as const) {
    const v = validateShare(store, ctx, s);
    t.ok(v.valid, `live: valid under the extranonce1 its job was sent with (${ctx.extranonce1})`);
    w.share('s', { worker: 'rig', submit: s, difficulty, verdict: v }, 'accepted');
  }
  await w.close();
  const r = await auditFiles([path]);
  t.equal(r.verdict, 'clean', 'no mismatch: each share re-validated with its own job’s extranonce');
  t.equal(r.totals.valid, 2);
});
