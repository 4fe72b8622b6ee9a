/**
 * Issue 9 regression fuzz: the BUILT daemon (`node bin/hashgate.js run`, as operators run it; `npm test`
 * builds first) behind a hostile pool link (src/sim/hostile.ts: a man in the middle relaying a simulated
 * pool, slipping deep / wide / odd JSON into every pool message and into answers to the daemon's own
 * requests), with honest hashing miners mining through it the whole time and hostile raw connections sending
 * the same kind of JSON in every field of every miner method, before and after a valid handshake.
 *
 * Holds the daemon to: it never exits, keeps answering /healthz, honest miners keep getting work and
 * accepted shares, no stack overflow / uncaught error / stack trace in its output; then SIGTERM exits 0 and
 * its journal audits clean. Being disconnected for hostile input is fine (hostile miners reconnect per
 * script). Every wait is on an event, a log line or a counter, bounded in time; nothing sleeps.
 *
 * Seeds: a fixed one and a random one, printed; HOSTILE_FUZZ_SEED=<n> replaces the random one to reproduce.
 * HOSTILE_FUZZ_LOG=<file> writes the daemon's whole output there.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import t from 'tap';
import { BIN, spawnCli } from '../helpers/cli.js';
import { classifyLine } from '../../src/protocol/json-rpc.js';
import { parsePoolMessage } from '../../src/protocol/pool.js';
import {
  buildLine,
  createRng,
  D1_LINE,
  HOSTILE_KINDS,
  type HostileLink,
  isHarmlessPoolTarget,
  type MinerScript,
  minerScripts,
  poolBaseParams,
  poolTargets,
  startHostileLink,
} from '../../src/sim/hostile.js';
import { type SimMiner, type SimMinerOptions, startSimMiner } from '../../src/sim/sim-miner.js';
import { startSimPool } from '../../src/sim/sim-pool.js';

const FIXED_SEED = 20240609;
const ENV_SEED = process.env.HOSTILE_FUZZ_SEED ? Number(process.env.HOSTILE_FUZZ_SEED) : Number.NaN;
const RANDOM_SEED = Number.isInteger(ENV_SEED) ? ENV_SEED >>> 0 : Math.floor(Math.random() * 2 ** 32);
/** Per wait; far below tap's per-file timeout. */
const WAIT_MS = 15_000;
/** --shutdown-deadline-ms */
const DEADLINE_MS = 3000;
/** One hostile connection, handshake and all. */
const SCRIPT_MS = 4000;
const HOSTILE_WORKERS = 4;
/** The hostile miners stop starting scripts after this long (they take ~2 s on an idle 2-core machine). */
const HOSTILE_PHASE_MS = 30_000;
const HONEST_UA = 'honest-sim/1.0';
/** Honest miners ask for this mask (hostile configures ask for ffffffff): how the pool link tells them apart. */
const HONEST_MASK = '1fffe000';
/**
 * Signs of a crash, or of an exception that only a last-resort guard caught, in the daemon's stdout or
 * stderr. Hostile input is the peers' fault: it may be logged at warn, never as the daemon's own error.
 */
const FORBIDDEN: readonly [string, RegExp][] = [
  ['RangeError', /RangeError/],
  ['Maximum call stack', /Maximum call stack/i],
  ['uncaught', /uncaught/i],
  ['stack trace', /^\s+at .+:\d+:\d+\)?$/m],
  ['stack trace in a log field', /\\n\s+at \S|"stack":/],
  ['connection fault caught by the guard', /HG_ERR_CONNECTION_FAULT/],
  ['error or fatal log line', /"level":("error"|"fatal"|50|60)\b/],
];

interface Tap {
  teardown(fn: () => unknown): void;
}
type LogLine = Record<string, unknown> & { msg?: string };
type Exit = { code: number | null; signal: NodeJS.Signals | null };

interface Running {
  readonly child: ChildProcessByStdio<null, Readable, Readable>;
  readonly exited: Promise<Exit>;
  exit(): Exit | undefined;
  output(): string;
  stderr(): string;
  waitLog(pred: (l: LogLine) => boolean, label: string): Promise<LogLine>;
}

/** `hashgate run` as a child process; killed in teardown if still running. */
function startRun(t: Tap, args: string[]): Running {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HASHGATE_')));
  const child = spawn(process.execPath, [BIN, 'run', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  let partial = '';
  const logs: LogLine[] = [];
  const waiters = new Set<() => void>();
  let exit: Exit | undefined;
  const exited = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
      for (const w of [...waiters]) w();
    }),
  );
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as LogLine);
      } catch {
        logs.push({ msg: `(not JSON) ${line}` });
      }
    }
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (chunk: string) => (err += chunk));
  t.teardown(async () => {
    if (exit === undefined) {
      child.kill('SIGKILL');
      await exited;
    }
  });
  const waitLog = (pred: (l: LogLine) => boolean, label: string) =>
    new Promise<LogLine>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        waiters.delete(check);
      };
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
        reject(new Error(`no log "${label}" within ${WAIT_MS} ms; stderr: ${err}`));
      }, WAIT_MS);
      waiters.add(check);
      check();
    });
  return { child, exited, exit: () => exit, output: () => out + err, stderr: () => err, waitLog };
}

