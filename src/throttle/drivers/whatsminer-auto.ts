/**
 * `apiVersion: "auto"` for the `whatsminer` driver: which API a rig speaks, found by probing and kept per control.
 * Reference: docs/drivers.md § whatsminer, notes/firmware-apis.md § 2.7.
 *
 * - Probe 3.x first: framed `{"cmd":"get.device.info","param":null}` on TCP 4433 (./whatsminer-v3.ts); a reply with a
 *   numeric `code` means 3.x. First, because 3.x firmware may still answer on 4028 (not settled: notes § 5 q. 8).
 * - Then, only when 4433 gave no 3.x reply, 2.x: plain `{"cmd":"get_version"}` on TCP 4028; a reply with a STATUS
 *   means 2.x, unless its Msg.fw_ver is a build of 2024-11-01 or later: pyasic takes such a build for 3.x
 *   (`BTMiner.__new__` in pyasic/miners/backends/btminer.py), so a 3.x rig whose 4433 did not answer is never
 *   driven as 2.x on a guess; the detection fails instead (and is tried again, below).
 * - Bounded: one request per version, each within timeoutMs; both read-only, neither carries the password. One
 *   detection at a time per control. The result is kept; a link failure (WhatsminerLinkError: refused, timed out,
 *   cut short) on the version in use makes it doubtful, and the next command probes again only when the backoff
 *   (BACKOFF_BASE_MS doubling to BACKOFF_MAX_MS, back to the base after a command succeeds) has run since the last
 *   probe. Until a first detection succeeds, a command inside the backoff fails at once, without I/O. A firmware
 *   upgrade from 2.x to 3.x (4028 closes, 4433 opens) is found that way.
 */

import type { Logger } from '../../util/log.js';
import { DriverError, type DriverTiming, type RigControl } from '../types.js';
import { describeAddress } from './common.js';
import { firmwareText, type Reply, roundTrip, statusOf, WhatsminerLinkError } from './whatsminer-wire.js';
import { framedRoundTrip } from './whatsminer-v3.js';

export type WhatsminerApiVersion = '2' | '3';

export const BACKOFF_BASE_MS = 5_000;
export const BACKOFF_MAX_MS = 5 * 60_000;
/** pyasic's rule: a firmware build dated after 2024-11 speaks API 3.x. */
const FIRST_V3_BUILD = 20241101;

export interface WhatsminerPorts {
  readonly v2: number;
  readonly v3: number;
}

export interface WhatsminerDetection {
  readonly version: WhatsminerApiVersion;
  /** The firmware text the probe saw, where it says (2.x fw_ver; 3.x system.fwversion). */
  readonly firmware: string | null;
}

const objectOf = (v: unknown): Reply | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Reply) : null);
const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The two probes (module header). Rejects with a DriverError (HG_ERR_DRIVER_COMMAND) naming both answers. */
export async function detectWhatsminerApi(host: string, ports: WhatsminerPorts, timeoutMs: number): Promise<WhatsminerDetection> {
  let v3Problem: string;
  try {
    const reply = await framedRoundTrip(host, ports.v3, { cmd: 'get.device.info', param: null }, timeoutMs, 'get.device.info');
    if (typeof reply.code === 'number') return { version: '3', firmware: firmwareText(objectOf(objectOf(reply.msg)?.system)?.fwversion) };
    v3Problem = `the reply from ${describeAddress(host, ports.v3)} is not API 3.x`;
  } catch (e) {
    v3Problem = messageOf(e);
  }
  let reply: Reply;
  try {
    reply = await roundTrip(host, ports.v2, JSON.stringify({ cmd: 'get_version' }), timeoutMs, 'get_version');
  } catch (e) {
    throw new DriverError('whatsminer', `API version not found: 3.x: ${v3Problem}; 2.x: ${messageOf(e)}`);
  }
  const where = describeAddress(host, ports.v2);
  if (statusOf(reply) === null)
    throw new DriverError('whatsminer', `API version not found: 3.x: ${v3Problem}; 2.x: the reply from ${where} has no STATUS`);
  const firmware = firmwareText(objectOf(reply.Msg)?.fw_ver);
  const build = firmware === null ? NaN : Number(/^(\d{8})/.exec(firmware)?.[1]);
  if (build >= FIRST_V3_BUILD)
    throw new DriverError(
      'whatsminer',
      `API version unclear: ${where} answers API 2.x but its firmware ${firmware} is an API 3.x build, and 3.x: ${v3Problem}; set apiVersion`,
    );
  return { version: '2', firmware };
}

