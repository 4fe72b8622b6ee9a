/**
 * The memory-at-start bench reads VmRSS / VmHWM from /proc/<pid>/status: the parsing is checked here
 * against this process (Linux only). The bench itself runs in `npm run bench --memory-only`, not here.
 */
import t from 'tap';
import { readVm } from '../../src/bench/start-memory.js';

t.test('readVm reads this process from /proc (Linux, as the bench and CI run)', async (t) => {
  const rss = await readVm(process.pid, 'VmRSS');
  const peak = await readVm(process.pid, 'VmHWM');
  const own = process.memoryUsage().rss;
  t.type(rss, 'number');
  t.type(peak, 'number');
  // Same figure from two sources, read moments apart: within a quarter of each other.
  t.ok(rss! > own * 0.75 && rss! < own * 1.25, `VmRSS ${rss} vs process.memoryUsage().rss ${own}`);
  t.ok(peak! >= rss! * 0.99, 'the peak is at least the current resident set');
  t.equal(rss! % 1024, 0, 'kB converted to bytes');
});
