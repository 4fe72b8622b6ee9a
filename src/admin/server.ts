/**
 * The admin HTTP endpoint (loopback by default): /metrics (Prometheus text),
 * /healthz (live), /healthz?ready and /readyz (ready), /status (JSON).
 *
 * Safety: GET/HEAD only, no request bodies, small header and time limits,
 * a bad request never reaches more than a 4xx answer. With a bearer token
 * configured every path except the health checks needs it (compared in
 * constant time); without one it refuses a non-loopback address. The token
 * never reaches a log line.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type net from 'node:net';
import { formatHostPort, type HostPort, isLoopback } from '../config/schema.js';
import { hashrateOf } from '../session/stats.js';
import type { JournalWriterStats } from '../journal/writer.js';
import type { ThrottleStatus } from '../throttle/types.js';
import { HashgateError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { Metrics } from './metrics.js';
import type { AdminCounters, AdminSource, PoolView, Readiness } from './types.js';

/** Tokens shorter than this are refused (same floor as the config schema's admin.token). */
export const MIN_TOKEN_CHARS = 16;
/** /status lists at most this many workers (the rest are counted in `workersOmitted`). */
export const MAX_STATUS_WORKERS = 10_000;
const LIMITS = Object.freeze({
  maxHeaderSize: 8 * 1024,
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  keepAliveTimeoutMs: 5_000,
  idleSocketMs: 15_000,
  maxConnections: 64,
  maxRequestsPerSocket: 100,
});

export interface AdminServerOptions {
  readonly listen: HostPort;
  /** admin.token; trimmed. */
  readonly token?: string | null;
  /** admin.tokenFile: read once here, trimmed. */
  readonly tokenFile?: string | null;
  readonly source: AdminSource;
  readonly metrics: Pick<Metrics, 'contentType' | 'metrics'>;
  readonly log: Logger;
  readonly now?: () => number;
}

export interface AdminServer {
  /** The bound address (port 0 resolved). */
  readonly address: HostPort;
  /** Stops listening and drops open connections. */
  close(): Promise<void>;
}

/**
 * Ready = listening for miners, a pool reachable (the daemon's no-pool state starts only after
 * failover.poolLossGraceMs without any pool, so the grace is built in) and not shutting down.
 */
export function evaluateReadiness(i: { readonly listening: boolean; readonly noPool: boolean; readonly stopping: boolean }): Readiness {
  const why: string[] = [];
  if (!i.listening) why.push('not listening for miners');
  if (i.noPool) why.push('no pool reachable (failover.poolLossGraceMs passed)');
  if (i.stopping) why.push('shutting down');
  return { ready: why.length === 0, why };
}

/** The bearer token from admin.token or admin.tokenFile (read once), trimmed; null when neither is set. */
export async function loadAdminToken(o: { readonly token?: string | null; readonly tokenFile?: string | null }): Promise<string | null> {
  const token = o.token ?? null;
  const file = o.tokenFile ?? null;
  if (token !== null && file !== null) throw new HashgateError('HG_ERR_CONFIG', 'admin: give "token" or "tokenFile", not both');
  let value: string;
  let where: string;
  if (file !== null) {
    where = `admin.tokenFile (${file})`;
    try {
      value = await readFile(file, 'utf8');
    } catch (e) {
      throw new HashgateError('HG_ERR_CONFIG', `${where}: cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'})`, { cause: e });
    }
  } else if (token !== null) {
    where = 'admin.token';
    value = token;
  } else return null;
  value = value.trim();
  if (value.length < MIN_TOKEN_CHARS || /\s/.test(value))
    throw new HashgateError('HG_ERR_CONFIG', `${where}: the token must be at least ${MIN_TOKEN_CHARS} characters, without spaces`);
  return value;
}

/** Constant-time check of an Authorization header against the token (digests have equal length, so no length leak). */
export function checkBearer(header: string | undefined, token: string): boolean {
  const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
  const given = createHash('sha256')
    .update(m?.[1] ?? '')
    .digest();
  const want = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, want) && m !== null;
}

export interface WorkerStatusRow {
  readonly worker: string;
  readonly session: string;
  readonly peer: string;
  readonly status: string;
  readonly pool: string | null;
  readonly difficulty: number;
  readonly accepted: number;
  readonly rejected: Readonly<Record<string, number>>;
  readonly rejectedTotal: number;
  readonly poolRejected: number;
  readonly poolTimeouts: number;
  readonly disagreements: number;
  readonly blocks: number;
  readonly acceptedDifficulty: number;
  /** H/s estimated from accepted difficulty since the session started (d × 2^32 hashes per share). */
  readonly hashrate: number;
  readonly firstShareAt: number | null;
  readonly lastShareAt: number | null;
  readonly poolRttMs: number | null;
}

export interface StatusDocument {
  readonly version: string;
  readonly now: number;
  readonly startedAt: number;
  readonly uptimeSeconds: number;
  readonly ready: Readiness;
  readonly counters: AdminCounters;
  readonly pools: readonly PoolView[];
  readonly sessions: {
    readonly count: number;
    readonly byStatus: Readonly<Record<string, number>>;
    readonly workers: readonly WorkerStatusRow[];
    readonly workersOmitted: number;
  };
  readonly journal: JournalWriterStats | null;
  readonly throttle: ThrottleStatus | null;
}

