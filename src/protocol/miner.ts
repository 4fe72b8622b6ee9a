/**
 * Miner → proxy: the typed messages an ASIC (or any Stratum V1 client)
 * sends, one parse/encode pair per method family, and the `MinerMessage`
 * union over them.
 *
 * The proxy also encodes these when it speaks to its pool as a client, so
 * every encoder writes the form the parser reads back (mirror).
 *
 * Param shapes (facts from cgminer util.c, ESP-Miner stratum_api.c, ckpool
 * stratifier.c, BIP 310):
 * - mining.subscribe [user_agent?, session_id?]: cgminer sends ["cgminer/4.x"]
 *   or ["cgminer/4.x", "<session id>"] to resume, or [] on a retry; extra
 *   params (some clients add host and port) are ignored.
 * - mining.authorize [user, password]: ckpool accepts a missing password.
 * - mining.configure [extensions, extension-parameters] (BIP 310): e.g.
 *   [["version-rolling"], {"version-rolling.mask": "1fffe000",
 *   "version-rolling.min-bit-count": 2}]; cgminer and ESP-Miner send only the
 *   mask ("ffffffff"); a missing mask means "ffffffff".
 * - mining.submit [worker, job_id, extranonce2, ntime, nonce, version_bits?]:
 *   ntime, nonce and version_bits are 8 hex digits, big-endian; version_bits
 *   is the 6th param once version rolling is on (BIP 310).
 * - mining.suggest_difficulty [difficulty], mining.extranonce.subscribe [],
 *   mining.ping [].
 * Hex contents of a submit are not checked here: validateShare rejects a
 * malformed share as a value (reason "malformed") so it is journaled.
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
import {
  encodeErrorResponse,
  encodeResponse,
  type JsonValue,
  type RpcCall,
  type RpcEnvelope,
  type RpcId,
  type RpcResponse,
} from './json-rpc.js';
import {
  assertNever,
  formatMaskHex,
  isObjectValue,
  isShortString,
  ok,
  type ParseResult,
  parseMaskHex,
  type ResponseResolver,
  readStrings,
} from './messages.js';
import type { ShareSubmit } from './work-types.js';

// ----------------------------------------------------------------- types

export interface SubscribeMessage {
  readonly type: 'subscribe';
  readonly id: RpcId;
  readonly userAgent: string | null;
  /** Session id from an earlier subscribe result, sent to resume (cgminer). */
  readonly sessionId: string | null;
}

export interface AuthorizeMessage {
  readonly type: 'authorize';
  readonly id: RpcId;
  readonly user: string;
  /** null when the miner sent none. Secret: never log it. */
  readonly password: string | null;
}

/** BIP 310 "version-rolling" request parameters. */
export interface VersionRollingRequest {
  /** Bits the miner can roll: u32 from "version-rolling.mask" (TMask, big-endian hex; default ffffffff). */
  readonly mask: number;
  /** "version-rolling.min-bit-count", or null when absent or not an integer. Diagnostic only (BIP 310). */
  readonly minBitCount: number | null;
}

export interface ConfigureMessage {
  readonly type: 'configure';
  readonly id: RpcId;
  /** Extension codes hashgate knows (CONFIGURE_EXTENSIONS), each once, in the miner's order; others are dropped. */
  readonly extensions: readonly string[];
  /** Present when "version-rolling" is among the extensions. */
  readonly versionRolling: VersionRollingRequest | null;
  /** The other known extensions' parameters that passed their checks (keys like "minimum-difficulty.value"). */
  readonly parameters: { readonly [key: string]: JsonValue };
}

export interface SubmitMessage {
  readonly type: 'submit';
  readonly id: RpcId;
  readonly worker: string;
  /** jobId, extranonce2 (bytes hex), ntime/nonce/versionBits (8 hex digits, big-endian), as sent. */
  readonly share: ShareSubmit;
}

