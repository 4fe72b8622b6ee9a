/**
 * The admin HTTP endpoint (loopback by default): /metrics (Prometheus text),
 * /healthz (live), /healthz?ready and /readyz (ready), /status (JSON).
 *
 * Safety: GET/HEAD only, no request bodies, small header and time limits,
 * a bad request never reaches more than a 4xx answer. Connections are capped
 * in total and per remote address at accept, before any token is checked
 * (the caps must hold against whoever can reach the port): one host cannot
 * take every slot with idle sockets, and a socket that never completes a
 * request is closed within seconds. With a bearer token configured every path
 * except the health checks needs it (compared in constant time); without one
 * it refuses a non-loopback address. The token never reaches a log line.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { formatHostPort, type HostPort, isLoopback } from '../config/schema.js';
import { HashgateError } from '../util/errors.js';
import type { Logger } from '../util/log.js';
import type { Metrics } from './metrics.js';
import { buildStatus } from './status.js';
import type { AdminSource, Readiness } from './types.js';

/** Tokens shorter than this are refused (same floor as the config schema's admin.token). */
export const MIN_TOKEN_CHARS = 16;
const LIMITS = Object.freeze({
  maxHeaderSize: 8 * 1024,
  /** A socket must deliver a complete request head this soon after it opens (or after its last answer). */
  headersTimeoutMs: 5_000,
  requestTimeoutMs: 10_000,
  /**
   * An idle keep-alive socket is closed this long after its last answer (Node adds 1 s on its side,
   * so a client told "timeout=5" gives up first: measured 6 s on Node 20).
   */
  keepAliveTimeoutMs: 5_000,
  /**
   * How often Node's http server looks for sockets past headersTimeout / requestTimeout: it enforces
   * them only on this tick (Node's default is 30 s, which would let an idle socket live 6× the 5 s
   * headers timeout). 1 s keeps the overshoot under a second for the price of one cheap timer.
   */
  connectionsCheckingIntervalMs: 1_000,
  /** Backstop for a socket with no traffic either way (e.g. a client that stops reading an answer). */
  idleSocketMs: 15_000,
  /** Open connections in all; over it Node closes the socket at accept. */
  maxConnections: 64,
  /**
   * Open connections from one remote address (IPv6: one /64, what a single host is usually given).
   * A Prometheus scraper holds one keep-alive connection, a curl or a health probe one more; 8 leaves
   * room for a few of those per host while 8 hosts are needed to fill maxConnections.
   */
  maxConnectionsPerAddress: 8,
  maxRequestsPerSocket: 100,
  /** Refusals closer together than this are one episode: logged once, at its start. */
  refusalEpisodeGapMs: 60_000,
});

/** The admin endpoint's limits (docs/security.md lists them). */
export type AdminLimits = { readonly [K in keyof typeof LIMITS]: number };
export const ADMIN_LIMITS: AdminLimits = LIMITS;

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
  /** Tests only: tighter limits (the defaults are ADMIN_LIMITS). */
  readonly limits?: Partial<AdminLimits>;
}

/** Connections closed at accept because a cap was full, since the server started. */
export interface AdminRefusals {
  /** maxConnectionsPerAddress was reached for the connection's address. */
  readonly perAddressCap: number;
  /** maxConnections was reached. */
  readonly totalCap: number;
}

