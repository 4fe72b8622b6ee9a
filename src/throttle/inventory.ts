/**
 * The rig inventory: which config entry (`rigs[]`, else `defaultRig`)
 * describes a miner that connected, by worker-name glob and/or source
 * address. Pure: the addresses are parsed here (no node:net), so this module
 * can be tested alone. It reads entries through its own settings types
 * (RigEntrySettings, RigModelSettings in ./types.ts), which a validated config
 * satisfies; the functions that hand a driver block back are generic over it,
 * so a caller gets its own driver type back. Reference: docs/throttling.md,
 * docs/configuration.md.
 */

import type { RigDriverSettings, RigEntrySettings, RigModelSettings, RigSpec } from './types.js';

// ---------------------------------------------------------------------------
// Worker-name globs

/**
 * Glob match on a whole worker name: `*` matches any run of characters (also none), `?` exactly one;
 * every other character matches itself (case-sensitive; no classes, no escapes, no regular expression
 * is built, so a name can never inject one). Iterative with one backtrack point: O(pattern × name).
 * Characters are compared as UTF-16 code units, as the worker name arrived in JSON.
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1; // index in pattern of the last '*'
  let mark = 0; // text index that '*' was last extended to
  while (t < text.length) {
    const c = pattern[p];
    if (c === '?' || (c !== undefined && c !== '*' && c === text[t])) {
      p++;
      t++;
    } else if (c === '*') {
      star = p++;
      mark = t;
    } else if (star >= 0) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

// ---------------------------------------------------------------------------
// Addresses

export interface IpAddress {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
}

function parseIpv4Bytes(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    // Decimal only, no leading zeros (as node's net.isIP: "010" could be read as octal elsewhere).
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

function parseIpv6Bytes(text: string): number[] | null {
  // A zone ("fe80::1%eth0") names the interface; it has no part in the address bits.
  const pct = text.indexOf('%');
  let addr = text;
  if (pct >= 0) {
    // As node's net.isIP: letters, digits, "-", "." and ":" (an interface name or index).
    if (!/^[0-9A-Za-z.:-]+$/.test(text.slice(pct + 1))) return null;
    addr = text.slice(0, pct);
  }
  let tail: number[] = [];
  // A trailing dotted IPv4 address fills the last 32 bits (RFC 4291 §2.2 form 3, e.g. ::ffff:10.0.0.1).
  const lastColon = addr.lastIndexOf(':');
  if (lastColon >= 0 && addr.indexOf('.', lastColon) >= 0) {
    const v4 = parseIpv4Bytes(addr.slice(lastColon + 1));
    if (v4 === null) return null;
    tail = v4;
    addr = `${addr.slice(0, lastColon + 1)}0:0`; // placeholder groups, replaced below
  }
  const halves = addr.split('::');
  if (halves.length > 2) return null;
  const groups = (s: string): number[] | null => {
    if (s === '') return [];
    const out: number[] = [];
    for (const g of s.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]!);
  const rest = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || rest === null) return null;
  let words: number[];
  if (halves.length === 2) {
    // "::" stands for at least one zero group.
    const missing = 8 - head.length - rest.length;
    if (missing < 1) return null;
    words = [...head, ...new Array<number>(missing).fill(0), ...rest];
  } else {
    if (head.length !== 8) return null;
    words = head;
  }
  const bytes = words.flatMap((w) => [w >> 8, w & 0xff]);
  if (tail.length === 4) bytes.splice(12, 4, ...tail);
  return bytes;
}

/** Parses an IPv4 ("10.0.1.7") or IPv6 ("fd00::7", "::ffff:10.0.1.7", "fe80::1%eth0") address; null otherwise. */
export function parseIp(text: string): IpAddress | null {
  if (text.includes(':')) {
    const b = parseIpv6Bytes(text);
    return b === null ? null : { family: 6, bytes: Uint8Array.from(b) };
  }
  const b = parseIpv4Bytes(text);
  return b === null ? null : { family: 4, bytes: Uint8Array.from(b) };
}

const V4_MAPPED_PREFIX = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/** ::ffff:a.b.c.d (how node reports an IPv4 peer on a dual-stack socket) -> a.b.c.d; anything else unchanged. */
export function unmapIpv4(ip: IpAddress): IpAddress {
  if (ip.family !== 6 || !V4_MAPPED_PREFIX.every((b, i) => ip.bytes[i] === b)) return ip;
  return { family: 4, bytes: ip.bytes.slice(12) };
}

function prefixEqual(a: Uint8Array, b: Uint8Array, bits: number): boolean {
  const whole = bits >> 3;
  for (let i = 0; i < whole; i++) if (a[i] !== b[i]) return false;
  const rem = bits & 7;
  if (rem === 0) return true;
  const mask = (0xff << (8 - rem)) & 0xff;
  return (a[whole]! & mask) === (b[whole]! & mask);
}

export interface Cidr {
  readonly network: IpAddress;
  readonly prefix: number;
}

