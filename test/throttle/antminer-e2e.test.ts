/**
 * The `antminer` driver end to end: simulated miners that really hash, through the real daemon and planner, with
 * two stock-Antminer simulators (web CGI behind digest auth + the 4028 API; the second with 4028 off). A booting rig (0 GH/s, normal work
 * mode) stays counted as running and gets no write; the queue rising takes the lowest-priority rig to its low-power
 * work mode (the power target), then to sleep; the queue draining wakes it (normal mode). The simulators answer a
 * write after a short delay and restart their miner process, as the firmware does (shortened here).
 *
 * No test sleeps: every wait is on an event (a simulator's onChange, the controller's onTick), each bounded.
 */

import t from 'tap';
import { buildConfig } from '../../src/config/index.js';
import { type AntminerSim, startAntminerSim } from '../../src/sim/antminer-sim.js';
import type { SimMiner } from '../../src/sim/sim-miner.js';
import { pool } from '../helpers/sim.js';
import { changes, rigMiner, rigOf, scriptedSource, startThrottled } from './e2e-kit.js';
import { when } from './wait.js';

/** The sim stands for the hashboards: sleep (work mode 1) = the simulated miner stops hashing. */
function follow(sim: AntminerSim, m: SimMiner): void {
  sim.onChange((s) => (s.workMode === '1' ? m.pause() : m.resume()));
}

t.test('antminer: booting rig left running; queue up → low-power mode, then sleep; queue drained → normal', async (t) => {
  const p = await pool(t, { lifetimeMs: 60_000 });
  const source = scriptedSource();
  const sims = {
    low: await startAntminerSim({ booting: true, replyDelayMs: 30, restartMs: 60 }),
    // A build shipped with the 4028 API off: its state is read through the web summary.
    top: await startAntminerSim({ replyDelayMs: 30, restartMs: 60, api: false }),
  };
  t.teardown(() => Promise.all([sims.low.close(), sims.top.close()]));
  const rig = (name: 'low' | 'top', priority: number, lowPowerWatts: number | null) => ({
    name,
    match: { worker: `a.${name}` },
    ratedWatts: 1000,
    ratedThs: 10,
    priority,
    driver: {
      type: 'antminer',
      host: '127.0.0.1',
      webPort: sims[name].port,
      apiPort: sims[name].apiPort,
      lowPowerWatts,
      timeoutMs: 2000,
      writeTimeoutMs: 5000,
      // The controller keeps a rig out of planning for its settle window after each command (1–5 min by default
      // for antminer, src/throttle/drivers/timing.ts); the sims settle at once, so the walk runs in a second.
      settle: { curtailMs: 0, resumeMs: 0, powerMs: 0 },
    },
  });
  const config = buildConfig({
    file: {
      name: 'antminer-e2e',
      value: {
        listen: ['127.0.0.1:0'],
        pools: [`stratum+tcp://127.0.0.1:${p.port}`],
        admin: { listen: null },
        throttle: {
          enabled: true,
          intervalMs: 100,
          siteBudgetWatts: 2000,
          headroomPercent: 0,
          gpu: { idleWatts: 0, wattsPerRequest: 100, maxWatts: 2000 },
          planner: { hysteresisWatts: 0, minOnMs: 0, minOffMs: 0, resumeIntervalMs: 0 },
        },
        rigs: [rig('low', 0, 700), rig('top', 5, null)],
      },
    },
  });
  const { port, events, tw } = await startThrottled(t, config, source);
  const miners = { low: await rigMiner(t, port, 'a.low'), top: await rigMiner(t, port, 'a.top') };
  follow(sims.low, miners.low);
  follow(sims.top, miners.top);
  const stateOf = (id: string) => rigOf(tw.status, id)?.state;

  // Depth 0: both running; the booting rig (0 GH/s, normal mode) is not taken as asleep, so nothing is written to it.
  await tw.until(() => stateOf('a.low') === 'running' && stateOf('a.top') === 'running', 'both rigs running');
  t.notOk(
    sims.low.requests.some((r) => r.startsWith('POST')),
    'no write to the booting rig',
  );
  t.ok(sims.low.state.booting, 'still booting');
  sims.low.setBooting(false);

  // Depth 3: GPUs 300 W → ASIC budget 1,700 W: the low-priority rig goes to its 700 W low-power mode.
  source.depth = 3;
  await when(() => sims.low.state.workMode === '3', 'low-power mode written', [changes(sims.low)]);
  await tw.until(() => stateOf('a.low') === 'reduced', 'status shows the rig reduced');
  t.equal(sims.top.state.workMode, '0', 'the priority rig keeps running');

  // Depth 10: ASIC budget 1,000 W: the low-priority rig sleeps.
  source.depth = 10;
  await when(() => sims.low.state.workMode === '1', 'sleep written', [changes(sims.low)]);
  await tw.until(() => stateOf('a.low') === 'curtailed', 'status shows the rig curtailed');
  t.ok(miners.low.stats.connected, 'its Stratum session stays up');

  // Depth 0: back to normal.
  source.depth = 0;
  await when(() => sims.low.state.workMode === '0', 'normal mode written', [changes(sims.low)]);
  await tw.until(() => stateOf('a.low') === 'running', 'status shows the rig running');
  t.equal(sims.top.state.workMode, '0');
  t.notOk(
    events.some((e) => e.type === 'alert' && e.alert === 'driver-error'),
    'no driver errors',
  );
  t.ok(sims.top.requests.includes('GET summary'), 'the rig without 4028 was read through the web summary');
  t.same(
    sims.low.requests.filter((r) => r.startsWith('POST') && !r.endsWith('401')),
    ['POST set_miner_conf', 'POST set_miner_conf', 'POST set_miner_conf'],
    'three writes: low power, sleep, normal',
  );
});
