/**
 * The throttle core is pure and owns its settings types (DESIGN.md layers): policy, planner, inventory,
 * verification, staleness, the rig book and the status snapshot import neither src/config nor any I/O; below them
 * they may use util's errors and the work core (the share statistics verification proves decisions with). The config is
 * mapped into their types in one adapter, src/throttle/settings.ts.
 */

import { readFileSync } from 'node:fs';
import t from 'tap';

const CORE = [
  'policy',
  'planner',
  'rig-watts',
  'inventory',
  'verify',
  'stale',
  'rigs',
  'status',
  'types',
  'rig-types',
  'planner-types',
  'policy-types',
  'port-types',
  'rig-proof',
];

function importsOf(file: string): string[] {
  const text = readFileSync(new URL(`../../src/throttle/${file}.ts`, import.meta.url), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\s[^;]*?from\s+'([^']+)'/gms)].map((m) => m[1]!);
}

for (const file of CORE) {
  t.test(`src/throttle/${file}.ts imports only the throttle core and util`, async (t) => {
    const allowed = new Set([...CORE.map((c) => `./${c}.js`), '../util/errors.js']);
    for (const spec of importsOf(file)) t.ok(allowed.has(spec) || /^\.\.\/work\/[a-z-]+\.js$/.test(spec), `${file}.ts imports ${spec}`);
  });
}

t.test('the config is read in one place', async (t) => {
  t.ok(importsOf('settings').includes('../config/index.js'), 'settings.ts maps the config');
  t.notOk(
    importsOf('controller').some((s) => s.startsWith('../config')),
    'the controller goes through settings.ts',
  );
});
