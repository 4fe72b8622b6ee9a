/**
 * `hashgate demo --redis URL`: the demo's stand-in for the site's inference
 * scheduler, which writes the queue depth into Redis. This is the outside
 * world's side of Redis, not hashgate's: hashgate reads the key back through
 * its own adapter (src/throttle/redis.ts), exactly as `hashgate run` would.
 *
 * Only loopback Redis servers are accepted: the demo writes and deletes keys,
 * and it must never touch a production Redis by accident.
 */

import { Redis } from 'ioredis';
import { isLoopback } from '../config/schema.js';
import { HashgateError } from '../util/errors.js';
import { redactUrl } from '../util/log.js';
import type { DepthWriter } from './signals.js';

const COMMAND_TIMEOUT_MS = 1000;
const CONNECT_TIMEOUT_MS = 3000;

/** The keys the demo owns, under one prefix (deleted when the demo ends). */
export function demoRedisKeys(prefix = 'hashgate:demo:'): { depthKey: string; statusKey: string; eventsChannel: string } {
  return { depthKey: `${prefix}depth`, statusKey: `${prefix}status`, eventsChannel: `${prefix}events` };
}

/** Throws HG_ERR_USAGE unless `url` is redis://…@127.x.x.x|[::1]|localhost:port. */
export function checkLoopbackRedisUrl(url: string): void {
  let host: string;
  try {
    const u = new URL(url);
    if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new Error('scheme');
    host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  } catch {
    throw new HashgateError(
      'HG_ERR_USAGE',
      `--redis must be a redis:// URL such as redis://127.0.0.1:6379 (got ${JSON.stringify(redactUrl(url))})`,
    );
  }
  if (!isLoopback(host))
    throw new HashgateError(
      'HG_ERR_USAGE',
      `--redis must point at a Redis on this machine (127.0.0.1, ::1 or localhost), not ${JSON.stringify(host)}: the demo writes and deletes keys of its own there. Start one with: redis-server --port 6379`,
    );
}

/** Connects (bounded) and returns a writer for the depth key; rejects with HG_ERR_USAGE when Redis does not answer. */
export async function createRedisDepthWriter(url: string, keys: { depthKey: string; statusKey: string }): Promise<DepthWriter> {
  checkLoopbackRedisUrl(url);
  const client = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: CONNECT_TIMEOUT_MS,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => (attempt > 20 ? null : Math.min(1000, attempt * 100)),
  });
  let lastError: string | null = null;
  client.on('error', (e: Error) => {
    lastError = e.message;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    client.disconnect();
    const why = lastError ?? (e instanceof Error ? e.message : String(e));
    throw new HashgateError('HG_ERR_USAGE', `cannot reach Redis at ${redactUrl(url)}: ${why}`, { cause: e });
  }
  return {
    async setDepth(depth) {
      await client.set(keys.depthKey, String(depth));
    },
    async close() {
      try {
        if (client.status === 'ready') await client.del(keys.depthKey, keys.statusKey);
      } catch {
        // best effort: the keys are the demo's own and the status hash expires by itself
      }
      client.disconnect();
    },
  };
}
