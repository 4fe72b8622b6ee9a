/**
 * The daemon: listeners; accepting or refusing miners (caps, parking, the
 * no-pool state); building the throttle loop and its adapters; reload and
 * shutdown. Each accepted connection is wired in ./connection.ts (session,
 * pool link, framer, authorize deadline, backpressure); the no-pool state is
 * ./no-pool.ts. Every deadline runs on the injected clock and every pool is
 * reached through the injected transport (DaemonExtras). Never crashes on peer
 * input: every line goes through the framer (capped) and the session (which
 * never throws on peer input).
 */

import net from 'node:net';
import { type Config, formatHostPort } from '../config/index.js';
import { JournalWriter } from '../journal/writer.js';
import { encodeReconnect } from '../protocol/pool.js';
import type { MinerSession } from '../session/session.js';
import { netTransport } from '../upstream/net-transport.js';
import type { PoolTransport } from '../upstream/transport.js';
import { type Clock, type ClockTimer, systemClock } from '../util/clock.js';
import { HashgateError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { AdminCounters, AdminSource, MetricsRecorder, PoolView, SessionView } from '../admin/types.js';
import { evaluateReadiness } from '../admin/server.js';
import type { ThrottleController } from '../throttle/controller.js';
import { normalizeRigIp } from '../throttle/drivers/index.js';
import { VERSION } from '../version.js';
import { type Conn, type ConnectionDeps, endMinerSocket, openConnection } from './connection.js';
import { type DaemonCounters, zeroCounters } from './counters.js';
import type { DaemonExtras } from './extras.js';
import { NoPoolState } from './no-pool.js';
import { ParkRegistry } from './park.js';
import { startThrottle } from './throttle-wiring.js';

/** What a reload did to the live sessions. */
export interface ReloadResult {
  /** Sessions whose pool is still configured: untouched (new failover order for later failovers). */
  readonly kept: number;
  /** Sessions whose pool was removed: failing over to the new pool list. */
  readonly moved: number;
}

export type { DaemonCounters } from './counters.js';
export type { DaemonExtras } from './extras.js';

export class Daemon {
  readonly counters: DaemonCounters = zeroCounters();
  readonly startedAt: number;
  #config: Config;
  readonly #log: Logger;
  readonly #servers: net.Server[] = [];
  readonly #conns = new Set<Conn>();
  readonly #perIp = new Map<string, number>();
  #journal: JournalWriter | null = null;
  #nextConn = 1;
  #stopping = false;
  /** The no-pool state (./no-pool.ts). */
  readonly #noPool: NoPoolState;
  #noPoolRefusedLogged = false;

  readonly #extras: DaemonExtras;
  #recorder: MetricsRecorder | null;
  readonly #park = new ParkRegistry((rigId) => this.#closeRig(rigId));
  #throttle: ThrottleController | null = null;
  #listening = false;

  readonly #clock: Clock;
  readonly #transport: PoolTransport;

  constructor(config: Config, log: Logger, extras: DaemonExtras = {}) {
    this.#config = config;
    this.#log = log;
    this.#extras = extras;
    this.#clock = extras.clock ?? systemClock;
    // A no-pool probe round ends within 5 s even when a pool's address swallows the connect.
    this.#transport = extras.transport ?? netTransport({ keepAliveMs: config.limits.tcpKeepAliveMs, probeTimeoutMs: 5000 });
    this.startedAt = this.#clock.now();
    this.#noPool = new NoPoolState({
      clock: this.#clock,
      transport: this.#transport,
      log,
      pools: () => this.#config.pools,
      backoffBaseMs: () => this.#config.failover.backoffBaseMs,
      back: () => (this.counters.noPoolReachable = 0),
    });
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
        localShares: c.journal.localShares,
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
    if (c.throttle.enabled) {
      const throttle = await startThrottle({
        config: c,
        log: this.#log.child({ part: 'throttle' }),
        extras: this.#extras,
        clock: this.#clock,
        conns: this.#conns,
        park: this.#park,
        noPool: () => this.#noPool.active,
        recorder: () => this.#recorder,
      });
      // A SIGTERM while the Redis adapter was loading: stop() has already passed the throttle.
      if (this.#stopping) await throttle.stop();
      else this.#throttle = throttle;
    }
  }

  /** Parking: close every session of the rig (its reconnects are refused while parked). */
  #closeRig(rigId: string): void {
    for (const c of this.#conns) {
      if (c.session.workerNames[0] !== rigId) continue;
      this.counters.refusedParked++;
      endMinerSocket(c.socket);
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
          return { url: p.url, sessions: n, state: n > 0 ? 'up' : this.#noPool.active ? 'down' : 'standby' };
        });
      },
      throttle: () => this.#throttle?.status() ?? null,
      journal: () => this.#journal?.stats ?? null,
      ready: () => evaluateReadiness({ listening: this.#listening, noPool: this.#noPool.active, stopping: this.#stopping }),
    };
  }

  #accept(socket: net.Socket): void {
    const c = this.#config;
    const ip = socket.remoteAddress ?? 'unknown';
    socket.on('error', () => {}); // a reset from the peer is normal; 'close' follows
    if (this.#stopping) return void socket.destroy();
    if (this.#noPool.active) {
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
    const deps: ConnectionDeps = {
      config: c,
      clock: this.#clock,
      transport: this.#transport,
      journal: this.#journal,
      recorder: this.#recorder,
      counters: this.counters,
      park: this.#park,
      poolLost: () => this.#poolLost(),
      closed: (conn) => {
        this.#conns.delete(conn);
        this.counters.active--;
        const left = (this.#perIp.get(ip) ?? 1) - 1;
        if (left <= 0) this.#perIp.delete(ip);
        else this.#perIp.set(ip, left);
      },
    };
    this.#conns.add(openConnection(deps, socket, ip, connId, log));
  }

  /**
   * A session's upstream found no pool for failover.poolLossGraceMs. The first one puts the daemon in
   * the no-pool state (./no-pool.ts): every miner whose pool side is not connected is disconnected
   * (one warn log with the count), new miners are refused, and the pools are probed until one answers.
   */
  #poolLost(): void {
    this.counters.noPoolDisconnects++;
    if (this.#stopping || !this.#noPool.enter()) return;
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
    this.#noPool.stop();
    const deadline = this.#config.shutdown.deadlineMs;
    const started = this.#clock.now();
    for (const s of this.#servers) s.close();
    // 1. Stop taking submits and let the ones already at the pool get their answers relayed (miners
    //    honour client.reconnect at once, so it must not go out before those answers). A slow pool gets
    //    most of the deadline: a share it accepts after we stop waiting is journaled "unknown"
    //    (docs/operations.md says how to reconcile those). Closing needs little: a fifth, at most 1 s.
    const drained = Promise.all([...this.#conns].map((c) => c.session.drain()));
    let timer: ClockTimer | undefined;
    const until = (ms: number) => new Promise<void>((r) => (timer = this.#clock.setTimeout(r, Math.max(0, ms))));
    await Promise.race([drained, until(deadline - Math.min(1000, deadline / 5))]);
    this.#clock.clearTimeout(timer);
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
    await Promise.race([Promise.all(closed), until(deadline - (this.#clock.now() - started))]);
    this.#clock.clearTimeout(timer);
    for (const c of this.#conns) c.socket.destroy();
    await this.#journal?.close();
    this.#log.info(this.counters, 'stopped');
  }
}
