/**
 * What the throttle end-to-end tests share: a scripted signal source (the demo's in-process kind), the daemon's
 * throttle ticks as a wait source, a firmware simulator's changes as a wait source, and miners that really hash.
 * No sleeps: every wait is on an event, bounded by a deadline that fails the test.
 */

import type { Config } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { SimMiner } from '../../src/sim/sim-miner.js';
import type { SignalReading, SignalSource } from '../../src/throttle/controller.js';
import type { ThrottleEvent, ThrottleStatus } from '../../src/throttle/types.js';
import { createLogger } from '../../src/util/log.js';
import { miner } from '../helpers/sim.js';
import { Signal, type Subscribe, when } from './wait.js';

/** Driver settle times for simulators that act at once (the controller's handling of settle is tested in controller.test.ts). */
export const INSTANT = { curtailMs: 0, resumeMs: 0, powerMs: 0 };

/** A firmware simulator's state changes, as a wait source. */
export const changes =
  (sim: { onChange(fn: () => void): () => void }): Subscribe =>
  (wake) =>
    sim.onChange(wake);

/** The demo-style in-process signal source: depth set by the test. */
export function scriptedSource(): SignalSource & { depth: number } {
  const s = {
    depth: 0,
    poll: async (): Promise<SignalReading> => ({
      ok: true,
      depth: s.depth,
      perSource: [{ label: 'test', value: s.depth }],
      capWatts: null,
      overrides: new Map(),
      warnings: [],
      at: Date.now(),
    }),
    close: () => {},
  };
  return s;
}

/** The daemon's throttle ticks: the last status, and a wait source that fires after every tick. */
export function tickWatch() {
  const ticked = new Signal();
  const w = {
    status: null as ThrottleStatus | null,
    ticks: 0,
    onTick: (s: ThrottleStatus) => {
      w.status = s;
      w.ticks++;
      ticked.fire();
    },
    /** Resolves once pred() holds after some tick (or at once); rejects with the label after ms. */
    until: (pred: () => boolean, label: string, ms?: number) => when(pred, label, [ticked.subscribe], ms),
  };
  return w;
}

/** A simulated miner that really hashes, reconnecting on its own, under the given worker name. */
export const rigMiner = (t: Parameters<typeof miner>[0], port: number, user: string): Promise<SimMiner> =>
  miner(t, port, {
    user,
    maxHashRate: 4000,
    sharesPerSecond: 5,
    autoReconnect: true,
    reconnectAttempts: 10_000,
    reconnectDelayMs: 50,
    lifetimeMs: 110_000,
  });

/** Miners on loopback port 0, one simulated pool, no admin endpoint (tests run in parallel). */
export const onePool = (port: number) => ({ listen: ['127.0.0.1:0'], pools: [`stratum+tcp://127.0.0.1:${port}`], admin: { listen: null } });

/** A 2,000 W site for two 1,000 W rigs; the GPUs need 100 W per queued request; no planner delays. */
export const SMALL_SITE = {
  enabled: true,
  intervalMs: 100,
  siteBudgetWatts: 2000,
  headroomPercent: 0,
  gpu: { idleWatts: 0, wattsPerRequest: 100, maxWatts: 2000 },
  planner: { hysteresisWatts: 0, minOnMs: 0, minOffMs: 0, resumeIntervalMs: 0 },
};

/** A rig's row in a status snapshot. */
export function rigOf(status: ThrottleStatus | null, id: string) {
  return status?.rigs.find((r) => r.id === id);
}

/**
 * The real daemon with the throttle on, fed by a scripted signal source (no Redis), its decision events collected and
 * its ticks watched; stopped at teardown. Returns the port miners connect to.
 */
export async function startThrottled(t: Parameters<typeof miner>[0], config: Config, source: SignalSource) {
  const events: ThrottleEvent[] = [];
  const tw = tickWatch();
  const daemon = new Daemon(config, createLogger({ level: 'silent' }), {
    signalSource: source,
    statusSink: { publishStatus: () => {}, publishEvent: (e) => void events.push(e), close: () => {} },
    onThrottleTick: tw.onTick,
  });
  await daemon.start();
  t.teardown(() => daemon.stop());
  return { daemon, port: daemon.addresses()[0]!.port, events, tw };
}
