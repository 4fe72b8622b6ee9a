/**
 * Pool → proxy: the typed messages a Stratum V1 pool sends, one
 * parse/encode pair per method family, and the `PoolMessage` union.
 *
 * The proxy also encodes these towards its miners (it is their pool), so
 * every encoder writes the form the parser reads back (mirror).
 *
 * Facts (cgminer util.c parse_notify/parse_reconnect/initiate_stratum,
 * ESP-Miner stratum_api.c, ckpool stratifier.c, BIP 310):
 * - mining.notify has 9 params: job_id, prevhash (each 4-byte word
 *   byte-swapped), coinb1, coinb2, merkle_branch[], version, nbits, ntime
 *   (8 hex digits, big-endian), clean_jobs (boolean). cgminer reads
 *   clean_jobs with json_is_true (absent = false); extra params are ignored.
 * - mining.set_difficulty [difficulty]: a JSON number, may be fractional;
 *   cgminer ignores a value <= 0.
 * - mining.set_extranonce [extranonce1, extranonce2_size].
 * - mining.set_version_mask [mask] (BIP 310 TMask).
 * - client.reconnect [host?, port?, wait?]: cgminer accepts the port as a
 *   number or a string; empty params mean "same host and port".
 * - client.show_message [text]; client.get_version and mining.ping are
 *   requests (cgminer answers "cgminer/<version>" and "pong").
 * Responses to the proxy's own requests are typed in pool-results.ts.
 */

import {
  type CallParser,
  type DifficultyMessage,
  difficultyEncoder,
  difficultyParser,
  encodeCall,
  invalidParams,
  type NoParamsMessage,
  noParamsEncoder,
  noParamsParser,
  parseByMethod,
} from './calls.js';
import { type JsonValue, type RpcCall, type RpcEnvelope, type RpcId, type RpcResponse } from './json-rpc.js';
import {
  assertNever,
  type BytesHex,
  EXTRANONCE2_SIZE_LIMITS,
  formatMaskHex,
  isBytesHex,
  isExtranonce1,
  isExtranonce2Size,
  isShortString,
  MAX_EXTRANONCE1_BYTES,
  PEER_STRING_LIMITS,
  isU32HexBE,
  ok,
  type ParseResult,
  parseMaskHex,
  type ResponseResolver,
} from './messages.js';
import {
  type AuthorizeResultMessage,
  type ConfigureResultMessage,
  encodeAuthorizeResult,
  encodeConfigureResult,
  encodeOtherResult,
  encodeSubmitResult,
  encodeSubscribeResult,
  type PoolResponseMessage,
  parseAuthorizeResult,
  parseConfigureResult,
  parseOtherResult,
  parseSubmitResult,
  parseSubscribeResult,
  type SubmitResultMessage,
  type SubscribeResultMessage,
} from './pool-results.js';
import type { StratumJob } from './work-types.js';

// ----------------------------------------------------------------- types

export interface NotifyMessage {
  readonly type: 'notify';
  readonly id: RpcId;
  /** The job, every field as sent (prevhash word-swapped; version, nbits, ntime big-endian hex). */
  readonly job: StratumJob;
  readonly cleanJobs: boolean;
}

export type SetDifficultyMessage = DifficultyMessage<'set-difficulty'>;

export interface SetExtranonceMessage {
  readonly type: 'set-extranonce';
  readonly id: RpcId;
  readonly extranonce1: BytesHex;
  readonly extranonce2Size: number;
}

export interface SetVersionMaskMessage {
  readonly type: 'set-version-mask';
  readonly id: RpcId;
  /** u32 from the TMask (big-endian hex). */
  readonly mask: number;
}

export interface ReconnectMessage {
  readonly type: 'reconnect';
  readonly id: RpcId;
  /** null: the same host. */
  readonly host: string | null;
  /** null: the same port. */
  readonly port: number | null;
  /** Seconds to wait before reconnecting, or null. */
  readonly waitSeconds: number | null;
}

export interface ShowMessageMessage {
  readonly type: 'show-message';
  readonly id: RpcId;
  /** Free text from the pool: log it truncated, never trust it. */
  readonly message: string;
}

export type GetVersionMessage = NoParamsMessage<'get-version'>;

export type PoolPingMessage = NoParamsMessage<'ping'>;

export type PoolMessage =
  | NotifyMessage
  | SetDifficultyMessage
  | SetExtranonceMessage
  | SetVersionMaskMessage
  | ReconnectMessage
  | ShowMessageMessage
  | GetVersionMessage
  | PoolPingMessage
  | SubscribeResultMessage
  | AuthorizeResultMessage
  | SubmitResultMessage
  | ConfigureResultMessage
  | PoolResponseMessage;

