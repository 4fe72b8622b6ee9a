/**
 * MinerSession against hostile and broken input (issue 9), driven with a fake upstream and a fake
 * clock: no sockets, no sleeps. Each test names the defect it guards; each fails on the code before
 * the fix (see the commit that added it).
 */
import { Writable } from 'node:stream';
import t from 'tap';
import type { JsonValue } from '../../src/protocol/json-rpc.js';
import { MinerSession, SESSION_LIMITS, type SessionOptions } from '../../src/session/session.js';
import type { UpstreamReply } from '../../src/upstream/types.js';
import { createLogger } from '../../src/util/log.js';
import { answer, FakeUpstream, TEST_JOB } from '../helpers/fake-upstream.js';

type Line = Record<string, unknown> & { id?: unknown; error?: unknown; result?: unknown; method?: unknown };
type LogLine = Record<string, unknown> & { msg: string; level: string };

const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;
const tick = () => new Promise<void>((r) => setImmediate(r));

function harness(extra: Partial<SessionOptions> = {}) {
  const up = new FakeUpstream();
  up.answer = (method) => {
    if (method === 'mining.subscribe') return answer(1, [[['mining.notify', 'ab']], 'deadbeef', 4]);
    if (method === 'mining.configure') return answer(2, { 'version-rolling': true, 'version-rolling.mask': '1fffe000' });
    if (method === 'mining.authorize') return answer(3, true);
    return answer(9, true);
  };
  const out: Line[] = [];
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) logs.push(JSON.parse(l) as LogLine);
      cb();
    },
  });
  let now = 1_000_000;
  const closes: string[] = [];
  const counts = { overLimit: 0, flood: 0, fault: 0, limited: 0 };
  const s = new MinerSession({
    id: 's',
    upstream: up,
    send: (l) => out.push(JSON.parse(l) as Line),
    close: (r) => closes.push(r),
    log: createLogger({ level: 'debug', destination: sink }),
    now: () => now,
    onOverLimit: () => counts.overLimit++,
    onFlood: () => counts.flood++,
    onFault: () => counts.fault++,
    onRateLimited: () => counts.limited++,
    ...extra,
  });
  const line = (v: unknown) => s.handleLine(typeof v === 'string' ? v : JSON.stringify(v));
  const replies = (id: unknown) => out.filter((o) => o.id === id);
  return { s, up, out, logs, closes, counts, line, replies, advance: (ms: number) => (now += ms) };
}

async function handshake(h: ReturnType<typeof harness>, worker = 'rig1') {
  h.line({ id: 1, method: 'mining.subscribe', params: ['cgminer/4.12'] });
  await tick();
  h.line({ id: 2, method: 'mining.authorize', params: [worker, 'x'] });
  await tick();
}

t.test('D1: a too-deep configure before subscribe is answered with an error; nothing reaches the pool', async (t) => {
  const h = harness();
  h.line(`{"id":1,"method":"mining.configure","params":[["version-rolling"],{"x":${nested(5000)}}]}`);
  await tick();
  t.same(h.up.sent, [], 'not relayed');
  t.match(h.replies(1), [{ error: [20, /nested deeper/, null] }]);
  t.equal(h.s.overLimit, 1, 'counted as over the limits');
  t.not(h.s.status, 'closed', 'one line does not close the connection');
  await handshake(h);
  t.equal(h.s.status, 'authorized', 'and the miner can go on');
});

t.test('D1: only known configure extensions and checked parameters go to the pool', async (t) => {
  const h = harness();
  h.line({
    id: 1,
    method: 'mining.configure',
    params: [
      ['version-rolling', 'minimum-difficulty', 'made-up'],
      { 'version-rolling.mask': '1fffe000', 'minimum-difficulty.value': 2048, 'made-up.x': [[1, 2], { a: 'b' }], junk: { y: 1 } },
    ],
  });
  await tick();
  t.same(h.up.sent[0]?.params, [
    ['version-rolling', 'minimum-difficulty'],
    { 'minimum-difficulty.value': 2048, 'version-rolling.mask': '1fffe000' },
  ]);
  h.line({ id: 2, method: 'mining.subscribe', params: ['ua', null, 'host.example', 3333, { x: [1] }] });
  h.line({ id: 3, method: 'mining.suggest_difficulty', params: [0.001, { x: [1] }] });
  h.line({ id: 4, method: 'mining.extranonce.subscribe', params: [{ x: [1] }] });
  await tick();
  t.same(
    h.up.sent.slice(1).map((r) => [r.method, r.params]),
    [
      ['mining.subscribe', ['ua']],
      ['mining.suggest_difficulty', [0.001]],
      ['mining.extranonce.subscribe', []],
    ],
    'typed params only: extra and made-up params are not forwarded',
  );
});

