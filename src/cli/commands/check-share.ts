/**
 * `hashgate check-share`: the verdict on one share, given as JSON shaped like
 * the Stratum messages it came from (see docs/cli.md).
 */

import { readFile } from 'node:fs/promises';
import { HashgateError } from '../../util/errors.js';
import { encodeHex, isHex, parseU32BE } from '../../util/hex.js';
import { JobStore, prepareJob, type ShareContext, type ShareSubmit, type StratumJob, validateShare } from '../../work/index.js';
import { ExitCode } from '../exit-codes.js';
import { type CommandIO, readAll } from '../io.js';

/** A check-share request is one small JSON object; refuse anything absurd. */
const MAX_INPUT_BYTES = 1024 * 1024;

export interface CheckShareInput {
  readonly ctx: ShareContext;
  readonly job: StratumJob;
  readonly submit: ShareSubmit;
}

export interface CheckShareOutput {
  readonly valid: boolean;
  readonly reason: string | null;
  readonly detail: string | null;
  readonly hash: string | null;
  readonly header: string | null;
  readonly shareDifficulty: number | null;
  readonly blockCandidate: boolean;
}

type Obj = Record<string, unknown>;

function field(code: 'HG_ERR_INPUT_FIELD', path: string, message: string): never {
  throw new HashgateError(code, `${path}: ${message}`, { field: path });
}

function obj(v: unknown, path: string): Obj {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) field('HG_ERR_INPUT_FIELD', path, 'must be an object');
  return v as Obj;
}

function hexField(o: Obj, key: string, path: string, bytes?: number): string {
  const v = o[key];
  if (v === undefined) field('HG_ERR_INPUT_FIELD', path, 'is missing');
  if (!isHex(v, bytes)) {
    field('HG_ERR_INPUT_FIELD', path, bytes === undefined ? 'must be an even-length hex string' : `must be ${bytes * 2} hex digits`);
  }
  return v;
}

/**
 * Checks the shape of a check-share request. Every field problem is an
 * HG_ERR_INPUT_FIELD naming the field; share-level problems a miner could
 * cause (wrong extranonce2 length, bits outside the mask…) are left to the
 * validator, which answers them as verdicts.
 */
export function parseCheckShareInput(value: unknown): CheckShareInput {
  const root = obj(value, '(root)');
  const extranonce1 = hexField(root, 'extranonce1', 'extranonce1');
  const size = root.extranonce2Size;
  if (!Number.isInteger(size) || (size as number) < 1 || (size as number) > 32) {
    field('HG_ERR_INPUT_FIELD', 'extranonce2Size', 'must be an integer from 1 to 32');
  }
  let versionMask: number | null = null;
  if (root.versionMask !== undefined && root.versionMask !== null) {
    const m = parseU32BE(root.versionMask);
    if (m === undefined) field('HG_ERR_INPUT_FIELD', 'versionMask', 'must be 8 hex digits (big-endian), e.g. "1fffe000"');
    versionMask = m;
  }
  const difficulty = root.difficulty;
  if (typeof difficulty !== 'number' || !Number.isFinite(difficulty) || difficulty <= 0) {
    field('HG_ERR_INPUT_FIELD', 'difficulty', 'must be a number > 0 (pool difficulty; fractions allowed)');
  }
  const j = obj(root.job, 'job');
  if (typeof j.jobId !== 'string' || j.jobId.length === 0) field('HG_ERR_INPUT_FIELD', 'job.jobId', 'must be a non-empty string');
  if (!Array.isArray(j.merkleBranch)) field('HG_ERR_INPUT_FIELD', 'job.merkleBranch', 'must be an array of 64-hex-digit hashes');
  const branch = (j.merkleBranch as unknown[]).map((h, i) => {
    if (!isHex(h, 32)) field('HG_ERR_INPUT_FIELD', `job.merkleBranch[${i}]`, 'must be 64 hex digits');
    return h;
  });
  const job: StratumJob = {
    jobId: j.jobId,
    prevhash: hexField(j, 'prevhash', 'job.prevhash', 32),
    coinb1: hexField(j, 'coinb1', 'job.coinb1'),
    coinb2: hexField(j, 'coinb2', 'job.coinb2'),
    merkleBranch: branch,
    version: hexField(j, 'version', 'job.version', 4),
    nbits: hexField(j, 'nbits', 'job.nbits', 4),
    ntime: hexField(j, 'ntime', 'job.ntime', 4),
  };
  const s = obj(root.submit, 'submit');
  // Submit fields are checked for type only: bad hex or lengths there are the share's fault (verdict "malformed").
  for (const k of ['extranonce2', 'ntime', 'nonce'] as const) {
    if (typeof s[k] !== 'string') field('HG_ERR_INPUT_FIELD', `submit.${k}`, 'must be a hex string');
  }
  if (s.versionBits !== undefined && s.versionBits !== null && typeof s.versionBits !== 'string') {
    field('HG_ERR_INPUT_FIELD', 'submit.versionBits', 'must be a hex string when present');
  }
  const submit: ShareSubmit = {
    jobId: typeof s.jobId === 'string' ? s.jobId : job.jobId,
    extranonce2: s.extranonce2 as string,
    ntime: s.ntime as string,
    nonce: s.nonce as string,
    versionBits: (s.versionBits as string | undefined) ?? undefined,
  };
  return { ctx: { extranonce1, extranonce2Size: size as number, versionMask, difficulty }, job, submit };
}

/** Runs the check. The job is prepared on its own (a bad job is the input's fault, exit 2). */
export function checkShare(input: CheckShareInput): CheckShareOutput {
  const prepared = prepareJob(input.job);
  if (!prepared.ok) field('HG_ERR_INPUT_FIELD', prepared.error.field, prepared.error.message);
  const store = new JobStore({ maxJobs: 1 });
  store.add(prepared.job, true);
  const v = validateShare(store, input.ctx, input.submit);
  return {
    valid: v.valid,
    reason: v.valid ? null : v.reason,
    detail: v.valid ? null : v.detail,
    hash: v.hash ?? null,
    header: v.header ? encodeHex(v.header) : null,
    shareDifficulty: v.shareDifficulty ?? null,
    blockCandidate: v.status === 'block',
  };
}

/** `hashgate check-share`: main() calls this only for a valid command line. */
export async function run(args: Record<string, unknown>, io: CommandIO): Promise<number> {
  let text: string;
  const file = args.file as string | undefined;
  try {
    text = file !== undefined && file !== '-' ? await readFile(file, 'utf8') : await readAll(io.stdin, MAX_INPUT_BYTES);
  } catch (e) {
    io.stderr.write(`hashgate check-share: cannot read ${file ?? 'stdin'}: ${(e as Error).message} [HG_ERR_INPUT_READ]\n`);
    return ExitCode.Usage;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    io.stderr.write(`hashgate check-share: input is not valid JSON: ${(e as Error).message} [HG_ERR_INPUT_JSON]\n`);
    return ExitCode.Usage;
  }
  let out: CheckShareOutput;
  try {
    out = checkShare(parseCheckShareInput(value));
  } catch (e) {
    if (e instanceof HashgateError) {
      io.stderr.write(`hashgate check-share: ${e.message} [${e.code}]\n`);
      return ExitCode.Usage;
    }
    throw e;
  }
  io.stdout.write(`${JSON.stringify(out, null, args.compact ? undefined : 2)}\n`);
  return out.valid ? ExitCode.Ok : ExitCode.Negative;
}
