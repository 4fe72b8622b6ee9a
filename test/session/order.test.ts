/**
 * Issue 10 defects in the session: replies in request order (miners that reuse one id match replies by
 * order), and account-mode credentials after failover. A fake upstream whose answers the test releases
 * by hand; no sockets, no sleeps.
 */
import t from 'tap';
import type { JsonValue } from '../../src/protocol/json-rpc.js';
import { MinerSession } from '../../src/session/session.js';
import type { UpstreamReply } from '../../src/upstream/types.js';
import { createLogger } from '../../src/util/log.js';
import { answer, FakeUpstream, TEST_JOB } from '../helpers/fake-upstream.js';
import { miner, pool } from '../helpers/sim.js';
import { startDaemon } from '../daemon/helpers.js';

type Line = Record<string, unknown>;
const tick = () => new Promise<void>((r) => setImmediate(r));

const JOB = TEST_JOB;

/** A session with a job at a difficulty every hash meets; submit answers wait until `release()`. */
async function setup(worker?: { mode: 'passthrough' | 'account'; separator: string }) {
  const up = new FakeUpstream();
  const held: (() => void)[] = [];
  up.answer = (method, params) => {
    if (method === 'mining.subscribe') return answer(1, [[['mining.notify', 'ab']], 'deadbeef', 4]);
    if (method === 'mining.authorize') return answer(2, true);
    if (method === 'mining.submit') return new Promise<UpstreamReply>((resolve) => held.push(() => resolve(answer(3, true))));
    void params;
    return answer(4, true);
  };
  const out: Line[] = [];
  const s = new MinerSession({
    id: 's',
    upstream: up,
    send: (l) => out.push(JSON.parse(l) as Line),
    close: () => {},
    log: createLogger({ level: 'silent' }),
    ...(worker ? { worker } : {}),
  });
  const line = (v: object) => s.handleLine(JSON.stringify(v));
  line({ id: 1, method: 'mining.subscribe', params: [] });
  await tick();
  line({ id: 2, method: 'mining.authorize', params: ['site.rig1', 'x'] });
  await tick();
  up.listener({ type: 'message', msg: { type: 'set-difficulty', id: null, difficulty: 1e-12 } });
  up.listener({ type: 'message', msg: { type: 'notify', id: null, cleanJobs: true, job: JOB } });
  const release = async () => {
    for (const r of held.splice(0)) r();
    await tick();
  };
  return { up, out, s, line, release };
}

const submit = (nonce: string) => ({ id: 4, method: 'mining.submit', params: ['site.rig1', 'j1', '00000000', '5f5e1000', nonce] });

t.test('a local reject waits for the pool answers of the submits before it (one id for all, as cpuminer)', async (t) => {
  const h = await setup();
  const before = h.out.length;
  h.line(submit('00000001')); // valid: forwarded, its answer held at the pool
  h.line(submit('00000001')); // duplicate: rejected locally at once
  h.line(submit('00000002')); // valid: forwarded
  h.line({ id: 5, method: 'mining.ping', params: [] });
  await tick();
  t.equal(h.out.length, before, 'nothing overtakes the first submit, which the pool has not answered');
  t.equal(h.s.pendingReplies, 4);
  await h.release();
  const replies = h.out.slice(before).map((o) => [o.id, o.result, Array.isArray(o.error) ? o.error[0] : o.error]);
  t.same(
    replies,
    [
      [4, true, null],
      [4, false, 22],
      [4, true, null],
      [5, 'pong', null],
    ],
    'answers in request order, so a miner matching by order credits the right share',
  );
  t.equal(h.s.pendingReplies, 0);
});

t.test('notifications from the pool are not held behind pending replies', async (t) => {
  const h = await setup();
  h.line(submit('00000003'));
  await tick();
  h.up.listener({ type: 'message', msg: { type: 'set-difficulty', id: null, difficulty: 0.5 } });
  t.match(h.out.at(-1), { method: 'mining.set_difficulty', params: [0.5] });
  await h.release();
  t.match(h.out.at(-1), { id: 4, result: true });
});

t.test('account mode: after failover the worker is re-authorized, and its shares sent, with the new pool account', async (t) => {
  const h = await setup({ mode: 'account', separator: '.' });
  t.match(
    h.up.sent.find((r) => r.method === 'mining.authorize'),
    { params: ['acct.rig1', 'pw'] },
  );
  // Failover to a pool with another account.
  h.up.pool = { url: 'stratum+tcp://127.0.0.1:2', user: 'backupacct', password: 'pw2' };
  h.up.sent = [];
  h.up.listener({ type: 'up', pool: h.up.pool.url, resumed: true });
  for (let i = 0; i < 5; i++) await tick();
  t.same(
    h.up.sent.filter((r) => r.method === 'mining.authorize').map((r) => r.params),
    [['backupacct.rig1', 'pw2']],
    'the replay authorizes with the new pool account',
  );
  h.up.listener({ type: 'message', msg: { type: 'notify', id: null, cleanJobs: true, job: { ...JOB, jobId: 'j2' } } });
  h.line({ id: 9, method: 'mining.submit', params: ['site.rig1', 'j2', '00000000', '5f5e1000', '00000009'] });
  await tick();
  const sub = h.up.sent.find((r) => r.method === 'mining.submit');
  t.equal(sub?.params[0] as JsonValue, 'backupacct.rig1', 'shares go under the new account too');
  await h.release();
});

t.test('over TCP: a miner that reuses one id and resubmits each share at once gets every answer right', async (t) => {
  const p = await pool(t, { answerDelayMs: 30 });
  const { port } = await startDaemon(t, [p.port]);
  const m = await miner(t, port, { sameSubmitId: 4, maxShares: 8 });
  const dups: Promise<{ status: string; code: number | null }>[] = [];
  // Each share found is sent again right away: the duplicate reaches hashgate while the original waits for the pool.
  m.events.on(
    'submit',
    (rec: { jobId: string; extranonce2: string; ntime: string; nonce: string; versionBits?: string; dup?: boolean }) => {
      if (rec.dup === true || dups.length >= 8) return;
      const { jobId, extranonce2, ntime, nonce, versionBits } = rec;
      // On the next turn: 'submit' fires before the original is written, and the duplicate must follow it.
      dups.push(
        new Promise((resolve) =>
          setImmediate(() =>
            resolve(
              m.submit({ jobId, extranonce2, ntime, nonce, ...(versionBits === undefined ? {} : { versionBits }), dup: true } as never),
            ),
          ),
        ),
      );
    },
  );
  await m.waitFor(() => m.stats.accepted >= 8 && dups.length >= 8, 20_000, '8 shares and their duplicates');
  const results = await Promise.all(dups);
  t.same(
    results.map((r) => [r.status, r.code]),
    Array.from({ length: 8 }, () => ['rejected', 22]),
    'every duplicate got the duplicate answer',
  );
  t.equal(m.stats.accepted, 8, 'every original got the accept');
  t.equal(p.stats.accepted, 8);
  t.equal(m.stats.unmatched, 0);
});
