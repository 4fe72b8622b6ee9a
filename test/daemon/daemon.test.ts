/** hashgate in front of the simulated pool, simulated miners over real TCP on 127.0.0.1. */
import net from 'node:net';
import { PassThrough } from 'node:stream';
import t from 'tap';
import { miner, pool, records } from '../helpers/sim.js';
import { main } from '../../src/cli/main.js';
import { startDaemon } from './helpers.js';

async function audit(file: string): Promise<number> {
  const out = new PassThrough();
  const err = new PassThrough();
  out.resume();
  err.resume();
  return main(['audit', file], { stdin: new PassThrough(), stdout: out, stderr: err });
}

for (const versionRolling of [false, true]) {
  t.test(`happy path ${versionRolling ? 'with' : 'without'} version rolling: accepted by pool, journal audits clean`, async (t) => {
    const p = await pool(t);
    const { daemon, port, journal } = await startDaemon(t, [p.port]);
    const m = await miner(t, port, { user: 'alice.rig1', versionRolling, maxShares: 5 });
    await m.waitFor(() => m.stats.accepted >= 5, 10_000, '5 accepted');
    t.equal(m.stats.rejected, 0);
    t.equal(p.stats.accepted, 5);
    t.ok(p.stats.byWorker['alice.rig1'], 'the pool sees the worker itself (passthrough)');
    if (versionRolling) {
      t.equal(m.stats.versionMask, '1fffe000', 'the mask the pool granted');
      t.ok(p.stats.shares.every((s) => s.versionBits !== undefined));
    } else t.equal(m.stats.versionMask, undefined);
    const [session] = daemon.sessions();
    t.equal(session!.workers.get('alice.rig1')!.accepted, 5);
    t.ok(session!.workers.get('alice.rig1')!.poolRttMs !== null, 'pool RTT measured');
    await daemon.stop();
    const shares = records(journal!).filter((r) => r.t === 'share');
    t.equal(shares.length, 5);
    t.ok(shares.every((r) => r.lv === 'accepted' || r.pv === 'accepted'));
    t.ok(
      shares.every((r) => r.pv === 'accepted'),
      'pool verdict journaled',
    );
    t.equal(await audit(journal!), 0, 'hashgate audit exits 0');
  });
}

t.test('stale after clean_jobs, duplicate and low difficulty are answered locally and not forwarded', async (t) => {
  const p = await pool(t);
  const { port, journal, daemon } = await startDaemon(t, [p.port]);
  const m = await miner(t, port, { maxShares: 1 });
  await m.waitFor(() => m.stats.accepted >= 1, 10_000, 'first share');
  const first = m.shares[0]!;
  const dup = await m.submit({ jobId: first.jobId, extranonce2: first.extranonce2, ntime: first.ntime, nonce: first.nonce });
  t.match(dup, { status: 'rejected', code: 22 });
  p.notify(true);
  await m.waitFor(() => m.stats.cleanJobs >= 1, 5000, 'clean job');
  const stale = await m.submit({ jobId: first.jobId, extranonce2: '00000001', ntime: first.ntime, nonce: first.nonce });
  t.match(stale, { status: 'rejected', code: 21 });
  const job = m.currentJob!;
  // Random nonce at difficulty 2^-24 has ~1/2^8 chance to pass: try a few until one is low.
  let low: { status: string; code: number | null } | undefined;
  for (let i = 0; i < 8 && low?.code !== 23; i++) {
    low = await m.submit({ jobId: job.jobId, extranonce2: `0000ff0${i}`, ntime: job.ntime, nonce: 'deadbeef' });
  }
  t.equal(low!.code, 23, 'low difficulty');
  t.equal(p.stats.submits, 1, 'only the valid share reached the pool');
  await daemon.stop();
  const pvs = records(journal!)
    .filter((r) => r.t === 'share')
    .map((r) => r.pv);
  t.ok(pvs.filter((v) => v === 'not-sent').length >= 3, 'local rejects journaled as not-sent');
  t.equal(await audit(journal!), 0);
});

t.test('pool rejects what the proxy accepted: relayed with the pool error, dispute in the journal', async (t) => {
  const p = await pool(t, { rejectAll: 23 });
  const { port, journal, daemon } = await startDaemon(t, [p.port]);
  const m = await miner(t, port, { maxShares: 2 });
  await m.waitFor(() => m.stats.rejected >= 2, 10_000, '2 rejected');
  t.equal(m.stats.rejectedByCode['23'], 2, "the pool's own code");
  t.equal(daemon.sessions()[0]!.workers.get('rig1')!.disagreements, 2);
  await daemon.stop();
  const shares = records(journal!).filter((r) => r.t === 'share');
  t.ok(shares.every((r) => r.pv === 'rejected' && Array.isArray(r.pe) && (r.pe as unknown[])[0] === 23));
});

t.test('unknown method gets a JSON-RPC error, not a disconnect; garbage and giant lines never crash', async (t) => {
  const p = await pool(t);
  const { port, daemon } = await startDaemon(t, [p.port]);
  const m = await miner(t, port, { mine: false });
  const r = await m.request('mining.frobnicate', [1]);
  t.equal(r.status, 'ok');
  t.match(r.error, [20, /Method not found/]);
  m.sendRaw('this is not json\n{"id":5,"method":7}\n');
  const again = await m.request('mining.ping', []);
  t.equal(again.result, 'pong', 'still connected');
  t.equal(daemon.sessions().length, 1);
});

t.test('giant lines and random bytes never crash the daemon', async (t) => {
  const p = await pool(t);
  const { port, daemon } = await startDaemon(t, [p.port], { 'max-line-bytes': 1024 });
  // A giant line: the connection is dropped, the daemon lives.
  const s = net.connect(port, '127.0.0.1');
  await new Promise<void>((res) => s.once('connect', () => res()));
  s.on('error', () => {});
  s.resume(); // read, so 'close' follows the daemon's end
  s.write(Buffer.alloc(64 * 1024, 0x41));
  await new Promise<void>((res) => s.once('close', () => res()));
  t.equal(daemon.counters.oversizedLines, 1);
  const random = net.connect(port, '127.0.0.1');
  random.on('error', () => {});
  await new Promise<void>((res) => random.once('connect', () => res()));
  for (let i = 0; i < 50; i++) random.write(Buffer.from(Array.from({ length: 100 }, () => (Math.random() * 256) | 0)));
  random.write('\n'.repeat(200));
  random.destroy();
  const m2 = await miner(t, port, { user: 'rig2', maxShares: 1 });
  await m2.waitFor(() => m2.stats.accepted >= 1, 10_000, 'a new miner still works');
  t.ok(m2.stats.accepted >= 1, 'the daemon survived garbage and serves a new miner');
});

t.test('failover: primary killed mid-run, backup used, primary used again when back', async (t) => {
  const primary = await pool(t);
  const backup = await pool(t);
  const { port } = await startDaemon(t, [primary.port, backup.port], { 'primary-recheck-ms': 200 });
  const m = await miner(t, port, { extranonceSubscribe: true, sharesPerSecond: 20 });
  await m.waitFor(() => m.stats.accepted >= 2, 10_000, 'accepted on primary');
  await primary.kill();
  await backup.waitFor(() => backup.stats.accepted >= 2, 10_000, 'shares accepted by the backup');
  t.ok(m.stats.extranonce1 !== undefined);
  await primary.restart();
  const before = primary.stats.accepted;
  await primary.waitFor(() => primary.stats.accepted >= before + 2, 10_000, 'back on the primary');
  t.ok(primary.stats.accepted >= before + 2, 'failed over to the backup and back to the primary');
});
