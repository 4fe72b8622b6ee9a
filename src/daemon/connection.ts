/**
 * One miner connection, wired: its pool link (on the daemon's clock and
 * transport), its MinerSession, the authorize deadline, backpressure both
 * ways, the line framer and the guard that keeps a bug in one connection's
 * handling from taking the daemon down. The daemon decides whether to accept
 * a connection (caps, parking, no-pool state); this file builds it.
 */

import type net from 'node:net';
import type { MetricsRecorder } from '../admin/types.js';
import type { Config } from '../config/index.js';
import type { JournalWriter } from '../journal/writer.js';
import { encodeErrorResponse } from '../protocol/json-rpc.js';
import { StratumErrorCode } from '../protocol/stratum-errors.js';
import { createSession, type MinerSession } from '../session/session.js';
import { normalizeRigIp } from '../throttle/drivers/index.js';
import { PoolUpstream } from '../upstream/pool-upstream.js';
import type { PoolTransport } from '../upstream/transport.js';
import type { Clock } from '../util/clock.js';
import { LineFramer } from '../util/line-framer.js';
import type { Logger } from '../util/log.js';
import { createVardiffSettings, type VardiffSettings } from '../work/vardiff.js';
import type { DaemonCounters } from './counters.js';
import type { ParkRegistry } from './park.js';

/** Unusable lines a connection may send before it is dropped. */
const MAX_INVALID_LINES = 100;

export interface Conn {
  readonly socket: net.Socket;
  readonly session: MinerSession;
  readonly upstream: PoolUpstream;
  readonly ip: string;
}

/** What a connection needs from the daemon. */
export interface ConnectionDeps {
  readonly config: Config;
  readonly clock: Clock;
  readonly transport: PoolTransport;
  readonly journal: JournalWriter | null;
  readonly recorder: MetricsRecorder | null;
  readonly counters: DaemonCounters;
  readonly park: ParkRegistry;
  /** A session's pool link found no pool for failover.poolLossGraceMs. */
  readonly poolLost: () => void;
  /** The miner's socket closed (after the session was closed). */
  readonly closed: (conn: Conn) => void;
}

/**
 * Ends a miner's connection, and destroys it if the miner keeps its side open for a second more. That
 * second is real time on purpose (socket hygiene: nothing waits on it, and an unref'd timer never
 * holds the process), not the daemon's clock.
 */
export function endMinerSocket(socket: net.Socket): void {
  socket.end();
  setTimeout(() => socket.destroy(), 1000).unref();
}

function poolLink(d: ConnectionDeps, socket: net.Socket, log: Logger): PoolUpstream {
  const c = d.config;
  return new PoolUpstream({
    pools: c.pools,
    log,
    clock: d.clock,
    transport: d.transport,
    requestTimeoutMs: c.limits.poolRequestTimeoutMs,
    backoffBaseMs: c.failover.backoffBaseMs,
    backoffMaxMs: c.failover.backoffMaxMs,
    backoffJitter: c.failover.backoffJitter,
    notifySilenceMs: c.failover.notifySilenceMs,
    primaryRecheckMs: c.failover.primaryRecheckMs,
    poolLossGraceMs: c.failover.poolLossGraceMs,
    // Backpressure the other way: a pool that does not read makes us stop reading its miner.
    onCongestion: (congested) => (congested ? socket.pause() : socket.resume()),
  }).start();
}

/** Builds the session and pool link of an accepted miner socket and wires the socket's events. */
const vardiffByConfig = new WeakMap<Config, VardiffSettings | null>();

/** The telemetry difficulty's settings (`shares.localDifficulty`), or null when it is off; made once per config. */
function localDifficultyOf(c: Config): VardiffSettings | null {
  let s = vardiffByConfig.get(c);
  if (s === undefined) {
    const { enabled, ...settings } = c.shares.localDifficulty;
    s = enabled ? createVardiffSettings(settings) : null;
    vardiffByConfig.set(c, s);
  }
  return s;
}