/** Status of GET /healthz on the admin endpoint (0 when there is no answer within WAIT_MS). */
function healthz(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/healthz', timeout: WAIT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
  });
}

/** The last hostile lines sent by miners (the pool link keeps its own), for a report if the daemon dies. */
const sentRecently: string[] = [];
function noteSent(label: string): void {
  sentRecently.push(label);
  if (sentRecently.length > 16) sentRecently.shift();
}

type Outcome = 'done' | 'closed' | 'refused' | 'timeout';

/** The id of a line from the daemon, or undefined. JSON.parse is iterative in V8: safe whatever comes back. */
function idOf(line: string): unknown {
  try {
    const v = JSON.parse(line) as { id?: unknown } | null;
    return typeof v === 'object' && v !== null ? v.id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One hostile connection: the script's valid handshake (its answers awaited, bounded), its hostile lines, then
 * a mining.ping whose pong (or the daemon closing the connection) ends it. What comes back is read and dropped.
 */
function runScript(port: number, s: MinerScript, n: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    const endId = `end-${n}`;
    const awaiting = new Set<unknown>(s.awaitIds);
    let connected = false;
    let hostileSent = false;
    let buf = '';
    let settled = false;
    const finish = (o: Outcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      clearTimeout(handshake);
      sock.destroy();
      resolve(o);
    };
    const overall = setTimeout(() => finish('timeout'), SCRIPT_MS);
    let handshake: NodeJS.Timeout | undefined;
    const sendHostile = () => {
      if (hostileSent || settled) return;
      hostileSent = true;
      clearTimeout(handshake);
      for (const h of s.lines) {
        noteSent(`${s.label} | ${h.label}`);
        sock.write(`${h.line}\n`);
      }
      sock.write(`{"id":"${endId}","method":"mining.ping","params":[]}\n`);
    };
    sock.on('error', () => {});
    sock.on('close', () => finish(connected ? 'closed' : 'refused'));
    sock.on('connect', () => {
      connected = true;
      for (const line of s.prefix) sock.write(`${line}\n`);
      if (awaiting.size === 0) sendHostile();
      else handshake = setTimeout(sendHostile, SCRIPT_MS / 2); // a handshake answer that never comes
    });
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const id = idOf(buf.slice(0, i));
        buf = buf.slice(i + 1);
        if (id === endId) return finish('done');
        if (awaiting.delete(id) && awaiting.size === 0) sendHostile();
      }
      if (buf.length > 1 << 20) buf = ''; // not a line the daemon should send; dropped, not parsed
    });
  });
}

/** Runs the scripts over HOSTILE_WORKERS connections at a time; stops once the daemon is gone or after HOSTILE_PHASE_MS. */
async function runHostileMiners(port: number, scripts: readonly MinerScript[], dead: () => boolean): Promise<Record<Outcome, number>> {
  const outcomes: Record<Outcome, number> = { done: 0, closed: 0, refused: 0, timeout: 0 };
  const until = Date.now() + HOSTILE_PHASE_MS;
  let next = 0;
  const worker = async () => {
    while (next < scripts.length && !dead() && Date.now() < until) {
      const n = next++;
      outcomes[await runScript(port, scripts[n]!, n)]++;
    }
  };
  await Promise.all(Array.from({ length: HOSTILE_WORKERS }, worker));
  return outcomes;
}

function isHonest(method: string, params: readonly unknown[]): boolean {
  if (method === 'mining.subscribe') return params[0] === HONEST_UA;
  const opts = params[1] as Record<string, unknown> | null | undefined;
  return method === 'mining.configure' && typeof opts === 'object' && opts !== null && opts['version-rolling.mask'] === HONEST_MASK;
}

async function honestMiner(t: Tap, port: number, o: Partial<SimMinerOptions>): Promise<SimMiner> {
  const m = await startSimMiner({
    host: '127.0.0.1',
    port,
    user: 'honest.rig',
    password: 'x',
    userAgent: HONEST_UA,
    sharesPerSecond: 10,
    autoReconnect: true,
    reconnectAttempts: 20,
    lifetimeMs: 120_000,
    ...o,
  });
  t.teardown(() => m.close());
  return m;
}

