import t from 'tap';
import { StaleTracker } from '../../src/throttle/stale.js';
import type { SignalReading } from '../../src/throttle/types.js';

const ok = (at: number): SignalReading => ({ ok: true, depth: 1, perSource: [], capWatts: null, overrides: new Map(), warnings: [], at });
const failed = (at: number, error = 'boom'): SignalReading => ({ ok: false, error, code: 'HG_ERR_REDIS_UNAVAILABLE', at });

t.test('stale once the last good reading is older than staleAfterMs', async (t) => {
  const st = new StaleTracker(5000, 1000);
  t.equal(st.isStale(6000), false, 'grace from start until the first reading');
  t.equal(st.isStale(6001), true, 'no reading within staleAfterMs of start');
  t.same(st.health(2000), { healthy: false, lastOkAt: null, error: null });
  st.record(ok(7000));
  t.equal(st.isStale(7000), false);
  t.same(st.health(7000), { healthy: true, lastOkAt: 7000, error: null });
  st.record(failed(8000));
  t.equal(st.isStale(12_000), false, 'a failed poll alone does not make it stale');
  t.equal(st.lastError, 'boom');
  t.equal(st.health(12_000).healthy, false, 'but unhealthy');
  t.equal(st.isStale(12_001), true);
  t.equal(st.ageMs(12_001), 5001);
  st.record(ok(13_000));
  t.equal(st.isStale(13_000), false);
  t.equal(st.lastError, null);
  t.equal(st.lastOkAt, 13_000);
});

t.test('a good but old reading is stale and not healthy', async (t) => {
  const st = new StaleTracker(1000, 0);
  st.record(ok(500));
  t.same(st.health(1500), { healthy: true, lastOkAt: 500, error: null });
  t.same(st.health(1501), { healthy: false, lastOkAt: 500, error: null });
});
