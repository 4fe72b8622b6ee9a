/**
 * The pool link (src/upstream/pool-upstream.ts) as a state machine: a scripted transport instead of
 * sockets and a fake clock instead of timers (issue 10, item 3). Each test drives connect, answers,
 * silence, backoff and failover step by step and looks at what the link wrote, which timers it holds
 * and which events it raised. Nothing here sleeps; the real-socket path is covered by
 * test/upstream/handshake.test.ts and the daemon tests.
 */
import t from 'tap';
import { PoolUpstream, type PoolTarget, type PoolUpstreamOptions } from '../../src/upstream/pool-upstream.js';
import type { PoolEndpoint, PoolTransport, TransportConnection, TransportHandlers } from '../../src/upstream/transport.js';
import type { UpstreamEvent, UpstreamReply } from '../../src/upstream/types.js';
import { createLogger } from '../../src/util/log.js';
import { FakeClock } from '../helpers/fake-clock.js';

/** One connection the link opened, and the levers to play the network's part. */
class ScriptedConn implements TransportConnection {
  readonly written: string[] = [];
  destroyed = false;
  paused = false;
  /** write() returns this (false = the buffer is full). */
  accepting = true;
  #closed = false;
  constructor(
    readonly to: PoolEndpoint,
    readonly h: TransportHandlers,
  ) {}
  write(text: string): boolean {
    this.written.push(text);
    return this.accepting;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    // Like a socket: 'close' comes after destroy(), not inside it.
    queueMicrotask(() => this.drop());
  }
  /** The pool accepts the connection. */
  accept(): void {
    this.h.connected();
  }
  /** The connection is refused. */
  refuse(): void {
    this.h.error('ECONNREFUSED');
    this.drop();
  }
  /** The connection ends (the pool closed it, or after destroy()). */
  drop(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.h.closed();
  }
  /** The pool sends these lines (objects are JSON-encoded). */
  send(...lines: (string | object)[]): void {
    this.h.data(Buffer.from(lines.map((l) => `${typeof l === 'string' ? l : JSON.stringify(l)}\n`).join('')));
  }
  /** What the link sent, parsed. */
  get sent(): { id: unknown; method?: string; params?: unknown[]; result?: unknown }[] {
    return this.written.map((l) => JSON.parse(l));
  }
}

class ScriptedTransport implements PoolTransport {
  readonly conns: ScriptedConn[] = [];
  readonly probes: { to: PoolEndpoint; done: (ok: boolean) => void; cancelled: boolean }[] = [];
  connect(to: PoolEndpoint, h: TransportHandlers): TransportConnection {
    const c = new ScriptedConn(to, h);
    this.conns.push(c);
    return c;
  }
  probe(to: PoolEndpoint, done: (ok: boolean) => void): () => void {
    const p = { to, done, cancelled: false };
    this.probes.push(p);
    return () => void (p.cancelled = true);
  }
  get last(): ScriptedConn {
    return this.conns.at(-1)!;
  }
}

const POOLS: PoolTarget[] = [
  { url: 'stratum+tcp://127.0.0.1:3331', host: '127.0.0.1', port: 3331, user: null, password: null },
  { url: 'stratum+tcp://127.0.0.1:3332', host: '127.0.0.1', port: 3332, user: null, password: null },
  { url: 'stratum+tcp://127.0.0.1:3333', host: '127.0.0.1', port: 3333, user: null, password: null },
];

const NOTIFY = {
  id: null,
  method: 'mining.notify',
  params: ['j1', '00'.repeat(32), '01', '02', [], '20000000', '1d00ffff', '5f5e1000', true],
};

/** Lets queued microtasks (a destroyed connection's close) and promise callbacks run. */
const settle = () => new Promise<void>((r) => setImmediate(r));

interface Tap {
  teardown(fn: () => unknown): void;
}

