/**
 * Throttle reaction time: from a Redis write of the queue depth to the last
 * driver command it causes, with 1,000 rigs, over ≥ 100 trials (issue 4 §7).
 *
 * Real parts: a private redis-server (spawned on a free loopback port), the
 * real Redis signal source, policy, planner, controller and stratum driver
 * (its gate records when each park/unpark is handed over). The fleet is
 * 1,000 synthetic sessions (the Stratum side is measured by the proxy bench).
 * Each trial flips the depth between 0 and a depth that needs about half the
 * fleet curtailed, and waits until the controller has sent every command.
 *
 * Target: p99 ≤ poll interval + 100 ms. Baseline: the poll interval itself.
 */

import { spawn, spawnSync } from 'node:child_process';
import net from 'node:net';
import { Redis } from 'ioredis';
import { buildConfig } from '../config/index.js';
import { ThrottleController, type Fleet, type FleetSession } from '../throttle/controller.js';
import { createRigControl } from '../throttle/drivers/index.js';
import { createSignalSource } from '../throttle/redis.js';
import { createLogger } from '../util/log.js';
import type { BenchRow } from './harness.js';

const RIGS = 1000;
const RIG_WATTS = 3500;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

async function startRedisServer(): Promise<{ url: string; stop: () => Promise<void> } | string> {
  if (spawnSync('redis-server', ['--version']).error !== undefined) return 'redis-server not found (apt-get install -y redis-server)';
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      probe.disconnect();
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  probe.disconnect();
  return {
    url,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function benchThrottle(options: { quick?: boolean; say: (s: string) => void }): Promise<BenchRow[]> {
  const redis = await startRedisServer();
  if (typeof redis === 'string') {
    options.say(`throttle bench skipped: ${redis}\n`);
    return [];
  }
  const intervalMs = 200;
  const trials = options.quick === true ? 20 : 100;
  const depthKey = 'bench:depth';
  // 1,000 × 3.5 kW = 3.5 MW of rigs; the GPU model needs 1.75 MW at depth 1,000 (half the fleet curtailed).
  const config = buildConfig({
    file: {
      name: 'bench',
      value: {
        pools: ['stratum+tcp://127.0.0.1:1'],
        throttle: {
          enabled: true,
          intervalMs,
          siteBudgetWatts: RIGS * RIG_WATTS,
          headroomPercent: 0,
          gpu: { idleWatts: 0, wattsPerRequest: 1750, maxWatts: RIGS * RIG_WATTS },
          depth: [{ type: 'key', key: depthKey }],
          redis: { url: redis.url, commandTimeoutMs: 500, staleAfterMs: 10_000, statusKey: null, eventsChannel: null, overrideKey: null },
          planner: { hysteresisWatts: 0, minOnMs: 0, minOffMs: 0, resumeWattsPerStep: 1e9, resumeIntervalMs: 0 },
        },
        defaultRig: { ratedWatts: RIG_WATTS, ratedThs: 200 },
      },
    },
  });
  const log = createLogger({ level: 'silent' });
  const writer = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  writer.on('error', () => {});
  await writer.set(depthKey, '0');

  const sessions: FleetSession[] = Array.from({ length: RIGS }, (_, i) => ({
    rigId: `rig${String(i).padStart(4, '0')}`,
    ip: `10.0.${i >> 8}.${i & 255}`,
    accepted: 0,
    lastShareAt: null,
  }));
  const parked = new Set<string>();
  const fleet: Fleet = {
    // A parked rig's sessions are closed by the daemon: they vanish from the fleet until unparked.
    sessions: () => sessions.filter((s) => !parked.has(s.rigId)),
    refreshWork: () => {},
    noPool: () => false,
    gate: { park: (id) => parked.add(id), unpark: (id) => parked.delete(id) },
  };
  let lastCommandAt = 0;
  let commands = 0;
  const controller = new ThrottleController({
    config,
    source: createSignalSource({
      url: redis.url,
      commandTimeoutMs: 500,
      logger: log,
      sources: config.throttle.depth,
      capKey: null,
      overrideKey: null,
    }),
    fleet,
    createControl: (rig) => createRigControl({ type: 'stratum' }, { rigId: rig.id, rigIp: rig.ip, gate: fleet.gate, log }),
    log,
    onCommand: (_rig, _action, at) => {
      lastCommandAt = at;
      commands++;
    },
  });
  controller.start();
  const reactions: number[] = [];
  const waitUntil = async (pred: () => boolean, ms: number) => {
    const end = Date.now() + ms;
    while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    return pred();
  };
  try {
    await waitUntil(() => controller.mode === 'live', 5000);
    let missed = 0;
    for (let i = 0; i < trials; i++) {
      const high = i % 2 === 0;
      const wantParked = high ? RIGS / 2 : 0;
      // Let the loop settle into a random phase of its interval, as a real write would land.
      await new Promise((r) => setTimeout(r, Math.random() * intervalMs));
      const before = commands;
      const t0 = Date.now();
      await writer.set(depthKey, high ? '1000' : '0');
      const ok = await waitUntil(() => parked.size === wantParked && commands > before, 10 * intervalMs + 2000);
      if (!ok) {
        missed++;
        continue;
      }
      reactions.push(lastCommandAt - t0);
    }
    reactions.sort((a, b) => a - b);
    const p50 = percentile(reactions, 50);
    const p99 = percentile(reactions, 99);
    options.say(
      `throttle reaction: ${reactions.length} trials, p50 ${p50} ms, p99 ${p99} ms, max ${reactions.at(-1)} ms, ${missed} missed\n`,
    );
    return [
      {
        name: `throttle reaction p99 (Redis write → last driver command, ${RIGS} rigs, ${RIGS / 2} commands/trial)`,
        value: p99,
        unit: 'ms',
        baseline: { name: 'poll interval', value: intervalMs },
        target: { maxValue: intervalMs + 100 },
        notes: [`p50 ${p50} ms, max ${reactions.at(-1)} ms over ${reactions.length} trials (${missed} missed)`],
      },
    ];
  } finally {
    await controller.stop();
    writer.disconnect();
    await redis.stop();
  }
}
