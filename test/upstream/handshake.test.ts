/**
 * A real PoolUpstream over TCP, a real MinerSession, a scripted pool on 127.0.0.1:0 that records the
 * order of the requests it gets on each connection (issue 9, D3; and bounds on what a pool sends).
 * The scripted pool answers like a strict real one: a submit from a worker not authorized on this
 * connection is refused with 24. Every wait is on an event, bounded in time.
 */
import net from 'node:net';
import t from 'tap';
import { MinerSession } from '../../src/session/session.js';
import { createPoolUpstream } from '../../src/upstream/net-transport.js';
import type { PoolTarget, PoolUpstream } from '../../src/upstream/pool-upstream.js';
import { createLogger } from '../../src/util/log.js';

interface Tap {
  teardown(fn: () => unknown): void;
}
type Msg = Record<string, unknown> & { id?: unknown; method?: string; params?: unknown[]; result?: unknown; error?: unknown };

const WAIT_MS = 10_000;

/** Something to wait on: `until(pred)` re-checks pred whenever `poke()` is called, and fails after WAIT_MS. */
function changes() {
  const waiters = new Set<() => void>();
  return {
    poke: () => {
      for (const w of [...waiters]) w();
    },
    until(pred: () => boolean, label: string): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred()) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${label}`));
        }, WAIT_MS);
        waiters.add(check);
        check();
      });
    },
  };
}

interface PoolConn {
  readonly socket: net.Socket;
  readonly methods: string[];
  readonly authorized: Set<string>;
}

/** A strict scripted pool. `hold` makes it keep submit answers until released; `extra` lines go out on demand. */
async function scriptedPool(t: Tap, ch: ReturnType<typeof changes>, port = 0) {
  const conns: PoolConn[] = [];
  const held: (() => void)[] = [];
  let holdSubmits = false;
  const server = net.createServer((socket) => {
    const conn: PoolConn = { socket, methods: [], authorized: new Set() };
    conns.push(conn);
    socket.on('error', () => {});
    let buf = '';
    socket.setEncoding('utf8');
    const reply = (obj: object) => socket.write(`${JSON.stringify(obj)}\n`);
    socket.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const m = JSON.parse(buf.slice(0, i)) as Msg;
        buf = buf.slice(i + 1);
        if (typeof m.method !== 'string') continue;
        conn.methods.push(m.method);
        switch (m.method) {
          case 'mining.configure':
            reply({ id: m.id, result: { 'version-rolling': true, 'version-rolling.mask': '1fffe000' }, error: null });
            break;
          case 'mining.subscribe':
            reply({ id: m.id, result: [[['mining.notify', 'ab']], 'deadbeef', 4], error: null });
            break;
          case 'mining.authorize':
            conn.authorized.add(String(m.params?.[0]));
            reply({ id: m.id, result: true, error: null });
            break;
          case 'mining.submit': {
            const ok = conn.authorized.has(String(m.params?.[0]));
            const answer = () => reply({ id: m.id, result: ok, error: ok ? null : [24, 'Unauthorized worker', null] });
            if (holdSubmits) held.push(answer);
            else answer();
            break;
          }
          default:
            reply({ id: m.id, result: true, error: null });
        }
      }
      ch.poke();
    });
    ch.poke();
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const bound = (server.address() as net.AddressInfo).port;
  t.teardown(() => {
    for (const c of conns) c.socket.destroy();
    server.close();
  });
  return {
    port: bound,
    conns,
    server,
    hold(on: boolean) {
      holdSubmits = on;
      if (!on) for (const a of held.splice(0)) a();
    },
    get heldCount() {
      return held.length;
    },
  };
}

function target(port: number): PoolTarget {
  return { host: '127.0.0.1', port, url: `stratum+tcp://127.0.0.1:${port}`, user: null, password: null };
}

function miner(t: Tap, ch: ReturnType<typeof changes>, pools: PoolTarget[]) {
  const log = createLogger({ level: 'silent' });
  const up: PoolUpstream = createPoolUpstream({
    pools,
    log,
    requestTimeoutMs: 5000,
    backoffBaseMs: 10,
    backoffMaxMs: 20,
    backoffJitter: 0,
    notifySilenceMs: 0,
    primaryRecheckMs: 0,
    poolLossGraceMs: 60_000,
  });
  // Every upstream event (up, down, …) is a moment to re-check what the test waits for.
  const setListener = up.setListener.bind(up);
  up.setListener = (l) =>
    setListener((e) => {
      l(e);
      ch.poke();
    });
  const out: Msg[] = [];
  const session = new MinerSession({
    id: 'm',
    upstream: up,
    send: (l) => {
      out.push(JSON.parse(l) as Msg);
      ch.poke();
    },
    close: () => {},
    log,
    forwardRejected: true, // no job is sent: every share is forwarded so the pool's answer is what is checked
  });
  t.teardown(() => session.close('test over'));
  const line = (m: object) => session.handleLine(JSON.stringify(m));
  const answered = (id: number) => out.some((o) => o.id === id);
  return { up, out, session, line, answered };
}

async function handshake(m: ReturnType<typeof miner>, ch: ReturnType<typeof changes>) {
  m.line({ id: 1, method: 'mining.configure', params: [['version-rolling'], { 'version-rolling.mask': 'ffffffff' }] });
  m.line({ id: 2, method: 'mining.subscribe', params: ['test/1'] });
  m.line({ id: 3, method: 'mining.authorize', params: ['rig1', 'x'] });
  await ch.until(() => m.answered(1) && m.answered(2) && m.answered(3), 'the handshake answers');
}

