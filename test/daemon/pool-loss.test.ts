/** No pool reachable at all: miners disconnected after failover.poolLossGraceMs, new ones refused, state in the counters. */
import t from 'tap';
import { type SimMiner, startSimMiner } from '../../src/sim/sim-miner.js';
import { startSimPool } from '../../src/sim/sim-pool.js';
import { startDaemon } from './helpers.js';
import { rawClient, until, within } from './raw.js';

t.test('pool killed and never back: miners disconnected once, new miners refused, counters say so', async (t) => {
  const p = await startSimPool();
  t.teardown(() => p.close());
  const { port, daemon } = await startDaemon(t, [p.port], { 'pool-loss-grace-ms': 300 });
  const miners: SimMiner[] = [];
  for (let i = 0; i < 3; i++) {
    const m = await startSimMiner({ port, user: `rig${i}`, maxShares: 1 });
    t.teardown(() => m.close());
    miners.push(m);
  }
  for (const m of miners) await m.waitFor(() => m.stats.accepted >= 1, 10_000, 'accepted before the loss');
  t.equal(daemon.counters.noPoolReachable, 0);
  await p.kill();
  for (const m of miners) await m.waitFor(() => !m.stats.connected, 5000, 'miner disconnected after the grace');
  t.equal(daemon.counters.noPoolReachable, 1, 'state exposed');
  t.equal(daemon.counters.noPoolEpisodes, 1, 'one episode (logged once at warn with the count)');
  t.equal(daemon.counters.noPoolDisconnects, 3, 'every miner counted once');
  await until(() => daemon.sessions().length === 0, 5000, 'sessions freed');
  const late = await rawClient(t, port);
  await within(late.closed, 5000, 'a new miner is refused while no pool is up');
  t.equal(daemon.counters.refusedNoPool, 1);
});

t.test('pool back after the loss: the daemon accepts miners again', async (t) => {
  const p = await startSimPool();
  t.teardown(() => p.close());
  const { port, daemon } = await startDaemon(t, [p.port], { 'pool-loss-grace-ms': 200 });
  const m = await startSimMiner({ port, user: 'rig', maxShares: 1 });
  t.teardown(() => m.close());
  await m.waitFor(() => m.stats.accepted >= 1, 10_000, 'accepted');
  await p.kill();
  await m.waitFor(() => !m.stats.connected, 5000, 'disconnected');
  t.equal(daemon.counters.noPoolReachable, 1);
  await p.restart();
  const again = await startSimMiner({ port, user: 'rig2', maxShares: 1, reconnectAttempts: 50, autoReconnect: true });
  t.teardown(() => again.close());
  await again.waitFor(() => again.stats.accepted >= 1, 10_000, 'a miner works again once the pool is back');
  t.equal(daemon.counters.noPoolReachable, 0);
});
