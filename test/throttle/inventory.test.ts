import { isIP } from 'node:net';
import fc from 'fast-check';
import t from 'tap';
import { buildConfig } from '../../src/config/index.js';
import {
  cidrContains,
  findRigEntry,
  globMatch,
  matchInventory,
  matchRig,
  parseCidrBlock,
  parseIp,
  powerTargetsOf,
} from '../../src/throttle/inventory.js';

const POOL = 'stratum+tcp://pool.example.com:3333';

t.test('glob: * any run, ? one character, everything else literal and case-sensitive', async (t) => {
  const yes: [string, string][] = [
    ['*', ''],
    ['*', 'acct.s21-001'],
    ['acct.*', 'acct.s21-001'],
    ['*.s21-*', 'acct.s21-001'],
    ['acct.s21-00?', 'acct.s21-001'],
    ['a*b*c', 'aXXbYYc'],
    ['a*b*c', 'abc'],
    ['**x', 'x'],
    ['*a*a*a*a*b', 'aaaaaaaaaaaaaaaaaaaaab'],
    ['exact', 'exact'],
  ];
  const no: [string, string][] = [
    ['acct.*', 'Acct.s21'],
    ['ACCT.*', 'acct.s21'],
    ['acct.s21-00?', 'acct.s21-0001'],
    ['?', ''],
    ['a*b*c', 'aXXbYY'],
    ['exact', 'exact!'],
    ['exact', 'inexact'],
    ['*a*a*a*a*b', 'aaaaaaaaaaaaaaaaaaaaaa'],
  ];
  for (const [p, s] of yes) t.ok(globMatch(p, s), `${p} ~ ${s}`);
  for (const [p, s] of no) t.notOk(globMatch(p, s), `${p} !~ ${s}`);
});

t.test('glob: regular-expression characters are plain text (no injection)', async (t) => {
  t.ok(globMatch('rig.(1)+[a]$^|\\d', 'rig.(1)+[a]$^|\\d'));
  t.notOk(globMatch('rig.1', 'rigX1'), '"." is a dot, not any character');
  t.notOk(globMatch('(a|b)', 'a'));
  t.notOk(globMatch('[ab]', 'a'));
  t.notOk(globMatch('a+', 'aa'));
  t.notOk(globMatch('.*', 'anything'), '".*" means a dot then anything');
  t.ok(globMatch('.*', '.anything'));
});

/** An independent reference: the glob as a regular expression with every other character escaped. */
function globByRegex(pattern: string, text: string): boolean {
  const re = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '[\\s\\S]*')
    .replace(/\?/g, '[\\s\\S]');
  return new RegExp(`^${re}$`).test(text);
}

t.test('property: glob agrees with an escaped regular expression', async (t) => {
  const alpha = fc.constantFrom('a', 'b', '.', '*', '?', '(', '[', '\\', '$', 'é');
  const pat = fc.array(alpha, { maxLength: 10 }).map((a) => a.join(''));
  const txt = fc.array(fc.constantFrom('a', 'b', '.', '*', '?', '(', '[', '\\', '$', 'é'), { maxLength: 14 }).map((a) => a.join(''));
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(pat, txt, (p, s) => globMatch(p, s) === globByRegex(p, s)),
        { numRuns: 2_000 },
      ),
    '2,000 random patterns and names',
  );
});

t.test('IP parsing agrees with node:net on valid and invalid forms', async (t) => {
  const samples = [
    '10.0.1.7',
    '0.0.0.0',
    '255.255.255.255',
    '256.1.1.1',
    '01.2.3.4',
    '1.2.3',
    '1.2.3.4.5',
    '1.2.3.4 ',
    '::',
    '::1',
    'fd00::7',
    'FD00:0:0:0:0:0:0:7',
    '::ffff:10.0.1.7',
    '::ffff:01.0.1.7',
    '1:2:3:4:5:6:1.2.3.4',
    '1:2:3:4:5:6:7:1.2.3.4',
    '1:2:3:4:5:6:7:8',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    '1::2:3:4:5:6:7:8',
    '::1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7::',
    'fe80::1%eth0',
    'fe80::1%',
    'fe80::1%%',
    'fe80::1%a%b',
    'fe80::1%a_b',
    'fe80::1%en0.5:x-1',
    '00001::1',
    'gggg::1',
    '',
    'localhost',
  ];
  for (const s of samples) t.equal(parseIp(s) === null ? 0 : parseIp(s)!.family, isIP(s), JSON.stringify(s));
  t.same([...parseIp('::ffff:10.0.1.7')!.bytes], [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 10, 0, 1, 7]);
  t.same([...parseIp('fd00::7')!.bytes], [0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]);
});

