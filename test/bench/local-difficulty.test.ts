/**
 * The telemetry-difficulty bench (src/bench/local-difficulty.ts) in a tiny configuration: two daemons and the sim
 * pool in child processes, a few connections for a fraction of a second. Checks that it runs end to end and yields
 * its rows with usable fields; no timing is asserted (speed lives in `npm run bench` only).
 */
import t from 'tap';
import { benchLocalDifficulty } from '../../src/bench/local-difficulty.js';

t.test('the local-difficulty bench yields its rows from a tiny run', async (t) => {
  const said: string[] = [];
  const rows = await benchLocalDifficulty({
    scale: { connections: 4, warmupS: 0.2, rounds: 2, segmentS: 0.5 },
    say: (line) => said.push(line),
  });
  t.equal(rows.length, 4, 'CPU per share, cores needed, forwarded latency p50 and p99');
  const [cpu, cores, p50, p99] = rows;
  t.match(cpu!.name, /CPU per local-only share/);
  t.equal(cpu!.unit, 'µs');
  t.match(cpu!.baseline!.name, /forwarded share, local difficulty off/);
  t.match(cores!.name, /10,000 rigs × 300 local shares\/min/);
  t.equal(cores!.unit, 'cores');
  t.equal(cores!.target?.maxValue, 0.5, 'printed beside the half-core target');
  for (const row of [p50, p99]) {
    t.match(row!.name, /forwarded submit round trip with local difficulty/);
    t.equal(row!.unit, 'ms');
    t.match(row!.baseline!.name, /local difficulty off/);
  }
  for (const row of rows) {
    t.ok(Number.isFinite(row.value) && row.value >= 0, `${row.name}: a finite value (${row.value})`);
    t.ok(Number.isFinite(row.baseline!.value) && row.baseline!.value >= 0, `${row.name}: a finite baseline (${row.baseline!.value})`);
  }
  // Every share of the tiny run was answered true: the generator's sorting into local-only and forwarded matched
  // what hashgate decided (a local-only share sent to the "off" daemon would be rejected as low difficulty).
  const notes = (cpu!.notes ?? []).join('\n') + (p50!.notes ?? []).join('\n');
  t.notMatch(notes, /[1-9]\d* not true/, 'no share answered other than true');
  t.notMatch(notes, /[1-9]\d* unanswered/, 'every share answered');
  t.ok(
    said.some((l) => l.startsWith('local-difficulty bench:')),
    'progress is reported',
  );
});