export type PoolMessageType = PoolMessage['type'];

/** Stratum method of each call type. */
export const POOL_METHODS = Object.freeze({
  notify: 'mining.notify',
  'set-difficulty': 'mining.set_difficulty',
  'set-extranonce': 'mining.set_extranonce',
  'set-version-mask': 'mining.set_version_mask',
  reconnect: 'client.reconnect',
  'show-message': 'client.show_message',
  'get-version': 'client.get_version',
  ping: 'mining.ping',
} as const);

// -------------------------------------------------------------- helpers

/** A merkle branch longer than this would prove a block of over 2^32 transactions. */
export const MAX_MERKLE_BRANCH = 32;

// ------------------------------------------------------ method families

export function parseNotify(call: RpcCall): ParseResult<NotifyMessage> {
  const p = call.params;
  const bad = (m: string) => invalidParams<NotifyMessage>(call, m);
  const [jobId, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean] = p;
  if (typeof jobId !== 'string' || jobId.length === 0 || !isShortString(jobId)) {
    return bad(`job_id (param 0) must be a non-empty string of at most ${PEER_STRING_LIMITS.maxChars} characters`);
  }
  if (!isBytesHex(prevhash, 32)) return bad('prevhash (param 1) must be 64 hex digits');
  if (!isBytesHex(coinb1)) return bad('coinb1 (param 2) must be even-length hex');
  if (!isBytesHex(coinb2)) return bad('coinb2 (param 3) must be even-length hex');
  if (!Array.isArray(branch) || branch.length > MAX_MERKLE_BRANCH || !branch.every((h) => isBytesHex(h, 32))) {
    return bad(`merkle_branch (param 4) must be a list of at most ${MAX_MERKLE_BRANCH} 64-hex-digit hashes`);
  }
  if (!isU32HexBE(version)) return bad('version (param 5) must be 8 hex digits');
  if (!isU32HexBE(nbits)) return bad('nbits (param 6) must be 8 hex digits');
  if (!isU32HexBE(ntime)) return bad('ntime (param 7) must be 8 hex digits');
  if (clean !== undefined && typeof clean !== 'boolean') return bad('clean_jobs (param 8) must be a boolean');
  const job: StratumJob = { jobId, prevhash, coinb1, coinb2, merkleBranch: branch as string[], version, nbits, ntime };
  return ok({ type: 'notify', id: call.id, job, cleanJobs: clean === true });
}

export function encodeNotify(msg: NotifyMessage): string {
  const j = msg.job;
  return encodeCall(msg.id, POOL_METHODS.notify, [
    j.jobId,
    j.prevhash,
    j.coinb1,
    j.coinb2,
    j.merkleBranch,
    j.version,
    j.nbits,
    j.ntime,
    msg.cleanJobs,
  ]);
}

export const parseSetDifficulty = difficultyParser('set-difficulty');
export const encodeSetDifficulty = difficultyEncoder<SetDifficultyMessage>(POOL_METHODS['set-difficulty']);

export function parseSetExtranonce(call: RpcCall): ParseResult<SetExtranonceMessage> {
  const [en1, size] = call.params;
  if (!isExtranonce1(en1)) {
    return invalidParams(call, `extranonce1 (param 0) must be even-length hex of at most ${MAX_EXTRANONCE1_BYTES} bytes`);
  }
  if (!isExtranonce2Size(size)) {
    const { min, max } = EXTRANONCE2_SIZE_LIMITS;
    return invalidParams(call, `extranonce2_size (param 1) must be an integer ${min}–${max}`);
  }
  return ok({ type: 'set-extranonce', id: call.id, extranonce1: en1, extranonce2Size: size });
}

export function encodeSetExtranonce(msg: SetExtranonceMessage): string {
  return encodeCall(msg.id, POOL_METHODS['set-extranonce'], [msg.extranonce1, msg.extranonce2Size]);
}

export function parseSetVersionMask(call: RpcCall): ParseResult<SetVersionMaskMessage> {
  const mask = parseMaskHex(call.params[0]);
  if (mask === undefined) return invalidParams(call, 'mask (param 0) must be hex of a 32-bit mask');
  return ok({ type: 'set-version-mask', id: call.id, mask });
}

export function encodeSetVersionMask(msg: SetVersionMaskMessage): string {
  return encodeCall(msg.id, POOL_METHODS['set-version-mask'], [formatMaskHex(msg.mask)]);
}

