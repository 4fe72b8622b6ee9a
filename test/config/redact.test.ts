import t from 'tap';
import { buildConfig, REDACTED, redactConfig } from '../../src/config/index.js';

const SECRETS = ['hunter2', 'p@ss:w/rd,x', 'sekrit%'];

t.test('redactConfig never leaks a pool password, from any layer', async (t) => {
  const c = buildConfig({
    file: {
      name: 'f.json',
      value: {
        pools: [
          { url: 'stratum+tcp://pool-a:3333', user: 'acct', password: SECRETS[1] },
          `stratum+tcp://acct:${encodeURIComponent(SECRETS[0]!)}@pool-b:3333`,
          `stratum+tcp://acct:${encodeURIComponent(SECRETS[2]!)}@[::1]:3333`,
          'stratum+tcp://nopass@pool-c:3333',
        ],
        worker: { mode: 'account' },
      },
    },
  });
  t.same(
    c.pools.map((p) => p.password),
    [SECRETS[1], SECRETS[0], SECRETS[2], null],
    'the running config has the real passwords',
  );
  const text = JSON.stringify(redactConfig(c));
  for (const s of SECRETS) t.notOk(text.includes(s), `${s} not in the redacted config`);
  for (const s of SECRETS) t.notOk(text.includes(encodeURIComponent(s)), `${s} (%-encoded) not in the redacted config`);
  const r = redactConfig(c);
  t.same(
    r.pools.map((p) => p.password),
    [REDACTED, REDACTED, REDACTED, null],
    'a missing password stays null (no secret to hide)',
  );
  t.same(
    r.pools.map((p) => p.user),
    ['acct', 'acct', 'acct', 'nopass'],
    'account names stay visible',
  );
  t.same(
    r.pools.map((p) => p.url),
    ['stratum+tcp://pool-a:3333', 'stratum+tcp://pool-b:3333', 'stratum+tcp://[::1]:3333', 'stratum+tcp://pool-c:3333'],
  );
  t.same(r.limits, c.limits, 'everything else is unchanged');
  t.equal(c.pools[0]!.password, SECRETS[1], 'the original is untouched');
});

t.test('pool URLs in the config never carry credentials, even before redaction', async (t) => {
  const c = buildConfig({ env: { HASHGATE_POOL: 'stratum+tcp://u:hunter2@h:1' } });
  t.equal(c.pools[0]!.url, 'stratum+tcp://h:1');
});

t.test('config errors never echo a password', async (t) => {
  const bad = ['stratum+tcp://u:hunter2@h', 'u:hunter2@h:1', 'stratum+ssl://u:hunter2@h:1', 'stratum+tcp://u:hunter2@h:1/x'];
  for (const url of bad) {
    try {
      buildConfig({ env: { HASHGATE_POOL: url } });
      t.fail(`${url} should be refused`);
    } catch (e) {
      t.notOk(JSON.stringify({ message: (e as Error).message, problems: (e as { problems?: unknown }).problems }).includes('hunter2'), url);
    }
  }
});
