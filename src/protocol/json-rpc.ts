/**
 * The JSON-RPC envelope of Stratum V1: classify one line, encode one line.
 *
 * Stratum V1 is JSON-RPC 1.0-ish, one object per line:
 *   request       {"id": 1, "method": "mining.submit", "params": [...]}
 *   notification  {"id": null, "method": "mining.notify", "params": [...]}
 *   response      {"id": 1, "result": true, "error": null}
 * Ids are kept exactly as given (number or string): real miners reuse ids,
 * and some send every submit with the same id, so an id is a correlation
 * hint for the caller, not a key this module enforces.
 *
 * Errors are Stratum triples [code, message, data|null]. Pools also send a
 * JSON-RPC 2.0 object {code, message} or a bare string (ckpool answers some
 * malformed requests with "error": "params not an array"); readRpcError
 * normalises all three, and the raw value is kept so a relay can pass a
 * pool's error through unchanged.
 *
 * Extra envelope members ("jsonrpc": "2.0" from ESP-Miner, "reject-reason"
 * from some pools) are tolerated; "reject-reason" is kept on responses.
 */

import { StratumErrorCode } from '../work/reasons.js';

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A JSON-RPC id as sent: number, string, or null (notifications; error replies to unreadable requests). */
export type RpcId = number | string | null;
/** The id of a request: never null. */
export type RequestId = number | string;

/** A Stratum error triple: [code, message, data|null]. */
export type StratumErrorTriple = readonly [code: number, message: string, data: JsonValue];

/** Why a line is not a usable envelope. */
export type InvalidReason =
  | 'parse-error' // not JSON
  | 'not-object' // JSON, but not an object
  | 'bad-id' // id is not a finite number, a string or null
  | 'bad-method' // method present but not a non-empty string
  | 'bad-params' // params present but not an array
  | 'no-method-or-result'; // neither a call nor a response

export interface RpcCall {
  readonly kind: 'request' | 'notification';
  /** Non-null for a request, null for a notification. */
  readonly id: RpcId;
  readonly method: string;
  /** Absent params are read as []. */
  readonly params: readonly JsonValue[];
}

export interface RpcRequest extends RpcCall {
  readonly kind: 'request';
  readonly id: RequestId;
}

export interface RpcNotification extends RpcCall {
  readonly kind: 'notification';
  readonly id: null;
}

export interface RpcResponse {
  readonly kind: 'response';
  readonly id: RpcId;
  /** Absent result is read as null. */
  readonly result: JsonValue;
  /** As sent (null when absent): a triple, an object or a string. See readRpcError. */
  readonly error: JsonValue;
  /** Non-standard "reject-reason" member some pools add to a rejected submit's response. */
  readonly rejectReason?: string;
}

export interface RpcInvalid {
  readonly kind: 'invalid';
  /** The id when one could be read (so an error reply can carry it), else null. */
  readonly id: RpcId;
  readonly reason: InvalidReason;
  readonly message: string;
}

export type RpcEnvelope = RpcRequest | RpcNotification | RpcResponse | RpcInvalid;

