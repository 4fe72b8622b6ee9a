/** The admin endpoint over real HTTP on 127.0.0.1 port 0, reading a plain-data AdminSource (test/admin/helpers.ts). */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { createMetrics } from '../../src/admin/metrics.js';
import { checkBearer, evaluateReadiness, loadAdminToken, startAdminServer } from '../../src/admin/server.js';
import { buildStatus } from '../../src/admin/status.js';
import { DRIVER_KINDS, THROTTLE_MODES } from '../../src/admin/types.js';
import { createLogger } from '../../src/util/log.js';
import {
  auth,
  captureLog,
  counters,
  fakeSource,
  find,
  NOW,
  parseExposition,
  rawExchange,
  request,
  rig,
  start,
  throttle,
  TOKEN,
  value,
} from './helpers.js';

// ---------------------------------------------------------------------------
// /metrics

t.test('/metrics: parses, and every series carries the value from the source and the hooks', async (t) => {
  const { port, metrics } = await start(t);
  metrics.countShare({ verdict: 'accepted', difficulty: 512 });
  metrics.countShare({ verdict: 'accepted', difficulty: 512 });
  metrics.countShare({ verdict: 'rejected', reason: 'duplicate' });
  metrics.countShare({ verdict: 'rejected', reason: 'nonsense' as 'other' });
  metrics.countPoolAnswer('accepted');
  metrics.countPoolAnswer('timeout');
  metrics.observePoolRtt(3); // 3 ms
  metrics.observePoolRtt(700);
  metrics.observePoolRtt(Number.NaN); // ignored
  metrics.observePoolRtt(-1); // ignored
  metrics.countPoolDisagreement();
  metrics.countDriverError('luxos');
  metrics.countDriverError('bogus' as 'luxos'); // ignored

  const r = await request(port, '/metrics');
  t.equal(r.status, 200);
  t.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const s = parseExposition(r.body);

  t.equal(value(s, 'hashgate_build_info', { version: '9.9.9-test' }), 1);
  t.equal(value(s, 'hashgate_sessions', { status: 'authorized' }), 2);
  t.equal(value(s, 'hashgate_sessions', { status: 'subscribed' }), 1);
  t.equal(value(s, 'hashgate_sessions', { status: 'connected' }), 0);
  t.equal(value(s, 'hashgate_connections_total'), 12);
  t.equal(value(s, 'hashgate_connections_refused_total', { reason: 'total-cap' }), 1);
  t.equal(value(s, 'hashgate_connections_refused_total', { reason: 'per-ip-cap' }), 2);
  t.equal(value(s, 'hashgate_connections_refused_total', { reason: 'no-pool' }), 3);
  t.equal(value(s, 'hashgate_disconnects_total', { reason: 'authorize-timeout' }), 4);
  t.equal(value(s, 'hashgate_disconnects_total', { reason: 'flood' }), 7);
  t.equal(value(s, 'hashgate_submits_rate_limited_total'), 9);
  t.equal(value(s, 'hashgate_block_candidates_total'), 1);
  t.equal(value(s, 'hashgate_no_pool_episodes_total'), 2);
  t.equal(value(s, 'hashgate_no_pool'), 0);
  t.equal(value(s, 'hashgate_journal_records_total'), 500);
  t.equal(value(s, 'hashgate_journal_write_errors_total'), 1);
  t.equal(value(s, 'hashgate_journal_dropped_total'), 3);
  t.equal(value(s, 'hashgate_journal_rotations_total'), 1);

  t.equal(value(s, 'hashgate_shares_total', { verdict: 'accepted', reason: 'none' }), 2);
  t.equal(value(s, 'hashgate_shares_total', { verdict: 'rejected', reason: 'duplicate' }), 1);
  t.equal(value(s, 'hashgate_shares_total', { verdict: 'rejected', reason: 'other' }), 1, 'an unknown reason counts as other');
  t.equal(value(s, 'hashgate_shares_total', { verdict: 'rejected', reason: 'low-difficulty' }), 0, 'every reason exported from the start');
  t.equal(find(s, 'hashgate_shares_total').length, 10, 'accepted + 8 work-core reasons + other: bounded');
  t.equal(value(s, 'hashgate_accepted_difficulty_total'), 1024);
  t.equal(value(s, 'hashgate_pool_answers_total', { result: 'accepted' }), 1);
  t.equal(value(s, 'hashgate_pool_answers_total', { result: 'rejected' }), 0);
  t.equal(value(s, 'hashgate_pool_answers_total', { result: 'timeout' }), 1);
  t.equal(value(s, 'hashgate_pool_disagreements_total'), 1);
  t.equal(value(s, 'hashgate_pool_rtt_seconds_count'), 2, 'NaN and negative round trips are ignored');
  t.equal(value(s, 'hashgate_pool_rtt_seconds_sum'), 0.703);
  t.equal(value(s, 'hashgate_pool_rtt_seconds_bucket', { le: '0.001' }), 0);
  t.equal(value(s, 'hashgate_pool_rtt_seconds_bucket', { le: '0.005' }), 1);
  t.equal(value(s, 'hashgate_pool_rtt_seconds_bucket', { le: '1' }), 2);
  t.equal(value(s, 'hashgate_pool_rtt_seconds_bucket', { le: '10' }), 2);
  t.equal(value(s, 'hashgate_driver_errors_total', { driver: 'luxos' }), 1);
  t.equal(value(s, 'hashgate_driver_errors_total', { driver: 'stratum' }), 0);
  t.equal(find(s, 'hashgate_driver_errors_total').length, DRIVER_KINDS.length, 'unknown driver ignored');

  t.equal(value(s, 'hashgate_upstream_up', { pool: 'stratum+tcp://pool.example:3333' }), 1);
  t.equal(value(s, 'hashgate_upstream_up', { pool: 'stratum+tcp://backup.example:443' }), 0, 'credentials stripped from the pool label');
  t.equal(value(s, 'hashgate_upstream_sessions', { pool: 'stratum+tcp://pool.example:3333' }), 2);
  t.notMatch(r.body, /s3cret|acct\.worker/, 'no credential anywhere in the text');

  t.equal(value(s, 'hashgate_throttle_mode', { mode: 'live' }), 1);
  t.equal(value(s, 'hashgate_queue_depth'), 42);
  t.equal(value(s, 'hashgate_site_budget_watts'), 100_000);
  t.equal(value(s, 'hashgate_gpu_need_watts'), 30_000);
  t.equal(value(s, 'hashgate_asic_budget_watts'), 63_000);
  t.equal(value(s, 'hashgate_asic_watts'), 6_600);
  t.equal(value(s, 'hashgate_freed_watts'), 3_150);
  t.equal(value(s, 'hashgate_redis_up'), 1);
  t.equal(value(s, 'hashgate_redis_last_ok_timestamp_seconds'), 1_700_000_123);
  t.equal(value(s, 'hashgate_throttle_decisions_total'), 17);
  t.equal(value(s, 'hashgate_rigs', { state: 'running' }), 1);
  t.equal(value(s, 'hashgate_rigs', { state: 'curtailed' }), 1);
  t.equal(value(s, 'hashgate_rigs', { state: 'reduced' }), 1);
  t.equal(value(s, 'hashgate_rigs_alerting', { alert: 'still-hashing' }), 1);
  t.equal(value(s, 'hashgate_rigs_alerting', { alert: 'not-resumed' }), 0);
  t.equal(value(s, 'hashgate_group_watts', { group: 'rack-1' }), 3_350);
  t.equal(value(s, 'hashgate_group_watts', { group: 'rack-2' }), 3_250);
  t.equal(value(s, 'hashgate_group_curtailed', { group: 'rack-1' }), 1);
  t.equal(value(s, 'hashgate_group_curtailed', { group: 'rack-2' }), 0);
  t.equal(value(s, 'hashgate_group_rigs', { group: 'rack-1' }), 2);
  t.equal(value(s, 'hashgate_series_capped', { series: 'group' }), 0);

  t.ok(find(s, 'hashgate_process_cpu_user_seconds_total').length === 1, 'process metrics with the hashgate_ prefix');
  t.equal(find(s, 'hashgate_rig_watts').length, 0, 'no per-rig series by default');
  t.equal(find(s, 'hashgate_rig_state').length, 0);
  t.notMatch(r.body, /s19-a|alice/, 'neither rig ids nor worker names become labels by default');

  const head = await request(port, '/metrics', { method: 'HEAD' });
  t.equal(head.status, 200);
  t.equal(head.body, '', 'HEAD: headers only');
  t.equal(head.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
});

t.test('gauges follow the source at scrape time; pools, groups and rigs that went away disappear', async (t) => {
  const { port, source } = await start(t);
  source.state.counters = counters({ connections: 99, noPoolReachable: 1 });
  source.state.throttle = throttle('live', [rig('x', 'rack-9', 'running', 1000)]);
  source.state.journal = null;
  const s = parseExposition((await request(port, '/metrics')).body);
  t.equal(value(s, 'hashgate_connections_total'), 99);
  t.equal(value(s, 'hashgate_no_pool'), 1);
  t.equal(value(s, 'hashgate_journal_records_total'), 0, 'journal off: 0');
  t.same(
    find(s, 'hashgate_group_watts').map((x) => x.labels.group),
    ['rack-9'],
  );
});

t.test('per-rig series only with perRigMetrics, capped, and label values escaped', async (t) => {
  const source = fakeSource();
  const { port } = await start(t, { perRigMetrics: true, source });
  let s = parseExposition((await request(port, '/metrics')).body);
  t.equal(value(s, 'hashgate_rig_watts', { rig: 's19-b', group: 'rack-1' }), 100);
  t.equal(value(s, 'hashgate_rig_state', { rig: 's19-b', state: 'curtailed' }), 1);
  t.equal(value(s, 'hashgate_rig_state', { rig: 's19-b', state: 'running' }), 0);
  t.equal(find(s, 'hashgate_rig_state').length, 9, 'one-hot: 3 rigs × 3 states');

  // A hostile worker name is escaped (and cut), never breaks the text format.
  const nasty = 'evil"}\n# HELP x\\' + 'y'.repeat(300);
  source.state.throttle = throttle('live', [rig(nasty, 'g', 'running', 5)]);
  s = parseExposition((await request(port, '/metrics')).body);
  const rows = find(s, 'hashgate_rig_watts');
  t.equal(rows.length, 1);
  t.ok(rows[0]!.labels.rig!.startsWith('evil"}\n# HELP x\\y'));
  t.equal([...rows[0]!.labels.rig!].length, 128, 'cut to 128 characters');

  // Over the cap: the first maxRigs/maxGroups by name are exported, the rest counted.
  const many = Array.from({ length: 7 }, (_, i) => rig(`r${i}`, `g${i}`, 'running', 10));
  const small = createMetrics({
    source: { ...source, throttle: () => throttle('live', many) },
    perRigMetrics: true,
    maxRigs: 5,
    maxGroups: 4,
    processMetrics: false,
  });
  s = parseExposition(await small.metrics());
  t.same(
    find(s, 'hashgate_rig_watts').map((x) => x.labels.rig),
    ['r0', 'r1', 'r2', 'r3', 'r4'],
  );
  t.equal(find(s, 'hashgate_group_watts').length, 4);
  t.equal(value(s, 'hashgate_series_capped', { series: 'rig' }), 2);
  t.equal(value(s, 'hashgate_series_capped', { series: 'group' }), 3);
});

t.test('throttle mode is one-hot over every mode; throttle off = mode off and NaN gauges', async (t) => {
  const source = fakeSource();
  const metrics = createMetrics({ source, processMetrics: false });
  for (const mode of THROTTLE_MODES) {
    source.state.throttle = throttle(mode);
    const s = parseExposition(await metrics.metrics());
    const rows = find(s, 'hashgate_throttle_mode');
    t.same(rows.map((r) => r.labels.mode).sort(), [...THROTTLE_MODES].sort(), `${mode}: every mode exported`);
    t.same(
      rows.filter((r) => r.value === 1).map((r) => r.labels.mode),
      [mode],
      `${mode}: exactly one is 1`,
    );
    t.ok(rows.every((r) => r.value === 0 || r.value === 1));
  }
  source.state.throttle = null;
  const s = parseExposition(await metrics.metrics());
  t.same(
    find(s, 'hashgate_throttle_mode')
      .filter((r) => r.value === 1)
      .map((r) => r.labels.mode),
    ['off'],
  );
  for (const name of [
    'hashgate_queue_depth',
    'hashgate_asic_budget_watts',
    'hashgate_redis_up',
    'hashgate_redis_last_ok_timestamp_seconds',
  ])
    t.ok(Number.isNaN(value(s, name)), `${name} is NaN with the throttle off`);
  t.equal(value(s, 'hashgate_rigs', { state: 'running' }), 0);

  source.state.throttle = { ...throttle('stale-hold'), depth: null, redis: { healthy: false, lastOkAt: null, error: 'ECONNREFUSED' } };
  const stale = parseExposition(await metrics.metrics());
  t.ok(Number.isNaN(value(stale, 'hashgate_queue_depth')), 'unknown depth is NaN');
  t.equal(value(stale, 'hashgate_redis_up'), 0);
  t.equal(value(stale, 'hashgate_redis_last_ok_timestamp_seconds'), 0, 'never ok = 0');
});

t.test('each Metrics has its own registry', async (t) => {
  const a = createMetrics({ source: fakeSource(), processMetrics: false });
  const b = createMetrics({ source: fakeSource(), processMetrics: false });
  a.countPoolDisagreement();
  t.equal(value(parseExposition(await a.metrics()), 'hashgate_pool_disagreements_total'), 1);
  t.equal(value(parseExposition(await b.metrics()), 'hashgate_pool_disagreements_total'), 0);
});

// ---------------------------------------------------------------------------
// Health, status, routing

t.test('/healthz is live; /healthz?ready and /readyz follow readiness', async (t) => {
  const { port, source } = await start(t);
  t.same(JSON.parse((await request(port, '/healthz')).body), { status: 'ok' });
  for (const path of ['/healthz?ready', '/readyz']) {
    const r = await request(port, path);
    t.equal(r.status, 200, path);
    t.same(JSON.parse(r.body), { status: 'ready' });
  }
  source.state.ready = evaluateReadiness({ listening: true, noPool: true, stopping: false });
  for (const path of ['/healthz?ready', '/readyz']) {
    const r = await request(port, path);
    t.equal(r.status, 503, path);
    t.same(JSON.parse(r.body), { status: 'not ready', why: ['no pool reachable (failover.poolLossGraceMs passed)'] });
  }
  t.equal((await request(port, '/healthz')).status, 200, 'still live while not ready');
});

t.test('evaluateReadiness', async (t) => {
  t.same(evaluateReadiness({ listening: true, noPool: false, stopping: false }), { ready: true, why: [] });
  const r = evaluateReadiness({ listening: false, noPool: true, stopping: true });
  t.equal(r.ready, false);
  t.equal(r.why.length, 3);
});

t.test('/status: version, uptime, counters, pools, per-worker rows, throttle', async (t) => {
  const { port } = await start(t);
  const r = await request(port, '/status');
  t.equal(r.status, 200);
  t.match(r.headers['content-type'], /^application\/json/);
  const doc = JSON.parse(r.body) as ReturnType<typeof buildStatus>;
  t.equal(doc.version, '9.9.9-test');
  t.equal(doc.uptimeSeconds, 3600);
  t.equal(doc.counters.connections, 12);
  t.equal(doc.pools.length, 2);
  t.equal(doc.sessions.count, 3);
  t.same(doc.sessions.byStatus, { authorized: 2, subscribed: 1 });
  t.equal(doc.sessions.workers.length, 2);
  const w = doc.sessions.workers.find((x) => x.worker === 'alice.rig1')!;
  t.match(w, {
    session: 's1',
    peer: '10.0.0.2:4000',
    accepted: 10,
    rejected: { duplicate: 2, 'stale-job': 1 },
    rejectedTotal: 3,
    poolRttMs: 25,
  });
  t.equal(w.hashrate, (100 * 2 ** 32) / 100, 'accepted difficulty × 2^32 over the 100 s the session ran');
  t.equal(doc.journal!.records, 500);
  t.equal(doc.throttle!.mode, 'live');
  t.equal(doc.throttle!.rigs.length, 3, 'per-rig detail');

  const capped = buildStatus(fakeSource(), NOW, 1);
  t.equal(capped.sessions.workers.length, 1);
  t.equal(capped.sessions.workersOmitted, 1);
});

t.test('routing: 404, 405, 413, bad target', async (t) => {
  const { port } = await start(t);
  t.equal((await request(port, '/nope')).status, 404);
  t.equal((await request(port, '/metrics/')).status, 404);
  for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
    const r = await request(port, '/metrics', { method });
    t.equal(r.status, 405, method);
    t.equal(r.headers.allow, 'GET, HEAD');
  }
  t.equal((await request(port, '/status', { headers: { 'Content-Length': '5' }, body: 'hello' })).status, 413, 'GET with a body');
  t.equal((await request(port, '/healthz')).status, 200, 'still serving');
});

