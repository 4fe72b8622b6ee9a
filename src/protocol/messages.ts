/**
 * What the typed Stratum V1 message modules share: the parse result, the
 * protocol error, param readers that never throw, the wire encodings of
 * hex values, and assertNever.
 *
 * The direction-specific unions live in miner.ts (miner → proxy,
 * `MinerMessage`) and pool.ts (pool → proxy, `PoolMessage`).
 */

import { formatU32BE } from '../util/hex.js';
import {
  classifyLine,
  encodeErrorResponse,
  type JsonValue,
  type RpcEnvelope,
  type RpcErrorKind,
  type RpcId,
  rpcErrorKindOf,
  rpcErrorTriple,
  type StratumErrorTriple,
} from './json-rpc.js';
import { StratumErrorCode } from './stratum-errors.js';

// ------------------------------------------------------------ wire types

/**
 * Hex as it travels on the wire, named by byte order. These are aliases of
 * string: they document, they do not enforce; parsers check the shape.
 */
/** 8 hex digits, a big-endian u32 (version, nbits, ntime, nonce, version bits). */
export type U32HexBE = string;
/** 64 hex digits: the previous block hash with each 4-byte word byte-swapped (mining.notify). */
export type PrevHashStratum = string;
/** Raw bytes as hex, in the order they go into the coinbase (extranonce1/2, coinb1/2). */
export type BytesHex = string;

/** How a pending request is named when a response comes back: the method the request carried. */
export type ResponseResolver = (id: RpcId) => string | undefined;

// --------------------------------------------------------------- results

/**
 * The JSON-RPC error conditions, plus "invalid-result": a response whose
 * result does not have the shape its request calls for (never answered,
 * since responses are not answered).
 */
export type ProtocolErrorKind = RpcErrorKind | 'invalid-result';

/** Why a line is not a message this side understands. Carries what a reply needs. */
export interface ProtocolError {
  readonly kind: ProtocolErrorKind;
  /** Stratum code for the reply: always 20 ("other") for protocol errors. */
  readonly code: StratumErrorCode;
  readonly message: string;
  /** The request id to answer, or null (notification, unreadable line, response). */
  readonly id: RpcId;
  /** The method, when one was read. */
  readonly method?: string;
}

export type ParseResult<T> = { readonly ok: true; readonly msg: T } | { readonly ok: false; readonly error: ProtocolError };

export function ok<T>(msg: T): ParseResult<T> {
  return { ok: true, msg };
}

export function fail<T>(kind: ProtocolErrorKind, detail: string, id: RpcId, method?: string): ParseResult<T> {
  const message = kind === 'invalid-result' ? `Invalid result: ${detail}` : rpcErrorTriple(kind, detail)[1];
  const error: ProtocolError =
    method === undefined
      ? { kind, code: StratumErrorCode.Other, message, id }
      : { kind, code: StratumErrorCode.Other, message, id, method };
  return { ok: false, error };
}

/** Turns an unusable envelope (or a non-string line) into a ParseResult error. */
export function envelopeOf<T>(
  input: string | RpcEnvelope,
): { env: Exclude<RpcEnvelope, { kind: 'invalid' }> } | { result: ParseResult<T> } {
  const env = typeof input === 'string' ? classifyLine(input) : input;
  if (env === null || typeof env !== 'object') return { result: fail('invalid-request', 'not an envelope', null) };
  if (env.kind === 'invalid') return { result: fail(rpcErrorKindOf(env.reason), env.message, env.id) };
  return { env };
}

/** The error triple to send back for a protocol error. */
export function errorTripleOf(error: ProtocolError): StratumErrorTriple {
  return [error.code, error.message, null];
}

/**
 * The line answering a protocol error: an error response for a request, or
 * null when there is nobody to answer (notification, a response, or a line
 * whose id could not be read: JSON-RPC answers those with id null, but a
 * Stratum miner cannot match that, so the session decides).
 */
export function encodeProtocolError(error: ProtocolError): string | null {
  if (error.id === null || error.kind === 'invalid-result') return null;
  return encodeErrorResponse(error.id, errorTripleOf(error));
}

/** Exhaustiveness check for `switch` over a union's tag. */
export function assertNever(value: never, what = 'value'): never {
  throw new TypeError(`unexpected ${what}: ${JSON.stringify(value)}`);
}

// --------------------------------------------------------- param readers

/** A param read: the value, or a message naming the param. */
export type Read<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly message: string };

export function got<T>(value: T): Read<T> {
  return { ok: true, value };
}

export function bad<T>(message: string): Read<T> {
  return { ok: false, message };
}

