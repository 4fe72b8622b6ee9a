/** MinerSession driven with an in-memory fake Upstream: no sockets, no sleeps. */
import t from 'tap';
import type { JsonValue } from '../../src/protocol/json-rpc.js';
import { MinerSession } from '../../src/session/session.js';
import type { Upstream, UpstreamListener, UpstreamReply } from '../../src/upstream/types.js';
import { createLogger } from '../../src/util/log.js';

class FakeUpstream implements Upstream {
  listener: UpstreamListener = () => {};
  sent: { method: string; params: readonly JsonValue[] }[] = [];
  answer: (method: string, params: readonly JsonValue[]) => UpstreamReply = () => ({ status: 'closed' });
  pool = { url: 'stratum+tcp://127.0.0.1:1', user: 'acct', password: 'pw' };
  closed = false;
  request(method: string, params: readonly JsonValue[]): Promise<UpstreamReply> {
    this.sent.push({ method, params });
    return Promise.resolve(this.answer(method, params));
  }
  notify(method: string, params: readonly JsonValue[]): void {
    this.sent.push({ method, params });
  }
  setListener(l: UpstreamListener): void {
    this.listener = l;
  }
  pause(): void {}
  resume(): void {}
  close(): void {
    this.closed = true;
  }
}

const ok = (id: number, result: JsonValue, error: JsonValue = null): UpstreamReply => ({
  status: 'ok',
  rttMs: 1,
  response: { kind: 'response', id, result, error },
});

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
  t.same(up.sent[1], { method: 'mining.authorize', params: ['acct.rig7', 'pw'] });
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