// ---------------------------------------------------------------------------
// Bearer token

t.test('token: every path but the health checks needs it; wrong or missing → 401; never logged', async (t) => {
  const { log, text } = captureLog();
  const { port } = await start(t, { token: `  ${TOKEN}\n`, log });
  for (const path of ['/metrics', '/status', '/nope']) {
    const none = await request(port, path);
    t.equal(none.status, 401, `${path} without a token`);
    t.equal(none.headers['www-authenticate'], 'Bearer realm="hashgate"');
    const wrong = await request(port, path, { headers: { Authorization: `Bearer ${TOKEN}x` } });
    t.equal(wrong.status, 401, `${path} with a wrong token`);
    t.equal(wrong.headers['www-authenticate'], 'Bearer realm="hashgate", error="invalid_token"');
    t.equal((await request(port, path, { headers: { Authorization: `Basic ${TOKEN}` } })).status, 401, 'not a bearer scheme');
  }
  t.equal((await request(port, '/metrics', { headers: auth })).status, 200, 'right token (trimmed from config)');
  t.equal((await request(port, '/status', { headers: { Authorization: `bearer ${TOKEN}` } })).status, 200, 'scheme is case-insensitive');
  t.equal((await request(port, '/nope', { headers: auth })).status, 404);
  t.equal((await request(port, '/healthz')).status, 200, '/healthz open');
  t.equal((await request(port, '/readyz')).status, 200, '/readyz open');
  t.match(text(), /admin endpoint listening/);
  t.notMatch(text(), new RegExp(TOKEN), 'the token never reaches the log');
});

