import { type AddressInfo, createServer } from 'node:net';
import t from 'tap';
import type { DepthSource } from '../../src/config/throttle-schema.js';
import {
  cleanRedisError,
  createSignalSource,
  createStatusPublisher,
  reconnectDelayMs,
  type SignalReading,
  type SignalSourceOptions,
  type StatusPublisherOptions,
} from '../../src/throttle/redis.js';
import type { ThrottleEvent, ThrottleStatus } from '../../src/throttle/types.js';
import { createLogger } from '../../src/util/log.js';
import { type RedisServer, redisClient, startRedis, type Tap } from '../helpers/redis.js';
import { captureLog as capture } from './log-capture.js';
import { onEvents, when } from './wait.js';

const silent = createLogger({ level: 'silent' });

function source(t: Tap, url: string, o: Partial<SignalSourceOptions> = {}) {
  const s = createSignalSource({ url, commandTimeoutMs: 500, logger: silent, sources: [], capKey: null, overrideKey: null, ...o });
  t.teardown(() => s.close());
  return s;
}

/** Runs one publish and says whether it was written (the publisher itself never throws or reports per call). */
async function sent(p: { stats(): { published: number } }, publish: Promise<void>): Promise<boolean> {
  const before = p.stats().published;
  await publish;
  return p.stats().published > before;
}

function publisher(t: Tap, url: string, o: Partial<StatusPublisherOptions> = {}) {
  const p = createStatusPublisher({
    url,
    commandTimeoutMs: 500,
    logger: silent,
    statusKey: null,
    eventsChannel: null,
    intervalMs: 1000,
    ...o,
  });
  t.teardown(() => p.close());
  return p;
}

type Ok = Extract<SignalReading, { ok: true }>;
function good(t: Tap & { fail(m: string): void }, r: SignalReading): Ok {
  if (!r.ok) {
    t.fail(`reading failed: ${r.error}`);
    throw new Error(r.error);
  }
  return r;
}

async function depthOf(t: Tap & { fail(m: string): void }, r: RedisServer, sources: DepthSource[]): Promise<number> {
  return good(t, await source(t, r.url, { sources }).poll()).depth;
}

t.test('key source: GET as a non-negative integer; missing = 0; garbage fails the reading', async (t) => {
  const r = await startRedis(t);
  const c = redisClient(t, r.url);
  const key = `${r.prefix}depth`;
  const s = source(t, r.url, { sources: [{ type: 'key', key }] });
  t.equal(good(t, await s.poll()).depth, 0, 'missing key');
  await c.set(key, '42');
  const reading = good(t, await s.poll());
  t.equal(reading.depth, 42);
  t.same(reading.perSource, [{ label: `key:${key}`, value: 42 }]);
  for (const bad of ['abc', '-3', '1.5']) {
    await c.set(key, bad);
    const fail = await s.poll();
    t.equal(fail.ok, false, `"${bad}" is an error`);
    if (!fail.ok) t.match(fail, { error: key, code: 'HG_ERR_REDIS_SIGNAL' });
  }
  await c.set(key, ' 7 ');
  t.equal(good(t, await s.poll()).depth, 7, 'whitespace tolerated');
});

t.test('list (LLEN) and zset (ZCARD) sources; missing keys count 0', async (t) => {
  const r = await startRedis(t);
  const c = redisClient(t, r.url);
  const list = `${r.prefix}celery`;
  const zset = `${r.prefix}jobs:scheduled`;
  const s = source(t, r.url, {
    sources: [
      { type: 'list', key: list },
      { type: 'zset', key: zset },
    ],
  });
  t.same(good(t, await s.poll()).perSource, [
    { label: `list:${list}`, value: 0 },
    { label: `zset:${zset}`, value: 0 },
  ]);
  await c.rpush(list, 'a', 'b', 'c');
  await c.zadd(zset, 1, 'x', 2, 'y');
  const reading = good(t, await s.poll());
  t.equal(reading.depth, 5);
  t.same(
    reading.perSource.map((p) => p.value),
    [3, 2],
  );
});

