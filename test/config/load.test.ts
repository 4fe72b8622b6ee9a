import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import {
  buildConfig,
  CONFIG_DEFAULTS,
  CONFIG_OPTIONS,
  ConfigError,
  type ConfigLayers,
  type ConfigProblem,
  loadConfig,
} from '../../src/config/index.js';
import { HashgateError } from '../../src/util/errors.js';

const POOL = 'stratum+tcp://pool.example.com:3333';

function problemsOf(layers: ConfigLayers): ConfigProblem[] {
  try {
    buildConfig(layers);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  throw new Error('expected a ConfigError');
}

async function loadProblems(options: Parameters<typeof loadConfig>[0]): Promise<ConfigProblem[]> {
  try {
    await loadConfig(options);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.problems];
    throw e;
  }
  throw new Error('expected a ConfigError');
}

const paths = (ps: ConfigProblem[]) => ps.map((p) => p.path);

t.test('defaults: one pool is all it takes', async (t) => {
  const c = buildConfig({ flags: { pool: POOL } });
  t.same(c.listen, [{ host: '0.0.0.0', port: 3333 }]);
  t.same(c.pools, [{ host: 'pool.example.com', port: 3333, url: POOL, user: null, password: null }]);
  t.same(c.worker, { mode: 'passthrough', separator: '.' });
  t.same(c.limits, CONFIG_DEFAULTS.limits);
  t.same(c.shares, {
    forwardRejected: false,
    ntimeWindowSeconds: 7200,
    localDifficulty: {
      enabled: false,
      targetSharesPerMinute: 300,
      tolerance: 0.25,
      minDifficulty: 1,
      maxDifficulty: 1e9,
      startDifficulty: 10_000,
      minRetargetSeconds: 10,
    },
  });
  t.same(c.failover, CONFIG_DEFAULTS.failover);
  t.same(c.shutdown, CONFIG_DEFAULTS.shutdown);
  t.same(c.journal, { path: null, rotateBytes: 268435456, localShares: { mode: 'aggregate', flushMs: 10_000 } });
  t.same(c.log, { level: 'info', pretty: false });
});

t.test('no pool at all is a problem that says where to give one', async (t) => {
  const ps = problemsOf({});
  t.same(paths(ps), ['pools']);
  t.match(ps[0]!.message, /at least one pool is required: --pool, HASHGATE_POOL or "pools"/);
  t.same(paths(problemsOf({ file: { name: 'f.json', value: { pools: [] } } })), ['pools']);
});

t.test('precedence: flags > env > file > defaults, per option; lists replaced whole', async (t) => {
  const file = {
    name: 'c.json',
    value: {
      listen: ['127.0.0.1:1000', '127.0.0.1:1001'],
      pools: ['stratum+tcp://file-a:1', 'stratum+tcp://file-b:2'],
      limits: { maxLineBytes: 4096, maxConnections: 10 },
      log: { level: 'warn', pretty: true },
      journal: { path: '/file/journal.jsonl' },
    },
  };
  const fileOnly = buildConfig({ file });
  t.equal(fileOnly.limits.maxLineBytes, 4096);
  t.equal(fileOnly.limits.maxConnections, 10);
  t.equal(fileOnly.limits.maxConnectionsPerIp, 100, 'a per-IP default above the total is not an error');
  t.equal(fileOnly.log.level, 'warn');

  const env = { HASHGATE_POOL: 'stratum+tcp://env:3', HASHGATE_LOG_LEVEL: 'error', HASHGATE_MAX_LINE_BYTES: '8192' };
  const withEnv = buildConfig({ file: { ...file, value: { ...file.value, limits: { maxLineBytes: 4096 } } }, env });
  t.same(
    withEnv.pools.map((p) => p.host),
    ['env'],
    'env list replaces the file list whole',
  );
  t.equal(withEnv.log.level, 'error', 'env beats file');
  t.equal(withEnv.log.pretty, true, 'file value kept where env says nothing');
  t.equal(withEnv.limits.maxLineBytes, 8192);
  t.equal(withEnv.journal.path, '/file/journal.jsonl');
  t.same(withEnv.listen, [
    { host: '127.0.0.1', port: 1000 },
    { host: '127.0.0.1', port: 1001 },
  ]);

  const all = buildConfig({
    file: { ...file, value: { ...file.value, limits: { maxLineBytes: 4096 } } },
    env,
    flags: { logLevel: 'debug', listen: ['[::]:4000'], journal: '/flag/j.jsonl', maxLineBytes: '2048' },
  });
  t.equal(all.log.level, 'debug', 'flag beats env');
  t.same(all.listen, [{ host: '::', port: 4000 }], 'flag list replaces the file list');
  t.equal(all.journal.path, '/flag/j.jsonl');
  t.equal(all.limits.maxLineBytes, 2048);
  t.same(
    all.pools.map((p) => p.host),
    ['env'],
  );
});

