/**
 * Each command loads only what it uses (issue 10; DESIGN.md: "the daemon never loads" the demo, the
 * simulators or the benchmarks). The BUILT binary (`npm test` builds first) runs under a test-only
 * preload, fixtures/record-loads.mjs, whose loader hook (module.register) appends the URL of every ES
 * module to a file before the module runs. `run` is checked once it logs "listening for miners" and
 * again after SIGTERM; the other cases run to their exit. Loopback only, port 0; every wait is bounded.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t from 'tap';
import { BIN } from '../helpers/cli.js';

const WAIT_MS = 15_000;
const PRELOAD = fileURLToPath(new URL('./fixtures/record-loads.mjs', import.meta.url));
const DIST = new URL('../../dist/', import.meta.url).href;

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

interface Tap {
  teardown(fn: () => unknown): void;
}

/** The dist/ modules a recorded process loaded, as paths under dist/ ("cli/main.js"). */
function loadedDist(file: string): string[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith(DIST))
    .map((u) => u.slice(DIST.length));
}

/** Modules under these dist/ folders (or these files) are someone else's. */
function offenders(loaded: readonly string[], forbidden: readonly string[]): string[] {
  return loaded.filter((p) => forbidden.some((f) => (f.endsWith('/') ? p.startsWith(f) : p === f)));
}

function spawnRecorded(t: Tap, argv: string[], out: string, stdin = ''): Child {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HASHGATE_')));
  const preload = `${pathToFileURL(PRELOAD).href}?out=${encodeURIComponent(out)}`;
  const child = spawn(process.execPath, ['--import', preload, BIN, ...argv], { stdio: ['pipe', 'pipe', 'pipe'], env });
  child.stdin.end(stdin);
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Resolves at the child's exit with its code and output; rejects after WAIT_MS. */
function exited(child: Child): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: string) => (stdout += c));
  child.stderr.on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no exit within ${WAIT_MS} ms; stderr: ${stderr}`)), WAIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resolves with the first stdout line containing `text`; rejects on exit or after WAIT_MS. */
function line(child: Child, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const done = (f: () => void) => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
      f();
    };
    const onData = (c: string) => {
      buf += c;
      const hit = buf.split('\n').find((l) => l.includes(text));
      if (hit !== undefined) done(() => resolve(hit));
    };
    const onExit = (code: number | null) => done(() => reject(new Error(`exited (${code}) before "${text}"; stdout: ${buf}`)));
    const timer = setTimeout(() => done(() => reject(new Error(`no "${text}" within ${WAIT_MS} ms; stdout: ${buf}`))), WAIT_MS);
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

/** A loopback port nobody listens on (bound, then released): a pool address that is never dialled. */
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** What no command but its own may load; `run` is held to all of it. */
const NOT_THE_DAEMON = [
  'demo/',
  'sim/',
  'bench/',
  'audit/',
  'cli/commands/demo.js',
  'cli/commands/audit.js',
  'cli/commands/check-share.js',
];

t.test('`hashgate run` loads neither the demo, the simulators, the bench nor other commands', async (t) => {
  const out = join(t.testdir({}), 'loads.txt');
  const pool = await unusedPort();
  const child = spawnRecorded(
    t,
    ['run', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--pool', `stratum+tcp://127.0.0.1:${pool}`],
    out,
  );
  const done = exited(child);
  await line(child, '"msg":"listening for miners"');
  const atListen = loadedDist(out);
  // The hook works: the daemon itself is in the list.
  t.ok(atListen.includes('cli/main.js'), 'cli/main.js recorded');
  t.ok(atListen.includes('cli/commands/run.js'), 'the run command recorded');
  t.ok(atListen.includes('daemon/daemon.js'), 'the daemon recorded');
  t.same(offenders(atListen, NOT_THE_DAEMON), [], 'when listening for miners: none of the demo, sim, bench, audit or other commands');
  t.same(offenders(atListen, ['cli/commands/plan.js', 'cli/commands/config.js']), [], 'nor plan or config check');
  // The throttle is off by default: its Redis adapter and ioredis (about 28 MiB of RSS) stay unloaded.
  t.same(offenders(atListen, ['throttle/redis.js', 'throttle/redis-signals.js']), [], 'nor the Redis adapter (throttle off)');
  t.notOk(readFileSync(out, 'utf8').includes('/node_modules/ioredis/'), 'nor ioredis');
  child.kill('SIGTERM');
  const r = await done;
  t.equal(r.code, 0, `exit 0 after SIGTERM; stderr: ${r.stderr}`);
  t.same(offenders(loadedDist(out), NOT_THE_DAEMON), [], 'nor on the way out');
});

t.test('other commands load only their own module', async (t) => {
  const dir = t.testdir({});
  const cases: { readonly argv: string[]; readonly mine: string; readonly forbidden: readonly string[]; readonly code: number }[] = [
    // A usage error loads no command (the run builder reads its flag table from config/, nothing more).
    { argv: ['run', '--bogus'], mine: '', forbidden: ['cli/commands/', 'daemon/', 'admin/', 'session/'], code: 2 },
    { argv: ['--help'], mine: '', forbidden: ['cli/commands/', 'daemon/', 'config/'], code: 0 },
    // Help of the demo needs two constants from demo/fleet.js, not the demo.
    { argv: ['demo', '--help'], mine: '', forbidden: ['cli/commands/', 'sim/', 'demo/run-demo.js', 'daemon/'], code: 0 },
    { argv: ['check-share'], mine: 'cli/commands/check-share.js', forbidden: ['daemon/', 'demo/', 'sim/', 'bench/', 'audit/'], code: 2 },
  ];
  for (const [i, c] of cases.entries()) {
    const out = join(dir, `loads-${i}.txt`);
    const r = await exited(spawnRecorded(t, c.argv, out, '{}'));
    const name = c.argv.join(' ');
    t.equal(r.code, c.code, `${name}: exit ${c.code}; stderr: ${r.stderr.slice(0, 300)}`);
    const loaded = loadedDist(out);
    t.ok(loaded.includes('cli/main.js'), `${name}: cli/main.js recorded`);
    if (c.mine !== '') t.ok(loaded.includes(c.mine), `${name}: ${c.mine} recorded`);
    t.same(offenders(loaded, c.forbidden), [], `${name}: none of ${c.forbidden.join(', ')}`);
  }
});