function report(run: Running, link: HostileLink): string {
  const exit = run.exit();
  return [
    exit === undefined ? 'hashgate still running' : `hashgate exited: ${JSON.stringify(exit)}`,
    `last hostile miner lines: \n  ${sentRecently.join('\n  ')}`,
    `last hostile pool lines: \n  ${link.recent.slice(-16).join('\n  ')}`,
    `stderr (first 2000 chars): ${run.stderr().slice(0, 2000)}`,
  ].join('\n');
}

t.test('what the pool link sends where honest miners listen never changes their work (checked with the proxy parser)', async (t) => {
  // The fuzz below asserts honest miners keep mining; that is only fair if the link's "harmless" lines are
  // refused or are re-sends of the real job / difficulty. Without a real base (realBase false) none may be a
  // valid state-changing pool message at all.
  const rng = createRng(FIXED_SEED);
  const changing = new Set(['notify', 'set-difficulty', 'set-extranonce', 'set-version-mask', 'reconnect']);
  const leaks: string[] = [];
  let checked = 0;
  for (let round = 0; round < 5; round++) {
    for (const target of poolTargets()) {
      for (const kind of HOSTILE_KINDS) {
        if (!isHarmlessPoolTarget(target, kind, false)) continue;
        for (const id of target.method === 'response' ? ['1000000000'] : ['null', '"hx1"']) {
          const h = buildLine(rng, target, kind, 16_000, id, poolBaseParams(target.method, undefined, undefined));
          const parsed = parsePoolMessage(classifyLine(h.line));
          checked++;
          if (parsed.ok && changing.has(parsed.msg.type)) leaks.push(`${h.label}: ${h.line.slice(0, 120)}`);
        }
      }
    }
  }
  t.same(leaks, [], `${checked} lines: none is a valid ${[...changing].join(' / ')}`);
});

