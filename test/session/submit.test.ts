/**
 * The submit pipeline alone (check, record, forward, settle, answer) with fakes for the pool link, the
 * share recorder and the metrics; and the flood limiter with time passed in. No session, no sockets.
 */
import t from 'tap';
import type { JsonValue } from '../../src/protocol/json-rpc.js';
import type { SubmitMessage } from '../../src/protocol/miner.js';
import type { PoolReply, PoolVerdict, ShareRecord } from '../../src/session/ports.js';
import { createWorkerStats, type WorkerStats } from '../../src/work/worker-stats.js';
import { type SubmitContext, SubmitPipeline } from '../../src/session/submit.js';
import { SubmitLimiter } from '../../src/session/submit-limit.js';
import { createLogger } from '../../src/util/log.js';
import { JobCache } from '../../src/work/job-cache.js';
import { JobStore } from '../../src/work/job-store.js';
import { answer, TEST_JOB } from '../helpers/fake-upstream.js';

const JOB = TEST_JOB;

function pipeline(poolAnswer: (params: readonly JsonValue[]) => PoolReply | Promise<PoolReply>, forwardRejected = false) {
  const store = new JobStore();
  const prepared = new JobCache().prepare(JOB);
  if (!prepared.ok) throw new Error('job');
  store.add(prepared.job, true);
  const sent: (readonly JsonValue[])[] = [];
  const records: { share: ShareRecord; settled: [PoolVerdict, unknown][] }[] = [];
  const metrics: string[] = [];
  const locals: ShareRecord[] = [];
  const stats = new Map<string, WorkerStats>();
  const p = new SubmitPipeline({
    sessionId: 's1',
    link: {
      request: (_method, params) => {
        sent.push(params);
        return Promise.resolve(poolAnswer(params));
      },
    },
    store,
    log: createLogger({ level: 'silent' }),
    now: () => 5000,
    recorder: {
      session: () => {},
      notify: () => {},
      endSession: () => {},
      submit: (_sid, share) => {
        const r = { share, settled: [] as [PoolVerdict, unknown][] };
        records.push(r);
        return { settle: (pv, pe) => r.settled.push([pv, pe ?? null]) };
      },
      localShare: (_sid, share) => void locals.push(share),
    },
    metrics: {
      countShare: (e) => metrics.push(`share:${e.verdict}`),
      countPoolAnswer: (r) => metrics.push(`pool:${r}`),
      observePoolRtt: () => metrics.push('rtt'),
      countPoolDisagreement: () => metrics.push('disagree'),
    },
    forwardRejected,
    stats: (w) => {
      let s = stats.get(w);
      if (s === undefined) stats.set(w, (s = createWorkerStats()));
      return s;
    },
  });
  const ctx: SubmitContext = {
    extranonce1: 'deadbeef',
    extranonce2Size: 4,
    versionMask: null,
    difficulty: 1e-12,
    poolDifficulty: 1e-12,
    poolUser: 'pooluser.rig1',
    recorded: true,
  };
  const run = async (nonce: string, c: Partial<SubmitContext> = {}, jobId = 'j1') => {
    const msg: SubmitMessage = {
      type: 'submit',
      id: 7,
      worker: 'rig1',
      share: { jobId, extranonce2: '00000000', ntime: '5f5e1000', nonce },
    };
    let line: string | null | undefined;
    await p.submit(msg, { ...ctx, ...c }, (l) => (line = l));
    return line === null || line === undefined ? line : (JSON.parse(line) as Record<string, unknown>);
  };
  return { p, sent, records, locals, metrics, stats, run };
}

