/**
 * The line framer, tested the way ioredis tests its resumable decoder: the
 * same input fed whole, byte by byte, and split at every boundary must give
 * the same lines.
 */
import t from 'tap';
import { type FrameEvent, LINE_FRAMER_DEFAULTS, LineFramer } from '../../src/util/line-framer.js';

/** A subtest's `t` (the last overload of t.test takes just the callback). */
type Test = Parameters<Parameters<typeof t.test>[0]>[0];

const enc = new TextEncoder();
const bytes = (s: string) => enc.encode(s);

function feedAll(chunks: Uint8Array[], max?: number): { events: FrameEvent[]; framer: LineFramer } {
  const framer = new LineFramer(max === undefined ? {} : { maxLineBytes: max });
  const events: FrameEvent[] = [];
  for (const c of chunks) events.push(...framer.feed(c));
  return { events, framer };
}

/** Events with oversized byte counts blanked: those depend on where the cap was noticed. */
function shape(events: FrameEvent[]): (string | null)[] {
  return events.map((e) => (e.type === 'line' ? e.line : null));
}

function byteByByte(b: Uint8Array): Uint8Array[] {
  return Array.from(b, (_, i) => b.subarray(i, i + 1));
}

function splitAt(b: Uint8Array, i: number): Uint8Array[] {
  return [b.subarray(0, i), b.subarray(i)];
}

/** Whole, byte by byte, and every two-way split give the same event shape (and the same stats). */
function checkSplits(t: Test, input: Uint8Array, expected: (string | null)[], max?: number) {
  const whole = feedAll([input], max);
  t.strictSame(shape(whole.events), expected, 'whole');
  const single = feedAll(byteByByte(input), max);
  t.strictSame(shape(single.events), expected, 'byte by byte');
  t.strictSame({ ...single.framer.stats }, { ...whole.framer.stats }, 'stats byte by byte');
  let failures = 0;
  for (let i = 0; i <= input.length; i++) {
    const split = feedAll(splitAt(input, i), max);
    const same = JSON.stringify(shape(split.events)) === JSON.stringify(expected);
    const sameStats = JSON.stringify(split.framer.stats) === JSON.stringify(whole.framer.stats);
    if (!same || !sameStats) failures++;
  }
  t.equal(failures, 0, `all ${input.length + 1} two-way splits agree`);
}

const conversation = [
  '{"id": 1, "method": "mining.subscribe", "params": ["bmminer/2.0.0"]}',
  '{"id":1,"result":[[["mining.notify","f1ad9a67"]],"f1ad9a67",8],"error":null}',
  '{"id": 2, "method": "mining.authorize", "params": ["w.1", "x"]}',
  '{"params":[8192],"id":null,"method":"mining.set_difficulty"}',
];

t.test('NDJSON conversation: whole, byte by byte, every split', async (t) => {
  const input = bytes(`${conversation.join('\n')}\n`);
  checkSplits(t, input, conversation);
});

t.test('CRLF and bare CR', async (t) => {
  checkSplits(t, bytes('{"a":1}\r\n{"b":2}\n\r\n'), ['{"a":1}', '{"b":2}']);
  // Only one trailing CR is stripped; an inner CR stays.
  checkSplits(t, bytes('a\rb\r\r\n'), ['a\rb\r']);
});

t.test('empty lines are ignored', async (t) => {
  checkSplits(t, bytes('\n\n\r\nx\n\n'), ['x']);
  const { framer } = feedAll([bytes('\n\n\r\n')]);
  t.equal(framer.stats.lines, 0);
});

t.test('a trailing partial line waits for its newline; end() drops it', async (t) => {
  const framer = new LineFramer();
  t.strictSame(framer.feed(bytes('{"id":1,')), []);
  t.equal(framer.stats.buffered, 8);
  t.strictSame(framer.feed(bytes('"x":2}\n{"par')), [{ type: 'line', line: '{"id":1,"x":2}' }]);
  t.equal(framer.end(), 5, 'five bytes of the unfinished line dropped');
  t.equal(framer.stats.buffered, 0);
  t.strictSame(framer.feed(bytes('ok\n')), [{ type: 'line', line: 'ok' }], 'usable after end()');
});