function readPort(v: JsonValue | undefined): number | null | undefined {
  if (v === undefined || v === null || v === 0 || v === '') return null; // cgminer: 0 or missing = same port
  const n = typeof v === 'string' && /^[0-9]{1,5}$/.test(v) ? Number(v) : v;
  return Number.isInteger(n) && (n as number) >= 1 && (n as number) <= 65535 ? (n as number) : undefined;
}

export function parseReconnect(call: RpcCall): ParseResult<ReconnectMessage> {
  const [host, port, wait] = call.params;
  const bad = (m: string) => invalidParams<ReconnectMessage>(call, m);
  if (host !== undefined && host !== null && !isShortString(host)) return bad('host (param 0) must be a short string or null');
  const p = readPort(port);
  if (p === undefined) return bad('port (param 1) must be a port number (1–65535)');
  if (wait !== undefined && wait !== null && !(typeof wait === 'number' && Number.isFinite(wait) && wait >= 0)) {
    return bad('wait (param 2) must be a number of seconds >= 0');
  }
  return ok({ type: 'reconnect', id: call.id, host: host ? host : null, port: p, waitSeconds: wait ?? null });
}

export function encodeReconnect(msg: ReconnectMessage): string {
  const params: JsonValue[] = [msg.host, msg.port, msg.waitSeconds];
  while (params.length > 0 && params[params.length - 1] === null) params.pop();
  return encodeCall(msg.id, POOL_METHODS.reconnect, params);
}

export function parseShowMessage(call: RpcCall): ParseResult<ShowMessageMessage> {
  const m = call.params[0];
  if (typeof m !== 'string') return invalidParams(call, 'message (param 0) must be a string');
  return ok({ type: 'show-message', id: call.id, message: m });
}

export function encodeShowMessage(msg: ShowMessageMessage): string {
  return encodeCall(msg.id, POOL_METHODS['show-message'], [msg.message]);
}

export const parseGetVersion = noParamsParser('get-version');
export const encodeGetVersion = noParamsEncoder<GetVersionMessage>(POOL_METHODS['get-version']);

export const parsePoolPing = noParamsParser('ping');
export const encodePoolPing = noParamsEncoder<PoolPingMessage>(POOL_METHODS.ping);

/** Names a pool's response by the method of the proxy's request it answers. */
export function parsePoolResponse(res: RpcResponse, method: string | undefined): ParseResult<PoolMessage> {
  switch (method) {
    case 'mining.subscribe':
      return parseSubscribeResult(res);
    case 'mining.authorize':
      return parseAuthorizeResult(res);
    case 'mining.submit':
      return parseSubmitResult(res);
    case 'mining.configure':
      return parseConfigureResult(res);
    default:
      return parseOtherResult(res, method);
  }
}

// -------------------------------------------------------------- dispatch

/** The parser of each call a pool sends, by method. */
const POOL_PARSERS = new Map<string, CallParser<PoolMessage>>([
  [POOL_METHODS.notify, parseNotify],
  [POOL_METHODS['set-difficulty'], parseSetDifficulty],
  [POOL_METHODS['set-extranonce'], parseSetExtranonce],
  [POOL_METHODS['set-version-mask'], parseSetVersionMask],
  [POOL_METHODS.reconnect, parseReconnect],
  [POOL_METHODS['show-message'], parseShowMessage],
  [POOL_METHODS['get-version'], parseGetVersion],
  [POOL_METHODS.ping, parsePoolPing],
]);

/** Parses one line (or a classified envelope) from a pool; never throws (see parseByMethod). */
export function parsePoolMessage(input: string | RpcEnvelope, resolve?: ResponseResolver): ParseResult<PoolMessage> {
  return parseByMethod(input, POOL_PARSERS, parsePoolResponse, resolve);
}

/** Encodes any pool message as one line ending in "\n". */
export function encodePoolMessage(msg: PoolMessage): string {
  switch (msg.type) {
    case 'notify':
      return encodeNotify(msg);
    case 'set-difficulty':
      return encodeSetDifficulty(msg);
    case 'set-extranonce':
      return encodeSetExtranonce(msg);
    case 'set-version-mask':
      return encodeSetVersionMask(msg);
    case 'reconnect':
      return encodeReconnect(msg);
    case 'show-message':
      return encodeShowMessage(msg);
    case 'get-version':
      return encodeGetVersion(msg);
    case 'ping':
      return encodePoolPing(msg);
    case 'subscribe-result':
      return encodeSubscribeResult(msg);
    case 'authorize-result':
      return encodeAuthorizeResult(msg);
    case 'submit-result':
      return encodeSubmitResult(msg);
    case 'configure-result':
      return encodeConfigureResult(msg);
    case 'response':
      return encodeOtherResult(msg);
    default:
      return assertNever(msg, 'pool message');
  }
}