t.test('stream source: consumer group lag + pending from XINFO GROUPS; lag unknown -> max(XLEN, pending), marked estimated', async (t) => {
  const r = await startRedis(t);
  const c = redisClient(t, r.url);
  const key = `${r.prefix}requests`;
  const s = source(t, r.url, { sources: [{ type: 'stream', key, group: 'gpus' }] });
  t.equal(good(t, await s.poll()).depth, 0, 'no stream yet');

  const ids: string[] = [];
  for (let i = 0; i < 5; i++) ids.push((await c.xadd(key, '*', 'prompt', `p${i}`))!);
  const noGroup = await s.poll();
  t.equal(noGroup.ok, false, 'a missing group is an error (likely a typo)');
  if (!noGroup.ok) t.match(noGroup, { error: /no consumer group "gpus"/, code: 'HG_ERR_REDIS_SIGNAL' });

  await c.xgroup('CREATE', key, 'gpus', '0');
  await c.xgroup('CREATE', key, 'other', '$');
  await c.xreadgroup('GROUP', 'gpus', 'worker-1', 'COUNT', 2, 'STREAMS', key, '>');
  let reading = good(t, await s.poll());
  t.equal(reading.depth, 5, 'lag 3 + pending 2');
  await c.xack(key, 'gpus', ids[0]!);
  reading = good(t, await s.poll());
  t.equal(reading.depth, 4, 'lag 3 + pending 1 after XACK');
  t.notOk(reading.perSource[0]!.estimated);
  t.same(reading.warnings, []);

  // Deleting an undelivered entry leaves a tombstone after the group's last-delivered id: Redis reports lag nil.
  await c.xdel(key, ids[4]!);
  reading = good(t, await s.poll());
  t.equal(reading.depth, 4, 'XLEN (4 entries remain) >= the true 3');
  t.equal(reading.perSource[0]!.estimated, true);
  t.match(reading.warnings[0], /cannot compute lag/);
});

t.test('bullmq source: wait + prioritized + paused, keys written the way BullMQ writes them', async (t) => {
  const r = await startRedis(t);
  const c = redisClient(t, r.url);
  const prefix = `${r.prefix}bull`;
  const q = `${prefix}:inference`;
  const s = source(t, r.url, { sources: [{ type: 'bullmq', queue: 'inference', prefix }] });
  t.equal(good(t, await s.poll()).depth, 0, 'empty queue: no keys');

  // Queue.add: job hash {prefix}:{queue}:{id}, id counter, then LPUSH wait (priority 0) or
  // ZADD prioritized with score priority * 2^32 + counter (BullMQ ≥ 4).
  await c.hset(`${q}:meta`, 'opts.maxLenEvents', '10000');
  for (let id = 1; id <= 3; id++) {
    await c.incr(`${q}:id`);
    await c.hset(`${q}:${id}`, 'name', 'generate', 'data', '{}', 'timestamp', String(Date.now()), 'priority', '0');
    await c.lpush(`${q}:wait`, String(id));
  }
  for (let id = 4; id <= 5; id++) {
    const counter = await c.incr(`${q}:pc`);
    await c.hset(`${q}:${id}`, 'name', 'generate', 'data', '{}', 'priority', '2');
    await c.zadd(`${q}:prioritized`, 2 * 2 ** 32 + counter, String(id));
    await c.zadd(`${q}:marker`, 0, '0');
  }
  await c.lpush(`${q}:active`, '99'); // being processed: not queued
  let reading = good(t, await s.poll());
  t.equal(reading.depth, 5, 'wait 3 + prioritized 2 (active not counted)');
  t.same(reading.perSource, [{ label: `bullmq:${prefix}:inference`, value: 5 }]);

  // Pause as older BullMQ does it: RENAME wait -> paused, meta.paused = 1.
  await c.rename(`${q}:wait`, `${q}:paused`);
  await c.hset(`${q}:meta`, 'paused', '1');
  reading = good(t, await s.poll());
  t.equal(reading.depth, 5, 'paused jobs still count');
  await c.lpop(`${q}:paused`);
  t.equal(good(t, await s.poll()).depth, 4);
});

