/**
 * The journal format, version 2 (docs/journal.md is the contract); version 1
 * files are read too (v1 has neither `loc` nor `lsh` records).
 *
 * JSONL: one record per line, short keys, `t` names the record type. This
 * module only knows records: their types, how to encode one and how to
 * parse and check one line. It does no I/O and never throws on bad input;
 * a bad line comes back as a value naming the field.
 */

import { REJECT_REASONS, type RejectReason } from '../protocol/stratum-errors.js';
import type { ErrorCode } from '../util/errors.js';
import { isHex } from '../util/hex.js';
import { JOB_LIMITS } from '../work/job.js';

/** The format version this hashgate writes. */
export const JOURNAL_FORMAT_VERSION = 2;
/** Every format version this hashgate reads (it keeps reading every version it ever wrote). */
export const READABLE_VERSIONS: readonly number[] = [1, 2];

/** Record types of format v1. */
export const V1_RECORD_TYPES = ['hdr', 'sess', 'job', 'ntf', 'share', 'end'] as const;
/** Record types of the current format: v1's plus local-only shares, aggregated (`loc`) and one by one (`lsh`). */
export const RECORD_TYPES = [...V1_RECORD_TYPES, 'loc', 'lsh'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** How the writer journals local-only shares (header key `lm`): per-worker aggregates, each one, or not at all. */
export const LOCAL_SHARE_MODES = ['aggregate', 'every', 'off'] as const;
export type LocalShareMode = (typeof LOCAL_SHARE_MODES)[number];

/** The local verdict of a share: validateShare's status, or its reject reason. */
export const LOCAL_VERDICTS = ['accepted', 'block', ...REJECT_REASONS] as const;
export type LocalVerdict = 'accepted' | 'block' | RejectReason;

/** What the pool said, or why it said nothing. */
export const POOL_VERDICTS = ['accepted', 'rejected', 'not-sent', 'timeout', 'unknown'] as const;
export type PoolVerdict = (typeof POOL_VERDICTS)[number];

/**
 * The share-check parameters the live proxy used, so the audit can use the
 * same ones. Every key is optional; absent means the work core's default.
 */
export interface JournalLimits {
  /** JobStore maxJobs (live jobs per session). */
  readonly maxJobs?: number;
  /** JobStore maxStaleIds. */
  readonly maxStaleIds?: number;
  /** JobStore maxSharesPerJob (duplicate keys per job). */
  readonly maxSharesPerJob?: number;
  /** ShareContext ntimeWindowSeconds. */
  readonly ntimeWindow?: number;
}

/** First line of every file, and of every segment appended to an existing file. */
export interface HeaderRecord {
  readonly t: 'hdr';
  readonly ts: number;
  readonly v: number;
  /** "hashgate/<version>". */
  readonly sw: string;
  readonly lim?: JournalLimits;
  /** v2: how local-only shares are journaled in this segment; absent = not known (read as not every one). */
  readonly lm?: LocalShareMode;
}

/** A session opened, or its extranonce1 / extranonce2 size / mask changed. */
export interface SessionRecord {
  readonly t: 'sess';
  readonly ts: number;
  readonly sid: string;
  readonly w?: string;
  /** extranonce1, hex as sent in mining.subscribe / mining.set_extranonce. */
  readonly en1: string;
  /** extranonce2_size in bytes. */
  readonly en2: number;
  /** Negotiated BIP 310 version-rolling mask, 8 hex digits big-endian, or null. */
  readonly mask: string | null;
  readonly peer?: string;
  readonly pool?: string;
}

/** Job content (mining.notify fields, hex as on the wire), once per distinct content per segment. */
export interface JobRecord {
  readonly t: 'job';
  readonly ts: number;
  /** Segment-local integer key, referenced by ntf records. */
  readonly jk: number;
  readonly id: string;
  readonly ph: string;
  readonly c1: string;
  readonly c2: string;
  readonly mb: readonly string[];
  readonly ver: string;
  readonly nb: string;
  readonly nt: string;
}

/** Job jk was sent to session sid (mining.notify with clean_jobs = clean). */
export interface NotifyRecord {
  readonly t: 'ntf';
  readonly ts: number;
  readonly sid: string;
  readonly jk: number;
  readonly clean: boolean;
  /** Replay after rotation: the session already held this job before this segment. */
  readonly rp?: true;
  /** On a session's first replayed ntf only: job ids its store held as stale (oldest first). */
  readonly stale?: readonly string[];
}

/** One mining.submit with the local verdict and the pool's. */
export interface ShareRecord {
  readonly t: 'share';
  readonly ts: number;
  readonly sid: string;
  readonly w: string;
  /** Submit fields exactly as the miner sent them (normally strings; anything else re-validates as malformed). */
  readonly jid: unknown;
  readonly en2: unknown;
  readonly ntm: unknown;
  readonly non: unknown;
  readonly vb?: unknown;
  /** Pool difficulty in force. */
  readonly d: number;
  readonly lv: LocalVerdict;
  /** Display-order hash, 64 hex digits, when the share was hashed. */
  readonly h?: string;
  /** Share difficulty (diff1 / hash), when hashed. Informational. */
  readonly sd?: number;
  readonly pv: PoolVerdict;
  /** The pool's error [code, message] when it rejected the share. */
  readonly pe?: readonly [number, string];
}

/**
 * v2: one local-only share (valid at the local difficulty, below the pool's: answered by hashgate, never
 * forwarded), journaled on its own so the audit can re-validate it. No pool verdict: the pool never saw it.
 */
export interface LocalShareRecord {
  readonly t: 'lsh';
  readonly ts: number;
  readonly sid: string;
  readonly w: string;
  readonly jid: unknown;
  readonly en2: unknown;
  readonly ntm: unknown;
  readonly non: unknown;
  readonly vb?: unknown;
  /** The local difficulty the share was checked at. */
  readonly d: number;
  /** Local verdict; absent = "accepted" (the only verdict hashgate answers locally). */
  readonly lv?: LocalVerdict;
  readonly h?: string;
  readonly sd?: number;
}

/** v2: the local-only shares of one session and worker over a period, written when the period ends. */
export interface LocalAggregateRecord {
  readonly t: 'loc';
  /** When the aggregate was written (the period's end, a session end, a rotation or the close). */
  readonly ts: number;
  readonly sid: string;
  readonly w: string;
  /** Local-only shares counted. */
  readonly n: number;
  /** Sum of their local difficulties. */
  readonly d: number;
  /** Smallest and largest local difficulty among them (absent when n = 0). */
  readonly lo?: number;
  readonly hi?: number;
  /** ts of the first and of the last share counted. */
  readonly from: number;
  readonly to: number;
}

/** A session closed. */
export interface EndRecord {
  readonly t: 'end';
  readonly ts: number;
  readonly sid: string;
  readonly why?: string;
}

export type JournalRecord =
  HeaderRecord | SessionRecord | JobRecord | NotifyRecord | ShareRecord | EndRecord | LocalShareRecord | LocalAggregateRecord;

/** Problem kinds a line can have; the audit counts them. */
export type RecordProblemKind = 'json' | 'record-type' | 'field' | 'version';

export type ParseRecordResult =
  | { readonly ok: true; readonly record: JournalRecord }
  | { readonly ok: false; readonly kind: RecordProblemKind; readonly code: ErrorCode; readonly message: string };

/** Longest string field (session id, worker, peer, reasons) accepted. */
export const MAX_TEXT_FIELD = 1024;
/** Largest extranonce sizes accepted (bytes); real pools use 4–8. */
export const MAX_EXTRANONCE_BYTES = 32;

/** Encodes one record as a line (without the newline). Key order follows the object's. */
export function encodeRecord(record: JournalRecord): string {
  return JSON.stringify(record);
}

type Obj = Record<string, unknown>;

class FieldError {
  constructor(readonly message: string) {}
}

function bad(t: string, key: string, message: string): never {
  throw new FieldError(`${t}.${key}: ${message}`);
}

function text(o: Obj, t: string, key: string, optional = false): string | undefined {
  const v = o[key];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_TEXT_FIELD) {
    bad(t, key, v === undefined ? 'is missing' : `must be a non-empty string of at most ${MAX_TEXT_FIELD} characters`);
  }
  return v;
}

