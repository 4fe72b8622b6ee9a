/** Simulated miners against the simulated pool over real TCP on 127.0.0.1: the happy paths and connection lifecycle. */
import t from 'tap';
import { miner, pool } from '../helpers/sim.js';
import { hashShare, meetsDifficulty } from '../../src/sim/hash.js';
import { startSimMiner } from '../../src/sim/sim-miner.js';

t.test('a miner straight on the pool gets real shares accepted (no version rolling)', async (t) => {
  const p = await pool(t);
  const m = await miner(t, p, { user: 'alice.rig1', maxShares: 5 });
  await m.waitFor(() => m.stats.accepted >= 5, 5000, '5 accepted');
  t.equal(m.stats.rejected, 0);
  t.equal(m.stats.versionMask, undefined);
  t.ok(m.stats.hashes >= 5, 'it hashed');
  t.match(p.stats.byWorker['alice.rig1'], { accepted: 5, rejected: 0 });
  t.equal(p.stats.accepted, 5);
  for (const s of p.stats.shares) {
    t.equal(s.versionBits, undefined);
    t.ok(s.shareDifficulty! >= s.difficulty!, 'share difficulty ≥ pool difficulty');
  }
  // The pool's job, re-checked here from what went over the wire.
  const job = p.currentJob!;
  const share = m.shares[0]!;
  const h = hashShare(job, { extranonce1: m.stats.extranonce1!, extranonce2: share.extranonce2, ntime: share.ntime, nonce: share.nonce });
  t.ok(meetsDifficulty(h.hashInt, 2 ** -24));
  const [client] = p.clients();
  t.equal(client!.userAgent, 'sim-miner/1.0');
  t.equal(client!.extranonce1.length, 8, '4-byte extranonce1');
});

t.test('with version rolling: mask = requested & pool mask, rolled shares accepted', async (t) => {
  const p = await pool(t);
  const m = await miner(t, p, { versionRolling: true, maxShares: 5 });
  await m.waitFor(() => m.stats.accepted >= 5, 5000, '5 accepted');
  t.equal(m.stats.versionMask, '1fffe000', 'ffffffff & 1fffe000');
  t.equal(m.stats.rejected, 0);
  const bits = p.stats.shares.map((s) => s.versionBits);
  t.ok(
    bits.every((b) => b !== undefined && b !== '00000000' && (Number.parseInt(b, 16) & ~0x1fffe000) === 0),
    'non-zero bits inside the mask',
  );
  t.ok(new Set(bits).size > 1, 'bits actually roll');

  const narrow = await miner(t, p, { user: 'rig2', versionRolling: true, requestMask: '00ffe000', maxShares: 2 });
  await narrow.waitFor(() => narrow.stats.accepted >= 2);
  t.equal(narrow.stats.versionMask, '00ffe000');
  t.equal(p.clients().find((c) => c.workers.includes('rig2'))!.versionMask, '00ffe000');
});

t.test('a real nbits, a long branch and an 8-byte extranonce2 work too', async (t) => {
  const p = await pool(t, { nbits: '17029a8a', branchCount: 11, extranonce2Size: 8, difficulty: 2 ** -20 });
  const m = await miner(t, p, { versionRolling: true, maxShares: 2 });
  await m.waitFor(() => m.stats.accepted >= 2);
  t.equal(m.stats.extranonce2Size, 8);
  t.equal(m.shares[0]!.extranonce2.length, 16);
  t.equal(p.currentJob!.merkleBranch.length, 11);
  const cbLen = (p.currentJob!.coinb1.length + p.currentJob!.coinb2.length) / 2 + 4 + 8;
  t.ok(cbLen > 150 && cbLen < 260, `coinbase ~200 bytes (${cbLen})`);
});

t.test('same JSON-RPC id for every submit, answers matched in order', async (t) => {
  const p = await pool(t);
  const m = await miner(t, p, { sameSubmitId: 4, maxShares: 6 });
  await m.waitFor(() => m.stats.accepted >= 6);
  t.ok(m.shares.every((s) => s.id === 4 && s.status === 'accepted'));
  t.equal(m.stats.unmatched, 0);
});

