// Tests run the TypeScript sources through tsx (package.json "tap"."node-arg"). tsx registers its
// loader on the main thread only; a worker thread started from a .ts module (the audit's shards)
// inherits this file through its execArgv and registers the same loader here.
import { isMainThread } from 'node:worker_threads';

if (!isMainThread) {
  const { register } = await import('tsx/esm/api');
  register();
}
