/**
 * LuxOS power targets for the `luxos` driver (luxos.ts): the profiles the firmware lists (`profiles`), the
 * ones the inventory configures (`driver.profiles`, watts → name), and the table the driver selects from.
 * Reference: docs/drivers.md § luxos "Power targets"; notes/firmware-apis.md § 3.
 *
 * Wire facts:
 * - `profiles` answers `PROFILES[]`, one entry per profile: "Profile Name", Watts, Hashrate (TH/s), IsTuned,
 *   Frequency, Voltage (what the common client, pyasic, reads: `MiningPreset.from_luxos`).
 * - LuxOS generates 25 profiles (16 down, "default", 8 up; docs.luxor.tech/firmware/features); "default" is the
 *   rig's factory setting (its EEPROM values), and `profileset <session>,default` selects it
 *   (docs.luxor.tech/firmware/api/luxminer/profileset).
 * - `profileset` reads a bare 0–3 as a legacy board id, and its parameters are comma-separated.
 * - An older LUXminer without `profiles` answers STATUS E "Invalid command" (cgminer code 14).
 */

import { DriverError, type FirmwarePowerTarget } from '../types.js';
import { clip } from './common.js';
import { LuxosStatusError, numberOf, type LuxosSend, type Reply } from './luxos-wire.js';

/** Entries of `PROFILES` read at most (LuxOS generates 25); later ones are ignored. */
export const MAX_FIRMWARE_PROFILES = 64;
/** A longer profile name is not one LuxOS generates; skipped. */
const MAX_NAME_LENGTH = 64;
/** No single rig draws this much; a profile claiming more is not usable. */
const MAX_WATTS = 100_000;
/** The profile LuxOS generates from the rig's EEPROM: its factory hash rate and power. */
export const DEFAULT_PROFILE = 'default';

/** Why a profile name cannot go into a `profileset` parameter, or null when it can. */
export function profileNameProblem(name: string): string | null {
  if (name.includes(',')) return 'contains a comma (LuxOS parameters are comma-separated)';
  if (/^\s*[0-3]\s*$/.test(name)) return 'is 0–3, which LuxOS reads as a board id';
  return null;
}

/** One `PROFILES` entry as a power target, or null when it is unusable (no name, no positive watts, a name profileset cannot take). */
function parseEntry(entry: unknown): FirmwarePowerTarget | null {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return null;
  const e = entry as Record<string, unknown>;
  const name = e['Profile Name'];
  if (typeof name !== 'string' || name.trim() === '' || name.length > MAX_NAME_LENGTH || profileNameProblem(name) !== null) return null;
  // Watts are whole numbers in the planner and in driver.profiles; LuxOS reports them so.
  const raw = numberOf(e.Watts);
  const watts = raw === null ? 0 : Math.round(raw);
  if (watts <= 0 || watts > MAX_WATTS) return null;
  const ths = numberOf(e.Hashrate);
  return { watts, ths: ths === null || ths < 0 ? null : ths, name };
}

/**
 * The power targets a `profiles` reply lists, ascending by watts, one per watts ("default" wins a tie, else the
 * first listed). At most MAX_FIRMWARE_PROFILES entries are read; unusable ones are skipped. Throws a DriverError
 * only when the reply has no PROFILES list at all.
 */
export function parseFirmwareProfiles(reply: Reply, where: string): FirmwarePowerTarget[] {
  const list = reply.PROFILES;
  if (!Array.isArray(list)) throw new DriverError('luxos', `profiles: reply from ${where} has no PROFILES list`);
  const byWatts = new Map<number, FirmwarePowerTarget>();
  for (const entry of list.slice(0, MAX_FIRMWARE_PROFILES)) {
    const target = parseEntry(entry);
    if (target === null) continue;
    const held = byWatts.get(target.watts);
    if (held === undefined || (target.name === DEFAULT_PROFILE && held.name !== DEFAULT_PROFILE)) byWatts.set(target.watts, target);
  }
  return [...byWatts.values()].sort((a, b) => a.watts - b.watts);
}