t.test('depth is the sum over every source, in one reading', async (t) => {
  const r = await startRedis(t);
  const c = redisClient(t, r.url);
  const p = r.prefix;
  await c.set(`${p}vllm`, '10');
  await c.rpush(`${p}rq:queue:default`, 'a', 'b');
  await c.zadd(`${p}z`, 1, 'a');
  await c.xadd(`${p}s`, '*', 'a', '1');
  await c.xgroup('CREATE', `${p}s`, 'g', '0');
  await c.lpush(`${p}bull:q:wait`, '1', '2', '3');
  const sources: DepthSource[] = [
    { type: 'key', key: `${p}vllm` },
    { type: 'list', key: `${p}rq:queue:default` },
    { type: 'zset', key: `${p}z` },
    { type: 'stream', key: `${p}s`, group: 'g' },
    { type: 'bullmq', queue: 'q', prefix: `${p}bull` },
  ];
  const reading = good(t, await source(t, r.url, { sources }).poll());
  t.same(
    reading.perSource.map((x) => x.value),
    [10, 2, 1, 1, 3],
  );
  t.equal(reading.depth, 17);
  t.equal(await depthOf(t, r, sources.slice(0, 2)), 12);
});

t.test('cap key: absent -> null; watts -> number; garbage or wrong type -> null with a counted warning', async (t) => {
  const r = await startRedis(t);
  const c = redisClient(t, r.url);
  const capKey = `${r.prefix}cap`;
  const log = capture();
  const s = source(t, r.url, { capKey, logger: log.logger });
  let reading = good(t, await s.poll());
  t.equal(reading.capWatts, null);
  t.same(reading.warnings, []);
  await c.set(capKey, '250000');
  t.equal(good(t, await s.poll()).capWatts, 250000);
  await c.set(capKey, '1500.5');
  t.equal(good(t, await s.poll()).capWatts, 1500.5);
  await c.set(capKey, 'lots');
  reading = good(t, await s.poll());
  t.equal(reading.capWatts, null, 'garbage is ignored, not a crash');
  t.match(reading.warnings[0], /cap key .* not watts/);
  await s.poll();
  await c.del(capKey);
  await c.rpush(capKey, 'x');
  reading = good(t, await s.poll());
  t.equal(reading.capWatts, null);
  t.match(reading.warnings[0], /WRONGTYPE/);
  t.equal(s.stats().warnings, 3, 'every warning counted');
  // The capture is synchronous: every line a poll logs is there when the poll resolves.
  const problems = log.withMsg('redis signal data problem');
  t.equal(problems.length, 2, 'each distinct problem logged once while it lasts');
  t.ok(
    problems.every((l) => l.code === 'HG_ERR_REDIS_DATA'),
    'with its code',
  );
});

t.test('overrides hash: field = rig id, value run|curtail; other values ignored with a warning', async (t) => {
  const r = await startRedis(t);
  const c = redisClient(t, r.url);
  const overrideKey = `${r.prefix}override`;
  const s = source(t, r.url, { overrideKey });
  let reading = good(t, await s.poll());
  t.equal(reading.overrides.size, 0);
  await c.hset(overrideKey, 'rig1', 'run', 'rig2', 'curtail', 'rig3', 'maybe', 'rig4', 'CURTAIL');
  reading = good(t, await s.poll());
  t.same([...reading.overrides.entries()].sort(), [
    ['rig1', 'run'],
    ['rig2', 'curtail'],
    ['rig4', 'curtail'],
  ]);
  t.equal(reading.warnings.length, 1);
  t.match(reading.warnings[0], /rig3.*maybe/);
});

