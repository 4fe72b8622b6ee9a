/**
 * The demo's simulated rigs: for each one a firmware API simulator (LuxOS or
 * ESP-Miner, from src/sim) and a simulated miner that really hashes at the
 * sim pool's tiny difficulty and connects to hashgate as its worker name.
 *
 * The firmware sim is the rig's power switch: when hashgate's driver puts it
 * to sleep (or pauses it), the miner stops hashing but keeps its Stratum
 * socket, as a real rig does; when it wakes, hashing resumes. `stratum` rigs
 * have no firmware API: hashgate parks them by closing their session and
 * refusing them, and they come back by reconnecting (autoReconnect).
 *
 * A supervisor restarts a miner that gave up reconnecting (bounded), so a rig
 * parked longer than its reconnect attempts still comes back.
 */

import { type EspMinerSim, startEspMinerSim } from '../sim/esp-miner-sim.js';
import { type LuxosSim, type LuxosSimProfile, startLuxosSim } from '../sim/luxos-sim.js';
import { type SimMiner, startSimMiner } from '../sim/sim-miner.js';
import { type DemoRigSpec, luxosProfileName } from './fleet.js';

export interface DemoRig {
  readonly spec: DemoRigSpec;
  /** The firmware API sim (null for stratum rigs). */
  readonly firmware: LuxosSim | EspMinerSim | null;
  readonly miner: SimMiner | null;
  /** False while the firmware has the rig asleep / paused. */
  readonly awake: boolean;
  /** Miners started for this rig (1 + restarts). */
  readonly starts: number;
}

export interface DemoRigs {
  readonly rigs: readonly DemoRig[];
  /** Firmware API port per rig name, for the config. */
  firmwarePorts(): Map<string, number>;
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
  firmware: LuxosSim | EspMinerSim | null = null;
  miner: SimMiner | null = null;
  awake = true;
  starts = 0;
  unauthorizedSince: number | null = null;
  starting = false;
  constructor(readonly spec: DemoRigSpec) {}
}

function luxosProfiles(spec: DemoRigSpec): Record<string, LuxosSimProfile> {
  const ghsAt = (w: number) => Math.round((spec.ratedThs * 1000 * w) / spec.ratedWatts);
  const profiles: Record<string, LuxosSimProfile> = { default: { watts: spec.ratedWatts, ghs: spec.ratedThs * 1000 } };
  for (const w of spec.profiles) profiles[luxosProfileName(w)] = { watts: w, ghs: ghsAt(w) };
  return profiles;
}

export async function startDemoRigs(
  specs: readonly DemoRigSpec[],
  options: { readonly lifetimeMs: number; readonly onError?: (rig: string, message: string) => void },
): Promise<DemoRigs> {
  const rigs = specs.map((s) => new Rig(s));
  let port = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const applyPower = (r: Rig, awake: boolean) => {
    r.awake = awake;
    if (awake) r.miner?.resume();
    else r.miner?.pause();
  };

  try {
    for (const r of rigs) {
      if (r.spec.driver === 'luxos') {
        const sim = await startLuxosSim({ profiles: luxosProfiles(r.spec), idleWatts: r.spec.idleWatts });
        sim.onChange((s) => applyPower(r, !s.sleeping));
        r.firmware = sim;
      } else if (r.spec.driver === 'esp-miner') {
        const sim = await startEspMinerSim({
          hashRate: r.spec.ratedThs * 1000,
          activeWatts: r.spec.ratedWatts,
          idleWatts: r.spec.idleWatts,
        });
        sim.onChange((s) => applyPower(r, !s.paused));
        r.firmware = sim;
      }
    }
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
    await Promise.all(rigs.map((r) => r.miner?.close()));
  };

  return {
    rigs,
    firmwarePorts() {
      const ports = new Map<string, number>();
      for (const r of rigs) if (r.firmware !== null) ports.set(r.spec.name, r.firmware.port);
      return ports;
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
