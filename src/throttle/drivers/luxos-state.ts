/**
 * The `luxos` driver's readState (luxos.ts): what the rig reports, from read commands that need no session.
 * Reference: docs/drivers.md § luxos "On the wire".
 *
 * - `summary` → `SUMMARY[0]["GHS 5s"]` (else "GHS av"), and `Elapsed` (seconds since LUXminer started).
 * - `power` → `POWER[0].Watts`; `config` → `CONFIG[0].CurtailMode` ("Sleep" after `curtail sleep`).
 * - `version` → `VERSION[0].LUXminer` (else `Miner`): asked once, and again only when `Elapsed` went back
 *   (LUXminer restarted, as it does after a firmware update), so a poll costs no extra connection.
 * `power`, `config` and `version` are optional: an older build answering them with a STATUS error ("Invalid
 * command") leaves the field unknown; a timeout or a dropped connection fails the read as `summary`'s would.
 */

import type { RigFirmwareState } from '../types.js';
import { DriverError } from '../types.js';
import { curtailModeOf, firmwareVersionOf, firstRecord, LuxosStatusError, type LuxosSend, numberOf, type Reply } from './luxos-wire.js';

/** A read the firmware may lack (older LUXminer builds): null on a STATUS error, other failures thrown. */
async function optionalRead(send: LuxosSend, command: string): Promise<Reply | null> {
  try {
    return await send(command, [], command);
  } catch (e) {
    if (e instanceof LuxosStatusError) return null;
    throw e;
  }
}

/** What hashgate last made the rig do, for the detail line. */
export interface LuxosCommanded {
  /** true = hashgate put it to sleep; null = unknown (e.g. after a restart). */
  readonly asleep: boolean | null;
  /** Watts of the profile hashgate selected instead of the full-power one, null when it did not. */
  readonly profileWatts: number | null;
}

export interface LuxosStateReader {
  read(commanded: LuxosCommanded): Promise<RigFirmwareState>;
}

/**
 * The rig's state from `summary` (hash rate), `power` (watts), `config` (CurtailMode: the positive sign of sleep)
 * and `version` (cached), with what hashgate last commanded. A 0 hash rate alone is not sleep: a booting rig
 * reports it too.
 */
export function createLuxosStateReader(send: LuxosSend, where: string): LuxosStateReader {
  let version: string | null = null;
  /** Whether `version` was answered since LUXminer last started. */
  let versionAsked = false;
  let lastElapsed: number | null = null;

  async function firmwareVersion(elapsed: number | null): Promise<string | null> {
    if (elapsed !== null && lastElapsed !== null && elapsed < lastElapsed) versionAsked = false; // restarted
    if (elapsed !== null) lastElapsed = elapsed;
    if (versionAsked) return version;
    const reply = await optionalRead(send, 'version');
    versionAsked = true;
    version = reply === null ? null : firmwareVersionOf(reply);
    return version;
  }

  return {
    async read(commanded) {
      const summary = firstRecord(await send('summary', [], 'summary'), 'SUMMARY');
      const ghs = numberOf(summary?.['GHS 5s']) ?? numberOf(summary?.['GHS av']);
      if (ghs === null) throw new DriverError('luxos', `summary: reply from ${where} has no hash rate`);
      const power = await optionalRead(send, 'power');
      const watts = power === null ? null : numberOf(firstRecord(power, 'POWER')?.Watts);
      const config = await optionalRead(send, 'config');
      const mode = config === null ? null : curtailModeOf(config);
      const firmware = await firmwareVersion(numberOf(summary?.Elapsed));
      const parts = [`${ghs} GH/s (5 s)`, watts === null ? 'power unknown' : `${watts} W`, `curtail mode ${mode ?? 'unknown'}`];
      if (commanded.asleep === true) parts.push('sleep commanded');
      if (commanded.profileWatts !== null) parts.push(`profile for ${commanded.profileWatts} W`);
      return {
        hashing: ghs > 0,
        asleep: mode === null ? null : /sleep/i.test(mode),
        hashrateThs: ghs / 1000,
        powerWatts: watts,
        firmware,
        detail: parts.join(', '),
      };
    },
  };
}