function isObject(v: unknown): v is { readonly [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function has(o: object, key: string): boolean {
  return Object.hasOwn(o, key);
}

function invalid(reason: InvalidReason, message: string, id: RpcId = null): RpcInvalid {
  return { kind: 'invalid', id, reason, message };
}

/** Parses JSON without throwing. `undefined` when the text is not JSON. */
export function parseJson(text: string): JsonValue | undefined {
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return undefined;
  }
}

/** Classifies one line (or an already parsed value). Never throws. */
export function classifyLine(line: string): RpcEnvelope {
  if (typeof line !== 'string') return invalid('parse-error', 'line is not a string');
  const value = parseJson(line);
  if (value === undefined) return invalid('parse-error', 'line is not valid JSON');
  return classifyValue(value);
}

/**
 * Classifies a parsed JSON value, checking each member explicitly:
 * - request: id non-null, method a non-empty string, params an array (or absent);
 * - notification: id null or absent, method as above;
 * - response: id present, result and/or error present, no method. A
 *   response that also carries "method" with "params": null (seen from some
 *   pools, which echo the method in their subscribe reply) is a response;
 * - anything else is invalid, with a reason.
 */
export function classifyValue(value: unknown): RpcEnvelope {
  if (!isObject(value)) return invalid('not-object', 'JSON-RPC message must be an object');
  const rawId = has(value, 'id') ? value.id : null;
  // 1e999 parses as Infinity, which JSON cannot echo back (it would encode as null).
  if (rawId !== null && !(typeof rawId === 'number' && Number.isFinite(rawId)) && typeof rawId !== 'string') {
    return invalid('bad-id', 'id must be a finite number, a string or null');
  }
  const id: RpcId = rawId;
  const hasMethod = has(value, 'method') && value.method !== null;
  const isResponseShape = has(value, 'result') || (has(value, 'error') && value.error !== null);

  if (hasMethod && !(isResponseShape && has(value, 'params') && value.params === null)) {
    const method = value.method;
    if (typeof method !== 'string' || method.length === 0) return invalid('bad-method', 'method must be a non-empty string', id);
    const params = has(value, 'params') ? value.params : [];
    if (!Array.isArray(params)) return invalid('bad-params', `params of ${method} must be an array`, id);
    if (id === null) return { kind: 'notification', id: null, method, params };
    return { kind: 'request', id, method, params };
  }
  if (isResponseShape && has(value, 'id')) {
    const result = has(value, 'result') ? value.result : null;
    const error = has(value, 'error') ? value.error : null;
    const reason = value['reject-reason'];
    if (typeof reason === 'string') return { kind: 'response', id, result, error, rejectReason: reason };
    return { kind: 'response', id, result, error };
  }
  return invalid('no-method-or-result', 'message has neither a method nor a result/error', id);
}

/** A normalised error: code (null when the sender gave none), message, data. */
export interface RpcErrorInfo {
  readonly code: number | null;
  readonly message: string;
  readonly data: JsonValue;
}

/**
 * Reads an error member as sent: null → null; [code, message, data] (Stratum);
 * {code, message, data} (JSON-RPC 2.0); a string (ckpool); anything else is
 * kept as data with a generic message. Never throws.
 */
export function readRpcError(error: JsonValue): RpcErrorInfo | null {
  if (error === null || error === undefined || error === false) return null;
  if (Array.isArray(error)) {
    const [code, message, data] = error as readonly JsonValue[];
    return {
      code: typeof code === 'number' ? code : null,
      message: typeof message === 'string' ? message : 'unknown error',
      data: data ?? null,
    };
  }
  if (isObject(error)) {
    const code = error.code;
    const message = error.message;
    return {
      code: typeof code === 'number' ? code : null,
      message: typeof message === 'string' ? message : 'unknown error',
      data: error.data ?? null,
    };
  }
  if (typeof error === 'string') return { code: null, message: error, data: null };
  return { code: null, message: 'unknown error', data: error };
}

// ---------------------------------------------------------------- encoders

// JSON.stringify escapes every control character, so an encoded message
// never contains a raw "\n": one message is exactly one line.

/** {"id":…,"method":…,"params":[…]}\n */
export function encodeRequest(id: RequestId, method: string, params: readonly JsonValue[]): string {
  return `${JSON.stringify({ id, method, params })}\n`;
}

/** {"id":null,"method":…,"params":[…]}\n */
export function encodeNotification(method: string, params: readonly JsonValue[]): string {
  return `${JSON.stringify({ id: null, method, params })}\n`;
}

/** {"id":…,"result":…,"error":null}\n */
export function encodeResponse(id: RpcId, result: JsonValue): string {
  return `${JSON.stringify({ id, result, error: null })}\n`;
}

/**
 * {"id":…,"result":null,"error":…}\n. `error` is a Stratum triple, or any
 * error value received from a pool, passed through unchanged. `result`
 * defaults to null; rejected submits are often sent as result false.
 */
export function encodeErrorResponse(id: RpcId, error: StratumErrorTriple | JsonValue, result: JsonValue = null): string {
  return `${JSON.stringify({ id, result, error })}\n`;
}

// ------------------------------------------------ standard JSON-RPC errors

/**
 * The JSON-RPC 2.0 error conditions, each sent to a Stratum peer as code 20
 * ("other"): Stratum miners understand codes 20–25 only, so the JSON-RPC
 * code goes into the message text instead.
 */
export const RPC_ERRORS = Object.freeze({
  'parse-error': { jsonRpcCode: -32700, message: 'Parse error' },
  'invalid-request': { jsonRpcCode: -32600, message: 'Invalid request' },
  'unknown-method': { jsonRpcCode: -32601, message: 'Method not found' },
  'invalid-params': { jsonRpcCode: -32602, message: 'Invalid params' },
});

export type RpcErrorKind = keyof typeof RPC_ERRORS;

/** [20, "<Condition> (JSON-RPC <code>): <detail>", null] */
export function rpcErrorTriple(kind: RpcErrorKind, detail?: string): StratumErrorTriple {
  const row = RPC_ERRORS[kind];
  const text = `${row.message} (JSON-RPC ${row.jsonRpcCode})`;
  return [StratumErrorCode.Other, detail ? `${text}: ${detail}` : text, null];
}

/** The RPC error kind for an invalid envelope: "parse-error" for non-JSON, "invalid-request" otherwise. */
export function rpcErrorKindOf(reason: InvalidReason): RpcErrorKind {
  return reason === 'parse-error' ? 'parse-error' : 'invalid-request';
}
