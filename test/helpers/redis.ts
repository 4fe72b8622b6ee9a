/**
 * A real Redis for tests (never a mock): a private redis-server on a free
 * 127.0.0.1 port, stopped by the test's teardown, or the server at REDIS_URL
 * when that is set. Either way each test gets its own key prefix; with
 * REDIS_URL the test's keys are deleted at teardown (never FLUSHDB).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export interface Tap {
  teardown(fn: () => unknown): void;
}

export interface RedisServer {
  readonly url: string;
  readonly port: number;
  /** Unique per test: put every key the test writes under it. */
  readonly prefix: string;
  /** True when this helper runs the server (stop/kill/restart work). */
  readonly own: boolean;
  /** SIGTERM, then wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL (Redis vanishing), then wait for exit. */
  kill(): Promise<void>;
  /** Starts it again on the same port (empty: no persistence). */
  restart(): Promise<void>;
}

const READY_TIMEOUT_MS = 10_000;
const INSTALL_HINT =
  'redis-server is not on PATH. Redis tests need a real server: install it (apt-get install -y redis-server; .ci/run does this) or set REDIS_URL.';

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

/** A real Redis for this test. `own: true` insists on a private server (for kill/restart), even when REDIS_URL is set. */
export async function startRedis(t: Tap, options: { own?: boolean } = {}): Promise<RedisServer> {
  const prefix = `hgtest:${randomBytes(6).toString('hex')}:`;
  const external = process.env.REDIS_URL;
  if (external !== undefined && external !== '' && options.own !== true) {
    const notOwn = () => Promise.reject(new Error('the REDIS_URL server is not run by this helper; use startRedis(t, { own: true })'));
    t.teardown(() => deleteKeys(external, prefix));
    return { url: external, port: Number(new URL(external).port || 6379), prefix, own: false, stop: notOwn, kill: notOwn, restart: notOwn };
  }
  if (spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).error !== undefined) throw new Error(INSTALL_HINT);

  const dir = mkdtempSync(join(tmpdir(), 'hashgate-redis-'));
  let port = 0;
  let child: ChildProcess | null = null;
  for (let attempt = 1; child === null; attempt++) {
    port = await freePort();
    try {
      child = await launch(port, dir);
    } catch (e) {
      if (attempt >= 3) throw e; // the port was taken between probing and binding: try another
    }
  }
  let proc: ChildProcess | null = child;

  const end = async (signal: NodeJS.Signals) => {
    const c = proc;
    proc = null;
    if (c !== null) await terminate(c, signal);
  };
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    port,
    prefix,
    own: true,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
    async restart() {
      await end('SIGTERM');
      proc = await launch(port, dir);
    },
  };
  t.teardown(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  return server;
}

/** A plain ioredis client for writing test data, closed at teardown. */
export function redisClient(t: Tap, url: string): Redis {
  const c = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
  c.on('error', () => undefined);
  t.teardown(() => c.disconnect());
  return c;
}

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const addr = srv.address();
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return addr.port;
}

async function launch(port: number, dir: string): Promise<ChildProcess> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir];
  const child = spawn('redis-server', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let output = '';
  const keep = (b: Buffer) => {
    output = (output + b.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited = false;
  child.once('exit', () => {
    exited = true;
    live.delete(child);
  });
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!(await ping(port))) {
    if (exited || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`redis-server on port ${port} did not answer PING (exited: ${exited}):\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return child;
}

/** True when something on the port answers PING with +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(500, () => done(false));
    sock.once('error', () => done(false));
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.on('data', (b) => {
      reply += b.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** Deletes the test's keys on a shared server (SCAN + DEL, bounded). */
async function deleteKeys(url: string, prefix: string): Promise<void> {
  const c = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  c.on('error', () => undefined);
  try {
    let cursor = '0';
    for (let i = 0; i < 10_000; i++) {
      const [next, keys] = await c.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      if (keys.length > 0) await c.del(...keys);
      cursor = next;
      if (cursor === '0') break;
    }
  } finally {
    c.disconnect();
  }
}