function setup(t: Tap, over: Partial<PoolUpstreamOptions> = {}) {
  const clock = new FakeClock();
  const transport = new ScriptedTransport();
  const events: UpstreamEvent[] = [];
  const congestion: boolean[] = [];
  const link = new PoolUpstream({
    pools: POOLS,
    log: createLogger({ level: 'silent' }),
    transport,
    clock,
    requestTimeoutMs: 5_000,
    backoffBaseMs: 100,
    backoffMaxMs: 1_000,
    backoffJitter: 0,
    notifySilenceMs: 60_000,
    primaryRecheckMs: 30_000,
    poolLossGraceMs: 10_000,
    random: () => 0.5,
    onCongestion: (c) => congestion.push(c),
    ...over,
  });
  link.setListener((e) => events.push(e));
  link.start();
  t.teardown(() => link.close());
  const replies: UpstreamReply[] = [];
  const ask = (method: string, params: unknown[] = [], handshake = false) =>
    void link.request(method, params as never, { handshake }).then((r) => replies.push(r));
  return { clock, transport, events, link, replies, ask, congestion };
}

t.test('requests made before the pool is up wait, then go out in order with the link’s own ids', async (t) => {
  const { transport, link, replies, ask, events } = setup(t);
  t.equal(transport.conns.length, 1, 'connecting to the first pool');
  t.same(transport.last.to, { ...POOLS[0] }, 'to the head of the list');
  ask('mining.subscribe', ['m/1']);
  ask('mining.authorize', ['w', 'x']);
  t.equal(transport.last.written.length, 0, 'nothing written before connect');
  t.equal(link.pool, null);
  transport.last.accept();
  t.same(events, [{ type: 'up', pool: POOLS[0]!.url, resumed: false }]);
  t.same(
    transport.last.sent.map((m) => [m.id, m.method]),
    [
      [1, 'mining.subscribe'],
      [2, 'mining.authorize'],
    ],
  );
  transport.last.send(
    { id: 2, result: true, error: null },
    { id: 99, result: true, error: null },
    { id: 1, result: [[], '00', 4], error: null },
  );
  await settle();
  t.same(
    replies.map((r) => (r.status === 'ok' ? r.response.id : r.status)),
    [2, 1],
    'answers matched by id, in the order they came; an unknown id is dropped',
  );
  t.equal(link.pool?.url, POOLS[0]!.url);
});

t.test('a request with no answer times out on the clock; a queued one that never left says so', async (t) => {
  const { clock, transport, replies, ask } = setup(t);
  ask('mining.subscribe');
  clock.advance(4_999);
  await settle();
  t.same(replies, [], 'not yet');
  clock.advance(1);
  await settle();
  t.same(replies, [{ status: 'timeout', sent: false }], 'queued, never sent');
  transport.last.accept();
  ask('mining.submit', ['w', 'j', '00', '00', '00']);
  clock.advance(5_000);
  await settle();
  t.same(replies[1], { status: 'timeout', sent: true });
  transport.last.send({ id: 1, result: true, error: null });
  await settle();
  t.equal(replies.length, 2, 'a late answer changes nothing');
});

t.test('the wait queue is bounded', async (t) => {
  const { replies, ask } = setup(t, { maxQueued: 2 });
  ask('a');
  ask('b');
  ask('c');
  await settle();
  t.same(replies, [{ status: 'closed', sent: false }], 'the third is refused at once');
});

t.test('refused connections walk the pool list with capped exponential backoff', async (t) => {
  const { clock, transport, events } = setup(t, { poolLossGraceMs: 100_000 });
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    transport.last.refuse();
    delays.push(clock.pending()[0]!);
    clock.advance(delays.at(-1)!);
  }
  t.same(delays, [100, 200, 400, 800, 1_000, 1_000], 'base·2^(n-1), capped at backoffMaxMs');
  t.same(
    transport.conns.map((c) => c.to.port),
    [3331, 3332, 3333, 3331, 3332, 3333, 3331],
    'round the list',
  );
  t.same(events, [], 'no up, no down: it never was up');
});

t.test('jitter takes up to its share off each delay', async (t) => {
  const { clock, transport } = setup(t, { backoffJitter: 0.5, random: () => 1 });
  transport.last.refuse();
  t.equal(clock.pending()[0], 50);
});

