/**
 * Telemetry-difficulty bench (issue 12 §5): what the local share path costs
 * hashgate, extrapolated to 10,000 rigs at the default local share rate
 * (300/min each, 50,000 shares/s: target ≤ 0.5 of one core), and whether the
 * local shares slow the forwarded ones down.
 *
 * Real daemons over loopback, in child processes (./proxy-child.ts: the
 * Daemon built from a config as `hashgate run` does, journal on in a temp
 * dir; CPU sampled with process.cpuUsage over IPC):
 * - a simulated pool (src/sim) at difficulty 2^-30;
 * - hashgate "on": `shares.localDifficulty` enabled, pinned at 2^-32
 *   (min = max = start, so it never retargets mid-run and the generator
 *   knows which shares are local-only); local-only shares are journaled as
 *   aggregates (the default);
 * - hashgate "off": the same config with the local difficulty off, so its
 *   miners work at the pool's 2^-30.
 * Both get the same submit rate limit (1000/s), so the limiter is not what
 * differs. 10,000 real sockets would need 40,000 fds across the processes on
 * a 20,000-fd machine, so a few hundred connections carry the load and the
 * per-share CPU is scaled up.
 *
 * The generator (this process; a minimal raw-socket client, ./proxy-miner.ts)
 * finds its shares before the timed run (./local-difficulty-load.ts) and runs
 * four loads and an idle turn per daemon (its CPU with the connections
 * open and no share, subtracted from the per-share figures), taking turns so
 * background noise falls on all alike:
 * 1. local-only: each "on" connection sends 5 shares/s (300/min) that meet
 *    only the local difficulty: hashgate checks, answers and aggregates them;
 * 2. forwarded: each "off" connection sends 5 shares/s that meet the pool's
 *    difficulty: checked, journaled, relayed, the pool's answer relayed back.
 *    hashgate CPU per share of 1 over 2 is the ratio printed;
 * 3. with local difficulty: each "on" connection sends 1 forwarded share/s
 *    and 5 local-only shares/s; the forwarded ones are timed;
 * 4. without: each "off" connection sends the same 1 forwarded share/s.
 *    p50 / p99 of 3 over 4: the latency the local shares add to the ones
 *    the pool sees (the rig is the same; with local difficulty it also sends
 *    the local shares).
 *
 * Everything is on 127.0.0.1, port 0; every wait has a timeout; children
 * exit when told, when the IPC channel closes, or after their lifetime.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BenchRow } from './harness.js';
import { prepareShares, RateGroup, type RateResult, type RateSpec, runTurns, type ShareQueues } from './local-difficulty-load.js';
import { BenchChild } from './proxy-child.js';
import { type BenchMiner, closeAll, connectMany } from './proxy-miner.js';

/** Issue 12 §5: 10,000 rigs at the default local rate on at most half a core. */
const TARGET_RIGS = 10_000;
const TARGET_CORES = 0.5;
/** The default `shares.localDifficulty.targetSharesPerMinute` (src/config/schema.ts). */
const DEFAULT_SHARES_PER_MINUTE = 300;
const LOCAL_PER_S = DEFAULT_SHARES_PER_MINUTE / 60;
const FORWARDED_PER_S = 1;
/** The pool's difficulty and the miners' local one: 1 nonce in ~4 meets the pool's, nearly all meet the local. */
const POOL_DIFFICULTY = 2 ** -30;
const LOCAL_DIFFICULTY = 2 ** -32;

/** The run's size; the defaults are `npm run bench`'s, smaller with --quick, tiny in the test. */
export interface LocalDifficultyScale {
  readonly connections: number;
  readonly warmupS: number;
  readonly rounds: number;
  readonly segmentS: number;
}

export interface LocalDifficultyBenchOptions {
  readonly quick?: boolean;
  readonly scale?: LocalDifficultyScale;
  /** Progress lines (the run takes a minute or so). */
  readonly say?: (line: string) => void;
}

const FULL: LocalDifficultyScale = { connections: 500, warmupS: 2, rounds: 4, segmentS: 3 };
const QUICK: LocalDifficultyScale = { connections: 100, warmupS: 1, rounds: 2, segmentS: 1 };

const fmtInt = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (x: number) => Number(x.toFixed(3));

/** The four loads' results, in the order of the module comment. */
interface Measured {
  readonly localOnly: RateResult;
  readonly forwarded: RateResult;
  readonly withLocal: RateResult;
  readonly withoutLocal: RateResult;
  /** Each daemon with its connections open and no share: its CPU is subtracted from the per-share figures. */
  readonly idleOn: RateResult;
  readonly idleOff: RateResult;
}

/** The idle turn: connections open, nothing sent. */
const IDLE: RateSpec = { localPerS: 0, forwardedPerS: 0, timed: 'local' };

/** The `shares` config section of each daemon. */
function sharesSection(enabled: boolean): string {
  const d = LOCAL_DIFFICULTY;
  return JSON.stringify({
    localDifficulty: { enabled, targetSharesPerMinute: DEFAULT_SHARES_PER_MINUTE, minDifficulty: d, maxDifficulty: d, startDifficulty: d },
  });
}