t.test('D2: a pool error or result with nested junk reaches the miner as a flat, short triple', async (t) => {
  const h = harness();
  let deep: JsonValue = 1;
  for (let i = 0; i < 6000; i++) deep = [deep];
  await handshake(h);
  h.up.answer = (method) =>
    method === 'mining.suggest_difficulty' ? answer(5, { nested: [deep] }, [20, 'nope', deep]) : answer(5, null, null);
  h.line({ id: 9, method: 'mining.suggest_difficulty', params: [1] });
  await tick();
  t.same(h.replies(9), [{ id: 9, result: null, error: [20, 'nope', null] }]);
  t.equal(h.counts.fault, 0, 'no fault: relaying never recursed');
});

t.test('D4: the failover replay sends suggest_difficulty again, before authorize, marked as handshake', async (t) => {
  const h = harness();
  h.line({ id: 1, method: 'mining.subscribe', params: [] });
  h.line({ id: 2, method: 'mining.suggest_difficulty', params: [0.0001] });
  await tick();
  h.line({ id: 3, method: 'mining.authorize', params: ['rig1', 'x'] });
  await tick();
  h.up.sent = [];
  h.up.listener({ type: 'down', pool: 'a', reason: 'closed' });
  h.up.listener({ type: 'up', pool: 'b', resumed: true });
  for (let i = 0; i < 5; i++) await tick();
  t.same(
    h.up.sent.map((r) => [r.method, r.params, r.handshake]),
    [
      ['mining.subscribe', [], true],
      ['mining.suggest_difficulty', [0.0001], true],
      ['mining.authorize', ['rig1', 'x'], true],
    ],
  );
  t.equal(h.up.handshakeDoneCalls, 1, 'the upstream is told the replay is done');
});

t.test('D3: handshakeDone is called even when the new pool refuses the replay', async (t) => {
  const h = harness();
  await handshake(h);
  h.up.answer = (): UpstreamReply => ({ status: 'closed', sent: true });
  h.up.listener({ type: 'up', pool: 'b', resumed: true });
  for (let i = 0; i < 5; i++) await tick();
  t.equal(h.up.handshakeDoneCalls, 1);
  t.same(h.closes, ['new pool refused mining.subscribe']);
  t.ok(h.up.closed, 'the pool side is closed at once, so held submits end as not sent');
});

t.test('D5: a steady flood (10,000/s against 20/s, burst 100) is cut off; an honest 2x burst is not', async (t) => {
  const h = harness({ submitsPerSecond: 20, submitBurst: 100 });
  await handshake(h);
  let sent = 0;
  for (; sent < 20_000 && h.s.status !== 'closed'; sent++) {
    h.advance(0.1); // 10,000 submits/s: a token every 500 submits, so no "run" of 1,000 in a row ever happens
    h.line({ id: 100 + sent, method: 'mining.submit', params: ['rig1', 'nojob', '00000000', '00000000', '00000000'] });
  }
  await tick();
  t.equal(h.counts.flood, 1, 'disconnected for flooding');
  t.ok(sent < 1200, `within about 10 x burst over-limit submits (${sent} sent)`);
  t.equal(h.logs.filter((l) => /over the submit rate limit/.test(l.msg)).length, 1, 'one warn for the episode');

  const honest = harness({ submitsPerSecond: 20, submitBurst: 100 });
  await handshake(honest);
  // 60 s at 40 submits/s: twice the sustained rate, half of them refused, never a flood.
  for (let i = 0; i < 2400; i++) {
    honest.advance(25);
    honest.line({ id: 100 + i, method: 'mining.submit', params: ['rig1', 'nojob', '00000000', '00000000', '00000000'] });
  }
  await tick();
  t.equal(honest.counts.flood, 0, 'twice the rate for a minute is rate limited, not disconnected');
  t.ok(honest.counts.limited > 1000, 'but is rate limited');
});

