/**
 * The protocol codec: line framing with a size cap, the JSON-RPC envelope,
 * typed Stratum V1 messages in both directions, the wire shapes of jobs and
 * shares, and the Stratum error codes. No sockets, no pools, no Redis: bytes
 * and strings in, values out.
 */

export * from './calls.js';
export * from './json-rpc.js';
export * from '../util/line-framer.js';
export * from './messages.js';
export * from './miner.js';
export * from './pool.js';
export * from './pool-results.js';
export * from './stratum-errors.js';
export * from './work-types.js';
