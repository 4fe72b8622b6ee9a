/**
 * The admin endpoint's connection limits (D7): one host cannot take the endpoint with idle sockets,
 * and sockets that never complete a request go away. Real sockets on 127.0.0.0/8, no sleeps: every
 * wait is on a socket event, bounded by a guard timer that fails the test.
 */
import net from 'node:net';
import t from 'tap';
import { ADMIN_LIMITS, peerKey } from '../../src/admin/server.js';
import { auth, captureLog, request, start, TOKEN } from './helpers.js';

/** Rejects with `what` unless `p` settles within `ms` (a guard, not a sleep: it never delays a passing test). */
function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms);
  });
  return Promise.race([p, guard]).finally(() => clearTimeout(timer));
}

interface Probe {
  readonly socket: net.Socket;
  /** Resolves true once connected, false if it closed first. */
  readonly connected: Promise<boolean>;
  /** Resolves when the socket closes. */
  readonly closed: Promise<void>;
  /** 'close' seen. */
  readonly isClosed: () => boolean;
  /** Bytes the server sent. */
  readonly got: () => string;
}

/** A socket to the admin port from `localAddress` that sends nothing unless told to. */
function probe(t: { teardown(fn: () => unknown): void }, port: number, localAddress: string): Probe {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress });
  let closed = false;
  let got = '';
  socket.on('error', () => {}); // a reset from the server is an expected outcome; 'close' follows
  socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
  const connected = new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true));
    socket.once('close', () => resolve(false));
  });
  const done = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void done.then(() => (closed = true));
  t.teardown(() => socket.destroy());
  return { socket, connected, closed: done, isClosed: () => closed, got: () => got };
}

/** Resolves once `count` of `probes` have closed. */
function closedCount(probes: readonly Probe[], count: number): Promise<void> {
  let n = 0;
  return new Promise((resolve) => {
    if (count <= 0) return resolve();
    for (const p of probes)
      void p.closed.then(() => {
        if (++n === count) resolve();
      });
  });
}

