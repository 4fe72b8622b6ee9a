/**
 * docs/throttling.md says what the code does: the worked example's config is valid, every number in its
 * budget and resume tables is recomputed with the real policy and planner, every `throttle` option (and
 * the rig defaults) is documented with the schema's default, range, flag and environment variable, and
 * every mode has a row.
 */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { THROTTLE_MODES } from '../../src/admin/types.js';
import { buildConfig, type Config, CONFIG_DEFAULTS, CONFIG_OPTIONS, ConfigError } from '../../src/config/index.js';
import { DEFAULT_RIG, THROTTLE_DEFAULTS } from '../../src/config/throttle-schema.js';
import { matchInventory } from '../../src/throttle/inventory.js';
import { nextState, plan, plannerSettingsFromConfig } from '../../src/throttle/planner.js';
import { computeBudget, policyFromConfig } from '../../src/throttle/policy.js';
import { INITIAL_PLANNER_MEMORY, type Plan, type PlannerMemory, type PlannerRig, type PlannerSettings } from '../../src/throttle/types.js';

const doc = readFileSync(new URL('../../docs/throttling.md', import.meta.url), 'utf8');
/** The doc with every run of white space as one space, for sentences that may wrap. */
const prose = doc.replace(/\s+/g, ' ');

// ---------------------------------------------------------------------------
// Reading the doc

/** The text between <!-- example:NAME --> and <!-- /example:NAME -->. */
function marked(name: string): string {
  const start = doc.indexOf(`<!-- example:${name} -->`);
  const end = doc.indexOf(`<!-- /example:${name} -->`);
  if (start < 0 || end < start) throw new Error(`docs/throttling.md has no <!-- example:${name} --> … <!-- /example:${name} --> block`);
  return doc.slice(start, end);
}

/** The first ```json block after <!-- example:config -->. */
function exampleConfigText(): string {
  const start = doc.indexOf('<!-- example:config -->');
  const m = /```json\n([\s\S]*?)\n```/.exec(doc.slice(start));
  if (start < 0 || m === null) throw new Error('docs/throttling.md has no ```json block after <!-- example:config -->');
  return m[1]!;
}

type Row = Readonly<Record<string, string>>;

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\||\|$/g, '')
    .split('|')
    .map((c) => c.trim());
}

/** Every Markdown table in `text`: rows keyed by the header's cells. */
function tables(text: string): Row[][] {
  const out: Row[][] = [];
  let block: string[] = [];
  const flush = () => {
    if (block.length >= 2) {
      const header = cells(block[0]!);
      out.push(block.slice(2).map((l) => Object.fromEntries(cells(l).map((c, i) => [header[i] ?? `#${i}`, c]))));
    }
    block = [];
  };
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('|')) block.push(line);
    else flush();
  }
  flush();
  return out;
}

/** "1,000,000" -> 1000000. */
function num(cell: string): number {
  const n = Number(cell.replaceAll(',', ''));
  if (!Number.isFinite(n)) throw new Error(`not a number: ${JSON.stringify(cell)}`);
  return n;
}