t.test('checkBearer', async (t) => {
  t.ok(checkBearer(`Bearer ${TOKEN}`, TOKEN));
  t.notOk(checkBearer(undefined, TOKEN));
  t.notOk(checkBearer('Bearer ', TOKEN));
  t.notOk(checkBearer(`Bearer ${TOKEN.slice(1)}`, TOKEN), 'shorter');
  t.notOk(checkBearer(`Bearer ${TOKEN} extra`, TOKEN));
});

t.test('tokenFile is read once and trimmed; bad tokens are refused without echoing them', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'hashgate-admin-'));
  const file = join(dir, 'token');
  writeFileSync(file, `${TOKEN}\n`);
  const { port } = await start(t, { tokenFile: file });
  writeFileSync(file, 'changed-after-start-0000000000');
  t.equal((await request(port, '/metrics', { headers: auth })).status, 200, 'the token read at start is in force');

  await t.rejects(loadAdminToken({ tokenFile: join(dir, 'missing') }), { code: 'HG_ERR_CONFIG', message: /cannot read it \(ENOENT\)/ });
  writeFileSync(file, 'short\n');
  await t.rejects(loadAdminToken({ tokenFile: file }), { code: 'HG_ERR_CONFIG', message: /at least 16 characters/ });
  await t.rejects(loadAdminToken({ token: 'two words but long enough' }), { code: 'HG_ERR_CONFIG' });
  await t.rejects(loadAdminToken({ token: TOKEN, tokenFile: file }), { code: 'HG_ERR_CONFIG', message: /not both/ });
  const e = await loadAdminToken({ token: 'tiny-secret' }).catch((err: Error) => err);
  t.notMatch((e as Error).message, /tiny-secret/, 'the message does not echo the token');
  t.equal(await loadAdminToken({}), null);
});