t.test('no pool for poolLossGraceMs: one lost event; a pool coming up in time prevents it', async (t) => {
  const a = setup(t);
  a.transport.last.refuse();
  a.clock.advance(10_000);
  t.same(
    a.events.filter((e) => e.type === 'lost'),
    [{ type: 'lost', downMs: 10_000 }],
  );
  const b = setup(t);
  b.clock.advance(9_999);
  b.transport.last.accept();
  b.clock.advance(100_000);
  t.same(
    b.events.map((e) => e.type),
    ['up'],
  );
});

t.test('a pool silent past notifySilenceMs is dropped and the next one tried; each notify restarts the wait', async (t) => {
  const { clock, transport, events } = setup(t);
  transport.last.accept();
  clock.advance(59_000);
  transport.last.send(NOTIFY);
  clock.advance(59_000);
  await settle();
  t.notOk(transport.last.destroyed, 'a notify came within the window');
  clock.advance(1_000);
  t.ok(transport.last.destroyed, 'silent for 60 s');
  await settle();
  t.match(events.at(-1), { type: 'down', pool: POOLS[0]!.url, reason: 'silent' });
  clock.advance(clock.pending()[0]!);
  t.equal(transport.last.to.port, 3332, 'next pool');
  transport.last.accept();
  t.match(events.at(-1), { type: 'up', pool: POOLS[1]!.url, resumed: true });
});

t.test('on a resumed connection only the handshake replay goes out until handshakeDone()', async (t) => {
  const { clock, transport, link, ask } = setup(t);
  transport.last.accept();
  transport.last.drop();
  await settle();
  ask('mining.submit', ['w', 'j', '00', '00', '00']);
  clock.advance(clock.pending()[0]!);
  transport.last.accept();
  ask('mining.submit', ['w', 'j', '01', '00', '00']);
  ask('mining.subscribe', [], true);
  ask('mining.authorize', ['w', 'x'], true);
  link.notify('mining.extranonce.subscribe', []);
  t.same(
    transport.last.sent.map((m) => m.method),
    ['mining.subscribe', 'mining.authorize'],
    'held: the submits and the notification',
  );
  link.handshakeDone();
  t.same(
    transport.last.sent.map((m) => m.method),
    ['mining.subscribe', 'mining.authorize', 'mining.submit', 'mining.submit'],
    'then the held requests, in order',
  );
});

t.test('a dropped connection ends its sent requests as closed (sent) and keeps the queued ones', async (t) => {
  const { transport, replies, ask, events } = setup(t);
  transport.last.accept();
  ask('mining.submit');
  transport.last.drop();
  await settle();
  t.same(replies, [{ status: 'closed', sent: true }]);
  t.match(events.at(-1), { type: 'down', reason: 'closed' });
});

t.test('on a backup pool the primary is probed; when it answers the link goes back at once', async (t) => {
  const { clock, transport, events } = setup(t);
  transport.last.refuse();
  clock.advance(100);
  transport.last.accept();
  t.equal(transport.probes.length, 0);
  clock.advance(30_000);
  t.equal(transport.probes.length, 1, 'probe after primaryRecheckMs');
  t.equal(transport.probes[0]!.to.port, 3331);
  transport.probes[0]!.done(false);
  clock.advance(30_000);
  t.equal(transport.probes.length, 2, 'unreachable: probed again later');
  transport.probes[1]!.done(true);
  t.ok(transport.last.destroyed, 'leaves the backup');
  await settle();
  t.match(events.at(-1), { type: 'down', reason: 'primary-back' });
  t.same(clock.pending()[0], 0, 'no backoff on the way back');
  clock.advance(0);
  t.equal(transport.last.to.port, 3331);
});

t.test('client.reconnect: the same pool again after the asked wait, capped', async (t) => {
  const { clock, transport, events } = setup(t, { maxReconnectWaitMs: 3_000 });
  transport.last.accept();
  transport.last.send({ id: null, method: 'client.reconnect', params: ['evil.example', 3333, 600] });
  t.ok(transport.last.destroyed);
  await settle();
  t.match(events.at(-2), { type: 'message', msg: { type: 'reconnect' } });
  t.match(events.at(-1), { type: 'down', reason: 'reconnect' });
  t.equal(clock.pending()[0], 3_000, 'wait capped at maxReconnectWaitMs');
  clock.advance(3_000);
  t.same(transport.last.to, { ...POOLS[0] }, 'same list entry, no redirect');
});

