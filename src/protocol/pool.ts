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
  encodeNotification,
  encodeRequest,
  type JsonValue,
  type RpcCall,
  type RpcEnvelope,
  type RpcId,
  type RpcResponse,
} from './json-rpc.js';
import {
  assertNever,
  type BytesHex,
  EXTRANONCE2_SIZE_LIMITS,
  envelopeOf,
  fail,
  formatMaskHex,
  isBytesHex,
  isExtranonce1,
  isExtranonce2Size,
  isShortString,
  MAX_EXTRANONCE1_BYTES,
  PEER_STRING_LIMITS,
  isPositiveNumber,
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

export interface SetDifficultyMessage {
  readonly type: 'set-difficulty';
  readonly id: RpcId;
  readonly difficulty: number;
}

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

export interface GetVersionMessage {
  readonly type: 'get-version';
  readonly id: RpcId;
}

export interface PoolPingMessage {
  readonly type: 'ping';
  readonly id: RpcId;
}

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

function encodeCall(id: RpcId, method: string, params: readonly JsonValue[]): string {
  return id === null ? encodeNotification(method, params) : encodeRequest(id, method, params);
}

/** A merkle branch longer than this would prove a block of over 2^32 transactions. */
export const MAX_MERKLE_BRANCH = 32;

// ------------------------------------------------------ method families

export function parseNotify(call: RpcCall): ParseResult<NotifyMessage> {
  const p = call.params;
  const bad = (m: string) => fail<NotifyMessage>('invalid-params', m, call.id, call.method);
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

export function parseSetDifficulty(call: RpcCall): ParseResult<SetDifficultyMessage> {
  const d = call.params[0];
  if (!isPositiveNumber(d)) return fail('invalid-params', 'difficulty (param 0) must be a number > 0', call.id, call.method);
  return ok({ type: 'set-difficulty', id: call.id, difficulty: d });
}

export function encodeSetDifficulty(msg: SetDifficultyMessage): string {
  return encodeCall(msg.id, POOL_METHODS['set-difficulty'], [msg.difficulty]);
}

export function parseSetExtranonce(call: RpcCall): ParseResult<SetExtranonceMessage> {
  const [en1, size] = call.params;
  if (!isExtranonce1(en1)) {
    return fail(
      'invalid-params',
      `extranonce1 (param 0) must be even-length hex of at most ${MAX_EXTRANONCE1_BYTES} bytes`,
      call.id,
      call.method,
    );
  }
  if (!isExtranonce2Size(size)) {
    const { min, max } = EXTRANONCE2_SIZE_LIMITS;
    return fail('invalid-params', `extranonce2_size (param 1) must be an integer ${min}–${max}`, call.id, call.method);
  }
  return ok({ type: 'set-extranonce', id: call.id, extranonce1: en1, extranonce2Size: size });
}

export function encodeSetExtranonce(msg: SetExtranonceMessage): string {
  return encodeCall(msg.id, POOL_METHODS['set-extranonce'], [msg.extranonce1, msg.extranonce2Size]);
}

export function parseSetVersionMask(call: RpcCall): ParseResult<SetVersionMaskMessage> {
  const mask = parseMaskHex(call.params[0]);
  if (mask === undefined) return fail('invalid-params', 'mask (param 0) must be hex of a 32-bit mask', call.id, call.method);
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
  const bad = (m: string) => fail<ReconnectMessage>('invalid-params', m, call.id, call.method);
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
  if (typeof m !== 'string') return fail('invalid-params', 'message (param 0) must be a string', call.id, call.method);
  return ok({ type: 'show-message', id: call.id, message: m });
}

export function encodeShowMessage(msg: ShowMessageMessage): string {
  return encodeCall(msg.id, POOL_METHODS['show-message'], [msg.message]);
}

export function parseGetVersion(call: RpcCall): ParseResult<GetVersionMessage> {
  return ok({ type: 'get-version', id: call.id });
}

export function encodeGetVersion(msg: GetVersionMessage): string {
  return encodeCall(msg.id, POOL_METHODS['get-version'], []);
}

export function parsePoolPing(call: RpcCall): ParseResult<PoolPingMessage> {
  return ok({ type: 'ping', id: call.id });
}

export function encodePoolPing(msg: PoolPingMessage): string {
  return encodeCall(msg.id, POOL_METHODS.ping, []);
}

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

/**
 * Parses one line (or a classified envelope) from a pool. Never throws.
 * Responses are named through `resolve` (id → method of the proxy's pending
 * request). An unknown method is an error of kind "unknown-method".
 */
export function parsePoolMessage(input: string | RpcEnvelope, resolve?: ResponseResolver): ParseResult<PoolMessage> {
  const e = envelopeOf<PoolMessage>(input);
  if ('result' in e) return e.result;
  const env = e.env;
  if (env.kind === 'response') return parsePoolResponse(env, resolve?.(env.id));
  switch (env.method) {
    case POOL_METHODS.notify:
      return parseNotify(env);
    case POOL_METHODS['set-difficulty']:
      return parseSetDifficulty(env);
    case POOL_METHODS['set-extranonce']:
      return parseSetExtranonce(env);
    case POOL_METHODS['set-version-mask']:
      return parseSetVersionMask(env);
    case POOL_METHODS.reconnect:
      return parseReconnect(env);
    case POOL_METHODS['show-message']:
      return parseShowMessage(env);
    case POOL_METHODS['get-version']:
      return parseGetVersion(env);
    case POOL_METHODS.ping:
      return parsePoolPing(env);
    default:
      return fail('unknown-method', env.method, env.id, env.method);
  }
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
