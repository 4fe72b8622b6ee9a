/** The simulators' independent share check (test/sim/hash.ts) against real mainnet blocks and exact target math. */
import t from 'tap';
import { BLOCKS } from '../helpers/vectors.js';
import {
  coinbase,
  DIFF1,
  displayHex,
  hashShare,
  meetsDifficulty,
  merkleRoot,
  rollVersion,
  shareDifficulty,
  swapWords,
  targetFromBits,
  targetFromDifficulty,
} from '../../src/sim/hash.js';

t.test('real blocks: header built from the Stratum fields hashes to the published block hash', async (t) => {
  const names = BLOCKS.map((b) => b.name);
  t.ok(names.includes('genesis') && names.some((n) => n.startsWith('block-881423')), 'genesis and 881423 present');
  for (const b of BLOCKS) {
    const s = b.stratum;
    t.test(b.name, async (t) => {
      const cb = coinbase(s.coinb1, s.extranonce1, s.extranonce2, s.coinb2);
      t.equal(cb.toString('hex'), b.coinbaseTx, 'coinb1 ‖ en1 ‖ en2 ‖ coinb2 is the coinbase');
      t.equal(displayHex(merkleRoot(cb, []).subarray(0, 32)), b.coinbaseTxid, 'sha256d(coinbase) is the txid');
      const h = hashShare(
        { ...s, merkleBranch: b.merkleBranch },
        {
          extranonce1: s.extranonce1,
          extranonce2: s.extranonce2,
          ntime: s.ntime,
          nonce: s.nonce,
          versionBits: s.versionBits,
          versionMask: s.versionMask,
        },
      );
      t.equal(h.header.toString('hex'), b.header, 'header byte for byte');
      t.equal(h.hashHex, b.blockHash, 'hash == block hash');
      t.ok(h.hashInt <= targetFromBits(Number.parseInt(s.nbits, 16)), 'meets its nbits target');
      t.ok(shareDifficulty(h.hashInt) > 1, 'share difficulty above 1');
    });
  }
});

t.test('version rolling only takes bits inside the mask', async (t) => {
  const b = BLOCKS.find((x) => x.stratum.versionBits)!;
  const s = b.stratum;
  t.equal(rollVersion(0x20000000, 0x0e596000, 0x1fffe000), 0x2e596000);
  t.equal(rollVersion(0x20000000, 0xffffffff, 0x1fffe000), 0x3fffe000);
  t.equal(rollVersion(0x20000000, 0xffffffff, 0), 0x20000000);
  // The same submit without a negotiated mask is a different header, so not the block.
  const wrong = hashShare(
    { ...s, merkleBranch: b.merkleBranch },
    { extranonce1: s.extranonce1, extranonce2: s.extranonce2, ntime: s.ntime, nonce: s.nonce },
  );
  t.not(wrong.hashHex, b.blockHash);
});

t.test('prevhash word swap is its own inverse', async (t) => {
  const x = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
  t.equal(swapWords(x).toString('hex'), '03020100070605040b0a09080f0e0d0c13121110171615141b1a19181f1e1d1c');
  t.same(swapWords(swapWords(x)), x);
});

t.test('targets: diff 1, nbits, exact fractional difficulties', async (t) => {
  t.equal(DIFF1.toString(16).padStart(64, '0'), `00000000ffff${'0'.repeat(52)}`);
  t.equal(targetFromDifficulty(1), DIFF1);
  t.equal(targetFromBits(0x1d00ffff), DIFF1);
  t.equal(targetFromBits(0x1b04864c), 0x04864cn << (8n * 24n));
  t.equal(targetFromDifficulty(2 ** -24), DIFF1 << 24n);
  t.equal(targetFromDifficulty(0.5), DIFF1 * 2n);
  t.equal(targetFromDifficulty(3), DIFF1 / 3n);
  // floor(DIFF1 / d) for d that are not powers of two, checked as exact rationals: d = num / 2^k.
  for (const d of [0.001, 1 / 3, 1e-9, 123.456, 2 ** -28 * 3, 1.2e14]) {
    const tgt = targetFromDifficulty(d);
    let k = 0n;
    let num = d;
    while (!Number.isInteger(num) && k < 1100n) {
      num *= 2;
      k++;
    }
    const n = BigInt(num);
    // tgt ≤ DIFF1 / d < tgt + 1  ⇔  tgt·n ≤ DIFF1·2^k < (tgt+1)·n
    t.ok(tgt * n <= DIFF1 << k && (tgt + 1n) * n > DIFF1 << k, `floor(DIFF1 / ${d})`);
  }
  t.throws(() => targetFromDifficulty(0));
  t.throws(() => targetFromDifficulty(Number.NaN));
  t.ok(meetsDifficulty(DIFF1, 1) && !meetsDifficulty(DIFF1 + 1n, 1), 'at the target meets, above does not');
});
