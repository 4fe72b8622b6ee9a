/**
 * hashgate's layer map, as data, and the import rules `npm run lint` checks with it
 * (dependency-cruiser: `depcruise src`). The picture and what each folder owns:
 * docs/architecture.md (test/lint/layers.test.ts keeps its table equal to LAYERS).
 *
 * LAYERS lists the product's layers bottom-up; each layer names its modules and their paths.
 * - A module may import its own files and any module of a lower layer. Nothing else: not a
 *   higher layer, and not another module of its own layer (the layer above wires siblings).
 * - A path is a folder (ends in "/") or a file. Where paths nest, the longest one wins:
 *   src/throttle/redis.ts (and redis-*.ts) is an adapter, src/throttle/controller.ts the throttle
 *   loop, and the rest of src/throttle/ the pure throttle core.
 * - Type-only imports count, and so do import() calls: a layer is about what a module knows,
 *   not only what it loads at run time. So do cycles inside one module.
 *
 * BESIDE lists what sits beside the product (simulators, benchmarks, the demo): each may import
 * the product and the modules named in `imports`; the product never imports them, except
 * through a DOOR. Every file under src/ must belong to exactly one module.
 */

export const LAYERS = [
  { util: ['src/util/', 'src/version.ts'] },
  { protocol: ['src/protocol/'] },
  { work: ['src/work/'] },
  { 'throttle-core': ['src/throttle/'] },
  { config: ['src/config/'] },
  {
    upstream: ['src/upstream/'],
    journal: ['src/journal/'],
    admin: ['src/admin/'],
    'throttle-adapters': [
      'src/throttle/redis.ts',
      'src/throttle/redis-signals.ts',
      'src/throttle/redis-status.ts',
      'src/throttle/settings.ts',
      'src/throttle/drivers/',
    ],
  },
  {
    session: ['src/session/'],
    'throttle-loop': ['src/throttle/controller.ts'],
    audit: ['src/audit/'],
  },
  { daemon: ['src/daemon/'] },
  { cli: ['src/cli/'] },
];

export const BESIDE = {
  // The yardstick the proxy is measured against (a pool, miners, firmware APIs): it shares no Stratum
  // code with it (no parser, no encoder, no share check), only util's byte-level line framer and hex helpers.
  sim: { paths: ['src/sim/'], imports: ['util'] },
  demo: { paths: ['src/demo/'], imports: ['product', 'sim'] },
  bench: { paths: ['src/bench/'], imports: ['product', 'sim'] },
};

/** The product's only ways to a BESIDE module: `hashgate demo` runs src/demo (loaded lazily, so `hashgate run` never loads it). */
export const DOORS = [{ from: 'cli', to: 'demo' }];

// ---------------------------------------------------------------------------
// Everything below is derived from the three tables above.

const product = LAYERS.flatMap((layer, rank) => Object.entries(layer).map(([name, paths]) => ({ name, paths, rank })));
const beside = Object.entries(BESIDE).map(([name, b]) => ({ name, paths: b.paths, imports: b.imports }));
const modules = [...product, ...beside];
const allPaths = modules.flatMap((m) => m.paths);

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The regular expression of one path: a folder minus the longer paths nested in it, or one file. */
function pathRegex(path) {
  if (!path.endsWith('/')) return `${escape(path)}$`;
  const nested = allPaths
    .filter((p) => p !== path && p.startsWith(path))
    .map((p) => escape(p.slice(path.length)) + (p.endsWith('/') ? '' : '$'));
  return nested.length === 0 ? escape(path) : `${escape(path)}(?!${nested.join('|')})`;
}

const regexOf = (mods) => `^(?:${mods.flatMap((m) => m.paths.map(pathRegex)).join('|')})`;

/** The module a path (relative to the repository, "src/...") belongs to, or null. */
export function moduleOf(path) {
  const hits = modules.filter((m) => m.paths.some((p) => new RegExp(`^${pathRegex(p)}`).test(path)));
  return hits.length === 1 ? hits[0].name : null;
}

/** What a product module may import: lower layers, and its door. */
function allowedFor(m) {
  const doors = DOORS.filter((d) => d.from === m.name).map((d) => d.to);
  return [...product.filter((o) => o.rank < m.rank).map((o) => o.name), ...doors];
}

/** "admin (layer 6) may import only itself and the layers below: util, …; not its siblings upstream, … (docs/architecture.md)" */
function productComment(m) {
  const lower = product.filter((o) => o.rank < m.rank).map((o) => o.name);
  const below = lower.length === 0 ? 'nothing of src/ but itself' : `only itself and the layers below: ${lower.join(', ')}`;
  const doors = DOORS.filter((d) => d.from === m.name).map((d) => `, and ${d.to} through its door`);
  const siblings = product.filter((o) => o !== m && o.rank === m.rank).map((o) => o.name);
  const notSiblings = siblings.length === 0 ? '' : `; not its siblings ${siblings.join(', ')}`;
  return `${m.name} (layer ${m.rank + 1}) may import ${below}${doors.join('')}${notSiblings} (docs/architecture.md)`;
}

const productRules = product.map((m) => {
  const allowed = allowedFor(m);
  return {
    name: `layer-${m.name}`,
    severity: 'error',
    comment: productComment(m),
    from: { path: regexOf([m]) },
    to: { path: regexOf(modules.filter((o) => o !== m && !allowed.includes(o.name))) },
  };
});

const besideRules = beside.map((b) => {
  const allowed = b.imports.flatMap((i) => (i === 'product' ? product.map((m) => m.name) : [i]));
  return {
    name: `beside-${b.name}`,
    severity: 'error',
    comment: `${b.name} sits beside the product and may import ${
      allowed.length === 0
        ? 'nothing of src/ but itself'
        : `only itself, the product${b.imports
            .filter((i) => i !== 'product')
            .map((i) => `, ${i}`)
            .join('')}`
    } (docs/architecture.md)`,
    from: { path: regexOf([b]) },
    to: { path: regexOf(modules.filter((o) => o !== b && !allowed.includes(o.name))) },
  };
});

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    ...productRules,
    ...besideRules,
    {
      name: 'no-cycle',
      severity: 'error',
      comment: 'Modules in a cycle can only be read, tested and loaded together: move what both need into a lower module',
      from: {},
      to: { circular: true },
    },
    {
      name: 'layer-unplaced',
      severity: 'error',
      comment: 'Every file under src/ belongs to one module of the layer map (LAYERS or BESIDE in .dependency-cruiser.mjs)',
      from: { path: '^src/', pathNot: regexOf(modules) },
      to: {},
    },
    {
      name: 'layer-unplaced-target',
      severity: 'error',
      comment: 'Every file under src/ belongs to one module of the layer map (LAYERS or BESIDE in .dependency-cruiser.mjs)',
      from: {},
      to: { path: '^src/', pathNot: regexOf(modules) },
    },
    {
      name: 'not-resolvable',
      severity: 'error',
      comment: 'An import the checker cannot follow is an import it cannot check',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    includeOnly: '^src/',
    // `import type` edges count (a type is knowledge too); dependency-cruiser drops them otherwise.
    tsPreCompilationDeps: true,
    progress: { type: 'none' },
  },
};