t.test('a non-loopback address without a token is refused before binding', async (t) => {
  const source = fakeSource();
  const metrics = createMetrics({ source, processMetrics: false });
  for (const host of ['0.0.0.0', '::', '192.0.2.10']) {
    await t.rejects(
      startAdminServer({ listen: { host, port: 0 }, token: null, source, metrics, log: createLogger({ level: 'silent' }) }),
      { code: 'HG_ERR_CONFIG', message: /not a loopback address: set admin\.token or admin\.tokenFile/ },
      host,
    );
  }
});

t.test('an address in use is HG_ERR_LISTEN', async (t) => {
  const { port } = await start(t);
  const source = fakeSource();
  await t.rejects(
    startAdminServer({
      listen: { host: '127.0.0.1', port },
      source,
      metrics: createMetrics({ source, processMetrics: false }),
      log: createLogger({ level: 'silent' }),
    }),
    { code: 'HG_ERR_LISTEN', message: /EADDRINUSE/ },
  );
});

// ---------------------------------------------------------------------------
// Hostile input

t.test('garbage, oversized headers and a source that throws never take the server down', async (t) => {
  const { log } = captureLog();
  const { port, source } = await start(t, { log });
  const garbage = Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 131 + 7) % 256));
  t.match(await rawExchange(port, garbage), /^HTTP\/1\.1 400 /, 'binary garbage → 400 and close');
  t.match(await rawExchange(port, 'GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(20_000) + '\r\n\r\n'), /^HTTP\/1\.1 431 /);
  t.match(await rawExchange(port, 'GET /healthz HTTP/9.9\r\n\r\n'), /^HTTP\/1\.1 (400|505) /);
  t.match(
    await rawExchange(port, 'GET http://[bad/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'),
    /^HTTP\/1\.1 400 /,
    'unparsable target',
  );

  source.sessions = () => {
    throw new Error('boom');
  };
  t.equal((await request(port, '/metrics')).status, 500, 'a failing collect is a 500');
  t.equal((await request(port, '/status')).status, 500);
  t.equal((await request(port, '/healthz')).status, 200, 'and the server still answers');
});