t.test('a valid share: checked, recorded, forwarded under the pool user, settled accepted, answered', async (t) => {
  const h = pipeline(() => answer(1, true));
  t.same(await h.run('00000001'), { id: 7, result: true, error: null });
  t.same(h.sent, [['pooluser.rig1', 'j1', '00000000', '5f5e1000', '00000001']]);
  t.equal(h.records.length, 1);
  t.match(h.records[0]!.share, { worker: 'rig1', difficulty: 1e-12, verdict: { valid: true } });
  t.same(h.records[0]!.settled, [['accepted', null]]);
  t.same(h.metrics, ['share:accepted', 'rtt', 'pool:accepted']);
  t.equal(h.stats.get('rig1')!.accepted, 1);
});

t.test('an invalid share: answered with its Stratum error, settled not-sent, never forwarded (unless forwardRejected)', async (t) => {
  const h = pipeline(() => answer(1, true));
  await h.run('00000001');
  t.match(await h.run('00000001'), { id: 7, result: false, error: [22, 'Duplicate share', null] });
  t.equal(h.sent.length, 1, 'the duplicate was not forwarded');
  t.same(h.records[1]!.settled, [['not-sent', null]]);
  t.match(await h.run('00000002', {}, 'nojob'), { error: [21] });
  t.equal(h.stats.get('rig1')!.rejected.duplicate, 1);

  const f = pipeline(() => answer(1, false, [22, 'dup', null]), true);
  await f.run('00000001');
  t.match(await f.run('00000001'), { result: false, error: [22, 'dup', null] }, 'forwardRejected: the pool answers it');
  t.equal(f.sent.length, 2);
  t.same(f.records[1]!.settled, [['rejected', [22, 'dup']]]);
});

t.test('the pool rejects a share hashgate accepted: a disagreement; the pool error is clipped in the journal', async (t) => {
  const h = pipeline(() => answer(1, false, [23, 'x'.repeat(1000), { deep: [1] }]));
  t.match(await h.run('00000001'), { result: false, error: [23, 'x'.repeat(256), null] });
  t.same(h.records[0]!.settled, [['rejected', [23, 'x'.repeat(256)]]]);
  t.ok(h.metrics.includes('disagree'));
  t.equal(h.stats.get('rig1')!.disagreements, 1);
});

t.test('no usable pool answer: timeout, closed, unsent, unreadable', async (t) => {
  const cases: [PoolReply, PoolVerdict, string][] = [
    [{ status: 'timeout', sent: true }, 'timeout', 'Pool did not answer in time'],
    [{ status: 'closed', sent: true }, 'unknown', 'Pool connection lost'],
    [{ status: 'timeout', sent: false }, 'not-sent', 'Pool did not answer in time'],
    [{ status: 'invalid', reason: 'too deep' }, 'unknown', 'Pool sent an unusable answer'],
  ];
  for (const [reply, pv, message] of cases) {
    const h = pipeline(() => reply);
    const out = await h.run('00000001');
    t.match(out, { result: false, error: [20, message, null] }, `${reply.status}: the miner gets an answer`);
    t.same(
      h.records[0]!.settled.map(([v]) => v),
      [pv],
      `${reply.status}: journaled ${pv}`,
    );
  }
});

t.test('refused before the check: not subscribed, not authorized, draining', async (t) => {
  const h = pipeline(() => answer(1, true));
  t.match(await h.run('00000001', { extranonce1: null }), { error: [25] });
  t.match(await h.run('00000001', { poolUser: undefined }), { error: [24] });
  let release: () => void = () => {};
  const slow = pipeline(() => new Promise<PoolReply>((r) => (release = () => r(answer(1, true)))));
  const first = slow.run('00000001');
  await new Promise((r) => setImmediate(r));
  t.equal(slow.p.inflight, 1);
  let drained = false;
  const draining = slow.p.drain().then(() => (drained = true));
  t.match(await slow.run('00000002'), { error: [20, 'Proxy is shutting down; reconnect', null] }, 'no new submit while draining');
  t.notOk(drained, 'drain waits for the one at the pool');
  release();
  t.same(await first, { id: 7, result: true, error: null });
  await draining;
  t.ok(drained);
  t.equal(h.sent.length, 0);
});

