/**
 * Memory at start (issue 10): the resident set of the built `hashgate run`
 * with no miner connected, beside a bare `node -e` process measured in the
 * same run (the floor any Node program pays).
 *
 * The daemon is the real binary (`node bin/hashgate.js run`), so the figure
 * includes everything the CLI loads for `run` and nothing else: listeners
 * and the admin endpoint on 127.0.0.1 port 0, a pool address on a loopback
 * port nobody listens on (no miner connects, so it is never dialled), no
 * journal. It settles on events, not on a clock: after "listening for
 * miners" and "admin endpoint listening", each sample follows a batch of
 * /healthz round trips, and VmRSS of both processes is read from
 * /proc/<pid>/status (Linux only; elsewhere the bench says so and skips).
 */

import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { BenchRow } from './harness.js';

export interface StartMemoryOptions {
  readonly quick?: boolean;
  readonly say: (line: string) => void;
}

const BIN = fileURLToPath(new URL('../../bin/hashgate.js', import.meta.url));
/** Per wait: start-up, one log line, one request, an exit. */
const WAIT_MS = 15_000;
/** The baseline child never outlives this, whatever happens to the bench. */
const BASELINE_LIFETIME_MS = 120_000;
const MIB = 2 ** 20;

type Child = ChildProcessByStdio<null, Readable, Readable>;

/** VmRSS (or another Vm* line) of a process, in bytes; undefined when /proc has no such line. */
export async function readVm(pid: number, field: 'VmRSS' | 'VmHWM'): Promise<number | undefined> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status);
  return m === null ? undefined : Number(m[1]) * 1024;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** A loopback port with nothing listening on it (bound, then released). */
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

/** The environment without HASHGATE_* (the daemon's config must be exactly the flags given). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HASHGATE_')));
}

/** Resolves with the first stdout line that satisfies `pick`; rejects on exit or after WAIT_MS. */
function waitLine<T>(child: Child, what: string, pick: (line: string) => T | undefined, stderr: () => string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let partial = '';
    const done = () => {
      clearTimeout(timer);
      child.stdout.off('data', onData);
      child.off('exit', onExit);
    };
    const onData = (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      for (const line of lines) {
        const hit = pick(line);
        if (hit !== undefined) {
          done();
          resolve(hit);
          return;
        }
      }
    };
    const onExit = (code: number | null) => {
      done();
      reject(new Error(`${what}: the process exited (${code}) first; stderr: ${stderr().slice(0, 2000)}`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${what}: not within ${WAIT_MS} ms; stderr: ${stderr().slice(0, 2000)}`));
    }, WAIT_MS);
    child.stdout.on('data', onData);
    child.once('exit', onExit);
  });
}

/** The value of a pino JSON line with this msg, if it is one. */
function logLine(msg: string): (line: string) => Record<string, unknown> | undefined {
  return (line) => {
    if (!line.startsWith('{')) return undefined;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      return o.msg === msg ? o : undefined;
    } catch {
      return undefined;
    }
  };
}

function start(args: readonly string[]): { child: Child; stderr: () => string } {
  const child = spawn(process.execPath, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv() });
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  let err = '';
  child.stderr.on('data', (c: string) => {
    if (err.length < 10_000) err += c;
  });
  child.on('error', () => {}); // a spawn failure also ends in 'exit', which every wait handles
  return { child, stderr: () => err };
}

/** SIGTERM, then SIGKILL if the process is still there after WAIT_MS. */
async function stop(child: Child): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), WAIT_MS)));
  if ((await Promise.race([exited, late])) === 'late') {
    child.kill('SIGKILL');
    await exited;
  }
  clearTimeout(timer);
}

/** One GET /healthz on a fresh connection; resolves with the status code. */
function healthz(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: '/healthz', agent: false, timeout: WAIT_MS }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET /healthz: no answer within ${WAIT_MS} ms`)));
    req.on('error', reject);
  });
}

interface StartSample {
  /** Medians over the samples of one start, bytes. */
  readonly rss: number;
  readonly bareRss: number;
  readonly peak: number | undefined;
  /** Spawn → "listening for miners" read from its stdout; spawn → "ready" for bare node. */
  readonly startMs: number;
  readonly bareStartMs: number;
}

