import { createHash, randomBytes } from 'node:crypto';
import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import fc from 'fast-check';
import t from 'tap';
import {
  bytesToWords,
  createMidstate,
  foldMerkleBranch,
  sha256,
  sha256d,
  sha256dFromMidstate,
  sha256dHeaderWords,
  sha256dWords64,
  wordsToBytes,
} from '../../src/work/sha256.js';

const nodeSha = (b: Uint8Array) => createHash('sha256').update(b).digest();
const nodeSha256d = (b: Uint8Array) => nodeSha(nodeSha(b));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

t.test('FIPS 180-4 / NIST example vectors', async (t) => {
  // From the NIST CSRC "SHA-256 examples" document.
  t.equal(hex(sha256(new Uint8Array())), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  t.equal(hex(sha256(Buffer.from('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  t.equal(
    hex(sha256(Buffer.from('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq'))),
    '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
  );
});

t.test('every length 0..300 agrees with node:crypto and @noble/hashes (padding boundaries at 55/56/64)', async (t) => {
  let bad = 0;
  for (let n = 0; n <= 300; n++) {
    const b = randomBytes(n);
    const ours = hex(sha256(b));
    if (ours !== hex(nodeSha(b)) || ours !== hex(nobleSha256(b))) bad++;
    if (hex(sha256d(b)) !== hex(nodeSha256d(b))) bad++;
  }
  t.equal(bad, 0);
});

t.test('property: random inputs agree with node:crypto', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2000 }), (b) => hex(sha256d(b)) === hex(nodeSha256d(b))),
        { numRuns: 300 },
      ),
    '300 random inputs agreed',
  );
});

t.test('midstate continuation equals hashing the whole message', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 400 }), fc.uint8Array({ maxLength: 400 }), (prefix, rest) => {
          const mid = createMidstate(prefix);
          const whole = Buffer.concat([prefix, rest]);
          const tail = whole.subarray(mid.length);
          const out = new Int32Array(8);
          sha256dFromMidstate(mid, tail, tail.length, out);
          return mid.length % 64 === 0 && mid.length <= prefix.length && hex(wordsToBytes(out)) === hex(nodeSha256d(whole));
        }),
        { numRuns: 300 },
      ),
    '300 random prefix/tail splits agreed',
  );
});

t.test('word functions: 64-byte merkle step, merkle fold and 80-byte header', async (t) => {
  for (let i = 0; i < 50; i++) {
    const b64 = randomBytes(64);
    const out = new Int32Array(8);
    sha256dWords64(bytesToWords(b64), 0, out);
    t.equal(hex(wordsToBytes(out)), hex(nodeSha256d(b64)), 'sha256dWords64');

    const leaf = randomBytes(32);
    const branch = [randomBytes(32), randomBytes(32), randomBytes(32)];
    let expected: Buffer = Buffer.from(leaf);
    for (const h of branch) expected = nodeSha256d(Buffer.concat([expected, h]));
    const root = bytesToWords(leaf);
    foldMerkleBranch(root, bytesToWords(Buffer.concat(branch)));
    t.equal(hex(wordsToBytes(root)), hex(expected), 'foldMerkleBranch');

    const header = randomBytes(80);
    const h = new Int32Array(8);
    sha256dHeaderWords(bytesToWords(header), h);
    t.equal(hex(wordsToBytes(h)), hex(nodeSha256d(header)), 'sha256dHeaderWords');
  }
});
