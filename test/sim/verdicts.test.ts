/** The simulated pool's verdicts and fault modes, driven by simulated miners over real TCP on 127.0.0.1. */
import t from 'tap';
import { miner, pool, type Tap } from '../helpers/sim.js';
import { type SimMinerOptions, startSimMiner } from '../../src/sim/sim-miner.js';
import { type SimPool } from '../../src/sim/sim-pool.js';

/** A miner that found and got one share accepted, then stopped hashing. */
async function oneShare(t: Tap, p: SimPool, o: Partial<SimMinerOptions> = {}) {
  const m = await miner(t, p, { maxShares: 1, ...o });
  await m.waitFor(() => m.stats.accepted === 1, 5000, 'first share accepted');
  return { m, share: m.lastShare! };
}

t.test('stale: a share for a job retired by clean_jobs gets 21', async (t) => {
  const p = await pool(t);
  const { m, share } = await oneShare(t, p);
  const job = p.notify(true);
  await m.waitFor(() => m.currentJob?.jobId === job.jobId);
  t.match(await m.submit(share), { status: 'rejected', code: 21 });
  t.equal(p.stats.rejectedByCode[21], 1);
  t.match(p.stats.byWorker.rig1, { accepted: 1, rejected: 1, rejectedByCode: { 21: 1 } });
  t.match(await m.submit({ ...share, jobId: 'nope' }), { code: 21 }, 'unknown job id');
});

t.test('duplicate: the same share again gets 22 (also after a non-clean notify)', async (t) => {
  const p = await pool(t);
  const { m, share } = await oneShare(t, p, { versionRolling: true });
  t.match(await m.submit(share), { status: 'rejected', code: 22 });
  const job = p.notify(false);
  await m.waitFor(() => m.currentJob?.jobId === job.jobId);
  t.match(await m.submit(share), { code: 22 }, 'old job still open, so duplicate rather than stale');
  t.match(await m.submit({ ...share, nonce: share.nonce.toUpperCase() }), { code: 22 }, 'hex case does not make it new');
  t.equal(p.stats.rejectedByCode[22], 3);
  t.equal(m.stats.rejectedByCode['22'], 3);
});

t.test('low difficulty: shares mined below the pool difficulty get 23', async (t) => {
  const p = await pool(t, { difficulty: 1 });
  const m = await miner(t, p, { mineDifficulty: 2 ** -24, maxShares: 3 });
  await m.waitFor(() => m.stats.rejected === 3, 5000, '3 rejected');
  t.equal(m.stats.rejectedByCode['23'], 3);
  t.equal(m.stats.accepted, 0);
  t.match(p.stats.byWorker.rig1, { accepted: 0, rejected: 3, rejectedByCode: { 23: 3 } });
  t.ok(p.stats.shares.every((s) => s.shareDifficulty! < 1 && s.difficulty === 1));
  // A share that is merely "not a share" at its own claim (random nonce) is also 23.
  const share = m.lastShare!;
  const bad = await m.submit({ ...share, nonce: (Number.parseInt(share.nonce, 16) ^ 1).toString(16).padStart(8, '0') });
  t.equal(bad.code, 23);
});

t.test('malformed and unauthorized submits: 20, 24, 25', async (t) => {
  const p = await pool(t);
  const { m, share } = await oneShare(t, p);
  t.match(await m.submit(share, 'someone-else'), { code: 24 }, 'worker not authorized on this connection');
  t.match(await m.submit({ ...share, extranonce2: '00' }), { code: 20, message: /extranonce2/i });
  t.match(await m.submit({ ...share, ntime: '00000001' }), { code: 20, message: /ntime/i });
  t.match(await m.submit({ ...share, nonce: 'zz' }), { code: 20 });
  t.match(await m.submit({ ...share, versionBits: '00002000' }), { code: 20, message: /not negotiated/i }, 'bits without configure');
  t.match(await m.request('mining.submit', ['rig1']), { error: [20] }, 'too few params');

  const vr = await miner(t, p, { user: 'rig2', versionRolling: true, maxShares: 1 });
  await vr.waitFor(() => vr.stats.accepted === 1);
  const s2 = vr.lastShare!;
  t.match(await vr.submit({ ...s2, versionBits: '40000000' }), { code: 20, message: /mask/i }, 'bits outside the mask');

  const raw = await miner(t, p, { user: 'rig3', handshake: false });
  t.match(await raw.request('mining.submit', ['rig3', share.jobId, share.extranonce2, share.ntime, share.nonce]), { error: [25] });
  t.match(await raw.request('mining.bogus', []), { error: [20, /not found/] });
});