t.test('UTF-8 split across chunks decodes once per line', async (t) => {
  // 2-, 3- and 4-byte sequences, and a BOM-less emoji in a show_message.
  const text = '{"params":["Pool ☃ restarting — 🔧 ß"]}';
  const input = bytes(`${text}\n`);
  checkSplits(t, input, [text]);
});

t.test('invalid UTF-8 becomes U+FFFD, never an exception', async (t) => {
  const input = new Uint8Array([0x7b, 0xff, 0xfe, 0xc3, 0x0a, 0xe2, 0x82, 0x0a]);
  checkSplits(t, input, ['{\ufffd\ufffd\ufffd', '\ufffd']);
});

t.test('oversized lines: one event each, bytes discarded to the newline, buffer bounded', async (t) => {
  const max = 16;
  const long = 'x'.repeat(40);
  const input = bytes(`ok1\n${long}\nok2\n${'y'.repeat(17)}\n${'z'.repeat(16)}\r\n${'w'.repeat(16)}\n`);
  // 17 bytes is one over; 16 + CR fits; exactly 16 fits.
  checkSplits(t, input, ['ok1', null, 'ok2', null, 'z'.repeat(16), 'w'.repeat(16)], max);

  const whole = feedAll([input], max);
  const sizes = whole.events.flatMap((e) => (e.type === 'oversized' ? [e.bytes] : []));
  t.strictSame(sizes, [40, 17], 'fed whole, the event carries the line length');
  t.equal(whole.framer.stats.oversized, 2);
  t.equal(whole.framer.stats.lines, 4);

  const single = feedAll(byteByByte(input), max);
  const singleSizes = single.events.flatMap((e) => (e.type === 'oversized' ? [e.bytes] : []));
  // Byte by byte, the 40-byte line is noticed one byte past the allowance (cap + a possible CR);
  // the 17-byte line only at its newline, when the last byte is known not to be a CR.
  t.strictSame(singleSizes, [max + 2, 17], 'byte by byte: noticed as soon as certain');
});

t.test('an endless line without a newline: one event, memory stays at the cap', async (t) => {
  const framer = new LineFramer({ maxLineBytes: 1024 });
  const chunk = new Uint8Array(4096).fill(0x41);
  let events = 0;
  let maxBuffered = 0;
  for (let i = 0; i < 1000; i++) {
    events += framer.feed(chunk).length;
    maxBuffered = Math.max(maxBuffered, framer.stats.buffered);
  }
  t.equal(events, 1, 'one oversized event for 4 MB of one line');
  t.ok(maxBuffered <= 1025, 'never more than the cap + 1 buffered');
  t.equal(framer.stats.bytes, 4096 * 1000);
  t.strictSame(framer.feed(bytes('\n{"id":1}\n')), [{ type: 'line', line: '{"id":1}' }], 'recovers at the next newline');
  t.equal(framer.stats.oversized, 1);
});

t.test('the line at the cap is accepted, in every split', async (t) => {
  const max = LINE_FRAMER_DEFAULTS.maxLineBytes;
  const framer = new LineFramer();
  t.equal(framer.maxLineBytes, max);
  const atCap = 'a'.repeat(max);
  const events = framer.feed(bytes(`${atCap}\r\n${atCap}b\n`));
  t.equal(events.length, 2);
  t.equal(events[0].type === 'line' && events[0].line.length, max);
  t.strictSame(events[1], { type: 'oversized', bytes: max + 1 });
});

t.test('garbage in, lines out: NUL bytes, binary, TLS hello', async (t) => {
  const tlsHello = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03]);
  const framer = new LineFramer({ maxLineBytes: 64 });
  t.strictSame(framer.feed(tlsHello), []);
  const ev = framer.feed(new Uint8Array([0x00, 0x0a]));
  t.equal(ev.length, 1);
  t.equal(ev[0].type, 'line', 'garbage is a line for the JSON layer to refuse');
});

t.test('counters', async (t) => {
  const { framer } = feedAll([bytes('a\nbb\n\n'), bytes('c')], 4);
  t.strictSame(framer.stats, { lines: 2, oversized: 0, bytes: 7, discardedBytes: 0, buffered: 1 });
});

t.test('bad options throw at construction (programmer error, not peer input)', async (t) => {
  t.throws(() => new LineFramer({ maxLineBytes: 0 }));
  t.throws(() => new LineFramer({ maxLineBytes: 1.5 }));
});
