/**
 * Throttle end to end: simulated miners that really hash, through the real daemon, with firmware-API simulators
 * (LuxOS, ESP-Miner) and a real redis-server. Raise the queue → the right rigs are curtailed and their shares stop
 * while their Stratum sessions stay up; Redis killed → the configured stale mode (shed) engages; queue drained →
 * rigs resume one step at a time, best first, and shares flow again. The stratum driver parks a rig by closing its
 * session and refusing it until the queue drains. At start-up, rigs still booting (0 GH/s) count as running; only a
 * rig its firmware reports asleep is taken as curtailed (issue 11).
 *
 * No test sleeps: every wait is on an event (the controller's onTick, a firmware simulator's onChange, a simulated
 * miner's events, a Redis pub/sub message), each bounded by a deadline that fails the test. What is asserted about
 * time is the controller's own decision times, never elapsed wall-clock time.
 */

import t from 'tap';
import { buildConfig, type Config } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { startEspMinerSim } from '../../src/sim/esp-miner-sim.js';
import { startLuxosSim } from '../../src/sim/luxos-sim.js';
import type { SimMiner } from '../../src/sim/sim-miner.js';
import type { ThrottleEvent } from '../../src/throttle/types.js';
import { createLogger } from '../../src/util/log.js';
import { redisClient, startRedis } from '../helpers/redis.js';
import { pool } from '../helpers/sim.js';
import { changes, INSTANT, onePool, rigMiner, rigOf, scriptedSource, SMALL_SITE, tickWatch } from './e2e-kit.js';
import { onEvents, when } from './wait.js';

