/**
 * The `whatsminer` driver end to end: simulated miners that really hash, through the real daemon and planner, with
 * Whatsminer simulators (src/sim/whatsminer-sim.ts) behind the rigs' driver blocks, once over API 2.x (TCP 4028
 * style, AES token writes) and once over API 3.x (framed JSON, salted token). The queue rising takes the
 * lowest-priority rig to its configured power target (adjust_power_limit / set.miner.power_limit, which restarts
 * btminer in the simulator), then off (power_off with respbefore: the boards stop after the reply; 3.x
 * set.miner.service stop); the queue draining brings it back (the power limit from before, then power_on, which
 * boots btminer before it hashes). The drivers' settle windows are set to 0 in the config, so the controller does
 * not keep the rig out of planning for the minutes a real Whatsminer takes.
 *
 * No test sleeps: every wait is on an event (a simulator's onChange, the controller's onTick), each bounded.
 */

import t, { type Test } from 'tap';
import { buildConfig } from '../../src/config/index.js';
import type { SimMiner } from '../../src/sim/sim-miner.js';
import { startWhatsminerSim, type WhatsminerSim } from '../../src/sim/whatsminer-sim.js';
import type { ThrottleEvent } from '../../src/throttle/types.js';
import { pool } from '../helpers/sim.js';
import { changes, INSTANT, onePool, rigMiner, rigOf, scriptedSource, SMALL_SITE, startThrottled } from './e2e-kit.js';
import { when } from './wait.js';

const PASSWORD = 'e2e_Pw_7';

/** The sim stands for the hashboards: boards stopped or booting = the simulated miner stops hashing. */
function follow(sim: WhatsminerSim, m: SimMiner): void {
  sim.onChange((s) => (s.hashing ? m.resume() : m.pause()));
}

interface Fixture {
  readonly sims: { readonly low: WhatsminerSim; readonly top: WhatsminerSim };
  readonly miners: { readonly low: SimMiner; readonly top: SimMiner };
  readonly source: { depth: number };
  readonly events: ThrottleEvent[];
  readonly tw: Awaited<ReturnType<typeof startThrottled>>['tw'];
}

/** A pool, two Whatsminer sims (1,000 W each; "low" has a 700 W power target), the daemon throttling them, two miners. */
/**
 * "auto": the rigs' API found by the driver's probes, so the sims serve the real ports (4028, and 4433 for 3.x) on
 * their own loopback addresses, as rigs do on theirs.
 */
const AUTO_HOSTS = { low: '127.0.0.77', top: '127.0.0.78' } as const;

async function setUp(
  t: Test,
  apiVersion: '2' | '3' | 'auto',
  rigApi: '2' | '3' = apiVersion === 'auto' ? '2' : apiVersion,
): Promise<Fixture> {
  const p = await pool(t, { lifetimeMs: 60_000 });
  const source = scriptedSource();
  const simOptions = { password: PASSWORD, ratedWatts: 1000, ratedThs: 10, idleWatts: 10, api3: rigApi === '3' };
  const at = (name: 'low' | 'top') => (apiVersion === 'auto' ? { host: AUTO_HOSTS[name], port: 4028, port3: 4433 } : {});
  const sims = {
    // The boards stop 30 ms after power_off's reply; btminer boots 60 ms after power_on or a power limit.
    low: await startWhatsminerSim({ ...simOptions, ...at('low'), powerOffDelayMs: 30, resumeDelayMs: 60, limitRestartMs: 60 }),
    top: await startWhatsminerSim({ ...simOptions, ...at('top'), resumeDelayMs: 60 }),
  };
  t.teardown(() => Promise.all([sims.low.close(), sims.top.close()]));
  const rig = (name: 'low' | 'top', priority: number, powerTargets: number[]) => ({
    name,
    match: { worker: `w.${name}` },
    ratedWatts: 1000,
    ratedThs: 10,
    idleWatts: 10,
    priority,
    driver: {
      type: 'whatsminer',
      host: sims[name].host,
      port: apiVersion === 'auto' ? null : apiVersion === '3' ? sims[name].port3 : sims[name].port,
      apiVersion,
      password: PASSWORD,
      powerTargets,
      timeoutMs: 2000,
      // The controller keeps a rig out of planning for its settle window after each command (30 s to 5 min by
      // default for whatsminer, src/throttle/drivers/timing.ts); the sims boot in milliseconds.
      settle: INSTANT,
    },
  });
  const config = buildConfig({
    file: {
      name: `whatsminer-e2e-${apiVersion}`,
      value: { ...onePool(p.port), throttle: SMALL_SITE, rigs: [rig('low', 0, [700]), rig('top', 5, [])] },
    },
  });
  const { port, events, tw } = await startThrottled(t, config, source);
  const miners = { low: await rigMiner(t, port, 'w.low'), top: await rigMiner(t, port, 'w.top') };
  follow(sims.low, miners.low);
  follow(sims.top, miners.top);
  return { sims, miners, source, events, tw };
}

