/**
 * Pool → proxy responses: the results of the proxy's own requests (it is
 * the pool's client), typed by the method they answer. A JSON-RPC response
 * does not name its method, so the caller's pending-request table names it
 * (see parsePoolResponse in pool.ts).
 *
 * Facts (cgminer util.c initiate_stratum/get_sessionid, ckpool
 * stratifier.c, ESP-Miner stratum_api.c, BIP 310):
 * - subscribe result: [[["mining.set_difficulty", id], ["mining.notify",
 *   session id]], extranonce1, extranonce2_size]. ckpool sends only the
 *   notify pair, its session id equal to extranonce1, extranonce2_size 8;
 *   some pools send one unnested pair, or null. cgminer takes the session id
 *   from the "mining.notify" pair and accepts extranonce2_size 2–16.
 * - configure result (BIP 310): {"version-rolling": true,
 *   "version-rolling.mask": "1fffe000"}; "version-rolling" may be false or
 *   an error string. Some pool code sends the mask as a JSON number; it is
 *   read as one.
 * - authorize/submit results are booleans; a rejected submit carries an
 *   error triple such as [23, "Low difficulty share", null] (kept as sent, so
 *   a relay passes it through unchanged), and some pools add "reject-reason"
 *   (ESP-Miner reads it).
 */

import { encodeErrorResponse, type JsonValue, type RpcId, type RpcResponse } from './json-rpc.js';
import {
  type BytesHex,
  EXTRANONCE2_SIZE_LIMITS,
  fail,
  formatMaskHex,
  isExtranonce1,
  isExtranonce2Size,
  MAX_EXTRANONCE1_BYTES,
  isObjectValue,
  isShortScalar,
  isShortString,
  clipText,
  ok,
  type ParseResult,
  parseMaskHex,
} from './messages.js';

/** One subscription of a subscribe result: [method, subscription id]. */
export type Subscription = readonly [method: string, id: string];

export interface SubscribeResult {
  readonly subscriptions: readonly Subscription[];
  /** The id of the "mining.notify" subscription: cgminer sends it back to resume. */
  readonly sessionId: string | null;
  readonly extranonce1: BytesHex;
  /** Bytes. */
  readonly extranonce2Size: number;
}

export interface SubscribeResultMessage {
  readonly type: 'subscribe-result';
  readonly id: RpcId;
  /** null when the pool answered with an error. */
  readonly result: SubscribeResult | null;
  /** The error member as sent (null when none); see readRpcError. */
  readonly error: JsonValue;
}

export interface AuthorizeResultMessage {
  readonly type: 'authorize-result';
  readonly id: RpcId;
  /** result === true. */
  readonly authorized: boolean;
  readonly error: JsonValue;
}

export interface SubmitResultMessage {
  readonly type: 'submit-result';
  readonly id: RpcId;
  /** result === true. */
  readonly accepted: boolean;
  /** As sent, e.g. [23, "Low difficulty share", null]; relay it unchanged. */
  readonly error: JsonValue;
  /** The non-standard "reject-reason" member, or null. */
  readonly rejectReason: string | null;
}

export interface ConfigureResult {
  /** "version-rolling": true, false, an error string, or null when the pool did not answer for it. */
  readonly versionRolling: boolean | string | null;
  /** "version-rolling.mask" as a u32, or null when absent. */
  readonly versionRollingMask: number | null;
  /** Every other member whose value is a short scalar (other extensions' results); the rest are dropped. */
  readonly other: { readonly [key: string]: JsonValue };
}

export interface ConfigureResultMessage {
  readonly type: 'configure-result';
  readonly id: RpcId;
  /** null when the pool answered with an error or a null result. */
  readonly result: ConfigureResult | null;
  readonly error: JsonValue;
}

/** A response to a request without a typed result (or that the resolver could not name). */
export interface PoolResponseMessage {
  readonly type: 'response';
  readonly id: RpcId;
  readonly method: string | null;
  readonly result: JsonValue;
  readonly error: JsonValue;
}

/** Writes a response as {id, result, error}; a "reject-reason" goes last when there is one. */
function encodeReply(id: RpcId, result: JsonValue, error: JsonValue, rejectReason: string | null = null): string {
  if (rejectReason === null) return encodeErrorResponse(id, error, result);
  return `${JSON.stringify({ id, result, error, 'reject-reason': rejectReason })}\n`;
}

/** Subscriptions kept from a subscribe result, at most (pools send one or two). */
export const MAX_SUBSCRIPTIONS = 8;

function readSubscriptions(v: JsonValue): Subscription[] {
  if (!Array.isArray(v)) return [];
  const list = typeof v[0] === 'string' ? [v] : v; // one unnested pair, or a list of pairs
  const out: Subscription[] = [];
  for (const pair of list) {
    if (out.length >= MAX_SUBSCRIPTIONS) break;
    if (Array.isArray(pair) && isShortString(pair[0]) && isShortString(pair[1])) out.push([pair[0], pair[1]]);
  }
  return out;
}