t.test('flags: yargs-shaped argv (camelCase read, extras ignored, numbers and booleans as given)', async (t) => {
  const c = buildConfig({
    flags: {
      _: ['run'],
      $0: 'hashgate',
      pool: [POOL, 'stratum+tcp://b:1'],
      'log-level': 'trace',
      logLevel: 'trace',
      logPretty: true,
      forwardRejected: false,
      maxConnectionsPerIp: 7,
      backoffJitter: 0,
      submitsPerSecond: '2.5',
      journal: undefined,
      config: '/ignored/here.json',
    },
  });
  t.equal(c.pools.length, 2);
  t.equal(c.log.level, 'trace');
  t.equal(c.log.pretty, true);
  t.equal(c.limits.maxConnectionsPerIp, 7);
  t.equal(c.failover.backoffJitter, 0);
  t.equal(c.limits.submitsPerSecond, 2.5);
  t.equal(c.journal.path, null);
  const kebab = buildConfig({ flags: { pool: POOL, 'max-line-bytes': '2048' } });
  t.equal(kebab.limits.maxLineBytes, 2048, 'kebab-case keys are read too');
});

t.test('env mapping: every option has its variable, values converted by type', async (t) => {
  const env: Record<string, string> = {
    HASHGATE_LISTEN: '0.0.0.0:3333, [::]:3334',
    HASHGATE_POOL: `${POOL},stratum+tcp://acct:p%2Cw@[::1]:4444`,
    HASHGATE_WORKER_MODE: 'passthrough',
    HASHGATE_WORKER_SEPARATOR: '_',
    HASHGATE_MAX_LINE_BYTES: '4096',
    HASHGATE_MAX_CONNECTIONS: '50',
    HASHGATE_MAX_CONNECTIONS_PER_IP: '5',
    HASHGATE_AUTHORIZE_TIMEOUT_MS: '5000',
    HASHGATE_TCP_KEEPALIVE_MS: '0',
    HASHGATE_POOL_REQUEST_TIMEOUT_MS: '2000',
    HASHGATE_SUBMITS_PER_SECOND: '0.5',
    HASHGATE_SUBMIT_BURST: '3',
    HASHGATE_MAX_WORKERS_PER_CONNECTION: '7',
    HASHGATE_FORWARD_REJECTED: 'yes',
    HASHGATE_NTIME_WINDOW_SECONDS: '600',
    HASHGATE_LOCAL_DIFFICULTY: 'on',
    HASHGATE_BACKOFF_BASE_MS: '100',
    HASHGATE_BACKOFF_MAX_MS: '200',
    HASHGATE_BACKOFF_JITTER: '0.1',
    HASHGATE_NOTIFY_SILENCE_MS: '0',
    HASHGATE_PRIMARY_RECHECK_MS: '30000',
    HASHGATE_POOL_LOSS_GRACE_MS: '1000',
    HASHGATE_SHUTDOWN_DEADLINE_MS: '3000',
    HASHGATE_JOURNAL: '/var/lib/hashgate/j.jsonl',
    HASHGATE_JOURNAL_ROTATE_BYTES: '0',
    HASHGATE_LOG_LEVEL: 'warn',
    HASHGATE_LOG_PRETTY: 'off',
    HASHGATE_ADMIN_LISTEN: '127.0.0.1:9999',
    HASHGATE_ADMIN_TOKEN_FILE: '/etc/hashgate/admin-token',
    HASHGATE_THROTTLE: 'on',
    HASHGATE_THROTTLE_SHADOW: 'true',
    HASHGATE_SITE_BUDGET_WATTS: '1000000',
    HASHGATE_REDIS_URL: 'redis://127.0.0.1:6390/2',
    HASHGATE_ON_STALE: 'hold',
  };
  t.same(Object.keys(env).sort(), CONFIG_OPTIONS.map((o) => o.env).sort(), 'the test covers every variable');
  const c = buildConfig({ env });
  t.same(c.admin.listen, { host: '127.0.0.1', port: 9999 });
  t.equal(c.admin.tokenFile, '/etc/hashgate/admin-token');
  t.equal(c.throttle.enabled, true);
  t.equal(c.throttle.shadow, true);
  t.equal(c.throttle.siteBudgetWatts, 1_000_000);
  t.equal(c.throttle.redis.url, 'redis://127.0.0.1:6390/2');
  t.equal(c.throttle.redis.onStale, 'hold');
  t.same(c.listen, [
    { host: '0.0.0.0', port: 3333 },
    { host: '::', port: 3334 },
  ]);
  t.same(c.pools[1], { host: '::1', port: 4444, url: 'stratum+tcp://[::1]:4444', user: 'acct', password: 'p,w' });
  t.same(c.worker, { mode: 'passthrough', separator: '_' });
  t.same(c.limits, {
    maxLineBytes: 4096,
    maxConnections: 50,
    maxConnectionsPerIp: 5,
    authorizeTimeoutMs: 5000,
    tcpKeepAliveMs: 0,
    poolRequestTimeoutMs: 2000,
    submitsPerSecond: 0.5,
    submitBurst: 3,
    maxWorkersPerConnection: 7,
  });
  t.same(c.shares, {
    forwardRejected: true,
    ntimeWindowSeconds: 600,
    localDifficulty: { ...CONFIG_DEFAULTS.shares.localDifficulty, enabled: true },
  });
  t.same(c.failover, {
    backoffBaseMs: 100,
    backoffMaxMs: 200,
    backoffJitter: 0.1,
    notifySilenceMs: 0,
    primaryRecheckMs: 30000,
    poolLossGraceMs: 1000,
  });
  t.same(c.shutdown, { deadlineMs: 3000 });
  t.same(c.journal, { path: '/var/lib/hashgate/j.jsonl', rotateBytes: 0, localShares: { mode: 'aggregate', flushMs: 10_000 } });
  t.same(c.log, { level: 'warn', pretty: false });
});

