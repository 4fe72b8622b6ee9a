import t from 'tap';
import { REJECT_REASONS, REJECT_TABLE, stratumErrorFor } from '../../src/protocol/stratum-errors.js';
import { formatU32BE } from '../../src/util/hex.js';
import { JobStore, prepareJob, type ShareContext, type ShareSubmit, type StratumJob, validateShare } from '../../src/work/index.js';
import { BLOCKS, ctxOf, jobOf, submitOf } from '../helpers/vectors.js';

function storeWith(...jobs: StratumJob[]): JobStore {
  const store = new JobStore();
  for (const j of jobs) {
    const p = prepareJob(j);
    if (!p.ok) throw new Error(`${p.error.field}: ${p.error.message}`);
    store.add(p.job, j.cleanJobs ?? false);
  }
  return store;
}

const GENESIS = BLOCKS.find((b) => b.height === 0)!;
const ROLLED = BLOCKS.find((b) => b.stratum.versionBits !== undefined)!;
const DEEP = BLOCKS.reduce((a, b) => (b.merkleBranch.length > a.merkleBranch.length ? b : a));

t.test('real mainnet blocks re-validate as block candidates with their published hash and header', async (t) => {
  t.ok(BLOCKS.length >= 3);
  t.ok(DEEP.merkleBranch.length >= 2, 'a multi-level merkle branch is covered');
  t.ok(ROLLED, 'a BIP 320 rolled version is covered');
  for (const v of BLOCKS) {
    const verdict = validateShare(storeWith(jobOf(v)), ctxOf(v), submitOf(v));
    t.equal(verdict.status, 'block', `${v.name} is a block candidate`);
    t.equal(verdict.hash, v.blockHash, `${v.name} hash`);
    t.equal(Buffer.from(verdict.header ?? []).toString('hex'), v.header, `${v.name} header`);
    t.ok((verdict.shareDifficulty ?? 0) > 1, `${v.name} share difficulty`);
  }
});

t.test('version rolling: bits are ANDed into the job version; other bits change the hash', async (t) => {
  const ctx = ctxOf(ROLLED, 2 ** -32);
  const other = { ...submitOf(ROLLED), versionBits: '00002000' };
  const v = validateShare(storeWith(jobOf(ROLLED)), ctx, other);
  t.equal(v.status, 'accepted');
  t.equal(v.version, 0x20002000);
  t.not(v.hash, ROLLED.blockHash);
  const header = Buffer.from(v.header ?? []);
  t.equal(header.readUInt32LE(0), 0x20002000, 'header stores the rolled version little-endian');
});

t.test('every reject reason, each with its Stratum code', async (t) => {
  const v = GENESIS;
  const ctx = ctxOf(v);
  const good = submitOf(v);
  const cases: Array<[string, ShareSubmit, Partial<ShareContext>, string, number]> = [
    ['extranonce2 not hex', { ...good, extranonce2: 'zz000000' }, {}, 'malformed', 20],
    ['odd-length extranonce2', { ...good, extranonce2: '0000000' }, {}, 'malformed', 20],
    ['ntime too short', { ...good, ntime: 'abcdef' }, {}, 'malformed', 20],
    ['nonce not hex', { ...good, nonce: 'xyz12345' }, {}, 'malformed', 20],
    ['version bits too long', { ...good, versionBits: '000020000' }, { versionMask: 0x1fffe000 }, 'malformed', 20],
    ['unknown job', { ...good, jobId: 'nope' }, {}, 'unknown-job', 21],
    ['short extranonce2', { ...good, extranonce2: '000000' }, {}, 'bad-extranonce2-length', 20],
    ['long extranonce2', { ...good, extranonce2: '0000000000' }, {}, 'bad-extranonce2-length', 20],
    ['bits with no mask', { ...good, versionBits: '00002000' }, { versionMask: null }, 'bad-version-bits', 20],
    ['bits outside mask', { ...good, versionBits: '00001000' }, { versionMask: 0x1fffe000 }, 'bad-version-bits', 20],
    ['ntime before the job', { ...good, ntime: formatU32BE(Number.parseInt(v.stratum.ntime, 16) - 1) }, {}, 'ntime-out-of-range', 20],
    ['ntime past the window', { ...good, ntime: formatU32BE(Number.parseInt(v.stratum.ntime, 16) + 7201) }, {}, 'ntime-out-of-range', 20],
    ['low difficulty', { ...good, nonce: '00000000' }, { difficulty: 1e6 }, 'low-difficulty', 23],
  ];
  for (const [name, submit, over, reason, code] of cases) {
    const r = validateShare(storeWith(jobOf(v)), { ...ctx, ...over }, submit);
    t.equal(r.status, 'rejected', name);
    t.equal(r.valid ? undefined : r.reason, reason, `${name}: reason`);
    t.equal(r.valid ? undefined : r.code, code, `${name}: Stratum code`);
    t.ok(r.valid ? false : r.detail.length > 0, `${name}: detail`);
  }
  // low-difficulty still reports the hash and share difficulty it computed.
  const low = validateShare(storeWith(jobOf(v)), { ...ctx, difficulty: 1e6 }, { ...good, nonce: '00000000' });
  t.match(low.hash, /^[0-9a-f]{64}$/);
  t.ok((low.shareDifficulty ?? 1e6) < 1e6);
  // A hash that meets the network target is a block even above the share target (pools want blocks).
  const block = validateShare(storeWith(jobOf(v)), { ...ctx, difficulty: 1e6 }, good);
  t.equal(block.status, 'block');
});

