import t from 'tap';
import { buildAuditJson, formatDifficulty, formatHashrate, formatSpan, renderAuditTable } from '../../src/audit/report.js';
import { newWorkerStats } from '../../src/audit/stats.js';

t.test('hashrate units from H/s to EH/s, n/a without a span', async (t) => {
  t.equal(formatHashrate(null), 'n/a');
  t.equal(formatHashrate(12.3), '12.3 H/s');
  t.equal(formatHashrate(4_296_000), '4.30 MH/s');
  t.equal(formatHashrate(110e12), '110 TH/s');
  t.equal(formatHashrate(6.5e20), '650 EH/s');
  t.equal(formatHashrate(2e21), '2000 EH/s', 'EH/s is the largest unit');
});

t.test('difficulty sums and spans read well', async (t) => {
  t.equal(formatDifficulty(0), '0');
  t.equal(formatDifficulty(2 ** -32), '2.33e-10');
  t.equal(formatDifficulty(0.5), '0.500');
  t.equal(formatDifficulty(65536 * 1000), '65.5M');
  t.equal(formatSpan(null), 'n/a');
  t.equal(formatSpan(12.34), '12.3s');
  t.equal(formatSpan(65), '1m 05s');
  t.equal(formatSpan(3600 * 5 + 120), '5h 02m');
  t.equal(formatSpan(86400 * 2 + 3600 * 3), '2d 03h');
});

function sample() {
  const a = {
    ...newWorkerStats('rig-a'),
    shares: 10,
    valid: 8,
    invalid: { duplicate: 2 },
    sumDifficulty: 8192,
    firstTs: 0,
    lastTs: 60_000,
  };
  const b = { ...newWorkerStats('a-much-longer-worker-name'), shares: 1, valid: 1, sumDifficulty: 1, firstTs: 5, lastTs: 5 };
  const totals = {
    ...newWorkerStats('(total)'),
    shares: 11,
    valid: 9,
    invalid: { duplicate: 2 },
    sumDifficulty: 8193,
    firstTs: 0,
    lastTs: 60_000,
  };
  return {
    verdict: 'damaged' as const,
    files: [{ path: 'j.jsonl', bytes: 2048, lines: 20, records: 19, shares: 11, problems: 1, segments: 1 }],
    workers: [b, a],
    totals,
    problems: {
      count: 1,
      byKind: { json: 1 },
      examples: [{ file: 'j.jsonl', line: 7, kind: 'json' as const, code: 'HG_ERR_JOURNAL_RECORD' as const, message: 'not JSON (x)' }],
    },
    mismatches: { count: 0, examples: [] },
    sharesRead: 11,
    records: 19,
    bytes: 2048,
    evicted: { sessions: 0, jobs: 0 },
  };
}

const META = { elapsedMs: 1000, exitCode: 3, filters: { workers: [], since: null, until: null } };

t.test('the table has aligned columns, a total row, problems with file:line and the verdict', async (t) => {
  const text = renderAuditTable(sample(), META);
  const rows = text.split('\n');
  const header = rows.find((l) => l.startsWith('WORKER')) as string;
  t.ok(header, 'header row');
  const body = rows.slice(rows.indexOf(header), rows.indexOf(header) + 4);
  t.equal(body.length, 4);
  // Right-aligned numeric columns end at the same offset on every row.
  const sharesEnd = header.indexOf('SHARES') + 'SHARES'.length;
  for (const r of body.slice(1)) t.match(r.slice(0, sharesEnd), /\d$/, `SHARES column aligned: ${r}`);
  t.match(body[2], /^rig-a\s+10\s+8\s+0\s+2\s/);
  t.match(body[2], /586 GH\/s/, '8192 · 2^32 / 60 s');
  t.match(body[1], /n\/a/, 'no span, no hashrate');
  t.match(body[3], /^\(total\)/);
  t.match(text, /j\.jsonl:7: not JSON \(x\) \[HG_ERR_JOURNAL_RECORD\]/);
  t.match(text, /Result: damaged journal: 1 problem, no verdict disagreements \(exit 3\)/);
});

t.test('the JSON document has a stable shape', async (t) => {
  const doc = buildAuditJson(sample(), META);
  t.same(Object.keys(doc), [
    'report',
    'v',
    'verdict',
    'exitCode',
    'filters',
    'files',
    'totals',
    'workers',
    'problems',
    'mismatches',
    'sharesRead',
    'records',
    'bytes',
    'evicted',
    'elapsedMs',
    'sharesPerSecond',
  ]);
  t.match(doc, { report: 'hashgate-audit', v: 1, verdict: 'damaged', exitCode: 3, sharesPerSecond: 11 });
  t.match(doc.workers[1], {
    worker: 'rig-a',
    shares: 10,
    valid: 8,
    invalid: 2,
    invalidByReason: { duplicate: 2 },
    spanSeconds: 60,
    hashrate: (8192 * 2 ** 32) / 60,
  });
  t.equal(doc.workers[0].hashrate, null);
});