export type SuggestDifficultyMessage = DifficultyMessage<'suggest-difficulty'>;

export type ExtranonceSubscribeMessage = NoParamsMessage<'extranonce-subscribe'>;

export type MinerPingMessage = NoParamsMessage<'ping'>;

/** The miner's answer to client.get_version (cgminer answers "cgminer/4.x"). */
export interface VersionResultMessage {
  readonly type: 'version-result';
  readonly id: RpcId;
  /** null when the result is not a string. */
  readonly version: string | null;
  /** The error member as sent (null when none). */
  readonly error: JsonValue;
}

/** The miner's answer to mining.ping (cgminer answers "pong"). */
export interface PongMessage {
  readonly type: 'pong';
  readonly id: RpcId;
  readonly result: JsonValue;
  readonly error: JsonValue;
}

/** A response the resolver could not name: passed up as is. */
export interface MinerResponseMessage {
  readonly type: 'response';
  readonly id: RpcId;
  /** The method the resolver named, or null. */
  readonly method: string | null;
  readonly result: JsonValue;
  readonly error: JsonValue;
}

export type MinerMessage =
  | SubscribeMessage
  | AuthorizeMessage
  | ConfigureMessage
  | SubmitMessage
  | SuggestDifficultyMessage
  | ExtranonceSubscribeMessage
  | MinerPingMessage
  | VersionResultMessage
  | PongMessage
  | MinerResponseMessage;

export type MinerMessageType = MinerMessage['type'];

/** Stratum method of each call type. */
export const MINER_METHODS = Object.freeze({
  subscribe: 'mining.subscribe',
  authorize: 'mining.authorize',
  configure: 'mining.configure',
  submit: 'mining.submit',
  'suggest-difficulty': 'mining.suggest_difficulty',
  'extranonce-subscribe': 'mining.extranonce.subscribe',
  ping: 'mining.ping',
} as const);

// -------------------------------------------------------------- helpers

function encodeReply(id: RpcId, result: JsonValue, error: JsonValue): string {
  return error === null ? encodeResponse(id, result) : encodeErrorResponse(id, error, result);
}

const VR = 'version-rolling';
const VR_MASK = 'version-rolling.mask';
const VR_MIN_BITS = 'version-rolling.min-bit-count';

// ------------------------------------------------------ method families

export function parseSubscribe(call: RpcCall): ParseResult<SubscribeMessage> {
  const r = readStrings(call.params, [], ['user agent', 'session id']);
  if (!r.ok) return invalidParams(call, r.message);
  const [userAgent, sessionId] = r.value.optional;
  return ok({ type: 'subscribe', id: call.id, userAgent, sessionId });
}

/** The params of a subscribe as hashgate sends it: [user agent, session id], trailing nulls left out. */
export function subscribeParams(msg: Pick<SubscribeMessage, 'userAgent' | 'sessionId'>): JsonValue[] {
  const params: JsonValue[] = [];
  if (msg.userAgent !== null || msg.sessionId !== null) params.push(msg.userAgent);
  if (msg.sessionId !== null) params.push(msg.sessionId);
  return params;
}

export function encodeSubscribe(msg: SubscribeMessage): string {
  return encodeCall(msg.id, MINER_METHODS.subscribe, subscribeParams(msg));
}

export function parseAuthorize(call: RpcCall): ParseResult<AuthorizeMessage> {
  const r = readStrings(call.params, ['user'], ['password']);
  if (!r.ok) return invalidParams(call, r.message);
  return ok({ type: 'authorize', id: call.id, user: r.value.required[0], password: r.value.optional[0] });
}

/** [user] or [user, password]. */
export function authorizeParams(msg: Pick<AuthorizeMessage, 'user' | 'password'>): JsonValue[] {
  return msg.password === null ? [msg.user] : [msg.user, msg.password];
}

export function encodeAuthorize(msg: AuthorizeMessage): string {
  return encodeCall(msg.id, MINER_METHODS.authorize, authorizeParams(msg));
}