const tick = (s: string) => /^`([^`]+)`$/.exec(s)?.[1] ?? null;

// ---------------------------------------------------------------------------
// The worked example

const config: Config = buildConfig({ file: { name: 'docs/throttling.md', value: JSON.parse(exampleConfigText()) as unknown } });
const policy = policyFromConfig(config.throttle);
const settings = plannerSettingsFromConfig(config.throttle);

/** The fleet as the doc describes it: hall-a site1.a001–a150 at 10.0.1.1–150, hall-b site1.b001–b100 at 10.0.2.1–100. */
const pad = (n: number) => String(n).padStart(3, '0');
const fleet = [
  ...Array.from({ length: 150 }, (_, i) => matchInventory(config.rigs, config.defaultRig, `site1.a${pad(i + 1)}`, `10.0.1.${i + 1}`).spec),
  ...Array.from({ length: 100 }, (_, i) => matchInventory(config.rigs, config.defaultRig, `site1.b${pad(i + 1)}`, `10.0.2.${i + 1}`).spec),
];

/** Every rig running for long (no min-on), as `hashgate plan` assumes. */
function runningFleet(): PlannerRig[] {
  return fleet.map((s) => ({ ...s, controllable: true, state: { kind: 'running', since: Number.NEGATIVE_INFINITY } }));
}

function planAt(depth: number | null, capWatts: number | null): { budget: ReturnType<typeof computeBudget>; plan: Plan } {
  const budget = computeBudget(policy, { depth, capWatts });
  const p = plan({ now: 0, asicBudgetWatts: budget.asicWatts, rigs: runningFleet(), settings, memory: INITIAL_PLANNER_MEMORY });
  return { budget, plan: p };
}

function apply(rigs: PlannerRig[], p: Plan, now: number): PlannerRig[] {
  const byRig = new Map(p.decisions.map((d) => [d.rig, d]));
  return rigs.map((r) => {
    const d = byRig.get(r.id);
    return d === undefined ? r : { ...r, state: nextState(r, d, now) };
  });
}

interface Step {
  readonly seconds: number;
  readonly rigs: number;
  readonly watts: number;
}

/**
 * The doc's drain: the fleet at the plan for `saturatedDepth` since t = 0, the queue empties at t = 10 min,
 * one loop per throttle.intervalMs, every command carried out at once. Returns the resume steps.
 */
function drain(saturatedDepth: number, s: PlannerSettings): { steps: Step[]; rigs: PlannerRig[] } {
  const start = 600_000;
  let rigs = apply(runningFleet(), planAt(saturatedDepth, null).plan, 0);
  let memory: PlannerMemory = INITIAL_PLANNER_MEMORY;
  const budget = computeBudget(policy, { depth: 0, capWatts: null }).asicWatts;
  const steps: Step[] = [];
  for (let now = start; now < start + 3_600_000; now += config.throttle.intervalMs) {
    const p = plan({ now, asicBudgetWatts: budget, rigs, settings: s, memory });
    memory = p.memory;
    if (p.decisions.length > 0) {
      steps.push({
        seconds: (now - start) / 1000,
        rigs: p.decisions.length,
        watts: -p.decisions.reduce((sum, d) => sum + d.deltaWatts, 0),
      });
      rigs = apply(rigs, p, now);
    }
    if (rigs.every((r) => r.state.kind === 'running')) break;
  }
  return { steps, rigs };
}

const budgetRows = tables(marked('budgets')).flat();
const depthOf = (cell: string): number | null => (cell === 'unknown' ? null : num(cell));
const saturation = (() => {
  const g = config.throttle.gpu;
  if (!('idleWatts' in g)) throw new Error('the worked example uses the linear GPU model');
  return Math.ceil((g.maxWatts - g.idleWatts) / g.wattsPerRequest);
})();

t.test('the worked example config is valid and describes the fleet the doc names', async (t) => {
  t.equal(config.throttle.enabled, true);
  t.equal(config.throttle.siteBudgetWatts, 1_000_000, 'a 1 MW site');
  t.equal(fleet.length, 250);
  t.equal(fleet.filter((r) => r.entry === 'hall-a' && r.priority === 10).length, 150, 'hall-a: 150 rigs at priority 10');
  t.equal(fleet.filter((r) => r.entry === 'hall-b' && r.priority === 0).length, 100, 'hall-b: 100 rigs at priority 0');
  for (const r of fleet) {
    t.equal(r.ratedWatts, 3500, `${r.id} is an S21 (3,500 W)`);
    t.equal(r.ratedWatts / r.ratedThs, 17.5, `${r.id}: 17.5 J/TH`);
    t.same(r.powerTargets, [2800], `${r.id}: one power target, 2,800 W`);
  }
  t.ok(prose.includes(`saturates at a depth of (360,000 − 40,000) / 1,600 = ${saturation}`), `saturation at depth ${saturation}`);
});

t.test('the budget table is what the policy and planner compute', async (t) => {
  t.ok(budgetRows.length >= 3, 'rows parsed');
  const depths = budgetRows.map((r) => r.depth!);
  t.ok(depths.includes('0') && depths.includes('100'), 'depth 0 and depth 100 are worked');
  t.ok(
    budgetRows.some((r) => r.depth !== 'unknown' && num(r.depth!) >= saturation),
    `a saturated depth (≥ ${saturation}) is worked`,
  );
  t.ok(depths.includes('unknown'), 'the unknown depth (stale-shed) is worked');
  for (const row of budgetRows) {
    const depth = depthOf(row.depth!);
    const cap = row['cap (W)'] === 'none' ? null : num(row['cap (W)']!);
    const label = `depth ${row.depth}, cap ${row['cap (W)']}`;
    const { budget, plan: p } = planAt(depth, cap);
    t.equal(num(row['site (W)']!), budget.siteWatts, `${label}: site`);
    t.equal(num(row['GPU need (W)']!), budget.gpuNeedWatts, `${label}: GPU need`);
    t.equal(num(row['headroom (W)']!), budget.headroomWatts, `${label}: headroom`);
    t.equal(budget.baseLoadWatts, 25_000);
    t.equal(num(row['ASIC budget (W)']!), budget.asicWatts, `${label}: ASIC budget`);
    const count = (hall: string, action: 'set-power' | 'curtail') =>
      p.decisions.filter((d) => d.action === action && fleet.find((r) => r.id === d.rig)?.group === hall).length;
    t.equal(num(row['hall-a reduced']!), count('hall-a', 'set-power'), `${label}: hall-a reduced`);
    t.equal(num(row['hall-a curtailed']!), count('hall-a', 'curtail'), `${label}: hall-a curtailed`);
    t.equal(num(row['hall-b reduced']!), count('hall-b', 'set-power'), `${label}: hall-b reduced`);
    t.equal(num(row['hall-b curtailed']!), count('hall-b', 'curtail'), `${label}: hall-b curtailed`);
    t.equal(num(row['ASICs after (W)']!), p.runningWatts, `${label}: ASIC watts after the plan`);
    t.equal(row.feasible, p.feasible ? 'yes' : 'no', `${label}: feasible`);
  }
});

t.test('the named rigs and the hysteresis band in the prose hold', async (t) => {
  const at7 = planAt(7, null).plan;
  t.same(
    at7.decisions.map((d) => [d.rig, d.action]),
    [
      ['site1.b001', 'set-power'],
      ['site1.b002', 'set-power'],
    ],
  );
  t.equal(planAt(6, null).plan.decisions.length, 0, 'depth 6 moves nothing');
  const reduced = apply(runningFleet(), at7, 0);
  const from = (depth: number) =>
    plan({
      now: 3_600_000,
      asicBudgetWatts: computeBudget(policy, { depth, capWatts: null }).asicWatts,
      rigs: reduced,
      settings,
      memory: INITIAL_PLANNER_MEMORY,
    }).decisions;
  for (const d of [4, 5, 6]) t.same(from(d), [], `depth ${d} moves nothing back`);
  t.same(
    from(3).map((d) => [d.rig, d.action]),
    [
      ['site1.b001', 'resume'],
      ['site1.b002', 'resume'],
    ],
    'depth 3 gives both back',
  );
  const sat = planAt(saturation, null).plan;
  const curtailed = sat.decisions.filter((d) => d.action === 'curtail').map((d) => d.rig);
  t.same(
    curtailed,
    Array.from({ length: 49 }, (_, i) => `site1.b${pad(i + 1)}`),
    'saturation: b001–b049 asleep',
  );
  t.equal(sat.decisions.filter((d) => d.action === 'set-power')[0]?.rig, 'site1.b050', 'the plan output starts at b050');
  const freed = 875_000 - sat.runningWatts;
  t.ok(prose.includes(`${freed.toLocaleString('en-US')} W freed`), `saturation frees ${freed} W`);
});

t.test('the staggered resume table is what the planner does', async (t) => {
  const rows = tables(marked('resume')).flat();
  const { steps, rigs } = drain(saturation, settings);
  t.ok(
    rigs.every((r) => r.state.kind === 'running'),
    'everything resumes',
  );
  t.equal(rows.length, steps.length, 'one row per step');
  steps.forEach((s, i) => {
    const row = rows[i];
    if (row === undefined) return;
    t.equal(num(row.step!), i + 1);
    t.equal(num(row['seconds after the drain']!), s.seconds, `step ${i + 1}: seconds`);
    t.equal(num(row.rigs!), s.rigs, `step ${i + 1}: rigs`);
    t.equal(num(row['watts taken back']!), s.watts, `step ${i + 1}: watts`);
    t.ok(s.watts <= config.throttle.planner.resumeWattsPerStep, `step ${i + 1} within resumeWattsPerStep`);
  });
  const total = steps.reduce((sum, s) => sum + s.watts, 0);
  const last = steps.at(-1)?.seconds ?? -1;
  const m = /All ([\d,]+) W are back (\d+) s \((\d+) minutes\) after the queue drains, in (\d+) steps/.exec(prose);
  t.ok(m, 'the summary sentence is there');
  if (m !== null) {
    t.equal(num(m[1]!), total, 'total watts given back');
    t.equal(Number(m[2]), last, 'seconds until the last step');
    t.equal(Number(m[3]), last / 60, 'in minutes');
    t.equal(Number(m[4]), steps.length, 'steps');
  }
  const defaults = drain(saturation, {
    ...settings,
    resumeWattsPerStep: THROTTLE_DEFAULTS.planner.resumeWattsPerStep,
    resumeIntervalMs: THROTTLE_DEFAULTS.planner.resumeIntervalMs,
  });
  const d =
    /With the defaults \(([\d,]+) W per (\d+) s\) the same ([\d,]+) W would take (\d+) steps, the last (\d+) s after the drain/.exec(prose);
  t.ok(d, 'the sentence about the defaults is there');
  if (d !== null) {
    t.equal(num(d[1]!), THROTTLE_DEFAULTS.planner.resumeWattsPerStep);
    t.equal(Number(d[2]) * 1000, THROTTLE_DEFAULTS.planner.resumeIntervalMs);
    t.equal(num(d[3]!), total);
    t.equal(Number(d[4]), defaults.steps.length, 'steps with the defaults');
    t.equal(Number(d[5]), defaults.steps.at(-1)?.seconds, 'last step with the defaults');
  }
});

// ---------------------------------------------------------------------------
// Options

/** Every table row whose first cell is a `path`, by path. */
const optionRows = new Map<string, Row>();
const duplicates: string[] = [];
for (const table of tables(doc)) {
  for (const row of table) {
    const path = tick(row.option ?? '');
    if (path === null) continue;
    if (optionRows.has(path)) duplicates.push(path);
    optionRows.set(path, row);
  }
}

/** Leaf paths of a defaults object: { a: { b: 1 } } -> [["a.b", 1]]. */
function leaves(prefix: string, value: unknown): [string, unknown][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value).flatMap(([k, v]) => leaves(`${prefix}.${k}`, v));
  }
  return [[prefix, value]];
}

function documentedDefault(row: Row): unknown {
  const d = tick(row.default ?? '');
  if (d === null) throw new Error(`default cell ${JSON.stringify(row.default)} is not one \`value\``);
  return JSON.parse(d) as unknown;
}

