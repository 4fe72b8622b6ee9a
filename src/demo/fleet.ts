/**
 * The demo's site: a fleet of rigs modelled on real machines, a GPU cluster
 * sized against it, and the hashgate config that ties them together. Pure:
 * ports come in, a config file value goes out (buildConfig validates it, the
 * same way `hashgate run` validates an operator's file).
 *
 * Rated numbers are the makers' published figures (watts at the wall, TH/s).
 * Drivers are chosen for honest physics: `luxos` rigs sleep or take a power
 * profile through their firmware API, `esp-miner` rigs pause through AxeOS,
 * the stock-firmware Antminer sleeps or takes its low-power work mode through
 * the web CGI (digest auth), the Whatsminer powers its boards off and on
 * through API 2.x (token + AES writes), and the `stratum` rigs are
 * ESP-Miner ≥ 2.14 boards without API access, which idle their chips when
 * their only pool (hashgate) refuses them.
 *
 * Time is scaled down to the run: the simulators' delays (an Antminer config
 * write restarts its miner process; a Whatsminer boots after power_on) and the
 * drivers' `settle` windows (real defaults: seconds to minutes) are demo-sized,
 * so a one-minute run shows every phase.
 */

import type { DriverKind } from '../throttle/types.js';

export interface RigModel {
  readonly model: string;
  readonly driver: DriverKind;
  readonly ratedWatts: number;
  readonly ratedThs: number;
  /** What it still draws while curtailed (control board, fans). */
  readonly idleWatts: number;
  /**
   * Power targets (watts) below rated that the firmware offers: LuxOS profiles, an Antminer's low-power work mode
   * (one step: `lowPowerWatts`), Whatsminer power limits (`powerTargets`); empty = full curtail only.
   */
  readonly powerTargets: readonly number[];
}

export const RIG_MODELS = Object.freeze({
  s21: { model: 'Antminer S21', driver: 'luxos', ratedWatts: 3500, ratedThs: 200, idleWatts: 25, powerTargets: [3000, 2600] },
  s19xp: { model: 'Antminer S19 XP', driver: 'luxos', ratedWatts: 3010, ratedThs: 140, idleWatts: 20, powerTargets: [2600] },
  s19jpro: { model: 'Antminer S19j Pro', driver: 'luxos', ratedWatts: 3068, ratedThs: 104, idleWatts: 20, powerTargets: [] },
  s19: { model: 'Antminer S19', driver: 'luxos', ratedWatts: 3250, ratedThs: 95, idleWatts: 20, powerTargets: [2800] },
  // Stock Bitmain firmware. Low-power mode (work mode 3) is about a 25 % underclock: its watts are modelled, not published.
  s19jproStock: { model: 'Antminer S19j Pro', driver: 'antminer', ratedWatts: 3068, ratedThs: 104, idleWatts: 20, powerTargets: [2300] },
  // MicroBT's published M50: 114 TH/s at 29 J/TH. The power target is a power limit (adjust_power_limit), a modelled step.
  m50: { model: 'Whatsminer M50', driver: 'whatsminer', ratedWatts: 3306, ratedThs: 114, idleWatts: 15, powerTargets: [2800] },
  gamma: { model: 'Bitaxe Gamma', driver: 'esp-miner', ratedWatts: 17, ratedThs: 1.2, idleWatts: 3, powerTargets: [] },
  supra: { model: 'Bitaxe Supra', driver: 'esp-miner', ratedWatts: 15, ratedThs: 0.7, idleWatts: 3, powerTargets: [] },
  nerdqaxe: { model: 'NerdQAxe++ (no API)', driver: 'stratum', ratedWatts: 76, ratedThs: 4.8, idleWatts: 4, powerTargets: [] },
} satisfies Record<string, RigModel>);

type ModelKey = keyof typeof RIG_MODELS;

/** One slot of the repeating fleet pattern: a model and a priority (lower is curtailed first). */
const PATTERN: readonly { readonly model: ModelKey; readonly priority: number; readonly group: string }[] = [
  { model: 's21', priority: 3, group: 'hall-a' },
  { model: 's19xp', priority: 2, group: 'hall-a' },
  { model: 's19', priority: 0, group: 'hall-b' },
  { model: 'gamma', priority: 0, group: 'lab' },
  { model: 's19jpro', priority: 1, group: 'hall-b' },
  { model: 's21', priority: 3, group: 'hall-a' },
  { model: 'nerdqaxe', priority: 0, group: 'lab' },
  { model: 's19xp', priority: 2, group: 'hall-a' },
  { model: 's19jproStock', priority: 1, group: 'hall-c' },
  { model: 'supra', priority: 1, group: 'lab' },
  { model: 'm50', priority: 1, group: 'hall-c' },
  { model: 'nerdqaxe', priority: 2, group: 'lab' },
];