/** Checks one extension parameter's value. */
type ParamCheck = (v: JsonValue) => boolean;

/**
 * The BIP 310 extensions hashgate passes on to its pool, with the parameters
 * each takes and how each is checked. Any other extension, parameter or
 * value a miner sends in mining.configure is dropped here: it never reaches
 * the pool, so nothing a miner makes up is re-encoded upstream.
 * ("version-rolling.mask" / "min-bit-count" are read into versionRolling.)
 */
export const CONFIGURE_EXTENSIONS: Readonly<Record<string, Readonly<Record<string, ParamCheck>>>> = Object.freeze({
  [VR]: {},
  'minimum-difficulty': { 'minimum-difficulty.value': (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0 },
  'subscribe-extranonce': {},
  info: {
    'info.connection-url': isShortString,
    'info.hw-version': isShortString,
    'info.sw-version': isShortString,
    'info.hw-id': isShortString,
  },
});

export function parseConfigure(call: RpcCall): ParseResult<ConfigureMessage> {
  const [exts, rawParams] = call.params;
  if (!Array.isArray(exts) || !exts.every((e) => typeof e === 'string' && e.length > 0)) {
    return invalidParams(call, 'extensions (param 0) must be a list of extension codes');
  }
  if (rawParams !== undefined && rawParams !== null && !isObjectValue(rawParams)) {
    return invalidParams(call, 'extension parameters (param 1) must be an object');
  }
  // Known extensions only, each once, in the miner's order.
  const extensions = [...new Set(exts as string[])].filter((e) => Object.hasOwn(CONFIGURE_EXTENSIONS, e));
  const all = rawParams ?? {};
  let versionRolling: VersionRollingRequest | null = null;
  const parameters: { [key: string]: JsonValue } = {};
  for (const ext of extensions) {
    for (const [key, check] of Object.entries(CONFIGURE_EXTENSIONS[ext]!)) {
      if (Object.hasOwn(all, key) && check(all[key]!)) parameters[key] = all[key]!;
    }
  }
  if (extensions.includes(VR)) {
    const rawMask = Object.hasOwn(all, VR_MASK) ? all[VR_MASK] : 'ffffffff';
    const mask = parseMaskHex(rawMask);
    if (mask === undefined) return invalidParams(call, `${VR_MASK} must be hex of a 32-bit mask`);
    const bits = Object.hasOwn(all, VR_MIN_BITS) ? all[VR_MIN_BITS] : null;
    const minBitCount = typeof bits === 'number' && Number.isInteger(bits) && bits >= 0 && bits <= 32 ? bits : null;
    versionRolling = { mask, minBitCount };
  }
  return ok({ type: 'configure', id: call.id, extensions, versionRolling, parameters });
}

/** [extensions, parameters]: only what parseConfigure kept, the mask written as 8 hex digits. */
export function configureParams(msg: Pick<ConfigureMessage, 'extensions' | 'versionRolling' | 'parameters'>): JsonValue[] {
  const entries: [string, JsonValue][] = Object.entries(msg.parameters);
  if (msg.versionRolling !== null) {
    entries.push([VR_MASK, formatMaskHex(msg.versionRolling.mask)]);
    if (msg.versionRolling.minBitCount !== null) entries.push([VR_MIN_BITS, msg.versionRolling.minBitCount]);
  }
  return [[...msg.extensions], Object.fromEntries(entries)];
}

export function encodeConfigure(msg: ConfigureMessage): string {
  return encodeCall(msg.id, MINER_METHODS.configure, configureParams(msg));
}

export function parseSubmit(call: RpcCall): ParseResult<SubmitMessage> {
  const r = readStrings(call.params, ['worker', 'job id', 'extranonce2', 'ntime', 'nonce'], ['version bits']);
  if (!r.ok) return invalidParams(call, r.message);
  const [worker, jobId, extranonce2, ntime, nonce] = r.value.required;
  const versionBits = r.value.optional[0];
  const share: ShareSubmit =
    versionBits === null ? { jobId, extranonce2, ntime, nonce } : { jobId, extranonce2, ntime, nonce, versionBits };
  return ok({ type: 'submit', id: call.id, worker, share });
}

/** [worker, job id, extranonce2, ntime, nonce] plus version bits when the share has them. */
export function submitParams(worker: string, s: ShareSubmit): JsonValue[] {
  const params: JsonValue[] = [worker, s.jobId, s.extranonce2, s.ntime, s.nonce];
  if (s.versionBits !== undefined && s.versionBits !== null) params.push(s.versionBits);
  return params;
}

export function encodeSubmit(msg: SubmitMessage): string {
  return encodeCall(msg.id, MINER_METHODS.submit, submitParams(msg.worker, msg.share));
}

export const parseSuggestDifficulty = difficultyParser('suggest-difficulty');
export const encodeSuggestDifficulty = difficultyEncoder<SuggestDifficultyMessage>(MINER_METHODS['suggest-difficulty']);

export const parseExtranonceSubscribe = noParamsParser('extranonce-subscribe');
export const encodeExtranonceSubscribe = noParamsEncoder<ExtranonceSubscribeMessage>(MINER_METHODS['extranonce-subscribe']);

export const parseMinerPing = noParamsParser('ping');
export const encodeMinerPing = noParamsEncoder<MinerPingMessage>(MINER_METHODS.ping);

/** Names a miner's response by the method of the proxy's request it answers. */
export function parseMinerResponse(res: RpcResponse, method: string | undefined): ParseResult<MinerMessage> {
  switch (method) {
    case 'client.get_version':
      return ok({ type: 'version-result', id: res.id, version: typeof res.result === 'string' ? res.result : null, error: res.error });
    case 'mining.ping':
      return ok({ type: 'pong', id: res.id, result: res.result, error: res.error });
    default:
      return ok({ type: 'response', id: res.id, method: method ?? null, result: res.result, error: res.error });
  }
}

// -------------------------------------------------------------- dispatch

/** The parser of each call a miner sends, by method. */
const MINER_PARSERS = new Map<string, CallParser<MinerMessage>>([
  [MINER_METHODS.subscribe, parseSubscribe],
  [MINER_METHODS.authorize, parseAuthorize],
  [MINER_METHODS.configure, parseConfigure],
  [MINER_METHODS.submit, parseSubmit],
  [MINER_METHODS['suggest-difficulty'], parseSuggestDifficulty],
  [MINER_METHODS['extranonce-subscribe'], parseExtranonceSubscribe],
  [MINER_METHODS.ping, parseMinerPing],
]);

/** Parses one line (or a classified envelope) from a miner; never throws (see parseByMethod). */
export function parseMinerMessage(input: string | RpcEnvelope, resolve?: ResponseResolver): ParseResult<MinerMessage> {
  return parseByMethod(input, MINER_PARSERS, parseMinerResponse, resolve);
}

/** Encodes any miner message as one line ending in "\n". */
export function encodeMinerMessage(msg: MinerMessage): string {
  switch (msg.type) {
    case 'subscribe':
      return encodeSubscribe(msg);
    case 'authorize':
      return encodeAuthorize(msg);
    case 'configure':
      return encodeConfigure(msg);
    case 'submit':
      return encodeSubmit(msg);
    case 'suggest-difficulty':
      return encodeSuggestDifficulty(msg);
    case 'extranonce-subscribe':
      return encodeExtranonceSubscribe(msg);
    case 'ping':
      return encodeMinerPing(msg);
    case 'version-result':
      return encodeReply(msg.id, msg.version, msg.error);
    case 'pong':
    case 'response':
      return encodeReply(msg.id, msg.result, msg.error);
    default:
      return assertNever(msg, 'miner message');
  }
}
