/**
 * `hashgate demo` as a new user runs it: the BUILT binary (`npm test` builds first), a short run, its
 * summary checked against what really happened (hashgate's journal, re-audited by `hashgate audit`).
 * One run with the in-process queue signal (--json), one through a private redis-server (event lines).
 * Both check that every driver kind of the fleet (luxos, esp-miner, antminer, whatsminer, stratum) was
 * curtailed and resumed, the firmware kinds as their simulators saw it too.
 * Plus the pure parts the summary rests on: the script covers every phase, the verification does
 * flag a rig that keeps submitting while curtailed, and the config puts the Antminer and Whatsminer
 * rigs behind their simulators with demo-sized settle windows.
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import t from 'tap';
import { buildConfig } from '../../src/config/load.js';
import { buildDemoConfig, buildFleet, buildSite, buildTimings, type DemoFirmware } from '../../src/demo/fleet.js';
import { verifyCurtails, type CommandEvent } from '../../src/demo/observe.js';
import { buildDepthScript, DEMO_PHASES, HOLD_DEPTH } from '../../src/demo/script.js';
import { DEFAULT_TIMING } from '../../src/throttle/drivers/timing.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { redisClient, startRedis } from '../helpers/redis.js';

const DURATION_S = '8';
/** Every driver kind the default fleet of 12 has. */
const KINDS = ['luxos', 'esp-miner', 'stratum', 'antminer', 'whatsminer'] as const;
const FIRMWARE_KINDS = ['luxos', 'esp-miner', 'antminer', 'whatsminer'] as const;

interface DriverTally {
  rigs: number;
  curtail: number;
  resume: number;
  setPower: number;
  firmwareStops: number;
  firmwareStarts: number;
}

interface Summary {
  endedBy: string;
  rigs: number;
  signals: string;
  shares: { checked: number; accepted: number; rejected: number; poolAccepted: number; poolCounted: number };
  events: { curtail: number; resume: number; setPower: number; driverErrors: number };
  drivers: Partial<Record<(typeof KINDS)[number], DriverTally>>;
  reaction: { samples: number; p50Ms: number | null; maxMs: number | null };
  verification: {
    curtailedRigs: number;
    stopped: number;
    stillHashing: string[];
    ok: boolean;
    resumes: number;
    resumedWithShares: number;
    rigs: { rig: string; periods: number; sharesWhileCurtailed: number }[];
  };
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

  // Every driver kind was curtailed and resumed: hashgate's confirmed commands, and (firmware kinds) the simulators' side.
  t.same(Object.keys(s.drivers).sort(), [...KINDS].sort(), 'the summary counts every driver kind of the fleet');
  t.equal(s.events.driverErrors, 0, 'no driver command failed');
  for (const kind of KINDS) {
    const d = s.drivers[kind];
    t.ok(d !== undefined && d.curtail >= 1 && d.resume >= 1, `${kind}: curtailed and resumed`);
    t.match(r.stderr, new RegExp(`\\] curtail +demo\\.rig\\d\\d +${kind} +now `), `${kind}: a curtail event line names the driver`);
    t.match(r.stderr, new RegExp(`\\] resume +demo\\.rig\\d\\d +${kind} +now `), `${kind}: a resume event line names the driver`);
  }
  for (const kind of FIRMWARE_KINDS) {
    const d = s.drivers[kind];
    t.ok(d !== undefined && d.firmwareStops >= 1 && d.firmwareStarts >= 1, `${kind}: its simulator stopped and restarted hashing`);
  }
  t.equal(s.drivers.antminer?.rigs, 1);
  t.equal(s.drivers.whatsminer?.rigs, 1);
  for (const kind of ['antminer', 'whatsminer'] as const) {
    const rig = new RegExp(`\\] curtail +(demo\\.rig\\d\\d) +${kind} `).exec(r.stderr)?.[1];
    const v = s.verification.rigs.find((x) => x.rig === rig);
    t.ok(v !== undefined && v.periods >= 1 && v.sharesWhileCurtailed === 0, `${kind}: judged curtailed, no share while curtailed`);
  }
  const log = readFileSync(s.log, 'utf8');
  t.match(log, /"msg":"antminer work mode set"/, "the antminer driver's confirmed writes are in the daemon log");
  t.notMatch(log, /"password":"(?!\[redacted\])/, 'no firmware password in the daemon log');
  t.match(r.stderr, /scaled down: an Antminer config write answers in \d+ ms/, 'the legend says the Antminer sim is scaled down');
  t.match(r.stderr, /scaled down: a Whatsminer boots in \d+ ms/, 'the legend says the Whatsminer sim is scaled down');
  t.match(r.stderr, /driver settle windows \d+ ms to \d+ ms, demo-sized/, 'the legend says the settle windows are demo-sized');

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
  t.match(r.stdout, /\] curtail +demo\.rig\d\d +antminer +now /);
  t.match(r.stdout, /\] curtail +demo\.rig\d\d +whatsminer +now /);
  t.match(r.stdout, /^ {2}by driver +luxos +6 rigs: +[1-9]\d* curtail, [1-9]\d* resume/m, 'the summary has a line per driver kind');
  t.match(r.stdout, /^ {19}antminer +1 rig: +[1-9]\d* curtail, [1-9]\d* resume, \d+ set-power; firmware stopped hashing [1-9]/m);
  t.match(r.stdout, /^ {19}whatsminer +1 rig: +[1-9]\d* curtail, [1-9]\d* resume, \d+ set-power; firmware stopped hashing [1-9]/m);
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