t.test('stale after clean_jobs; unknown when never seen; duplicates per job', async (t) => {
  const v = GENESIS;
  const store = storeWith(jobOf(v, 'a'));
  const ctx = ctxOf(v, 2 ** -32);
  t.equal(validateShare(store, ctx, submitOf(v, 'a')).status, 'block');
  const dup = validateShare(store, ctx, { ...submitOf(v, 'a'), extranonce2: v.stratum.extranonce2.toUpperCase() });
  t.equal(dup.valid ? 'valid' : dup.reason, 'duplicate', 'same share with upper-case hex is a duplicate');
  t.equal(dup.valid ? 0 : dup.code, 22);
  const other = validateShare(store, ctx, { ...submitOf(v, 'a'), nonce: '00000001' });
  t.equal(other.status, 'accepted', 'another nonce on the same job is fine');

  const next = prepareJob({ ...jobOf(v, 'b'), ntime: 'ffffff00' });
  if (!next.ok) throw new Error('prepare');
  store.add(next.job, false);
  t.equal(validateShare(store, ctx, { ...submitOf(v, 'a'), nonce: '00000002' }).status, 'accepted', 'no clean_jobs: old job still live');
  store.add(next.job, true);
  const stale = validateShare(store, ctx, { ...submitOf(v, 'a'), nonce: '00000003' });
  t.equal(stale.valid ? 'valid' : stale.reason, 'stale-job');
  t.equal(stale.valid ? 0 : stale.code, 21);
  t.equal(validateShare(store, ctx, { ...submitOf(v, 'zz') }).valid ? 'valid' : 'unknown-job', 'unknown-job');
});

t.test('checks run in the documented order: the first failure is the reason', async (t) => {
  const v = GENESIS;
  const ctx = { ...ctxOf(v), versionMask: 0x1fffe000, difficulty: 1e9 };
  const base = { ...submitOf(v), nonce: '00000000' };
  const badLen = '00';
  const badBits = '00000001';
  const badTime = '00000000';
  const order: Array<[ShareSubmit, string]> = [
    [{ ...base, jobId: 'nope', extranonce2: 'zz' }, 'malformed'],
    [{ ...base, jobId: 'nope', extranonce2: badLen, versionBits: badBits, ntime: badTime }, 'unknown-job'],
    [{ ...base, extranonce2: badLen, versionBits: badBits, ntime: badTime }, 'bad-extranonce2-length'],
    [{ ...base, versionBits: badBits, ntime: badTime }, 'bad-version-bits'],
    [{ ...base, ntime: badTime }, 'ntime-out-of-range'],
  ];
  for (const [submit, reason] of order) {
    const r = validateShare(storeWith(jobOf(v)), ctx, submit);
    t.equal(r.valid ? 'valid' : r.reason, reason);
  }
  const store = storeWith(jobOf(v));
  t.equal(validateShare(store, ctx, base).valid ? 'valid' : 'low-difficulty', 'low-difficulty');
  const second = validateShare(store, ctx, base);
  t.equal(second.valid ? 'valid' : second.reason, 'duplicate', 'duplicate is checked before difficulty');
});

t.test('ntime window edges and a configured window', async (t) => {
  const v = GENESIS;
  const n = Number.parseInt(v.stratum.ntime, 16);
  const ctx = ctxOf(v, 2 ** -32);
  const at = (ntime: number, window?: number) =>
    validateShare(storeWith(jobOf(v)), { ...ctx, ntimeWindowSeconds: window }, { ...submitOf(v), ntime: formatU32BE(ntime) });
  t.ok(at(n).valid, 'ntime = job ntime');
  t.ok(at(n + 7200).valid, 'ntime = job ntime + 7200');
  t.notOk(at(n + 7201).valid);
  t.ok(at(n + 600, 600).valid);
  t.notOk(at(n + 601, 600).valid);
});