function int(o: Obj, t: string, key: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    bad(t, key, v === undefined ? 'is missing' : `must be an integer from ${min} to ${max}`);
  }
  return v;
}

function hex(o: Obj, t: string, key: string, bytes?: number, maxBytes = Number.POSITIVE_INFINITY): string {
  const v = o[key];
  if (!isHex(v, bytes) || v.length > maxBytes * 2) {
    if (v === undefined) bad(t, key, 'is missing');
    bad(t, key, bytes !== undefined ? `must be ${bytes * 2} hex digits` : `must be even-length hex of at most ${maxBytes} bytes`);
  }
  return v;
}

function oneOf<T extends string>(o: Obj, t: string, key: string, values: readonly T[]): T {
  const v = o[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    bad(t, key, v === undefined ? 'is missing' : `must be one of ${values.join(', ')}`);
  }
  return v as T;
}

function checkHeader(o: Obj): HeaderRecord {
  const v = o.v;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1) bad('hdr', 'v', 'must be an integer >= 1');
  text(o, 'hdr', 'sw');
  if (o.lim !== undefined) {
    if (o.lim === null || typeof o.lim !== 'object' || Array.isArray(o.lim)) bad('hdr', 'lim', 'must be an object');
    const lim = o.lim as Obj;
    for (const k of ['maxJobs', 'maxStaleIds', 'maxSharesPerJob', 'ntimeWindow'] as const) {
      if (lim[k] !== undefined) int(lim, 'hdr.lim', k, k === 'ntimeWindow' ? 0 : 1, 2 ** 32);
    }
  }
  if (o.lm !== undefined) oneOf(o, 'hdr', 'lm', LOCAL_SHARE_MODES);
  return o as unknown as HeaderRecord;
}

