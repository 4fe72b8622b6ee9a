/** Per-connection and per-process limits over real TCP on 127.0.0.1: submit rate, floods, caps, timeouts. */
import t from 'tap';
import { FakeClock } from '../helpers/fake-clock.js';
import { miner, pool } from '../helpers/sim.js';
import { when } from '../throttle/wait.js';
import { startDaemon } from './helpers.js';
import { rawClient, until, within } from './raw.js';

const junk = (jobId: string, i: number) => ({ jobId, extranonce2: i.toString(16).padStart(8, '0'), ntime: '00000000', nonce: '00000000' });

t.test('submit rate limit over TCP: over-limit submits get [20, "rate limited"], the miner stays connected', async (t) => {
  const p = await pool(t);
  const { port, daemon } = await startDaemon(t, [p.port], { 'submits-per-second': 1, 'submit-burst': 5 });
  const m = await miner(t, port, { mine: false });
  await m.waitFor(() => m.currentJob !== undefined, 5000, 'first job');
  const jobId = m.currentJob!.jobId;
  const answers = await Promise.all(Array.from({ length: 8 }, (_, i) => m.submit(junk(jobId, i))));
  const limited = answers.filter((a) => a.code === 20 && a.message === 'rate limited');
  t.equal(limited.length, 3, '8 submits against a burst of 5');
  t.equal(daemon.counters.rateLimitedSubmits, 3);
  t.equal(daemon.sessions()[0]!.rateLimited, 3);
  t.equal(p.stats.submits, 0, 'nothing forwarded (the 5 checked were bad shares, the 3 not hashed)');
  const ping = await m.request('mining.ping', []);
  t.equal(ping.result, 'pong', 'still connected');
  t.equal(daemon.counters.floodDisconnects, 0);
});

t.test('a submit flood (over 10 × the burst in a row) disconnects that miner only', async (t) => {
  const p = await pool(t);
  const { port, daemon } = await startDaemon(t, [p.port], { 'submits-per-second': 1, 'submit-burst': 2 });
  const good = await miner(t, port, { user: 'good', maxShares: 1 });
  const flooder = await rawClient(t, port);
  flooder.send({ id: 1, method: 'mining.subscribe', params: [] });
  flooder.send({ id: 2, method: 'mining.authorize', params: ['bad', 'x'] });
  await flooder.waitLine((l) => l.id === 2);
  const burst = Array.from(
    { length: 40 },
    (_, i) => `{"id":${10 + i},"method":"mining.submit","params":["bad","j","00000000","00000000","00000000"]}\n`,
  ).join('');
  flooder.socket.write(burst);
  await within(flooder.closed, 5000, 'flooder disconnected');
  t.equal(daemon.counters.floodDisconnects, 1);
  t.equal(daemon.counters.rateLimitedSubmits, 21, 'counted up to the flood limit (2 + 20 allowed over, the 21st closes)');
  await good.waitFor(() => good.stats.accepted >= 1, 10_000, 'the normal miner still works');
  t.equal(good.stats.accepted, 1);
});

t.test('authorize timeout: a socket that connects and says nothing is closed, on the daemon clock', async (t) => {
  const p = await pool(t);
  const clock = new FakeClock();
  const { port, daemon } = await startDaemon(t, [p.port], { 'authorize-timeout-ms': 1000 }, { clock });
  const c = await rawClient(t, port);
  await when(() => daemon.counters.active === 1, 'connection accepted (its timers set)', [clock.changed.subscribe], 10_000);
  clock.advance(999);
  t.equal(daemon.counters.authorizeTimeouts, 0, 'not before limits.authorizeTimeoutMs');
  t.notOk(c.isClosed());
  clock.advance(1);
  t.equal(daemon.counters.authorizeTimeouts, 1, 'closed when it falls due');
  await within(c.closed, 5000, 'closed by the authorize timeout');
  await p.waitFor(() => p.stats.active === 0, 5000, 'its pool connection is gone too');
  t.equal(daemon.sessions().length, 0);
});

t.test('silent after authorize: kept (it is a live miner); when the peer vanishes everything is freed', async (t) => {
  const p = await pool(t);
  const clock = new FakeClock();
  const { port, daemon } = await startDaemon(t, [p.port], { 'authorize-timeout-ms': 1000 }, { clock });
  const c = await rawClient(t, port);
  c.send({ id: 1, method: 'mining.subscribe', params: [] });
  c.send({ id: 2, method: 'mining.authorize', params: ['quiet', 'x'] });
  await c.waitLine((l) => l.id === 2 && l.result === true);
  await c.waitLine((l) => l.method === 'mining.notify');
  // Past the authorize timer's due time on the daemon's clock: nothing happens.
  clock.advance(1200);
  t.equal(daemon.counters.authorizeTimeouts, 0);
  t.equal(daemon.sessions()[0]?.status, 'authorized', 'an authorized but silent miner is not closed by the authorize timer');
  t.notOk(c.isClosed());
  c.socket.resetAndDestroy(); // the peer vanishes with an RST
  await p.waitFor(() => p.stats.active === 0, 5000, 'its pool connection is closed');
  t.equal(daemon.sessions().length, 0, 'no session left behind');
  t.equal(daemon.counters.active, 0);
});

t.test('connection caps: total and per source address, extra connections refused and counted', async (t) => {
  const p = await pool(t);
  const total = await startDaemon(t, [p.port], { 'max-connections': 2, 'max-connections-per-ip': 100 });
  const a = await rawClient(t, total.port);
  const b = await rawClient(t, total.port);
  const c = await rawClient(t, total.port);
  await within(c.closed, 5000, 'third connection refused');
  t.equal(total.daemon.counters.refusedTotalCap, 1);
  t.notOk(a.isClosed() || b.isClosed(), 'the first two stay');

  const perIp = await startDaemon(t, [p.port], { 'max-connections': 100, 'max-connections-per-ip': 2 });
  const x = await rawClient(t, perIp.port);
  const y = await rawClient(t, perIp.port);
  const z = await rawClient(t, perIp.port);
  await within(z.closed, 5000, 'third connection from 127.0.0.1 refused');
  t.equal(perIp.daemon.counters.refusedPerIpCap, 1);
  t.notOk(x.isClosed() || y.isClosed());
  x.socket.destroy();
  // A slot frees up once the daemon saw the close.
  await until(() => perIp.daemon.counters.active === 1, 5000, 'slot freed');
  const w = await rawClient(t, perIp.port);
  w.send({ id: 1, method: 'mining.ping', params: [] });
  t.match(await w.waitLine((l) => l.id === 1), { result: 'pong' }, 'accepted again below the cap');
});
