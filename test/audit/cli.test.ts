import { readFileSync, writeFileSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import t from 'tap';
import { createProgressBar, parseTime } from '../../src/cli/commands/audit.js';
import { main } from '../../src/cli/main.js';
import { generateJournal } from '../helpers/journal-gen.js';

function capture(isTTY = false) {
  const stream = new PassThrough() as PassThrough & { isTTY?: boolean; columns?: number };
  stream.isTTY = isTTY;
  stream.columns = 120;
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}

async function run(argv: string[], ttyErr = false) {
  const out = capture();
  const err = capture(ttyErr);
  const code = await main(argv, { stdin: Readable.from([]), stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

t.test('hashgate audit through main()', async (t) => {
  const dir = t.testdir();
  const g = await generateJournal({ path: `${dir}/j.jsonl`, shares: 1200, seed: 5, rotateEvery: 500 });
  const files = [...g.files];

  t.test('clean journal: table on stdout, exit 0, nothing on stderr without a TTY', async (t) => {
    const r = await run(['audit', ...files, '--threads', '1']);
    t.equal(r.code, 0);
    t.equal(r.stderr, '');
    t.match(r.stdout, /^hashgate audit: 3 files, [\d,]+ records, 1,200 shares/);
    t.match(
      r.stdout,
      /WORKER\s+SHARES\s+VALID\s+BLOCKS\s+INVALID\s+DISPUTES\s+POOL-OK-INVALID\s+MISMATCH\s+UNVERIFIED\s+SUM-DIFF\s+SPAN\s+HASHRATE/,
    );
    t.match(r.stdout, /\(total\)\s+1,200\s/);
    t.match(r.stdout, /Files:\n/);
    t.match(r.stdout, /Result: clean/);
  });

  t.test('--json prints one object with per-worker rows', async (t) => {
    const r = await run(['audit', ...files, '--json', '--worker', 'site-a.rig000[1]', '--worker', '*rig0002', '--threads', '2']);
    t.equal(r.code, 0);
    const doc = JSON.parse(r.stdout);
    t.match(doc, {
      report: 'hashgate-audit',
      v: 1,
      verdict: 'clean',
      exitCode: 0,
      sharesRead: 1200,
      filters: { workers: ['site-a.rig000[1]', '*rig0002'] },
    });
    t.same(
      doc.workers.map((w: { worker: string }) => w.worker),
      ['site-a.rig0002'],
      'globs: [ is literal, * matches',
    );
    t.equal(doc.totals.shares, g.workers.get('site-a.rig0002')?.shares);
  });

  t.test('--since / --until take ISO 8601 or epoch ms; bad values are usage errors', async (t) => {
    const first = Math.min(...[...g.workers.values()].map((w) => w.firstTs));
    const iso = new Date(first + 2000).toISOString();
    const a = JSON.parse((await run(['audit', ...files, '--json', '--since', iso, '--threads', '1'])).stdout);
    const b = JSON.parse((await run(['audit', ...files, '--json', '--until', String(first + 2000), '--threads', '1'])).stdout);
    t.equal(a.totals.shares + b.totals.shares, 1200);
    t.ok(a.totals.shares > 0 && b.totals.shares > 0);
    const bad = await run(['audit', ...files, '--since', 'yesterday']);
    t.equal(bad.code, 2);
    t.match(bad.stderr, /--since "yesterday" is not an ISO 8601 date-time or epoch milliseconds \[HG_ERR_USAGE\]/);
    t.equal(parseTime('2024-06-01'), Date.UTC(2024, 5, 1));
    t.equal(parseTime('2024-06-01T00:00:01+02:00'), Date.UTC(2024, 4, 31, 22, 0, 1));
    t.equal(parseTime('1717200000000'), 1717200000000);
    t.equal(parseTime('June 1'), undefined);
  });

  t.test('a tampered verdict exits 1 and names the share', async (t) => {
    const lines = readFileSync(files[1], 'utf8').split('\n');
    const at = lines.findIndex((l) => l.includes('"t":"share"') && l.includes('"lv":"accepted"'));
    const rec = JSON.parse(lines[at]);
    lines[at] = lines[at].replace('"lv":"accepted"', '"lv":"bad-version-bits"');
    const tampered = `${dir}/tampered.jsonl`;
    writeFileSync(tampered, lines.join('\n'));
    const r = await run(['audit', files[0], tampered, files[2]]);
    t.equal(r.code, 1);
    t.match(
      r.stdout,
      new RegExp(
        `tampered\\.jsonl:${at + 1}: session ${rec.sid} worker ${rec.w} job ${rec.jid}: recorded bad-version-bits, recomputed accepted`,
      ),
    );
    t.match(r.stdout, /Result: MISMATCH: 1 recorded verdict disagrees/);
  });

  t.test('a damaged journal exits 3 and lists the problems with file:line', async (t) => {
    const damaged = `${dir}/damaged.jsonl`;
    const text = readFileSync(files[2], 'utf8');
    writeFileSync(damaged, `${text}{"t":"bogus","ts":1}\n{"t":"share","ts":`);
    const lineCount = text.split('\n').length;
    const r = await run(['audit', files[0], files[1], damaged]);
    t.equal(r.code, 3);
    t.match(r.stdout, `damaged.jsonl:${lineCount}: unknown record type "bogus"`);
    t.match(r.stdout, `damaged.jsonl:${lineCount + 1}: last line cut off mid-record`);
    t.match(r.stdout, /\[HG_ERR_JOURNAL_TRUNCATED\]/);
  });

  t.test('an unreadable file exits 2 before anything is audited', async (t) => {
    const r = await run(['audit', files[0], `${dir}/missing.jsonl`]);
    t.equal(r.code, 2);
    t.equal(r.stdout, '');
    t.match(r.stderr, /missing\.jsonl: .*\[HG_ERR_JOURNAL_OPEN\]/);
    const none = await run(['audit']);
    t.equal(none.code, 2);
  });

  t.test('a TTY stderr gets a progress bar, cleared at the end, and a line per file', async (t) => {
    const r = await run(['audit', ...files, '--threads', '1'], true);
    t.equal(r.code, 0);
    t.ok(r.stderr.startsWith('\r\x1b[2K['), 'the bar redraws in place');
    t.match(r.stderr, /\[[#.]{24}\]\s+\d+%/);
    t.equal(r.stderr.match(/audited \d\/3 .*: [\d,]+ shares, 0 problems\n/g)?.length, 3, 'one line per file');
    t.ok(r.stderr.endsWith('problems\n'), 'no bar left behind');
    const one = await run(['audit', files[0], '--threads', '1'], true);
    t.match(one.stderr, /\[[#.]{24}\]/);
    t.ok(one.stderr.endsWith('\r\x1b[2K'), 'a single file: the bar is cleared at the end');
    const quiet = await run(['audit', ...files, '--no-progress'], true);
    t.equal(quiet.stderr, '', '--no-progress');
  });
});

t.test('the progress bar redraws at most 10 times a second', async (t) => {
  let now = 0;
  const err = capture(true);
  const bar = createProgressBar(err.stream, () => now);
  const p = { file: 'f', fileIndex: 0, fileCount: 1, bytesRead: 10, bytesTotal: 100, sharesRead: 5 };
  for (let i = 0; i < 100; i++) {
    bar.update(p);
    now += 10; // 100 updates over 1 s
  }
  bar.clear();
  const draws = err.text().match(/\[[#.]{24}\]/g) ?? [];
  t.equal(draws.length, 10);
  t.match(err.text(), /10%/);
});