t.test('env: empty counts as unset; unknown HASHGATE_* variables are problems; others ignored', async (t) => {
  const c = buildConfig({ env: { HASHGATE_POOL: POOL, HASHGATE_JOURNAL: '', PATH: '/bin', REDIS_URL: 'redis://x' } });
  t.equal(c.journal.path, null);
  const ps = problemsOf({ env: { HASHGATE_POOL: POOL, HASHGATE_LISTNE: '0.0.0.0:1', HASHGATE_FROBNICATE: '1' } });
  t.same(paths(ps), ['HASHGATE_FROBNICATE', 'HASHGATE_LISTNE']);
  t.match(ps[0]!.message, /^unknown environment variable$/);
  t.match(ps[1]!.message, /unknown environment variable \(did you mean HASHGATE_LISTEN\?\)/);
});

t.test('every problem at once, each with its path and source', async (t) => {
  const ps = problemsOf({
    file: {
      name: '/etc/hashgate/config.json',
      value: {
        listen: ['0.0.0.0:3333', 'nowhere', '[::]:3333', '0.0.0.0:3333'],
        pools: [POOL, { url: 'stratum+ssl://pool:4443' }, { url: 'stratum+tcp://u@h:1', user: 'v' }, 42],
        worker: { mode: 'proxy' },
        limits: { maxLineBytes: 10, maxConnections: 1.5, authorizeTimeoutMs: '30s', submitsPerSecond: -1 },
        shares: { forwardRejected: 'no', ntimeWindowSeconds: 99999 },
        failover: { backoffBaseMs: 5000, backoffMaxMs: 1000, backoffJitter: 2 },
        journal: { path: '', rotateBytes: 100 },
        log: { level: 'loud', pretty: 1 },
        shutdown: 'soon',
      },
    },
    env: { HASHGATE_TCP_KEEPALIVE_MS: 'forever', HASHGATE_NOPE: 'x' },
    flags: { maxConnectionsPerIp: '0' },
  });
  const byPath = new Map(ps.map((p) => [p.path, p.message]));
  const expected: [string, RegExp][] = [
    ['HASHGATE_NOPE', /unknown environment variable/],
    ['listen[1]', /needs a port.*\(in \/etc\/hashgate\/config\.json\)$/],
    ['listen[3]', /0\.0\.0\.0:3333 is already listen\[0\]/],
    ['pools[1].url', /stratum\+ssl:\/\/ is not supported yet/],
    ['pools[2].user', /given twice/],
    ['pools[3]', /must be a pool URL string or/],
    ['worker.mode', /must be "passthrough" or "account"/],
    ['limits.maxLineBytes', /must be an integer from 1024 to 1048576/],
    ['limits.maxConnections', /must be an integer/],
    ['limits.maxConnectionsPerIp', /must be an integer from 1 to .*\(from --max-connections-per-ip\)$/],
    ['limits.authorizeTimeoutMs', /must be an integer/],
    ['limits.tcpKeepAliveMs', /must be an integer from 0 to .*\(from HASHGATE_TCP_KEEPALIVE_MS\)$/],
    ['limits.submitsPerSecond', /must be a number from/],
    ['shares.forwardRejected', /must be true or false/],
    ['shares.ntimeWindowSeconds', /from 0 to 86400/],
    ['failover.backoffMaxMs', /at least failover\.backoffBaseMs \(5000\)/],
    ['failover.backoffJitter', /from 0 to 1/],
    ['journal.path', /must not be empty/],
    ['journal.rotateBytes', /0 \(never rotate\) or at least 1048576/],
    ['log.level', /must be one of fatal, error, warn, info, debug, trace, silent/],
    ['log.pretty', /must be true or false/],
    ['shutdown', /must be an object/],
  ];
  for (const [path, re] of expected) t.match(byPath.get(path), re, path);
  t.equal(ps.length, expected.length, 'nothing else reported');
  t.notOk(byPath.has('listen[2]'), '[::]:3333 and 0.0.0.0:3333 are different addresses');

  const err = (() => {
    try {
      buildConfig({ file: { name: 'x.json', value: { pools: [POOL], limits: { maxLineBytes: 1 } } } });
    } catch (e) {
      return e;
    }
  })();
  t.ok(err instanceof HashgateError);
  t.equal((err as HashgateError).code, 'HG_ERR_CONFIG');
  t.match((err as Error).message, /^invalid configuration \(1 problem\):\n {2}limits\.maxLineBytes: must be an integer/);
});

