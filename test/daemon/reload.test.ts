/**
 * SIGHUP reload (Daemon.reload) over real TCP with simulated pools and miners: sessions on a removed
 * pool move to the new list (set_extranonce for miners that subscribed to it, client.reconnect for the
 * others), sessions on a kept pool are untouched and follow the new order on their next failover.
 * Also: the pool-loss log lines (one warn, per-miner closes at debug).
 */
import { Writable } from 'node:stream';
import t from 'tap';
import { auditFiles } from '../../src/audit/run.js';
import { buildConfig, type Config } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { SimPool } from '../../src/sim/sim-pool.js';
import { createLogger, type LogLevel } from '../../src/util/log.js';
import { miner, pool, records } from '../helpers/sim.js';
import { type Tap, tempJournal } from './helpers.js';
import { until } from './raw.js';

type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A daemon on 127.0.0.1 port 0 whose JSON log lines are collected. */
async function startLogged(
  t: Tap,
  pools: SimPool[],
  flags: Record<string, unknown> = {},
  level: LogLevel = 'info',
): Promise<{ daemon: Daemon; port: number; config: Config; journal: string; logs: LogLine[] }> {
  const journal = tempJournal();
  const logs: LogLine[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  const base = buildConfig({
    flags: {
      listen: ['127.0.0.1:1'],
      pool: pools.map((p) => `stratum+tcp://127.0.0.1:${p.port}`),
      'backoff-base-ms': 10,
      'backoff-max-ms': 100,
      journal,
      ...flags,
    },
  });
  const config = { ...base, listen: [{ host: '127.0.0.1', port: 0 }] } as Config;
  const daemon = new Daemon(config, createLogger({ level, destination: sink }));
  await daemon.start();
  t.teardown(() => daemon.stop());
  return { daemon, port: daemon.addresses()[0]!.port, config, journal, logs };
}

/** The same config with another pool list (as a SIGHUP with an edited config file would load). */
function withPools(config: Config, pools: SimPool[]): Config {
  const next = buildConfig({ flags: { listen: ['127.0.0.1:1'], pool: pools.map((p) => `stratum+tcp://127.0.0.1:${p.port}`) } });
  return { ...config, pools: next.pools };
}

const accepted = (p: SimPool, worker: string) => p.stats.byWorker[worker]?.accepted ?? 0;

t.test('reload without the active pool: sessions move to the new list and keep mining there', async (t) => {
  // The first pool answers slowly, so submits are in flight when the reload comes.
  const first = await pool(t, { answerDelayMs: 100 });
  const second = await pool(t);
  const { daemon, port, config, journal, logs } = await startLogged(t, [first, second]);
  // One miner that takes mining.set_extranonce, one that does not.
  const sub = await miner(t, port, { user: 'rig.sub', extranonceSubscribe: true, sharesPerSecond: 20 });
  const plain = await miner(t, port, { user: 'rig.plain', sharesPerSecond: 20 });
  await first.waitFor(() => accepted(first, 'rig.sub') >= 2 && accepted(first, 'rig.plain') >= 2, 10_000, 'both mining on the first pool');
  t.equal(second.stats.connections, 0, 'nobody on the second pool yet');
  const en1Before = sub.stats.extranonce1;
  const cleanBefore = sub.stats.cleanJobs;
  const plainReconnect = new Promise<void>((resolve) => plain.events.once('reconnectRequested', () => resolve()));
  await until(() => daemon.sessions().some((s) => s.inflightSubmits > 0), 5000, 'a submit in flight at the first pool');
  const inflight = daemon.sessions().reduce((n, s) => n + s.inflightSubmits, 0);

  const result = await daemon.reload(withPools(config, [second]));
  t.same(result, { kept: 0, moved: 2 }, 'both sessions move');
  const line = logs.find((l) => l.msg === 'reloaded: journal reopened');
  t.match(
    line,
    { level: 'info', sessions: 2, kept: 0, moved: 2, pools: [`stratum+tcp://127.0.0.1:${second.port}`] },
    'the reload line counts them',
  );

  await first.waitFor(() => first.stats.active === 0, 10_000, 'every upstream left the removed pool');
  await t.resolves(plainReconnect, 'the miner without extranonce.subscribe is told client.reconnect');
  await second.waitFor(
    () => accepted(second, 'rig.sub') >= 3 && accepted(second, 'rig.plain') >= 3,
    10_000,
    'both miners get shares accepted on the second pool',
  );
  t.equal(sub.stats.connects, 1, 'the set_extranonce miner kept its TCP connection to hashgate');
  t.equal(sub.stats.disconnects, 0);
  t.equal(sub.stats.reconnects, 0);
  t.not(sub.stats.extranonce1, en1Before, 'it got the new pool extranonce1 through mining.set_extranonce');
  t.ok(sub.stats.cleanJobs > cleanBefore, 'and fresh work with clean_jobs');
  t.equal(plain.stats.reconnects, 1, 'the other one reconnected to hashgate once');
  t.equal(plain.stats.connects, 2);
  t.equal(first.stats.connections, 2, 'no new connection to the removed pool');
  // Without the drain they would be answered [20, "Pool connection lost"] when the connection drops.
  t.ok(inflight > 0, `submits were in flight at the reload (${inflight})`);
  t.same(
    [...sub.shares, ...plain.shares].filter((s) => s.message === 'Pool connection lost'),
    [],
    "submits in flight at the reload got the removed pool's answer before the move",
  );
  t.equal(daemon.sessions().length, 2);
  t.ok(
    daemon.sessions().every((s) => s.poolConnected),
    'every session is on a pool',
  );

  await daemon.stop();
  const shares = records(journal).filter((r) => r.t === 'share');
  t.ok(
    shares.some((r) => r.pv === 'accepted'),
    'shares journaled',
  );
  const sess = records(journal).filter((r) => r.t === 'sess');
  t.ok(
    sess.some((r) => r.pool === `stratum+tcp://127.0.0.1:${second.port}` && r.w === 'rig.sub'),
    'the moved session is re-recorded with its new pool and extranonce1',
  );
  const audit = await auditFiles([journal]);
  t.equal(audit.mismatches.count, 0, 'the journal audits without mismatch across the move');
  t.equal(audit.problems.count, 0);
});

t.test('reload that keeps the active pool: sessions untouched, the new order used on the next failover', async (t) => {
  const kept = await pool(t);
  const dropped = await pool(t);
  const added = await pool(t);
  const { daemon, port, config, logs } = await startLogged(t, [kept, dropped]);
  const m = await miner(t, port, { user: 'rig.kept', extranonceSubscribe: true, sharesPerSecond: 20 });
  await kept.waitFor(() => accepted(kept, 'rig.kept') >= 2, 10_000, 'mining on the kept pool');
  const connections = kept.stats.connections;

  const result = await daemon.reload(withPools(config, [kept, added]));
  t.same(result, { kept: 1, moved: 0 });
  t.match(
    logs.find((l) => l.msg === 'reloaded: journal reopened'),
    { kept: 1, moved: 0 },
  );
  const before = accepted(kept, 'rig.kept');
  await kept.waitFor(() => accepted(kept, 'rig.kept') >= before + 3, 10_000, 'still mining on the kept pool');
  t.equal(kept.stats.connections, connections, 'the pool connection was not touched');
  t.equal(m.stats.connects, 1, 'the miner connection was not touched');
  t.equal(m.stats.disconnects, 0);
  t.equal(added.stats.connections, 0, 'nothing moved to the new pool');

  await kept.kill();
  await added.waitFor(() => accepted(added, 'rig.kept') >= 2, 10_000, 'failover follows the new list');
  t.equal(dropped.stats.connections, 0, 'the removed backup is never used');
  t.equal(m.stats.connects, 1, 'failover with set_extranonce: the miner stayed connected');
});

t.test('reload while the only pool is down: sessions retrying it go to the new pool instead', async (t) => {
  const dead = await pool(t);
  const fresh = await pool(t);
  const { daemon, port, config } = await startLogged(t, [dead]);
  const m = await miner(t, port, { user: 'rig.wait', extranonceSubscribe: true, sharesPerSecond: 20 });
  await dead.waitFor(() => accepted(dead, 'rig.wait') >= 1, 10_000, 'mining before the pool dies');
  await dead.kill();
  await until(() => daemon.sessions().every((s) => !s.poolConnected), 5000, 'the session lost its pool and is retrying');
  t.same(await daemon.reload(withPools(config, [fresh])), { kept: 0, moved: 1 });
  await fresh.waitFor(() => accepted(fresh, 'rig.wait') >= 2, 10_000, 'mining on the new pool');
  t.equal(m.stats.connects, 1, 'the miner stayed connected throughout');
  t.equal(daemon.counters.noPoolEpisodes, 0, 'never declared "no pool reachable"');
});

t.test('pool loss: one warn line with the count, the per-miner closes at debug', async (t) => {
  const p = await pool(t);
  const { daemon, port, logs } = await startLogged(t, [p], { 'pool-loss-grace-ms': 300 }, 'debug');
  const miners = [];
  for (let i = 0; i < 3; i++) miners.push(await miner(t, port, { user: `rig${i}`, maxShares: 1 }));
  for (const m of miners) await m.waitFor(() => m.stats.accepted >= 1, 10_000, 'accepted before the loss');
  await p.kill();
  for (const m of miners) await m.waitFor(() => !m.stats.connected, 5000, 'miner disconnected after the grace');
  t.equal(daemon.counters.noPoolDisconnects, 3);
  const closing = logs.filter((l) => l.msg === 'closing miner connection');
  t.equal(closing.length, 3, 'one close line per miner');
  t.ok(
    closing.every((l) => l.level === 'debug' && l.reason === 'no pool reachable'),
    'all at debug',
  );
  const warn = logs.filter((l) => l.level === 'warn' && typeof l.msg === 'string' && l.msg.startsWith('no pool reachable: disconnecting'));
  t.equal(warn.length, 1, 'a single warn line');
  t.match(warn[0], { miners: 3 }, 'with the count');
});