function checkSession(o: Obj): SessionRecord {
  text(o, 'sess', 'sid');
  text(o, 'sess', 'w', true);
  hex(o, 'sess', 'en1', undefined, MAX_EXTRANONCE_BYTES);
  int(o, 'sess', 'en2', 0, MAX_EXTRANONCE_BYTES);
  if (o.mask !== null && !isHex(o.mask, 4)) bad('sess', 'mask', 'must be 8 hex digits (big-endian) or null');
  text(o, 'sess', 'peer', true);
  text(o, 'sess', 'pool', true);
  return o as unknown as SessionRecord;
}

function checkJob(o: Obj): JobRecord {
  int(o, 'job', 'jk', 0, Number.MAX_SAFE_INTEGER);
  const id = o.id;
  if (typeof id !== 'string' || id.length === 0 || id.length > JOB_LIMITS.maxJobIdLength) {
    bad('job', 'id', `must be a non-empty string of at most ${JOB_LIMITS.maxJobIdLength} characters`);
  }
  hex(o, 'job', 'ph', 32);
  hex(o, 'job', 'c1', undefined, JOB_LIMITS.maxCoinbasePartBytes);
  hex(o, 'job', 'c2', undefined, JOB_LIMITS.maxCoinbasePartBytes);
  if (!Array.isArray(o.mb) || o.mb.length > JOB_LIMITS.maxBranchLevels) {
    bad('job', 'mb', `must be an array of at most ${JOB_LIMITS.maxBranchLevels} hashes`);
  }
  (o.mb as unknown[]).forEach((h, i) => {
    if (!isHex(h, 32)) bad('job', `mb[${i}]`, 'must be 64 hex digits');
  });
  hex(o, 'job', 'ver', 4);
  hex(o, 'job', 'nb', 4);
  hex(o, 'job', 'nt', 4);
  return o as unknown as JobRecord;
}

