/**
 * The `stratum` driver: for rigs without a firmware API hashgate can use.
 * curtail = park the rig (the daemon closes its Stratum sessions and refuses
 * its reconnects); resume = unpark it (it reconnects on its own schedule).
 *
 * This cuts power only where the firmware idles with no reachable pool
 * (ESP-Miner ≥ 2.14) and only if EVERY pool slot of the rig points at
 * hashgate: cgminer-based firmware fails over to its next pool as soon as the
 * socket closes and keeps hashing there. docs/drivers.md says so plainly.
 */

import type { Logger } from '../../util/log.js';
import { DriverError, type RigControl, type StratumGate } from '../types.js';

export function createStratumControl(rigId: string, gate: StratumGate, log: Logger): RigControl {
  let closed = false;
  const run = (what: 'park' | 'unpark'): Promise<void> => {
    if (closed) return Promise.reject(new DriverError('stratum', 'driver closed'));
    try {
      gate[what](rigId);
    } catch (e) {
      return Promise.reject(new DriverError('stratum', `${what} failed: ${e instanceof Error ? e.message : String(e)}`));
    }
    log.debug({ action: what }, 'stratum gate');
    return Promise.resolve();
  };
  return {
    kind: 'stratum',
    supportsPowerTarget: false,
    keepsSession: false,
    curtail: () => run('park'),
    resume: () => run('unpark'),
    close: () => {
      closed = true;
    },
  };
}