export function readString(params: readonly JsonValue[], i: number, name: string): Read<string> {
  const v = params[i];
  return typeof v === 'string' ? got(v) : bad(`${name} (param ${i}) must be a string`);
}

/** A string, or null when absent or null. */
export function readOptionalString(params: readonly JsonValue[], i: number, name: string): Read<string | null> {
  const v = params[i];
  if (v === undefined || v === null) return got(null);
  return typeof v === 'string' ? got(v) : bad(`${name} (param ${i}) must be a string or null`);
}

/** Params read by readStrings: the required ones, then the optional ones (null when absent or null). */
export interface StringParams {
  readonly required: readonly string[];
  readonly optional: readonly (string | null)[];
}

/**
 * Params 0, 1, … as strings: first one per name in `required` (each must be
 * a string), then one per name in `optional` (a string, or null when absent
 * or null). The first param that does not fit gives the message.
 */
export function readStrings(
  params: readonly JsonValue[],
  required: readonly string[],
  optional: readonly string[] = [],
): Read<StringParams> {
  const req: string[] = [];
  for (const [i, name] of required.entries()) {
    const r = readString(params, i, name);
    if (!r.ok) return bad(r.message);
    req.push(r.value);
  }
  const opt: (string | null)[] = [];
  for (const [i, name] of optional.entries()) {
    const r = readOptionalString(params, required.length + i, name);
    if (!r.ok) return bad(r.message);
    opt.push(r.value);
  }
  return got({ required: req, optional: opt });
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** Even-length hex of any size (or exactly `bytes` bytes). */
export function isBytesHex(v: unknown, bytes?: number): v is string {
  if (typeof v !== 'string' || !HEX_RE.test(v)) return false;
  return bytes === undefined || v.length === bytes * 2;
}

export function isU32HexBE(v: unknown): v is U32HexBE {
  return typeof v === 'string' && /^[0-9a-fA-F]{8}$/.test(v);
}

/**
 * Reads a BIP 310 TMask: hex of a u32, big-endian. The BIP says exactly 8
 * digits, but cgminer-derived firmware formats masks with "%x" (no zero
 * padding, e.g. "3000"), so 1–8 digits are accepted. Encoders always write 8.
 */
export function parseMaskHex(v: unknown): number | undefined {
  if (typeof v !== 'string' || !/^[0-9a-fA-F]{1,8}$/.test(v)) return undefined;
  return Number.parseInt(v, 16) >>> 0;
}

/** The wire form of a mask: 8 lowercase hex digits, big-endian. */
export function formatMaskHex(mask: number): U32HexBE {
  return formatU32BE(mask);
}

/** Bounds on extranonce2_size (bytes): generous around cgminer's 2–16. */
export const EXTRANONCE2_SIZE_LIMITS = Object.freeze({ min: 1, max: 32 });

export function isExtranonce2Size(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) >= EXTRANONCE2_SIZE_LIMITS.min && (v as number) <= EXTRANONCE2_SIZE_LIMITS.max;
}

/** extranonce1 is 4–8 bytes at real pools; more than this is not a pool's. */
export const MAX_EXTRANONCE1_BYTES = 32;

export function isExtranonce1(v: unknown): v is BytesHex {
  return isBytesHex(v) && v.length <= MAX_EXTRANONCE1_BYTES * 2;
}

/** A JSON number > 0 and finite (difficulties may be fractional). */
export function isPositiveNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0;
}

export function isObjectValue(v: unknown): v is { readonly [key: string]: JsonValue } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Bounds on peer strings that hashgate passes on to the other side or keeps
 * (free text, identifiers). Longer ones are cut or refused where they are read.
 */
export const PEER_STRING_LIMITS = Object.freeze({
  /** Free text and short identifiers: BIP 310 info.*, subscription ids, reject reasons, error messages. */
  maxChars: 256,
});

/** A string of at most PEER_STRING_LIMITS.maxChars characters. */
export function isShortString(v: unknown): v is string {
  return typeof v === 'string' && v.length <= PEER_STRING_LIMITS.maxChars;
}

/** A JSON scalar (null, boolean, finite number, short string): safe to pass on as is. */
export function isShortScalar(v: unknown): v is null | boolean | number | string {
  return v === null || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v)) || isShortString(v);
}

/** Cuts free text to PEER_STRING_LIMITS.maxChars characters (no marker: it is passed on, not logged). */
export function clipText(s: string): string {
  return s.length <= PEER_STRING_LIMITS.maxChars ? s : s.slice(0, PEER_STRING_LIMITS.maxChars);
}