t.test('200 idle sockets from one address leave the endpoint to everyone else (D7)', async (t) => {
  const logs = captureLog();
  const { port, server } = await start(t, { token: TOKEN, log: logs.log });
  const cap = ADMIN_LIMITS.maxConnectionsPerAddress;
  const FLOOD = 200;

  const flood = Array.from({ length: FLOOD }, () => probe(t, port, '127.0.0.2'));
  const connected = await within(10_000, Promise.all(flood.map((p) => p.connected)), 'the flood connecting');
  t.equal(connected.filter(Boolean).length, FLOOD, 'every flood socket completed its handshake');

  // The flood is in the accept queue ahead of these: they are answered only if it did not fill the endpoint.
  const status = (r: Promise<{ status: number }>): Promise<number | string> =>
    r.then(
      (x) => x.status,
      (e: NodeJS.ErrnoException) => e.code ?? e.message,
    );
  const replies = await within(
    10_000,
    Promise.all([
      status(request(port, '/healthz')),
      status(request(port, '/readyz')),
      ...Array.from({ length: 4 }, () => status(request(port, '/metrics', { headers: auth }))),
    ]),
    'the requests from 127.0.0.1',
  );
  t.same(replies, [200, 200, 200, 200, 200, 200], '/healthz, /readyz and 4 concurrent /metrics from 127.0.0.1 all answered 200');

  // The server closed every flood socket over the per-address cap, at once (well before any timeout).
  await within(ADMIN_LIMITS.headersTimeoutMs - 1_000, closedCount(flood, FLOOD - cap), 'the server closing the over-cap sockets');
  t.equal(flood.filter((p) => !p.isClosed()).length, cap, `exactly ${cap} flood sockets are still open (the per-address cap)`);
  t.ok(
    flood.filter((p) => p.isClosed()).every((p) => p.got() === ''),
    'an over-cap socket gets no answer, only the close',
  );
  t.same(server.refusals(), { perAddressCap: FLOOD - cap, totalCap: 0 }, 'refusals counted by cap');

  const lines = logs
    .text()
    .split('\n')
    .filter((l) => l.includes('refusing connections'));
  t.equal(lines.length, 1, 'one log line for the whole episode');
  const line = JSON.parse(lines[0] ?? '{}') as Record<string, unknown>;
  t.match(line, { level: 'warn', reason: 'perAddressCap', peer: '127.0.0.2', maxConnectionsPerAddress: cap, refusedBefore: 0 });
  t.notMatch(logs.text(), new RegExp(TOKEN), 'the token never reaches the log');

  // Once the flood is gone its address gets its slots back. The server sees the flood's FINs a moment
  // after the client-side 'close', so a refusal is retried (bounded; each try waits on socket events).
  for (const p of flood) p.socket.destroy();
  await within(5_000, closedCount(flood, FLOOD), 'the flood closing');
  let answer = '';
  for (let attempt = 0; attempt < 50 && answer === ''; attempt++) {
    const late = probe(t, port, '127.0.0.2');
    t.ok(await within(5_000, late.connected, 'a late connect'));
    late.socket.end('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await within(5_000, late.closed, 'the late answer');
    answer = late.got();
  }
  t.match(answer, /^HTTP\/1\.1 200 /, 'the address is served again');
});

t.test('the total cap still holds across addresses, counted and logged once', async (t) => {
  const logs = captureLog();
  const { port, server } = await start(t, { log: logs.log, limits: { maxConnections: 6, maxConnectionsPerAddress: 2 } });
  const hosts = ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5'];
  const probes: Probe[] = [];
  for (const h of hosts) probes.push(probe(t, port, h), probe(t, port, h));
  await within(10_000, Promise.all(probes.map((p) => p.connected)), 'connecting');
  // 8 sockets, 2 per address: the per-address cap admits all, the total cap (6) refuses 2.
  await within(3_000, closedCount(probes, 2), 'the total cap closing 2 sockets');
  t.equal(probes.filter((p) => !p.isClosed()).length, 6);
  t.same(server.refusals(), { perAddressCap: 0, totalCap: 2 });
  const lines = logs
    .text()
    .split('\n')
    .filter((l) => l.includes('refusing connections'));
  t.equal(lines.length, 1, 'one log line for the episode');
  t.match(JSON.parse(lines[0] ?? '{}'), { reason: 'totalCap', maxConnections: 6 });
});

t.test('Node enforces the headers timeout on a socket that sends nothing: 408 and close', async (t) => {
  // Tight limits so the test takes a fraction of a second; the socket idle backstop is pushed out of
  // the way so that only the headers timeout (checked every connectionsCheckingInterval) can act.
  const { port } = await start(t, {
    limits: { headersTimeoutMs: 150, requestTimeoutMs: 300, connectionsCheckingIntervalMs: 25, idleSocketMs: 60_000 },
  });
  const idle = probe(t, port, '127.0.0.2');
  t.ok(await within(5_000, idle.connected, 'connecting'));
  const opened = performance.now();
  await within(5_000, idle.closed, 'the headers timeout closing the idle socket');
  t.match(idle.got(), /^HTTP\/1\.1 408 /, 'answered 408 by the headers timeout');
  t.ok(performance.now() - opened < 3_000, 'closed soon after the headers timeout');

  // A request head that never completes (slowloris) is cut off the same way.
  const slow = probe(t, port, '127.0.0.2');
  t.ok(await within(5_000, slow.connected, 'connecting'));
  slow.socket.write('GET /metrics HTTP/1.1\r\nHost: x\r\n');
  await within(5_000, slow.closed, 'the headers timeout closing the slow socket');
  t.match(slow.got(), /^HTTP\/1\.1 408 /);
});

t.test('an idle keep-alive socket is closed after keepAliveTimeout', async (t) => {
  const { port } = await start(t, { limits: { keepAliveTimeoutMs: 150, idleSocketMs: 60_000 } });
  const ka = probe(t, port, '127.0.0.2');
  t.ok(await within(5_000, ka.connected, 'connecting'));
  ka.socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
  await within(5_000, ka.closed, 'the keep-alive timeout closing the socket');
  t.match(ka.got(), /^HTTP\/1\.1 200 /, 'answered, then closed by the server without a second request');
});

t.test('the real limits: Node checks the timeouts often enough for the headers timeout to bite', async (t) => {
  t.ok(ADMIN_LIMITS.connectionsCheckingIntervalMs * 5 <= ADMIN_LIMITS.headersTimeoutMs, 'checked at least 5× per headers timeout');
  t.ok(ADMIN_LIMITS.headersTimeoutMs <= ADMIN_LIMITS.requestTimeoutMs, 'Node requires headersTimeout ≤ requestTimeout');
  t.ok(ADMIN_LIMITS.keepAliveTimeoutMs < ADMIN_LIMITS.idleSocketMs);
  t.ok(ADMIN_LIMITS.maxConnectionsPerAddress >= 2 && ADMIN_LIMITS.maxConnectionsPerAddress * 4 <= ADMIN_LIMITS.maxConnections);
});

t.test('peerKey: IPv4 as is, IPv4-mapped unwrapped, IPv6 by /64', async (t) => {
  t.equal(peerKey('127.0.0.2'), '127.0.0.2');
  t.equal(peerKey('::ffff:127.0.0.2'), '127.0.0.2');
  t.equal(peerKey('::FFFF:10.1.2.3'), '10.1.2.3');
  t.equal(peerKey('::1'), '0:0:0:0::/64');
  t.equal(peerKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), '2001:db8:1:2::/64');
  t.equal(peerKey('2001:0db8:0001:0002::1'), '2001:db8:1:2::/64', 'leading zeros and :: normalised');
  t.equal(peerKey('2001:db8::2:0:0:1'), '2001:db8:0:0::/64');
  t.equal(peerKey('2001:db8:1::'), '2001:db8:1:0::/64');
  t.equal(peerKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'zone index dropped');
  t.equal(peerKey('64:ff9b::192.0.2.1'), '64:ff9b:0:0::/64', 'embedded dotted tail');
  t.equal(peerKey(undefined), null);
  t.equal(peerKey(''), null);
});