t.test('the demo config: Antminer and Whatsminer rigs behind their sims, with demo-sized settle windows', async (t) => {
  const fleet = buildFleet(12);
  const antminer = fleet.filter((r) => r.driver === 'antminer');
  const whatsminer = fleet.filter((r) => r.driver === 'whatsminer');
  t.equal(antminer.length, 1, 'one stock-firmware Antminer');
  t.equal(whatsminer.length, 1, 'one Whatsminer');
  const timings = buildTimings(60_000, fleet);
  const firmware = new Map<string, DemoFirmware>();
  fleet.forEach((r, i) => {
    if (r.driver !== 'stratum') firmware.set(r.name, { port: 20_000 + i, apiPort: 30_000 + i, password: `pw-${i}` });
  });
  const value = buildDemoConfig({
    fleet,
    site: buildSite(fleet, HOLD_DEPTH),
    timings,
    ports: { poolPort: 3333, firmware },
    journalPath: join(tmpdir(), 'hashgate-demo-config-test.jsonl'),
    redis: null,
  });
  const config = buildConfig({ file: { name: 'demo', value } });
  const driverOf = (name: string) => config.rigs.find((r) => r.name === name)?.driver;
  const a = driverOf(antminer[0]!.name);
  t.ok(
    a?.type === 'antminer' && a.host === '127.0.0.1' && a.webPort === firmware.get(antminer[0]!.name)?.port,
    'antminer: its web CGI sim',
  );
  t.ok(a?.type === 'antminer' && a.apiPort === firmware.get(antminer[0]!.name)?.apiPort, 'antminer: its cgminer API sim');
  t.ok(a?.type === 'antminer' && a.password === firmware.get(antminer[0]!.name)?.password, "antminer: the sim's password");
  t.ok(
    a?.type === 'antminer' && a.lowPowerWatts !== null && a.lowPowerWatts < antminer[0]!.ratedWatts,
    'antminer: low-power mode is its power target',
  );
  const w = driverOf(whatsminer[0]!.name);
  t.ok(
    w?.type === 'whatsminer' && w.apiVersion === '2' && w.port === firmware.get(whatsminer[0]!.name)?.port,
    'whatsminer: API 2.x on its sim',
  );
  t.ok(w?.type === 'whatsminer' && w.password === firmware.get(whatsminer[0]!.name)?.password, "whatsminer: the sim's password");
  for (const r of config.rigs) {
    const d = r.driver;
    if (d.type === 'stratum') continue;
    const real = DEFAULT_TIMING[d.type];
    const settle = [d.settle.curtailMs, d.settle.resumeMs, d.settle.powerMs];
    t.same(d.settle, timings.settle[d.type], `${r.name} (${d.type}): the demo's settle windows`);
    t.ok(
      settle.every((ms) => ms !== null && ms > 0 && ms <= Math.min(timings.minOnMs, timings.minOffMs)),
      `${r.name}: each window within the planner's minimum on/off time`,
    );
    t.ok(
      settle[0]! < real.curtailSettleMs && settle[1]! < real.resumeSettleMs && settle[2]! < real.powerSettleMs,
      `${r.name}: each window shorter than the driver's default`,
    );
  }
  // The sims' delays fit the windows: an Antminer hashes again within its resume window after the CGI answered.
  t.ok(timings.sim.antminerRestartMs <= timings.settle.antminer.resumeMs);
  t.ok(timings.sim.whatsminerBootMs <= timings.settle.whatsminer.resumeMs);
});