export interface DemoRigSpec extends RigModel {
  /** Worker name the simulated rig authorizes with, e.g. "demo.rig01". */
  readonly name: string;
  readonly priority: number;
  readonly group: string;
  /** The simulated rig's hash-rate cap (H/s): bigger machines find more shares, all of it cheap. */
  readonly hashRate: number;
}

export const MIN_RIGS = 1;
export const MAX_RIGS = 48;

/** Hash-rate cap of a simulated rig: about 3 to 6 shares a second at the sim pool's difficulty (256 hashes a share). */
function simHashRate(ratedThs: number): number {
  return Math.round(Math.min(1600, Math.max(800, ratedThs * 8)));
}

export function buildFleet(count: number): DemoRigSpec[] {
  if (!Number.isInteger(count) || count < MIN_RIGS || count > MAX_RIGS)
    throw new RangeError(`rigs must be an integer from ${MIN_RIGS} to ${MAX_RIGS}`);
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => {
    const slot = PATTERN[i % PATTERN.length]!;
    const m: RigModel = RIG_MODELS[slot.model];
    return {
      ...m,
      name: `demo.rig${String(i + 1).padStart(width, '0')}`,
      priority: slot.priority,
      group: slot.group,
      hashRate: simHashRate(m.ratedThs),
    };
  });
}

/** LuxOS profile name for a power target, as LuxOS tooling names them ("2800W"). */
export function luxosProfileName(watts: number): string {
  return `${watts}W`;
}

export interface SiteModel {
  readonly asicWatts: number;
  readonly siteBudgetWatts: number;
  readonly baseLoadWatts: number;
  readonly headroomPercent: number;
  readonly gpu: { readonly idleWatts: number; readonly wattsPerRequest: number; readonly maxWatts: number };
  readonly hysteresisWatts: number;
}

const roundUp = (w: number, to: number) => Math.ceil(w / to) * to;

/**
 * A site where, with an idle queue, every rig fits; at the hold depth the
 * GPUs take a bit under half the ASIC watts; at the spike nearly all of them.
 */
export function buildSite(fleet: readonly DemoRigSpec[], holdDepth: number): SiteModel {
  const asicWatts = fleet.reduce((s, r) => s + r.ratedWatts, 0);
  const largest = Math.max(...fleet.map((r) => r.ratedWatts));
  const hysteresisWatts = Math.max(50, roundUp(Math.min(1000, largest * 0.3), 10));
  const headroomPercent = 5;
  const baseLoadWatts = roundUp(asicWatts * 0.02, 10);
  const gpuIdle = roundUp(asicWatts * 0.1, 10);
  // With the queue empty the ASIC budget is the whole fleet plus the hysteresis band (so every rig may resume).
  const siteBudgetWatts = roundUp((asicWatts + hysteresisWatts + baseLoadWatts + gpuIdle) / (1 - headroomPercent / 100), 100);
  const wattsPerRequest = Math.max(1, Math.round((asicWatts * 0.45 + hysteresisWatts) / holdDepth));
  return {
    asicWatts,
    siteBudgetWatts,
    baseLoadWatts,
    headroomPercent,
    gpu: { idleWatts: gpuIdle, wattsPerRequest, maxWatts: gpuIdle + roundUp(asicWatts * 0.95, 10) },
    hysteresisWatts,
  };
}

/** A driver block's `settle` settings (src/throttle/drivers/timing.ts), in ms. */
export interface DemoSettle {
  readonly curtailMs: number;
  readonly resumeMs: number;
  readonly powerMs: number;
}

/** The firmware drivers the demo runs behind simulators. */
export type DemoFirmwareKind = Exclude<DriverKind, 'stratum'>;