// ---------------------------------------------------------------------------
// Docs and dashboard stay in sync with the registry

/** Name → type of every metric a Metrics registers (with per-rig series; process metrics optional). */
async function metricTypes(processMetrics: boolean): Promise<Map<string, string>> {
  const m = createMetrics({ source: fakeSource(), perRigMetrics: true, processMetrics });
  return new Map((await m.registry.getMetricsAsJSON()).map((x) => [x.name, String(x.type)]));
}

t.test('docs/metrics.md has one table row per metric, no more', async (t) => {
  const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
  const rows = [...doc.matchAll(/^\| `(hashgate_[a-z0-9_]+)` +\| (counter|gauge|histogram) +\|/gm)];
  const types = await metricTypes(false);
  t.same(rows.map((r) => r[1]).sort(), [...types.keys()].sort());
  for (const r of rows) t.equal(types.get(r[1]!), r[2], `${r[1]} type`);
});

t.test('docs/grafana/hashgate.json: parses, uses ${DS_PROMETHEUS}, and every metric it queries exists', async (t) => {
  const dash = JSON.parse(readFileSync(new URL('../../docs/grafana/hashgate.json', import.meta.url), 'utf8')) as {
    schemaVersion: number;
    templating: { list: { name: string; type: string; query?: unknown; definition?: string }[] };
    panels: { type: string; title: string; datasource?: { uid: string }; targets?: { expr: string }[] }[];
  };
  t.ok(dash.schemaVersion >= 36 && dash.schemaVersion <= 41, 'schemaVersion ~39');
  t.ok(dash.templating.list.some((v) => v.name === 'DS_PROMETHEUS' && v.type === 'datasource'));
  const known = await metricTypes(true);
  const exprs = [
    ...dash.panels.flatMap((p) => (p.targets ?? []).map((x) => ({ where: p.title, expr: x.expr }))),
    ...dash.templating.list.filter((v) => v.definition !== undefined).map((v) => ({ where: `variable ${v.name}`, expr: v.definition! })),
  ];
  t.ok(exprs.length >= 20, 'the dashboard has queries');
  const used = new Set<string>();
  for (const { where, expr } of exprs) {
    const names = expr.match(/\bhashgate_[a-z0-9_]+/g) ?? [];
    t.ok(names.length > 0, `${where}: queries a hashgate metric`);
    for (const n of names) {
      const base = n.replace(/_(bucket|sum|count)$/, '');
      t.ok(known.has(n) || (known.has(base) && known.get(base) === 'histogram'), `${where}: ${n} exists`);
      used.add(known.has(n) ? n : base);
    }
  }
  for (const p of dash.panels.filter((p) => p.type !== 'row')) t.equal(p.datasource?.uid, '${DS_PROMETHEUS}', `${p.title}: datasource`);
  for (const n of [
    'hashgate_sessions',
    'hashgate_shares_total',
    'hashgate_pool_rtt_seconds',
    'hashgate_upstream_up',
    'hashgate_throttle_mode',
    'hashgate_queue_depth',
    'hashgate_gpu_need_watts',
    'hashgate_asic_budget_watts',
    'hashgate_asic_watts',
    'hashgate_freed_watts',
    'hashgate_rigs',
    'hashgate_rigs_alerting',
    'hashgate_driver_errors_total',
    'hashgate_redis_up',
  ])
    t.ok(used.has(n), `a panel shows ${n}`);
});