t.test('the reason table maps every reason to a Stratum code 20–25', async (t) => {
  t.same(Object.keys(REJECT_TABLE).sort(), [...REJECT_REASONS].sort());
  for (const r of REJECT_REASONS) {
    const [code, message, data] = stratumErrorFor(r);
    t.ok(code >= 20 && code <= 25, r);
    t.ok(message.length > 0);
    t.equal(data, null);
  }
  t.equal(REJECT_TABLE['stale-job'].code, 21);
  t.equal(REJECT_TABLE.duplicate.code, 22);
  t.equal(REJECT_TABLE['low-difficulty'].code, 23);
});

t.test('the job store stays bounded however long it runs', async (t) => {
  const v = GENESIS;
  const store = new JobStore({ maxJobs: 8, maxStaleIds: 16, maxSharesPerJob: 100 });
  const ctx = ctxOf(v, 2 ** -32);
  for (let i = 0; i < 1000; i++) {
    const p = prepareJob({ ...jobOf(v, `j${i}`), ntime: formatU32BE(0x495fab29 + i) });
    if (!p.ok) throw new Error('prepare');
    store.add(p.job, i % 10 === 0);
    for (let k = 0; k < 3; k++)
      validateShare(store, ctx, { ...submitOf(v, `j${i}`), ntime: formatU32BE(0x495fab29 + i), nonce: formatU32BE(k) });
  }
  const size = store.size;
  t.ok(size.live <= 8, `live jobs ${size.live} <= 8`);
  t.ok(size.stale <= 16, `stale ids ${size.stale} <= 16`);
  t.ok(size.shares <= 8 * 100, 'duplicate keys bounded');
  const one = storeWith(jobOf(v));
  for (let k = 0; k < 500; k++) validateShare(new JobStore(), ctx, submitOf(v)); // independent stores
  const small = new JobStore({ maxSharesPerJob: 100 });
  const p = prepareJob(jobOf(v));
  if (!p.ok) throw new Error('prepare');
  small.add(p.job, true);
  for (let k = 0; k < 500; k++) validateShare(small, ctx, { ...submitOf(v), nonce: formatU32BE(k) });
  t.equal(small.size.shares, 100, 'per-job duplicate set capped');
  t.equal(one.size.live, 1);
  t.equal(
    validateShare(small, ctx, { ...submitOf(v), nonce: formatU32BE(499) }).valid ? 'valid' : 'duplicate',
    'duplicate',
    'recent keys kept',
  );
  t.throws(() => new JobStore({ maxJobs: 0 }), RangeError);
});

t.test('re-sending a job id: same content keeps its duplicate set, new content replaces it', async (t) => {
  const v = GENESIS;
  const ctx = ctxOf(v, 2 ** -32);
  const store = storeWith(jobOf(v));
  t.ok(validateShare(store, ctx, submitOf(v)).valid);
  const same = prepareJob(jobOf(v));
  if (!same.ok) throw new Error('prepare');
  store.add(same.job, false);
  t.notOk(validateShare(store, ctx, submitOf(v)).valid, 'still a duplicate');
  const changed = prepareJob({ ...jobOf(v), coinb2: `${v.stratum.coinb2}00` });
  if (!changed.ok) throw new Error('prepare');
  store.add(changed.job, false);
  t.ok(validateShare(store, ctx, submitOf(v)).valid, 'new work, new set');
});

t.test('prepareJob names the bad field', async (t) => {
  const v = GENESIS;
  const cases: Array<[Partial<StratumJob>, string]> = [
    [{ prevhash: '00' }, 'job.prevhash'],
    [{ coinb1: 'abc' }, 'job.coinb1'],
    [{ coinb2: 'zz' }, 'job.coinb2'],
    [{ merkleBranch: ['00'] }, 'job.merkleBranch[0]'],
    [{ version: '1' }, 'job.version'],
    [{ nbits: '1d80ffff' }, 'job.nbits'],
    [{ nbits: '1d000000' }, 'job.nbits'],
    [{ ntime: 'xx' }, 'job.ntime'],
    [{ jobId: '' }, 'job.jobId'],
  ];
  for (const [over, field] of cases) {
    const r = prepareJob({ ...jobOf(v), ...over } as StratumJob);
    t.equal(r.ok ? 'ok' : r.error.field, field);
  }
  const r = prepareJob({ ...jobOf(v), nbits: '1d80ffff' });
  t.match(r.ok ? '' : r.error.message, /negative/);
});
