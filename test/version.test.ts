import { readFileSync } from 'node:fs';
import t from 'tap';
import { VERSION } from '../src/version.js';

t.test('src/version.ts matches package.json', async (t) => {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  t.equal(VERSION, pkg.version);
  t.equal(pkg.bin.hashgate, 'bin/hashgate.js');
});
