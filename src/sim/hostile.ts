/**
 * Hostile Stratum V1 input for fuzz tests (issue 9): a seeded generator of lines that are deep, wide, long or
 * odd in every field of every method, from both sides, and a man-in-the-middle pool link that relays a real
 * simulated pool (./sim-pool.ts) and slips such lines in.
 *
 * Lines are written as text, never with JSON.stringify of a deep value: stringifying a 5,000-deep array is
 * the very stack overflow this fuzz looks for (V8's JSON.parse is iterative, JSON.stringify recurses).
 * Every line stays under the line cap it is meant for (a miner's 16 KiB, a pool's 64 KiB), so it reaches the
 * JSON layer instead of being cut by the framer. Like the other simulators it shares no Stratum code with
 * the rest of src/ (node: modules, and util's byte-level line framer for the link). Loopback only; every
 * count, size and lifetime is bounded.
 *
 * The parts, in ./hostile/: values.ts (PRNG, kinds, one value), targets.ts (where a value goes, one line),
 * scripts.ts (hostile miner connections), answers.ts (hostile pool answers), link-types.ts, relay.ts and
 * link.ts (the pool link).
 */
export { hostileAnswer } from './hostile/answers.js';
export type { HostileLink, HostileLinkOptions, HostileLinkStats, LinkRole } from './hostile/link-types.js';
export { startHostileLink } from './hostile/link.js';
export { D1_LINE, type MinerScript, type MinerScriptOptions, minerScripts } from './hostile/scripts.js';
export {
  buildLine,
  DEFAULT_NOTIFY_PARAMS,
  type HostileLine,
  isHarmlessPoolTarget,
  MINER_PARAMS,
  minerTargets,
  poolBaseParams,
  poolTargets,
  type Target,
} from './hostile/targets.js';
export {
  CONTAINER_KINDS,
  createRng,
  DEEP_KINDS,
  HEAVY_KINDS,
  HOSTILE_KINDS,
  type HostileKind,
  hostileValue,
  jsonShape,
  type Rng,
} from './hostile/values.js';
