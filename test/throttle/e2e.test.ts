/**
 * Throttle end to end: simulated miners that really hash, through the real daemon, with firmware-API simulators
 * (LuxOS, ESP-Miner) and a real redis-server. Raise the queue → the right rigs are curtailed and their shares stop
 * while their Stratum sessions stay up; Redis killed → the configured stale mode (shed) engages; queue drained →
 * rigs resume one step at a time, best first, and shares flow again. The stratum driver parks a rig by closing its
 * session and refusing it until the queue drains.
 */

import t from 'tap';
import { buildConfig, type Config } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { startEspMinerSim } from '../../src/sim/esp-miner-sim.js';
import { startLuxosSim } from '../../src/sim/luxos-sim.js';
import type { SimMiner } from '../../src/sim/sim-miner.js';
import type { SignalReading, SignalSource } from '../../src/throttle/controller.js';
import type { ThrottleEvent, ThrottleStatus } from '../../src/throttle/types.js';
import { createLogger } from '../../src/util/log.js';
import { redisClient, startRedis } from '../helpers/redis.js';
import { miner, pool } from '../helpers/sim.js';

const log = createLogger({ level: 'silent' });

/** Polls until pred() holds; rejects with the label after `ms` (a bound, not a timing assertion). */
async function until(pred: () => boolean, label: string, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for: ${label}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const rigMiner = (t: Parameters<typeof miner>[0], port: number, user: string) =>
  miner(t, port, {
    user,
    maxHashRate: 4000,
    sharesPerSecond: 5,
    autoReconnect: true,
    reconnectAttempts: 10_000,
    reconnectDelayMs: 50,
    lifetimeMs: 110_000,
  });

/** Miners on loopback port 0, one simulated pool, no admin endpoint (tests run in parallel). */
const onePool = (port: number) => ({ listen: ['127.0.0.1:0'], pools: [`stratum+tcp://127.0.0.1:${port}`], admin: { listen: null } });

/** A 2,000 W site for two 1,000 W rigs; the GPUs need 100 W per queued request; no planner delays. */
const SMALL_SITE = {
  enabled: true,
  intervalMs: 100,
  siteBudgetWatts: 2000,
  headroomPercent: 0,
  gpu: { idleWatts: 0, wattsPerRequest: 100, maxWatts: 2000 },
  planner: { hysteresisWatts: 0, minOnMs: 0, minOffMs: 0, resumeIntervalMs: 0 },
};

function rigOf(status: ThrottleStatus | null, id: string) {
  return status?.rigs.find((r) => r.id === id);
}

t.test('queue up: worst rigs curtailed through firmware, sessions kept; Redis killed: shed; queue drained: staggered resume', async (t) => {
  const redis = await startRedis(t, { own: true });
  const r = redisClient(t, redis.url);
  const depthKey = `${redis.prefix}depth`;
  const p = await pool(t, { lifetimeMs: 110_000 });
  const lux = await startLuxosSim({});
  const top = await startLuxosSim({});
  const esp = await startEspMinerSim({});
  t.teardown(() => Promise.all([lux.close(), top.close(), esp.close()]));

  // Three 1,000 W rigs on a 3,100 W site (room for all three plus the 100 W hysteresis); the GPUs need 100 W per request.
  const config = buildConfig({
    file: {
      name: 'e2e',
      value: {
        ...onePool(p.port),
        throttle: {
          enabled: true,
          intervalMs: 200,
          siteBudgetWatts: 3100,
          headroomPercent: 0,
          gpu: { idleWatts: 0, wattsPerRequest: 100, maxWatts: 3100 },
          depth: [{ type: 'key', key: depthKey }],
          redis: {
            url: redis.url,
            staleAfterMs: 1500,
            onStale: 'shed',
            statusKey: `${redis.prefix}status`,
            eventsChannel: `${redis.prefix}events`,
            overrideKey: null,
          },
          planner: { hysteresisWatts: 100, minOnMs: 0, minOffMs: 0, resumeWattsPerStep: 1000, resumeIntervalMs: 1000 },
          verify: { afterCurtailMs: 1500, afterResumeMs: 20_000 },
        },
        rigs: [
          // Same priority: the worse J/TH (lux1, 100 J/TH) goes first, then esp1 (50 J/TH); top has priority 5.
          {
            name: 'lux1',
            match: { worker: 'e2e.lux1' },
            ratedWatts: 1000,
            ratedThs: 10,
            priority: 0,
            driver: { type: 'luxos', host: '127.0.0.1', port: lux.port },
          },
          {
            name: 'esp1',
            match: { worker: 'e2e.esp1' },
            ratedWatts: 1000,
            ratedThs: 20,
            priority: 0,
            driver: { type: 'esp-miner', host: '127.0.0.1', port: esp.port },
          },
          {
            name: 'top',
            match: { worker: 'e2e.top' },
            ratedWatts: 1000,
            ratedThs: 20,
            priority: 5,
            driver: { type: 'luxos', host: '127.0.0.1', port: top.port },
          },
        ],
      },
    },
  });
  const events: ThrottleEvent[] = [];
  let status: ThrottleStatus | null = null;
  const daemon = new Daemon(config, log, { onThrottleTick: (s) => (status = s) });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const port = daemon.addresses()[0]!.port;

  const sub = redisClient(t, redis.url);
  await sub.subscribe(`${redis.prefix}events`);
  sub.on('message', (_ch: string, msg: string) => events.push(JSON.parse(msg) as ThrottleEvent));

  const miners: Record<string, SimMiner> = {
    lux1: await rigMiner(t, port, 'e2e.lux1'),
    esp1: await rigMiner(t, port, 'e2e.esp1'),
    top: await rigMiner(t, port, 'e2e.top'),
  };
  // The firmware sims stand for the rigs' hashboards: asleep = the simulated miner stops hashing.
  lux.onChange((s) => (s.sleeping ? miners.lux1!.pause() : miners.lux1!.resume()));
  top.onChange((s) => (s.sleeping ? miners.top!.pause() : miners.top!.resume()));
  esp.onChange((s) => (s.paused ? miners.esp1!.pause() : miners.esp1!.resume()));

  await until(() => Object.values(miners).every((m) => m.stats.accepted > 0), 'every rig has a share accepted');
  await until(() => status?.mode === 'live' && status.rigs.length === 3, 'throttle live with 3 rigs');
  t.equal(status!.curtailedRigs, 0, 'queue empty: nothing curtailed');

  // 1. Depth 8 → GPUs need 800 W → ASIC budget 2,300 W: one rig must go, the least efficient of the lowest priority.
  await r.set(depthKey, '8');
  await until(() => lux.state.sleeping, 'lux1 put to sleep');
  await until(() => rigOf(status, 'e2e.lux1')?.state === 'curtailed', 'status shows lux1 curtailed');
  t.notOk(esp.state.paused, 'esp1 keeps running');
  t.notOk(top.state.sleeping, 'top keeps running');
  t.equal(status!.budget.asicWatts, 2300, 'ASIC budget 2,300 W');
  t.equal(status!.asicWatts, 2000, 'ASIC watts 2,000 after the curtail');
  // Its share rate drops to zero while its Stratum session stays up (so it does not fail over).
  await new Promise((r) => setTimeout(r, 400)); // shares already in flight land
  const luxSubmitted = miners.lux1!.stats.submitted;
  const topSubmitted = miners.top!.stats.submitted;
  await until(() => miners.top!.stats.submitted > topSubmitted + 3, 'top keeps submitting');
  t.equal(miners.lux1!.stats.submitted, luxSubmitted, 'lux1 submits nothing while curtailed');
  t.ok(miners.lux1!.stats.connected, 'lux1 Stratum session stays connected');
  t.equal(miners.lux1!.stats.disconnects, 0, 'lux1 was never disconnected');
  t.ok(
    lux.commands.some((c) => c.command === 'curtail' && c.parameter?.endsWith('sleep')),
    'LuxOS got curtail sleep',
  );

  // 2. Depth 15 → budget 1,600 W: esp1 goes too; top (priority 5) stays.
  await r.set(depthKey, '15');
  await until(() => esp.state.paused, 'esp1 paused');
  t.notOk(top.state.sleeping, 'the high-priority rig keeps running');

  // 3. Redis killed → after staleAfterMs the configured mode (shed: budget for the GPUs' maximum need = 0 W) engages.
  await redis.kill();
  await until(() => status?.mode === 'stale-shed', 'stale-shed mode');
  t.equal(status!.redis.healthy, false, 'status says Redis is unhealthy');
  await until(() => top.state.sleeping, 'shed curtails the last rig too');

  // 4. Redis back, queue empty (the restarted server has no key: depth 0) → live again, staggered resume, best first.
  const resumes: { rig: string; at: number }[] = [];
  lux.onChange((s) => !s.sleeping && resumes.push({ rig: 'lux1', at: Date.now() }));
  top.onChange((s) => !s.sleeping && resumes.push({ rig: 'top', at: Date.now() }));
  esp.onChange((s) => !s.paused && resumes.push({ rig: 'esp1', at: Date.now() }));
  await redis.restart();
  await until(() => status?.mode === 'live', 'live again after Redis returns');
  await until(() => resumes.length === 3, 'all three rigs resumed', 20_000);
  t.same(
    resumes.map((x) => x.rig),
    ['top', 'esp1', 'lux1'],
    'resumed best first: priority, then J/TH',
  );
  // One 1,000 W rig per step, a step per resumeIntervalMs: never two in one step (a lower bound, not a speed check).
  for (let i = 1; i < resumes.length; i++) t.ok(resumes[i]!.at - resumes[i - 1]!.at >= 900, `resume ${i + 1} a step after resume ${i}`);

  // 5. Shares flow again from every rig.
  const after = Object.fromEntries(Object.entries(miners).map(([k, m]) => [k, m.stats.accepted]));
  await until(() => Object.entries(miners).every(([k, m]) => m.stats.accepted > after[k]! + 2), 'every rig submits again');
  t.equal(status!.curtailedRigs, 0, 'nothing curtailed at the end');
  t.notOk(
    status!.rigs.some((x) => x.alert !== null),
    'no alerts',
  );

  // State back to the site: the status hash and the events.
  await until(() => events.some((e) => e.type === 'resume' && e.rig === 'e2e.lux1'), 'resume event published');
  const hash = await r.hgetall(`${redis.prefix}status`);
  t.equal(hash.mode, 'live', 'status hash mode');
  t.equal(hash.curtailedRigs, '0', 'status hash curtailedRigs');
  t.ok(Number(hash.updatedAt) > 0, 'status hash updatedAt');
  t.ok(
    events.some((e) => e.type === 'curtail' && e.rig === 'e2e.lux1'),
    'curtail event published',
  );
  t.ok(
    events.some((e) => e.type === 'mode' && e.mode === 'live'),
    'mode event published',
  );
});

/** The demo-style in-process signal source: depth set by the test. */
function scriptedSource(): SignalSource & { depth: number } {
  const s = {
    depth: 0,
    poll: async (): Promise<SignalReading> => ({ ok: true, depth: s.depth, capWatts: null, overrides: new Map(), at: Date.now() }),
    close: () => {},
  };
  return s;
}

t.test('stratum driver: a parked rig is disconnected and refused, and comes back when the queue drains', async (t) => {
  const p = await pool(t, { lifetimeMs: 60_000 });
  const source = scriptedSource();
  const config: Config = buildConfig({
    file: {
      name: 'park',
      value: {
        ...onePool(p.port),
        throttle: {
          ...SMALL_SITE,
        },
        rigs: [
          { name: 'parkme', match: { worker: 'p.low' }, ratedWatts: 1000, ratedThs: 10, priority: 0, driver: { type: 'stratum' } },
          { name: 'keep', match: { worker: 'p.high' }, ratedWatts: 1000, ratedThs: 10, priority: 9, driver: { type: 'stratum' } },
        ],
      },
    },
  });
  let status: ThrottleStatus | null = null;
  const daemon = new Daemon(config, log, { signalSource: source, statusSink: null, onThrottleTick: (s) => (status = s) });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const port = daemon.addresses()[0]!.port;
  const low = await rigMiner(t, port, 'p.low');
  const high = await rigMiner(t, port, 'p.high');
  await until(() => low.stats.accepted > 0 && high.stats.accepted > 0, 'both rigs mining');
  await until(() => status?.rigs.length === 2, 'both rigs known');

  source.depth = 5; // GPUs need 500 W → ASIC budget 1,500 W → one rig parked: the low-priority one
  await until(() => daemon.park.isParked('p.low'), 'p.low parked');
  await until(() => low.stats.disconnects > 0, 'p.low disconnected');
  await until(() => daemon.counters.refusedParked > 1, 'its reconnects are refused');
  t.notOk(daemon.park.isParked('p.high'), 'p.high not parked');
  t.notOk(
    daemon.sessions().some((s) => s.workerNames[0] === 'p.low' && s.status === 'authorized'),
    'no live session for p.low',
  );
  const highBefore = high.stats.accepted;
  await until(() => high.stats.accepted > highBefore + 2, 'p.high keeps mining');

  source.depth = 0;
  await until(() => !daemon.park.isParked('p.low'), 'p.low unparked');
  const lowBefore = low.stats.accepted;
  await until(() => low.stats.accepted > lowBefore, 'p.low reconnects and mines again', 20_000);
  t.equal(rigOf(status, 'p.low')?.state, 'running', 'status shows p.low running');
});

t.test('verification flags a rig that keeps hashing while curtailed; no pool reachable curtails the fleet', async (t) => {
  const p = await pool(t, { lifetimeMs: 60_000 });
  const source = scriptedSource();
  const deaf = await startLuxosSim({}); // its miner is NOT wired to it: the firmware says asleep, the rig keeps hashing
  const good = await startLuxosSim({});
  t.teardown(() => Promise.all([deaf.close(), good.close()]));
  const config = buildConfig({
    file: {
      name: 'verify',
      value: {
        ...onePool(p.port),
        failover: { backoffBaseMs: 50, backoffMaxMs: 100, poolLossGraceMs: 300 },
        throttle: {
          ...SMALL_SITE,
          verify: { afterCurtailMs: 500, afterResumeMs: 60_000 },
        },
        rigs: [
          {
            name: 'deaf',
            match: { worker: 'v.deaf' },
            ratedWatts: 1000,
            ratedThs: 10,
            priority: 0,
            driver: { type: 'luxos', host: '127.0.0.1', port: deaf.port },
          },
          {
            name: 'good',
            match: { worker: 'v.good' },
            ratedWatts: 1000,
            ratedThs: 10,
            priority: 9,
            driver: { type: 'luxos', host: '127.0.0.1', port: good.port },
          },
        ],
      },
    },
  });
  let status: ThrottleStatus | null = null;
  const events: ThrottleEvent[] = [];
  const daemon = new Daemon(config, log, {
    signalSource: source,
    statusSink: { publishStatus: () => {}, publishEvent: (e) => void events.push(e), close: () => {} },
    onThrottleTick: (s) => (status = s),
  });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const port = daemon.addresses()[0]!.port;
  await rigMiner(t, port, 'v.deaf');
  const goodMiner = await rigMiner(t, port, 'v.good');
  good.onChange((s) => (s.sleeping ? goodMiner.pause() : goodMiner.resume()));
  await until(() => status?.rigs.length === 2 && status.rigs.every((r) => r.lastShareAt !== null), 'both rigs mining');

  source.depth = 5; // budget 1,500 W: the low-priority "deaf" rig is curtailed, but keeps submitting
  await until(() => deaf.state.sleeping, 'deaf told to sleep');
  await until(() => rigOf(status, 'v.deaf')?.alert === 'still-hashing', 'still-hashing alert');
  t.ok(
    events.some((e) => e.type === 'alert' && e.rig === 'v.deaf' && e.alert === 'still-hashing'),
    'alert event published',
  );
  t.equal(rigOf(status, 'v.good')?.alert, null, 'the obedient rig has no alert');

  // No pool reachable: after the grace the daemon disconnects the miners, and the throttle curtails the
  // fleet through the firmware (stale work earns nothing; the power is worth more to the GPUs).
  await p.close();
  await until(() => status?.mode === 'no-pool', 'no-pool mode', 20_000);
  await until(() => good.state.sleeping, 'the good rig is put to sleep through its firmware', 20_000);
  t.equal(status!.budget.asicWatts, 0, 'ASIC budget 0 with no pool');
});

t.test('shadow mode: the budget follows the queue, but nothing is sent to any rig', async (t) => {
  const p = await pool(t, { lifetimeMs: 60_000 });
  const source = scriptedSource();
  const lux = await startLuxosSim({});
  t.teardown(() => lux.close());
  const config = buildConfig({
    file: {
      name: 'shadow',
      value: {
        ...onePool(p.port),
        throttle: {
          ...SMALL_SITE,
          shadow: true,
        },
        rigs: [
          {
            name: 'a',
            match: { worker: 's.lux' },
            ratedWatts: 1000,
            ratedThs: 10,
            driver: { type: 'luxos', host: '127.0.0.1', port: lux.port },
          },
          { name: 'b', match: { worker: 's.park' }, ratedWatts: 1000, ratedThs: 10, driver: { type: 'stratum' } },
        ],
      },
    },
  });
  let status: ThrottleStatus | null = null;
  let ticks = 0;
  const daemon = new Daemon(config, log, {
    signalSource: source,
    statusSink: null,
    onThrottleTick: (s) => {
      status = s;
      ticks++;
    },
  });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const port = daemon.addresses()[0]!.port;
  const a = await rigMiner(t, port, 's.lux');
  const b = await rigMiner(t, port, 's.park');
  await until(() => status?.rigs.length === 2 && a.stats.accepted > 0 && b.stats.accepted > 0, 'both rigs mining');
  t.equal(status!.mode, 'shadow', 'mode is shadow');
  source.depth = 20; // GPUs need all 2,000 W: live, both rigs would be curtailed
  await until(() => status?.budget.asicWatts === 0, 'budget follows the queue');
  const seen = ticks;
  await until(() => ticks > seen + 5, 'several more ticks');
  t.notOk(lux.state.sleeping, 'the LuxOS rig was not put to sleep');
  t.equal(lux.commands.filter((c) => c.command === 'curtail').length, 0, 'no curtail command reached the firmware');
  t.notOk(daemon.park.isParked('s.park'), 'the Stratum rig was not parked');
  t.equal(b.stats.disconnects, 0, 'and not disconnected');
  t.equal(status!.curtailedRigs, 0, 'status: nothing curtailed');
});