t.test('cross-field checks', async (t) => {
  t.same(paths(problemsOf({ flags: { pool: POOL, backoffBaseMs: 120000 } })), ['failover.backoffMaxMs']);
  const acct = problemsOf({ flags: { pool: [`stratum+tcp://acct@a:1`, 'stratum+tcp://b:2'], workerMode: 'account' } });
  t.same(paths(acct), ['pools[1].user']);
  t.match(acct[0]!.message, /worker\.mode "account" needs the pool account.*\(from --pool\)$/);
  const ok = buildConfig({
    file: { name: 'f', value: { pools: [{ url: 'stratum+tcp://b:2', user: 'acct', password: 'x' }], worker: { mode: 'account' } } },
  });
  t.same(ok.pools[0], { host: 'b', port: 2, url: 'stratum+tcp://b:2', user: 'acct', password: 'x' });
});

t.test('unknown keys are problems at every level, with a suggestion', async (t) => {
  const ps = problemsOf({
    file: {
      name: 'f.json',
      value: {
        pools: [{ url: POOL, pass: 'x' }],
        pool: POOL,
        maxLineBytes: 1,
        limits: { maxConectons: 3 },
        log: { colour: true },
        $schema: 'x',
      },
    },
  });
  const byPath = new Map(ps.map((p) => [p.path, p.message]));
  t.match(byPath.get('pool'), /unknown option \(did you mean "pools"\?\)/);
  t.match(byPath.get('maxLineBytes'), /unknown option here \(did you mean limits\.maxLineBytes\?\)/);
  t.match(byPath.get('limits.maxConectons'), /did you mean "maxConnections"/);
  t.match(byPath.get('log.colour'), /unknown option \(allowed: level, pretty\)/);
  t.match(byPath.get('pools[0].pass'), /unknown option \(did you mean "password"\?\)/);
  t.match(byPath.get('$schema'), /unknown option/);
  t.equal(ps.length, 6);
});

