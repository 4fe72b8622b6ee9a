import t from 'tap';
import { JobCache, JobStore, validateShare } from '../../src/work/index.js';
import { BLOCKS, ctxOf, jobOf, submitOf } from '../helpers/vectors.js';

t.test('identical notify content is prepared once and shared; duplicate sets stay per store', async (t) => {
  const cache = new JobCache(4);
  const v = BLOCKS[1];
  const a = cache.prepare({ ...jobOf(v) });
  const b = cache.prepare({ ...jobOf(v) }); // another session's copy of the same notify
  t.ok(a.ok && b.ok);
  t.equal(a.ok && a.job, b.ok && b.job, 'same PreparedJob object');
  t.same([cache.hits, cache.misses], [1, 1]);
  const other = cache.prepare({ ...jobOf(v), ntime: 'ffffffff' });
  t.not(other.ok && other.job, a.ok && a.job, 'different content, different job');

  // Two sessions sharing the job still judge duplicates separately.
  const s1 = new JobStore();
  const s2 = new JobStore();
  if (a.ok && b.ok) {
    s1.add(a.job, true);
    s2.add(b.job, true);
  }
  t.equal(validateShare(s1, ctxOf(v), submitOf(v)).status, 'block');
  t.equal(validateShare(s2, ctxOf(v), submitOf(v)).status, 'block', 'not a duplicate in the other session');
  const again = validateShare(s1, ctxOf(v), submitOf(v));
  t.equal(again.valid ? 'valid' : again.reason, 'duplicate');
});

t.test('bounded, and bad jobs are not cached', async (t) => {
  const cache = new JobCache(3);
  const v = BLOCKS[0];
  for (let i = 0; i < 10; i++) cache.prepare({ ...jobOf(v, `j${i}`) });
  t.equal(cache.size, 3);
  const bad = cache.prepare({ ...jobOf(v), prevhash: 'zz' });
  t.notOk(bad.ok);
  t.equal(cache.size, 3);
  t.notOk(cache.prepare({ ...jobOf(v), merkleBranch: 'x' as never }).ok, 'a non-array branch is refused, not thrown');
  t.throws(() => new JobCache(0), RangeError);
});
