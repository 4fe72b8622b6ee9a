/**
 * The demo's simulated rigs: for each one a firmware API simulator (LuxOS,
 * ESP-Miner, stock Antminer or Whatsminer API 2.x, from src/sim) and a
 * simulated miner that really hashes at the sim pool's tiny difficulty and
 * connects to hashgate as its worker name.
 *
 * The firmware sim is the rig's power switch: when hashgate's driver puts it
 * to sleep (or pauses it, or powers its boards off), the miner stops hashing
 * but keeps its Stratum socket, as a real rig does; when it wakes, hashing
 * resumes. An Antminer also stops hashing while its miner process restarts
 * after a work-mode write, and a Whatsminer while btminer boots after
 * power_on (both delays scaled down: DemoTimings.sim). The Antminer and
 * Whatsminer sims get a password generated per run; it goes into the
 * in-memory config only, never to the output or a file. `stratum` rigs
 * have no firmware API: hashgate parks them by closing their session and
 * refusing them, and they come back by reconnecting (autoReconnect).
 *
 * A supervisor restarts a miner that gave up reconnecting (bounded), so a rig
 * parked longer than its reconnect attempts still comes back.
 */

import { randomBytes } from 'node:crypto';
import { type AntminerSim, startAntminerSim } from '../sim/antminer-sim.js';
import { type EspMinerSim, startEspMinerSim } from '../sim/esp-miner-sim.js';
import { type LuxosSim, type LuxosSimProfile, startLuxosSim } from '../sim/luxos-sim.js';
import { type SimMiner, startSimMiner } from '../sim/sim-miner.js';
import { type WhatsminerSim, startWhatsminerSim } from '../sim/whatsminer-sim.js';
import { type DemoFirmware, type DemoRigSpec, type DemoTimings, luxosProfileName } from './fleet.js';

export type DemoFirmwareSim = LuxosSim | EspMinerSim | AntminerSim | WhatsminerSim;

export interface DemoRig {
  readonly spec: DemoRigSpec;
  /** The firmware API sim (null for stratum rigs). */
  readonly firmware: DemoFirmwareSim | null;
  readonly miner: SimMiner | null;
  /** False while the firmware has the rig's boards stopped (asleep, paused, powered off, restarting, booting). */
  readonly awake: boolean;
  /** Miners started for this rig (1 + restarts). */
  readonly starts: number;
  /** Times the firmware sim stopped / started the rig's hashing: the simulators' side of every command. */
  readonly firmwareStops: number;
  readonly firmwareStarts: number;
}

export interface DemoRigs {
  readonly rigs: readonly DemoRig[];
  /** Firmware endpoint (port, password) per rig name, for the config. */
  firmwareEndpoints(): Map<string, DemoFirmware>;
  /** Starts the miners against hashgate's Stratum port. */
  connect(port: number): Promise<void>;
  /** Closes the miners (no more reconnects); the firmware sims stay up. */
  stopMiners(): Promise<void>;
  close(): Promise<void>;
}

const SUPERVISE_MS = 1000;
/** A miner that is connected but not authorized for this long (refused by a park) is restarted. */
const UNAUTHORIZED_RESTART_MS = 3000;
const MAX_STARTS_PER_RIG = 200;

class Rig implements DemoRig {
  firmware: DemoFirmwareSim | null = null;
  endpoint: DemoFirmware | null = null;
  miner: SimMiner | null = null;
  awake = true;
  starts = 0;
  firmwareStops = 0;
  firmwareStarts = 0;
  /**
   * Whatsminer: re-reads the sim's state when btminer's boot should be over, in case the sim tells only of commands
   * and not of a boot ending by itself (applyPower is idempotent, so a second word of it changes nothing).
   */
  bootTimer: NodeJS.Timeout | undefined;
  unauthorizedSince: number | null = null;
  starting = false;
  constructor(readonly spec: DemoRigSpec) {}
}

function luxosProfiles(spec: DemoRigSpec): Record<string, LuxosSimProfile> {
  const ghsAt = (w: number) => Math.round((spec.ratedThs * 1000 * w) / spec.ratedWatts);
  const profiles: Record<string, LuxosSimProfile> = { default: { watts: spec.ratedWatts, ghs: spec.ratedThs * 1000 } };
  for (const w of spec.powerTargets) profiles[luxosProfileName(w)] = { watts: w, ghs: ghsAt(w) };
  return profiles;
}

/** A login for one simulator: random per run, so no demo password is a known default. */
const newPassword = (): string => randomBytes(12).toString('base64url');