t.test('client.get_version and mining.ping are answered by the link', async (t) => {
  const { transport } = setup(t);
  transport.last.accept();
  transport.last.send({ id: 7, method: 'client.get_version', params: [] }, { id: 8, method: 'mining.ping', params: [] });
  t.match(transport.last.sent, [
    { id: 7, result: /^hashgate\// },
    { id: 8, result: 'pong' },
  ]);
});

t.test('lines over the JSON limits: an answered request ends invalid; past the cap the pool is dropped', async (t) => {
  const { transport, replies, ask, events } = setup(t, { maxOverLimitLines: 2 });
  transport.last.accept();
  ask('mining.submit');
  const deep = (id: number | null) => `{"id":${id},"result":${'['.repeat(40)}${']'.repeat(40)},"error":null}`;
  transport.last.send(deep(1));
  await settle();
  t.match(replies, [{ status: 'invalid' }]);
  transport.last.send(deep(null), deep(null));
  t.ok(transport.last.destroyed, 'the third line over the limits drops the pool');
  await settle();
  t.match(events.at(-1), { type: 'down', reason: 'over-limit-lines' });
});

t.test('a line over maxLineBytes drops the pool', async (t) => {
  const { transport, events } = setup(t, { maxLineBytes: 64 });
  transport.last.accept();
  transport.last.send('x'.repeat(100));
  t.ok(transport.last.destroyed);
  await settle();
  t.match(events.at(-1), { type: 'down', reason: 'line-too-long' });
});

t.test('a full write buffer is reported, and its draining', async (t) => {
  const { transport, events, congestion, ask } = setup(t);
  transport.last.accept();
  transport.last.accepting = false;
  ask('mining.submit');
  transport.last.h.drained();
  t.same(congestion, [true, false]);
  t.same(
    events.slice(1).map((e) => e.type),
    ['congested', 'drained'],
  );
});

t.test('pause before the connection exists is applied when it comes up', async (t) => {
  const { transport, link } = setup(t);
  link.pause();
  transport.last.accept();
  t.ok(transport.last.paused);
  link.resume();
  t.notOk(transport.last.paused);
});

t.test('close() ends everything: requests resolve closed, no timer is left, the connection is destroyed', async (t) => {
  const { clock, transport, link, replies, ask } = setup(t);
  transport.last.accept();
  ask('sent');
  link.pause();
  transport.last.drop();
  await settle();
  ask('queued');
  link.close();
  await settle();
  t.same(replies, [
    { status: 'closed', sent: true },
    { status: 'closed', sent: false },
  ]);
  t.same(clock.pending(), [], 'no timer left');
  const r = await link.request('after', []);
  t.same(r, { status: 'closed', sent: false });
});

t.test('reload: a listed pool stays; a removed one is left once its in-flight requests are answered', async (t) => {
  const { clock, transport, link, replies, ask, events } = setup(t);
  transport.last.accept();
  t.equal(link.setPools([POOLS[2]!, POOLS[0]!]), 'kept');
  t.equal(link.poolIndex, 1, 'same pool, new place in the list');
  ask('mining.submit');
  t.equal(link.setPools([POOLS[1]!]), 'moved');
  ask('held');
  t.equal(transport.last.written.length, 1, 'nothing new goes to a removed pool');
  t.notOk(transport.last.destroyed, 'the in-flight submit gets its answer first');
  transport.last.send({ id: 1, result: true, error: null });
  t.ok(transport.last.destroyed, 'then the link leaves');
  await settle();
  t.match(replies, [{ status: 'ok' }]);
  t.match(events.at(-1), { type: 'down', reason: 'removed' });
  clock.advance(clock.pending()[0]!);
  t.equal(transport.last.to.port, 3332, 'head of the new list');
  transport.last.accept();
  link.handshakeDone();
  t.same(
    transport.last.sent.map((m) => m.method),
    ['held'],
  );
});