t.test('forced rejects for dispute tests: rejectAll and rejectIf', async (t) => {
  const p = await pool(t, { rejectAll: 23 });
  const m = await miner(t, p, { maxShares: 2 });
  await m.waitFor(() => m.stats.rejected === 2);
  t.equal(m.stats.rejectedByCode['23'], 2);
  t.ok(
    p.stats.shares.every((s) => s.forced && s.shareDifficulty! >= s.difficulty!),
    'valid shares, rejected anyway',
  );

  const q = await pool(t, { rejectIf: (s) => (s.nonce.endsWith('0') ? false : [20, 'pool says no']) });
  const n = await miner(t, q, { maxShares: 20 });
  await n.waitFor(() => n.stats.accepted + n.stats.rejected === 20);
  t.ok(n.shares.every((s) => (s.nonce.endsWith('0') ? s.status === 'accepted' : s.code === 20 && s.message === 'pool says no')));
  t.equal(q.stats.rejected, n.stats.rejected);
});

t.test('garbage is answered with an error and the connection keeps working', async (t) => {
  const p = await pool(t, { maxGarbage: 4 });
  const m = await miner(t, p, { mine: false });
  await m.waitFor(() => m.stats.authorized);
  m.sendRaw('this is not json\n');
  m.sendRaw(Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x0a]));
  m.sendRaw('{"id": 9, "method": "mining.submit", "params": "x"}\n[1,2]\n\r\n\n');
  // Four bad lines (not JSON, binary, params not an array, not an object); blank lines are skipped.
  await p.waitFor(() => p.stats.garbage === 4);
  await m.waitFor(() => m.stats.unmatched === 4, 5000, 'each got an error answer');
  t.match(await m.submit({ jobId: 'x', extranonce2: '00000000', ntime: '00000000', nonce: '00000000' }), { code: 21 }, 'still served');
  m.sendRaw('garbage again\n');
  await m.waitFor(() => m.closed, 5000, 'dropped after maxGarbage');
  t.equal(p.stats.garbage, 5);
});

t.test('a line over the cap closes that connection only', async (t) => {
  const p = await pool(t, { maxLineBytes: 1024 });
  const good = await miner(t, p, { user: 'good', sharesPerSecond: 100 });
  const bad = await miner(t, p, { user: 'bad', mine: false });
  await bad.waitFor(() => bad.stats.authorized);
  bad.sendRaw(`{"id":1,"method":"mining.subscribe","params":["${'x'.repeat(3000)}`);
  await bad.waitFor(() => bad.closed, 5000, 'oversize peer dropped');
  t.equal(p.stats.oversize, 1);
  const n = good.stats.accepted;
  await good.waitFor(() => good.stats.accepted > n + 1, 5000, 'others unaffected');
});

t.test('slow and silent pools', async (t) => {
  const p = await pool(t, { neverAnswer: ['mining.submit'] });
  const m = await miner(t, p, { maxShares: 2, requestTimeoutMs: 100 });
  await m.waitFor(() => m.stats.timeouts === 2, 5000, 'submits time out');
  t.same(
    m.shares.map((s) => s.status),
    ['timeout', 'timeout'],
  );
  t.equal(p.stats.unanswered, 2, 'unanswered');
  t.equal(p.stats.accepted, 2, 'the pool still counted them');

  const slow = await pool(t, { answerDelayMs: 50 });
  const a = await miner(t, slow, { maxShares: 1, requestTimeoutMs: 2000 });
  await a.waitFor(() => a.stats.accepted === 1, 5000, 'slow answers still arrive');
  slow.behavior.answerDelayMs = 200;
  const late = await startSimMiner({ port: slow.port, user: 'late', requestTimeoutMs: 100 });
  t.teardown(() => late.close());
  await late.waitFor(() => late.stats.timeouts >= 1, 5000, 'handshake request timed out');
  t.notOk(late.stats.subscribed);

  const quiet = await pool(t, { silent: true });
  const q = await miner(t, quiet);
  await q.waitFor(() => q.stats.authorized);
  quiet.notify(true);
  t.equal(quiet.clients()[0]!.jobIds.length, 0, 'notify while silent sends nothing');
  await q.request('mining.extranonce.subscribe', []); // a round trip: anything sent earlier has arrived
  t.equal(q.stats.jobs, 0);
  t.equal(q.stats.difficulty, undefined);
  quiet.behavior.silent = false;
  quiet.notify(false);
  await q.waitFor(() => q.stats.accepted >= 1, 5000, 'work once the pool speaks again');
  t.equal(q.stats.difficulty, 2 ** -24, 'difficulty sent before the first job');
});

