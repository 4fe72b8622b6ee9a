/**
 * Telemetry difficulty end to end (issue 12 §1): simulated miners that really hash, through the real daemon, to the
 * simulated pool, with `shares.localDifficulty` on. The miner is told a difficulty far under the pool's and sends
 * many more shares; hashgate answers the ones below the pool's difficulty itself and forwards the rest. The pool's
 * own share log is then exactly the miner's shares that meet the pool's difficulty, share by share, in order: the
 * pool sees what it would have seen without hashgate. Both firmware behaviours are covered: a set_difficulty
 * applied at once, and at the next notify (cgminer, bmminer, ESP-Miner).
 *
 * No sleeps: every wait is on the simulators' events, bounded.
 */

import t from 'tap';
import { buildConfig, type Config } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/util/log.js';
import { miner, pool } from '../helpers/sim.js';

/** The pool's difficulty: about one share a second from a miner hashing 4,000 H/s (1e-6 × 2^32 ≈ 4,300 hashes a share). */
const POOL_DIFFICULTY = 1e-6;

for (const difficultyTiming of ['immediate', 'next-notify'] as const) {
  t.test(
    `local difficulty (${difficultyTiming}): the pool's share log is exactly the miner's shares that meet the pool difficulty`,
    async (t) => {
      // A new job every second, as a busy pool sends them: a local difficulty change takes effect on the next one.
      const p = await pool(t, { difficulty: POOL_DIFFICULTY, jobIntervalMs: 1000, lifetimeMs: 60_000 });
      const base = buildConfig({
        file: {
          name: 'local-difficulty.json',
          value: {
            listen: ['127.0.0.1:1'],
            pools: [`stratum+tcp://127.0.0.1:${p.port}`],
            admin: { listen: null },
            // The local share rate is far above a real rig's default here; the flood limit must let it through.
            limits: { submitsPerSecond: 1000, submitBurst: 1000 },
            // 20 shares a second at the local difficulty: a few seconds give plenty of both kinds.
            shares: {
              localDifficulty: {
                enabled: true,
                targetSharesPerMinute: 1200,
                minDifficulty: 1e-12,
                startDifficulty: 1e-7,
                minRetargetSeconds: 1,
              },
            },
          },
        },
      });
      const config = { ...base, listen: [{ host: '127.0.0.1', port: 0 }] } as Config;
      const daemon = new Daemon(config, createLogger({ level: 'silent' }), {});
      await daemon.start();
      t.teardown(() => daemon.stop());
      const m = await miner(t, daemon.addresses()[0]!.port, { maxHashRate: 4000, difficultyTiming, lifetimeMs: 60_000 });
      // What the simulated miner really hashed, sampled at each submit: the truth the estimate is held to.
      const hashed: [number, number][] = [];
      m.events.on('submit', () => hashed.push([Date.now(), m.stats.hashes]));

      await m.waitFor(() => p.shareLog().length >= 8 && m.stats.accepted >= 60, 40_000, 'shares of both kinds');
      // Let every submit in flight be answered before comparing.
      await m.waitFor(() => m.shares.every((s) => s.status !== undefined), 20_000, 'every submit answered');

      t.ok(m.stats.difficulty! < POOL_DIFFICULTY / 4, `the miner works well under the pool difficulty (${m.stats.difficulty})`);
      const mined = m.shares.filter((s) => s.hash !== undefined);
      t.ok(
        mined.every((s) => s.status === 'accepted'),
        'every share the miner found was answered true',
      );
      const expected = mined.filter((s) => s.shareDifficulty! >= POOL_DIFFICULTY).map((s) => s.hash);
      const seen = p.shareLog().map((s) => s.hash);
      t.same(seen, expected, 'the pool saw exactly the shares that meet its difficulty, in order');
      t.ok(
        p.shareLog().every((s) => s.accepted),
        'and accepted every one',
      );
      t.ok(mined.length > seen.length * 3, `many more shares reach hashgate (${mined.length}) than the pool (${seen.length})`);
      const session = [...daemon.sessions()][0]!;
      t.equal(session.workers.get('rig1')?.localOnly, mined.length - seen.length, 'the rest were answered by hashgate alone');

      // The miner's hash rate measured from its shares (issue 12 §2), against what the simulated miner really
      // hashed. The unit tests check the interval's coverage; here the estimate must be in the right place.
      await m.waitFor(() => (session.hashrate()?.shares ?? 0) >= 30, 20_000, 'a measuring period with 30 shares');
      const est = session.hashrate()!;
      const now = Date.now();
      const from = hashed.find(([at]) => at >= now - est.windowSeconds * 1000) ?? hashed[0]!;
      const truth = (m.stats.hashes - from[1]) / ((now - from[0]) / 1000);
      t.ok(est.shares >= 30, `measured from ${est.shares} shares over ${est.windowSeconds} s`);
      t.ok(est.low <= est.hashesPerSecond && est.hashesPerSecond <= est.high, 'the estimate lies in its interval');
      const ratio = est.hashesPerSecond / truth;
      t.ok(ratio > 0.5 && ratio < 2, `measured ${est.hashesPerSecond.toFixed(0)} H/s against ${truth.toFixed(0)} H/s hashed`);
    },
  );
}