export function openConnection(d: ConnectionDeps, socket: net.Socket, ip: string, connId: number, log: Logger): Conn {
  const c = d.config;
  const counters = d.counters;
  if (c.limits.tcpKeepAliveMs > 0) socket.setKeepAlive(true, c.limits.tcpKeepAliveMs);
  const upstream = poolLink(d, socket, log);
  const authTimer = d.clock.setTimeout(() => {
    counters.authorizeTimeouts++;
    log.info({ ms: c.limits.authorizeTimeoutMs }, 'miner did not authorize in time; closing');
    socket.destroy();
  }, c.limits.authorizeTimeoutMs);
  const session: MinerSession = createSession({
    id: `${process.pid}-${connId}`,
    peer: `${ip}:${socket.remotePort}`,
    upstream,
    log,
    journal: d.journal,
    worker: c.worker,
    forwardRejected: c.shares.forwardRejected,
    ntimeWindowSeconds: c.shares.ntimeWindowSeconds,
    localDifficulty: localDifficultyOf(c),
    send: (line) => {
      // Backpressure: a miner that does not read makes us stop reading its pool.
      if (!socket.destroyed && !socket.write(line)) upstream.pause();
    },
    close: (reason, cause) => {
      // On pool loss every miner goes at once: the daemon logs that once at warn with the count.
      log[cause === 'pool-lost' ? 'debug' : 'info']({ reason, cause }, 'closing miner connection');
      endMinerSocket(socket);
    },
    onStatus: (s) => {
      if (s !== 'authorized') return;
      d.clock.clearTimeout(authTimer);
      const rigId = session.workerNames[0];
      if (rigId === undefined) return;
      d.park.seen(rigId, normalizeRigIp(ip));
      if (!d.park.isParked(rigId)) return;
      counters.refusedParked++;
      log.debug({ rig: rigId }, 'rig is parked by the throttle; closing');
      endMinerSocket(socket);
    },
    recorder: d.recorder,
    onBlock: () => counters.blocks++,
    submitsPerSecond: c.limits.submitsPerSecond,
    submitBurst: c.limits.submitBurst,
    onRateLimited: () => counters.rateLimitedSubmits++,
    onFlood: () => counters.floodDisconnects++,
    onPoolLost: d.poolLost,
    maxWorkers: c.limits.maxWorkersPerConnection,
    onOverLimit: () => counters.overLimitDisconnects++,
    onFault: () => counters.connectionFaults++,
  });
  const conn: Conn = { socket, session, upstream, ip };
  socket.on('drain', () => upstream.resume());
  const framer = new LineFramer({ maxLineBytes: c.limits.maxLineBytes });
  socket.on('data', (chunk: Buffer) => {
    // The session guards its own handling (a throw closes this connection, see MinerSession); this
    // catches whatever is left, so no miner's bytes can ever take the daemon down.
    try {
      onMinerData(counters, conn, framer, chunk, log);
    } catch (e) {
      counters.connectionFaults++;
      log.error(
        { code: 'HG_ERR_CONNECTION_FAULT', err: e instanceof Error ? e.message : String(e) },
        'handling a miner connection failed; closing it',
      );
      socket.destroy();
    }
  });
  socket.on('close', () => {
    d.clock.clearTimeout(authTimer);
    d.closed(conn);
    session.close('miner disconnected');
    log.debug('miner connection closed');
  });
  return conn;
}

/** Bytes from a miner: complete lines go to its session; an oversized line or too much garbage closes it. */
function onMinerData(counters: DaemonCounters, conn: Conn, framer: LineFramer, chunk: Buffer, log: Logger): void {
  const { socket, session } = conn;
  for (const ev of framer.feed(chunk)) {
    if (socket.destroyed || session.status === 'closed') return;
    if (ev.type === 'oversized') {
      counters.oversizedLines++;
      log.warn({ bytes: ev.bytes, max: framer.maxLineBytes }, 'miner sent a line over the cap; closing');
      socket.end(encodeErrorResponse(null, [StratumErrorCode.Other, 'Line too long', null]));
      socket.destroy();
      return;
    }
    session.handleLine(ev.line);
    if (session.invalidLines > MAX_INVALID_LINES) {
      counters.droppedForGarbage++;
      log.warn({ invalidLines: session.invalidLines }, 'too many unusable lines from miner; closing');
      socket.destroy();
      return;
    }
  }
}
