/**
 * Where the demo's queue depth comes from. The script (./script.ts) sets a
 * depth at fixed times; a DepthFeed carries it to the throttle loop:
 *
 * - in-process (default): a SignalSource the controller polls like the Redis
 *   one, answering the script's current depth;
 * - `--redis URL`: the depth is written to a Redis key of the demo's own, and
 *   the daemon reads it back through its real Redis source (src/throttle/redis.ts).
 *
 * Either way the feed records when each new depth became visible, so the demo
 * can measure the reaction from a depth change to the driver commands it caused.
 */

import type { SignalReading, SignalSource } from '../throttle/controller.js';
import type { DemoPhase } from './script.js';

export interface DepthChange {
  readonly at: number;
  readonly depth: number;
  readonly phase: DemoPhase;
}

export interface DepthFeed {
  /** Publishes a new depth; resolves once a poll can see it (for Redis: once the write is acknowledged). */
  set(depth: number, phase: DemoPhase): Promise<void>;
  readonly changes: readonly DepthChange[];
  readonly current: number;
  /** The in-process source to hand to the daemon, or null when the daemon reads Redis itself. */
  readonly source: (SignalSource & { stats(): { polls: number; failures: number; warnings: number } }) | null;
  close(): Promise<void>;
}

/** Depth changes remembered (a 60 s run has about 30). */
const MAX_CHANGES = 10_000;

function remember(changes: DepthChange[], c: DepthChange): void {
  changes.push(c);
  if (changes.length > MAX_CHANGES) changes.splice(0, changes.length - MAX_CHANGES);
}

/** The in-process feed: the controller polls the script's current depth. */
export function createScriptFeed(now: () => number = Date.now): DepthFeed {
  const changes: DepthChange[] = [];
  let depth = 0;
  let polls = 0;
  const source = {
    poll(): Promise<SignalReading> {
      polls++;
      const reading = {
        ok: true as const,
        depth,
        capWatts: null,
        overrides: new Map<string, 'run' | 'curtail'>(),
        perSource: [{ label: 'demo script', value: depth }],
        warnings: [],
        at: now(),
      };
      return Promise.resolve(reading);
    },
    stats: () => ({ polls, failures: 0, warnings: 0 }),
    close: () => undefined,
  };
  return {
    set(d, phase) {
      if (d !== depth || changes.length === 0) remember(changes, { at: now(), depth: d, phase });
      depth = d;
      return Promise.resolve();
    },
    changes,
    get current() {
      return depth;
    },
    source,
    close: () => Promise.resolve(),
  };
}

/** What the Redis feed needs from a Redis client (./redis-writer.ts). */
export interface DepthWriter {
  setDepth(depth: number): Promise<void>;
  close(): Promise<void>;
}

/** The `--redis` feed: each depth is SET on the demo's key; the daemon's Redis source reads it. */
export function createRedisFeed(writer: DepthWriter, now: () => number = Date.now): DepthFeed {
  const changes: DepthChange[] = [];
  let depth = 0;
  return {
    async set(d, phase) {
      await writer.setDepth(d);
      if (d !== depth || changes.length === 0) remember(changes, { at: now(), depth: d, phase });
      depth = d;
    },
    changes,
    get current() {
      return depth;
    },
    source: null,
    close: () => writer.close(),
  };
}
