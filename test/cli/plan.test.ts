import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runCli } from '../helpers/cli.js';

const POOL = 'stratum+tcp://pool.example.com:3333';

/** A 30 kW site: 2 kW base load, 5 % headroom, GPUs 2 kW idle + 50 W per queued request up to 12 kW. */
function site(extra: Record<string, unknown> = {}, rigs?: unknown[]) {
  return {
    pools: [POOL],
    throttle: {
      siteBudgetWatts: 30_000,
      baseLoadWatts: 2_000,
      headroomPercent: 5,
      gpu: { idleWatts: 2_000, wattsPerRequest: 50, maxWatts: 12_000 },
      planner: { hysteresisWatts: 1_000 },
      ...extra,
    },
    rigs: rigs ?? [
      { name: 's19-a', match: { worker: '*.s19a' }, ratedWatts: 3_250, ratedThs: 95, priority: 0 },
      { name: 's19-b', match: { worker: '*.s19b' }, ratedWatts: 3_250, ratedThs: 110, priority: 0 },
      {
        name: 's21-a',
        match: { worker: '*.s21a' },
        ratedWatts: 3_500,
        ratedThs: 200,
        priority: 1,
        driver: { type: 'luxos', profiles: { '2800': '2800W', '3100': '3100W' } },
      },
      { name: 's21-b', match: { worker: '*.s21*' }, ratedWatts: 3_500, ratedThs: 200, priority: 2 },
      { name: 's21-c', match: { worker: 'keep.*' }, ratedWatts: 3_500, ratedThs: 200, priority: 1, override: 'run' },
    ],
  };
}

/** One fixture directory for the whole file; every config gets a name of its own. */
const ROOT = t.testdir({});
let files = 0;

function configFile(value: unknown): string {
  const file = join(ROOT, `config-${++files}.json`);
  writeFileSync(file, JSON.stringify(value));
  return file;
}

