/** Pool side: the Upstream seam, the pool link (a state machine with failover) and its node:net transport. */

export * from './net-transport.js';
export * from './pool-upstream.js';
export * from './transport.js';
export * from './types.js';