function checkNotify(o: Obj): NotifyRecord {
  text(o, 'ntf', 'sid');
  int(o, 'ntf', 'jk', 0, Number.MAX_SAFE_INTEGER);
  if (typeof o.clean !== 'boolean') bad('ntf', 'clean', 'must be true or false');
  if (o.rp !== undefined && o.rp !== true) bad('ntf', 'rp', 'must be true when present');
  if (o.stale !== undefined) {
    if (!Array.isArray(o.stale)) bad('ntf', 'stale', 'must be an array of job ids');
    for (const id of o.stale as unknown[]) {
      if (typeof id !== 'string') bad('ntf', 'stale', 'must be an array of job ids');
    }
  }
  return o as unknown as NotifyRecord;
}

/** What a `share` and an `lsh` record have alike: the submit as sent, the difficulty, the hash. */
function checkSubmitFields(o: Obj, t: 'share' | 'lsh'): void {
  text(o, t, 'sid');
  if (typeof o.w !== 'string' || o.w.length > MAX_TEXT_FIELD) bad(t, 'w', `must be a string of at most ${MAX_TEXT_FIELD} characters`);
  // Submit fields are kept exactly as the miner sent them: any JSON value, checked by the validator, not here.
  for (const k of ['jid', 'en2', 'ntm', 'non'] as const) if (o[k] === undefined) bad(t, k, 'is missing');
  const d = o.d;
  if (typeof d !== 'number' || !Number.isFinite(d) || d <= 0) bad(t, 'd', 'must be a number > 0');
  if (o.h !== undefined && !isHex(o.h, 32)) bad(t, 'h', 'must be 64 hex digits');
  if (o.sd !== undefined && (typeof o.sd !== 'number' || !(o.sd >= 0))) bad(t, 'sd', 'must be a number >= 0');
}

function checkShare(o: Obj): ShareRecord {
  checkSubmitFields(o, 'share');
  oneOf(o, 'share', 'lv', LOCAL_VERDICTS);
  oneOf(o, 'share', 'pv', POOL_VERDICTS);
  if (o.pe !== undefined) {
    const pe = o.pe;
    if (!Array.isArray(pe) || pe.length !== 2 || typeof pe[0] !== 'number' || typeof pe[1] !== 'string') {
      bad('share', 'pe', 'must be [code, "message"]');
    }
  }
  return o as unknown as ShareRecord;
}

function checkLocalShare(o: Obj): LocalShareRecord {
  checkSubmitFields(o, 'lsh');
  if (o.lv !== undefined) oneOf(o, 'lsh', 'lv', LOCAL_VERDICTS);
  return o as unknown as LocalShareRecord;
}

function positive(o: Obj, t: string, key: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) bad(t, key, v === undefined ? 'is missing' : 'must be a number > 0');
  return v;
}

/** Relative slack for sums of floating-point difficulties (n × lo ≤ d ≤ n × hi). */
const SUM_SLACK = 1e-9;

