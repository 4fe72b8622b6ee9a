import fc from 'fast-check';
import { isIP } from 'node:net';
import t from 'tap';
import { CONFIG_DEFAULTS, ConfigSchema, formatHostPort, parseHostPort, parsePoolUrl } from '../../src/config/index.js';
import { parseCidr } from '../../src/config/throttle-schema.js';

t.test('parseHostPort: accepted forms', async (t) => {
  const cases: [string, string, number][] = [
    ['0.0.0.0:3333', '0.0.0.0', 3333],
    ['127.0.0.1:1', '127.0.0.1', 1],
    ['localhost:65535', 'localhost', 65535],
    ['pool.example.com:3333', 'pool.example.com', 3333],
    ['[::]:3333', '::', 3333],
    ['[::1]:3333', '::1', 3333],
    ['[2001:db8::10]:4444', '2001:db8::10', 4444],
    ['[fe80::1%eth0]:3333', 'fe80::1%eth0', 3333],
  ];
  for (const [text, host, port] of cases) {
    const r = parseHostPort(text);
    t.same(r, { ok: true, value: { host, port } }, text);
    if (r.ok) t.equal(formatHostPort(r.value), text, `${text} formats back`);
  }
});

t.test('parseHostPort: refused forms say why', async (t) => {
  const cases: [string, RegExp][] = [
    ['3333', /needs a port/],
    ['0.0.0.0', /needs a port/],
    [':3333', /empty host/],
    ['host:0', /port must be an integer from 1 to 65535/], // only listen addresses may use port 0
    ['host:65536', /port must be an integer from 1 to 65535/],
    ['host:33a', /port must be/],
    ['host:', /port must be/],
    ['host:-1', /port must be/],
    ['::1:3333', /IPv6 address needs brackets/],
    ['[::1]', /needs a port after the bracketed address/],
    ['[::1:3333', /without "\]"/],
    ['[nothex]:3333', /not an IPv6 address/],
    ['[1::2::3]:3333', /not an IPv6 address/],
    ['bad_host!:3333', /not a valid host name/],
    ['256.1.1.1:3333', /not a valid host name or IPv4/],
  ];
  for (const [text, re] of cases) {
    const r = parseHostPort(text);
    t.equal(r.ok, false, text);
    if (!r.ok) t.match(r.message, re, text);
  }
});

t.test('parseHostPort: port 0 (any free port) only when allowed; listen allows it, pools do not', async (t) => {
  t.same(parseHostPort('127.0.0.1:0', { allowPortZero: true }), { ok: true, value: { host: '127.0.0.1', port: 0 } });
  t.same(parseHostPort('[::1]:0', { allowPortZero: true }), { ok: true, value: { host: '::1', port: 0 } });
  const big = parseHostPort('host:65536', { allowPortZero: true });
  t.equal(big.ok, false);
  if (!big.ok) t.match(big.message, /port must be an integer from 0 to 65535/);
  const c = ConfigSchema.parse({ listen: ['127.0.0.1:0', '127.0.0.1:0'], pools: ['stratum+tcp://127.0.0.1:3333'] });
  t.same(
    c.listen,
    [
      { host: '127.0.0.1', port: 0 },
      { host: '127.0.0.1', port: 0 },
    ],
    'two port-0 listeners are not duplicates',
  );
  const pool = parsePoolUrl('stratum+tcp://127.0.0.1:0');
  t.equal(pool.ok, false, 'a pool on port 0 is refused');
  if (!pool.ok) t.match(pool.message, /port must be an integer from 1 to 65535/);
});

t.test('parsePoolUrl: forms with and without credentials, IPv4/IPv6/names', async (t) => {
  t.same(parsePoolUrl('stratum+tcp://pool.example.com:3333'), {
    ok: true,
    value: { host: 'pool.example.com', port: 3333, url: 'stratum+tcp://pool.example.com:3333', user: null, password: null },
  });
  t.same(parsePoolUrl('stratum+tcp://acct@10.0.0.1:3333/'), {
    ok: true,
    value: { host: '10.0.0.1', port: 3333, url: 'stratum+tcp://10.0.0.1:3333', user: 'acct', password: null },
  });
  t.same(parsePoolUrl('STRATUM+TCP://acct.rig:x@[::1]:3333'), {
    ok: true,
    value: { host: '::1', port: 3333, url: 'stratum+tcp://[::1]:3333', user: 'acct.rig', password: 'x' },
  });
  // %-escapes decode; an empty password is kept as given; the last "@" separates credentials from the host.
  t.same(parsePoolUrl('stratum+tcp://a%3Ab:p%40ss%2Cw0rd@[2001:db8::1]:4444'), {
    ok: true,
    value: { host: '2001:db8::1', port: 4444, url: 'stratum+tcp://[2001:db8::1]:4444', user: 'a:b', password: 'p@ss,w0rd' },
  });
  t.same(parsePoolUrl('stratum+tcp://u:@h:1'), {
    ok: true,
    value: { host: 'h', port: 1, url: 'stratum+tcp://h:1', user: 'u', password: '' },
  });
  const raw = parsePoolUrl('stratum+tcp://u:p@ss@h:1');
  t.ok(raw.ok && raw.value.password === 'p@ss' && raw.value.host === 'h', 'unescaped "@" in a password: the last "@" wins');
});

