/**
 * One miner's telemetry difficulty controller (src/session/local-difficulty.ts) with time passed in: its start,
 * the wait for a change to reach the miner (the next job), and local ≤ pool at once.
 */
import t from 'tap';
import { LocalDifficulty } from '../../src/session/local-difficulty.js';
import { createVardiffSettings } from '../../src/work/vardiff.js';

const settings = createVardiffSettings({ targetSharesPerMinute: 60, minRetargetSeconds: 10, startDifficulty: 1000, minDifficulty: 1 });

t.test('starts with the pool difficulty known: the suggestion if any, never above the pool', async (t) => {
  const a = new LocalDifficulty(settings);
  t.equal(a.suggest(500, null, 0), null, 'no pool difficulty yet: remembered only');
  t.equal(a.poolDifficulty(65_536, 0), 500, "the miner's suggestion");
  const b = new LocalDifficulty(settings);
  t.equal(b.poolDifficulty(65_536, 0), 1000, 'the configured start');
  t.equal(b.suggest(200, 65_536, 1), 200, 'a suggestion before any share restarts it');
  const c = new LocalDifficulty(settings);
  t.equal(c.poolDifficulty(64, 0), 64, 'capped at the pool difficulty');
});

t.test('after a retarget it waits for the next job before measuring again', async (t) => {
  const l = new LocalDifficulty(settings);
  l.poolDifficulty(1e6, 0);
  t.equal(l.tick(1e6, 0), null, 'the first job goes out at the start value: the period starts');
  // 10 shares/s at 1000 for 20 s: ten times the 60/min target → up.
  let next: number | null = null;
  for (let i = 1; i <= 200 && next === null; i++) next = l.share(1000, 1e6, i * 100);
  t.ok(next !== null && next > 1000, `retargeted up (${next})`);
  t.equal(l.retargets, 1);
  const held = Array.from({ length: 500 }, (_, i) => l.share(1000, 1e6, 30_000 + i * 100));
  t.ok(
    held.every((x) => x === null),
    'held while the change is on its way, however many shares and seconds',
  );
  t.equal(l.tick(1e6, 90_000), null, 'the next job carries it; the period restarts');
  t.equal(l.retargets, 1, 'no retarget in between');
});

t.test('a pool difficulty below the local one wins at once, even while a change is on its way', async (t) => {
  const l = new LocalDifficulty(settings);
  l.poolDifficulty(1e6, 0);
  t.equal(l.poolDifficulty(300, 1), 300);
  t.equal(l.difficulty, 300);
  t.equal(l.poolDifficulty(1e6, 2), null, 'the pool going back up changes nothing by itself');
});
