/**
 * Verification (pure): does a rig's share rate show what hashgate commanded?
 * docs/throttling.md § 1 "Verification" and § 5.
 *
 * - still-hashing: curtailed, yet a share arrived later than
 *   verify.afterCurtailMs after the curtail (the cut did not take). A reduced
 *   rig still hashes, so only a full curtail is checked.
 * - not-resumed: resumed more than verify.afterResumeMs ago and no share
 *   since the resume (the rig did not wake, or came back on another pool).
 * - driver-error stays until a command to the rig succeeds (the controller
 *   clears it), unless one of the two above replaces it.
 *
 * Both windows count from the firmware's answer and add the driver's settle
 * time (RigControl.timing: an Antminer restarts its miner process, a
 * Whatsminer boots for minutes), so a slow firmware is not flagged for being
 * slow.
 *
 * Shares are counted at the rig's own share difficulty: hashgate does not
 * lower it to confirm faster, so the windows must allow for a few shares.
 */

import type { DriverTiming, RigAlert, RigPowerState, VerifySettings } from './types.js';

/** What verification looks at for one rig. */
export interface VerifiedRig {
  readonly state: RigPowerState['kind'];
  /** When the last full curtail / resume was sent, or null. */
  readonly curtailedAt: number | null;
  readonly resumedAt: number | null;
  /** The newest accepted share's time, or null. */
  readonly lastShareAt: number | null;
  readonly alert: RigAlert | null;
  /** The driver's timing (null: commands show at once). */
  readonly timing: DriverTiming | null;
}

/** The alert the rig should carry now (null: none). */
export function verifyRig(rig: VerifiedRig, now: number, settings: VerifySettings): RigAlert | null {
  if (
    rig.state === 'curtailed' &&
    rig.curtailedAt !== null &&
    rig.lastShareAt !== null &&
    rig.lastShareAt > rig.curtailedAt + (rig.timing?.curtailSettleMs ?? 0) + settings.afterCurtailMs
  )
    return 'still-hashing';
  if (
    rig.state === 'running' &&
    rig.resumedAt !== null &&
    now > rig.resumedAt + (rig.timing?.resumeSettleMs ?? 0) + settings.afterResumeMs &&
    (rig.lastShareAt === null || rig.lastShareAt < rig.resumedAt)
  )
    return 'not-resumed';
  return rig.alert === 'driver-error' ? 'driver-error' : null;
}
