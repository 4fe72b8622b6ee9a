/** Failover backoff: exponential, capped, jittered downwards. */
import t from 'tap';
import { backoffDelay } from '../../src/upstream/pool-upstream.js';

t.test('backoff grows, caps and jitters', async (t) => {
  t.equal(
    backoffDelay(1, 100, 1000, 0, () => 0.5),
    100,
  );
  t.equal(
    backoffDelay(3, 100, 1000, 0, () => 0.5),
    400,
  );
  t.equal(
    backoffDelay(10, 100, 1000, 0, () => 0.5),
    1000,
  );
  t.equal(
    backoffDelay(1, 100, 1000, 0.5, () => 1),
    50,
  );
  for (let i = 1; i < 50; i++) {
    const d = backoffDelay(i, 100, 1000, 0.25, Math.random);
    t.ok(d >= 0 && d <= 1000);
  }
});
