/**
 * Benchmark harness: every figure is printed beside a baseline measured in
 * the same run, as a ratio, so numbers from different machines compare.
 */

export interface BenchRow {
  /** What was measured, e.g. "validateShare (12-level branch, version rolling)". */
  readonly name: string;
  /** Throughput of the thing under test. */
  readonly value: number;
  readonly unit: string;
  /** The baseline measured in the same run, same unit. */
  readonly baseline?: { readonly name: string; readonly value: number };
  /** A target, when the issue sets one: pass when value >= min and ratio >= minRatio. */
  readonly target?: { readonly min?: number; readonly minRatio?: number; readonly maxValue?: number };
  /** Extra facts (memory, counts) printed after the row. */
  readonly notes?: readonly string[];
}