/** The /status document (times are ms since the epoch). */
export function buildStatus(source: AdminSource, now: number, maxWorkers = MAX_STATUS_WORKERS): StatusDocument {
  const sessions = source.sessions();
  const byStatus: Record<string, number> = {};
  const workers: WorkerStatusRow[] = [];
  let omitted = 0;
  for (const s of sessions) {
    byStatus[s.status] = (byStatus[s.status] ?? 0) + 1;
    for (const [worker, w] of s.workers) {
      if (workers.length >= maxWorkers) {
        omitted++;
        continue;
      }
      const rejected: Record<string, number> = {};
      let rejectedTotal = 0;
      for (const [reason, n] of Object.entries(w.rejected)) {
        if (n === undefined || n === 0) continue;
        rejected[reason] = n;
        rejectedTotal += n;
      }
      workers.push({
        worker,
        session: s.id,
        peer: s.peer,
        status: s.status,
        pool: s.pool,
        difficulty: s.difficulty,
        accepted: w.accepted,
        rejected,
        rejectedTotal,
        poolRejected: w.poolRejected,
        poolTimeouts: w.poolTimeouts,
        disagreements: w.disagreements,
        blocks: w.blocks,
        acceptedDifficulty: w.acceptedDifficulty,
        hashrate: hashrateOf(w, s.startedAt, now),
        firstShareAt: w.firstShareAt,
        lastShareAt: w.lastShareAt,
        poolRttMs: w.poolRttMs,
      });
    }
  }
  return {
    version: source.version,
    now,
    startedAt: source.startedAt,
    uptimeSeconds: Math.max(0, Math.floor((now - source.startedAt) / 1000)),
    ready: source.ready(),
    counters: source.daemonCounters(),
    pools: source.pools(),
    sessions: { count: sessions.length, byStatus, workers, workersOmitted: omitted },
    journal: source.journal(),
    throttle: source.throttle(),
  };
}

type Headers = Record<string, string | number>;

function send(res: http.ServerResponse, status: number, body: string, headers: Headers = {}): void {
  const buf = Buffer.from(body, 'utf8');
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': buf.length,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(buf);
}

function sendJson(res: http.ServerResponse, status: number, value: unknown, headers: Headers = {}): void {
  send(res, status, `${JSON.stringify(value)}\n`, headers);
}

/** The answer written straight to the socket for a request Node's parser refused. */
function clientErrorStatus(code: string | undefined): string {
  if (code === 'HPE_HEADER_OVERFLOW') return '431 Request Header Fields Too Large';
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return '408 Request Timeout';
  return '400 Bad Request';
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { listen, source, metrics, log } = options;
  const now = options.now ?? Date.now;
  const where = formatHostPort(listen);
  const token = await loadAdminToken(options);
  if (token === null && !isLoopback(listen.host))
    throw new HashgateError(
      'HG_ERR_CONFIG',
      `admin.listen ${where} is not a loopback address: set admin.token or admin.tokenFile (bearer token), or listen on 127.0.0.1`,
    );

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://admin.invalid');
    } catch {
      return sendJson(res, 400, { error: 'bad request target' }, { Connection: 'close' });
    }
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendJson(res, 405, { error: 'method not allowed' }, { Allow: 'GET, HEAD' });
    const length = req.headers['content-length'];
    if (req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0'))
      return sendJson(res, 413, { error: 'request bodies are not accepted' }, { Connection: 'close' });
    const health = path === '/healthz' || path === '/readyz';
    if (!health && token !== null && !checkBearer(req.headers.authorization, token)) {
      const invalid = req.headers.authorization === undefined ? '' : ', error="invalid_token"';
      return sendJson(res, 401, { error: 'unauthorized' }, { 'WWW-Authenticate': `Bearer realm="hashgate"${invalid}` });
    }
    switch (path) {
      case '/healthz':
      case '/readyz': {
        if (path === '/healthz' && !url.searchParams.has('ready')) return sendJson(res, 200, { status: 'ok' });
        const r = source.ready();
        return r.ready ? sendJson(res, 200, { status: 'ready' }) : sendJson(res, 503, { status: 'not ready', why: r.why });
      }
      case '/metrics':
        return send(res, 200, await metrics.metrics(), { 'Content-Type': metrics.contentType });
      case '/status':
        return sendJson(res, 200, buildStatus(source, now()));
      default:
        return sendJson(res, 404, { error: 'not found', paths: ['/metrics', '/healthz', '/readyz', '/status'] });
    }
  };

  const server = http.createServer(
    {
      maxHeaderSize: LIMITS.maxHeaderSize,
      headersTimeout: LIMITS.headersTimeoutMs,
      requestTimeout: LIMITS.requestTimeoutMs,
      keepAliveTimeout: LIMITS.keepAliveTimeoutMs,
      connectionsCheckingInterval: 1_000,
    },
    (req, res) => {
      handle(req, res).catch((e: unknown) => {
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'admin request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' }, { Connection: 'close' });
        else res.destroy();
      });
    },
  );
  server.maxConnections = LIMITS.maxConnections;
  server.maxRequestsPerSocket = LIMITS.maxRequestsPerSocket;
  server.setTimeout(LIMITS.idleSocketMs, (socket: net.Socket) => socket.destroy());
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    log.debug({ code: err.code }, 'admin: unusable HTTP request');
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    socket.end(`HTTP/1.1 ${clientErrorStatus(err.code)}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`, () => socket.destroy());
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((e: unknown) => {
    const err = e as NodeJS.ErrnoException;
    throw new HashgateError('HG_ERR_LISTEN', `cannot listen on admin.listen ${where}: ${err.code ?? err.message}`, { cause: e });
  });
  server.on('error', (e) => log.error({ err: e.message }, 'admin endpoint error'));
  const a = server.address() as net.AddressInfo;
  const address: HostPort = { host: a.address, port: a.port };
  log.info({ address: formatHostPort(address), auth: token === null ? 'none' : 'bearer' }, 'admin endpoint listening');

  let closing: Promise<void> | null = null;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