t.test('SubmitLimiter: burst, refill, episodes, burst flood and steady flood', async (t) => {
  const l = new SubmitLimiter({ perSecond: 2, burst: 3, floodFactor: 2 }, 0);
  t.same(
    [0, 0, 0].map(() => l.take(0)),
    ['ok', 'ok', 'ok'],
  );
  t.same(l.take(0), { limited: true, episodeStart: true });
  t.same(l.take(0), { limited: true, episodeStart: false });
  t.equal(l.take(1000), 'ok', 'two tokens after a second');
  t.equal(l.take(1000), 'ok');
  t.same(l.take(1000), { limited: true, episodeStart: true }, 'the excess (2) drained in that second: a new episode');
  t.equal(new SubmitLimiter({}, 0).take(0), 'ok', 'no rate: no limit');
  const burst = new SubmitLimiter({ perSecond: 1, burst: 2, floodFactor: 3 }, 0);
  const verdicts = Array.from({ length: 10 }, () => burst.take(0));
  t.equal(verdicts.indexOf('flood'), 2 + 6, 'flood after 2 tokens and 3 x 2 over-limit');
  const steady = new SubmitLimiter({ perSecond: 20, burst: 100 }, 0);
  let now = 0;
  let n = 0;
  while (n < 100_000 && steady.take(now) !== 'flood') {
    now += 0.1;
    n++;
  }
  t.ok(n < 1200, `a steady 10,000/s is a flood within ${n} submits`);
});

t.test(
  'local difficulty: a share below the pool difficulty is answered by hashgate and never forwarded; one above is forwarded as without hashgate',
  async (t) => {
    // Each share's own difficulty, from a run where everything is forwarded (local = pool).
    const nonces = Array.from({ length: 64 }, (_, i) => (i + 1).toString(16).padStart(8, '0'));
    const all = pipeline(() => answer(1, true));
    for (const n of nonces) await all.run(n);
    const diffs = all.records.map((r) => (r.share.verdict.valid ? r.share.verdict.shareDifficulty : 0));
    const pool = [...diffs].sort((a, b) => a - b)[32]!; // about half the shares meet it
    const expectForwarded = nonces.filter((_, i) => diffs[i]! >= pool);
    t.ok(expectForwarded.length > 10 && expectForwarded.length < 54, 'a pool difficulty that splits the shares');

    const h = pipeline(() => answer(1, true));
    const answers = [];
    for (const n of nonces) answers.push(await h.run(n, { difficulty: 1e-12, poolDifficulty: pool }));
    t.ok(
      answers.every((a) => a !== null && a !== undefined && a.result === true),
      'every valid share answered true',
    );
    t.same(
      h.sent.map((p) => p[4]),
      expectForwarded,
      'exactly the shares that meet the pool difficulty went to the pool, in order',
    );
    t.equal(h.records.length, expectForwarded.length, 'the journal has the forwarded shares');
    t.equal(h.locals.length, 64 - expectForwarded.length, 'and is told of the local-only ones');
    t.ok(
      h.locals.every((r) => r.difficulty === 1e-12 && r.verdict.valid),
      'at the local difficulty they were checked at',
    );
    t.ok(
      h.records.every((r) => r.share.difficulty === pool),
      'recorded at the pool difficulty (what the pool judged them at)',
    );
    const st = h.stats.get('rig1')!;
    t.equal(st.localShares, 64, 'every valid share is hash-rate evidence');
    t.ok(Math.abs(st.localDifficulty - 64e-12) < 1e-20, 'their difficulties summed');
    t.equal(st.localOnly, 64 - expectForwarded.length);
    t.equal(st.accepted, expectForwarded.length, 'accepted counts what the pool accepted');
    // An invalid share is still refused with its error, whatever the local difficulty.
    t.match(await h.run(nonces[0]!, { difficulty: 1e-12, poolDifficulty: pool }), { result: false, error: [22] });
  },
);