/** Shares a stream at `perS` uses in the warm-up and measured segments, with one spare per segment. */
function sharesFor(s: LocalDifficultyScale, perS: number): number {
  return Math.ceil((s.warmupS + s.rounds * s.segmentS) * perS) + s.rounds + 2;
}

export async function benchLocalDifficulty(options: LocalDifficultyBenchOptions = {}): Promise<BenchRow[]> {
  const scale = options.scale ?? (options.quick === true ? QUICK : FULL);
  const say = options.say ?? (() => {});
  const contention = `${cpus().length} cores shared by two hashgate daemons (one idle at a time), the sim pool and the generator (load average ${loadavg()[0]!.toFixed(2)} at start)`;
  const dir = await mkdtemp(join(tmpdir(), 'hashgate-bench-localdiff-'));
  const children: BenchChild[] = [];
  const miners: BenchMiner[] = [];
  try {
    const measured = await run(scale, say, dir, children, miners);
    return rowsOf(scale, measured, contention);
  } finally {
    closeAll(miners);
    await Promise.all(children.map((c) => c.stop()));
    await rm(dir, { recursive: true, force: true });
  }
}

async function connectTo(port: number, n: number, prefix: string, all: BenchMiner[]): Promise<BenchMiner[]> {
  const group: BenchMiner[] = [];
  const failed = await connectMany(port, n, group, prefix);
  all.push(...group);
  if (group.length < n) throw new Error(`only ${group.length} of ${n} miners connected to hashgate ${prefix} (${failed} failed)`);
  return group;
}

async function run(
  s: LocalDifficultyScale,
  say: (line: string) => void,
  dir: string,
  children: BenchChild[],
  miners: BenchMiner[],
): Promise<Measured> {
  const n = s.connections;
  say(
    `local-difficulty bench: ${fmtInt(n)} connections per hashgate, ${LOCAL_PER_S} local-only or forwarded shares/s each (${fmtInt(n * LOCAL_PER_S)} shares/s), four loads and two idle turns taking turns (${s.rounds} × ${s.segmentS} s each, after ${s.warmupS} s warm-up)…`,
  );
  const pool = await BenchChild.spawn('pool', [String(POOL_DIFFICULTY)]);
  children.push(pool);
  const on = await BenchChild.spawn('proxy', [String(pool.port), join(dir, 'on.jsonl'), sharesSection(true)]);
  children.push(on);
  const off = await BenchChild.spawn('proxy', [String(pool.port), join(dir, 'off.jsonl'), sharesSection(false)]);
  children.push(off);
  const onMiners = await connectTo(on.port, n, 'on', miners);
  const offMiners = await connectTo(off.port, n, 'off', miners);
  for (const [name, group, d] of [
    ['on', onMiners, LOCAL_DIFFICULTY],
    ['off', offMiners, POOL_DIFFICULTY],
  ] as const) {
    const bad = group.find((m) => m.difficulty !== d);
    if (bad !== undefined) throw new Error(`a miner of hashgate ${name} works at difficulty ${bad.difficulty}, not ${d}`);
  }
  const t0 = performance.now();
  const onQueues: ShareQueues[] = onMiners.map((m, i) =>
    prepareShares(m, POOL_DIFFICULTY, { local: 2 * sharesFor(s, LOCAL_PER_S), forwarded: sharesFor(s, FORWARDED_PER_S) }, i),
  );
  const offQueues: ShareQueues[] = offMiners.map((m, i) =>
    prepareShares(m, POOL_DIFFICULTY, { local: 0, forwarded: sharesFor(s, LOCAL_PER_S) + sharesFor(s, FORWARDED_PER_S) }, i),
  );
  say(`local-difficulty bench: shares found in ${((performance.now() - t0) / 1000).toFixed(1)} s; measuring…`);
  const groups = [
    new RateGroup('local-only', onMiners, onQueues, { localPerS: LOCAL_PER_S, forwardedPerS: 0, timed: 'local' }, on),
    new RateGroup('forwarded', offMiners, offQueues, { localPerS: 0, forwardedPerS: LOCAL_PER_S, timed: 'forwarded' }, off),
    new RateGroup('with local', onMiners, onQueues, { localPerS: LOCAL_PER_S, forwardedPerS: FORWARDED_PER_S, timed: 'forwarded' }, on),
    new RateGroup('without local', offMiners, offQueues, { localPerS: 0, forwardedPerS: FORWARDED_PER_S, timed: 'forwarded' }, off),
    new RateGroup('idle on', onMiners, onQueues, IDLE, on),
    new RateGroup('idle off', offMiners, offQueues, IDLE, off),
  ];
  const [localOnly, forwarded, withLocal, withoutLocal, idleOn, idleOff] = await runTurns(groups, s.warmupS, s.rounds, s.segmentS);
  return {
    localOnly: localOnly!,
    forwarded: forwarded!,
    withLocal: withLocal!,
    withoutLocal: withoutLocal!,
    idleOn: idleOn!,
    idleOff: idleOff!,
  };
}

