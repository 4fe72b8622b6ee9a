/** Hostile miner connections: valid handshake lines, then hostile lines into every miner target (issue 9). */
import { buildLine, type HostileLine, list, MINER_PARAMS, minerTargets, type Target } from './targets.js';
import { createRng, HOSTILE_KINDS, LEAD_KINDS, pick, WEIGHTED_KINDS } from './values.js';

/** One hostile miner connection: valid handshake lines (answers awaited), then hostile lines. */
export interface MinerScript {
  readonly label: string;
  /** Valid requests sent first; `awaitIds` are the ids whose answers to wait for before the hostile lines. */
  readonly prefix: readonly string[];
  readonly awaitIds: readonly number[];
  readonly lines: readonly HostileLine[];
}

export interface MinerScriptOptions {
  /** The daemon's limits.maxLineBytes (default 16384); lines stay below it. */
  maxLineBytes?: number;
  /** Random lines after the one the script is about (default 2). */
  extraLines?: number;
}

/** Issue 9, D1, exactly as reported: before any subscribe, configure params[1] = {"x": 5,000 deep}. */
export const D1_LINE = `{"id":1,"method":"mining.configure","params":[["version-rolling"],{"x":${'['.repeat(5000)}${']'.repeat(5000)}}]}`;

function prefixFor(phase: 'before' | 'after', i: number, worker: string): string[] {
  const configure = `{"id":101,"method":"mining.configure","params":${list(MINER_PARAMS['mining.configure']!)}}`;
  if (phase === 'before') return i % 2 === 0 ? [] : [configure];
  const lines = [
    `{"id":102,"method":"mining.subscribe","params":["hostile/1.0"]}`,
    `{"id":103,"method":"mining.authorize","params":[${JSON.stringify(worker)},"x"]}`,
  ];
  if (i % 3 === 0) lines.unshift(configure);
  if (i % 3 === 1)
    lines.push(
      '{"id":104,"method":"mining.extranonce.subscribe","params":[]}',
      '{"id":105,"method":"mining.suggest_difficulty","params":[0.5]}',
    );
  return lines;
}

/**
 * Scripts covering every miner target both before a handshake and after a valid subscribe/authorize: one
 * script per target and phase leads with that target (so it counts even if the proxy then drops the
 * connection), at the deepest that fits, then `extraLines` random ones. Same seed, same scripts.
 */
export function minerScripts(seed: number, o: MinerScriptOptions = {}): MinerScript[] {
  const rng = createRng(seed);
  const max = (o.maxLineBytes ?? 16384) - 64;
  const targets = minerTargets();
  const scripts: MinerScript[] = [];
  let id = 1;
  for (const phase of ['before', 'after'] as const) {
    targets.forEach((lead, i) => {
      const worker = `hostile.w${scripts.length}`;
      const params = (t: Target) => (MINER_PARAMS[t.method] ?? []).map((p) => (p === '"hostile.w"' ? JSON.stringify(worker) : p));
      // The deepest kinds lead: in 16 KB only these two get past the ~4,100 levels that overflowed the stack.
      const leadKind = phase === 'before' || rng() < 0.75 ? LEAD_KINDS[(i + (phase === 'after' ? 1 : 0)) % 2]! : pick(rng, HOSTILE_KINDS);
      const lines = [buildLine(rng, lead, leadKind, max, String(id++), params(lead), true)];
      for (let k = 0; k < (o.extraLines ?? 2); k++) {
        const t = pick(rng, targets);
        lines.push(buildLine(rng, t, pick(rng, WEIGHTED_KINDS), max, String(id++), params(t)));
      }
      const prefix = prefixFor(phase, i, worker);
      const awaitIds = prefix.map((l) => Number(/^\{"id":(\d+)/.exec(l)![1]));
      scripts.push({ label: `${phase}: ${lines[0]!.label}`, prefix, awaitIds, lines });
    });
  }
  // Fisher–Yates with the seeded rng.
  for (let i = scripts.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [scripts[i], scripts[j]] = [scripts[j]!, scripts[i]!];
  }
  return scripts;
}
