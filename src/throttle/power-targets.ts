/**
 * A rig's power targets with what its firmware lists (pure). The inventory gives the configured targets
 * (LuxOS `profiles` keys, Antminer `lowPowerWatts`, Whatsminer `powerTargets`); a firmware that lists its own
 * (LuxOS `profiles`: watts and TH/s per profile) adds the ones below rated power, and its TH/s reach the planner.
 * Configured entries override the firmware's watt for watt (the driver uses the configured profile name), so a
 * configured target is always kept. docs/throttling.md § 2 "Power targets".
 */

import type { FirmwarePowerTarget, RigSpec } from './types.js';

/** At most this many targets are taken from a firmware list (LuxOS generates 25). */
export const MAX_FIRMWARE_TARGETS = 64;

export interface MergedTargets {
  readonly powerTargets: readonly number[];
  readonly powerTargetThs: Readonly<Record<number, number>>;
}

/** The spec's configured targets plus the firmware's below rated power, ascending and unique, with the TH/s the firmware gives. */
export function mergePowerTargets(
  spec: Pick<RigSpec, 'ratedWatts' | 'powerTargets' | 'powerTargetThs'>,
  firmware: readonly FirmwarePowerTarget[],
): MergedTargets {
  const watts = new Set<number>(spec.powerTargets);
  const ths: Record<number, number> = { ...spec.powerTargetThs };
  for (const t of firmware.slice(0, MAX_FIRMWARE_TARGETS)) {
    const w = Math.round(t.watts);
    if (!Number.isFinite(t.watts) || w <= 0 || w >= spec.ratedWatts) continue;
    watts.add(w);
    if (t.ths !== null && Number.isFinite(t.ths) && t.ths >= 0 && ths[w] === undefined) ths[w] = t.ths;
  }
  return { powerTargets: [...watts].sort((a, b) => a - b), powerTargetThs: ths };
}