/** One fresh bare node and one fresh `hashgate run`, measured side by side, then both stopped. */
async function measureStart(samples: number, tripsPerSample: number): Promise<StartSample> {
  const t0 = performance.now();
  const bare = start(['-e', `setTimeout(() => {}, ${BASELINE_LIFETIME_MS}); process.stdout.write('ready\\n');`]);
  let daemon: ReturnType<typeof start> | undefined;
  try {
    await waitLine(bare.child, 'node -e: "ready"', (l) => (l === 'ready' ? true : undefined), bare.stderr);
    const bareStartMs = performance.now() - t0;
    const pool = await unusedPort();
    const t1 = performance.now();
    daemon = start([
      BIN,
      'run',
      '--listen',
      '127.0.0.1:0',
      '--admin-listen',
      '127.0.0.1:0',
      '--pool',
      `stratum+tcp://127.0.0.1:${pool}`,
      '--log-level',
      'info',
    ]);
    const d = daemon;
    const [admin, startMs] = await Promise.all([
      waitLine(d.child, 'hashgate run: "admin endpoint listening"', logLine('admin endpoint listening'), d.stderr),
      waitLine(d.child, 'hashgate run: "listening for miners"', logLine('listening for miners'), d.stderr).then(
        () => performance.now() - t1,
      ),
    ]);
    const address = String(admin.address);
    const colon = address.lastIndexOf(':');
    const host = address.slice(0, colon);
    const port = Number(address.slice(colon + 1));
    const rss: number[] = [];
    const bareRss: number[] = [];
    for (let i = 0; i < samples; i++) {
      for (let j = 0; j < tripsPerSample; j++) {
        const status = await healthz(host, port);
        if (status !== 200) throw new Error(`GET /healthz answered ${status}`);
      }
      const [h, b] = await Promise.all([readVm(d.child.pid!, 'VmRSS'), readVm(bare.child.pid!, 'VmRSS')]);
      if (h === undefined || b === undefined) throw new Error('no VmRSS line in /proc/<pid>/status');
      rss.push(h);
      bareRss.push(b);
    }
    const peak = await readVm(d.child.pid!, 'VmHWM');
    return { rss: median(rss), bareRss: median(bareRss), peak, startMs, bareStartMs };
  } finally {
    await Promise.all([stop(bare.child), daemon === undefined ? undefined : stop(daemon.child)]);
  }
}

export async function benchStartMemory(options: StartMemoryOptions): Promise<BenchRow[]> {
  const { say } = options;
  if (process.platform !== 'linux' || !existsSync('/proc/self/status')) {
    say('memory-at-start bench skipped: reads VmRSS from /proc/<pid>/status (Linux only)\n');
    return [];
  }
  const starts = options.quick === true ? 1 : 5;
  const samples = options.quick === true ? 3 : 5;
  const tripsPerSample = options.quick === true ? 10 : 20;
  say(
    `memory-at-start bench: \`hashgate run\` with no miner vs bare \`node -e\`, ${starts} fresh start${starts === 1 ? '' : 's'} × ${samples} samples, each after ${tripsPerSample} /healthz round trips…`,
  );
  const runs: StartSample[] = [];
  for (let i = 0; i < starts; i++) runs.push(await measureStart(samples, tripsPerSample));
  const mib = (x: number) => (x / MIB).toFixed(1);
  const rss = median(runs.map((r) => r.rss));
  const bareRss = median(runs.map((r) => r.bareRss));
  const peaks = runs.map((r) => r.peak).filter((x): x is number => x !== undefined);
  return [
    {
      name: '`hashgate run` RSS at start, no miner (median of starts)',
      value: rss / MIB,
      unit: 'MiB',
      baseline: { name: 'bare node -e', value: bareRss / MIB },
      notes: [
        `per start: ${runs.map((r) => mib(r.rss)).join(', ')} MiB${peaks.length === 0 ? '' : `; peak (VmHWM) up to ${mib(Math.max(...peaks))} MiB`}; bare node ${runs.map((r) => mib(r.bareRss)).join(', ')} MiB`,
        `${mib(rss - bareRss)} MiB above bare node (listeners and admin on 127.0.0.1:0, no journal, throttle off)`,
      ],
    },
    {
      name: '`hashgate run` spawn → "listening for miners" (median of starts)',
      value: median(runs.map((r) => r.startMs)),
      unit: 'ms',
      baseline: { name: 'bare node -e spawn → first line', value: median(runs.map((r) => r.bareStartMs)) },
      notes: [
        `per start: ${runs.map((r) => Math.round(r.startMs)).join(', ')} ms; bare node ${runs.map((r) => Math.round(r.bareStartMs)).join(', ')} ms`,
      ],
    },
  ];
}