t.test('every throttle option is documented once, with its default', async (t) => {
  t.same(duplicates, [], 'no option has two rows');
  const throttleLeaves = leaves('throttle', THROTTLE_DEFAULTS);
  t.ok(throttleLeaves.length >= 20, `${throttleLeaves.length} options`);
  for (const [path, value] of throttleLeaves) {
    const row = optionRows.get(path);
    t.ok(row, `${path} has a row`);
    if (row !== undefined) t.same(documentedDefault(row), value, `${path}: default`);
    t.ok(doc.split(`\`${path}\``).length > 1, `${path} appears in the doc`);
  }
  for (const path of [
    'throttle.gpu',
    'throttle.depth',
    'throttle.gpu.idleWatts',
    'throttle.gpu.wattsPerRequest',
    'throttle.gpu.maxWatts',
    'throttle.gpu.steps',
  ])
    t.ok(optionRows.has(path), `${path} has a row`);
  for (const [key, value] of Object.entries(DEFAULT_RIG)) {
    const row = optionRows.get(`defaultRig.${key}`);
    t.ok(row, `defaultRig.${key} has a row`);
    if (row !== undefined) t.same(documentedDefault(row), value, `defaultRig.${key}: default`);
  }
  for (const path of ['defaultRig.driver', 'rigs[].driver']) {
    const row = optionRows.get(path);
    t.ok(row, `${path} has a row`);
    if (row !== undefined) t.same(documentedDefault(row), CONFIG_DEFAULTS.defaultRig.driver, `${path}: default`);
  }
  for (const key of ['idleWatts', 'priority', 'group'] as const) {
    const row = optionRows.get(`rigs[].${key}`);
    t.ok(row, `rigs[].${key} has a row`);
    if (row !== undefined) t.same(documentedDefault(row), DEFAULT_RIG[key], `rigs[].${key}: default`);
  }
  for (const key of ['name', 'match', 'ratedWatts', 'ratedThs', 'driver', 'override'])
    t.ok(optionRows.has(`rigs[].${key}`), `rigs[].${key} has a row`);
});

