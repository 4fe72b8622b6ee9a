/**
 * Fixture lines (test/fixtures/stratum/*.json, sources in its README): each
 * parses to what the fixture expects, encodes to one line, and re-parses to
 * the same value (mirror). The two conversations are then replayed through
 * the framer and the work core: the real share in each is a valid block.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import {
  encodeMinerMessage,
  encodePoolMessage,
  encodeProtocolError,
  LineFramer,
  type MinerMessage,
  type ParseResult,
  type PoolMessage,
  parseJson,
  parseMinerMessage,
  parsePoolMessage,
} from '../../src/protocol/index.js';
import { JobStore, prepareJob, validateShare } from '../../src/work/index.js';

interface FixtureCase {
  name: string;
  from: 'miner' | 'pool';
  line: string;
  pending?: string;
  expect?: Record<string, unknown>;
  error?: string;
}

interface FixtureFile {
  description: string;
  block?: string;
  cases: FixtureCase[];
}

const DIR = fileURLToPath(new URL('../fixtures/stratum/', import.meta.url));
const FILES = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function load(file: string): FixtureFile {
  return JSON.parse(readFileSync(DIR + file, 'utf8'));
}

function parse(c: Pick<FixtureCase, 'from' | 'pending'>, line: string): ParseResult<MinerMessage | PoolMessage> {
  const resolve = () => c.pending;
  return c.from === 'miner' ? parseMinerMessage(line, resolve) : parsePoolMessage(line, resolve);
}

function encode(c: Pick<FixtureCase, 'from'>, msg: MinerMessage | PoolMessage): string {
  return c.from === 'miner' ? encodeMinerMessage(msg as MinerMessage) : encodePoolMessage(msg as PoolMessage);
}

t.test('fixture files are present', async (t) => {
  t.strictSame(FILES, ['cgminer-bmminer.json', 'esp-miner.json', 'pool-variants.json']);
});

for (const file of FILES) {
  t.test(`${file}: parse, encode, re-parse (mirror)`, async (t) => {
    const { cases } = load(file);
    t.ok(cases.length > 10, 'has cases');
    for (const c of cases) {
      const first = parse(c, c.line);
      if (c.error !== undefined) {
        t.equal(first.ok, false, `${c.name}: refused`);
        if (!first.ok) {
          t.equal(first.error.kind, c.error, `${c.name}: ${first.error.message}`);
          t.equal(first.error.code, 20, `${c.name}: Stratum code 20`);
          const reply = encodeProtocolError(first.error);
          const sentId = parseJson(c.line);
          const answerable = c.error !== 'invalid-result' && isObject(sentId) && sentId.id !== undefined && sentId.id !== null;
          if (!answerable) t.equal(reply, null, `${c.name}: nobody to answer`);
          else t.match(reply, /^\{"id":.*"error":\[20,".+",null\]\}\n$/, `${c.name}: answered with an error line`);
        }
        continue;
      }
      if (!first.ok) {
        t.fail(`${c.name}: ${first.error.message}`);
        continue;
      }
      t.match(first.msg, c.expect ?? {}, `${c.name}: parsed`);
      const line = encode(c, first.msg);
      t.equal(line.indexOf('\n'), line.length - 1, `${c.name}: one line`);
      const second = parse(c, line.slice(0, -1));
      t.strictSame(second, first, `${c.name}: mirror`);
      if (second.ok) t.equal(encode(c, second.msg), line, `${c.name}: encoding is stable`);
    }
  });
}

/** Replays a conversation's lines through one framer per direction, chopped into 7-byte chunks. */
function replay(file: FixtureFile, from: 'miner' | 'pool'): (MinerMessage | PoolMessage)[] {
  const framer = new LineFramer({ maxLineBytes: 4096 });
  const cases = file.cases.filter((c) => c.from === from);
  const wire = new TextEncoder().encode(cases.map((c) => `${c.line}\r\n`).join(''));
  const out: (MinerMessage | PoolMessage)[] = [];
  let i = 0;
  for (let off = 0; off < wire.length; off += 7) {
    for (const ev of framer.feed(wire.subarray(off, off + 7))) {
      if (ev.type !== 'line') throw new Error('unexpected oversized line');
      const r = parse(cases[i++], ev.line);
      if (r.ok) out.push(r.msg);
    }
  }
  return out;
}

for (const file of ['cgminer-bmminer.json', 'esp-miner.json']) {
  t.test(`${file}: the conversation's share is a valid block (protocol → work core)`, async (t) => {
    const f = load(file);
    const pool = replay(f, 'pool') as PoolMessage[];
    const miner = replay(f, 'miner') as MinerMessage[];
    t.equal(pool.length, f.cases.filter((c) => c.from === 'pool').length, 'every pool line framed and parsed');
    t.equal(miner.length, f.cases.filter((c) => c.from === 'miner').length, 'every miner line framed and parsed');

    const sub = pool.find((m) => m.type === 'subscribe-result');
    const conf = pool.find((m) => m.type === 'configure-result');
    const notify = pool.find((m) => m.type === 'notify');
    const submit = miner.find((m) => m.type === 'submit');
    if (sub?.type !== 'subscribe-result' || !sub.result || conf?.type !== 'configure-result' || !conf.result) throw new Error('no setup');
    if (notify?.type !== 'notify' || submit?.type !== 'submit') throw new Error('no job or share');

    const prepared = prepareJob(notify.job);
    t.ok(prepared.ok, 'prepareJob accepts the parsed notify');
    if (!prepared.ok) return;
    const store = new JobStore();
    store.add(prepared.job, notify.cleanJobs);
    const ctx = {
      extranonce1: sub.result.extranonce1,
      extranonce2Size: sub.result.extranonce2Size,
      versionMask: conf.result.versionRollingMask,
      difficulty: 1,
    };
    const verdict = validateShare(store, ctx, submit.share);
    t.equal(verdict.status, 'block', `verdict ${verdict.status}${verdict.valid ? '' : ` (${verdict.reason}: ${verdict.detail})`}`);
    const again = validateShare(store, ctx, submit.share);
    t.match(again, { status: 'rejected', reason: 'duplicate', code: 22 }, 'the repeated submit is a duplicate');
  });
}
