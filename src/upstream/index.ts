/** Pool side: the Upstream seam and the passthrough pool client with failover. */

export * from './pool-upstream.js';
export * from './types.js';