t.test('deep and wide JSON from both sides: the daemon lives, honest miners keep mining, exit 0, journal audits clean', async (t) => {
  t.comment(`seeds: fixed ${FIXED_SEED}, random ${RANDOM_SEED} (rerun with HOSTILE_FUZZ_SEED=${RANDOM_SEED})`);
  const pool = await startSimPool({ jobIntervalMs: 500, lifetimeMs: 120_000 });
  t.teardown(() => pool.close());
  const link = await startHostileLink({ pool, seed: RANDOM_SEED, isHonest });
  t.teardown(() => link.close());
  const journal = join(t.testdir({}), 'journal.jsonl');
  const run = startRun(t, [
    '--listen',
    '127.0.0.1:0',
    '--admin-listen',
    '127.0.0.1:0',
    '--pool',
    `stratum+tcp://127.0.0.1:${link.port}`,
    '--journal',
    journal,
    '--shutdown-deadline-ms',
    String(DEADLINE_MS),
    '--pool-request-timeout-ms',
    '1000',
    '--authorize-timeout-ms',
    '2000',
    '--backoff-base-ms',
    '50',
    '--backoff-max-ms',
    '500',
  ]);
  const listening = await run.waitLog((l) => l.msg === 'listening for miners', 'listening for miners');
  const admin = await run.waitLog((l) => l.msg === 'admin endpoint listening', 'admin endpoint listening');
  const port = listening.port as number;
  const adminPort = Number(/:(\d+)$/.exec(String(admin.address))?.[1]);
  t.ok(port > 0 && adminPort > 0, `miners on ${port}, admin on ${adminPort}`);

  /** Resolves true when `p` does; false (with a failure saying why) when it rejects or the daemon exits first. */
  const holds = async (p: Promise<unknown>, what: string): Promise<boolean> => {
    const died = run.exited.then((e) => new Error(`the daemon exited (${JSON.stringify(e)})`));
    try {
      const r = await Promise.race([p.then(() => null), died]);
      if (r === null) return true;
      t.fail(`${what}: ${r.message}\n${report(run, link)}`);
    } catch (e) {
      t.fail(`${what}: ${(e as Error).message}\n${report(run, link)}`);
    }
    return false;
  };

  const honest = [
    await honestMiner(t, port, { user: 'honest.rig1', versionRolling: true, requestMask: HONEST_MASK }),
    await honestMiner(t, port, { user: 'honest.rig2' }),
    await honestMiner(t, port, { user: 'honest.rig3', extranonceSubscribe: true, suggestDifficulty: 2 ** -24 }),
  ];
  const up = Promise.all(honest.map((m) => m.waitFor(() => m.stats.accepted >= 3, WAIT_MS, `${m.options.user}: 3 accepted`)));
  if (!(await holds(up, 'honest miners before the attack'))) return;
  t.equal(honest[0]!.stats.versionMask, HONEST_MASK, 'rig1 rolls version bits');

  // ---- the hostile phase: pool side armed, then every hostile miner script.
  link.arm();
  const atArm = honest.map((m) => ({ accepted: m.stats.accepted, jobs: m.stats.jobs }));
  const d1: MinerScript = {
    label: 'issue 9 D1',
    prefix: [],
    awaitIds: [],
    lines: [{ line: D1_LINE, label: 'D1 as reported', kind: 'deep-array' }],
  };
  const scripts = [d1, ...minerScripts(FIXED_SEED), ...minerScripts(RANDOM_SEED)];
  const started = Date.now();
  const outcomes = await runHostileMiners(port, scripts, () => run.exit() !== undefined);
  t.comment(`${scripts.length} hostile miner scripts in ${Date.now() - started} ms: ${JSON.stringify(outcomes)}`);
  if (run.exit() !== undefined) {
    t.fail(`the daemon died during the hostile phase\n${report(run, link)}`);
    return;
  }
  t.equal(outcomes.refused, 0, 'every hostile connection was accepted');
  const ran = Object.values(outcomes).reduce((a, b) => a + b, 0);
  t.equal(ran, scripts.length, `every hostile script ran within ${HOSTILE_PHASE_MS} ms`);

  // The pool side must really have hit the honest sessions too (not only the hostile ones).
  const exercised = link.waitFor(
    () => link.stats.replacedHonestSubmits >= 2 && link.stats.injectedHonest >= 10,
    WAIT_MS,
    'hostile answers and lines on honest links',
  );
  if (!(await holds(exercised, 'the pool side attack'))) return;
  const atEnd = honest.map((m) => ({ accepted: m.stats.accepted, jobs: m.stats.jobs }));
  const going = Promise.all(
    honest.map((m, i) =>
      m.waitFor(
        () => m.stats.accepted >= atEnd[i]!.accepted + 3 && m.stats.jobs >= atEnd[i]!.jobs + 2,
        WAIT_MS,
        `${m.options.user}: 3 more accepted and 2 more jobs after the hostile miners`,
      ),
    ),
  );
  if (!(await holds(going, 'honest miners after the attack'))) return;

  const s = link.stats;
  t.comment(
    `pool link: ${s.links} links ${JSON.stringify(s.roles)}, ${s.injected} lines injected (${s.injectedHonest} on honest links), ` +
      `${s.replaced} answers replaced ${JSON.stringify(s.replacedByMethod)}, ${s.heldBack} requests held back, ${s.proxyAnswers} answers from the daemon`,
  );
  for (const method of ['mining.submit', 'mining.configure', 'mining.subscribe', 'mining.authorize']) {
    t.ok((s.replacedByMethod[method] ?? 0) >= 1, `answers to ${method} were replaced`);
  }
  for (const method of ['mining.notify', 'mining.set_difficulty', 'client.reconnect', 'client.show_message', 'response']) {
    t.ok(
      Object.keys(s.injectedByTarget).some((k) => k.startsWith(`${method} `)),
      `${method} lines were injected`,
    );
  }
  t.ok(s.proxyAnswers >= 1, 'the daemon answered the pool link’s own requests (get_version, ping)');

  honest.forEach((m, i) => {
    const st = m.stats;
    t.ok(
      st.accepted - atArm[i]!.accepted >= 5,
      `${m.options.user}: ${st.accepted - atArm[i]!.accepted} shares accepted since the attack began`,
    );
    t.ok(st.jobs > atArm[i]!.jobs, `${m.options.user}: still getting notifies (${st.jobs - atArm[i]!.jobs} since)`);
    t.comment(
      `${m.options.user}: connects ${st.connects}, disconnects ${st.disconnects}, accepted ${st.accepted}, rejected ${st.rejected} ` +
        `${JSON.stringify(st.rejectedByCode)}, timeouts ${st.timeouts}, garbage ${st.garbage}`,
    );
  });

  t.equal(await healthz(adminPort), 200, '/healthz answers 200');
  t.equal(run.exit(), undefined, 'the daemon is still running');

  run.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    run.exited,
    new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), DEADLINE_MS + WAIT_MS))),
  ]);
  clearTimeout(timer);
  t.same(exit, { code: 0, signal: null }, 'SIGTERM: exit 0 (a hung daemon is killed in teardown)');
  const output = run.output();
  if (process.env.HOSTILE_FUZZ_LOG) writeFileSync(process.env.HOSTILE_FUZZ_LOG, output);
  for (const [name, re] of FORBIDDEN) {
    const m = re.exec(output);
    t.notOk(
      m,
      m ? `"${name}" in the daemon's output: …${output.slice(Math.max(0, m.index - 300), m.index + 300)}…` : `no ${name} in its output`,
    );
  }
  const audit = await spawnCli(['audit', journal]);
  t.equal(audit.code, 0, audit.code === 0 ? 'hashgate audit exits 0 on its journal' : `hashgate audit: ${audit.stdout}${audit.stderr}`);
});
