/** MinerSession driven with an in-memory fake Upstream: no sockets, no sleeps. */
import t from 'tap';
import { MinerSession } from '../../src/session/session.js';
import { createLogger } from '../../src/util/log.js';
import { answer, FakeUpstream } from '../helpers/fake-upstream.js';

const ok = answer;

function setup(worker?: { mode: 'passthrough' | 'account'; separator: string }) {
  const up = new FakeUpstream();
  const out: Record<string, unknown>[] = [];
  up.answer = (method) => {
    if (method === 'mining.subscribe') return ok(1, [[['mining.notify', 'ab']], 'deadbeef', 4]);
    if (method === 'mining.configure') return ok(2, { 'version-rolling': true, 'version-rolling.mask': '1fffe000' });
    if (method === 'mining.authorize') return ok(3, true);
    return ok(9, null, [20, 'nope', null]);
  };
  const s = new MinerSession({
    id: 's1',
    upstream: up,
    send: (l) => out.push(JSON.parse(l) as Record<string, unknown>),
    close: () => {},
    log: createLogger({ level: 'silent' }),
    now: () => 1000,
    ...(worker ? { worker } : {}),
  });
  return { up, out, s };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

t.test('subscribe relays the pool extranonce; configure gives the granted mask; own ids', async (t) => {
  const { up, out, s } = setup();
  s.handleLine('{"id":7,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"00ffe000"}]}');
  s.handleLine('{"id":7,"method":"mining.subscribe","params":["cgminer/4"]}');
  await tick();
  t.match(out[0], { id: 7, result: { 'version-rolling': true, 'version-rolling.mask': '00ffe000' } });
  t.match(out[1], { id: 7, result: [[['mining.notify', 'ab']], 'deadbeef', 4] });
  t.equal(s.status, 'subscribed');
  t.equal(s.versionMask, 0x00ffe000);
  t.same(
    up.sent.map((x) => x.method),
    ['mining.configure', 'mining.subscribe'],
  );
});

t.test('unknown method gets a JSON-RPC error; submit before subscribe gets 25; garbage is counted', async (t) => {
  const { out, s } = setup();
  s.handleLine('{"id":1,"method":"mining.frob","params":[]}');
  s.handleLine('{"id":2,"method":"mining.submit","params":["w","j","00","00000000","00000000"]}');
  s.handleLine('not json');
  await tick();
  t.match(out[0], { id: 1, error: [20, /Method not found/] });
  t.match(out[1], { id: 2, error: [25] });
  t.equal(s.invalidLines, 2);
  t.equal(s.status, 'connected');
});

t.test('account mode rewrites the worker; unknown job is rejected locally and not forwarded', async (t) => {
  const { up, out, s } = setup({ mode: 'account', separator: '.' });
  s.handleLine('{"id":1,"method":"mining.subscribe","params":[]}');
  await tick();
  s.handleLine('{"id":2,"method":"mining.authorize","params":["someone.rig7","secret"]}');
  await tick();
  t.match(up.sent[1], { method: 'mining.authorize', params: ['acct.rig7', 'pw'] });
  t.equal(s.status, 'authorized');
  s.handleLine('{"id":3,"method":"mining.submit","params":["someone.rig7","nojob","00000000","00000000","00000000"]}');
  await tick();
  t.match(out.at(-1), { id: 3, result: false, error: [21] });
  t.equal(up.sent.length, 2, 'not forwarded');
  t.equal(s.workers.get('someone.rig7')!.rejected['unknown-job'], 1);
  s.close('test');
  t.ok(up.closed);
});

t.test('lost pool closes the miner; set_difficulty and show_message are relayed', async (t) => {
  const up = new FakeUpstream();
  const out: string[] = [];
  let closed = '';
  new MinerSession({ id: 's', upstream: up, send: (l) => out.push(l), close: (r) => (closed = r), log: createLogger({ level: 'silent' }) });
  up.listener({ type: 'message', msg: { type: 'set-difficulty', id: null, difficulty: 0.5 } });
  up.listener({ type: 'message', msg: { type: 'show-message', id: null, message: 'hi' } });
  t.match(out[0], /mining.set_difficulty.*0.5/);
  t.match(out[1], /client.show_message/);
  up.listener({ type: 'lost', downMs: 10 });
  t.equal(closed, 'no pool reachable');
});

function rateLimited(burst: number, perSecond: number) {
  const up = new FakeUpstream();
  up.answer = (method) => {
    if (method === 'mining.subscribe') return ok(1, [[['mining.notify', 'ab']], 'deadbeef', 4]);
    if (method === 'mining.authorize') return ok(3, true);
    return ok(9, null, [20, 'nope', null]);
  };
  const out: Record<string, unknown>[] = [];
  const logs: { level: string; msg: string }[] = [];
  const log = {
    warn: (_o: unknown, msg: string) => logs.push({ level: 'warn', msg }),
    info: (_o: unknown, msg: string) => logs.push({ level: 'info', msg }),
    debug: () => {},
  } as unknown as ReturnType<typeof createLogger>;
  let now = 1000;
  const closes: string[] = [];
  const counts = { limited: 0, flood: 0 };
  const s = new MinerSession({
    id: 's',
    upstream: up,
    send: (l) => out.push(JSON.parse(l) as Record<string, unknown>),
    close: (r) => closes.push(r),
    log,
    now: () => now,
    submitsPerSecond: perSecond,
    submitBurst: burst,
    onRateLimited: () => counts.limited++,
    onFlood: () => counts.flood++,
  });
  const submit = (id: number) =>
    s.handleLine(`{"id":${id},"method":"mining.submit","params":["w","nojob","00000000","00000000","00000000"]}`);
  return { s, out, logs, closes, counts, submit, advance: (ms: number) => (now += ms), up };
}

t.test('submit rate limit: burst passes, over-limit gets [20, "rate limited"], one warn per episode, refills', async (t) => {
  const r = rateLimited(5, 2);
  r.s.handleLine('{"id":1,"method":"mining.subscribe","params":[]}');
  await tick();
  r.s.handleLine('{"id":2,"method":"mining.authorize","params":["w","x"]}');
  await tick();
  for (let i = 0; i < 8; i++) r.submit(100 + i);
  await tick();
  const answers = r.out.filter((o) => typeof o.id === 'number' && (o.id as number) >= 100);
  t.equal(answers.length, 8);
  t.equal(answers.filter((o) => Array.isArray(o.error) && o.error[1] === 'rate limited').length, 3, '3 over the burst of 5');
  t.ok(
    answers.slice(5).every((o) => Array.isArray(o.error) && o.error[0] === 20 && o.result === false),
    'code 20, result false',
  );
  t.equal(r.s.workers.get('w')!.rejected['unknown-job'], 5, 'only the 5 within the limit were checked');
  t.equal(r.s.rateLimited, 3);
  t.equal(r.counts.limited, 3);
  t.equal(r.logs.filter((l) => l.level === 'warn').length, 1, 'logged once for the burst, not per submit');
  t.same(r.closes, [], 'not disconnected');
  // 1 s at 2/s earns 2 tokens: two pass, the third is limited. The 3 over-limit submits before have not
  // drained yet (2 forgiven per second), so this is the same episode: no new warn.
  r.advance(1000);
  for (let i = 0; i < 3; i++) r.submit(200 + i);
  await tick();
  const later = r.out.filter((o) => typeof o.id === 'number' && (o.id as number) >= 200);
  t.same(
    later.map((o) => (o.error as unknown[])[0]),
    [21, 21, 20],
    'two checked (unknown job), the third rate limited',
  );
  t.equal((later[2]!.error as unknown[])[1], 'rate limited');
  t.equal(r.logs.filter((l) => l.level === 'warn').length, 1, 'same episode: still one warn');
  // Long enough for the excess to drain and the bucket to refill: a new episode logs once more.
  r.advance(10_000);
  for (let i = 0; i < 6; i++) r.submit(300 + i);
  await tick();
  const third = r.out.filter((o) => typeof o.id === 'number' && (o.id as number) >= 300);
  t.equal(third.filter((o) => Array.isArray(o.error) && o.error[1] === 'rate limited').length, 1, 'a full burst of 5 passes again');
  t.equal(r.logs.filter((l) => l.level === 'warn').length, 2, 'a new episode logs once more');
  t.equal(r.s.status === 'closed', false);
});

t.test('submit flood far beyond the burst disconnects the miner once', async (t) => {
  const r = rateLimited(2, 1);
  for (let i = 0; i < 2 + 10 * 2 + 5; i++) r.submit(i + 1);
  await tick();
  t.equal(r.counts.flood, 1);
  t.same(r.closes, ['submit flood']);
  t.equal(r.s.status, 'closed');
  t.ok(r.up.closed, 'pool side closed too');
  t.equal(r.s.rateLimited, 21, 'counted up to the flood limit, then nothing more is read');
});

t.test('set_extranonce from the pool: relayed after extranonce.subscribe, reconnect otherwise', async (t) => {
  const a = setup();
  a.s.handleLine('{"id":1,"method":"mining.subscribe","params":[]}');
  a.s.handleLine('{"id":2,"method":"mining.extranonce.subscribe","params":[]}');
  await tick();
  a.up.listener({ type: 'message', msg: { type: 'set-extranonce', id: null, extranonce1: 'cafe0001', extranonce2Size: 4 } });
  t.match(a.out.at(-1), { method: 'mining.set_extranonce', params: ['cafe0001', 4] });
  t.equal(a.s.extranonce.extranonce1, 'cafe0001');

  const b = setup();
  b.s.handleLine('{"id":1,"method":"mining.subscribe","params":[]}');
  await tick();
  b.up.listener({ type: 'message', msg: { type: 'set-extranonce', id: null, extranonce1: 'cafe0001', extranonce2Size: 4 } });
  t.match(b.out.at(-1), { method: 'client.reconnect' });
  t.equal(b.s.status, 'closed');
  t.equal(b.s.extranonce.extranonce1, 'deadbeef', 'old extranonce kept until it reconnects');
});

t.test('local difficulty: the miner is told min(local, pool); the pool difficulty is never passed down above it', async (t) => {
  const { up, out, s } = setup();
  const sent = () => out.filter((m) => m.method === 'mining.set_difficulty').map((m) => (m.params as number[])[0]);
  s.setLocalDifficulty(16); // before subscribe: remembered, nothing sent (the miner has no work yet)
  t.same(sent(), []);
  s.handleLine('{"id":1,"method":"mining.subscribe","params":[]}');
  await tick();
  up.listener({ type: 'message', msg: { type: 'set-difficulty', id: null, difficulty: 4096 } });
  t.same(sent(), [16], "the pool's 4,096 becomes the local 16");
  t.same([s.difficulty, s.poolDifficulty], [16, 4096]);
  s.setLocalDifficulty(64);
  t.same(sent(), [16, 64], 'a retarget is sent at once');
  s.setLocalDifficulty(64);
  t.same(sent(), [16, 64], 'no change, nothing sent');
  up.listener({ type: 'message', msg: { type: 'set-difficulty', id: null, difficulty: 32 } });
  t.same(sent(), [16, 64, 32], 'the pool drops below: local ≤ pool');
  s.setLocalDifficulty(null);
  t.same(sent(), [16, 64, 32], 'local off: already at the pool difficulty');
  up.listener({ type: 'message', msg: { type: 'set-difficulty', id: null, difficulty: 512 } });
  t.same(sent(), [16, 64, 32, 512], 'off: the pool difficulty relayed as before');
});
