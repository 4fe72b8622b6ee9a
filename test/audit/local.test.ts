/**
 * The audit of format v2 journals: local-only shares are counted apart from the shares the pool saw
 * (`lsh` records re-validated at their local difficulty, `loc` aggregates checked for consistency and
 * counted as recorded), and a v1 journal audits exactly as it did before v2.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { AuditResult } from '../../src/audit/audit.js';
import { buildAuditJson, renderAuditTable } from '../../src/audit/report.js';
import { auditFiles, mergeResults } from '../../src/audit/run.js';
import type { WorkerStats } from '../../src/audit/stats.js';
import { LOCAL_DIFFICULTY } from '../../src/journal/generate.js';
import { createJournalWriter, type JournalWriterOptions } from '../../src/journal/writer.js';
import { formatU32BE } from '../../src/util/hex.js';
import { JobStore, prepareJob, type ShareSubmit, validateShare } from '../../src/work/index.js';
import { buildRealisticJob, createRng, generateJournal, TINY_DIFFICULTY, type WorkerExpectation } from '../helpers/journal-gen.js';

const FIXTURE = new URL('./fixtures/journal-v1.jsonl', import.meta.url).pathname;
const EXPECTED = JSON.parse(readFileSync(new URL('./fixtures/journal-v1.expected.json', import.meta.url), 'utf8')) as {
  verdict: string;
  sharesRead: number;
  records: number;
  totals: Record<string, unknown>;
  workers: Record<string, unknown>[];
};
const META = { elapsedMs: 100, exitCode: 0, filters: { workers: [], since: null, until: null } };

/** A worker row without its local-only stats (what a v1 audit reported). */
function withoutLocal(w: WorkerStats): Record<string, unknown> {
  const { local: _local, ...rest } = w;
  return rest;
}

function lines(path: string): string[] {
  return readFileSync(path, 'utf8').split('\n').slice(0, -1);
}

