import { writeFileSync } from 'node:fs';
import t from 'tap';
import { type LineSink, readFileLines, readLines } from '../../src/journal/reader.js';

type Event = ['line', number, string] | ['oversize', number, number, boolean] | ['unterminated', number, string];

function collector(): { sink: LineSink; events: Event[] } {
  const events: Event[] = [];
  return {
    events,
    sink: {
      line: (text, n) => events.push(['line', n, text]),
      oversize: (n, bytes, terminated) => events.push(['oversize', n, bytes, terminated]),
      unterminated: (text, n) => events.push(['unterminated', n, text]),
    },
  };
}

async function* chunks(parts: (string | Uint8Array)[]) {
  for (const p of parts) yield typeof p === 'string' ? Buffer.from(p) : p;
}

const INPUT = 'first\nsécond line\n\n{"t":"x"}\nlast';

t.test('splitting the input at every byte gives the same lines', async (t) => {
  const whole = Buffer.from(INPUT);
  const expected: Event[] = [
    ['line', 1, 'first'],
    ['line', 2, 'sécond line'],
    ['line', 3, ''],
    ['line', 4, '{"t":"x"}'],
    ['unterminated', 5, 'last'],
  ];
  for (let i = 0; i <= whole.length; i++) {
    for (let j = i; j <= whole.length; j += 3) {
      const c = collector();
      const summary = await readLines(chunks([whole.subarray(0, i), whole.subarray(i, j), whole.subarray(j)]), c.sink);
      t.same(c.events, expected, `split at ${i}, ${j}`);
      t.same(summary, { bytes: whole.length, lines: 5 });
    }
  }
});

t.test('a line over the cap is reported with its length and skipped, whatever the chunking', async (t) => {
  const long = 'x'.repeat(100);
  const text = `ok\n${long}\nafter\n`;
  for (const size of [1, 7, 64, 1000]) {
    const parts: string[] = [];
    for (let i = 0; i < text.length; i += size) parts.push(text.slice(i, i + size));
    const c = collector();
    await readLines(chunks(parts), c.sink, { maxLineBytes: 50 });
    t.same(
      c.events,
      [
        ['line', 1, 'ok'],
        ['oversize', 2, 100, true],
        ['line', 3, 'after'],
      ],
      `chunks of ${size}`,
    );
  }
});

t.test('an oversize last line with no newline is reported as such', async (t) => {
  const c = collector();
  await readLines(chunks(['a\n', 'y'.repeat(30), 'y'.repeat(30)]), c.sink, { maxLineBytes: 50 });
  t.same(c.events, [
    ['line', 1, 'a'],
    ['oversize', 2, 60, false],
  ]);
});

t.test('empty input and input ending in a newline have no unterminated line', async (t) => {
  for (const input of ['', 'a\n']) {
    const c = collector();
    const s = await readLines(chunks([input]), c.sink);
    t.notOk(
      c.events.some((e) => e[0] === 'unterminated'),
      JSON.stringify(input),
    );
    t.equal(s.lines, input === '' ? 0 : 1);
  }
});

t.test('readFileLines reports progress in bytes', async (t) => {
  const dir = t.testdir();
  const path = `${dir}/f.jsonl`;
  writeFileSync(path, 'a\nb\n');
  const seen: number[] = [];
  const c = collector();
  const s = await readFileLines(path, { ...c.sink, progress: (b) => seen.push(b) });
  t.same(s, { bytes: 4, lines: 2 });
  t.equal(seen.at(-1), 4);
});