const submit = (m: ReturnType<typeof miner>, id: number) =>
  m.line({ id, method: 'mining.submit', params: ['rig1', 'j1', '00000000', '5f5e1000', `0000000${id % 10}`] });

/** Methods up to the first submit on a connection. */
const beforeFirstSubmit = (methods: string[]) => methods.slice(0, Math.max(0, methods.indexOf('mining.submit')));

t.test('D3: submits made while the pool is down wait for the replay on the new connection', async (t) => {
  const ch = changes();
  const pool = await scriptedPool(t, ch);
  const m = miner(t, ch, [target(pool.port)]);
  await handshake(m, ch);
  // The pool goes away (stops listening, drops us), so the upstream is down for a while.
  const closed = new Promise<void>((resolve) => pool.server.close(() => resolve()));
  pool.conns[0]!.socket.destroy();
  await closed;
  await ch.until(() => !m.up.connected, 'the upstream to go down');
  for (let i = 0; i < 5; i++) submit(m, 10 + i);
  t.equal(m.out.filter((o) => typeof o.id === 'number' && o.id >= 10).length, 0, 'queued, not answered yet');
  // The pool comes back on the same port.
  const back = await scriptedPool(t, ch, pool.port);
  await ch.until(() => [10, 11, 12, 13, 14].every(m.answered), 'the five submits answered');
  const methods = back.conns[0]!.methods;
  t.same(
    beforeFirstSubmit(methods),
    ['mining.configure', 'mining.subscribe', 'mining.authorize'],
    'the replay reaches the new pool before any share',
  );
  t.same(
    m.out.filter((o) => typeof o.id === 'number' && o.id >= 10).map((o) => o.result),
    [true, true, true, true, true],
    'every share accepted, none refused as unauthorized',
  );
});

t.test('D3: after a SIGHUP pool switch, submits made while leaving the old pool wait for the replay', async (t) => {
  const ch = changes();
  const a = await scriptedPool(t, ch);
  const b = await scriptedPool(t, ch);
  const m = miner(t, ch, [target(a.port)]);
  await handshake(m, ch);
  // One share stays unanswered at pool A, so the switch waits for it ("retiring").
  a.hold(true);
  submit(m, 10);
  await ch.until(() => a.heldCount === 1, 'the held share at pool A');
  t.equal(m.up.setPools([target(b.port)]), 'moved');
  for (let i = 1; i < 5; i++) submit(m, 10 + i);
  a.hold(false);
  await ch.until(() => [10, 11, 12, 13, 14].every(m.answered), 'the five submits answered');
  t.same(a.conns[0]!.methods.filter((x) => x === 'mining.submit').length, 1, 'pool A got only the share sent before the switch');
  t.same(beforeFirstSubmit(b.conns[0]!.methods), ['mining.configure', 'mining.subscribe', 'mining.authorize']);
  t.same(
    m.out.filter((o) => typeof o.id === 'number' && o.id >= 10).map((o) => o.result),
    [true, true, true, true, true],
    'all five accepted and relayed to the miner',
  );
});

t.test('a pool answer over the JSON limits ends that request as unusable; many such lines fail over', async (t) => {
  const ch = changes();
  const hostile = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.setEncoding('utf8');
    let buf = '';
    socket.on('data', (d: string) => {
      buf += d;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const m = JSON.parse(buf.slice(0, i)) as Msg;
        buf = buf.slice(i + 1);
        if (m.method === 'mining.subscribe') {
          socket.write(`${JSON.stringify({ id: m.id, result: [[['mining.notify', 'ab']], 'deadbeef', 4], error: null })}\n`);
        } else if (m.method === 'mining.authorize') {
          socket.write(`${JSON.stringify({ id: m.id, result: true, error: null })}\n`);
        } else if (m.method === 'mining.submit') {
          // D2 of issue 9: error data nested 6,000 deep in a submit answer.
          socket.write(`{"id":${String(m.id)},"result":false,"error":[23,"Low",${'['.repeat(6000)}${']'.repeat(6000)}]}\n`);
          // And then a stream of deep notifications: past 16 of them, the pool is dropped.
          for (let k = 0; k < 20; k++)
            socket.write(`{"id":null,"method":"mining.notify","params":${'['.repeat(3000)}${']'.repeat(3000)}}\n`);
        }
      }
    });
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  t.teardown(() => hostile.close());
  const good = await scriptedPool(t, ch);
  const port = (hostile.address() as net.AddressInfo).port;
  const m = miner(t, ch, [target(port), target(good.port)]);
  m.line({ id: 2, method: 'mining.subscribe', params: [] });
  m.line({ id: 3, method: 'mining.authorize', params: ['rig1', 'x'] });
  await ch.until(() => m.answered(2) && m.answered(3), 'the handshake');
  submit(m, 10);
  await ch.until(() => m.answered(10), 'the submit answer');
  t.match(
    m.out.find((o) => o.id === 10),
    { result: false, error: [20, 'Pool sent an unusable answer', null] },
  );
  await ch.until(() => good.conns.length === 1 && good.conns[0]!.methods.includes('mining.authorize'), 'failover to the good pool');
  t.same(beforeFirstSubmit(good.conns[0]!.methods).length, 0, 'no share went to the good pool before its handshake');
  t.same(good.conns[0]!.methods.slice(0, 2), ['mining.subscribe', 'mining.authorize'], 'failed over: the handshake is replayed there');
});
