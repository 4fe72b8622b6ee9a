import { readFileSync } from 'node:fs';
import t from 'tap';
import { ERROR_CODES, HashgateError, isHashgateError } from '../../src/util/errors.js';

const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');

t.test('docs/errors.md and the registry list the same codes', async (t) => {
  // Table rows: | `CODE` | meaning | what to do |  (cells may be padded by the formatter)
  const rows = new Map([...doc.matchAll(/^\|\s*`(HG_ERR_[A-Z_]+)`\s*\|\s*(.*?)\s*\|/gm)].map((m) => [m[1], m[2]]));
  t.same([...rows.keys()].sort(), Object.keys(ERROR_CODES).sort());
  for (const [code, meaning] of Object.entries(ERROR_CODES)) {
    t.equal(rows.get(code), meaning, `${code} documented with the registry's wording`);
  }
});

t.test('every code the source throws or prints is registered', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const used = execFileSync('grep', ['-rhoE', 'HG_ERR_[A-Z_]+', 'src', 'bin'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  for (const code of new Set(used)) t.ok(code in ERROR_CODES, `${code} is in the registry`);
});

t.test('HashgateError carries code and field', async (t) => {
  const e = new HashgateError('HG_ERR_INPUT_FIELD', 'job.ntime: bad', { field: 'job.ntime' });
  t.ok(isHashgateError(e));
  t.equal(e.code, 'HG_ERR_INPUT_FIELD');
  t.equal(e.field, 'job.ntime');
  t.notOk(isHashgateError(new Error('x')));
});
