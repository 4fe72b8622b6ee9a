/**
 * The daemon against hostile miners over real TCP on 127.0.0.1 (issue 9), with honest hashing miners
 * mining through it the whole time. Every wait is on an event or counter, bounded in time.
 */
import t from 'tap';
import { NULL_RECORDER, type MetricsRecorder } from '../../src/admin/types.js';
import { miner, pool } from '../helpers/sim.js';
import { startDaemon } from './helpers.js';
import { rawClient, within } from './raw.js';

const nested = (depth: number) => `${'['.repeat(depth)}1${']'.repeat(depth)}`;

t.test('D1: the attack line before subscribe is answered, and repeating it closes that connection only', async (t) => {
  const p = await pool(t);
  const { port, daemon } = await startDaemon(t, [p.port]);
  const honest = await miner(t, port, { user: 'honest' });
  await honest.waitFor(() => honest.stats.accepted >= 1, 15_000, 'the honest miner mining');
  const bad = await rawClient(t, port);
  const attack = `{"id":1,"method":"mining.configure","params":[["version-rolling"],{"x":${nested(5000)}}]}\n`;
  bad.socket.write(attack);
  const reply = await bad.waitLine((l) => l.id === 1);
  t.match(reply, { result: null, error: [20, /nested deeper than 16/, null] });
  t.equal(bad.isClosed(), false, 'one such line is answered, not punished');
  bad.socket.write(attack.repeat(12));
  await within(bad.closed, 10_000, 'closed after repeating it');
  t.equal(daemon.counters.overLimitDisconnects, 1);
  const before = honest.stats.accepted;
  await honest.waitFor(() => honest.stats.accepted > before, 15_000, 'the honest miner still mining');
  t.ok(honest.stats.accepted > before);
});

t.test('D6: an authorize flood with 1 KiB names reaches neither the pool nor the journal', async (t) => {
  const p = await pool(t);
  const { port, daemon } = await startDaemon(t, [p.port]);
  const honest = await miner(t, port, { user: 'honest' });
  await honest.waitFor(() => honest.stats.accepted >= 1, 15_000, 'the honest miner mining');
  const floods = await Promise.all([rawClient(t, port), rawClient(t, port)]);
  for (const [k, c] of floods.entries()) {
    c.send({ id: 1, method: 'mining.subscribe', params: [] });
    const lines = Array.from(
      { length: 20_000 },
      (_, i) => `{"id":${i + 2},"method":"mining.authorize","params":["w${k}-${i}${'x'.repeat(1024)}","x"]}\n`,
    );
    c.socket.write(lines.join(''));
  }
  await within(Promise.all(floods.map((c) => c.closed)), 15_000, 'both flooders closed');
  t.equal(daemon.counters.overLimitDisconnects, 2);
  const names = Object.keys(p.stats.byWorker);
  t.notOk(
    names.some((n) => n.length > 256),
    'no 1 KiB worker name reached the pool',
  );
  const before = honest.stats.accepted;
  await honest.waitFor(() => honest.stats.accepted > before, 15_000, 'the honest miner still mining');
  t.ok(honest.stats.accepted > before);
});

t.test('a fault injected into one connection closes it, logs HG_ERR_CONNECTION_FAULT, and the daemon carries on', async (t) => {
  const p = await pool(t);
  const { port, daemon } = await startDaemon(t, [p.port]);
  let boom = false;
  const recorder: MetricsRecorder = {
    ...NULL_RECORDER,
    countShare: () => {
      if (boom) throw new Error('injected fault');
    },
  };
  daemon.recorder = recorder; // read when a connection is accepted
  const victim = await miner(t, port, { user: 'victim' });
  await victim.waitFor(() => victim.stats.accepted >= 1, 15_000, 'the victim mining');
  boom = true;
  await victim.waitFor(() => !victim.stats.connected, 15_000, 'the victim disconnected by the fault');
  t.equal(daemon.counters.connectionFaults, 1);
  boom = false;
  const next = await miner(t, port, { user: 'next' });
  await next.waitFor(() => next.stats.accepted >= 1, 15_000, 'a new miner mines');
  t.equal(daemon.sessions().length, 1, 'the daemon serves the next miner');
});
