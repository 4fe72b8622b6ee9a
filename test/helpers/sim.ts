/** Simulated pools and miners for tests, closed by the test's teardown; journal reading. */
import { readFileSync } from 'node:fs';
import { type SimMiner, type SimMinerOptions, startSimMiner } from '../../src/sim/sim-miner.js';
import { type SimPool, type SimPoolOptions, startSimPool } from '../../src/sim/sim-pool.js';

/** The part of a tap Test the helpers need. */
export interface Tap {
  teardown(fn: () => unknown): void;
}

export async function pool(t: Tap, o: SimPoolOptions = {}): Promise<SimPool> {
  const p = await startSimPool(o);
  t.teardown(() => p.close());
  return p;
}

/** A simulated miner (worker "rig1" unless `o.user` says otherwise) on a pool or a port on 127.0.0.1. */
export async function miner(t: Tap, target: SimPool | number, o: Partial<SimMinerOptions> = {}): Promise<SimMiner> {
  const port = typeof target === 'number' ? target : target.port;
  const m = await startSimMiner({ port, user: 'rig1', ...o });
  t.teardown(() => m.close());
  return m;
}

/** Every record of a JSONL journal. */
export function records(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}