/** An aggregate's fields, and that they agree with each other: from ≤ to, lo ≤ hi, n × lo ≤ d ≤ n × hi. */
function checkLocalAggregate(o: Obj): LocalAggregateRecord {
  text(o, 'loc', 'sid');
  if (typeof o.w !== 'string' || o.w.length > MAX_TEXT_FIELD) bad('loc', 'w', `must be a string of at most ${MAX_TEXT_FIELD} characters`);
  const n = int(o, 'loc', 'n', 0, Number.MAX_SAFE_INTEGER);
  const d = o.d;
  if (typeof d !== 'number' || !Number.isFinite(d) || d < 0) bad('loc', 'd', 'must be a number >= 0');
  const from = o.from;
  const to = o.to;
  if (typeof from !== 'number' || !Number.isFinite(from) || from < 0) bad('loc', 'from', 'must be epoch milliseconds >= 0');
  if (typeof to !== 'number' || !Number.isFinite(to) || to < from) bad('loc', 'to', `must be epoch milliseconds >= from (${from})`);
  if (n === 0 && d !== 0) bad('loc', 'd', `must be 0 when n is 0, got ${d}`);
  const lo = o.lo === undefined ? undefined : positive(o, 'loc', 'lo');
  const hi = o.hi === undefined ? undefined : positive(o, 'loc', 'hi');
  if (lo !== undefined && hi !== undefined && lo > hi) bad('loc', 'hi', `must be >= lo (${lo}), got ${hi}`);
  if (lo !== undefined && d < n * lo * (1 - SUM_SLACK)) bad('loc', 'd', `${d} is below n × lo (${n} × ${lo})`);
  if (hi !== undefined && d > n * hi * (1 + SUM_SLACK)) bad('loc', 'd', `${d} is above n × hi (${n} × ${hi})`);
  return o as unknown as LocalAggregateRecord;
}

function checkEnd(o: Obj): EndRecord {
  text(o, 'end', 'sid');
  if (o.why !== undefined && typeof o.why !== 'string') bad('end', 'why', 'must be a string');
  return o as unknown as EndRecord;
}

/** The record types of a format version (v1 has no local-only share records). */
export function recordTypesOf(version: number): readonly RecordType[] {
  return version === 1 ? V1_RECORD_TYPES : RECORD_TYPES;
}

function checkTyped(o: Obj, t: RecordType): JournalRecord {
  switch (t) {
    case 'share':
      return checkShare(o);
    case 'lsh':
      return checkLocalShare(o);
    case 'ntf':
      return checkNotify(o);
    case 'loc':
      return checkLocalAggregate(o);
    case 'job':
      return checkJob(o);
    case 'sess':
      return checkSession(o);
    case 'end':
      return checkEnd(o);
    case 'hdr':
      return checkHeader(o);
  }
}

/**
 * Checks a decoded value as a record of format `version` (default the current one): a record type
 * that version does not have (`loc` or `lsh` in a v1 segment) is an unknown type.
 */
export function checkRecord(value: unknown, version = JOURNAL_FORMAT_VERSION): ParseRecordResult {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return { ok: false, kind: 'json', code: 'HG_ERR_JOURNAL_RECORD', message: 'line is JSON but not an object' };
  }
  const o = value as Obj;
  const t = o.t;
  const types = recordTypesOf(version);
  if (typeof t !== 'string' || !(types as readonly string[]).includes(t)) {
    const v = version === 1 ? 1 : JOURNAL_FORMAT_VERSION;
    return {
      ok: false,
      kind: 'record-type',
      code: 'HG_ERR_JOURNAL_RECORD',
      message: `unknown record type ${JSON.stringify(t)?.slice(0, 40) ?? 'undefined'} (v${v} has ${types.join(', ')})`,
    };
  }
  try {
    const ts = o.ts;
    if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) bad(t, 'ts', 'must be epoch milliseconds >= 0');
    return { ok: true, record: checkTyped(o, t as RecordType) };
  } catch (e) {
    if (e instanceof FieldError) return { ok: false, kind: 'field', code: 'HG_ERR_JOURNAL_RECORD', message: e.message };
    throw e;
  }
}

/** Parses and checks one line (without its newline) as a record of format `version`. Never throws. */
export function parseRecord(line: string, version = JOURNAL_FORMAT_VERSION): ParseRecordResult {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    const why = line.trim().length === 0 ? 'empty line' : `not JSON (${(e as Error).message})`;
    return { ok: false, kind: 'json', code: 'HG_ERR_JOURNAL_RECORD', message: why };
  }
  return checkRecord(value, version);
}