t.test('the result is deep-frozen: mutation throws (ESM is strict mode)', async (t) => {
  const c = buildConfig({ flags: { pool: POOL } });
  t.throws(() => {
    (c as { log: { level: string } }).log.level = 'debug';
  }, TypeError);
  t.throws(() => {
    (c.pools as unknown as unknown[]).push({});
  }, TypeError);
  t.throws(() => {
    (c.listen[0] as { port: number }).port = 1;
  }, TypeError);
  t.throws(() => {
    (c as unknown as Record<string, unknown>).extra = 1;
  }, TypeError);
  t.ok(Object.isFrozen(c.limits));
});

t.test('the input layers are not modified', async (t) => {
  const value = { pools: [POOL], limits: {} };
  const flags = { listen: ['[::]:1'] };
  buildConfig({ file: { name: 'f', value }, flags });
  t.same(value, { pools: [POOL], limits: {} });
  t.notOk(Object.isFrozen(value.limits));
});

t.test('loadConfig: reads the file; HASHGATE_CONFIG names it when --config does not', async (t) => {
  const dir = t.testdir({
    'a.json': JSON.stringify({ pools: [POOL], log: { level: 'warn' } }),
    'b.json': `\ufeff${JSON.stringify({ pools: [POOL], log: { level: 'error' } })}`,
  });
  t.equal((await loadConfig({ file: join(dir, 'a.json') })).log.level, 'warn');
  t.equal((await loadConfig({ env: { HASHGATE_CONFIG: join(dir, 'b.json') } })).log.level, 'error', 'BOM tolerated');
  t.equal(
    (await loadConfig({ file: join(dir, 'a.json'), env: { HASHGATE_CONFIG: join(dir, 'b.json') } })).log.level,
    'warn',
    'the flag wins',
  );
  t.equal((await loadConfig({ flags: { pool: POOL } })).log.level, 'info', 'no file at all');
});

t.test('loadConfig: missing, unreadable, directory, bad JSON (with line and column), not an object', async (t) => {
  const dir = t.testdir({
    'bad.json': '{\n  "pools": ["x"],\n  "log": { "level": "info", }\n}\n',
    'array.json': '["stratum+tcp://h:1"]',
    'empty.json': '',
    'secret.json': '{}',
    sub: {},
  });
  const missing = await loadProblems({ file: join(dir, 'nope.json'), env: { HASHGATE_TYPO: '1' } });
  t.same(paths(missing), [join(dir, 'nope.json'), 'HASHGATE_TYPO'], 'file problem plus the other layers’ own problems');
  t.match(missing[0]!.message, /config file not found/);

  const bad = await loadProblems({ file: join(dir, 'bad.json') });
  t.equal(bad.length, 1);
  t.match(bad[0]!.message, /is not valid JSON at line 3, column 29: /);

  t.match((await loadProblems({ file: join(dir, 'array.json') }))[0]!.message, /must hold one JSON object/);
  t.match((await loadProblems({ file: join(dir, 'empty.json') }))[0]!.message, /is not valid JSON/);
  t.match((await loadProblems({ file: join(dir, 'sub') }))[0]!.message, /is a directory/);

  if (process.getuid?.() !== 0) {
    chmodSync(join(dir, 'secret.json'), 0o000);
    t.match((await loadProblems({ file: join(dir, 'secret.json') }))[0]!.message, /not readable.*root:hashgate, mode 0640/);
  }
  try {
    await loadConfig({ file: join(dir, 'nope.json') });
    t.fail('should throw');
  } catch (e) {
    t.equal((e as HashgateError).code, 'HG_ERR_CONFIG');
    t.match((e as Error).message, /nope\.json: config file not found/);
  }
});