t.test('refused connections, bounded reconnects, lifetime', async (t) => {
  const p = await pool(t, { refuse: true });
  let closed = false;
  try {
    const m = await startSimMiner({ port: p.port, user: 'r' });
    await m.waitFor(() => m.closed, 5000, 'reset by the pool');
    closed = true;
  } catch {
    closed = true; // the reset can win the race against the connect callback
  }
  t.ok(closed);
  await p.waitFor(() => p.stats.refused === 1);
  t.equal(p.stats.connections, 0);

  const q = await pool(t);
  const m = await miner(t, q, { autoReconnect: true, reconnectAttempts: 3, reconnectDelayMs: 10 });
  await m.waitFor(() => m.stats.authorized);
  let gaveUp = false;
  m.events.on('giveup', () => {
    gaveUp = true;
  });
  await q.close();
  await m.waitFor(() => m.closed, 5000, 'gave up');
  t.ok(gaveUp);
  t.equal(m.stats.reconnects, 1);

  const r = await pool(t);
  const d = await miner(t, r, { durationMs: 100 });
  await d.waitFor(() => d.closed, 5000, 'closed itself after durationMs');
  await r.waitFor(() => r.stats.active === 0);
});

t.test('authorize with a password check', async (t) => {
  const p = await pool(t, { password: 'secret' });
  const bad = await miner(t, p, { user: 'w', password: 'wrong' });
  let refused = false;
  bad.events.on('unauthorized', () => {
    refused = true;
  });
  await bad.waitFor(() => refused);
  t.notOk(bad.stats.authorized);
  t.equal(bad.stats.jobs, 0);
  const good = await miner(t, p, { user: 'w', password: 'secret', maxShares: 1 });
  await good.waitFor(() => good.stats.accepted === 1);

  const q = await pool(t, { authorize: (u) => u.startsWith('ok.'), authorizeFailure: 'error' });
  const no = await miner(t, q, { user: 'nope', mine: false, handshake: false });
  t.match(await no.request('mining.authorize', ['nope', 'x']), { result: null, error: [24] });
});

t.test('pings, get_version, show_message, set_version_mask, suggest_difficulty', async (t) => {
  const p = await pool(t, { honorSuggestedDifficulty: true });
  const m = await miner(t, p, { versionRolling: true, suggestDifficulty: 2 ** -22, sharesPerSecond: 200 });
  await m.waitFor(() => m.stats.accepted >= 1);
  t.equal(m.stats.difficulty, 2 ** -22, 'suggested difficulty honoured');
  t.equal(p.ping(), 1);
  await p.waitFor(() => p.stats.pongs === 1);

  const versions: unknown[] = [];
  p.events.on('response', (r: { msg: { id: unknown; result: unknown } }) => {
    if (r.msg.id === 'v1') versions.push(r.msg.result);
  });
  p.send({ id: 'v1', method: 'client.get_version', params: [] });
  p.send({ id: null, method: 'client.show_message', params: ['hello operator'] });
  await p.waitFor(() => versions.length === 1);
  t.same(versions, ['sim-miner/1.0']);
  await m.waitFor(() => m.stats.messages.length === 1);
  t.same(m.stats.messages, ['hello operator']);

  t.equal(p.setVersionMask('00ffe000'), 1);
  await m.waitFor(() => m.stats.versionMask === '00ffe000');
  const n = p.stats.accepted;
  await p.waitFor(() => p.stats.accepted > n + 2);
  t.equal(p.stats.rejected, 0);
  t.ok(
    p.stats.shares.slice(-2).every((s) => (Number.parseInt(s.versionBits!, 16) & ~0x00ffe000) === 0),
    'new bits inside the new mask',
  );

  const deaf = await miner(t, p, { user: 'deaf', answerPings: false, mine: false });
  await deaf.waitFor(() => deaf.stats.authorized);
  const pongs = p.stats.pongs;
  p.ping();
  await deaf.waitFor(() => deaf.stats.pings === 1);
  await deaf.request('mining.extranonce.subscribe', []); // round trip after the ping
  await m.waitFor(() => m.stats.pings === 2);
  await p.waitFor(() => p.stats.pongs === pongs + 1, 5000, 'only the other miner answered');
});

t.test('client.reconnect never leaves loopback', async (t) => {
  const p = await pool(t);
  const m = await miner(t, p, { mine: false });
  await m.waitFor(() => m.stats.authorized);
  p.sendReconnect('192.0.2.1', p.port, 0);
  await m.waitFor(() => m.stats.connects === 2 && m.stats.authorized);
  t.equal(p.stats.connections, 2, 'came back to 127.0.0.1');
  await t.rejects(startSimMiner({ host: '192.0.2.1', port: p.port, user: 'x' }), /loopback/);
});
