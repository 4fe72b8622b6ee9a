/**
 * The daemon: listeners, one MinerSession + PoolUpstream per connection,
 * connection caps, authorize timeout, TCP keepalive, backpressure, journal,
 * signals. Never crashes on peer input: every line goes through the framer
 * (capped) and the session (which never throws on peer input).
 */

import net from 'node:net';
import { type Config, formatHostPort } from '../config/index.js';
import { JournalWriter } from '../journal/writer.js';
import { encodeErrorResponse } from '../protocol/json-rpc.js';
import { LineFramer } from '../util/line-framer.js';
import { encodeReconnect } from '../protocol/pool.js';
import { createSession, type MinerSession } from '../session/session.js';
import { createPoolUpstream, type PoolUpstream } from '../upstream/pool-upstream.js';
import { HashgateError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import { StratumErrorCode } from '../protocol/stratum-errors.js';
import type { AdminCounters, AdminSource, MetricsRecorder, PoolView, SessionView } from '../admin/types.js';
import { evaluateReadiness } from '../admin/server.js';
import { ThrottleController, type Fleet, type FleetSession, type SignalSource, type StatusSink } from '../throttle/controller.js';
import { createRigControl, normalizeRigIp } from '../throttle/drivers/index.js';
import { createSignalSource, createStatusPublisher } from '../throttle/redis.js';
import type { RigControl, RigSpec, ThrottleStatus } from '../throttle/types.js';
import { VERSION } from '../version.js';
import { ParkRegistry } from './park.js';

/**
 * Optional parts of the daemon. By default the throttle (when config.throttle.enabled) reads Redis from
 * config.throttle.redis, publishes its status there, and reaches rigs through the drivers in config.rigs.
 * The demo and tests pass their own signal source, sink and controls.
 */
export interface DaemonExtras {
  readonly signalSource?: SignalSource;
  readonly statusSink?: StatusSink | null;
  readonly createControl?: (rig: RigSpec) => RigControl;
  readonly onThrottleTick?: (status: ThrottleStatus) => void;
  /** Metrics hooks (the admin endpoint's Metrics); set before start(). */
  readonly recorder?: MetricsRecorder | null;
}

/** Unusable lines a connection may send before it is dropped. */
const MAX_INVALID_LINES = 100;
/** The reason a session gives when the daemon disconnects its miner for pool loss (logged once, at warn, by #poolLost). */
const POOL_LOST_REASON = 'no pool reachable';

export interface DaemonCounters {
  connections: number;
  active: number;
  refusedTotalCap: number;
  refusedPerIpCap: number;
  authorizeTimeouts: number;
  oversizedLines: number;
  droppedForGarbage: number;
  blocks: number;
  /** Submits answered "rate limited" (limits.submitsPerSecond / submitBurst). */
  rateLimitedSubmits: number;
  /** Miners disconnected for a submit flood (10 × submitBurst over-limit submits ahead of the sustained rate). */
  floodDisconnects: number;
  /** Miners disconnected for lines over the limits (JSON depth/size, worker names, authorize caps; see SESSION_LIMITS). */
  overLimitDisconnects: number;
  /** Connections closed because handling them threw (a bug, logged with HG_ERR_CONNECTION_FAULT); the daemon carried on. */
  connectionFaults: number;
  /** 1 while no pool is reachable (after failover.poolLossGraceMs), else 0. */
  noPoolReachable: number;
  /** Times the daemon entered the no-pool state. */
  noPoolEpisodes: number;
  /** Miners disconnected because no pool was reachable. */
  noPoolDisconnects: number;
  /** Connections refused while no pool was reachable. */
  refusedNoPool: number;
  /** Connections refused or closed because their rig is parked by the stratum driver. */
  refusedParked: number;
}

interface Conn {
  readonly socket: net.Socket;
  readonly session: MinerSession;
  readonly upstream: PoolUpstream;
  readonly ip: string;
}

/** What a reload did to the live sessions. */
export interface ReloadResult {
  /** Sessions whose pool is still configured: untouched (new failover order for later failovers). */
  readonly kept: number;
  /** Sessions whose pool was removed: failing over to the new pool list. */
  readonly moved: number;
}

export class Daemon {
  readonly counters: DaemonCounters = {
    connections: 0,
    active: 0,
    refusedTotalCap: 0,
    refusedPerIpCap: 0,
    authorizeTimeouts: 0,
    oversizedLines: 0,
    droppedForGarbage: 0,
    blocks: 0,
    rateLimitedSubmits: 0,
    floodDisconnects: 0,
    overLimitDisconnects: 0,
    connectionFaults: 0,
    noPoolReachable: 0,
    noPoolEpisodes: 0,
    noPoolDisconnects: 0,
    refusedNoPool: 0,
    refusedParked: 0,
  };
  readonly startedAt = Date.now();
  #config: Config;
  readonly #log: Logger;
  readonly #servers: net.Server[] = [];
  readonly #conns = new Set<Conn>();
  readonly #perIp = new Map<string, number>();
  #journal: JournalWriter | null = null;
  #nextConn = 1;
  #stopping = false;
  /** Set while no pool is reachable: when it started and the probe timer. */
  #noPool: { since: number; timer: NodeJS.Timeout | undefined; probes: Set<net.Socket> } | null = null;
  #noPoolRefusedLogged = false;

  readonly #extras: DaemonExtras;
  #recorder: MetricsRecorder | null;
  readonly #park = new ParkRegistry((rigId) => this.#closeRig(rigId));
  #throttle: ThrottleController | null = null;
  #listening = false;

  constructor(config: Config, log: Logger, extras: DaemonExtras = {}) {
    this.#config = config;
    this.#log = log;
    this.#extras = extras;
    this.#recorder = extras.recorder ?? null;
  }

  /** Metrics hooks; set before start() (the admin Metrics is built on this daemon's adminSource()). */
  set recorder(r: MetricsRecorder | null) {
    this.#recorder = r;
  }

  /** The throttle loop, while config.throttle.enabled. */
  get throttle(): ThrottleController | null {
    return this.#throttle;
  }

  /** Stratum parking (the stratum driver's gate). */
  get park(): ParkRegistry {
    return this.#park;
  }

  get journal(): JournalWriter | null {
    return this.#journal;
  }

  /** The bound addresses (port 0 resolved). */
  addresses(): { host: string; port: number }[] {
    return this.#servers.map((s) => {
      const a = s.address() as net.AddressInfo;
      return { host: a.address, port: a.port };
    });
  }

  /**
   * Opens the journal and every listener. If a listener cannot bind, the ones already open and the
   * journal are closed again and the promise rejects with an HG_ERR_LISTEN HashgateError naming the
   * address; the daemon is then spent (stop() is a no-op).
   */
  async start(): Promise<void> {
    const c = this.#config;
    if (c.journal.path !== null) {
      this.#journal = new JournalWriter({
        path: c.journal.path,
        ntimeWindowSeconds: c.shares.ntimeWindowSeconds,
        rotateBytes: c.journal.rotateBytes,
        onError: (e) => this.#log.error({ code: 'HG_ERR_JOURNAL_OPEN', err: e.message }, 'journal write failed'),
        onRotate: (rotated) => this.#log.info({ rotated, path: c.journal.path }, 'journal rotated'),
      });
    }
    for (const addr of c.listen) {
      const server = net.createServer({ noDelay: true }, (s) => this.#accept(s));
      try {
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(addr.port, addr.host, () => {
            server.off('error', reject);
            resolve();
          });
        });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const where = formatHostPort(addr);
        this.#stopping = true;
        await Promise.all(this.#servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
        await this.#journal?.close();
        throw new HashgateError('HG_ERR_LISTEN', `cannot listen on ${where}: ${err.code ?? err.message}`, { cause: e });
      }
      server.on('error', (e) => this.#log.error({ err: e.message }, 'listener error'));
      this.#servers.push(server);
      const a = server.address() as net.AddressInfo;
      this.#log.info({ host: a.address, port: a.port }, 'listening for miners');
    }
    this.#listening = true;
    if (c.throttle.enabled) this.#startThrottle();
  }

  #startThrottle(): void {
    const c = this.#config;
    const t = c.throttle;
    const log = this.#log.child({ part: 'throttle' });
    const x = this.#extras;
    const redis = { url: t.redis.url, commandTimeoutMs: t.redis.commandTimeoutMs, logger: log };
    const source =
      x.signalSource ?? createSignalSource({ ...redis, sources: t.depth, capKey: t.redis.capKey, overrideKey: t.redis.overrideKey });
    const sink =
      x.statusSink !== undefined
        ? x.statusSink
        : createStatusPublisher({ ...redis, statusKey: t.redis.statusKey, eventsChannel: t.redis.eventsChannel, intervalMs: t.intervalMs });
    const rigs = c.rigs;
    const createControl =
      x.createControl ??
      ((rig: RigSpec) => {
        const driver = (rigs.find((e) => e.name === rig.entry) ?? c.defaultRig).driver;
        return createRigControl(driver, { rigId: rig.id, rigIp: rig.ip, gate: this.#park, log });
      });
    this.#throttle = new ThrottleController({
      config: c,
      source,
      sink,
      fleet: this.#fleet(),
      createControl,
      log,
      onTick: x.onThrottleTick,
      onDriverError: (d) => this.#recorder?.countDriverError(d),
    });
    this.#throttle.start();
    log.info(
      { mode: this.#throttle.mode, rigs: rigs.length, siteBudgetWatts: t.siteBudgetWatts, sources: t.depth.length },
      t.shadow ? 'throttle running in shadow mode: decisions are logged, not carried out' : 'throttle running',
    );
  }

  /** The daemon as the throttle sees it: authorized sessions by rig, fresh work, no-pool state, parking. */
  #fleet(): Fleet {
    const conns = this.#conns;
    return {
      *sessions(): Iterable<FleetSession> {
        for (const c of conns) {
          const s = c.session;
          if (s.status !== 'authorized') continue;
          const rigId = s.workerNames[0];
          if (rigId === undefined) continue;
          let accepted = 0;
          let lastShareAt: number | null = null;
          for (const w of s.workers.values()) {
            accepted += w.accepted;
            if (w.lastShareAt !== null && (lastShareAt === null || w.lastShareAt > lastShareAt)) lastShareAt = w.lastShareAt;
          }
          yield { rigId, ip: normalizeRigIp(c.ip), accepted, lastShareAt };
        }
      },
      refreshWork: (rigId) => {
        for (const c of conns) if (c.session.workerNames[0] === rigId) c.session.refreshWork();
      },
      noPool: () => this.#noPool !== null,
      gate: this.#park,
    };
  }

  /** Parking: close every session of the rig (its reconnects are refused while parked). */
  #closeRig(rigId: string): void {
    for (const c of this.#conns) {
      if (c.session.workerNames[0] !== rigId) continue;
      this.counters.refusedParked++;
      c.socket.end();
      setTimeout(() => c.socket.destroy(), 1000).unref();
    }
  }

  /** What the admin endpoint (/metrics, /status, /readyz) reads. */
  adminSource(): AdminSource {
    return {
      version: VERSION,
      startedAt: this.startedAt,
      daemonCounters: (): AdminCounters => this.counters,
      sessions: (): SessionView[] =>
        [...this.#conns].map((c) => ({
          id: c.session.id,
          peer: `${c.ip}:${c.socket.remotePort ?? 0}`,
          status: c.session.status,
          startedAt: c.session.startedAt,
          difficulty: c.session.difficulty,
          poolConnected: c.session.poolConnected,
          pool: c.upstream.pool?.url ?? null,
          workers: c.session.workers,
        })),
      pools: (): PoolView[] => {
        const counts = new Map<string, number>();
        for (const c of this.#conns) {
          const url = c.upstream.pool?.url;
          if (url !== undefined) counts.set(url, (counts.get(url) ?? 0) + 1);
        }
        return this.#config.pools.map((p) => {
          const n = counts.get(p.url) ?? 0;
          return { url: p.url, sessions: n, state: n > 0 ? 'up' : this.#noPool !== null ? 'down' : 'standby' };
        });
      },
      throttle: () => this.#throttle?.status() ?? null,
      journal: () => this.#journal?.stats ?? null,
      ready: () => evaluateReadiness({ listening: this.#listening, noPool: this.#noPool !== null, stopping: this.#stopping }),
    };
  }

  #accept(socket: net.Socket): void {
    const c = this.#config;
    const ip = socket.remoteAddress ?? 'unknown';
    socket.on('error', () => {}); // a reset from the peer is normal; 'close' follows
    if (this.#stopping) return void socket.destroy();
    if (this.#noPool !== null) {
      this.counters.refusedNoPool++;
      if (!this.#noPoolRefusedLogged) {
        this.#log.warn('no pool reachable: refusing new miners until a pool accepts connections again');
        this.#noPoolRefusedLogged = true;
      }
      return void socket.destroy();
    }
    if (this.#park.size > 0 && this.#park.refusesAddress(normalizeRigIp(ip))) {
      this.counters.refusedParked++;
      return void socket.destroy();
    }
    if (this.#conns.size >= c.limits.maxConnections) {
      this.counters.refusedTotalCap++;
      if (this.counters.refusedTotalCap === 1) this.#log.warn({ max: c.limits.maxConnections }, 'connection cap reached; refusing');
      return void socket.destroy();
    }
    const n = this.#perIp.get(ip) ?? 0;
    if (n >= c.limits.maxConnectionsPerIp) {
      this.counters.refusedPerIpCap++;
      this.#log.debug({ ip, max: c.limits.maxConnectionsPerIp }, 'per-address connection cap reached; refusing');
      return void socket.destroy();
    }
    this.#perIp.set(ip, n + 1);
    this.counters.connections++;
    this.counters.active++;
    const connId = this.#nextConn++;
    const log = this.#log.child({ conn: connId, peer: `${ip}:${socket.remotePort}` });
    if (c.limits.tcpKeepAliveMs > 0) socket.setKeepAlive(true, c.limits.tcpKeepAliveMs);

    const upstream = createPoolUpstream({
      pools: c.pools,
      log,
      requestTimeoutMs: c.limits.poolRequestTimeoutMs,
      backoffBaseMs: c.failover.backoffBaseMs,
      backoffMaxMs: c.failover.backoffMaxMs,
      backoffJitter: c.failover.backoffJitter,
      notifySilenceMs: c.failover.notifySilenceMs,
      primaryRecheckMs: c.failover.primaryRecheckMs,
      poolLossGraceMs: c.failover.poolLossGraceMs,
      tcpKeepAliveMs: c.limits.tcpKeepAliveMs,
      // Backpressure the other way: a pool that does not read makes us stop reading its miner.
      onCongestion: (congested) => (congested ? socket.pause() : socket.resume()),
    });
    const authTimer = setTimeout(() => {
      this.counters.authorizeTimeouts++;
      log.info({ ms: c.limits.authorizeTimeoutMs }, 'miner did not authorize in time; closing');
      socket.destroy();
    }, c.limits.authorizeTimeoutMs);
    const session = createSession({
      id: `${process.pid}-${connId}`,
      peer: `${ip}:${socket.remotePort}`,
      upstream,
      log,
      journal: this.#journal,
      worker: c.worker,
      forwardRejected: c.shares.forwardRejected,
      ntimeWindowSeconds: c.shares.ntimeWindowSeconds,
      send: (line) => {
        // Backpressure: a miner that does not read makes us stop reading its pool.
        if (!socket.destroyed && !socket.write(line)) upstream.pause();
      },
      close: (reason) => {
        // On pool loss every miner goes at once: #poolLost logs that once at warn with the count.
        if (reason === POOL_LOST_REASON) log.debug({ reason }, 'closing miner connection');
        else log.info({ reason }, 'closing miner connection');
        socket.end();
        setTimeout(() => socket.destroy(), 1000).unref();
      },
      onStatus: (s) => {
        if (s !== 'authorized') return;
        clearTimeout(authTimer);
        const rigId = session.workerNames[0];
        if (rigId === undefined) return;
        this.#park.seen(rigId, normalizeRigIp(ip));
        if (this.#park.isParked(rigId)) {
          this.counters.refusedParked++;
          log.debug({ rig: rigId }, 'rig is parked by the throttle; closing');
          socket.end();
          setTimeout(() => socket.destroy(), 1000).unref();
        }
      },
      recorder: this.#recorder,
      onBlock: () => this.counters.blocks++,
      submitsPerSecond: c.limits.submitsPerSecond,
      submitBurst: c.limits.submitBurst,
      onRateLimited: () => this.counters.rateLimitedSubmits++,
      onFlood: () => this.counters.floodDisconnects++,
      onPoolLost: () => this.#poolLost(),
      maxWorkers: c.limits.maxWorkersPerConnection,
      onOverLimit: () => this.counters.overLimitDisconnects++,
      onFault: () => this.counters.connectionFaults++,
    });
    const conn: Conn = { socket, session, upstream, ip };
    this.#conns.add(conn);
    socket.on('drain', () => upstream.resume());
    const framer = new LineFramer({ maxLineBytes: c.limits.maxLineBytes });
    socket.on('data', (chunk: Buffer) => {
      // The session guards its own handling (a throw closes this connection, see MinerSession); this
      // catches whatever is left, so no miner's bytes can ever take the daemon down.
      try {
        this.#onMinerData(conn, framer, chunk, log);
      } catch (e) {
        this.counters.connectionFaults++;
        log.error(
          { code: 'HG_ERR_CONNECTION_FAULT', err: e instanceof Error ? e.message : String(e) },
          'handling a miner connection failed; closing it',
        );
        socket.destroy();
      }
    });
    socket.on('close', () => {
      clearTimeout(authTimer);
      this.#conns.delete(conn);
      this.counters.active--;
      const left = (this.#perIp.get(ip) ?? 1) - 1;
      if (left <= 0) this.#perIp.delete(ip);
      else this.#perIp.set(ip, left);
      session.close('miner disconnected');
      log.debug('miner connection closed');
    });
  }

  /** Bytes from a miner: complete lines go to its session; an oversized line or too much garbage closes it. */
  #onMinerData(conn: Conn, framer: LineFramer, chunk: Buffer, log: Logger): void {
    const { socket, session } = conn;
    for (const ev of framer.feed(chunk)) {
      if (socket.destroyed || session.status === 'closed') return;
      if (ev.type === 'oversized') {
        this.counters.oversizedLines++;
        log.warn({ bytes: ev.bytes, max: framer.maxLineBytes }, 'miner sent a line over the cap; closing');
        socket.end(encodeErrorResponse(null, [StratumErrorCode.Other, 'Line too long', null]));
        socket.destroy();
        return;
      }
      session.handleLine(ev.line);
      if (session.invalidLines > MAX_INVALID_LINES) {
        this.counters.droppedForGarbage++;
        log.warn({ invalidLines: session.invalidLines }, 'too many unusable lines from miner; closing');
        socket.destroy();
        return;
      }
    }
  }

  /**
   * A session's upstream found no pool for failover.poolLossGraceMs. The first one puts the daemon in
   * the no-pool state: every miner whose pool side is not connected is disconnected (one warn log with
   * the count), new miners are refused, and the pools are probed (TCP connect) until one answers.
   */
  #poolLost(): void {
    this.counters.noPoolDisconnects++;
    if (this.#noPool !== null || this.#stopping) return;
    this.#noPool = { since: Date.now(), timer: undefined, probes: new Set() };
    this.#noPoolRefusedLogged = false;
    this.counters.noPoolReachable = 1;
    this.counters.noPoolEpisodes++;
    let others = 0;
    for (const conn of this.#conns) {
      if (conn.session.status === 'closed' || conn.session.poolConnected) continue;
      others++;
      this.counters.noPoolDisconnects++;
      conn.session.poolLost();
    }
    this.#log.warn(
      { miners: others + 1, graceMs: this.#config.failover.poolLossGraceMs, pools: this.#config.pools.length },
      'no pool reachable: disconnecting miners so their own failover takes over; refusing new ones',
    );
    this.#armPoolProbe();
  }

  #armPoolProbe(): void {
    const np = this.#noPool;
    if (np === null || this.#stopping) return;
    const f = this.#config.failover;
    const every = Math.min(5000, Math.max(f.backoffBaseMs, 50));
    np.timer = setTimeout(() => {
      let pending = this.#config.pools.length;
      let found = false;
      for (const pool of this.#config.pools) {
        const probe = net.connect({ host: pool.host, port: pool.port });
        np.probes.add(probe);
        probe.setTimeout(Math.max(every, 1000), () => probe.destroy());
        probe.on('connect', () => {
          found = true;
          probe.destroy();
        });
        probe.on('error', () => {});
        probe.on('close', () => {
          np.probes.delete(probe);
          if (--pending > 0 || this.#noPool !== np || this.#stopping) return;
          if (found) this.#poolBack();
          else this.#armPoolProbe();
        });
      }
    }, every);
  }

  #poolBack(): void {
    const np = this.#noPool;
    if (np === null) return;
    clearTimeout(np.timer);
    for (const p of np.probes) p.destroy();
    this.#noPool = null;
    this.counters.noPoolReachable = 0;
    this.#log.warn({ downMs: Date.now() - np.since }, 'a pool is reachable again; accepting miners');
  }

  /** Sessions alive, for status and tests. */
  sessions(): MinerSession[] {
    return [...this.#conns].map((c) => c.session);
  }

  /**
   * SIGHUP: reopen the journal (logrotate) and, given a config, adopt it. Limits, failover timing,
   * worker mode and share options apply to new connections. Pools apply to live sessions too: a
   * session on a pool that is still listed is untouched (its next failover follows the new order);
   * one on a removed pool fails over to the new list (fresh work with clean_jobs; set_extranonce, or
   * client.reconnect for a miner that cannot take it). journal.rotateBytes applies at once;
   * listen, journal.path and log.* need a restart.
   */
  async reload(config?: Config): Promise<ReloadResult> {
    let kept = 0;
    let moved = 0;
    if (config !== undefined) {
      this.#config = config;
      for (const c of this.#conns) {
        if (c.session.status === 'closed') continue;
        if (c.upstream.setPools(config.pools) === 'moved') moved++;
        else kept++;
      }
      this.#journal?.setRotateBytes(config.journal.rotateBytes);
    }
    await this.#journal?.reopen();
    this.#log.info(
      { sessions: kept + moved, kept, moved, pools: this.#config.pools.map((p) => p.url), configReloaded: config !== undefined },
      'reloaded: journal reopened',
    );
    return { kept, moved };
  }

  /** SIGTERM: stop accepting, tell miners to reconnect, flush the journal; force-close after the deadline. */
  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    // Rigs curtailed through their firmware stay asleep (their power stays with the GPUs); a restart finds
    // them asleep and takes them as curtailed (see ThrottleController).
    await this.#throttle?.stop();
    if (this.#noPool !== null) {
      clearTimeout(this.#noPool.timer);
      for (const p of this.#noPool.probes) p.destroy();
    }
    const deadline = this.#config.shutdown.deadlineMs;
    const started = Date.now();
    for (const s of this.#servers) s.close();
    // 1. Stop taking submits and let the ones already at the pool get their answers relayed (miners
    //    honour client.reconnect at once, so it must not go out before those answers). A slow pool gets
    //    most of the deadline: a share it accepts after we stop waiting is journaled "unknown"
    //    (docs/operations.md says how to reconcile those). Closing needs little: a fifth, at most 1 s.
    const drained = Promise.all([...this.#conns].map((c) => c.session.drain()));
    let timer: NodeJS.Timeout | undefined;
    const until = (ms: number) => new Promise<void>((r) => (timer = setTimeout(r, Math.max(0, ms))));
    await Promise.race([drained, until(deadline - Math.min(1000, deadline / 5))]);
    clearTimeout(timer);
    // 2. Tell every miner to reconnect (another proxy, or this one after a restart), close the miner
    //    sides and wait for them for the rest of the deadline, then force what is left. The sessions end
    //    first (their pool connections close, the miners' lines are ignored): a write after end() (a pool
    //    notify, the answer to a request still at the pool, a reply to the miner) fails and destroys the
    //    socket, and the proxy would not wait for a miner that keeps its side open.
    for (const c of this.#conns) c.session.close('shutdown');
    const reconnect = encodeReconnect({ type: 'reconnect', id: null, host: null, port: null, waitSeconds: null });
    const closed = [...this.#conns].map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.socket.destroyed) return resolve();
          c.socket.once('close', () => resolve());
          c.socket.end(reconnect);
        }),
    );
    await Promise.race([Promise.all(closed), until(deadline - (Date.now() - started))]);
    clearTimeout(timer);
    for (const c of this.#conns) c.socket.destroy();
    await this.#journal?.close();
    this.#log.info(this.counters, 'stopped');
  }
}