t.test('WRONGTYPE: the reading fails and names the key and its type', async (t) => {
  const r = await startRedis(t);
  const c = redisClient(t, r.url);
  const key = `${r.prefix}thing`;
  await c.hset(key, 'a', '1');
  for (const src of [
    { type: 'list', key },
    { type: 'key', key },
    { type: 'stream', key, group: 'g' },
  ] as DepthSource[]) {
    const reading = await source(t, r.url, { sources: [{ type: 'list', key: `${r.prefix}ok` }, src] }).poll();
    t.equal(reading.ok, false, src.type);
    if (!reading.ok) t.match(reading, { error: `key "${key}" holds a hash`, code: 'HG_ERR_REDIS_SIGNAL' });
  }
  await c.rpush(`${r.prefix}bull:q:prioritized`, 'x');
  const reading = await source(t, r.url, { sources: [{ type: 'bullmq', queue: 'q', prefix: `${r.prefix}bull` }] }).poll();
  t.equal(reading.ok, false);
  if (!reading.ok) t.match(reading.error, /prioritized" holds a list, expected a zset/);
});

t.test('Redis killed mid-run: polls resolve not ok; restarted on the same port: readings return on the same source', async (t) => {
  const r = await startRedis(t, { own: true });
  const key = `${r.prefix}depth`;
  const log = capture();
  const s = source(t, r.url, { sources: [{ type: 'key', key }], commandTimeoutMs: 300, logger: log.logger });
  await redisClient(t, r.url).set(key, '3');
  t.equal(good(t, await s.poll()).depth, 3);

  await r.kill();
  for (let i = 0; i < 3; i++) {
    const reading = await s.poll();
    t.equal(reading.ok, false, `poll ${i} after kill`);
    if (!reading.ok)
      t.match(
        reading,
        { error: /unreachable|not connected/, code: 'HG_ERR_REDIS_UNAVAILABLE' },
        'a connection problem, not blamed on a source',
      );
  }
  t.equal(s.stats().failures, 3);

  await r.restart();
  await redisClient(t, r.url).set(key, '8'); // a fresh server: no persistence
  // The source's own connection comes back on its reconnect backoff; its log line says when.
  await log.waitFor((l) => l.msg === 'redis available again' && l.role === 'signals', 'the source reconnected');
  const back = await s.poll();
  t.equal(back.ok && back.depth, 8, 'readings come back without recreating the source');
  const down = log.withMsg('redis unavailable');
  t.equal(down.length, 1, 'the outage logged once');
  t.equal(down[0]!.code, 'HG_ERR_REDIS_UNAVAILABLE', 'with its code');
  t.equal(log.withMsg('redis signal read failed')[0]?.code, 'HG_ERR_REDIS_UNAVAILABLE', 'a failed reading logged with its code');
  t.equal(log.withMsg('redis signal read ok again').length, 1);
});

t.test('credentials never reach errors or logs', async (t) => {
  const r = await startRedis(t, { own: true });
  const admin = redisClient(t, r.url);
  await admin.config('SET', 'requirepass', 'right-horse-battery');
  const log = capture();
  const key = `${r.prefix}depth`;
  const wrong = source(t, `redis://:stapled-secret@127.0.0.1:${r.port}`, { sources: [{ type: 'key', key }], logger: log.logger });
  const reading = await wrong.poll();
  t.equal(reading.ok, false);
  if (!reading.ok) t.notMatch(reading.error, /stapled-secret/);
  const right = source(t, `redis://:right-horse-battery@127.0.0.1:${r.port}`, { sources: [{ type: 'key', key }], logger: log.logger });
  t.equal(good(t, await right.poll()).depth, 0, 'the right password works');
  await r.kill();
  await right.poll();
  await log.waitFor((l) => l.msg === 'redis unavailable', 'an outage logged');
  t.notMatch(log.text(), /stapled-secret|right-horse-battery/);
  t.match(log.text(), /redis:\/\/\*\*\*@127\.0\.0\.1/);
  t.equal(
    cleanRedisError(new Error('connect to redis://u:pw1234@h:1 failed'), 'redis://u:pw1234@h:1'),
    'connect to redis://***@h:1 failed',
  );
  t.equal(cleanRedisError('auth pw1234 rejected', 'redis://:pw1234@h:1'), 'auth *** rejected');
});

t.test('a server that stops answering: polls and publishes resolve not ok (bounded by the command timeout)', async (t) => {
  const r = await startRedis(t, { own: true });
  const key = `${r.prefix}depth`;
  const s = source(t, r.url, { sources: [{ type: 'key', key }], commandTimeoutMs: 200 });
  const p = publisher(t, r.url, { statusKey: `${r.prefix}status`, commandTimeoutMs: 200 });
  t.equal(good(t, await s.poll()).depth, 0);
  t.equal(await sent(p, p.publishStatus(status())), true);
  // CLIENT PAUSE ALL holds every other client's commands: the connection is up, replies never come in time.
  await redisClient(t, r.url).call('CLIENT', 'PAUSE', '3000', 'ALL');
  const stalled = await s.poll();
  t.equal(stalled.ok, false);
  if (!stalled.ok) t.match(stalled, { error: /timed out|no reply/, code: 'HG_ERR_REDIS_UNAVAILABLE' });
  t.equal(await sent(p, p.publishStatus(status())), false);
  t.equal(p.stats().failures, 1);

  // A TCP peer that accepts and never speaks RESP: the handshake never completes.
  const mute = createServer((sock) => sock.resume());
  await new Promise<void>((res) => mute.listen(0, '127.0.0.1', res));
  t.teardown(() => mute.close());
  const url = `redis://127.0.0.1:${(mute.address() as AddressInfo).port}`;
  const hung = source(t, url, { commandTimeoutMs: 200 });
  for (let i = 0; i < 2; i++) t.equal((await hung.poll()).ok, false, `poll ${i} against a mute peer`);
  const mutePub = publisher(t, url, { eventsChannel: 'x', commandTimeoutMs: 200 });
  await mutePub.publishEvent({ type: 'mode', mode: 'off', previous: 'live', at: 1 });
  t.same(mutePub.stats(), { published: 0, failures: 1, failing: true }, 'an event to a mute peer is a counted failure');
});

t.test('a closed source and an unreachable server resolve not ok, never throw', async (t) => {
  const r = await startRedis(t, { own: true });
  const s = source(t, r.url);
  t.equal((await s.poll()).ok, true);
  s.close();
  const closed = await s.poll();
  t.equal(closed.ok, false, 'closed');
  if (!closed.ok) t.match(closed.error, /closed/);
  await r.stop();
  const never = source(t, r.url, { commandTimeoutMs: 200 });
  const reading = await never.poll();
  t.equal(reading.ok, false, 'never connected');
});

function status(over: Partial<ThrottleStatus> = {}): ThrottleStatus {
  return {
    mode: 'live',
    depth: 12,
    capWatts: null,
    budget: { siteWatts: 1_000_000, gpuNeedWatts: 400_000.4, headroomWatts: 50_000, baseLoadWatts: 20_000, asicWatts: 530_000 },
    asicWatts: 525_000,
    freedWatts: 350_000,
    curtailedRigs: 100,
    reducedRigs: 2,
    redis: { healthy: true, lastOkAt: 1_700_000_000_000, error: null },
    driverErrors: 0,
    decisions: 7,
    updatedAt: 1_700_000_000_123,
    rigs: [
      {
        id: 's21-001',
        group: 'row-a',
        entry: 's21',
        driver: 'luxos',
        ip: '10.0.1.1',
        state: 'curtailed',
        watts: 0,
        ratedWatts: 3500,
        ratedThs: 200,
        priority: 0,
        sessions: 1,
        sharesPerMinute: 0,
        lastShareAt: null,
        alert: 'still-hashing',
        reason: 'over budget',
        since: 1,
        settlingUntil: null,
        measuredThs: null,
        measuredThsLow: null,
        measuredThsHigh: null,
        measuredWatts: null,
        proof: { decision: 'curtail', state: 'failed', by: 'measurement', at: 3_000, afterMs: 2_000 },
      },
    ],
    ...over,
  };
}

t.test('status hash: every field, and a TTL of 10 intervals so a dead hashgate ages out', async (t) => {
  const r = await startRedis(t);
  const c = redisClient(t, r.url);
  const statusKey = `${r.prefix}status`;
  const p = publisher(t, r.url, { statusKey, intervalMs: 1000 });
  t.equal(await sent(p, p.publishStatus(status())), true);
  const h = await c.hgetall(statusKey);
  t.same(h, {
    mode: 'live',
    depth: '12',
    capWatts: '',
    siteWatts: '1000000',
    gpuNeedWatts: '400000',
    asicBudgetWatts: '530000',
    asicWatts: '525000',
    freedWatts: '350000',
    curtailedRigs: '100',
    reducedRigs: '2',
    redisHealthy: '1',
    updatedAt: '1700000000123',
    rigs: JSON.stringify([{ id: 's21-001', state: 'curtailed', watts: 0, alert: 'still-hashing' }]),
  });
  const ttl = await c.pttl(statusKey);
  t.ok(ttl > 0 && ttl <= 10_000, `pttl ${ttl}`);
  await sent(
    p,
    p.publishStatus(status({ mode: 'stale-shed', depth: null, capWatts: 800_000, redis: { healthy: false, lastOkAt: null, error: 'x' } })),
  );
  const h2 = await c.hgetall(statusKey);
  t.equal(h2.mode, 'stale-shed');
  t.equal(h2.depth, '');
  t.equal(h2.capWatts, '800000');
  t.equal(h2.redisHealthy, '0');
  t.same(p.stats(), { published: 2, failures: 0, failing: false });
});

t.test('events: JSON on the channel, received by a real SUBSCRIBE client', async (t) => {
  const r = await startRedis(t);
  const channel = `${r.prefix}events`;
  const sub = redisClient(t, r.url);
  const got: ThrottleEvent[] = [];
  sub.on('message', (ch: string, msg: string) => {
    if (ch === channel) got.push(JSON.parse(msg) as ThrottleEvent);
  });
  await sub.subscribe(channel);
  const p = publisher(t, r.url, { eventsChannel: channel });
  const events: ThrottleEvent[] = [
    { type: 'curtail', rig: 's21-001', watts: 3500, reason: 'over budget by 3,200 W', at: 1 },
    { type: 'mode', mode: 'stale-shed', previous: 'live', at: 2 },
    { type: 'budget', asicBudgetWatts: 500_000, freedWatts: 35_000, at: 3 },
  ];
  for (const e of events) t.equal(await sent(p, p.publishEvent(e)), true);
  await when(() => got.length >= events.length, 'every event delivered to the subscriber', [onEvents(sub, 'message')]);
  t.same(got, events);
});

t.test('disabled key/channel: nothing is written, nothing connects', async (t) => {
  const p = publisher(t, 'redis://127.0.0.1:1');
  t.equal(await sent(p, p.publishStatus(status())), false);
  t.equal(await sent(p, p.publishEvent({ type: 'mode', mode: 'off', previous: 'live', at: 1 })), false);
  t.same(p.stats(), { published: 0, failures: 0, failing: false });
});

t.test('publishing while Redis is down never throws; failures counted and logged once per outage', async (t) => {
  const r = await startRedis(t, { own: true });
  const log = capture();
  const statusKey = `${r.prefix}status`;
  const p = publisher(t, r.url, { statusKey, eventsChannel: `${r.prefix}ev`, logger: log.logger, commandTimeoutMs: 300 });
  t.equal(await sent(p, p.publishStatus(status())), true);
  await r.kill();
  for (let i = 0; i < 3; i++) {
    t.equal(await sent(p, p.publishStatus(status())), false);
    t.equal(await sent(p, p.publishEvent({ type: 'mode', mode: 'no-pool', previous: 'live', at: i })), false);
  }
  t.same(p.stats(), { published: 1, failures: 6, failing: true });
  await r.restart();
  await log.waitFor((l) => l.msg === 'redis available again' && l.role === 'status', 'the publisher reconnected');
  t.equal(await sent(p, p.publishStatus(status())), true, 'publishing resumes on the same publisher');
  t.equal(p.stats().failing, false);
  t.equal(await redisClient(t, r.url).hget(statusKey, 'mode'), 'live');
  const failing = log.withMsg('redis status publishing failing');
  t.equal(failing.length, 1);
  t.equal(failing[0]!.code, 'HG_ERR_REDIS_PUBLISH');
  t.equal(log.withMsg('redis status publishing recovered').length, 1);
});

t.test('reconnect backoff is bounded both ways', async (t) => {
  const delays = Array.from({ length: 50 }, (_, i) => reconnectDelayMs(i + 1));
  t.equal(delays[0], 100);
  t.ok(delays.every((d) => d >= 100 && d <= 2000));
  t.equal(delays[49], 2000);
  t.ok(delays.every((d, i) => i === 0 || d >= delays[i - 1]!));
});
