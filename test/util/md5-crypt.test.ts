/** src/util/md5-crypt.ts against published vectors (test/fixtures/md5-crypt.json, sources in its README). */
import { readFileSync } from 'node:fs';
import t from 'tap';
import { md5Crypt, md5CryptHash, md5CryptSalt } from '../../src/util/md5-crypt.js';

interface Vector {
  readonly password: string;
  readonly salt: string;
  readonly crypt: string;
}
const { vectors } = JSON.parse(readFileSync(new URL('../fixtures/md5-crypt.json', import.meta.url), 'utf8')) as {
  vectors: Vector[];
};

t.test('known vectors', async (t) => {
  t.ok(vectors.length >= 5);
  for (const v of vectors) {
    t.equal(md5Crypt(v.password, v.salt), v.crypt, JSON.stringify(v.password));
    t.equal(md5CryptHash(v.password, v.salt), v.crypt.split('$')[3], 'hash part');
    t.equal(md5CryptHash(v.password, v.crypt), v.crypt.split('$')[3], 'salt taken from a full crypt string');
  }
});

t.test('salt handling', async (t) => {
  t.equal(md5CryptSalt('$1$abc$xyz'), 'abc');
  t.equal(md5CryptSalt('0123456789'), '01234567');
  t.equal(md5CryptHash('pw', 'abc').length, 22);
  t.not(md5CryptHash('pw', 'abc'), md5CryptHash('pw', 'abd'));
});
