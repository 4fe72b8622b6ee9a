import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { runCli, spawnCli } from '../helpers/cli.js';
import { BLOCKS, type BlockVector } from '../helpers/vectors.js';

function request(v: BlockVector, over: Record<string, unknown> = {}, submitOver: Record<string, unknown> = {}) {
  const s = v.stratum;
  return {
    extranonce1: s.extranonce1,
    extranonce2Size: s.extranonce2Size,
    ...(s.versionMask ? { versionMask: s.versionMask } : {}),
    difficulty: 1,
    job: {
      jobId: '1',
      prevhash: s.prevhash,
      coinb1: s.coinb1,
      coinb2: s.coinb2,
      merkleBranch: v.merkleBranch,
      version: s.version,
      nbits: s.nbits,
      ntime: s.ntime,
    },
    submit: {
      extranonce2: s.extranonce2,
      ntime: s.ntime,
      nonce: s.nonce,
      ...(s.versionBits ? { versionBits: s.versionBits } : {}),
      ...submitOver,
    },
    ...over,
  };
}

t.test('a real block checks out: exit 0, the published hash, the header', async (t) => {
  for (const v of BLOCKS) {
    const r = await runCli(['check-share'], JSON.stringify(request(v)));
    t.equal(r.code, 0, `${v.name} exit`);
    const out = JSON.parse(r.stdout);
    t.equal(out.valid, true);
    t.equal(out.reason, null);
    t.equal(out.hash, v.blockHash);
    t.equal(out.header, v.header);
    t.equal(out.blockCandidate, true);
    t.type(out.shareDifficulty, 'number');
  }
});

t.test('an invalid share: exit 1 with the reason', async (t) => {
  const v = BLOCKS[0];
  const r = await runCli(['check-share', '--compact'], JSON.stringify(request(v, { difficulty: 1e9 }, { nonce: '00000000' })));
  t.equal(r.code, 1);
  const out = JSON.parse(r.stdout);
  t.equal(out.valid, false);
  t.equal(out.reason, 'low-difficulty');
  t.equal(out.blockCandidate, false);
  t.match(out.hash, /^[0-9a-f]{64}$/);
  t.equal(r.stdout.trim().split('\n').length, 1, '--compact prints one line');
  const bad = await runCli(['check-share'], JSON.stringify(request(v, {}, { extranonce2: '00' })));
  t.equal(bad.code, 1);
  t.equal(JSON.parse(bad.stdout).reason, 'bad-extranonce2-length');
  t.equal(JSON.parse(bad.stdout).hash, null);
});

t.test('unusable input: exit 2 naming the field', async (t) => {
  const v = BLOCKS[1];
  const cases: Array<[string, string, RegExp]> = [
    ['not json', '{"extranonce1":', /not valid JSON.*HG_ERR_INPUT_JSON/],
    ['array', '[]', /\(root\): must be an object/],
    [
      'prevhash short',
      JSON.stringify(request(v, { job: { ...request(v).job, prevhash: 'abcd' } })),
      /job\.prevhash: must be 64 hex digits.*HG_ERR_INPUT_FIELD/,
    ],
    ['branch entry', JSON.stringify(request(v, { job: { ...request(v).job, merkleBranch: ['00', 'zz'] } })), /job\.merkleBranch\[0\]/],
    [
      'nbits negative',
      JSON.stringify(request(v, { job: { ...request(v).job, nbits: '1d80ffff' } })),
      /job\.nbits: compact target is negative/,
    ],
    ['difficulty', JSON.stringify(request(v, { difficulty: 0 })), /difficulty: must be a number > 0/],
    ['mask', JSON.stringify(request(v, { versionMask: 'xyz' })), /versionMask/],
    ['extranonce1', JSON.stringify(request(v, { extranonce1: 'abc' })), /extranonce1: must be an even-length hex/],
    ['missing submit', JSON.stringify({ ...request(v), submit: undefined }), /submit: must be an object/],
    ['nonce type', JSON.stringify(request(v, {}, { nonce: 5 })), /submit\.nonce: must be a hex string/],
  ];
  for (const [name, input, re] of cases) {
    const r = await runCli(['check-share'], input);
    t.equal(r.code, 2, `${name}: exit 2`);
    t.match(r.stderr, re, `${name}: message`);
    t.equal(r.stdout, '', `${name}: nothing on stdout`);
  }
});

t.test('the built binary: --file, stdin, --help, unknown options', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'share.json');
  writeFileSync(file, JSON.stringify(request(BLOCKS[2])));
  const r = await spawnCli(['check-share', '--file', file]);
  t.equal(r.code, 0, r.stderr);
  t.equal(JSON.parse(r.stdout).hash, BLOCKS[2].blockHash);
  const piped = await spawnCli(['check-share'], JSON.stringify(request(BLOCKS[0])));
  t.equal(piped.code, 0);
  const missing = await spawnCli(['check-share', '--file', join(dir, 'nope.json')]);
  t.equal(missing.code, 2);
  t.match(missing.stderr, /cannot read .*nope\.json.*HG_ERR_INPUT_READ/);
  const help = await spawnCli(['check-share', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--file/);
  t.match(help.stdout, /Exit: 0 valid, 1 invalid, 2 unusable input/);
  const unknown = await spawnCli(['check-share', '--bogus']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /Unknown argument: bogus.*HG_ERR_USAGE/);
  const none = await spawnCli([]);
  t.equal(none.code, 2);
  t.match(none.stderr, /Name a command/);
});