t.test('text: the budget lines, the fleet, each decision with its reason, the waiting list', async (t) => {
  const file = configFile(site());
  // depth 200: GPU 12,000 W; site 30,000 - 2,000 - 1,500 - 12,000 = 14,500 W for 17,000 W of rigs.
  const r = await runCli(['plan', '--config', file, '--depth', '200']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  const out = r.stdout;
  t.match(out, /^dry run: nothing is touched/);
  t.match(out, /note: throttle\.enabled is false/);
  t.match(out, /budget at queue depth 200:/);
  t.match(out, /^ {2}site +30,000 W {2}\(throttle\.siteBudgetWatts\)$/m);
  t.match(out, /^ {2}base load +-2,000 W/m);
  t.match(out, /^ {2}headroom +-1,500 W {2}\(5% of the site\)$/m);
  t.match(out, /^ {2}GPU need +-12,000 W/m);
  t.match(out, /^ {2}ASIC budget +14,500 W/m);
  t.match(out, /^fleet: 5 rigs, 17,000 W running$/m);
  t.match(out, /^decisions: 1$/m);
  // The worst rig of the lowest priority (s19-a, 34.2 J/TH) frees 3,250 W: 13,750 W fits.
  t.match(out, /^ {2}curtail +s19-a +frees 3,250 W {2}over budget by 2,500 W; priority 0, 34\.2 J\/TH: curtail frees 3,250 W$/m);
  t.match(out, /^after: 13,750 W of the 14,500 W ASIC budget$/m);
  t.match(out, /^waiting: 0$/m);
});

t.test('--json: the same report as JSON', async (t) => {
  const file = configFile(site());
  const r = await runCli(['plan', '--config', file, '--depth', '200', '--json']);
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.same(j.budget, { siteWatts: 30_000, gpuNeedWatts: 12_000, headroomWatts: 1_500, baseLoadWatts: 2_000, asicWatts: 14_500 });
  t.equal(j.depth, 200);
  t.equal(j.capWatts, null);
  t.same(j.fleet, { rigs: 5, watts: 17_000 });
  t.same(
    j.decisions.map((d: { rig: string; action: string; deltaWatts: number }) => [d.rig, d.action, d.deltaWatts]),
    [['s19-a', 'curtail', 3_250]],
  );
  t.equal(j.runningWatts, 13_750);
  t.equal(j.feasible, true);
  t.equal(j.minimumWatts, 3_500, 'the "run" override stays');
  t.same(j.waiting, []);
  t.same(j.throttle, { enabled: false, shadow: false });
  const s21a = j.rigs.find((x: { id: string }) => x.id === 's21-a');
  t.same(s21a.powerTargets, [2_800, 3_100], 'luxos profiles below rated watts');
  t.equal(s21a.joulesPerTh, 17.5);
});

t.test('--cap lowers the site budget; the partial lever is used where the driver has one', async (t) => {
  const file = configFile(site());
  // cap 22,000: headroom 1,100; depth 0: GPU 2,000 -> ASIC 16,900 W for 17,000 W: over by 100.
  const r = await runCli(['plan', '--config', file, '--depth', '0', '--cap', '22000', '--json']);
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.equal(j.capWatts, 22_000);
  t.equal(j.budget.siteWatts, 22_000);
  t.equal(j.budget.asicWatts, 16_900);
  t.same(
    j.decisions.map((d: { rig: string; action: string }) => `${d.action} ${d.rig}`),
    ['curtail s19-a'],
    'priority 0 goes first, even though only s21-a has a power target',
  );
  const text = await runCli(['plan', '--config', file, '--depth', '0', '--cap', '22000']);
  t.match(text.stdout, /site +22,000 W {2}\(the --cap; the contract is 30,000 W\)/);
  const high = await runCli(['plan', '--config', file, '--depth', '0', '--cap', '50000']);
  t.match(high.stdout, /\(throttle\.siteBudgetWatts; the 50,000 W cap is not lower\)/);

  const lux = configFile(
    site({}, [
      {
        name: 'lux',
        match: { worker: 'lux' },
        ratedWatts: 3_500,
        ratedThs: 200,
        driver: { type: 'luxos', profiles: { '2800': 'a', '3100': 'b' } },
      },
      { name: 'other', match: { worker: 'other' }, ratedWatts: 3_500, ratedThs: 200, priority: 1 },
    ]),
  );
  // cap 11,000: 11,000 - 2,000 base - 550 headroom - 2,000 GPU = 6,450 W for 7,000 W: over by 550; 3,100 W frees only 400.
  const p = await runCli(['plan', '--config', lux, '--depth', '0', '--cap', '11000', '--json']);
  const pj = JSON.parse(p.stdout);
  t.equal(pj.budget.asicWatts, 6_450);
  t.same(pj.decisions, [
    {
      rig: 'lux',
      action: 'set-power',
      watts: 2_800,
      deltaWatts: 700,
      reason: 'over budget by 550 W; priority 0, 17.5 J/TH: power target 2,800 W frees 700 W',
    },
  ]);
});

t.test('--depth unknown: the GPU need at its maximum (the shed floor); infeasible plans are reported', async (t) => {
  const file = configFile(site());
  const r = await runCli(['plan', '--config', file, '--depth', 'unknown', '--cap', '10000']);
  t.equal(r.code, 0, 'an infeasible plan is still a plan');
  t.match(r.stdout, /budget at queue depth unknown \(GPU need at its maximum/);
  t.match(r.stdout, /GPU need +-12,000 W/);
  t.match(r.stdout, /ASIC budget +0 W/);
  t.match(r.stdout, /^decisions: 4$/m);
  t.notMatch(r.stdout, /s21-c/, 'the "run" override is never touched');
  t.match(r.stdout, /^after: 3,500 W, over the 0 W ASIC budget by 3,500 W$/m);
  t.match(r.stdout, /^infeasible: with every rig curtailed that may be, the fleet still draws 3,500 W/m);
  const j = JSON.parse((await runCli(['plan', '--config', file, '--depth', 'unknown', '--json'])).stdout);
  t.equal(j.depth, null);
  t.equal(j.budget.gpuNeedWatts, 12_000);
});

t.test('--rigs FILE: connected rigs matched against the inventory', async (t) => {
  const cfg = site({}, [
    { name: 'row-a', match: { worker: 'acct.s21-*', cidr: '10.0.1.0/24' }, ratedWatts: 3_500, ratedThs: 200, priority: 2 },
    { name: 'v6', match: { cidr: 'fd00::/64' }, ratedWatts: 1_200, ratedThs: 1.5, priority: 1 },
  ]);
  const dir = t.testdir({
    'config.json': JSON.stringify({ ...cfg, defaultRig: { ratedWatts: 3_000, ratedThs: 100, priority: -1 } }),
    'rigs.json': JSON.stringify([
      { worker: 'acct.s21-001', ip: '10.0.1.7' },
      { worker: 'acct.s21-002', ip: '::ffff:10.0.1.8' },
      { worker: 'acct.s21-003', ip: '10.0.2.9' },
      { worker: 'bitaxe', ip: 'fd00::42' },
      { worker: 'mystery' },
    ]),
  });
  const r = await runCli(['plan', '--config', join(dir, 'config.json'), '--depth', '0', '--rigs', join(dir, 'rigs.json'), '--json']);
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout);
  t.same(
    j.rigs.map((x: { id: string; entry: string }) => `${x.id}=${x.entry}`),
    ['acct.s21-001=row-a', 'acct.s21-002=row-a', 'acct.s21-003=default', 'bitaxe=v6', 'mystery=default'],
  );
  t.equal(j.fleet.watts, 3_500 * 2 + 3_000 * 2 + 1_200);
  t.same(j.decisions, [], 'fits the budget at depth 0 (30,000 - 2,000 - 1,500 - 2,000 = 24,500 W)');
  t.equal(j.budget.asicWatts, 24_500);
});

t.test('--rigs FILE problems: exit 2 with the field and an error code', async (t) => {
  const dir = t.testdir({
    'config.json': JSON.stringify(site()),
    'bad.json': '[{"worker": "a"},',
    'notlist.json': '{"worker": "a"}',
    'noworker.json': '[{"ip": "10.0.0.1"}]',
    'badip.json': '[{"worker": "a", "ip": "10.0.0.300"}]',
    'dup.json': '[{"worker": "a"}, {"worker": "a"}]',
    'extra.json': '[{"worker": "a", "watts": 5}]',
  });
  const cfg = join(dir, 'config.json');
  const run = (name: string) => runCli(['plan', '--config', cfg, '--depth', '1', '--rigs', join(dir, name)]);
  const cases: [string, RegExp][] = [
    ['bad.json', /is not valid JSON: .* \[HG_ERR_INPUT_JSON\]$/],
    ['notlist.json', /\(root\): must be a list of \{"worker", "ip"\?\} objects \[HG_ERR_INPUT_FIELD\]$/],
    ['noworker.json', /\[0\]\.worker: must be the worker name the rig authorizes with \[HG_ERR_INPUT_FIELD\]$/],
    ['badip.json', /\[0\]\.ip: must be an IPv4 or IPv6 address, or null \[HG_ERR_INPUT_FIELD\]$/],
    ['dup.json', /\[1\]\.worker: "a" is already \[0\]\.worker \[HG_ERR_INPUT_FIELD\]$/],
    ['extra.json', /\[0\]\.watts: unknown field \(allowed: worker, ip\) \[HG_ERR_INPUT_FIELD\]$/],
    ['missing.json', /missing\.json: cannot read it: no such file \[HG_ERR_INPUT_READ\]$/],
  ];
  for (const [name, re] of cases) {
    const r = await run(name);
    t.equal(r.code, 2, name);
    t.match(r.stderr.trim(), re, name);
    t.match(r.stderr, /^hashgate plan: --rigs /, name);
    t.equal(r.stdout, '', `${name}: nothing on stdout`);
  }
});

t.test('bad usage and bad config: exit 2', async (t) => {
  const file = configFile(site());
  const missing = await runCli(['plan', '--config', file]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /Missing required argument: depth \[HG_ERR_USAGE\]/);
  for (const bad of ['-1', 'abc', '1.5', '']) {
    const r = await runCli(['plan', '--config', file, `--depth=${bad}`]);
    t.equal(r.code, 2, `--depth=${bad}`);
    t.match(r.stderr, /hashgate plan: --depth must be an integer ≥ 0 or "unknown" .*\[HG_ERR_USAGE\]/);
  }
  const cap = await runCli(['plan', '--config', file, '--depth', '1', '--cap', 'lots']);
  t.equal(cap.code, 2);
  t.match(cap.stderr, /--cap must be a number of watts ≥ 0, given once \[HG_ERR_USAGE\]/);
  const twice = await runCli(['plan', '--config', file, '--depth', '1', '--depth', '2']);
  t.equal(twice.code, 2);
  const unknownFlag = await runCli(['plan', '--config', file, '--depth', '1', '--budget', '5']);
  t.equal(unknownFlag.code, 2);
  t.match(unknownFlag.stderr, /Unknown argument: budget/);

  const invalid = configFile({ ...site(), rigs: [{ name: 'x', match: {}, ratedWatts: 100, ratedThs: 1, extra: 1 }] });
  const c = await runCli(['plan', '--config', invalid, '--depth', '1']);
  t.equal(c.code, 2);
  t.match(c.stderr, /^hashgate plan: invalid configuration \(2 problems\):/);
  t.match(c.stderr, /rigs\[0\]\.extra: unknown option/);
  t.match(c.stderr, /rigs\[0\]\.match: needs "worker" \(glob\) and\/or "cidr"/);
  t.match(c.stderr, /\[HG_ERR_CONFIG\]\n$/);
  const none = await runCli(['plan', '--config', join(ROOT, 'nope.json'), '--depth', '1']);
  t.equal(none.code, 2);
  t.match(none.stderr, /nope\.json: config file not found/);
});

t.test('an empty inventory still prints the budget', async (t) => {
  const file = configFile(site({}, []));
  const r = await runCli(['plan', '--config', file, '--depth', '10']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^fleet: 0 rigs, 0 W running$/m);
  t.match(r.stdout, /add "rigs" entries to the config, or give --rigs FILE/);
});

t.test('touches nothing: no connection to the Redis URL or a rig driver', async (t) => {
  let connections = 0;
  const server = createServer((s) => {
    connections++;
    s.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  const file = configFile(
    site({ enabled: true, redis: { url: `redis://127.0.0.1:${port}`, capKey: 'site:cap' } }, [
      { name: 'lux', match: { worker: '*' }, ratedWatts: 3_500, ratedThs: 200, driver: { type: 'luxos', host: '127.0.0.1', port } },
      { name: 'esp', match: { cidr: '10.0.0.0/8' }, ratedWatts: 15, ratedThs: 1, driver: { type: 'esp-miner', host: '127.0.0.1', port } },
    ]),
  );
  const r = await runCli(['plan', '--config', file, '--depth', '1000000', '--cap', '0']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^ {2}curtail +lux /m);
  t.notMatch(r.stdout, /note: throttle/, 'enabled and not in shadow mode: no note');
  // Let any stray connection attempt reach the server before counting.
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(connections, 0);
});