/** CPU µs per share, less what the daemon spends idle (timers, keep-alives) over the same time. */
const perShare = (r: RateResult, idle: RateResult) => Math.max(0, r.cpuUs - idleRate(idle) * r.windowMs) / Math.max(1, r.shares);
/** The kernel's part of perShare, idle kernel time subtracted the same way. */
const sysPerShare = (r: RateResult, idle: RateResult) =>
  Math.max(0, r.sysUs - (idle.sysUs / Math.max(1, idle.windowMs)) * r.windowMs) / Math.max(1, r.shares);
/** CPU µs per ms of wall time when idle. */
const idleRate = (idle: RateResult) => idle.cpuUs / Math.max(1, idle.windowMs);
/** Share of one core over the measured window. */
const coreShare = (r: RateResult) => r.cpuUs / 1000 / Math.max(1, r.windowMs);

function counts(name: string, r: RateResult, idle: RateResult): string {
  const cpu = perShare(r, idle);
  const sys = sysPerShare(r, idle);
  return `${name}: ${fmtInt(r.shares)} shares in ${(r.windowMs / 1000).toFixed(1)} s (${r.rejected} not true, ${r.lost} unanswered); hashgate at ${(coreShare(r) * 100).toFixed(1)} % of one core (${(coreShare(idle) * 100).toFixed(1)} % idle); ${fmtInt(cpu)} µs per share, ${fmtInt(sys)} of them in the kernel (${((sys / Math.max(1e-9, cpu)) * 100).toFixed(0)} %)`;
}

function rowsOf(s: LocalDifficultyScale, m: Measured, contention: string): BenchRow[] {
  const { localOnly, forwarded, withLocal, withoutLocal, idleOn, idleOff } = m;
  const local = perShare(localOnly, idleOn);
  const relayed = perShare(forwarded, idleOff);
  const targetRate = TARGET_RIGS * LOCAL_PER_S;
  const load = `${fmtInt(s.connections)} connections × ${LOCAL_PER_S}/s`;
  const latencyLoad = `${fmtInt(s.connections)} connections × ${FORWARDED_PER_S} forwarded/s`;
  return [
    {
      name: `hashgate CPU per local-only share (${load})`,
      value: local,
      unit: 'µs',
      baseline: { name: 'per forwarded share, local difficulty off', value: relayed },
      notes: [
        counts('local-only', localOnly, idleOn),
        counts('forwarded', forwarded, idleOff),
        `answer time of a local-only share p50 ${ms(localOnly.p50)} / p99 ${ms(localOnly.p99)} ms; of a forwarded one ${ms(forwarded.p50)} / ${ms(forwarded.p99)} ms`,
        contention,
      ],
    },
    {
      name: `cores needed for ${fmtInt(TARGET_RIGS)} rigs × ${DEFAULT_SHARES_PER_MINUTE} local shares/min (${fmtInt(targetRate)}/s)`,
      value: (local * targetRate) / 1e6,
      unit: 'cores',
      baseline: { name: 'the same shares forwarded, local difficulty off', value: (relayed * targetRate) / 1e6 },
      target: { maxValue: TARGET_CORES },
      notes: [
        `extrapolated linearly from ${fmtInt(localOnly.shares)} local-only shares on ${fmtInt(s.connections)} loopback connections (10,000 sockets need more fds than this machine allows); the pool's forwarded shares come on top, at the per-share cost of the baseline`,
      ],
    },
    {
      name: `forwarded submit round trip with local difficulty, p50 (${latencyLoad} + ${LOCAL_PER_S} local/s)`,
      value: withLocal.p50,
      unit: 'ms',
      baseline: { name: 'local difficulty off, same forwarded load', value: withoutLocal.p50 },
      notes: [
        `${fmtInt(withLocal.timed)} forwarded shares timed with local difficulty (${fmtInt(withLocal.shares)} shares in all, ${withLocal.rejected} not true, ${withLocal.lost} unanswered), ${fmtInt(withoutLocal.timed)} without (${withoutLocal.rejected} not true, ${withoutLocal.lost} unanswered)`,
        `max ${ms(withLocal.max)} / ${ms(withoutLocal.max)} ms; generator event-loop delay p99 ${ms(withLocal.loopP99)} / ${ms(withoutLocal.loopP99)} ms; hashgate at ${(coreShare(withLocal) * 100).toFixed(1)} / ${(coreShare(withoutLocal) * 100).toFixed(1)} % of one core`,
      ],
    },
    {
      name: `forwarded submit round trip with local difficulty, p99 (${latencyLoad} + ${LOCAL_PER_S} local/s)`,
      value: withLocal.p99,
      unit: 'ms',
      baseline: { name: 'local difficulty off, same forwarded load', value: withoutLocal.p99 },
    },
  ];
}