export interface WhatsminerAutoSettings {
  readonly host: string;
  readonly ports: WhatsminerPorts;
  readonly timeoutMs: number;
  readonly log: Logger;
  readonly now: () => number;
  readonly timing: DriverTiming;
  /** The control for a version found (./whatsminer.ts, ./whatsminer-v3.ts). */
  readonly create: (version: WhatsminerApiVersion) => RigControl;
  /** Injected by tests; default detectWhatsminerApi. */
  readonly detect?: (host: string, ports: WhatsminerPorts, timeoutMs: number) => Promise<WhatsminerDetection>;
}

export function createWhatsminerAutoControl(s: WhatsminerAutoSettings): RigControl {
  const detect = s.detect ?? detectWhatsminerApi;
  let inner: { version: WhatsminerApiVersion; control: RigControl } | null = null;
  let doubtful = false;
  let nextProbeAt = 0;
  let backoffMs = BACKOFF_BASE_MS;
  let lastProblem = '';
  let probing: Promise<void> | null = null;
  let closed = false;

  async function probe(): Promise<void> {
    nextProbeAt = s.now() + backoffMs;
    backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
    let found: WhatsminerDetection;
    try {
      found = await detect(s.host, s.ports, s.timeoutMs);
    } catch (e) {
      lastProblem = messageOf(e);
      s.log.warn(
        { code: 'HG_ERR_DRIVER_COMMAND', error: lastProblem, retryInMs: nextProbeAt - s.now() },
        'whatsminer API version not detected',
      );
      if (inner === null) throw e;
      return; // keep the version in use; the command says what is wrong
    }
    doubtful = false;
    if (closed || inner?.version === found.version) return;
    if (inner !== null) s.log.warn({ from: inner.version, to: found.version }, 'whatsminer API version changed');
    else s.log.info({ apiVersion: found.version, firmware: found.firmware }, 'whatsminer API version detected');
    inner?.control.close();
    inner = { version: found.version, control: s.create(found.version) };
  }

  async function current(): Promise<RigControl> {
    if (inner !== null && !doubtful) return inner.control;
    if (probing === null && s.now() >= nextProbeAt) probing = probe().finally(() => (probing = null));
    if (probing !== null) await probing;
    if (inner !== null) return inner.control;
    throw new DriverError(
      'whatsminer',
      `API version not known yet (next probe in ${Math.max(0, nextProbeAt - s.now())} ms): ${lastProblem}`,
    );
  }

  async function use<T>(task: (control: RigControl) => Promise<T>): Promise<T> {
    if (closed) throw new DriverError('whatsminer', 'driver closed');
    const control = await current();
    try {
      const result = await task(control);
      backoffMs = BACKOFF_BASE_MS;
      return result;
    } catch (e) {
      if (e instanceof WhatsminerLinkError) doubtful = true;
      throw e;
    }
  }

  return {
    kind: 'whatsminer',
    supportsPowerTarget: true,
    keepsSession: true,
    timing: s.timing,
    curtail: () => use((c) => c.curtail()),
    resume: () => use((c) => c.resume()),
    setPowerTarget: (watts: number) => use((c) => c.setPowerTarget!(watts)),
    readState: () => use((c) => c.readState!()),
    close: () => {
      closed = true;
      inner?.control.close();
    },
  };
}