/** "10.0.1.0/24", "10.0.1.7" (= /32), "fd00::/64", "::ffff:10.0.0.0/104"; null when malformed. Host bits may be set. */
export function parseCidrBlock(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const network = parseIp(slash < 0 ? text : text.slice(0, slash));
  if (network === null) return null;
  const max = network.family === 4 ? 32 : 128;
  if (slash < 0) return { network, prefix: max };
  const bits = text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) return null;
  return { network, prefix: Number(bits) };
}

/** a.b.c.d -> ::ffff:a.b.c.d; an IPv6 address unchanged. */
export function mapIpv4(ip: IpAddress): IpAddress {
  if (ip.family !== 4) return ip;
  return { family: 6, bytes: Uint8Array.from([...V4_MAPPED_PREFIX, ...ip.bytes]) };
}

/**
 * Whether an address lies in a network. An IPv4 address and its IPv4-mapped IPv6 form
 * (::ffff:a.b.c.d, how node reports an IPv4 peer on a dual-stack socket) are the same address:
 * "10.0.1.0/24" contains "::ffff:10.0.1.7", and "::ffff:10.0.1.0/120" (or "::/0") contains "10.0.1.7".
 * A malformed network or address matches nothing.
 */
export function cidrContains(cidr: string | Cidr, ip: string | IpAddress): boolean {
  const block = typeof cidr === 'string' ? parseCidrBlock(cidr) : cidr;
  const addr = typeof ip === 'string' ? parseIp(ip) : ip;
  if (block === null || addr === null) return false;
  const a = block.network.family === 4 ? unmapIpv4(addr) : mapIpv4(addr);
  if (a.family !== block.network.family) return false;
  return prefixEqual(block.network.bytes, a.bytes, block.prefix);
}

// ---------------------------------------------------------------------------
// Matching

/** Whether an entry's criteria all hold for this miner (an entry with a cidr never matches an unknown address). */
export function entryMatches(entry: RigEntrySettings, worker: string, ip: string | null): boolean {
  const m = entry.match;
  if (m.worker === undefined && m.cidr === undefined) return false;
  if (m.worker !== undefined && !globMatch(m.worker, worker)) return false;
  if (m.cidr !== undefined && (ip === null || !cidrContains(m.cidr, ip))) return false;
  return true;
}

/** The first entry (config order) whose given criteria all match, or null. */
export function findRigEntry<E extends RigEntrySettings>(entries: readonly E[], worker: string, ip: string | null): E | null {
  return entries.find((e) => entryMatches(e, worker, ip)) ?? null;
}

/**
 * The firmware power targets a driver can set, in watts, ascending and unique, each below ratedWatts: the
 * integer keys of a `luxos` driver's `profiles`; an `antminer` driver's `lowPowerWatts` (its low-power work
 * mode); a `whatsminer` driver's `powerTargets` (integer power limits for adjust_power_limit). Other drivers
 * have none (full curtail only).
 */
export function powerTargetsOf(driver: RigDriverSettings, ratedWatts: number): number[] {
  if (driver.type === 'antminer') {
    const lpm = driver.lowPowerWatts;
    return typeof lpm === 'number' && lpm < ratedWatts ? [lpm] : [];
  }
  let watts: readonly number[] = [];
  if (driver.type === 'whatsminer') watts = driver.powerTargets ?? [];
  else if (driver.type === 'luxos' && driver.profiles !== undefined)
    watts = Object.keys(driver.profiles)
      .filter((k) => /^\d+$/.test(k))
      .map(Number);
  return watts
    .filter((w) => Number.isSafeInteger(w) && w < ratedWatts)
    .sort((a, b) => a - b)
    .filter((w, i, all) => i === 0 || w !== all[i - 1]);
}

/** A matched rig: what the planner needs, and the driver settings the actuator needs. */
export interface InventoryMatch<D extends RigDriverSettings = RigDriverSettings> {
  readonly spec: RigSpec;
  readonly driver: D;
}

/** The RigSpec for a rig described by an inventory entry (or `defaultRig` when entry is null). */
export function rigSpecOf(entry: RigEntrySettings | null, defaultRig: RigModelSettings, id: string, ip: string | null): RigSpec {
  const src = entry ?? defaultRig;
  return {
    id,
    ip,
    entry: entry === null ? 'default' : entry.name,
    group: src.group,
    priority: src.priority,
    ratedWatts: src.ratedWatts,
    ratedThs: src.ratedThs,
    idleWatts: src.idleWatts,
    powerTargets: powerTargetsOf(src.driver, src.ratedWatts),
    override: entry === null ? null : entry.override,
  };
}

/** Binds a miner (worker name as authorized, source address if known) to its inventory entry. */
export function matchInventory<D extends RigDriverSettings>(
  entries: readonly RigEntrySettings<D>[],
  defaultRig: RigModelSettings<D>,
  worker: string,
  ip: string | null,
): InventoryMatch<D> {
  const e = findRigEntry(entries, worker, ip);
  return { spec: rigSpecOf(e, defaultRig, worker, ip), driver: (e ?? defaultRig).driver };
}

/** The RigSpec of a miner: the first entry whose given criteria all match, else `defaultRig` (entry "default"). */
export function matchRig(entries: readonly RigEntrySettings[], defaultRig: RigModelSettings, worker: string, ip: string | null): RigSpec {
  return matchInventory(entries, defaultRig, worker, ip).spec;
}
