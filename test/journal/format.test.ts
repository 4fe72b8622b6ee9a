import fc from 'fast-check';
import t from 'tap';
import {
  encodeRecord,
  JOURNAL_FORMAT_VERSION,
  type JournalRecord,
  LOCAL_VERDICTS,
  parseRecord,
  READABLE_VERSIONS,
  RECORD_TYPES,
  V1_RECORD_TYPES,
} from '../../src/journal/format.js';
import { REJECT_REASONS } from '../../src/protocol/stratum-errors.js';

const H64 = 'ab'.repeat(32);

const SAMPLES: Record<string, JournalRecord> = {
  hdr: {
    t: 'hdr',
    ts: 1,
    v: 2,
    sw: 'hashgate/0.1.0',
    lim: { maxJobs: 16, maxStaleIds: 256, maxSharesPerJob: 1000, ntimeWindow: 7200 },
    lm: 'aggregate',
  },
  sess: { t: 'sess', ts: 2, sid: 's1', w: 'rig1', en1: '0a0b0c0d', en2: 4, mask: '1fffe000', peer: '10.0.0.1:4028', pool: 'pool:3333' },
  job: {
    t: 'job',
    ts: 3,
    jk: 0,
    id: '1a',
    ph: H64,
    c1: '0100',
    c2: 'ffff',
    mb: [H64, H64],
    ver: '20000000',
    nb: '17034219',
    nt: '665a6480',
  },
  ntf: { t: 'ntf', ts: 4, sid: 's1', jk: 0, clean: true },
  share: {
    t: 'share',
    ts: 5,
    sid: 's1',
    w: 'rig1',
    jid: '1a',
    en2: '00000001',
    ntm: '665a6481',
    non: 'deadbeef',
    vb: '00002000',
    d: 2 ** -32,
    lv: 'accepted',
    h: H64,
    sd: 0.5,
    pv: 'rejected',
    pe: [23, 'Low difficulty share'],
  },
  end: { t: 'end', ts: 6, sid: 's1', why: 'bye' },
  lsh: {
    t: 'lsh',
    ts: 7,
    sid: 's1',
    w: 'rig1',
    jid: '1a',
    en2: '00000002',
    ntm: '665a6481',
    non: 'deadbeef',
    vb: '00002000',
    d: 2 ** -34,
    h: H64,
    sd: 0.5,
  },
  loc: { t: 'loc', ts: 10_000, sid: 's1', w: 'rig1', n: 3, d: 6.5, lo: 2, hi: 2.5, from: 7, to: 9_500 },
};

t.test('every record type round-trips through encode and parse', async (t) => {
  t.same(Object.keys(SAMPLES).sort(), [...RECORD_TYPES].sort());
  for (const rec of Object.values(SAMPLES)) {
    const line = encodeRecord(rec);
    t.notOk(line.includes('\n'), `${rec.t} is one line`);
    const r = parseRecord(line);
    t.ok(r.ok, `${rec.t} parses`);
    if (r.ok) t.same(r.record, rec);
  }
});

t.test('local verdicts are accepted, block and every reject reason', async (t) => {
  t.same(LOCAL_VERDICTS, ['accepted', 'block', ...REJECT_REASONS]);
});

t.test('share submit fields are kept whatever their type (the validator judges them)', async (t) => {
  const r = parseRecord(encodeRecord({ ...SAMPLES.share, non: 12345678, en2: null } as unknown as JournalRecord));
  t.ok(r.ok);
  if (r.ok && r.record.t === 'share') {
    t.equal(r.record.non, 12345678);
    t.equal(r.record.en2, null);
  }
});