t.test('property: IP parsing agrees with node:net on random and real addresses', async (t) => {
  const noisy = fc
    .array(fc.constantFrom('0', '1', 'f', 'F', 'g', ':', ':', '.', '.', '9', '%', 'e', '_', '-'), { maxLength: 20 })
    .map((a) => a.join(''));
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fc.oneof(fc.ipV4(), fc.ipV6(), fc.ipV4Extended(), noisy), (s) => (parseIp(s)?.family ?? 0) === isIP(s)),
        { numRuns: 5_000 },
      ),
    '5,000 strings',
  );
});

t.test('CIDR: IPv4, IPv6, host bits, bad input', async (t) => {
  t.ok(cidrContains('10.0.1.0/24', '10.0.1.7'));
  t.ok(cidrContains('10.0.1.0/24', '10.0.1.255'));
  t.notOk(cidrContains('10.0.1.0/24', '10.0.2.1'));
  t.ok(cidrContains('10.0.1.7', '10.0.1.7'), 'a bare address is /32');
  t.notOk(cidrContains('10.0.1.7', '10.0.1.8'));
  t.ok(cidrContains('10.0.1.99/24', '10.0.1.7'), 'host bits in the network are ignored');
  t.ok(cidrContains('10.0.0.0/9', '10.127.255.255'));
  t.notOk(cidrContains('10.0.0.0/9', '10.128.0.0'), 'a prefix that ends inside a byte');
  t.ok(cidrContains('0.0.0.0/0', '192.0.2.1'));
  t.ok(cidrContains('fd00::/64', 'fd00::1234'));
  t.ok(cidrContains('fd00::/64', 'fd00:0:0:0:ffff::1'));
  t.notOk(cidrContains('fd00::/64', 'fd00:0:0:1::1'));
  t.ok(cidrContains('fe80::/10', 'fe80::1%eth0'), 'a zone is not part of the address');
  t.notOk(cidrContains('fd00::/64', '10.0.1.7'), 'an IPv4 peer is not in an IPv6 ULA');
  t.notOk(cidrContains('10.0.1.0/24', 'fd00::1'));
  t.notOk(cidrContains('10.0.1.0/33', '10.0.1.7'), 'prefix out of range');
  t.notOk(cidrContains('10.0.1.0/', '10.0.1.7'));
  t.notOk(cidrContains('10.0.1.0/24', 'not-an-ip'));
  t.equal(parseCidrBlock('10.0.1.0/024')?.prefix, 24, 'as the config schema reads it');
  t.equal(parseCidrBlock('::/129'), null);
});

t.test('CIDR: IPv4-mapped IPv6 source addresses (dual-stack sockets) are their IPv4 address', async (t) => {
  t.ok(cidrContains('10.0.1.0/24', '::ffff:10.0.1.7'), 'node reports an IPv4 peer as ::ffff:a.b.c.d');
  t.ok(cidrContains('10.0.1.0/24', '::FFFF:a00:107'), 'in hex form too');
  t.notOk(cidrContains('10.0.1.0/24', '::ffff:10.0.2.7'));
  t.ok(cidrContains('::ffff:10.0.1.0/120', '10.0.1.7'), 'a mapped network holds plain IPv4 peers');
  t.ok(cidrContains('::/0', '10.0.1.7'), 'every address');
  t.notOk(cidrContains('10.0.1.0/24', '::10.0.1.7'), 'the deprecated IPv4-compatible form is not mapped');
});

t.test('property: a mapped address matches exactly when its IPv4 address does', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fc.ipV4(), fc.ipV4(), fc.integer({ min: 0, max: 32 }), (net, ip, bits) => {
          const v4 = cidrContains(`${net}/${bits}`, ip);
          return cidrContains(`${net}/${bits}`, `::ffff:${ip}`) === v4 && cidrContains(`::ffff:${net}/${96 + bits}`, ip) === v4;
        }),
        { numRuns: 1_000 },
      ),
    '1,000 networks and peers',
  );
});

const config = buildConfig({
  file: {
    name: 'c.json',
    value: {
      pools: [POOL],
      defaultRig: { ratedWatts: 3_250, ratedThs: 95, priority: -1, group: 'unknown' },
      rigs: [
        {
          name: 'row-a-s21',
          match: { worker: 'acct.s21-*', cidr: '10.0.1.0/24' },
          ratedWatts: 3_500,
          ratedThs: 200,
          priority: 2,
          group: 'row-a',
          driver: { type: 'luxos', profiles: { '2800': 'p2800', '3100': 'p3100', '3500': 'p3500', '4200': 'oc', '900': 'eco' } },
        },
        { name: 'any-s21', match: { worker: 'acct.s21-*' }, ratedWatts: 3_400, ratedThs: 190, priority: 1, override: 'curtail' },
        { name: 'row-b', match: { cidr: 'fd00:b::/64' }, ratedWatts: 1_200, ratedThs: 1.5, idleWatts: 10, driver: { type: 'esp-miner' } },
      ],
    },
  },
});

