/**
 * The layer rule (.dependency-cruiser.mjs, run by `npm run lint`) catches what it is there for: the
 * lint script's own depcruise command is run on two small trees laid out like src/, one with a
 * deliberate violation of each kind (an upward import, a type-only one, a sibling adapter, the
 * product loading a simulator or the demo, a cycle made of a type-only import, a folder missing
 * from the map) and one that keeps every rule; then the map is checked against the real src/ and
 * against docs/architecture.md.
 */

import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import t, { type Test } from 'tap';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CONFIG_FILE = '.dependency-cruiser.mjs';
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');

interface LayerMap {
  readonly LAYERS: readonly Readonly<Record<string, readonly string[]>>[];
  readonly BESIDE: Readonly<Record<string, { readonly paths: readonly string[]; readonly imports: readonly string[] }>>;
  moduleOf(path: string): string | null;
}

const loadMap = async (): Promise<LayerMap> => (await import(pathToFileURL(join(ROOT, CONFIG_FILE)).href)) as LayerMap;

/** The depcruise command of `npm run lint`, as arguments after the binary. */
function lintCommand(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const m = /(?:^|&&\s*)depcruise ([^&]+)/.exec(pkg.scripts.lint ?? '');
  if (m === null) throw new Error('npm run lint does not run depcruise');
  return m[1]!.trim().split(/\s+/);
}

type Tree = { [name: string]: string | Tree };

/** Runs the lint's depcruise command in a fixture directory holding `tree` and a copy of the config. */
function cruise(t: Test, tree: Tree): { code: number | null; out: string } {
  const dir = t.testdir({ [CONFIG_FILE]: readFileSync(join(ROOT, CONFIG_FILE), 'utf8'), ...tree });
  const r = spawnSync(process.execPath, [DEPCRUISE, ...lintCommand()], { cwd: dir, encoding: 'utf8' });
  // err-long wraps a cycle and a long comment over several lines: match on the text with its white space collapsed.
  return { code: r.status, out: `${r.stdout}${r.stderr}`.replace(/\s+/g, ' ') };
}

const ts = (...lines: string[]) => `${lines.join('\n')}\n`;

t.test('the lint command fails on each kind of violation and names it', async (t) => {
  const { code, out } = cruise(t, {
    src: {
      util: { 'hex.ts': ts('export const ZERO = 0;') },
      work: { 'job.ts': ts('export interface PreparedJob { readonly id: string }') },
      // Upward, and only a type: it still counts.
      protocol: { 'pool.ts': ts("import type { PreparedJob } from '../work/job.js';", 'export type Job = PreparedJob;') },
      // The pure throttle core reading the config schema.
      throttle: {
        'policy.ts': ts("import type { Config } from '../config/schema.js';", 'export type Settings = Config;'),
      },
      // A cycle whose one edge is a type-only import.
      config: {
        'schema.ts': ts("import { int } from './zod-helpers.js';", 'export type Config = { n: number };', 'export const N = int();'),
        'zod-helpers.ts': ts("import type { Config } from './schema.js';", 'export const int = (): Config["n"] => 1;'),
      },
      // Two adapters of one layer.
      journal: { 'writer.ts': ts('export interface WriterStats { readonly records: number }') },
      admin: { 'types.ts': ts("import type { WriterStats } from '../journal/writer.js';", 'export type Stats = WriterStats;') },
      // The product loading the demo (lazily) and the simulators.
      demo: { 'run.ts': ts('export const run = () => 1;') },
      // A simulator using the proxy's own Stratum code (it may use util, nothing above).
      sim: { 'pool.ts': ts("import type { Job } from '../protocol/pool.js';", 'export const POOL: Job | null = null;') },
      daemon: { 'daemon.ts': ts("export const demo = () => import('../demo/run.js');", "export { POOL } from '../sim/pool.js';") },
      // A folder the map does not place.
      gadgets: { 'x.ts': ts("import { ZERO } from '../util/hex.js';", 'export const X = ZERO;') },
    },
  });
  t.not(code, 0, 'exit code');
  const expected = [
    'error layer-protocol: src/protocol/pool.ts → src/work/job.ts',
    'protocol (layer 2) may import only itself and the layers below: util (docs/architecture.md)',
    'error layer-throttle-core: src/throttle/policy.ts → src/config/schema.ts',
    'error no-cycle: src/config/schema.ts → src/config/zod-helpers.ts → src/config/schema.ts',
    'error layer-admin: src/admin/types.ts → src/journal/writer.ts',
    'not its siblings upstream, journal, throttle-adapters',
    'error layer-daemon: src/daemon/daemon.ts → src/demo/run.ts',
    'error layer-daemon: src/daemon/daemon.ts → src/sim/pool.ts',
    'error beside-sim: src/sim/pool.ts → src/protocol/pool.ts',
    'error layer-unplaced: src/gadgets/x.ts → src/util/hex.ts',
  ];
  for (const e of expected) t.ok(out.includes(e), e);
  t.match(out, /x 8 dependency violations/, 'nothing else is reported');
});