t.test('loadConfig reports file-level and schema problems together', async (t) => {
  const dir = t.testdir({});
  mkdirSync(join(dir, 'etc'));
  const file = join(dir, 'etc', 'c.json');
  writeFileSync(file, JSON.stringify({ pools: ['stratum+tcp://a:1', 'stratum+ssl://b:2'], limits: { maxLineBytes: 1 } }));
  const ps = await loadProblems({ file, env: { HASHGATE_LOG_LEVEL: 'shout' } });
  t.same(paths(ps), ['pools[1].url', 'limits.maxLineBytes', 'log.level']);
  t.match(ps[0]!.message, new RegExp(`\\(in ${file.replaceAll('/', '\\/').replaceAll('.', '\\.')}\\)$`));
  t.match(ps[2]!.message, /\(from HASHGATE_LOG_LEVEL\)$/);
});

t.test('text values that are not what the option wants are reported with the option’s rule', async (t) => {
  const ps = problemsOf({
    env: { HASHGATE_POOL: POOL, HASHGATE_LOG_PRETTY: 'maybe', HASHGATE_BACKOFF_JITTER: 'lots', HASHGATE_MAX_LINE_BYTES: '16k' },
    flags: { journal: '' },
    file: { name: 'f.json', value: { pools: [{ url: 'stratum+tcp://u:x@h:1', password: 'y' }] } },
  });
  t.same(
    ps.map((p) => `${p.path}: ${p.message}`),
    [
      'limits.maxLineBytes: must be an integer from 1024 to 1048576 bytes (from HASHGATE_MAX_LINE_BYTES)',
      'failover.backoffJitter: must be a number from 0 to 1 (from HASHGATE_BACKOFF_JITTER)',
      'journal.path: must not be empty (null = no journal) (from --journal)',
      'log.pretty: must be true or false (from HASHGATE_LOG_PRETTY)',
    ],
    'env pools replace the file pools, so the file pool problem is not reported',
  );
  const twice = problemsOf({ file: { name: 'f.json', value: { pools: [{ url: 'stratum+tcp://u:x@h:1', password: 'y' }] } } });
  t.same(paths(twice), ['pools[0].password']);
  t.match(twice[0]!.message, /given twice.*\(in f\.json\)$/);
});

t.test('shares.localDifficulty: bounds checked together, every problem by its path', async (t) => {
  const ld = (v: Record<string, unknown>) =>
    problemsOf({ file: { name: 'f.json', value: { pools: [POOL], shares: { localDifficulty: v } } } });
  t.same(paths(ld({ minDifficulty: 100, maxDifficulty: 10 })), ['shares.localDifficulty.maxDifficulty']);
  t.same(paths(ld({ startDifficulty: 5, minDifficulty: 10 })), ['shares.localDifficulty.startDifficulty']);
  t.same(paths(ld({ targetSharesPerMinute: 0, tolerance: -1 })), [
    'shares.localDifficulty.targetSharesPerMinute',
    'shares.localDifficulty.tolerance',
  ]);
  t.equal(
    buildConfig({
      file: { name: 'f.json', value: { pools: [POOL], shares: { localDifficulty: { enabled: true, targetSharesPerMinute: 120 } } } },
    }).shares.localDifficulty.targetSharesPerMinute,
    120,
    'a usable block',
  );
  t.equal(buildConfig({ flags: { pool: POOL, 'local-difficulty': true } }).shares.localDifficulty.enabled, true, '--local-difficulty');
});
