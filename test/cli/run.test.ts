/**
 * `hashgate run` as operators run it: the BUILT binary (`node bin/hashgate.js run …`; `npm test` builds
 * first) in front of a simulated pool, simulated miners over real TCP on 127.0.0.1, port 0 everywhere.
 * The listening port is scraped from the "listening for miners" log line; every wait is on a log line or
 * a counter, bounded in time; the child is killed in teardown if a test leaves it running.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync, renameSync } from 'node:fs';
import net from 'node:net';
import { basename, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import t from 'tap';
import { records } from '../helpers/sim.js';
import { main } from '../../src/cli/main.js';
import { CONFIG_OPTIONS } from '../../src/config/index.js';
import { type SimMiner, type SimMinerOptions, startSimMiner } from '../../src/sim/sim-miner.js';
import { type SimPool, startSimPool } from '../../src/sim/sim-pool.js';
import { BIN, spawnCli } from '../helpers/cli.js';

/** What these helpers need from a (sub)test. */
interface Tap {
  teardown(fn: () => unknown): void;
}
type LogLine = Record<string, unknown> & { msg?: string };

const SECRET = 'SECRET-hunter2';
/** Per wait; far below tap's per-file timeout. */
const WAIT_MS = 15_000;
const DEADLINE_MS = 3000;

/** The environment without HASHGATE_* (an unknown one would be a config problem). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HASHGATE_')));
}

interface Running {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly logs: LogLine[];
  stdout(): string;
  stderr(): string;
  /** Resolves with the first log line (already seen or still to come) that matches; rejects on timeout or exit. */
  waitLog(pred: (l: LogLine) => boolean, label: string, timeoutMs?: number): Promise<LogLine>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startRun(t: Tap, args: string[]): Running {
  // Any free port for the admin endpoint: tests run in parallel, and the default 127.0.0.1:9464 would collide.
  const child = spawn(process.execPath, [BIN, 'run', '--admin-listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: cleanEnv(),
  });
  let out = '';
  let err = '';
  let partial = '';
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
      for (const w of [...waiters]) w();
    });
  });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line.trim() === '') continue;
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: `(not JSON) ${line}` });
      }
    }
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  t.teardown(async () => {
    if (exit === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const waitLog = (pred: (l: LogLine) => boolean, label: string, timeoutMs = WAIT_MS) =>
    new Promise<LogLine>((resolve, reject) => {
      const check = () => {
        const hit = logs.find(pred);
        if (hit !== undefined) {
          finish();
          resolve(hit);
        } else if (exit !== undefined) {
          finish();
          reject(new Error(`hashgate exited (${JSON.stringify(exit)}) before log "${label}"; stderr: ${err}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no log "${label}" within ${timeoutMs} ms; stdout so far:\n${out}\nstderr: ${err}`));
      }, timeoutMs);
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return { child, logs, stdout: () => out, stderr: () => err, waitLog, exited };
}

async function pool(t: Tap): Promise<SimPool> {
  const p = await startSimPool();
  t.teardown(() => p.close());
  return p;
}

async function miner(t: Tap, port: number, o: Partial<SimMinerOptions> = {}): Promise<SimMiner> {
  const m = await startSimMiner({ host: '127.0.0.1', port, user: 'site.rig1', password: 'x', sharesPerSecond: 20, ...o });
  t.teardown(() => m.close());
  return m;
}

/** Starts `hashgate run` on 127.0.0.1:0 in front of `p`; resolves with the scraped miner port. */
async function startProxy(t: Tap, p: SimPool, journal: string, extra: string[] = []): Promise<{ run: Running; port: number }> {
  const run = startRun(t, [
    '--listen',
    '127.0.0.1:0',
    '--pool',
    `stratum+tcp://site:${SECRET}@127.0.0.1:${p.port}`,
    '--journal',
    journal,
    '--shutdown-deadline-ms',
    String(DEADLINE_MS),
    ...extra,
  ]);
  const line = await run.waitLog((l) => l.msg === 'listening for miners', 'listening for miners');
  // The bound address, port 0 resolved: a failed check here fails the test with the log line.
  if (line.host !== '127.0.0.1' || typeof line.port !== 'number' || line.port === 0) {
    throw new Error(`"listening for miners" without the bound address: ${JSON.stringify(line)}`);
  }
  return { run, port: line.port as number };
}

async function audit(...files: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await main(['audit', ...files], { stdin: new PassThrough(), stdout: out, stderr: err });
  return { code, stdout, stderr };
}

/** Sends mining.subscribe on a fresh connection; resolves true if any answer line arrives before the socket closes. */
function servedNewConnection(port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(true); // still open and silent is not "refused"; a served connection answers well within this
    }, timeoutMs);
    let answered = false;
    s.on('connect', () => s.write('{"id":1,"method":"mining.subscribe","params":[]}\n'));
    s.on('data', () => {
      answered = true;
    });
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(answered);
    });
  });
}