t.test('measured hash rate and watts: fleet totals always, per rig only with perRigMetrics', async (t) => {
  const measured = (id: string, ths: number, watts: number) => ({
    ...rig(id, 'rack-1', 'running', 3000),
    measuredThs: ths,
    measuredWatts: watts,
  });
  const rigs = [measured('m1', 95.5, 3100), measured('m2', 20, 650), rig('m3', 'rack-1', 'curtailed', 20)];
  const off = await start(t);
  off.source.state.throttle = throttle('live', rigs);
  let s = parseExposition((await request(off.port, '/metrics')).body);
  t.equal(value(s, 'hashgate_measured_ths'), 115.5, 'summed over the rigs with a measurement');
  t.equal(value(s, 'hashgate_measured_asic_watts'), 3750);
  t.equal(find(s, 'hashgate_rig_measured_ths').length, 0, 'no per-rig series by default');
  const source = fakeSource();
  source.state.throttle = throttle('live', rigs);
  const on = await start(t, { perRigMetrics: true, source });
  s = parseExposition((await request(on.port, '/metrics')).body);
  t.equal(value(s, 'hashgate_rig_measured_ths', { rig: 'm1', group: 'rack-1' }), 95.5);
  t.ok(Number.isNaN(value(s, 'hashgate_rig_measured_ths', { rig: 'm3', group: 'rack-1' })), 'NaN before any measurement');
});