/** Timings scaled to the run, so a ten-second demo still shows every phase. */
export interface DemoTimings {
  readonly intervalMs: number;
  readonly minOnMs: number;
  readonly minOffMs: number;
  readonly resumeIntervalMs: number;
  readonly resumeWattsPerStep: number;
  readonly afterCurtailMs: number;
  readonly afterResumeMs: number;
  /** A share later than this after a curtail means the rig kept hashing (the demo's own verification). */
  readonly graceMs: number;
  /** The simulators' delays, scaled down from a real rig's (seconds to minutes). */
  readonly sim: {
    /** Antminer: set_miner_conf answers this long after the write (about 20 s on an S19j Pro). */
    readonly antminerReplyMs: number;
    /** Antminer: the miner process restarts (no hashing, port 4028 closed) this long after a mode change (~10 s). */
    readonly antminerRestartMs: number;
    /** Whatsminer: btminer boots this long after power_on or a power limit before it hashes (minutes). */
    readonly whatsminerBootMs: number;
  };
  /** Each firmware driver block's `settle`: demo-sized (the drivers' defaults are seconds to minutes). */
  readonly settle: Readonly<Record<DemoFirmwareKind, DemoSettle>>;
}

const clamp = (x: number, lo: number, hi: number) => Math.round(Math.min(hi, Math.max(lo, x)));

export function buildTimings(durationMs: number, fleet: readonly DemoRigSpec[]): DemoTimings {
  const intervalMs = clamp(durationMs / 60, 100, 500);
  const big = fleet.filter((r) => r.ratedWatts >= 1000).length;
  const largest = Math.max(...fleet.map((r) => r.ratedWatts));
  // The queue is empty for the last third of the run: time for one big rig per step, plus slack.
  const resumeWindow = durationMs * 0.3;
  const minOnMs = clamp(durationMs / 20, 400, 5000);
  const minOffMs = clamp(durationMs / 20, 400, 5000);
  // The demo's unit of firmware time (300 ms in a one-minute run). Every settle window stays at or under the planner's
  // minimum on/off times (3 units at most), so the windows never change the script's story, only the event times.
  const u = clamp(durationMs / 200, 100, Math.min(minOnMs, minOffMs) / 3);
  const sim = { antminerReplyMs: 2 * u, antminerRestartMs: u, whatsminerBootMs: 2 * u };
  return {
    intervalMs,
    minOnMs,
    minOffMs,
    resumeIntervalMs: clamp(resumeWindow / (big + 2), intervalMs, 3000),
    resumeWattsPerStep: largest + 100,
    afterCurtailMs: clamp(durationMs / 30, 300, 2000),
    afterResumeMs: clamp(durationMs / 8, 2000, 8000),
    graceMs: clamp(durationMs / 30, 300, 1000),
    sim,
    settle: {
      // The LuxOS and AxeOS simulators act at once; the windows stand for the boards stopping and ramping.
      luxos: { curtailMs: u, resumeMs: 2 * u, powerMs: u },
      'esp-miner': { curtailMs: u, resumeMs: u, powerMs: u },
      // After the CGI's answer the miner process restarts, then hashes (normal or low power) or stays asleep.
      antminer: { curtailMs: sim.antminerRestartMs, resumeMs: sim.antminerRestartMs + u, powerMs: sim.antminerRestartMs + u },
      // power_off stops the boards at once here; power_on and a power limit boot btminer first.
      whatsminer: { curtailMs: u, resumeMs: sim.whatsminerBootMs + u, powerMs: sim.whatsminerBootMs + u },
    },
  };
}

/** How hashgate's driver reaches one rig's firmware simulator. */
export interface DemoFirmware {
  /** LuxOS API, AxeOS HTTP, the Antminer's web CGI, or the Whatsminer API 2.x. */
  readonly port: number;
  /** Antminer: the cgminer API (hash rate reads). */
  readonly apiPort?: number;
  /** Antminer web / Whatsminer admin password the simulator was started with: generated per run, never printed. */
  readonly password?: string;
}

export interface DemoPorts {
  readonly poolPort: number;
  /** Firmware endpoint per rig name (every rig but the stratum ones). */
  readonly firmware: ReadonlyMap<string, DemoFirmware>;
}

export interface DemoRedis {
  readonly url: string;
  readonly depthKey: string;
  readonly statusKey: string;
  readonly eventsChannel: string;
}

