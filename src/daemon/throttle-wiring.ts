/**
 * The throttle loop as the daemon builds it: the Redis signal source and
 * status publisher (unless DaemonExtras passes others), a rig control per
 * rig through its driver, and the fleet view of the daemon's sessions.
 */

import type { MetricsRecorder } from '../admin/types.js';
import type { Config } from '../config/index.js';
import { type Fleet, type FleetSession, ThrottleController } from '../throttle/controller.js';
import { createRigControl, normalizeRigIp } from '../throttle/drivers/index.js';
import type { RigSpec } from '../throttle/types.js';
import type { Clock } from '../util/clock.js';
import type { Logger } from '../util/log.js';
import type { Conn } from './connection.js';
import type { DaemonExtras } from './extras.js';
import type { ParkRegistry } from './park.js';

export interface ThrottleWiring {
  readonly config: Config;
  readonly log: Logger;
  readonly extras: DaemonExtras;
  readonly clock: Clock;
  /** The daemon's live connections (read on every tick). */
  readonly conns: ReadonlySet<Conn>;
  readonly park: ParkRegistry;
  readonly noPool: () => boolean;
  readonly recorder: () => MetricsRecorder | null;
}

/**
 * Builds and starts the throttle loop (config.throttle.enabled). The Redis adapter (and ioredis, about
 * 28 MiB of RSS) is loaded here, when it is used: a daemon with the throttle off never loads it.
 */
export async function startThrottle(w: ThrottleWiring): Promise<ThrottleController> {
  const c = w.config;
  const t = c.throttle;
  const { log, extras: x } = w;
  const redis = { url: t.redis.url, commandTimeoutMs: t.redis.commandTimeoutMs, logger: log };
  const adapter = x.signalSource === undefined || x.statusSink === undefined ? await import('../throttle/redis.js') : null;
  const source =
    x.signalSource ?? adapter!.createSignalSource({ ...redis, sources: t.depth, capKey: t.redis.capKey, overrideKey: t.redis.overrideKey });
  const sink =
    x.statusSink !== undefined
      ? x.statusSink
      : adapter!.createStatusPublisher({
          ...redis,
          statusKey: t.redis.statusKey,
          eventsChannel: t.redis.eventsChannel,
          intervalMs: t.intervalMs,
        });
  const rigs = c.rigs;
  const createControl =
    x.createControl ??
    ((rig: RigSpec) => {
      const driver = (rigs.find((e) => e.name === rig.entry) ?? c.defaultRig).driver;
      return createRigControl(driver, { rigId: rig.id, rigIp: rig.ip, gate: w.park, log });
    });
  const throttle = new ThrottleController({
    config: c,
    source,
    sink,
    fleet: fleetOf(w),
    createControl,
    log,
    clock: w.clock,
    onTick: x.onThrottleTick,
    onDriverError: (d) => w.recorder()?.countDriverError(d),
  });
  throttle.start();
  log.info(
    { mode: throttle.mode, rigs: rigs.length, siteBudgetWatts: t.siteBudgetWatts, sources: t.depth.length },
    t.shadow ? 'throttle running in shadow mode: decisions are logged, not carried out' : 'throttle running',
  );
  return throttle;
}

/** The daemon as the throttle sees it: authorized sessions by rig, fresh work, no-pool state, parking. */
function fleetOf(w: ThrottleWiring): Fleet {
  const conns = w.conns;
  return {
    *sessions(): Iterable<FleetSession> {
      for (const c of conns) {
        const s = c.session;
        if (s.status !== 'authorized') continue;
        const rigId = s.workerNames[0];
        if (rigId === undefined) continue;
        let accepted = 0;
        let lastShareAt: number | null = null;
        for (const wk of s.workers.values()) {
          accepted += wk.accepted;
          if (wk.lastShareAt !== null && (lastShareAt === null || wk.lastShareAt > lastShareAt)) lastShareAt = wk.lastShareAt;
        }
        const h = s.hashrate();
        const hashrate =
          h === null
            ? null
            : { hashesPerSecond: h.hashesPerSecond, low: h.low, high: h.high, shares: h.shares, windowSeconds: h.windowSeconds };
        yield { rigId, ip: normalizeRigIp(c.ip), accepted, lastShareAt, hashrate };
      }
    },
    refreshWork: (rigId) => {
      for (const c of conns) if (c.session.workerNames[0] === rigId) c.session.refreshWork();
    },
    noPool: w.noPool,
    gate: w.park,
  };
}