export function parseSubscribeResult(res: RpcResponse): ParseResult<SubscribeResultMessage> {
  if (res.error !== null && res.error !== false) return ok({ type: 'subscribe-result', id: res.id, result: null, error: res.error });
  const r = res.result;
  const bad = (m: string) => fail<SubscribeResultMessage>('invalid-result', `mining.subscribe: ${m}`, res.id, 'mining.subscribe');
  if (!Array.isArray(r)) return bad('result must be [subscriptions, extranonce1, extranonce2_size]');
  const [subs, en1, size] = r;
  if (!isExtranonce1(en1)) return bad(`extranonce1 must be even-length hex of at most ${MAX_EXTRANONCE1_BYTES} bytes`);
  if (!isExtranonce2Size(size))
    return bad(`extranonce2_size must be an integer ${EXTRANONCE2_SIZE_LIMITS.min}–${EXTRANONCE2_SIZE_LIMITS.max}`);
  const subscriptions = readSubscriptions(subs);
  const notify = subscriptions.find(([m]) => m === 'mining.notify');
  return ok({
    type: 'subscribe-result',
    id: res.id,
    result: { subscriptions, sessionId: notify ? notify[1] : null, extranonce1: en1, extranonce2Size: size },
    error: res.error,
  });
}

export function encodeSubscribeResult(msg: SubscribeResultMessage): string {
  if (msg.result === null) return encodeReply(msg.id, null, msg.error);
  const r = msg.result;
  return encodeReply(msg.id, [r.subscriptions.map(([m, id]) => [m, id]), r.extranonce1, r.extranonce2Size], msg.error);
}

export function parseAuthorizeResult(res: RpcResponse): ParseResult<AuthorizeResultMessage> {
  return ok({ type: 'authorize-result', id: res.id, authorized: res.result === true, error: res.error });
}

export function encodeAuthorizeResult(msg: AuthorizeResultMessage): string {
  return encodeReply(msg.id, msg.authorized, msg.error);
}

export function parseSubmitResult(res: RpcResponse): ParseResult<SubmitResultMessage> {
  return ok({
    type: 'submit-result',
    id: res.id,
    accepted: res.result === true,
    error: res.error,
    rejectReason: res.rejectReason === undefined ? null : clipText(res.rejectReason),
  });
}

export function encodeSubmitResult(msg: SubmitResultMessage): string {
  return encodeReply(msg.id, msg.accepted, msg.error, msg.rejectReason);
}

const VR = 'version-rolling';
const VR_MASK = 'version-rolling.mask';

export function parseConfigureResult(res: RpcResponse): ParseResult<ConfigureResultMessage> {
  const r = res.result;
  if (r === null || (res.error !== null && res.error !== false)) {
    return ok({ type: 'configure-result', id: res.id, result: null, error: res.error });
  }
  const bad = (m: string) => fail<ConfigureResultMessage>('invalid-result', `mining.configure: ${m}`, res.id, 'mining.configure');
  if (!isObjectValue(r)) return bad('result must be an object');
  const vr = Object.hasOwn(r, VR) ? r[VR] : null;
  if (vr !== null && typeof vr !== 'boolean' && !isShortString(vr)) return bad(`"${VR}" must be true, false or a message`);
  let mask: number | null = null;
  if (Object.hasOwn(r, VR_MASK)) {
    const m = r[VR_MASK];
    const n = typeof m === 'number' && Number.isInteger(m) && m >= 0 && m <= 0xffffffff ? m : parseMaskHex(m);
    if (n === undefined) return bad(`"${VR_MASK}" must be hex of a 32-bit mask`);
    mask = n;
  }
  // Other extensions answer with a flag or a short value; anything bigger is not passed on to miners.
  const other = Object.fromEntries(Object.entries(r).filter(([k, v]) => k !== VR && k !== VR_MASK && isShortString(k) && isShortScalar(v)));
  return ok({ type: 'configure-result', id: res.id, result: { versionRolling: vr, versionRollingMask: mask, other }, error: res.error });
}

export function encodeConfigureResult(msg: ConfigureResultMessage): string {
  if (msg.result === null) return encodeReply(msg.id, null, msg.error);
  const r = msg.result;
  const entries: [string, JsonValue][] = [];
  if (r.versionRolling !== null) entries.push([VR, r.versionRolling]);
  if (r.versionRollingMask !== null) entries.push([VR_MASK, formatMaskHex(r.versionRollingMask)]);
  entries.push(...Object.entries(r.other));
  return encodeReply(msg.id, Object.fromEntries(entries), msg.error);
}

/** A response without a typed result, passed up (and relayed) as is. */
export function parseOtherResult(res: RpcResponse, method: string | undefined): ParseResult<PoolResponseMessage> {
  return ok({ type: 'response', id: res.id, method: method ?? null, result: res.result, error: res.error });
}

export function encodeOtherResult(msg: PoolResponseMessage): string {
  return encodeReply(msg.id, msg.result, msg.error);
}
