/**
 * What the two directions (miner.ts, pool.ts) share about calls, so both
 * parse and encode them one way: the encoder of a call (a request, or a
 * notification when the id is null), the "invalid params" failure, the
 * parse/encode pair of a method with no params (mining.extranonce.subscribe,
 * mining.ping, client.get_version) and of one whose only param is a
 * difficulty (mining.suggest_difficulty, mining.set_difficulty), and the
 * dispatch of a line to its method's parser.
 */

import type { JsonValue, RpcCall, RpcEnvelope, RpcId, RpcResponse } from './json-rpc.js';
import { encodeNotification, encodeRequest } from './json-rpc.js';
import { envelopeOf, fail, isPositiveNumber, ok, type ParseResult, type ResponseResolver } from './messages.js';

/** Parses one method's call into a message of one side. */
export type CallParser<T> = (call: RpcCall) => ParseResult<T>;

/** A call as one line: a request, or a notification when the id is null. */
export function encodeCall(id: RpcId, method: string, params: readonly JsonValue[]): string {
  return id === null ? encodeNotification(method, params) : encodeRequest(id, method, params);
}

/** The "invalid params" failure of a call, naming its id and method. */
export function invalidParams<T>(call: RpcCall, message: string): ParseResult<T> {
  return fail('invalid-params', message, call.id, call.method);
}

/** A call whose method takes no params: its type and id are all there is. */
export interface NoParamsMessage<T extends string> {
  readonly type: T;
  readonly id: RpcId;
}

/** The parser of a method with no params (any params sent are ignored). */
export function noParamsParser<T extends string>(type: T): CallParser<NoParamsMessage<T>> {
  return (call) => ok({ type, id: call.id });
}

/** The encoder of a method with no params: params []. */
export function noParamsEncoder<M extends { readonly id: RpcId }>(method: string): (msg: M) => string {
  return (msg) => encodeCall(msg.id, method, []);
}

/** A call whose one param is a difficulty: a JSON number > 0, may be fractional. */
export interface DifficultyMessage<T extends string> {
  readonly type: T;
  readonly id: RpcId;
  readonly difficulty: number;
}

/** The parser of [difficulty]. */
export function difficultyParser<T extends string>(type: T): CallParser<DifficultyMessage<T>> {
  return (call) => {
    const d = call.params[0];
    if (!isPositiveNumber(d)) return invalidParams(call, 'difficulty (param 0) must be a number > 0');
    return ok({ type, id: call.id, difficulty: d });
  };
}

/** The encoder of [difficulty]. */
export function difficultyEncoder<M extends { readonly id: RpcId; readonly difficulty: number }>(method: string): (msg: M) => string {
  return (msg) => encodeCall(msg.id, method, [msg.difficulty]);
}

/**
 * Parses one line (or a classified envelope) from one side. Never throws.
 * A call goes to its method's parser (a Map: no prototype lookups); an
 * unknown method is an error of kind "unknown-method", so the proxy can
 * answer it with a JSON-RPC error instead of disconnecting. A response is
 * named through `resolve` (id → method of the proxy's pending request).
 */
export function parseByMethod<T>(
  input: string | RpcEnvelope,
  calls: ReadonlyMap<string, CallParser<T>>,
  parseResponse: (res: RpcResponse, method: string | undefined) => ParseResult<T>,
  resolve?: ResponseResolver,
): ParseResult<T> {
  const e = envelopeOf<T>(input);
  if ('result' in e) return e.result;
  const env = e.env;
  if (env.kind === 'response') return parseResponse(env, resolve?.(env.id));
  const parse = calls.get(env.method);
  return parse === undefined ? fail('unknown-method', env.method, env.id, env.method) : parse(env);
}