t.test('hashgate run --help lists every option', async (t) => {
  const r = await spawnCli(['run', '--help']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /--config/);
  for (const o of CONFIG_OPTIONS) t.match(r.stdout, `--${o.flag}`, `--${o.flag} listed`);
});

t.test('bad config: exit 2, every problem listed, the pool password never printed', async (t) => {
  const dir = t.testdir({});
  const run = startRun(t, [
    '--listen',
    'nowhere',
    '--pool',
    `stratum+tcp://site:${SECRET}@127.0.0.1`,
    '--pool',
    `stratum+ssl://site:${SECRET}@127.0.0.1:3333`,
    '--max-line-bytes',
    '5',
    '--log-level',
    'loud',
    '--journal',
    join(dir, 'journal.jsonl'),
  ]);
  const { code } = await run.exited;
  t.equal(code, 2, 'exit code 2 (bad usage or input)');
  const err = run.stderr();
  t.match(err, /HG_ERR_CONFIG/);
  t.match(err, /invalid configuration \(5 problems\)/);
  for (const path of ['listen[0]', 'pools[0]', 'pools[1]', 'limits.maxLineBytes', 'log.level'])
    t.match(err, `  ${path}`, `${path} reported`);
  t.notMatch(run.stdout() + err, SECRET, 'the password is in neither stdout nor stderr');
  t.notOk(existsSync(join(dir, 'journal.jsonl')), 'nothing was started: no journal');
});

t.test('SIGTERM: stops accepting, miners told to reconnect, journal flushed and clean, exit 0 within the deadline', async (t) => {
  const p = await pool(t);
  const journal = join(t.testdir({}), 'journal.jsonl');
  const { run, port } = await startProxy(t, p, journal);
  const miners = [await miner(t, port, { user: 'site.rig1' }), await miner(t, port, { user: 'site.rig2', versionRolling: true })];
  for (const m of miners) await m.waitFor(() => m.stats.accepted >= 3, WAIT_MS, `${m.options.user}: 3 accepted`);
  const reconnectRequested = miners.map((m) => new Promise<void>((resolve) => m.events.once('reconnectRequested', () => resolve())));

  const sent = Date.now();
  run.child.kill('SIGTERM');
  await run.waitLog((l) => l.msg === 'stopping' && l.signal === 'SIGTERM', 'stopping');
  t.notOk(await servedNewConnection(port), 'a new miner connection gets no service once stopping');
  const { code, signal } = await run.exited;
  const took = Date.now() - sent;
  t.equal(code, 0, 'exit 0');
  t.equal(signal, null, 'exited by itself, not killed by the signal');
  t.ok(took < DEADLINE_MS + 5000, `exited within the deadline plus start-up slack (${took} ms)`);
  await t.resolves(Promise.all(reconnectRequested), 'every miner got client.reconnect');
  t.ok(
    run.logs.some((l) => l.msg === 'stopped'),
    'the daemon logged "stopped"',
  );

  const recs = records(journal);
  t.equal(recs[0]?.t, 'hdr', 'journal starts with a header');
  const shares = recs.filter((r) => r.t === 'share');
  const minerAccepted = miners.reduce((n, m) => n + m.stats.accepted, 0);
  t.ok(shares.length >= minerAccepted, `every accepted share is in the journal (${shares.length} >= ${minerAccepted})`);
  t.equal(shares.filter((r) => r.pv === 'accepted').length, p.stats.accepted, 'pool verdicts journaled');
  const a = await audit(journal);
  t.equal(a.code, 0, a.code === 0 ? 'hashgate audit exits 0' : `hashgate audit: ${a.stdout}${a.stderr}`);
  t.notMatch(run.stdout() + run.stderr(), SECRET, 'the pool password never reached the logs');
});