t.test('a v1 journal (written before v2) audits exactly as it did, with no local-only shares', async (t) => {
  t.match(lines(FIXTURE)[0], /^\{"t":"hdr","ts":\d+,"v":1,/, 'the fixture is a v1 file');
  const r = await auditFiles([FIXTURE]);
  t.equal(r.verdict, EXPECTED.verdict);
  t.equal(r.verdict, 'clean');
  t.equal(r.sharesRead, EXPECTED.sharesRead);
  t.equal(r.records, EXPECTED.records);
  t.same(withoutLocal(r.totals), EXPECTED.totals, 'totals as the v1 audit computed them');
  t.same(r.workers.map(withoutLocal), EXPECTED.workers, 'per-worker rows as the v1 audit computed them');
  t.equal(r.totals.local.shares, 0);
  const text = renderAuditTable(r, META);
  t.notMatch(text, /local-only/i, 'no local-only section, no "+ local-only" in the summary');
  t.notMatch(text, /^Shares \(share records/m, 'the shares table has no title, as before');
});

t.test('a v1 segment has no local-only records: a loc line in it is an unknown record type', async (t) => {
  const path = join(t.testdir(), 'v1-with-loc.jsonl');
  const base = lines(FIXTURE);
  const sess = JSON.parse(base[1]!) as { sid: string; w: string };
  const loc = JSON.stringify({ t: 'loc', ts: 1, sid: sess.sid, w: sess.w, n: 1, d: 1, from: 1, to: 1 });
  writeFileSync(path, `${[base[0], base[1], loc, ...base.slice(2)].join('\n')}\n`);
  const r = await auditFiles([path]);
  t.equal(r.verdict, 'damaged');
  t.match(r.problems.examples[0], { line: 3, kind: 'record-type', message: /unknown record type "loc" \(v1 has/ });
  t.equal(r.totals.local.shares, 0);
});

function expectLocal(t: Test, r: AuditResult, expected: ReadonlyMap<string, WorkerExpectation>, individually: boolean) {
  let total = 0;
  for (const [worker, e] of expected) {
    const w = r.workers.find((x) => x.worker === worker);
    t.ok(w, `${worker} has a row`);
    if (w === undefined) continue;
    t.match(
      w,
      { shares: e.shares, valid: e.valid, blocks: e.blocks, disputes: e.disputes, sumDifficulty: e.sumDifficulty, invalid: e.invalid },
      `${worker}: the shares the pool saw, as generated`,
    );
    t.match(
      w.local,
      {
        shares: e.local.shares,
        valid: individually ? e.local.shares : 0,
        aggregated: individually ? 0 : e.local.shares,
        invalid: 0,
        mismatches: 0,
        unverifiable: 0,
        firstTs: e.local.firstTs,
        lastTs: e.local.lastTs,
      },
      `${worker}: local-only shares, apart`,
    );
    t.ok(Math.abs(w.local.sumDifficulty - e.local.sumDifficulty) <= 1e-9 * e.local.sumDifficulty, `${worker}: local difficulty sum`);
    total += e.local.shares;
  }
  t.equal(r.totals.local.shares, total);
  t.ok(total > 0, 'local-only shares present');
}

t.test('v2, aggregated: audits clean; shares and local-only shares are reported apart', async (t) => {
  const g = await generateJournal({ path: join(t.testdir(), 'j.jsonl'), shares: 1200, seed: 3, sharesPerJob: 100, localPerShare: 3 });
  t.match(lines(g.files[0]!)[0], /"v":2,.*"lm":"aggregate"/);
  const r = await auditFiles(g.files);
  t.equal(r.verdict, 'clean');
  t.equal(r.problems.count, 0);
  t.equal(r.sharesRead, 1200, 'sharesRead counts share records only');
  expectLocal(t, r, g.workers, false);
  t.ok(r.totals.local.aggregates > 0 && r.totals.local.aggregates < r.totals.local.shares, 'fewer records than shares');

  const json = buildAuditJson(r, META);
  t.match(json.totals.local, { shares: r.totals.local.shares, aggregated: r.totals.local.shares, valid: 0 });
  t.type(json.totals.local.hashrate, 'number');
  t.match(json.workers[0]!.local, { shares: Number, sumDifficulty: Number, spanSeconds: Number });
  const text = renderAuditTable(r, META);
  t.match(text, /1,200 shares \(\+ [\d,]+ local-only\)/);
  t.match(text, /^Shares \(share records: sent to the pool, or refused by hashgate\):$/m);
  t.match(text, /^Local-only shares \(answered by hashgate at its local difficulty, never forwarded/m);
  const localHeader = text.split('\n').find((l) => l.startsWith('WORKER') && l.includes('AGGREGATED'));
  t.match(localHeader, /^WORKER\s+LOCAL\s+RECHECKED\s+AGGREGATED\s+INVALID\s+MISMATCH\s+UNVERIFIED\s+SUM-DIFF\s+SPAN\s+HASHRATE$/);
  const totalRows = text.split('\n').filter((l) => l.startsWith('(total)'));
  t.equal(totalRows.length, 2, 'a total row in each table');
  t.match(
    totalRows[1],
    new RegExp(
      `^\\(total\\)\\s+${r.totals.local.shares.toLocaleString('en-US')}\\s+0\\s+${r.totals.local.shares.toLocaleString('en-US')}\\s+0\\s+0\\s+0\\s`,
    ),
  );
});

t.test('v2, every share: each lsh is re-validated; rotated files audit clean alone and together', async (t) => {
  const g = await generateJournal({
    path: join(t.testdir(), 'j.jsonl'),
    shares: 1200,
    seed: 4,
    sharesPerJob: 100,
    localPerShare: 2,
    rotateEvery: 500,
    localShares: { mode: 'every' },
  });
  t.equal(g.files.length, 3);
  const r = await auditFiles(g.files);
  t.equal(r.verdict, 'clean');
  expectLocal(t, r, g.workers, true);
  for (const f of g.files) {
    const alone = await auditFiles([f]);
    t.equal(alone.verdict, 'clean', `${f} alone`);
    t.equal(alone.totals.local.unverifiable, 0);
  }
  // Two shards merged equal one engine (the lsh and loc records go to their session's shard).
  const shards = await Promise.all([0, 1].map((index) => auditFiles(g.files, { shard: { index, count: 2 } })));
  const merged = mergeResults(shards);
  t.same(merged.totals, r.totals);
  t.same(merged.workers, r.workers);
});

t.test('tampering with a local-only share or an aggregate is found', async (t) => {
  const dir = t.testdir();
  const g = await generateJournal({
    path: join(dir, 'j.jsonl'),
    shares: 300,
    seed: 6,
    localPerShare: 1,
    localShares: { mode: 'every' },
    mix: false,
  });
  const base = lines(g.files[0]!);
  const at = base.findIndex((l) => l.startsWith('{"t":"lsh"'));
  const rec = JSON.parse(base[at]!) as Record<string, unknown>;
  const tampered = join(dir, 'tampered.jsonl');
  const nonce = formatU32BE((parseInt(String(rec.non), 16) + 1) >>> 0);
  writeFileSync(tampered, `${base.map((l, i) => (i === at ? JSON.stringify({ ...rec, non: nonce }) : l)).join('\n')}\n`);
  const r = await auditFiles([tampered]);
  t.equal(r.verdict, 'mismatch');
  t.equal(r.mismatches.count, 1);
  t.match(r.mismatches.examples[0], {
    line: at + 1,
    field: 'h',
    local: true,
    recorded: { lv: 'accepted' },
    recomputed: { lv: 'accepted' },
  });
  t.equal(r.totals.mismatches, 0, 'not a mismatch of the shares the pool saw');
  t.equal(r.totals.local.mismatches, 1);
  t.match(
    renderAuditTable(r, { ...META, exitCode: 1 }),
    /tampered\.jsonl:\d+: session \S+ worker \S+ job \S+ \(local-only share\): hash recorded/,
  );

  const agg = await generateJournal({ path: join(dir, 'a.jsonl'), shares: 300, seed: 6, localPerShare: 2, mix: false });
  const ls = lines(agg.files[0]!);
  const li = ls.findIndex((l) => l.startsWith('{"t":"loc"'));
  const loc = JSON.parse(ls[li]!) as { n: number; d: number; hi: number };
  const cases: [string, Record<string, unknown>, string, RegExp][] = [
    ['inflated sum', { d: loc.n * loc.hi * 2 }, 'field', /loc\.d: .* is above n × hi/],
    ['negative count', { n: -1 }, 'field', /loc\.n: must be an integer from 0/],
    ['backwards window', { from: 2e12, to: 1e12 }, 'field', /loc\.to: must be epoch milliseconds >= from/],
    ['unknown session', { sid: 'nobody' }, 'reference', /local-share aggregate of session nobody, which is not open here/],
  ];
  for (const [name, patch, kind, message] of cases) {
    const f = join(dir, `${name.replace(/ /g, '-')}.jsonl`);
    writeFileSync(f, `${ls.map((l, i) => (i === li ? JSON.stringify({ ...loc, ...patch }) : l)).join('\n')}\n`);
    const res = await auditFiles([f]);
    t.equal(res.verdict, 'damaged', name);
    t.match(res.problems.examples, [{ line: li + 1, kind, message }], name);
    if (kind === 'reference') t.equal(res.totals.local.unverifiable, loc.n, `${name}: counted as unverified`);
    else t.equal(res.totals.local.shares, agg.workers.size > 0 ? sumLocal(agg.workers) - loc.n : 0, `${name}: not counted`);
  }
});

function sumLocal(workers: ReadonlyMap<string, WorkerExpectation>): number {
  let n = 0;
  for (const w of workers.values()) n += w.local.shares;
  return n;
}

/**
 * A miner resubmits a local-only share (below the pool's difficulty): live it is a duplicate, journaled as
 * a share at the pool's difficulty. Without its twin the audit would recompute low-difficulty.
 */
async function resubmitLocal(dir: string, options: Partial<JournalWriterOptions>): Promise<AuditResult> {
  const path = join(dir, `dup-${options.localShares?.mode ?? 'aggregate'}.jsonl`);
  let now = Date.UTC(2024, 5, 1);
  const writer = createJournalWriter({ path, now: () => now++, ...options });
  const job = buildRealisticJob(createRng(9), {
    jobId: '1',
    height: 1,
    prevhash: '11'.repeat(32),
    ntime: 0x665a6480,
    nbits: '17034219',
    extranonceBytes: 8,
  });
  const store = new JobStore();
  const p = prepareJob(job);
  if (!p.ok) throw new Error(p.error.message);
  store.add(p.job, true);
  writer.session({ sessionId: 's', worker: 'w', extranonce1: '00000001', extranonce2Size: 4, versionMask: null });
  writer.notify('s', job, true);
  const POOL = 2 ** 20; // no generated hash meets it
  const submit: ShareSubmit = { jobId: '1', extranonce2: '00000001', ntime: '665a6481', nonce: '00c0ffee' };
  const ctx = { extranonce1: '00000001', extranonce2Size: 4, versionMask: null, difficulty: TINY_DIFFICULTY };
  const first = validateShare(store, ctx, submit);
  writer.localShare('s', { worker: 'w', submit, difficulty: TINY_DIFFICULTY, verdict: first });
  const again = validateShare(store, ctx, submit);
  writer.share('s', { worker: 'w', submit, difficulty: POOL, verdict: again }, 'not-sent');
  await writer.close();
  if (!first.valid || again.valid || again.reason !== 'duplicate') throw new Error('the live checks did not go as planned');
  return auditFiles([path]);
}

t.test('a resubmitted local-only share: unverifiable when only aggregated, re-checked as duplicate with every', async (t) => {
  const dir = t.testdir();
  const agg = await resubmitLocal(dir, {});
  t.equal(agg.verdict, 'clean', 'not a mismatch: its twin is only in an aggregate');
  t.match(agg.totals, { shares: 1, unverifiable: 1, mismatches: 0, valid: 0 });
  const every = await resubmitLocal(dir, { localShares: { mode: 'every' } });
  t.equal(every.verdict, 'clean');
  t.match(every.totals, { shares: 1, unverifiable: 0, mismatches: 0, invalid: { duplicate: 1 } });
  t.match(every.totals.local, { shares: 1, valid: 1 });
});

t.test('a file with a v1 segment and then a v2 one (an upgraded hashgate appended to it) audits clean', async (t) => {
  const dir = t.testdir();
  const g = await generateJournal({ path: join(dir, 'v2.jsonl'), shares: 200, seed: 7, localPerShare: 2 });
  const both = join(dir, 'both.jsonl');
  writeFileSync(both, readFileSync(FIXTURE, 'utf8') + readFileSync(g.files[0]!, 'utf8'));
  const r = await auditFiles([both]);
  t.equal(r.verdict, 'clean');
  t.equal(r.files[0]!.segments, 2);
  t.equal(r.sharesRead, EXPECTED.sharesRead + 200);
  t.equal(r.totals.local.shares, sumLocal(g.workers));
  t.equal(r.totals.valid, (EXPECTED.totals.valid as number) + [...g.workers.values()].reduce((n, w) => n + w.valid, 0));
});

t.test('the generator keeps its local difficulty below the pool difficulty', async (t) => {
  t.ok(LOCAL_DIFFICULTY < TINY_DIFFICULTY);
});
