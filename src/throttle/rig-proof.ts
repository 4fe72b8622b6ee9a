/**
 * Verification applied to the controller's book of rigs: builds what ./verify.ts looks at from a
 * RigRecord, keeps the proof of the rig's last decision (its verdict and when it was reached), and
 * sets a zombie's drawWatts (its measured watts, counted in the budget). The controller raises the
 * alerts. docs/throttling.md § 1 "Verification".
 */

import { type RigRecord, measuredWattsOf } from './rigs.js';
import type { VerifySettings } from './types.js';
import { type Verification, verify } from './verify.js';

/** Verifies one settled rig at `now` and records the outcome on it (proof, drawWatts); the alert is the caller's to raise. */
export function verifyRecord(r: RigRecord, now: number, settings: VerifySettings): Verification {
  const v = verify(
    {
      state: r.state.kind,
      curtailedAt: r.curtailedAt,
      resumedAt: r.resumedAt,
      lastShareAt: r.lastShareAt,
      alert: r.alert,
      timing: r.control?.timing ?? null,
      measured: r.measured,
      // A parked rig (the stratum driver closes its session) sends no share whatever it does: its silence proves
      // nothing about its power, so its curtail is held to the time rules.
      decision: r.proof !== null && r.control?.keepsSession === false ? { ...r.proof, before: null } : r.proof,
      spec: r.spec,
    },
    now,
    settings,
  );
  const p = r.proof;
  if (p !== null && v.proof !== null && (v.proof.state !== p.state || v.proof.by !== p.by)) {
    const at = v.proof.state === p.state ? p.at : v.proof.state === 'pending' ? null : now;
    r.proof = { ...p, state: v.proof.state, by: v.proof.by, at };
  }
  r.drawWatts = v.zombie ? measuredWattsOf(r) : null;
  return v;
}