t.test('the lint command passes a tree that keeps every rule', async (t) => {
  const { code, out } = cruise(t, {
    src: {
      'version.ts': ts('export const VERSION = "0";'),
      util: { 'hex.ts': ts("import { VERSION } from '../version.js';", 'export const ZERO = VERSION.length - 1;') },
      protocol: {
        'work-types.ts': ts("import { ZERO } from '../util/hex.js';", 'export interface StratumJob { readonly n: typeof ZERO }'),
      },
      work: { 'job.ts': ts("import type { StratumJob } from '../protocol/work-types.js';", 'export type Prepared = StratumJob;') },
      throttle: {
        'types.ts': ts('export interface PolicySettings { readonly w: number }'),
        'policy.ts': ts("import type { PolicySettings } from './types.js';", 'export const watts = (s: PolicySettings) => s.w;'),
        'redis.ts': ts("import { watts } from './policy.js';", 'export const read = watts;'),
        'controller.ts': ts("import { read } from './redis.js';", 'export const tick = read;'),
      },
      config: { 'schema.ts': ts("import type { PolicySettings } from '../throttle/types.js';", 'export type Config = PolicySettings;') },
      journal: { 'writer.ts': ts("import type { Prepared } from '../work/job.js';", 'export type Rec = Prepared;') },
      admin: { 'types.ts': ts('export interface JournalStats { readonly records: number }') },
      session: { 'ports.ts': ts("import type { Rec } from '../journal/writer.js';", 'export type Recorder = (r: Rec) => void;') },
      daemon: {
        'daemon.ts': ts(
          "import type { JournalStats } from '../admin/types.js';",
          "import type { Recorder } from '../session/ports.js';",
          "import { tick } from '../throttle/controller.js';",
          'export const wire = (r: Recorder, s: JournalStats) => [r, s, tick];',
        ),
      },
      cli: {
        'main.ts': ts("export const run = () => import('../daemon/daemon.js');", "export const demo = () => import('../demo/run.js');"),
      },
      sim: { 'pool.ts': ts('export const POOL = 1;') },
      demo: {
        'run.ts': ts(
          "import { POOL } from '../sim/pool.js';",
          "import { wire } from '../daemon/daemon.js';",
          'export const run = () => [POOL, wire];',
        ),
      },
      bench: {
        'index.ts': ts(
          "import { POOL } from '../sim/pool.js';",
          "import { tick } from '../throttle/controller.js';",
          'export const b = [POOL, tick];',
        ),
      },
    },
  });
  t.equal(code, 0, out);
  t.match(out, /no dependency violations found/);
});

t.test('every file under src/ belongs to exactly one module of the map', async (t) => {
  const map = await loadMap();
  const files = readdirSync(join(ROOT, 'src'), { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile() && d.name.endsWith('.ts'))
    .map((d) => relative(ROOT, join(d.parentPath, d.name)).split('\\').join('/'));
  t.ok(files.length > 50, 'found the sources');
  const unplaced = files.filter((f) => map.moduleOf(f) === null);
  t.same(unplaced, [], 'unplaced files');
  t.equal(map.moduleOf('src/throttle/redis.ts'), 'throttle-adapters');
  t.equal(map.moduleOf('src/throttle/drivers/luxos.ts'), 'throttle-adapters');
  t.equal(map.moduleOf('src/throttle/controller.ts'), 'throttle-loop');
  t.equal(map.moduleOf('src/throttle/planner.ts'), 'throttle-core');
});

t.test('docs/architecture.md lists the layer map as it is', async (t) => {
  const map = await loadMap();
  const fromMap = [
    ...map.LAYERS.flatMap((layer, i) => Object.entries(layer).map(([name, paths]) => [String(i + 1), name, paths.join(' ')])),
    ...Object.entries(map.BESIDE).map(([name, b]) => ['beside', name, b.paths.join(' ')]),
  ];
  const doc = readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8');
  const fromDoc = doc
    .split('\n')
    .map((line) => line.split('|').map((c) => c.trim()))
    .filter((cells) => cells.length > 4 && /^(\d+|beside)$/.test(cells[1]!))
    .map((cells) => [cells[1]!, cells[2]!, [...cells[3]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]).join(' ')]);
  t.same(fromDoc, fromMap);
});
