/**
 * mulberry32: a tiny seeded PRNG for reproducible test data (the journal
 * generator, the hostile fuzz scripts, benchmarks). The same seed always gives
 * the same sequence. Not for anything secret.
 */

/** Uniform in [0, 1). */
export type Rng = () => number;

export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}