const BAD: [string, Record<string, unknown>, string][] = [
  ['job', { ph: 'zz'.repeat(32) }, 'job.ph: must be 64 hex digits'],
  ['job', { ph: 'ab' }, 'job.ph: must be 64 hex digits'],
  ['job', { c1: 'abc' }, 'job.c1: must be even-length hex'],
  ['job', { mb: [H64, 'xy'] }, 'job.mb[1]: must be 64 hex digits'],
  ['job', { nb: '1703421' }, 'job.nb: must be 8 hex digits'],
  ['job', { jk: -1 }, 'job.jk: must be an integer'],
  ['job', { id: '' }, 'job.id: must be a non-empty string'],
  ['sess', { en1: 'xyz0' }, 'sess.en1: must be even-length hex'],
  ['sess', { en2: 4.5 }, 'sess.en2: must be an integer'],
  ['sess', { mask: 'fff' }, 'sess.mask: must be 8 hex digits'],
  ['sess', { sid: 7 }, 'sess.sid: must be a non-empty string'],
  ['ntf', { clean: 'yes' }, 'ntf.clean: must be true or false'],
  ['ntf', { jk: 'a' }, 'ntf.jk: must be an integer'],
  ['share', { d: 0 }, 'share.d: must be a number > 0'],
  ['share', { lv: 'great' }, 'share.lv: must be one of'],
  ['share', { pv: 'maybe' }, 'share.pv: must be one of'],
  ['share', { h: 'abc' }, 'share.h: must be 64 hex digits'],
  ['share', { pe: [23] }, 'share.pe: must be [code, "message"]'],
  ['share', { non: undefined }, 'share.non: is missing'],
  ['share', { ts: -5 }, 'share.ts: must be epoch milliseconds'],
  ['hdr', { v: 'one' }, 'hdr.v: must be an integer'],
  ['hdr', { lim: { maxJobs: 0 } }, 'hdr.lim.maxJobs: must be an integer'],
  ['end', { sid: '' }, 'end.sid: must be a non-empty string'],
  ['hdr', { lm: 'some' }, 'hdr.lm: must be one of aggregate, every, off'],
  ['lsh', { d: -1 }, 'lsh.d: must be a number > 0'],
  ['lsh', { lv: 'great' }, 'lsh.lv: must be one of'],
  ['lsh', { jid: undefined }, 'lsh.jid: is missing'],
  ['lsh', { h: 'abc' }, 'lsh.h: must be 64 hex digits'],
  ['loc', { n: -1 }, 'loc.n: must be an integer from 0'],
  ['loc', { n: 1.5 }, 'loc.n: must be an integer from 0'],
  ['loc', { d: -1 }, 'loc.d: must be a number >= 0'],
  ['loc', { from: 9_600 }, 'loc.to: must be epoch milliseconds >= from (9600)'],
  ['loc', { to: undefined }, 'loc.to: must be epoch milliseconds'],
  ['loc', { d: 5.9 }, 'loc.d: 5.9 is below n × lo (3 × 2)'],
  ['loc', { d: 7.6 }, 'loc.d: 7.6 is above n × hi (3 × 2.5)'],
  ['loc', { lo: 3 }, 'loc.hi: must be >= lo (3), got 2.5'],
  ['loc', { lo: 0 }, 'loc.lo: must be a number > 0'],
  ['loc', { n: 0, lo: undefined, hi: undefined }, 'loc.d: must be 0 when n is 0'],
  ['loc', { sid: '' }, 'loc.sid: must be a non-empty string'],
];

t.test('a bad field is named with its record type and key', async (t) => {
  for (const [type, patch, message] of BAD) {
    const r = parseRecord(JSON.stringify({ ...SAMPLES[type], ...patch }));
    t.notOk(r.ok, `${type} ${JSON.stringify(patch)} is refused`);
    if (!r.ok) {
      t.equal(r.kind, 'field');
      t.equal(r.code, 'HG_ERR_JOURNAL_RECORD');
      t.match(r.message, message);
    }
  }
});

t.test('v2 is written; v1 and v2 are read; a v1 segment has no local-only share records', async (t) => {
  t.equal(JOURNAL_FORMAT_VERSION, 2);
  t.same(READABLE_VERSIONS, [1, 2]);
  t.same(RECORD_TYPES, [...V1_RECORD_TYPES, 'loc', 'lsh']);
  for (const type of ['loc', 'lsh']) {
    const line = encodeRecord(SAMPLES[type]);
    t.ok(parseRecord(line).ok, `${type} is a v2 record`);
    t.ok(parseRecord(line, 2).ok, `${type} in a v2 segment`);
    const v1 = parseRecord(line, 1);
    t.notOk(v1.ok, `${type} in a v1 segment is refused`);
    if (!v1.ok) {
      t.equal(v1.kind, 'record-type');
      t.match(v1.message, `unknown record type "${type}" (v1 has hdr, sess, job, ntf, share, end)`);
    }
  }
  for (const type of V1_RECORD_TYPES) t.ok(parseRecord(encodeRecord(SAMPLES[type]), 1).ok, `${type} is still a v1 record`);
  const exact = parseRecord(encodeRecord({ ...SAMPLES.loc, n: 3, d: 0.3, lo: 0.1, hi: 0.1 } as JournalRecord));
  t.ok(exact.ok, 'n × lo ≤ d ≤ n × hi allows for floating-point sums (0.1 + 0.1 + 0.1 > 0.3)');
  const empty = parseRecord(encodeRecord({ t: 'loc', ts: 1, sid: 's', w: '', n: 0, d: 0, from: 1, to: 1 }));
  t.ok(empty.ok, 'an empty aggregate without lo / hi is well-formed');
});

t.test('not JSON, not an object, unknown type, empty line', async (t) => {
  const cases: [string, string, RegExp][] = [
    ['{"t":"share",', 'json', /not JSON/],
    ['[1,2]', 'json', /not an object/],
    ['', 'json', /empty line/],
    ['{"t":"bogus","ts":1}', 'record-type', /unknown record type "bogus"/],
    ['{"ts":1}', 'record-type', /unknown record type undefined/],
  ];
  for (const [line, kind, message] of cases) {
    const r = parseRecord(line);
    t.notOk(r.ok, JSON.stringify(line));
    if (!r.ok) {
      t.equal(r.kind, kind);
      t.match(r.message, message);
    }
  }
});

t.test('fuzz: parseRecord never throws', async (t) => {
  fc.assert(
    fc.property(fc.string(), (s) => {
      parseRecord(s);
    }),
    { numRuns: 2000 },
  );
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fc.constantFrom(...Object.values(SAMPLES)), fc.string(), fc.jsonValue(), (rec, key, value) => {
          parseRecord(JSON.stringify({ ...rec, [key]: value }));
          parseRecord(JSON.stringify({ ...rec, [Object.keys(rec)[1 + (key.length % (Object.keys(rec).length - 1))]]: value }));
        }),
        { numRuns: 2000 },
      ),
    'no throw',
  );
});