const log = createLogger({ level: 'silent' });

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
            driver: { type: 'luxos', host: '127.0.0.1', port: lux.port, settle: INSTANT },
          },
          {
            name: 'esp1',
            match: { worker: 'e2e.esp1' },
            ratedWatts: 1000,
            ratedThs: 20,
            priority: 0,
            driver: { type: 'esp-miner', host: '127.0.0.1', port: esp.port, settle: INSTANT },
          },
          {
            name: 'top',
            match: { worker: 'e2e.top' },
            ratedWatts: 1000,
            ratedThs: 20,
            priority: 5,
            driver: { type: 'luxos', host: '127.0.0.1', port: top.port, settle: INSTANT },
          },
        ],
      },
    },
  });
  const events: ThrottleEvent[] = [];
  const tw = tickWatch();
  const daemon = new Daemon(config, log, { onThrottleTick: tw.onTick });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const port = daemon.addresses()[0]!.port;

  const sub = redisClient(t, redis.url);
  await sub.subscribe(`${redis.prefix}events`);
  sub.on('message', (_ch: string, msg: string) => events.push(JSON.parse(msg) as ThrottleEvent));
  const published = onEvents(sub, 'message');

  const miners: Record<string, SimMiner> = {
    lux1: await rigMiner(t, port, 'e2e.lux1'),
    esp1: await rigMiner(t, port, 'e2e.esp1'),
    top: await rigMiner(t, port, 'e2e.top'),
  };
  // The firmware sims stand for the rigs' hashboards: asleep = the simulated miner stops hashing.
  lux.onChange((s) => (s.sleeping ? miners.lux1!.pause() : miners.lux1!.resume()));
  top.onChange((s) => (s.sleeping ? miners.top!.pause() : miners.top!.resume()));
  esp.onChange((s) => (s.paused ? miners.esp1!.pause() : miners.esp1!.resume()));

  await Promise.all(Object.values(miners).map((m) => m.waitFor(() => m.stats.accepted > 0, 20_000, 'a share accepted')));
  await tw.until(() => tw.status?.mode === 'live' && tw.status.rigs.length === 3, 'throttle live with 3 rigs');
  t.equal(tw.status!.curtailedRigs, 0, 'queue empty: nothing curtailed');

  // 1. Depth 8 → GPUs need 800 W → ASIC budget 2,300 W: one rig must go, the least efficient of the lowest priority.
  await r.set(depthKey, '8');
  await when(() => lux.state.sleeping, 'lux1 put to sleep', [changes(lux)]);
  await tw.until(() => rigOf(tw.status, 'e2e.lux1')?.state === 'curtailed', 'status shows lux1 curtailed');
  t.notOk(esp.state.paused, 'esp1 keeps running');
  t.notOk(top.state.sleeping, 'top keeps running');
  t.equal(tw.status!.budget.asicWatts, 2300, 'ASIC budget 2,300 W');
  t.equal(tw.status!.asicWatts, 2000, 'ASIC watts 2,000 after the curtail');
  // Its share rate drops to zero while its Stratum session stays up (so it does not fail over). First the shares
  // already in flight land: each one the rig submitted has its answer from the pool, through hashgate.
  const lux1 = miners.lux1!;
  await lux1.waitFor(() => lux1.shares.every((x) => x.status !== undefined), 20_000, 'lux1 in-flight shares answered');
  const luxSubmitted = lux1.stats.submitted;
  const luxSubmits: unknown[] = [];
  lux1.events.on('submit', (x: unknown) => luxSubmits.push(x));
  // Then the world moves on: top gets four more shares accepted through the same proxy, and the loop ticks three more
  // times. A lux1 share found after its curtail would have been submitted (and seen) in that time.
  const top1 = miners.top!;
  const topAccepted = top1.stats.accepted;
  const ticksNow = tw.ticks;
  await top1.waitFor(() => top1.stats.accepted > topAccepted + 3, 20_000, 'top keeps getting shares accepted');
  await tw.until(() => tw.ticks >= ticksNow + 3, 'three more throttle ticks');
  t.same(luxSubmits, [], 'lux1 submits nothing while curtailed');
  t.equal(lux1.stats.submitted, luxSubmitted);
  t.ok(miners.lux1!.stats.connected, 'lux1 Stratum session stays connected');
  t.equal(miners.lux1!.stats.disconnects, 0, 'lux1 was never disconnected');
  t.ok(
    lux.commands.some((c) => c.command === 'curtail' && c.parameter?.endsWith('sleep')),
    'LuxOS got curtail sleep',
  );

  // 2. Depth 15 → budget 1,600 W: esp1 goes too; top (priority 5) stays.
  await r.set(depthKey, '15');
  await when(() => esp.state.paused, 'esp1 paused', [changes(esp)]);
  t.notOk(top.state.sleeping, 'the high-priority rig keeps running');

  // 3. Redis killed → after staleAfterMs the configured mode (shed: budget for the GPUs' maximum need = 0 W) engages.
  await redis.kill();
  await tw.until(() => tw.status?.mode === 'stale-shed', 'stale-shed mode');
  t.equal(tw.status!.redis.healthy, false, 'status says Redis is unhealthy');
  await when(() => top.state.sleeping, 'shed curtails the last rig too', [changes(top)]);

  // 4. Redis back, queue empty (the restarted server has no key: depth 0) → live again, staggered resume, best first.
  const resumes: string[] = [];
  lux.onChange((s) => !s.sleeping && resumes.push('lux1'));
  top.onChange((s) => !s.sleeping && resumes.push('top'));
  esp.onChange((s) => !s.paused && resumes.push('esp1'));
  await redis.restart();
  await tw.until(() => tw.status?.mode === 'live', 'live again after Redis returns');
  await when(() => resumes.length === 3, 'all three rigs resumed', [changes(lux), changes(top), changes(esp)]);
  t.same(resumes, ['top', 'esp1', 'lux1'], 'resumed best first: priority, then J/TH');
  // One 1,000 W rig per step, a step per resumeIntervalMs (1,000 ms): the controller's decision times, stamped by its own
  // clock as each rig's `since`, are at least a step apart. (What the planner decided, not how fast anything ran.)
  const order = ['e2e.top', 'e2e.esp1', 'e2e.lux1'];
  await tw.until(() => order.every((id) => rigOf(tw.status, id)?.state === 'running'), 'status shows all three running');
  const decidedAt = order.map((id) => rigOf(tw.status, id)!.since);
  for (let i = 1; i < decidedAt.length; i++)
    t.ok(decidedAt[i]! - decidedAt[i - 1]! >= 1000, `resume ${i + 1} decided a resume step after resume ${i}`);

  // 5. Shares flow again from every rig.
  const after = Object.fromEntries(Object.entries(miners).map(([k, m]) => [k, m.stats.accepted]));
  await Promise.all(
    Object.entries(miners).map(([k, m]) => m.waitFor(() => m.stats.accepted > after[k]! + 2, 20_000, `${k} submits again`)),
  );
  t.equal(tw.status!.curtailedRigs, 0, 'nothing curtailed at the end');
  t.notOk(
    tw.status!.rigs.some((x) => x.alert !== null),
    'no alerts',
  );

  // State back to the site: the status hash and the events.
  await when(() => events.some((e) => e.type === 'resume' && e.rig === 'e2e.lux1'), 'resume event published', [published]);
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
  const tw = tickWatch();
  const daemon = new Daemon(config, log, { signalSource: source, statusSink: null, onThrottleTick: tw.onTick });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const port = daemon.addresses()[0]!.port;
  const low = await rigMiner(t, port, 'p.low');
  const high = await rigMiner(t, port, 'p.high');
  await Promise.all([low, high].map((m) => m.waitFor(() => m.stats.accepted > 0, 20_000, 'mining')));
  await tw.until(() => tw.status?.rigs.length === 2, 'both rigs known');

  source.depth = 5; // GPUs need 500 W → ASIC budget 1,500 W → one rig parked: the low-priority one
  await tw.until(() => daemon.park.isParked('p.low'), 'p.low parked');
  await low.waitFor(() => low.stats.disconnects > 0, 20_000, 'p.low disconnected');
  // Every reconnect attempt is an event of the miner's; the daemon counts the refusal before it closes the socket.
  await low.waitFor(() => daemon.counters.refusedParked > 1, 20_000, 'its reconnects are refused');
  t.notOk(daemon.park.isParked('p.high'), 'p.high not parked');
  t.notOk(
    daemon.sessions().some((s) => s.workerNames[0] === 'p.low' && s.status === 'authorized'),
    'no live session for p.low',
  );
  const highBefore = high.stats.accepted;
  await high.waitFor(() => high.stats.accepted > highBefore + 2, 20_000, 'p.high keeps mining');

  source.depth = 0;
  await tw.until(() => !daemon.park.isParked('p.low'), 'p.low unparked');
  const lowBefore = low.stats.accepted;
  await low.waitFor(() => low.stats.accepted > lowBefore, 30_000, 'p.low reconnects and mines again');
  t.equal(rigOf(tw.status, 'p.low')?.state, 'running', 'status shows p.low running');
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
            driver: { type: 'luxos', host: '127.0.0.1', port: deaf.port, settle: INSTANT },
          },
          {
            name: 'good',
            match: { worker: 'v.good' },
            ratedWatts: 1000,
            ratedThs: 10,
            priority: 9,
            driver: { type: 'luxos', host: '127.0.0.1', port: good.port, settle: INSTANT },
          },
        ],
      },
    },
  });
  const tw = tickWatch();
  const events: ThrottleEvent[] = [];
  const daemon = new Daemon(config, log, {
    signalSource: source,
    statusSink: { publishStatus: () => {}, publishEvent: (e) => void events.push(e), close: () => {} },
    onThrottleTick: tw.onTick,
  });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const port = daemon.addresses()[0]!.port;
  await rigMiner(t, port, 'v.deaf');
  const goodMiner = await rigMiner(t, port, 'v.good');
  good.onChange((s) => (s.sleeping ? goodMiner.pause() : goodMiner.resume()));
  await tw.until(() => tw.status?.rigs.length === 2 && tw.status.rigs.every((r) => r.lastShareAt !== null), 'both rigs mining');

  source.depth = 5; // budget 1,500 W: the low-priority "deaf" rig is curtailed, but keeps submitting
  await when(() => deaf.state.sleeping, 'deaf told to sleep', [changes(deaf)]);
  await tw.until(() => rigOf(tw.status, 'v.deaf')?.alert === 'still-hashing', 'still-hashing alert');
  t.ok(
    events.some((e) => e.type === 'alert' && e.rig === 'v.deaf' && e.alert === 'still-hashing'),
    'alert event published',
  );
  t.equal(rigOf(tw.status, 'v.good')?.alert, null, 'the obedient rig has no alert');

  // No pool reachable: after the grace the daemon disconnects the miners, and the throttle curtails the
  // fleet through the firmware (stale work earns nothing; the power is worth more to the GPUs).
  await p.close();
  await tw.until(() => tw.status?.mode === 'no-pool', 'no-pool mode', 30_000);
  await when(() => good.state.sleeping, 'the good rig is put to sleep through its firmware', [changes(good)], 30_000);
  t.equal(tw.status!.budget.asicWatts, 0, 'ASIC budget 0 with no pool');
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
            driver: { type: 'luxos', host: '127.0.0.1', port: lux.port, settle: INSTANT },
          },
          { name: 'b', match: { worker: 's.park' }, ratedWatts: 1000, ratedThs: 10, driver: { type: 'stratum' } },
        ],
      },
    },
  });
  const tw = tickWatch();
  const daemon = new Daemon(config, log, { signalSource: source, statusSink: null, onThrottleTick: tw.onTick });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const port = daemon.addresses()[0]!.port;
  const a = await rigMiner(t, port, 's.lux');
  const b = await rigMiner(t, port, 's.park');
  await Promise.all([a, b].map((m) => m.waitFor(() => m.stats.accepted > 0, 20_000, 'mining')));
  await tw.until(() => tw.status?.rigs.length === 2, 'both rigs known');
  t.equal(tw.status!.mode, 'shadow', 'mode is shadow');
  source.depth = 20; // GPUs need all 2,000 W: live, both rigs would be curtailed
  await tw.until(() => tw.status?.budget.asicWatts === 0, 'budget follows the queue');
  const seen = tw.ticks;
  await tw.until(() => tw.ticks > seen + 5, 'several more ticks');
  t.notOk(lux.state.sleeping, 'the LuxOS rig was not put to sleep');
  t.equal(lux.commands.filter((c) => c.command === 'curtail').length, 0, 'no curtail command reached the firmware');
  t.notOk(daemon.park.isParked('s.park'), 'the Stratum rig was not parked');
  t.equal(b.stats.disconnects, 0, 'and not disconnected');
  t.equal(tw.status!.curtailedRigs, 0, 'status: nothing curtailed');
});

