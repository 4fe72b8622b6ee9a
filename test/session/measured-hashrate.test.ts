/** A connection's measured hash rate (src/session/measured-hashrate.ts): which shares count, with time passed in. */
import t from 'tap';
import { MeasuredHashrate } from '../../src/session/measured-hashrate.js';

const D = 1000; // 1000 × 2^32 hashes a share

t.test('shares of jobs sent in the current period count at its difficulty', async (t) => {
  const m = new MeasuredHashrate();
  t.equal(m.estimate(0), null, 'nothing before the first job');
  m.jobSent('a', D, 0);
  for (let i = 1; i <= 100; i++) m.share('a', i * 100); // 10 shares/s for 10 s
  const e = m.estimate(10_000)!;
  t.equal(e.shares, 100);
  t.ok(Math.abs(e.hashesPerSecond - (100 * D * 2 ** 32) / 10) < 1, 'Σd·2^32/T');
  t.ok(e.low < e.hashesPerSecond && e.hashesPerSecond < e.high);
});

t.test('a difficulty change: nothing counts until a job at the new one; old jobs never count again', async (t) => {
  const m = new MeasuredHashrate();
  m.jobSent('a', D, 0);
  m.share('a', 1000);
  m.difficultyChanged(2000);
  m.share('a', 2500); // mined at the old or the new difficulty: cannot tell
  t.equal(m.estimate(3000)!.shares, 0, 'the gap counts nothing');
  m.jobSent('b', 2 * D, 3000);
  m.share('a', 3500); // a share of a job from before the change
  m.share('b', 3600);
  const e = m.estimate(4000)!;
  t.equal(e.shares, 1, 'only the job sent at the new difficulty');
  t.equal(e.sumDifficulty, 2 * D);
  t.equal(e.windowSeconds, 1, 'the period starts when the new job went out');
  m.jobSent('c', 2 * D, 5000);
  m.share('b', 5500);
  t.equal(m.estimate(6000)!.shares, 2, 'a later job at the same difficulty keeps the period');
});