export async function startDemoRigs(
  specs: readonly DemoRigSpec[],
  options: {
    readonly lifetimeMs: number;
    /** The simulators' scaled delays. */
    readonly sim: DemoTimings['sim'];
    readonly onError?: (rig: string, message: string) => void;
  },
): Promise<DemoRigs> {
  const rigs = specs.map((s) => new Rig(s));
  let port = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const applyPower = (r: Rig, awake: boolean) => {
    if (awake !== r.awake) {
      if (awake) r.firmwareStarts++;
      else r.firmwareStops++;
    }
    r.awake = awake;
    if (awake) r.miner?.resume();
    else r.miner?.pause();
  };

  const startFirmware = async (r: Rig): Promise<void> => {
    const spec = r.spec;
    switch (spec.driver) {
      case 'luxos': {
        const sim = await startLuxosSim({ profiles: luxosProfiles(spec), idleWatts: spec.idleWatts });
        sim.onChange((s) => applyPower(r, !s.sleeping));
        r.firmware = sim;
        r.endpoint = { port: sim.port };
        return;
      }
      case 'esp-miner': {
        const sim = await startEspMinerSim({ hashRate: spec.ratedThs * 1000, activeWatts: spec.ratedWatts, idleWatts: spec.idleWatts });
        sim.onChange((s) => applyPower(r, !s.paused));
        r.firmware = sim;
        r.endpoint = { port: sim.port };
        return;
      }
      case 'antminer': {
        const password = newPassword();
        const sim = await startAntminerSim({
          password,
          hashRate: spec.ratedThs * 1000,
          lowPowerMode: spec.powerTargets.length > 0,
          replyDelayMs: options.sim.antminerReplyMs,
          restartMs: options.sim.antminerRestartMs,
        });
        // Asleep, restarting or booting: 0 GH/s, and the miner stops (its Stratum socket stays open).
        sim.onChange((s) => applyPower(r, s.hashRate > 0));
        r.firmware = sim;
        r.endpoint = { port: sim.port, apiPort: sim.apiPort, password };
        return;
      }
      case 'whatsminer': {
        const password = newPassword();
        const sim = await startWhatsminerSim({
          password,
          ratedWatts: spec.ratedWatts,
          idleWatts: spec.idleWatts,
          ratedThs: spec.ratedThs,
          resumeDelayMs: options.sim.whatsminerBootMs,
        });
        const bootCheck = () => {
          clearTimeout(r.bootTimer);
          if (closed) return; // the miners are gone: nothing to start
          r.bootTimer = setTimeout(() => {
            const s = sim.state;
            applyPower(r, s.hashing);
            if (s.booting) bootCheck(); // a boot restarted meanwhile (another power limit): once more
          }, options.sim.whatsminerBootMs + 10);
        };
        sim.onChange((s) => {
          applyPower(r, s.hashing);
          if (s.booting) bootCheck();
        });
        r.firmware = sim;
        r.endpoint = { port: sim.port, password };
        return;
      }
      case 'stratum':
        return;
    }
  };

  try {
    for (const r of rigs) await startFirmware(r);
  } catch (e) {
    await Promise.all(rigs.map((r) => r.firmware?.close()));
    throw e;
  }

  const startMiner = async (r: Rig) => {
    if (closed || r.starting || r.starts >= MAX_STARTS_PER_RIG) return;
    r.starting = true;
    r.starts++;
    r.unauthorizedSince = null;
    try {
      const m = await startSimMiner({
        host: '127.0.0.1',
        port,
        user: r.spec.name,
        password: 'x',
        userAgent: `hashgate-demo/${r.spec.model}`,
        versionRolling: true, // S19/S21 and ESP-Miner boards all roll version bits (BIP 310)
        autoReconnect: true,
        reconnectAttempts: 20,
        reconnectDelayMs: 250,
        maxReconnectWaitMs: 1000,
        maxHashRate: r.spec.hashRate,
        hashesPerTick: 64,
        lifetimeMs: options.lifetimeMs,
      });
      if (closed) {
        await m.close();
        return;
      }
      r.miner = m;
      if (!r.awake) m.pause();
    } catch (e) {
      // Refused (e.g. parked at accept): the supervisor tries again.
      options.onError?.(r.spec.name, e instanceof Error ? e.message : String(e));
    } finally {
      r.starting = false;
    }
  };

  const supervise = () => {
    const now = Date.now();
    for (const r of rigs) {
      const m = r.miner;
      if (m === null || m.closed) {
        r.miner = null;
        void startMiner(r);
        continue;
      }
      if (m.stats.connected && !m.stats.authorized) {
        r.unauthorizedSince ??= now;
        if (now - r.unauthorizedSince > UNAUTHORIZED_RESTART_MS) {
          r.miner = null;
          void m.close().then(() => startMiner(r));
        }
      } else r.unauthorizedSince = null;
    }
    if (!closed) timer = setTimeout(supervise, SUPERVISE_MS);
  };

  const stopMiners = async () => {
    closed = true;
    clearTimeout(timer);
    for (const r of rigs) clearTimeout(r.bootTimer);
    await Promise.all(rigs.map((r) => r.miner?.close()));
  };

  return {
    rigs,
    firmwareEndpoints() {
      const endpoints = new Map<string, DemoFirmware>();
      for (const r of rigs) if (r.endpoint !== null) endpoints.set(r.spec.name, r.endpoint);
      return endpoints;
    },
    async connect(p) {
      port = p;
      await Promise.all(rigs.map((r) => startMiner(r)));
      timer = setTimeout(supervise, SUPERVISE_MS);
    },
    stopMiners,
    async close() {
      await stopMiners();
      await Promise.all(rigs.map((r) => r.firmware?.close()));
    },
  };
}