t.test('D6: authorize floods are bounded: long names, many names, repeats', async (t) => {
  const long = harness();
  await handshake(long);
  const before = long.up.sent.length;
  for (let i = 0; i < 20_000 && long.s.status !== 'closed'; i++)
    long.line({ id: 10 + i, method: 'mining.authorize', params: [`w${i}${'x'.repeat(1024)}`, 'x'] });
  await tick();
  t.equal(long.up.sent.length, before, 'no 1 KiB name reaches the pool');
  t.equal(long.s.status, 'closed');
  t.equal(long.counts.overLimit, 1);
  t.equal(long.replies(10)[0]?.error instanceof Array && (long.replies(10)[0]!.error as unknown[])[0], 24, 'refused with 24');
  t.ok(long.logs.length < 20, `a handful of log lines, not one per authorize (${long.logs.length})`);

  const many = harness({ maxWorkers: 4 });
  await handshake(many, 'w0');
  for (let i = 1; i < 20_000 && many.s.status !== 'closed'; i++) {
    many.line({ id: 10 + i, method: 'mining.authorize', params: [`w${i}`, 'x'] });
    if (i === 3) await tick(); // the first four are answered, so the refusals after them are not held behind them
  }
  await tick();
  const authorizes = many.up.sent.filter((r) => r.method === 'mining.authorize').length;
  t.equal(authorizes, 4, 'maxWorkers distinct names go to the pool, no more');
  t.equal(many.s.workerNames.length, 4);
  t.equal(many.s.status, 'closed', 'closed after SESSION_LIMITS.maxOverLimit refusals');
  t.equal(
    many.replies(14)[0]?.error instanceof Array && (many.replies(14)[0]!.error as unknown[])[1],
    'Too many workers on one connection',
  );

  const refused = harness({ maxWorkers: 2 });
  refused.up.answer = (method) =>
    method === 'mining.subscribe' ? answer(1, [[['mining.notify', 'ab']], 'deadbeef', 4]) : answer(3, false, [24, 'no such user', null]);
  refused.line({ id: 1, method: 'mining.subscribe', params: [] });
  await tick();
  for (let i = 0; i < 100 && refused.s.status !== 'closed'; i++) {
    refused.line({ id: 10 + i, method: 'mining.authorize', params: [`nobody${i}`, 'x'] });
    await tick();
  }
  t.equal(
    refused.up.sent.filter((r) => r.method === 'mining.authorize').length,
    2 * SESSION_LIMITS.authorizeAttemptsPerWorker,
    'names the pool refuses count towards the cap too',
  );

  const repeat = harness();
  await handshake(repeat);
  for (let i = 0; i < 500; i++) repeat.line({ id: 10 + i, method: 'mining.authorize', params: ['rig1', 'x'] });
  await tick();
  t.equal(repeat.up.sent.filter((r) => r.method === 'mining.authorize').length, 1, 'an authorized name is answered locally');
  t.same(repeat.replies(509), [{ id: 509, result: true, error: null }]);
  t.not(repeat.s.status, 'closed', 'a repeat is no offence');
});

t.test('a throw while handling a line or a pool event closes this connection only, logged with its code', async (t) => {
  let boom = false;
  const recorder = {
    countShare: () => {
      if (boom) throw new Error('injected fault');
    },
    countPoolAnswer: () => {},
    observePoolRtt: () => {},
    countPoolDisagreement: () => {},
  };
  const h = harness({ recorder });
  await handshake(h);
  h.up.listener({
    type: 'message',
    msg: {
      type: 'notify',
      id: null,
      cleanJobs: true,
      job: TEST_JOB,
    },
  });
  boom = true;
  h.line({ id: 50, method: 'mining.submit', params: ['rig1', 'j1', '00000000', '5f5e1000', '00000000'] });
  for (let i = 0; i < 3; i++) await tick();
  t.equal(h.counts.fault, 1);
  t.same(h.closes, ['internal error']);
  t.equal(h.s.status, 'closed');
  const fault = h.logs.find((l) => l.code === 'HG_ERR_CONNECTION_FAULT');
  t.match(fault, { level: 'error', where: 'submit', err: 'injected fault' });

  // A pool event that throws (here: the status hook) is a fault of this connection too.
  const g = harness({
    onStatus: (st) => {
      if (st === 'subscribed') throw new Error('hook failed');
    },
  });
  g.line({ id: 1, method: 'mining.subscribe', params: [] });
  for (let i = 0; i < 3; i++) await tick();
  t.equal(g.counts.fault, 1, 'async handling is guarded');
  t.match(
    g.logs.find((l) => l.code === 'HG_ERR_CONNECTION_FAULT'),
    { where: 'subscribe' },
  );
});

t.test('a submit that never left hashgate (no pool came up) is journaled "not-sent", one that did is "timeout"', async (t) => {
  const settled: string[] = [];
  const journal = {
    session: () => {},
    notify: () => {},
    endSession: () => {},
    submit: () => ({ settle: (pv: string) => settled.push(pv) }),
  } as unknown as SessionOptions['journal'];
  const h = harness({ journal });
  await handshake(h);
  h.up.listener({
    type: 'message',
    msg: {
      type: 'notify',
      id: null,
      cleanJobs: true,
      job: TEST_JOB,
    },
  });
  h.up.listener({ type: 'message', msg: { type: 'set-difficulty', id: null, difficulty: 1e-12 } });
  const replies: UpstreamReply[] = [
    { status: 'timeout', sent: false },
    { status: 'timeout', sent: true },
    { status: 'closed', sent: false },
    { status: 'invalid', reason: 'too deep' },
  ];
  for (const [i, r] of replies.entries()) {
    h.up.answer = () => r;
    h.line({ id: 60 + i, method: 'mining.submit', params: ['rig1', 'j1', `0000000${i}`, '5f5e1000', '00000000'] });
    await tick();
  }
  t.same(settled, ['not-sent', 'timeout', 'not-sent', 'unknown']);
  t.match(h.replies(63), [{ error: [20, 'Pool sent an unusable answer', null] }]);
});