t.test('flags and environment variables are the ones CONFIG_OPTIONS defines', async (t) => {
  const throttleOptions = CONFIG_OPTIONS.filter((o) => o.path.startsWith('throttle.'));
  t.ok(throttleOptions.length > 0);
  for (const o of throttleOptions) {
    const row = optionRows.get(o.path);
    t.equal(row?.['flag / environment'], `\`--${o.flag}\`, \`${o.env}\``, `${o.path}: --${o.flag}, ${o.env}`);
  }
  for (const [path, row] of optionRows) {
    const flags = row['flag / environment'];
    if (flags === undefined || flags === '') continue;
    t.ok(
      throttleOptions.some((o) => o.path === path),
      `${path} names a flag only if it has one`,
    );
  }
});

/** A minimal valid config to probe one option's range with. */
function probe(path: string, value: number): string[] {
  const base: Record<string, unknown> = {
    pools: ['stratum+tcp://127.0.0.1:3333'],
    throttle: { gpu: { idleWatts: 0, wattsPerRequest: 0, maxWatts: 0 } },
    defaultRig: {},
    rigs: [{ name: 'r', match: { worker: '*' }, ratedWatts: 3500, ratedThs: 200 }],
  };
  const keys = path.replace('rigs[].', 'rigs.0.').split('.');
  let o = base as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) {
    o[k] ??= {};
    o = o[k] as Record<string, unknown>;
  }
  o[keys.at(-1)!] = value;
  try {
    buildConfig({ file: { name: 'probe', value: base } });
    return [];
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return e.problems.map((p) => p.path);
  }
}

