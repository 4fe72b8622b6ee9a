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
 *
 * Bounds: a line's size is capped by the framer; its shape is capped here,
 * before any code walks or re-encodes it. A line nested deeper than
 * JSON_LIMITS.maxDepth or holding more than JSON_LIMITS.maxValues values is
 * an invalid envelope ('too-deep' / 'too-wide'), so every value this module
 * hands out can be JSON.stringify'd without exhausting the stack (a 5,000
 * deep array in one 10 KB line used to crash the daemon there).
 */

import { StratumErrorCode } from './stratum-errors.js';

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
  | 'no-method-or-result' // neither a call nor a response
  | 'too-deep' // nested deeper than JSON_LIMITS.maxDepth
  | 'too-wide'; // more than JSON_LIMITS.maxValues values in one line

/** Reasons that no honest peer ever causes: the line is hostile (or broken beyond repair). */
export const OVER_LIMIT_REASONS: ReadonlySet<InvalidReason> = new Set<InvalidReason>(['too-deep', 'too-wide']);

/**
 * Shape bounds for one line, whichever side sent it. The deepest honest
 * Stratum V1 message is a subscribe result, at depth 4
 * ({"result":[[["mining.notify","id"]],"en1",8]}); a pool's error data
 * rarely goes past 3 more. The widest is a mining.notify with a 20-level
 * merkle branch (about 30 values). Both limits leave a wide margin.
 */
export const JSON_LIMITS = Object.freeze({
  /** Nesting of arrays and objects; the envelope object is depth 1. */
  maxDepth: 16,
  /** Values (scalars, arrays, objects, and object keys are not counted) in one line. */
  maxValues: 1024,
});

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

const OPEN_BRACKET = 0x5b; // [
const OPEN_BRACE = 0x7b; // {
const CLOSE_BRACKET = 0x5d; // ]
const CLOSE_BRACE = 0x7d; // }
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Measures a JSON text's nesting and value count without parsing it, in one
 * pass over its characters (strings skipped, escapes honoured). Returns the
 * first bound it crosses, or null. Malformed text is measured as far as it
 * goes: JSON.parse rejects it afterwards. Stops at the first excess, so the
 * cost is bounded by the line, however hostile.
 */
export function measureJson(text: string, limits: { maxDepth: number; maxValues: number } = JSON_LIMITS): 'too-deep' | 'too-wide' | null {
  let depth = 0;
  // Every container holds (commas + 1) values when not empty; counting the
  // containers and commas bounds the value count from above, cheaply.
  let values = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
      continue;
    }
    if (c === QUOTE) inString = true;
    else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > limits.maxDepth) return 'too-deep';
      if (++values > limits.maxValues) return 'too-wide';
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
    else if (c === COMMA && ++values > limits.maxValues) return 'too-wide';
  }
  return null;
}

/** The top-level id of an over-limit line, so the error reply can carry it. V8's JSON.parse is not recursive. */
function idOfOverLimit(line: string): RpcId {
  const v = parseJson(line);
  if (!isObject(v) || !has(v, 'id')) return null;
  const id = v.id;
  return (typeof id === 'number' && Number.isFinite(id)) || (typeof id === 'string' && id.length <= 64) ? id : null;
}

/**
 * Classifies one line. Never throws. A line over JSON_LIMITS is refused
 * before it is parsed into anything a caller could walk.
 */
export function classifyLine(line: string): RpcEnvelope {
  if (typeof line !== 'string') return invalid('parse-error', 'line is not a string');
  const over = measureJson(line);
  if (over === 'too-deep') return invalid(over, `JSON nested deeper than ${JSON_LIMITS.maxDepth} levels`, idOfOverLimit(line));
  if (over === 'too-wide') return invalid(over, `more than ${JSON_LIMITS.maxValues} JSON values in one message`, idOfOverLimit(line));
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
      code: typeof code === 'number' && Number.isFinite(code) ? code : null,
      message: typeof message === 'string' ? message : 'unknown error',
      data: data ?? null,
    };
  }
  if (isObject(error)) {
    const code = error.code;
    const message = error.message;
    return {
      code: typeof code === 'number' && Number.isFinite(code) ? code : null,
      message: typeof message === 'string' ? message : 'unknown error',
      data: error.data ?? null,
    };
  }
  if (typeof error === 'string') return { code: null, message: error, data: null };
  return { code: null, message: 'unknown error', data: error };
}

// ------------------------------------------------------- relaying a peer's values

/** What of a pool's error or result hashgate passes on to a miner unchanged. */
export const RELAY_LIMITS = Object.freeze({
  /** Longest error message or string result passed on (a longer one is cut). */
  maxMessageChars: 256,
});

/** null, a boolean, a finite number or a string of at most RELAY_LIMITS.maxMessageChars characters. */
function isRelayScalar(v: unknown): boolean {
  return (
    v === null ||
    typeof v === 'boolean' ||
    (typeof v === 'number' && Number.isFinite(v)) ||
    (typeof v === 'string' && v.length <= RELAY_LIMITS.maxMessageChars)
  );
}

/**
 * A pool's error as its miner gets it. The shapes pools really send pass
 * unchanged (house style: relay the pool's own error): a Stratum triple of
 * scalars such as [23, "Low difficulty share", null], a JSON-RPC 2.0
 * {code, message, data} of scalars, a short string. Anything else (nested
 * data, long text, odd members) becomes [code or 20, message cut short,
 * null]. The check looks one level deep and never recurses, so it is safe on
 * any value, however deep.
 */
export function relayableError(error: JsonValue): JsonValue {
  if (error === null || error === undefined) return null;
  if (typeof error === 'string' && error.length <= RELAY_LIMITS.maxMessageChars) return error;
  if (Array.isArray(error) && error.length <= 3 && error.every(isRelayScalar)) return error;
  if (isObject(error)) {
    const keys = Object.keys(error);
    if (
      keys.length <= 3 &&
      keys.every((k) => k === 'code' || k === 'message' || k === 'data') &&
      keys.every((k) => isRelayScalar(error[k]))
    )
      return error;
  }
  const info = readRpcError(error);
  const message = info?.message ?? 'unknown error';
  return [info?.code ?? StratumErrorCode.Other, message.slice(0, RELAY_LIMITS.maxMessageChars), null];
}

/**
 * A pool's result to a request whose answer hashgate relays as is
 * (authorize, suggest_difficulty, extranonce.subscribe: all answer a
 * boolean): scalars pass, anything else becomes null.
 */
export function relayableResult(result: JsonValue): JsonValue {
  if (result === null || typeof result === 'boolean' || (typeof result === 'number' && Number.isFinite(result))) return result;
  if (typeof result === 'string' && result.length <= RELAY_LIMITS.maxMessageChars) return result;
  return null;
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