t.test('matchRig: the first entry whose given criteria all match', async (t) => {
  const a = matchRig(config.rigs, config.defaultRig, 'acct.s21-001', '10.0.1.7');
  t.same(a, {
    id: 'acct.s21-001',
    ip: '10.0.1.7',
    entry: 'row-a-s21',
    group: 'row-a',
    priority: 2,
    ratedWatts: 3_500,
    ratedThs: 200,
    idleWatts: 0,
    powerTargets: [900, 2_800, 3_100],
    override: null,
  });
  t.equal(matchRig(config.rigs, config.defaultRig, 'acct.s21-001', '::ffff:10.0.1.7').entry, 'row-a-s21', 'mapped source address');
  const b = matchRig(config.rigs, config.defaultRig, 'acct.s21-001', '10.0.9.7');
  t.equal(b.entry, 'any-s21', 'worker matches but the cidr does not: the next entry');
  t.equal(b.override, 'curtail');
  t.same(b.powerTargets, [], 'no firmware targets without a luxos driver');
  t.equal(matchRig(config.rigs, config.defaultRig, 'acct.s21-001', null).entry, 'any-s21', 'unknown address: cidr entries do not match');
  const c = matchRig(config.rigs, config.defaultRig, 'bitaxe-7', 'fd00:b::42');
  t.equal(c.entry, 'row-b');
  t.equal(c.idleWatts, 10);
  t.equal(c.group, 'default', 'group default of an entry');
});

t.test('matchRig: nothing matches -> the default rig', async (t) => {
  const d = matchRig(config.rigs, config.defaultRig, 'ACCT.s21-001', '10.0.1.7');
  t.same(d, {
    id: 'ACCT.s21-001',
    ip: '10.0.1.7',
    entry: 'default',
    group: 'unknown',
    priority: -1,
    ratedWatts: 3_250,
    ratedThs: 95,
    idleWatts: 0,
    powerTargets: [],
    override: null,
  });
  t.equal(findRigEntry(config.rigs, 'other', '192.0.2.1'), null);
  const m = matchInventory(config.rigs, config.defaultRig, 'acct.s21-9', '10.0.1.9');
  t.equal(m.driver.type, 'luxos', 'the driver settings come with the match');
  t.equal(matchInventory([], config.defaultRig, 'x', null).driver.type, 'stratum');
});

t.test('powerTargets: integer profile keys below rated watts, ascending', async (t) => {
  const luxos = config.rigs[0]!.driver;
  t.same(powerTargetsOf(luxos, 3_500), [900, 2_800, 3_100]);
  t.same(powerTargetsOf(luxos, 3_000), [900, 2_800]);
  t.same(powerTargetsOf(luxos, 900), []);
  t.same(powerTargetsOf(config.defaultRig.driver, 3_500), [], 'a stratum driver block from the config');
  t.same(powerTargetsOf({ type: 'esp-miner', profiles: { '1000': 'low' } }, 3_500), [], 'only LuxOS has power targets');
  t.same(powerTargetsOf({ type: 'stratum' }, 3_500), []);
});

t.test('powerTargets: a whatsminer block lists power limits; those below rated watts are used, ascending, once', async (t) => {
  const wm = buildConfig({
    file: {
      name: 'wm.json',
      value: {
        pools: [POOL],
        rigs: [
          {
            name: 'm50',
            match: { worker: 'acct.m50-*' },
            ratedWatts: 3_300,
            ratedThs: 114,
            driver: { type: 'whatsminer', password: 'x', powerTargets: [3_000, 2_400, 3_300, 4_000, 2_400] },
          },
          { name: 'm30', match: { worker: 'acct.m30-*' }, ratedWatts: 3_400, ratedThs: 100, driver: { type: 'whatsminer', password: 'x' } },
        ],
      },
    },
  });
  const m50 = matchInventory(wm.rigs, wm.defaultRig, 'acct.m50-1', null);
  t.same(m50.spec.powerTargets, [2_400, 3_000], 'rated (3,300) and above dropped, duplicates once, ascending');
  t.equal(m50.driver.type, 'whatsminer');
  t.same(matchRig(wm.rigs, wm.defaultRig, 'acct.m30-1', null).powerTargets, [], 'no powerTargets: full curtail only');
  t.same(powerTargetsOf({ type: 'whatsminer', powerTargets: [2_500, 1_000] }, 3_000), [1_000, 2_500]);
  t.same(powerTargetsOf({ type: 'whatsminer', powerTargets: [2_500.5, Number.NaN, 2_000] }, 3_000), [2_000], 'integers only');
  t.same(powerTargetsOf({ type: 'whatsminer' }, 3_000), [], 'a block without the key');
  t.same(powerTargetsOf({ type: 'luxos', powerTargets: [2_000] }, 3_000), [], 'only a whatsminer block reads powerTargets');
});