/** The driver block of a rig behind a firmware simulator on 127.0.0.1 (docs/drivers.md). */
function firmwareDriver(r: DemoRigSpec, kind: DemoFirmwareKind, fw: DemoFirmware, settle: DemoSettle): Record<string, unknown> {
  const base = { host: '127.0.0.1', timeoutMs: 2000, settle };
  const password = () => {
    if (fw.password === undefined) throw new Error(`no firmware password for ${r.name}`);
    return fw.password;
  };
  switch (kind) {
    case 'luxos':
      return {
        type: 'luxos',
        ...base,
        port: fw.port,
        profiles: Object.fromEntries(r.powerTargets.map((w) => [String(w), luxosProfileName(w)])),
      };
    case 'esp-miner':
      return { type: 'esp-miner', ...base, port: fw.port };
    case 'antminer':
      if (fw.apiPort === undefined) throw new Error(`no cgminer API port for ${r.name}`);
      return {
        type: 'antminer',
        ...base,
        webPort: fw.port,
        apiPort: fw.apiPort,
        user: 'root',
        password: password(),
        lowPowerWatts: r.powerTargets[0] ?? null,
        // The simulator answers a write after its (scaled) restart; a real S19j Pro takes ~21 s (default 60 s).
        writeTimeoutMs: 10_000,
      };
    case 'whatsminer':
      // API 2.x named, with its port: "auto" would probe 4433 and 4028, which the simulator does not listen on.
      return { type: 'whatsminer', ...base, port: fw.port, apiVersion: '2', password: password(), powerTargets: [...r.powerTargets] };
  }
}

/** The config file value for buildConfig. */
export function buildDemoConfig(o: {
  readonly fleet: readonly DemoRigSpec[];
  readonly site: SiteModel;
  readonly timings: DemoTimings;
  readonly ports: DemoPorts;
  readonly journalPath: string;
  readonly redis: DemoRedis | null;
}): Record<string, unknown> {
  const { fleet, site, timings: t, ports } = o;
  const rigs = fleet.map((r) => {
    const fw = ports.firmware.get(r.name);
    let driver: Record<string, unknown>;
    if (r.driver === 'stratum') driver = { type: 'stratum' };
    else if (fw === undefined) throw new Error(`no firmware port for ${r.name}`);
    else driver = firmwareDriver(r, r.driver, fw, t.settle[r.driver]);
    return {
      name: r.name,
      match: { worker: r.name },
      ratedWatts: r.ratedWatts,
      ratedThs: r.ratedThs,
      idleWatts: r.idleWatts,
      priority: r.priority,
      group: r.group,
      driver,
    };
  });
  return {
    listen: ['127.0.0.1:0'],
    pools: [`stratum+tcp://127.0.0.1:${ports.poolPort}`],
    limits: { maxConnectionsPerIp: 100_000, maxConnections: 100_000, authorizeTimeoutMs: 10_000 },
    failover: { backoffBaseMs: 100, backoffMaxMs: 1000 },
    shutdown: { deadlineMs: 2000 },
    journal: { path: o.journalPath, rotateBytes: 0 },
    log: { level: 'info' },
    admin: { listen: null },
    throttle: {
      enabled: true,
      intervalMs: t.intervalMs,
      siteBudgetWatts: site.siteBudgetWatts,
      baseLoadWatts: site.baseLoadWatts,
      headroomPercent: site.headroomPercent,
      gpu: site.gpu,
      depth: o.redis === null ? [] : [{ type: 'key', key: o.redis.depthKey }],
      redis: {
        ...(o.redis === null ? {} : { url: o.redis.url, statusKey: o.redis.statusKey, eventsChannel: o.redis.eventsChannel }),
        overrideKey: null,
        capKey: null,
        staleAfterMs: Math.max(1000, 4 * t.intervalMs),
      },
      planner: {
        hysteresisWatts: site.hysteresisWatts,
        minOnMs: t.minOnMs,
        minOffMs: t.minOffMs,
        resumeWattsPerStep: t.resumeWattsPerStep,
        resumeIntervalMs: t.resumeIntervalMs,
        maxCurtailMs: 0,
      },
      // The simulated miners hash a few kH/s, not their rigs' rated TH/s: a level check against rated would flag every
      // power target and resume, so the demo proves decisions by shares and time only.
      verify: { afterCurtailMs: t.afterCurtailMs, afterResumeMs: t.afterResumeMs, measuredLevels: false },
    },
    rigs,
  };
}
