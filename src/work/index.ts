/**
 * The work core: pure functions over bytes, no I/O, no clocks. The wire
 * shapes its functions take (StratumJob, ShareSubmit) are the protocol
 * layer's, re-exported here so a caller of validateShare needs one import;
 * reject reasons and Stratum codes: src/protocol/stratum-errors.ts.
 */

export type { ShareSubmit, StratumJob } from '../protocol/work-types.js';
export * from './job.js';
export * from './job-store.js';
export * from './sha256.js';
export * from './target.js';
export * from './validate-share.js';
export * from './job-cache.js';
export * from './worker-stats.js';
export * from './hashrate.js';
export * from './vardiff.js';
export * from './share-proof.js';
