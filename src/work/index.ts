/** The work core: pure functions over bytes, no I/O, no clocks. */

export * from './job.js';
export * from './job-store.js';
export * from './reasons.js';
export * from './sha256.js';
export * from './target.js';
export * from './validate-share.js';
export * from './job-cache.js';
