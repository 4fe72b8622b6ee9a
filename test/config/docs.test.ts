import { readFileSync } from 'node:fs';
import t from 'tap';
import { buildConfig, CONFIG_DEFAULTS, CONFIG_OPTIONS } from '../../src/config/index.js';

const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');

function defaultAt(path: string): unknown {
  let v: unknown = CONFIG_DEFAULTS;
  for (const k of path.split('.')) v = (v as Record<string, unknown> | undefined)?.[k];
  return v;
}

t.test('docs/configuration.md documents every option with its flag, variable and default', async (t) => {
  // Cells are trimmed: biome formats markdown and pads table columns.
  const rows = [...doc.matchAll(/^\| `([a-zA-Z.]+)` +\|(.*)\|$/gm)].map((m) => ({
    path: m[1]!,
    cells: m[2]!.split(' | ').map((c) => c.trim()),
  }));
  t.same(rows.map((r) => r.path).sort(), CONFIG_OPTIONS.map((o) => o.path).sort(), 'one table row per option, no more');
  for (const o of CONFIG_OPTIONS) {
    const row = rows.find((r) => r.path === o.path);
    if (row === undefined) continue;
    const [flag, env, def] = row.cells;
    t.equal(flag, `\`--${o.flag}\``, `${o.path} flag`);
    t.equal(env, `\`${o.env}\``, `${o.path} variable`);
    const d = defaultAt(o.path);
    const expected =
      d === undefined ? '(required)' : d === null ? '`none`' : Array.isArray(d) ? d.map((x) => `\`${x}\``).join(', ') : `\`${d}\``;
    t.equal(def, expected, `${o.path} default`);
  }
});

t.test('the flag and variable names follow one scheme and never start with "no-"', async (t) => {
  for (const o of CONFIG_OPTIONS) {
    t.equal(o.env, `HASHGATE_${o.flag.toUpperCase().replaceAll('-', '_')}`, o.flag);
    t.notOk(o.flag.startsWith('no-'), `${o.flag}: yargs would read --no-x as a negation`);
  }
  t.equal(new Set(CONFIG_OPTIONS.map((o) => o.flag)).size, CONFIG_OPTIONS.length, 'flags are unique');
});

t.test('the example file in the docs is valid and spells out the defaults', async (t) => {
  const m = /`\/etc\/hashgate\/config\.json`:\n\n```json\n([\s\S]*?)\n```/.exec(doc);
  t.ok(m, 'example found');
  const value = JSON.parse(m![1]!);
  const c = buildConfig({ file: { name: 'example', value } });
  t.equal(c.worker.mode, 'account');
  t.same(c.limits, CONFIG_DEFAULTS.limits);
  t.same(c.failover, CONFIG_DEFAULTS.failover);
  t.same(c.shares, CONFIG_DEFAULTS.shares);
  t.same(c.shutdown, CONFIG_DEFAULTS.shutdown);
  t.same(c.log, CONFIG_DEFAULTS.log);
  t.equal(c.journal.rotateBytes, CONFIG_DEFAULTS.journal.rotateBytes);
});

t.test('the docs say how to protect secrets', async (t) => {
  t.match(doc, /root:hashgate/);
  t.match(doc, /0640/);
});
