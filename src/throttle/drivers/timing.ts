/**
 * How long each firmware's accepted command takes to show on the rig: the defaults behind a driver's
 * `timing` (RigControl.timing), overridable per rig with the driver block's `settle` settings. The numbers and
 * their sources are in docs/drivers.md "Timing" and notes/firmware-apis.md §§ 1.5, 2.8; none of them is measured
 * on real hardware here, so each errs long (a longer window delays a verification alert; a shorter one raises a
 * false one).
 */

import type { DriverKind, DriverTiming } from '../types.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** The per-driver defaults. */
export const DEFAULT_TIMING: Readonly<Record<DriverKind, DriverTiming>> = {
  // `curtail sleep` stops the boards within seconds; `wakeup` re-inits and ramps the boards (profile frequency).
  luxos: { curtailSettleMs: 15 * SECOND, resumeSettleMs: 2 * MINUTE, powerSettleMs: MINUTE },
  // AxeOS pause/resume act on the one ASIC chain at once; the chip needs a few seconds to find work again.
  'esp-miner': { curtailSettleMs: 5 * SECOND, resumeSettleMs: 30 * SECOND, powerSettleMs: 30 * SECOND },
  // The CGI answers after the miner process restarted (~21 s); sleep then took 12 s in one report, more in another;
  // resume starts bmminer, inits the boards and ramps (an S19 cold start takes minutes).
  antminer: { curtailSettleMs: MINUTE, resumeSettleMs: 5 * MINUTE, powerSettleMs: 5 * MINUTE },
  // power_off answers first (respbefore) and the boards stop after; power_on boots btminer and ramps; a power
  // limit reboots the miner software.
  whatsminer: { curtailSettleMs: 30 * SECOND, resumeSettleMs: 5 * MINUTE, powerSettleMs: 5 * MINUTE },
  // Parking closes the sessions at once; the rig reconnects to hashgate on its own schedule after an unpark.
  stratum: { curtailSettleMs: 0, resumeSettleMs: 0, powerSettleMs: 0 },
};

/** A driver block's `settle` settings: null = the driver's default. */
export interface SettleSettings {
  readonly curtailMs: number | null;
  readonly resumeMs: number | null;
  readonly powerMs: number | null;
}

/** The timing of a driver kind with the block's overrides applied. */
export function driverTiming(kind: DriverKind, settle?: SettleSettings): DriverTiming {
  const d = DEFAULT_TIMING[kind];
  return {
    curtailSettleMs: settle?.curtailMs ?? d.curtailSettleMs,
    resumeSettleMs: settle?.resumeMs ?? d.resumeSettleMs,
    powerSettleMs: settle?.powerMs ?? d.powerSettleMs,
  };
}