t.test('SIGHUP: journal reopened after a rename, sessions kept, both files audit clean', async (t) => {
  const p = await pool(t);
  const dir = t.testdir({});
  const journal = join(dir, 'journal.jsonl');
  const rotated = join(dir, 'journal.jsonl.1');
  const { run, port } = await startProxy(t, p, journal);
  const m = await miner(t, port);
  await m.waitFor(() => m.stats.accepted >= 3, WAIT_MS, '3 accepted before SIGHUP');
  const poolConnections = p.stats.connections;

  renameSync(journal, rotated);
  run.child.kill('SIGHUP');
  await run.waitLog((l) => l.msg === 'reloaded: journal reopened', 'reloaded');
  const before = m.stats.accepted;
  await m.waitFor(() => m.stats.accepted >= before + 3, WAIT_MS, '3 more accepted after SIGHUP');
  t.equal(m.stats.connects, 1, 'the miner never reconnected');
  t.equal(m.stats.disconnects, 0, 'the miner was not dropped');
  t.equal(p.stats.connections, poolConnections, 'no new pool connection');
  t.ok(existsSync(journal), 'a new journal file was opened at the configured path');

  run.child.kill('SIGTERM');
  const { code } = await run.exited;
  t.equal(code, 0, 'exit 0 after SIGTERM');

  const first = records(rotated);
  const second = records(journal);
  t.equal(first[0]?.t, 'hdr');
  t.equal(second[0]?.t, 'hdr', 'the new file starts with a hdr record');
  t.ok(
    second.some((r) => r.t === 'share'),
    'shares after the SIGHUP went to the new file',
  );
  const total = first.concat(second).filter((r) => r.t === 'share').length;
  t.ok(total >= m.stats.accepted, `all shares journaled across both files (${total} >= ${m.stats.accepted})`);
  for (const f of [rotated, journal]) {
    const a = await audit(f);
    t.equal(a.code, 0, a.code === 0 ? `${basename(f)} audits clean alone` : `${f}: ${a.stdout}${a.stderr}`);
  }
  const both = await audit(rotated, journal);
  t.equal(both.code, 0, both.code === 0 ? 'the renamed then the new file audit clean together' : `${both.stdout}${both.stderr}`);
});

t.test('SIGTERM: a miner that never closes its side does not hold shutdown past the deadline, exit 0', async (t) => {
  const p = await pool(t);
  const journal = join(t.testdir({}), 'journal.jsonl');
  const { run, port } = await startProxy(t, p, journal);
  // allowHalfOpen: the client ignores the proxy's FIN and keeps its side open, as a hung rig would.
  const stuck = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
  t.teardown(() => stuck.destroy());
  stuck.on('error', () => {});
  await new Promise<void>((resolve) => stuck.once('connect', () => resolve()));
  let received = '';
  stuck.on('data', (c: Buffer) => {
    const first = !received.includes('client.reconnect');
    received += c.toString();
    // A hung rig does not honour client.reconnect and keeps talking: the proxy must neither answer it nor drop
    // the connection for it (it used to answer after end(), and the write after end destroyed the socket).
    if (first && received.includes('client.reconnect')) stuck.write('{"id":2,"method":"mining.subscribe","params":["stuck/1.0"]}\n');
  });
  // SIGTERM goes out once the upstream is connected, usually with this subscribe still at the pool: its answer
  // arrives after the proxy has ended its side, and must not close the connection either.
  stuck.write('{"id":1,"method":"mining.subscribe","params":["stuck/1.0"]}\n');
  await run.waitLog((l) => l.msg === 'pool connected', 'upstream for the stuck miner');
  const sent = Date.now();
  run.child.kill('SIGTERM');
  const { code } = await run.exited;
  const took = Date.now() - sent;
  t.equal(code, 0, 'exit 0');
  // The proxy keeps its side until the deadline for a miner that keeps its own open, then forces it closed.
  t.ok(took >= DEADLINE_MS - 200, `waited for the deadline (${took} ms)`);
  t.ok(took < DEADLINE_MS + 5000, `but not much longer (${took} ms)`);
  t.match(received, /client\.reconnect/, 'the miner was told to reconnect before being closed');
  const a = await audit(journal);
  t.equal(a.code, 0, a.code === 0 ? 'the journal audits clean' : `hashgate audit: ${a.stdout}${a.stderr}`);
});