/** Queue up: power target, then off; queue drained: back to the limit from before and on. */
async function curtailAndResume(t: Test, f: Fixture): Promise<void> {
  const { sims, miners, source, tw } = f;
  const stateOf = (id: string) => rigOf(tw.status, id)?.state;
  await tw.until(() => stateOf('w.low') === 'running' && stateOf('w.top') === 'running', 'both rigs running');

  // Depth 3: GPUs 300 W → ASIC budget 1,700 W: the low-priority rig goes to its 700 W power target.
  source.depth = 3;
  await when(() => sims.low.state.powerLimit === 700, 'power limit 700 W written', [changes(sims.low)]);
  await tw.until(() => stateOf('w.low') === 'reduced', 'status shows the rig reduced');
  await when(() => sims.low.state.hashing, 'hashing again after the restart the power limit caused', [changes(sims.low)]);
  t.equal(sims.low.state.watts, 700, 'draws its target');
  t.equal(sims.top.state.powerLimit, 1000, 'the priority rig keeps running at full power');

  // Depth 9: ASIC budget 1,100 W: the low-priority rig is powered off (its 10 W idle + 1,000 W fit, 700 + 1,000 do not).
  source.depth = 9;
  await when(() => sims.low.state.mineroff, 'power off written', [changes(sims.low)]);
  await when(() => !sims.low.state.hashing, 'boards stopped', [changes(sims.low)]);
  await tw.until(() => stateOf('w.low') === 'curtailed', 'status shows the rig curtailed');
  t.ok(miners.low.stats.connected, 'its Stratum session stays up');

  // Depth 0: back to full power.
  source.depth = 0;
  await when(() => !sims.low.state.mineroff && sims.low.state.powerLimit === 1000, 'limit restored and powered on', [changes(sims.low)]);
  await tw.until(() => stateOf('w.low') === 'running', 'status shows the rig running');
  await when(() => sims.low.state.hashing, 'hashing after the boot', [changes(sims.low)]);
  t.equal(sims.top.state.mineroff, false);
  t.ok(!f.events.some((e) => e.type === 'alert' && e.alert === 'driver-error'), 'no driver errors');
}

const writes = (sim: WhatsminerSim, names: readonly string[]) =>
  sim.commands.filter((c) => names.includes(c.cmd)).map((c) => `${c.cmd} ${String(c.fields.power_limit ?? c.fields.param ?? '')}`.trim());

t.test('whatsminer API 2.x: queue up → power target, then power_off; queue drained → limit restored, power_on', async (t) => {
  const f = await setUp(t, '2');
  await curtailAndResume(t, f);
  t.same(
    writes(f.sims.low, ['adjust_power_limit', 'power_off', 'power_on']),
    ['adjust_power_limit 700', 'power_off', 'adjust_power_limit 1000', 'power_on'],
    'a power_on only where the boards were off (status said mineroff "false" at start-up)',
  );
  const written = f.sims.low.commands.filter((c) => ['adjust_power_limit', 'power_off', 'power_on'].includes(c.cmd));
  t.ok(
    written.every((c) => c.encrypted),
    'every write AES-encrypted with a token',
  );
  t.same(writes(f.sims.top, ['adjust_power_limit', 'power_off', 'power_on']), [], 'nothing written to the priority rig');
});

t.test('whatsminer API 3.x: queue up → power target, then service stop; queue drained → limit restored, start', async (t) => {
  const f = await setUp(t, '3');
  await curtailAndResume(t, f);
  t.same(writes(f.sims.low, ['set.miner.power_limit', 'set.miner.service']), [
    'set.miner.power_limit 700',
    'set.miner.service stop',
    'set.miner.power_limit 1000',
    'set.miner.service start',
  ]);
  t.ok(
    f.sims.low.commands.every((c) => c.api === '3'),
    'API 3.x only',
  );
  t.same(writes(f.sims.top, ['set.miner.power_limit', 'set.miner.service']), [], 'nothing written to the priority rig');
});

t.test('whatsminer apiVersion auto: a 2.x rig and a 3.x rig found by their ports, then driven end to end', async (t) => {
  for (const rigApi of ['2', '3'] as const) {
    await t.test(`a ${rigApi}.x rig`, async (t) => {
      const f = await setUp(t, 'auto', rigApi);
      await curtailAndResume(t, f);
      const names = rigApi === '2' ? ['adjust_power_limit', 'power_off', 'power_on'] : ['set.miner.power_limit', 'set.miner.service'];
      const written = f.sims.low.commands.filter((c) => names.includes(c.cmd));
      t.ok(written.length >= 4, `the ${rigApi}.x commands were used`);
      t.ok(
        written.every((c) => c.api === rigApi),
        `every write through API ${rigApi}.x`,
      );
    });
  }
});
