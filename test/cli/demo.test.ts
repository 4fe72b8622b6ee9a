/**
 * `hashgate demo` as a new user runs it: the BUILT binary (`npm test` builds first), a short run, its
 * summary checked against what really happened (hashgate's journal, re-audited by `hashgate audit`).
 * One run with the in-process queue signal (--json), one through a private redis-server (event lines).
 * Plus the pure parts the summary rests on: the script covers every phase, and the verification does
 * flag a rig that keeps submitting while curtailed.
 */
import { existsSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import t from 'tap';
import { verifyCurtails, type CommandEvent } from '../../src/demo/observe.js';
import { buildDepthScript, DEMO_PHASES } from '../../src/demo/script.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { redisClient, startRedis } from '../helpers/redis.js';

const DURATION_S = '8';

interface Summary {
  endedBy: string;
  rigs: number;
  signals: string;
  shares: { checked: number; accepted: number; rejected: number; poolAccepted: number; poolCounted: number };
  events: { curtail: number; resume: number; setPower: number };
  reaction: { samples: number; p50Ms: number | null; maxMs: number | null };
  verification: { curtailedRigs: number; stopped: number; stillHashing: string[]; ok: boolean; resumes: number; resumedWithShares: number };
  audit: { verdict: string; shares: number; mismatches: number };
  journal: string;
  log: string;
}

interface Tap {
  teardown(fn: () => unknown): void;
}

/** Removes the demo's temporary directory (journal + log) at teardown. */
function cleanup(t: Tap, journal: string): void {
  t.teardown(() => rmSync(dirname(journal), { recursive: true, force: true }));
}

t.test('demo --json: the summary matches the journal, which audits clean', async (t) => {
  const r = await spawnCli(['demo', '--duration', DURATION_S, '--json']);
  t.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary;
  cleanup(t, s.journal);
  t.equal(s.endedBy, 'duration');
  t.equal(s.rigs, 12);
  t.equal(s.signals, 'in-process');
  t.ok(s.shares.checked > 0, 'hashgate checked shares');
  t.ok(s.shares.accepted > 0);
  t.ok(s.shares.poolAccepted > 0, 'the pool accepted forwarded shares');
  t.ok(s.shares.poolCounted >= s.shares.poolAccepted, "the sim pool's own count covers what hashgate saw accepted");
  t.ok(s.events.curtail >= 1, 'at least one curtail');
  t.ok(s.events.resume >= 1, 'at least one resume');
  t.ok(s.reaction.samples >= 1 && s.reaction.p50Ms !== null && s.reaction.maxMs !== null, 'reaction times measured');
  t.ok(s.verification.stopped >= 1, "curtailed rigs' share rate reached zero");
  t.same(s.verification.stillHashing, [], 'no curtailed rig kept hashing');
  t.ok(s.verification.ok);
  t.equal(s.audit.verdict, 'clean');
  t.equal(s.audit.shares, s.shares.checked, 'the in-process audit read every share the summary counted');
  t.ok(existsSync(s.journal), 'the journal is kept');
  t.ok(existsSync(s.log), 'the daemon log is kept');
  // Progress goes to stderr with --json: one line per event (stderr is not a TTY here).
  t.match(r.stderr, /\] phase +calm: /);
  t.match(r.stderr, /\] curtail +demo\.rig\d\d /);
  t.match(r.stderr, /\] resume +demo\.rig\d\d /);
  t.notOk(r.stderr.includes('\u001b['), 'no ANSI codes without a TTY');

  const audit = await spawnCli(['audit', s.journal, '--json']);
  t.equal(audit.code, 0, audit.stderr);
  const a = JSON.parse(audit.stdout) as { totals: { shares: number } };
  t.equal(a.totals.shares, s.shares.checked, '`hashgate audit` re-validated every share of the run');
});

