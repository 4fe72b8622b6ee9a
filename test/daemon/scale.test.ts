/** 1,000 concurrent simulated miners through one daemon (real TCP on 127.0.0.1), bounded in time. */
import t from 'tap';
import { type SimMiner, startSimMiner } from '../../src/sim/sim-miner.js';
import { startSimPool } from '../../src/sim/sim-pool.js';
import { startDaemon } from './helpers.js';
import { until } from './raw.js';

const MINERS = 1000;
const BATCH = 100;

t.test(`${MINERS} concurrent miners: all connect, subscribe, authorize and get a share accepted`, async (t) => {
  const p = await startSimPool({ lifetimeMs: 60_000 });
  t.teardown(() => p.close());
  const { port, daemon } = await startDaemon(t, [p.port], {
    journal: null,
    'max-connections': MINERS + 10,
    'max-connections-per-ip': MINERS + 10,
  });
  const heapBefore = process.memoryUsage().heapUsed;
  const miners: SimMiner[] = [];
  t.teardown(() => Promise.all(miners.map((m) => m.close())));
  // Connect in batches so the listen backlog never overflows; each miner stops after one share.
  for (let i = 0; i < MINERS; i += BATCH) {
    const batch = await Promise.all(
      Array.from({ length: BATCH }, (_, j) =>
        // A generous connect deadline: 100 connects at once on a loaded 2-core machine can take seconds.
        startSimMiner({ port, user: `rig${i + j}`, maxShares: 1, maxHashRate: 5000, lifetimeMs: 30_000, connectTimeoutMs: 20_000 }),
      ),
    );
    miners.push(...batch);
  }
  await until(() => miners.every((m) => m.stats.accepted >= 1), 60_000, 'every miner has a share accepted');
  t.equal(miners.filter((m) => m.stats.authorized).length, MINERS, 'all authorized');
  t.equal(p.stats.accepted, MINERS, 'one accepted share per miner at the pool');
  t.equal(daemon.counters.active, MINERS);
  t.equal(daemon.sessions().length, MINERS);
  t.equal(p.stats.active, MINERS, 'one pool connection per miner (passthrough)');
  const perMiner = (process.memoryUsage().heapUsed - heapBefore) / MINERS;
  // Miners, pool and daemon share this heap; a leak or per-connection blow-up would show here.
  t.ok(perMiner < 256 * 1024, `heap per miner (all three sides) ${Math.round(perMiner / 1024)} KiB < 256 KiB`);
  await Promise.all(miners.map((m) => m.close()));
  await until(() => daemon.counters.active === 0, 10_000, 'every connection released');
  await until(() => p.stats.active === 0, 10_000, 'every pool connection released');
  t.equal(daemon.sessions().length, 0);
});
