/**
 * Difficulty and target arithmetic.
 *
 * Pool difficulty ("pdiff") is measured against the difficulty-1 target
 * 0x00000000FFFF0000…0000 = 0xFFFF · 2^208 (the target of nbits 0x1d00ffff).
 * A hash meets difficulty d when, read as a 256-bit little-endian integer,
 * it is ≤ floor(diff1 / d). Difficulty may be fractional (test rigs, tiny
 * CPU miners) or far above 2^53 (network difficulty), so targets are exact
 * BigInts and the conversion from a float difficulty is exact too.
 */

/** The difficulty-1 target (pool difficulty 1): 0xFFFF · 2^208. */
export const DIFF1_TARGET: bigint = 0xffffn << 208n;

/** 2^256 − 1: the largest 256-bit value, the easiest possible target. */
export const MAX_TARGET: bigint = (1n << 256n) - 1n;

const F64 = new Float64Array(1);
const U64 = new BigUint64Array(F64.buffer);

/**
 * Splits a positive finite double into an exact integer mantissa and a
 * power-of-two exponent: value = mantissa · 2^exponent, with no rounding.
 */
function splitDouble(value: number): { mantissa: bigint; exponent: number } {
  F64[0] = value;
  const bits = U64[0];
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  if (biased === 0) return { mantissa: fraction, exponent: -1074 }; // subnormal
  return { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

/** True for a usable pool difficulty: a finite number > 0. */
export function isValidDifficulty(d: unknown): d is number {
  return typeof d === 'number' && Number.isFinite(d) && d > 0;
}

/**
 * The share target for pool difficulty `difficulty`: floor(diff1 / d),
 * computed exactly from the double's bits, capped at 2^256 − 1 for
 * difficulties below diff1 / 2^256. Throws RangeError for d ≤ 0, NaN or ∞.
 */
export function targetFromDifficulty(difficulty: number): bigint {
  if (!isValidDifficulty(difficulty)) throw new RangeError(`difficulty must be a finite number > 0, got ${difficulty}`);
  const { mantissa, exponent } = splitDouble(difficulty);
  const target = exponent >= 0 ? DIFF1_TARGET / (mantissa << BigInt(exponent)) : (DIFF1_TARGET << BigInt(-exponent)) / mantissa;
  return target > MAX_TARGET ? MAX_TARGET : target;
}

/** Difficulty a target stands for: diff1 / target (a double; ∞ for target 0). */
export function difficultyFromTarget(target: bigint): number {
  if (target <= 0n) return Number.POSITIVE_INFINITY;
  // Both values are < 2^256, far inside the double range, so Number() only rounds.
  return Number(DIFF1_TARGET) / Number(target);
}

/**
 * Share difficulty of a hash given as its 256-bit little-endian value
 * (diff1 / hash). A zero hash has infinite difficulty.
 */
export function difficultyFromHash(hashValue: bigint): number {
  return difficultyFromTarget(hashValue);
}

export type CompactTargetError = 'negative' | 'overflow' | 'zero';

/** Result of decoding compact nbits. */
export type CompactTarget = { ok: true; target: bigint } | { ok: false; error: CompactTargetError };

/**
 * Decodes Bitcoin's compact target encoding (nbits, as in the header and in
 * mining.notify): 1 byte exponent, 3 bytes mantissa with a sign bit at
 * 0x00800000. target = mantissa · 256^(exponent − 3). Refuses what Bitcoin
 * Core's arith_uint256::SetCompact flags as negative or overflowing, and a
 * zero target, which no hash can meet.
 */
export function targetFromBits(nbits: number): CompactTarget {
  const exponent = nbits >>> 24;
  const mantissa = nbits & 0x007fffff;
  if (mantissa !== 0 && (nbits & 0x00800000) !== 0) return { ok: false, error: 'negative' };
  if (mantissa !== 0 && (exponent > 34 || (mantissa > 0xff && exponent > 33) || (mantissa > 0xffff && exponent > 32))) {
    return { ok: false, error: 'overflow' };
  }
  const target = exponent <= 3 ? BigInt(mantissa >>> (8 * (3 - exponent))) : BigInt(mantissa) << BigInt(8 * (exponent - 3));
  if (target === 0n) return { ok: false, error: 'zero' };
  return { ok: true, target };
}

/**
 * Encodes a target as compact nbits (the inverse of targetFromBits, rounding
 * the target down to 3 significant bytes as Bitcoin Core's GetCompact does).
 */
export function bitsFromTarget(target: bigint): number {
  if (target <= 0n) throw new RangeError('target must be > 0');
  let size = 0;
  for (let t = target; t > 0n; t >>= 8n) size++;
  let mantissa = size <= 3 ? Number(target << BigInt(8 * (3 - size))) : Number(target >> BigInt(8 * (size - 3)));
  if (mantissa & 0x00800000) {
    mantissa >>>= 8;
    size++;
  }
  return ((size << 24) | mantissa) >>> 0;
}