t.test('demo --redis: the depth goes through a real Redis; event lines on stdout', async (t) => {
  const redis = await startRedis(t, { own: true });
  const sub = redisClient(t, redis.url);
  const published: { type: string }[] = [];
  sub.on('message', (_channel: string, message: string) => published.push(JSON.parse(message) as { type: string }));
  await sub.subscribe('hashgate:demo:events');

  const r = await spawnCli(['demo', '--duration', DURATION_S, '--redis', redis.url]);
  t.equal(r.code, 0, r.stderr);
  const journal = /^ {2}journal +(\S+)$/m.exec(r.stdout)?.[1];
  t.ok(journal !== undefined, 'the summary names the journal');
  if (journal !== undefined) cleanup(t, journal);
  t.match(r.stdout, /queue depth from Redis key hashgate:demo:depth/);
  t.match(r.stdout, /\] phase +ramp: /);
  t.match(r.stdout, /\] phase +drain: /);
  t.match(r.stdout, /\] curtail +demo\.rig\d\d /);
  t.match(r.stdout, /\] resume +demo\.rig\d\d /);
  t.match(r.stdout, /shares checked +[1-9][\d,]* by hashgate/);
  t.match(r.stdout, /verification +[1-9]\d* of \d+ curtailed rigs stopped submitting shares/);
  t.notMatch(r.stdout, /STILL HASHING/);
  t.match(r.stdout, /audit +clean: /);
  t.notOk(r.stdout.includes('\u001b['), 'no ANSI codes without a TTY');
  t.ok(
    published.some((e) => e.type === 'curtail'),
    'the real status publisher sent events on the demo channel',
  );
  const check = redisClient(t, redis.url);
  t.equal(await check.exists('hashgate:demo:depth', 'hashgate:demo:status'), 0, 'the demo deleted its keys');
});

t.test('bad usage is refused before anything starts', async (t) => {
  const remote = await runCli(['demo', '--redis', 'redis://10.20.30.40:6379']);
  t.equal(remote.code, 2);
  t.match(remote.stderr, /--redis must point at a Redis on this machine .*\[HG_ERR_USAGE\]/);
  const secret = await runCli(['demo', '--redis', 'redis://user:hunter2@192.0.2.1:6379']);
  t.equal(secret.code, 2);
  t.notMatch(secret.stderr, /hunter2/, 'credentials never echoed');
  const short = await runCli(['demo', '--duration', '1']);
  t.equal(short.code, 2);
  t.match(short.stderr, /--duration must be a number of seconds from 5 to 3600 \[HG_ERR_USAGE\]/);
  const rigs = await runCli(['demo', '--rigs', '0']);
  t.equal(rigs.code, 2);
  t.match(rigs.stderr, /--rigs must be an integer from 1 to 48/);
});

t.test('the depth script has every phase, even in a short run', async (t) => {
  for (const ms of [5000, 8000, 60_000]) {
    const s = buildDepthScript(ms);
    t.same([...new Set(s.steps.map((x) => x.phase))], [...DEMO_PHASES], `${ms} ms: calm, ramp, hold, spike, drain in order`);
    t.ok(
      s.steps.every((x, i) => i === 0 || x.at > s.steps[i - 1]!.at),
      'steps ascend in time',
    );
    t.equal(s.steps[s.steps.length - 1]!.depth, 0, 'the queue ends empty');
    t.ok(Math.max(...s.steps.map((x) => x.depth)) > s.holdDepth, 'the spike goes above the plateau');
  }
});

t.test('verification flags a rig that keeps submitting while curtailed', async (t) => {
  const at = 1_000_000;
  const commands: CommandEvent[] = [
    { type: 'curtail', rig: 'a', watts: 20, reason: 'test', at },
    { type: 'curtail', rig: 'b', watts: 20, reason: 'test', at },
    { type: 'resume', rig: 'b', watts: 3000, reason: 'test', at: at + 5000 },
  ];
  const shares = new Map<string, number[]>([
    ['a', [at - 100, at + 100]], // one in-flight share inside the grace time: fine
    ['b', [at - 100, at + 2000, at + 5100]], // submitted 2 s into its curtail: still hashing; back after the resume
  ]);
  const v = verifyCurtails({ commands, shares, endAt: at + 8000, graceMs: 500, observeMs: 500, resumeWithinMs: 1000 });
  t.equal(v.curtailedRigs, 2);
  t.equal(v.stopped, 1);
  t.same(v.stillHashing, ['b']);
  t.equal(v.ok, false);
  t.equal(v.resumes, 1);
  t.equal(v.resumedWithShares, 1);
});
