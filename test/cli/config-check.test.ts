/**
 * `hashgate config check FILE` over the BUILT binary (`npm test` builds first), with an environment
 * stripped of HASHGATE_* so only what a test sets reaches the loader. Files are written with explicit
 * modes; root runs these tests, and the mode check still works for root because it is a stat, not an open.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { assessMode, findCredentials, permissionWarnings } from '../../src/cli/commands/config.js';
import { BIN } from '../helpers/cli.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const SECRET = 'hunter2-SECRET';

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HASHGATE_'))), ...extra };
}

function configCheck(args: string[], env: Record<string, string> = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'config', 'check', ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: cleanEnv(env) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

function writeConfig(dir: string, name: string, value: unknown, mode: number): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  chmodSync(path, mode); // explicit: writeFileSync's mode is filtered by the umask
  return path;
}

const VALID = {
  listen: ['127.0.0.1:3333', '[::1]:3334'],
  pools: [{ url: 'stratum+tcp://btc.example.com:3333', user: 'siteaccount', password: SECRET }, 'stratum+tcp://backup.example.net:3333'],
  journal: { path: '/var/lib/hashgate/journal.jsonl' },
};

t.test('a valid file: exit 0 and a summary (listeners, pools without credentials, journal, 0 problems)', async (t) => {
  const file = writeConfig(t.testdir(), 'config.json', VALID, 0o600);
  const r = await configCheck([file]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '', 'no warning for a 0600 file');
  t.match(r.stdout, `${file}: valid`);
  t.match(r.stdout, /^listeners: 127\.0\.0\.1:3333, \[::1\]:3334$/m);
  t.match(r.stdout, /^pools: 2 in failover order$/m);
  t.match(r.stdout, /pools\[0\]: stratum\+tcp:\/\/btc\.example\.com:3333 \(user "siteaccount", password set\)/);
  t.match(r.stdout, /^pools without credentials: 1\b/m);
  t.match(r.stdout, /^journal: \/var\/lib\/hashgate\/journal\.jsonl\b/m);
  t.match(r.stdout, /^environment overrides: none$/m);
  t.match(r.stdout, /^problems: 0$/m);
  t.notMatch(r.stdout + r.stderr, SECRET, 'the password is never printed');
});

t.test('a file with two problems: exit 2, both paths printed with the error code', async (t) => {
  const file = writeConfig(
    t.testdir(),
    'config.json',
    { pools: ['stratum+ssl://pool.example.com:3333'], limits: { maxLineBytes: 5 } },
    0o600,
  );
  const r = await configCheck([file]);
  t.equal(r.code, 2);
  t.equal(r.stdout, '', 'no summary for an invalid file');
  t.match(r.stderr, 'invalid configuration (2 problems)');
  t.match(r.stderr, /^ {2}pools\[0\]\.url: stratum\+ssl:\/\/ is not supported/m);
  t.match(r.stderr, /^ {2}limits\.maxLineBytes: must be an integer from 1024/m);
  t.match(r.stderr, /\[HG_ERR_CONFIG\]\n$/);
});

t.test('a world-readable file with a pool password: a warning with the chmod, exit still 0', async (t) => {
  const file = writeConfig(t.testdir(), 'config.json', VALID, 0o644);
  const r = await configCheck([file]);
  t.equal(r.code, 0, 'a warning does not fail the check');
  t.match(r.stdout, /^problems: 0$/m);
  t.match(r.stderr, /warning: .*holds credentials \(pools\[0\]\.password\) and is readable by .*every user \(mode 0644\)/);
  t.match(r.stderr, new RegExp(`Fix: .*chmod 06[04]0 ${file.replaceAll(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`));
  t.notMatch(r.stdout + r.stderr, SECRET, 'the password is never printed');

  // Credentials in a pool URL count too; a URL with only the pool account does not.
  const inUrl = writeConfig(t.testdir(), 'url.json', { pools: [`stratum+tcp://acct:${SECRET}@pool.example.com:3333`] }, 0o644);
  const u = await configCheck([inUrl]);
  t.equal(u.code, 0);
  t.match(u.stderr, /holds credentials \(pools\[0\]\) and is readable/);
  t.notMatch(u.stdout + u.stderr, SECRET);
  const accountOnly = writeConfig(t.testdir(), 'account.json', { pools: ['stratum+tcp://acct@pool.example.com:3333'] }, 0o644);
  const a = await configCheck([accountOnly]);
  t.equal(a.code, 0);
  t.equal(a.stderr, '', 'a pool account name is not a secret');
});

t.test('group read access: fine for the service group, a warning for any other group', async (t) => {
  const file = writeConfig(t.testdir(), 'config.json', VALID, 0o640); // created by root: group root (gid 0)
  const ok = await configCheck(['--service-group', 'root', file]);
  t.equal(ok.code, 0);
  t.equal(ok.stderr, '', 'root:root 0640 with service group root: no warning');
  const other = await configCheck(['--service-group', 'hashgate-test-nonexistent', file]);
  t.equal(other.code, 0);
  t.match(other.stderr, /readable by group \S+ \(not hashgate-test-nonexistent\) \(mode 0640\)/);
  t.notMatch(other.stderr, 'every user');
});

t.test('a world-writable file: a warning even without credentials', async (t) => {
  const file = writeConfig(t.testdir(), 'config.json', { pools: ['stratum+tcp://pool.example.com:3333'] }, 0o666);
  const r = await configCheck([file]);
  t.equal(r.code, 0);
  t.match(r.stderr, /is writable by every user \(mode 0666\).*Fix: .*chmod/);
  t.notMatch(r.stderr, 'holds credentials');
});

t.test('the credential scan is generic: any section, problems or not', async (t) => {
  const dir = t.testdir();
  const secretFile = writeConfig(dir, 'redis-password', SECRET, 0o644);
  // "future" is not a config section: the file is invalid (exit 2), and its credentials are still reported.
  const file = writeConfig(
    dir,
    'config.json',
    {
      pools: ['stratum+tcp://pool.example.com:3333'],
      future: {
        redis: { url: `redis://:${SECRET}@10.0.0.5:6379` },
        drivers: [{ passwordFile: secretFile }, { tokenFile: join(dir, 'missing') }],
      },
    },
    0o604,
  );
  const r = await configCheck([file]);
  t.equal(r.code, 2);
  t.match(r.stderr, /holds credentials \(future\.redis\.url\) and is readable by every user/);
  t.match(
    r.stderr,
    /redis-password holds credentials \(future\.drivers\[0\]\.passwordFile\) and is readable by/,
    'the secret file is checked too',
  );
  t.match(r.stderr, /future\.drivers\[1\]\.tokenFile names .*missing, which does not exist/);
  t.match(r.stderr, /^ {2}future: unknown option/m);
  t.notMatch(r.stdout + r.stderr, SECRET);
});

t.test('an unusable file: exit 2 with a message that says what is wrong', async (t) => {
  const dir = t.testdir();
  const missing = await configCheck([join(dir, 'nope.json')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /nope\.json: config file not found \[HG_ERR_CONFIG\]/);
  const sub = join(dir, 'sub');
  mkdirSync(sub);
  const isDir = await configCheck([sub]);
  t.equal(isDir.code, 2);
  t.match(isDir.stderr, /sub: is a directory, not a config file \[HG_ERR_CONFIG\]/);
  const broken = writeConfig(dir, 'broken.json', '{\n  "pools" ["stratum+tcp://pool.example.com:3333"]\n}\n', 0o600);
  const json = await configCheck([broken]);
  t.equal(json.code, 2);
  t.match(json.stderr, /broken\.json: is not valid JSON at line 2, column 11: /);
  // V8 quotes the text around some syntax errors; a password written without quotes must not come back out.
  const unquoted = writeConfig(dir, 'unquoted.json', `{"pools": [{"url": "stratum+tcp://p:3333", "password": ${SECRET}}]}`, 0o600);
  const leak = await configCheck([unquoted]);
  t.equal(leak.code, 2);
  t.match(leak.stderr, /unquoted\.json: is not valid JSON/);
  t.notMatch(leak.stderr, SECRET);
  t.equal(missing.stdout + isDir.stdout + json.stdout + leak.stdout, '');
});

t.test('the HASHGATE_* environment is applied on top of the file, as for hashgate run', async (t) => {
  const file = writeConfig(t.testdir(), 'config.json', { pools: ['stratum+tcp://pool.example.com:3333'] }, 0o600);
  const over = await configCheck([file], { HASHGATE_LISTEN: '127.0.0.1:4444', HASHGATE_LOG_LEVEL: 'debug' });
  t.equal(over.code, 0, over.stderr);
  t.match(over.stdout, /^listeners: 127\.0\.0\.1:4444$/m);
  t.match(over.stdout, /^environment overrides: HASHGATE_LISTEN, HASHGATE_LOG_LEVEL$/m);
  const typo = await configCheck([file], { HASHGATE_LISTNE: '127.0.0.1:4444' });
  t.equal(typo.code, 2);
  t.match(typo.stderr, /HASHGATE_LISTNE: unknown environment variable \(did you mean HASHGATE_LISTEN\?\)/);
});

t.test('usage: help names the environment; a missing file or unknown action is a usage error', async (t) => {
  const help = await configCheck(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, 'HASHGATE_*');
  t.match(help.stdout, 'chmod');
  const none = await configCheck([]);
  t.equal(none.code, 2);
  t.match(none.stderr, /\[HG_ERR_USAGE\]/);
  t.notMatch(none.stderr, 'undefined', 'the command does not run without a file');
});

t.test('assessMode and findCredentials (pure)', async (t) => {
  t.same(assessMode({ mode: 0o100600, gid: 0, serviceGid: 999 }), { readers: [], worldWritable: false });
  t.same(assessMode({ mode: 0o100640, gid: 999, serviceGid: 999 }), { readers: [], worldWritable: false });
  t.same(assessMode({ mode: 0o100640, gid: 0, serviceGid: 999 }), { readers: ['group'], worldWritable: false });
  t.same(assessMode({ mode: 0o100640, gid: 0, serviceGid: undefined }), { readers: ['group'], worldWritable: false });
  t.same(assessMode({ mode: 0o100644, gid: 999, serviceGid: 999 }), { readers: ['others'], worldWritable: false });
  t.same(assessMode({ mode: 0o100666, gid: 0, serviceGid: 999 }), { readers: ['group', 'others'], worldWritable: true });

  const found = findCredentials({
    pools: ['stratum+tcp://acct@a:1', 'stratum+tcp://acct:pw@b:2', { url: 'stratum+tcp://c:3', user: 'u', password: 'p' }],
    limits: { authorizeTimeoutMs: 30000, maxTokens: 5 },
    admin: { token: 'tok', bearerToken: 'b', basicAuth: 'x:y' },
    throttle: { redis: { url: 'redis://user@r:6379', password: '' }, redisUrl: 'redis://r:6379' },
    rigs: [{ driver: { passwordFile: '/etc/hashgate/luxos.pw', secret: 1234, apiKey: 'k', credentials: { user: 'root', pass: 'root' } } }],
    empty: { password: null },
  });
  t.same(
    found.map((f) => `${f.kind} ${f.path}`),
    [
      'url pools[1]',
      'secret pools[2].password',
      'secret admin.token',
      'secret admin.bearerToken',
      'secret admin.basicAuth',
      'url throttle.redis.url',
      'file rigs[0].driver.passwordFile',
      'secret rigs[0].driver.secret',
      'secret rigs[0].driver.apiKey',
      'secret rigs[0].driver.credentials.pass',
    ],
  );
  t.equal(found.find((f) => f.kind === 'file')?.file, '/etc/hashgate/luxos.pw');

  const w = permissionWarnings("/etc/hash gate/it's.json", { mode: 0o644, gid: 0, serviceGid: 999 }, found, 'hashgate');
  t.equal(w.length, 1);
  t.match(w[0], `Fix: chown root:hashgate '/etc/hash gate/it'\\''s.json' && chmod 0640 '/etc/hash gate/it'\\''s.json'`);
  t.same(
    permissionWarnings('/x.json', { mode: 0o644, gid: 0, serviceGid: 999 }, [], 'hashgate'),
    [],
    'no credentials, not writable: no warning',
  );
});