/** Whether a STATUS error says the build has no such command (older LUXminer). */
function isInvalidCommand(e: LuxosStatusError): boolean {
  return e.statusCode === 14 || /invalid command/i.test(e.statusMsg);
}

/** `profiles` sent and parsed (STATUS checked by `send`); [] from a build without the command. Other failures are DriverErrors. */
export async function readFirmwareProfiles(send: LuxosSend, where: string): Promise<FirmwarePowerTarget[]> {
  let reply: Reply;
  try {
    reply = await send('profiles', [], 'profiles');
  } catch (e) {
    if (e instanceof LuxosStatusError && isInvalidCommand(e)) return [];
    throw e;
  }
  return parseFirmwareProfiles(reply, where);
}

export interface ProfileChoice {
  readonly watts: number;
  readonly name: string;
}

/** The profiles the driver selects from: configured ones and the firmware's, by watts. */
export interface LuxosProfileBook {
  /** Whether any profile is known (configured, or listed by the firmware). */
  readonly any: boolean;
  /** The profile resume() returns to; null when none is known. */
  readonly full: ProfileChoice | null;
  /** Takes the firmware's list (from readFirmwareProfiles). */
  learn(firmware: readonly FirmwarePowerTarget[]): void;
  /** The profile name for exactly `watts`; a DriverError (HG_ERR_DRIVER_CONFIG) when none is known or its name is unusable. */
  nameFor(watts: number): string;
}

/** "2400, 2800, 3250", or "25 from 1900 to 3700" for a long list. */
function describeWatts(watts: readonly number[]): string {
  if (watts.length === 0) return 'none';
  if (watts.length <= 8) return watts.join(', ');
  return `${watts.length} from ${watts[0]} to ${watts[watts.length - 1]}`;
}

/**
 * Configured profiles override the firmware's name for the same watts. The full-power profile is the firmware's
 * "default" (at the watts the firmware gives it, under the configured name if one overrides it), else a configured
 * profile named "default", else the highest-watt profile known.
 */
export function createProfileBook(configured: Readonly<Record<string, string>>): LuxosProfileBook {
  const mine = Object.entries(configured).map(([w, name]) => [Number(w), name] as const);
  let firmware: readonly FirmwarePowerTarget[] | null = null;
  let entries: ProfileChoice[] = [];
  let full: ProfileChoice | null = null;

  function rebuild(): void {
    const byWatts = new Map<number, string>();
    for (const t of firmware ?? []) byWatts.set(t.watts, t.name);
    for (const [w, name] of mine) byWatts.set(w, name);
    entries = [...byWatts].map(([watts, name]) => ({ watts, name })).sort((a, b) => a.watts - b.watts);
    const fwDefault = firmware?.find((t) => t.name === DEFAULT_PROFILE);
    const fullWatts = fwDefault?.watts ?? mine.find(([, name]) => name === DEFAULT_PROFILE)?.[0] ?? entries.at(-1)?.watts;
    full = entries.find((e) => e.watts === fullWatts) ?? null;
  }
  rebuild();

  return {
    get any() {
      return entries.length > 0;
    },
    get full() {
      return full;
    },
    learn(list) {
      firmware = list;
      rebuild();
    },
    nameFor(watts) {
      const hit = entries.find((e) => e.watts === watts);
      if (hit === undefined) {
        const fw =
          firmware === null ? "the firmware's profiles not read" : `the firmware lists ${describeWatts(firmware.map((t) => t.watts))}`;
        const known = describeWatts(mine.map(([w]) => w).sort((a, b) => a - b));
        throw new DriverError('luxos', `no LuxOS profile for ${watts} W (driver.profiles has ${known}; ${fw})`, 'HG_ERR_DRIVER_CONFIG');
      }
      const problem = profileNameProblem(hit.name);
      if (problem !== null) throw new DriverError('luxos', `profile name "${clip(hit.name, 40)}" ${problem}`, 'HG_ERR_DRIVER_CONFIG');
      return hit.name;
    },
  };
}