t.test('parsePoolUrl: TLS refused with a clear message, other mistakes explained', async (t) => {
  for (const url of ['stratum+ssl://pool.example.com:4443', 'stratum+tls://u:p@pool:4443', 'ssl://pool:1']) {
    const r = parsePoolUrl(url);
    t.equal(r.ok, false, url);
    if (!r.ok) t.match(r.message, /not supported yet.*stratum\+tcp:\/\/.*TLS tunnel/, url);
  }
  const cases: [string, RegExp][] = [
    ['pool.example.com:3333', /must be stratum\+tcp:\/\/\[user\[:password\]@\]host:port/],
    ['http://pool:80', /scheme http:\/\/ is not supported/],
    ['stratum+tcp://pool', /needs a port/],
    ['stratum+tcp://pool:3333/path', /must not have a path/],
    ['stratum+tcp://pool:3333?x=1', /must not have a path, query/],
    ['stratum+tcp://@pool:3333', /empty user/],
    ['stratum+tcp://u:%zz@pool:3333', /malformed %-escape in the password/],
    ['stratum+tcp://%zz@pool:3333', /malformed %-escape in the user/],
    ['stratum+tcp://pool:70000', /port must be/],
    ['stratum+tcp://2001:db8::1:3333', /IPv6 address needs brackets/],
  ];
  for (const [url, re] of cases) {
    const r = parsePoolUrl(url);
    t.equal(r.ok, false, url);
    if (!r.ok) t.match(r.message, re, url);
  }
});

t.test('messages about a pool URL never echo its password', async (t) => {
  for (const url of [
    'u:hunter2@pool:3333',
    'stratum+tcp://u:hunter2@pool',
    'stratum+ssl://u:hunter2@pool:1',
    'x://u:hun@ter2@p:1',
    'u:hun@ter2@p',
  ]) {
    const r = parsePoolUrl(url);
    t.equal(r.ok, false, url);
    if (!r.ok) t.notMatch(r.message, /hunter2|hun@ter2|ter2/, url);
  }
});

t.test('the schema fills every default and refuses unknown keys', async (t) => {
  const c = ConfigSchema.parse({ pools: ['stratum+tcp://h:1'] });
  t.same(c.listen, [{ host: '0.0.0.0', port: 3333 }]);
  t.same(c.limits, CONFIG_DEFAULTS.limits);
  t.same(c.failover, CONFIG_DEFAULTS.failover);
  t.same(c.shares, CONFIG_DEFAULTS.shares);
  t.same(c.journal, { path: null, rotateBytes: 256 * 1024 * 1024, localShares: { mode: 'aggregate', flushMs: 10_000 } });
  t.equal(c.limits.maxLineBytes, 16 * 1024);
  const r = ConfigSchema.safeParse({ pools: ['stratum+tcp://h:1'], limits: { bogus: 1 } });
  t.equal(r.success, false);
  t.equal(r.error?.issues[0]?.code, 'unrecognized_keys');
});

t.test('CONFIG_DEFAULTS is frozen all the way down', async (t) => {
  t.ok(Object.isFrozen(CONFIG_DEFAULTS));
  t.ok(Object.isFrozen(CONFIG_DEFAULTS.limits));
  t.ok(Object.isFrozen(CONFIG_DEFAULTS.listen));
});

t.test('parseCidr reads an address exactly as node:net isIP does (the config layer does not load node:net)', async (t) => {
  const agree = (addr: string) => {
    const family = isIP(addr);
    const r = parseCidr(addr);
    return family === 0 ? r === null : r !== null && r.family === family && r.prefix === (family === 4 ? 32 : 128) && r.address === addr;
  };
  for (const a of ['10.0.1.7', '010.0.1.7', '256.0.0.1', '::', '::1', '1::', '1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7::', '1:2:3:4:5:6:7:8:9']) {
    t.ok(agree(a), a);
  }
  for (const a of [
    '::ffff:10.0.0.1',
    '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    'fe80::1%eth0',
    'fe80::1%',
    'fe80::1%a b',
    '1.2.3.4%eth0',
  ]) {
    t.ok(agree(a), a);
  }
  for (const a of [':::', '1::2::3', '12345::', 'g::', '', ' 1.2.3.4', '[::1]', '1.2.3.04', '0x1.2.3.4']) t.ok(agree(a), a);
  const piece = fc.constantFrom('0', '1', '9', '00', '255', '256', 'a', 'F', 'ffff', 'g', ':', '::', '.', '%', 'eth0', '-', ' ');
  const soup = fc.array(piece, { maxLength: 16 }).map((a) => a.join(''));
  const zone = fc.stringMatching(/^%[a-z0-9.:-]{0,4}$/);
  const addr = fc.oneof(
    fc.ipV4(),
    fc.ipV4Extended(),
    fc.ipV6(),
    fc.tuple(fc.ipV6(), zone).map(([a, z]) => a + z),
    soup,
  );
  fc.assert(fc.property(addr, agree), { numRuns: 20_000 });
  t.same(parseCidr('10.0.1.0/24'), { address: '10.0.1.0', prefix: 24, family: 4 });
  t.same(parseCidr('fd00::/64'), { address: 'fd00::', prefix: 64, family: 6 });
  t.equal(parseCidr('10.0.1.0/33'), null);
  t.equal(parseCidr('10.0.1.0/24/1'), null);
});