t.test(
  'booting rigs (0 GH/s, not asleep) stay counted as running; a rig asleep before the restart is taken as curtailed and woken',
  async (t) => {
    // Issue 11: rigs in their first seconds report 0 GH/s. Taken as curtailed, they drew full power outside the
    // budget, and the next depth step curtailed nothing.
    const p = await pool(t, { lifetimeMs: 60_000 });
    const source = scriptedSource();
    const lux = await startLuxosSim({ booting: true });
    const esp = await startEspMinerSim({ booting: true });
    const slept = await startLuxosSim({ sleeping: true }); // put to sleep by hashgate before its restart
    t.teardown(() => Promise.all([lux.close(), esp.close(), slept.close()]));
    const rig = (name: string, priority: number, driver: Record<string, unknown>) => ({
      name,
      match: { worker: `b.${name}` },
      ratedWatts: 1000,
      ratedThs: 10,
      priority,
      driver: { host: '127.0.0.1', ...driver },
    });
    const config = buildConfig({
      file: {
        name: 'booting',
        value: {
          ...onePool(p.port),
          throttle: { ...SMALL_SITE, siteBudgetWatts: 3000, gpu: { ...SMALL_SITE.gpu, maxWatts: 3000 } },
          rigs: [
            rig('lux', 0, { type: 'luxos', port: lux.port }),
            rig('esp', 1, { type: 'esp-miner', port: esp.port }),
            rig('slept', 9, { type: 'luxos', port: slept.port }),
          ],
        },
      },
    });
    const tw = tickWatch();
    const events: ThrottleEvent[] = [];
    const daemon = new Daemon(config, log, {
      signalSource: source,
      statusSink: { publishStatus: () => {}, publishEvent: (e) => void events.push(e), close: () => {} },
      onThrottleTick: tw.onTick,
    });
    await daemon.start();
    t.teardown(() => daemon.stop());
    const port = daemon.addresses()[0]!.port;
    const miners = {
      lux: await rigMiner(t, port, 'b.lux'),
      esp: await rigMiner(t, port, 'b.esp'),
      slept: await rigMiner(t, port, 'b.slept'),
    };
    miners.slept.pause(); // its boards are off
    lux.onChange((s) => (s.sleeping ? miners.lux.pause() : miners.lux.resume()));
    esp.onChange((s) => (s.paused ? miners.esp.pause() : miners.esp.resume()));
    slept.onChange((s) => (s.sleeping ? miners.slept.pause() : miners.slept.resume()));

    // Depth 0: 3,000 W for three 1,000 W rigs. The sleeping rig is found asleep and woken; the booting ones are left be.
    await when(() => !slept.state.sleeping, 'the rig asleep before the restart is woken', [changes(slept)], 30_000);
    await tw.until(() => ['lux', 'esp', 'slept'].every((id) => rigOf(tw.status, `b.${id}`)?.state === 'running'), 'all three running');
    // Taken as curtailed (its firmware says CurtailMode Sleep), then resumed: a resume decision, published.
    await tw.until(() => events.some((e) => e.type === 'resume' && e.rig === 'b.slept'), 'resume event for the sleeping rig');
    t.notOk(
      events.some((e) => 'rig' in e && (e.rig === 'b.lux' || e.rig === 'b.esp')),
      'no decision about the booting rigs',
    );
    t.equal(lux.commands.filter((c) => c.command === 'curtail').length, 0, 'no wakeup sent to the booting LuxOS rig');
    t.notOk(
      esp.requests.some((r) => r.method === 'POST'),
      'no resume sent to the booting ESP-Miner rig',
    );
    t.ok(lux.state.booting && esp.state.booting, 'both still booting');
    t.notOk(
      events.some((e) => e.type === 'alert' && e.alert === 'driver-error'),
      'no driver errors',
    );

    // Depth 10: GPUs need 1,000 W → ASIC budget 2,000 W: one rig must go, and it does (the lowest priority).
    source.depth = 10;
    await when(() => lux.state.sleeping, 'the lowest-priority rig is put to sleep', [changes(lux)], 30_000);
    t.notOk(esp.state.paused, 'esp keeps running');
    t.notOk(slept.state.sleeping, 'slept keeps running');
  },
);