t.test('set_difficulty and a timed job: the miner follows both', async (t) => {
  const p = await pool(t, { jobIntervalMs: 50 });
  const m = await miner(t, p, { sharesPerSecond: 50 });
  await m.waitFor(() => m.stats.accepted >= 2 && m.stats.jobs >= 2, 5000, 'jobs and shares');
  p.setDifficulty(2 ** -20);
  await m.waitFor(() => m.stats.difficulty === 2 ** -20);
  // Shares on jobs sent before the change are held to the old (lower) difficulty; new jobs to the new one.
  await p.waitFor(() => p.stats.shares.some((s) => s.accepted && s.difficulty === 2 ** -20), 5000, 'share at the new difficulty');
  const hard = p.stats.shares.find((s) => s.difficulty === 2 ** -20)!;
  t.ok(hard.shareDifficulty! >= 2 ** -20);
  t.equal(p.stats.rejected, 0);
});

t.test('kill() then restart() on the same port', async (t) => {
  const p = await pool(t);
  const port = p.port;
  const m = await miner(t, p, { autoReconnect: true, reconnectAttempts: 40, reconnectDelayMs: 25 });
  await m.waitFor(() => m.stats.accepted >= 1);
  await p.kill();
  t.equal(p.stats.active, 0, 'every socket gone');
  await t.rejects(startSimMiner({ port, user: 'late' }), /could not connect/, 'refused while killed');
  await p.restart();
  t.equal(p.port, port, 'same port');
  await m.waitFor(() => m.stats.connects === 2 && m.stats.authorized, 5000, 'miner reconnected');
  const after = m.stats.accepted;
  await m.waitFor(() => m.stats.accepted > after, 5000, 'shares after restart');
  t.equal(p.stats.connections, 2);
  t.ok(m.stats.reconnects >= 1);
});

t.test('client.reconnect: the miner reconnects to the same host:port and redoes the handshake', async (t) => {
  const p = await pool(t);
  const m = await miner(t, p, { versionRolling: true });
  await m.waitFor(() => m.stats.accepted >= 1);
  const en1 = m.stats.extranonce1;
  t.equal(p.sendReconnect(), 1);
  await m.waitFor(() => m.stats.connects === 2 && m.stats.authorized);
  t.not(m.stats.extranonce1, en1, 'new session, new extranonce1');
  t.equal(m.stats.versionMask, '1fffe000', 'configure again');
  const n = m.stats.accepted;
  await m.waitFor(() => m.stats.accepted > n);

  // With an explicit target (a second pool) and a wait.
  const q = await pool(t);
  t.equal(p.sendReconnect('127.0.0.1', q.port, 0.05), 1);
  await q.waitFor(() => q.stats.accepted >= 1, 5000, 'mining on the second pool');
  t.equal(p.stats.active, 0);
});

t.test('set_extranonce: a new extranonce1 and size, then shares still valid', async (t) => {
  const p = await pool(t);
  const m = await miner(t, p, { extranonceSubscribe: true });
  await m.waitFor(() => m.stats.accepted >= 1);
  t.equal(p.setExtranonce('abcdef01', 6), 1);
  await m.waitFor(() => m.stats.extranonce1 === 'abcdef01' && m.stats.extranonce2Size === 6);
  await p.waitFor(() => p.stats.shares.some((s) => s.accepted && s.extranonce1 === 'abcdef01'));
  t.equal(m.shares.at(-1)!.extranonce2.length, 12);
  t.equal(p.stats.rejectedByCode[20] ?? 0, 0);
});

t.test('50 concurrent miners each get shares accepted', async (t) => {
  const p = await pool(t);
  const miners = await Promise.all(
    Array.from({ length: 50 }, (_, i) => miner(t, p, { user: `rig${i}`, versionRolling: i % 2 === 0, maxShares: 3 })),
  );
  await Promise.all(miners.map((m) => m.waitFor(() => m.stats.accepted >= 3, 10000, m.options.user)));
  t.equal(Object.keys(p.stats.byWorker).length, 50);
  t.equal(p.stats.accepted, 150);
  t.equal(p.stats.rejected, 0);
  t.equal(new Set(p.clients().map((c) => c.extranonce1)).size, 50, 'unique extranonce1 per connection');
  await Promise.all(miners.map((m) => m.close()));
  await p.waitFor(() => p.stats.active === 0, 5000, 'all miners hung up');
});
