/**
 * Parking through Stratum (the `stratum` driver): a parked rig's sessions are
 * closed and its reconnects refused until it is unparked. Refusal happens at
 * TCP accept when the rig's source address belongs to it alone (the rig sees
 * "pool unreachable", which is what lets ESP-Miner ≥ 2.14 idle its chips),
 * and otherwise at authorize, by worker name (several rigs behind one address).
 *
 * This only saves power on firmware that idles without a pool, and only if
 * every pool slot of the rig points at hashgate (docs/drivers.md).
 */

import type { StratumGate } from '../throttle/types.js';

export class ParkRegistry implements StratumGate {
  readonly #parked = new Set<string>();
  /** Source address → rig ids seen on it (to know when an address is a rig's own). */
  readonly #ipRigs = new Map<string, Set<string>>();
  readonly #close: (rigId: string) => void;
  /** Connections refused at accept / closed at authorize because their rig is parked. */
  refusedConnections = 0;
  closedAtAuthorize = 0;

  /** `close(rigId)` closes every live session of the rig. */
  constructor(close: (rigId: string) => void) {
    this.#close = close;
  }

  park(rigId: string): void {
    this.#parked.add(rigId);
    this.#close(rigId);
  }

  unpark(rigId: string): void {
    this.#parked.delete(rigId);
  }

  isParked(rigId: string): boolean {
    return this.#parked.has(rigId);
  }

  get size(): number {
    return this.#parked.size;
  }

  /** Remembers that a rig authorized from an address. Bounded: at most 64 rigs remembered per address. */
  seen(rigId: string, ip: string): void {
    let rigs = this.#ipRigs.get(ip);
    if (rigs === undefined) this.#ipRigs.set(ip, (rigs = new Set()));
    if (rigs.size < 64) rigs.add(rigId);
  }

  /** True when a new connection from `ip` should be refused at once: the address belongs to one rig and it is parked. */
  refusesAddress(ip: string): boolean {
    const rigs = this.#ipRigs.get(ip);
    if (rigs === undefined || rigs.size !== 1) return false;
    const [only] = rigs;
    return this.#parked.has(only!);
  }
}