t.test('documented ranges are the schema ranges', async (t) => {
  let checked = 0;
  for (const [path, row] of optionRows) {
    const m = /^(-?[\d,.]+)–(-?[\d,.]+)$/.exec(row.range ?? '');
    if (m === null || !/^(throttle\.|rigs\[\]\.|defaultRig\.)/.test(path)) continue;
    checked++;
    const [min, max] = [num(m[1]!), num(m[2]!)];
    const at = path.replace('rigs[].', 'rigs[0].');
    t.same(probe(path, min), [], `${path} accepts ${min}`);
    t.same(probe(path, max), [], `${path} accepts ${max}`);
    t.ok(probe(path, min - 1).includes(at), `${path} refuses ${min - 1}`);
    t.ok(probe(path, max + 1).includes(at), `${path} refuses ${max + 1}`);
  }
  t.ok(checked >= 20, `${checked} ranges checked`);
});

t.test('every mode has a row in the modes table', async (t) => {
  const modesTable = tables(doc).find((rows) => rows.length > 0 && rows[0]!.mode !== undefined && rows[0]!.when !== undefined);
  t.ok(modesTable, 'the modes table');
  t.same((modesTable ?? []).map((r) => tick(r.mode ?? '')).sort(), [...THROTTLE_MODES].sort());
});