export interface AdminServer {
  /** The bound address (port 0 resolved). */
  readonly address: HostPort;
  /** Connections refused by the caps so far. */
  refusals(): AdminRefusals;
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

/**
 * The key a connection counts against for maxConnectionsPerAddress: the IPv4 address (IPv4-mapped
 * IPv6 unwrapped, as a dual-stack listener reports it), or the /64 of an IPv6 address (a single host
 * is routinely handed a whole /64, so a per-address cap on IPv6 would cap nothing). Null when the
 * socket has no address (it is already closed).
 */
export function peerKey(address: string | undefined): string | null {
  if (address === undefined || address === '') return null;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  if (mapped !== null) return mapped[1]!;
  const bare = address.split('%')[0]!; // zone index (fe80::1%eth0): same host
  if (!net.isIPv6(bare)) return address;
  const halves = bare.split('::');
  const groups = (part: string | undefined): string[] => (part === undefined || part === '' ? [] : part.split(':'));
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  // An embedded dotted IPv4 tail (::1.2.3.4) stands for two groups.
  const tailWidth = tail.length + (tail.at(-1)?.includes('.') === true ? 1 : 0);
  const full = halves.length === 2 ? [...head, ...Array<string>(8 - head.length - tailWidth).fill('0'), ...tail] : head;
  return `${full
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
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

/** The request handler: method, body and token checks, then the four paths. */
function createHandler(
  source: AdminSource,
  metrics: AdminServerOptions['metrics'],
  token: string | null,
  now: () => number,
): (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void> {
  return async (req, res) => {
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
}

/**
 * The connection caps, on the server's accept path: the total cap (Node's maxConnections) and the
 * per-address cap. Returns the refusal counters, which it keeps.
 */
function capConnections(server: http.Server, limits: AdminLimits, log: Logger): AdminRefusals {
  // Both act at accept, before a byte is read, so they need no token: a socket
  // over a cap is destroyed at once (no answer: writing one would be work done for the flood).
  const refused = { perAddressCap: 0, totalCap: 0 };
  let lastRefusalAt = Number.NEGATIVE_INFINITY;
  const refuse = (reason: keyof typeof refused, peer: string | null): void => {
    refused[reason]++;
    // Once per episode, so a flood cannot turn into a log flood; values as fields.
    const at = performance.now();
    if (at - lastRefusalAt >= limits.refusalEpisodeGapMs)
      log.warn(
        {
          reason,
          peer,
          maxConnections: limits.maxConnections,
          maxConnectionsPerAddress: limits.maxConnectionsPerAddress,
          refusedBefore: refused.perAddressCap + refused.totalCap - 1,
        },
        'admin: refusing connections over a cap',
      );
    lastRefusalAt = at;
  };
  // The total cap: Node closes the handle at accept (no Socket is made) and emits 'drop'.
  server.maxConnections = limits.maxConnections;
  server.on('drop', (d?: net.DropArgument) => refuse('totalCap', peerKey(d?.remoteAddress)));
  // The per-address cap. Prepended so the socket is gone before the http layer sets it up; Node's
  // http code copes with a socket destroyed under it (it is the same as a client that resets at once).
  const open = new Map<string, number>(); // at most maxConnections keys: every key has an open socket
  server.prependListener('connection', (socket: net.Socket) => {
    const key = peerKey(socket.remoteAddress);
    if (key === null) return void socket.destroy();
    const n = open.get(key) ?? 0;
    if (n >= limits.maxConnectionsPerAddress) {
      socket.destroy();
      return refuse('perAddressCap', key);
    }
    open.set(key, n + 1);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left > 0) open.set(key, left);
      else open.delete(key);
    });
  });
  return refused;
}

export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { listen, source, metrics, log } = options;
  const limits: AdminLimits = { ...LIMITS, ...options.limits };
  const now = options.now ?? Date.now;
  const where = formatHostPort(listen);
  const token = await loadAdminToken(options);
  if (token === null && !isLoopback(listen.host))
    throw new HashgateError(
      'HG_ERR_CONFIG',
      `admin.listen ${where} is not a loopback address: set admin.token or admin.tokenFile (bearer token), or listen on 127.0.0.1`,
    );

  const handle = createHandler(source, metrics, token, now);
  const server = http.createServer(
    {
      maxHeaderSize: limits.maxHeaderSize,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.connectionsCheckingIntervalMs,
    },
    (req, res) => {
      handle(req, res).catch((e: unknown) => {
        log.error({ err: e instanceof Error ? e.message : String(e) }, 'admin request failed');
        if (!res.headersSent) sendJson(res, 500, { error: 'internal error' }, { Connection: 'close' });
        else res.destroy();
      });
    },
  );
  server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
  server.setTimeout(limits.idleSocketMs, (socket: net.Socket) => socket.destroy());

  const refused = capConnections(server, limits, log);
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
    refusals: () => ({ ...refused }),
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
