/**
 * The `hashgate run` configuration: one zod schema, every default in
 * CONFIG_DEFAULTS (written the way an operator would write the config file),
 * strict objects everywhere (an unknown key is a problem, not a silent no-op).
 * Option reference: docs/configuration.md. Loading and precedence: ./load.ts.
 */

import * as z from 'zod';
import { LOG_LEVELS } from '../util/log-levels.js';
import { DefaultRigSchema, DEFAULT_RIG, RigEntrySchema, THROTTLE_DEFAULTS, ThrottleSchema } from './throttle-schema.js';
import { bool, int, num, objectError, type ParseResult, parsed, section } from './zod-helpers.js';

/** Recursively freezes a value in place and returns it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

export type DeepReadonly<T> = T extends (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

export const WORKER_MODES = ['passthrough', 'account'] as const;
export type WorkerMode = (typeof WORKER_MODES)[number];

/** How the journal keeps local-only shares (docs/journal.md, format v2): per-worker aggregates, each one, or none. */
export const JOURNAL_LOCAL_SHARE_MODES = ['aggregate', 'every', 'off'] as const;
export type JournalLocalShareMode = (typeof JOURNAL_LOCAL_SHARE_MODES)[number];

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const KIB = 1024;
const MIB = 1024 * KIB;

/** The one place defaults live, in config-file form. Pools have no default: at least one must be given. */
export const CONFIG_DEFAULTS = deepFreeze({
  listen: ['0.0.0.0:3333'],
  worker: { mode: 'passthrough' as WorkerMode, separator: '.' },
  limits: {
    maxLineBytes: 16 * KIB,
    maxConnections: 2000,
    maxConnectionsPerIp: 100,
    authorizeTimeoutMs: 30 * SECOND,
    tcpKeepAliveMs: 60 * SECOND,
    poolRequestTimeoutMs: 15 * SECOND,
    submitsPerSecond: 20,
    submitBurst: 100,
    maxWorkersPerConnection: 64,
  },
  shares: {
    forwardRejected: false,
    ntimeWindowSeconds: 7200,
    /** Telemetry difficulty (issue 12): the vardiff controller's settings (src/work/vardiff.ts DEFAULT_VARDIFF_SETTINGS). */
    localDifficulty: {
      enabled: false,
      targetSharesPerMinute: 300,
      tolerance: 0.25,
      minDifficulty: 1,
      maxDifficulty: 1e9,
      startDifficulty: 10_000,
      minRetargetSeconds: 10,
    },
  },
  failover: {
    backoffBaseMs: 1 * SECOND,
    backoffMaxMs: 60 * SECOND,
    backoffJitter: 0.25,
    notifySilenceMs: 2 * MINUTE,
    primaryRecheckMs: 2 * MINUTE,
    poolLossGraceMs: 60 * SECOND,
  },
  shutdown: { deadlineMs: 10 * SECOND },
  journal: {
    path: null as string | null,
    rotateBytes: 256 * MIB,
    // 10 s: the window a curtail must be proven in (issue 12), at ~150 B per rig per period.
    localShares: { mode: 'aggregate' as JournalLocalShareMode, flushMs: 10 * SECOND },
  },
  log: { level: 'info' as (typeof LOG_LEVELS)[number], pretty: false },
  admin: {
    listen: '127.0.0.1:9464' as string | null,
    token: null as string | null,
    tokenFile: null as string | null,
    perRigMetrics: false,
  },
  throttle: THROTTLE_DEFAULTS,
  defaultRig: { ...DEFAULT_RIG, driver: { type: 'stratum' as const } },
  rigs: [] as unknown[],
});

// ---------------------------------------------------------------------------
// Addresses

export interface HostPort {
  /** Host name or IP address, IPv6 without brackets (ready for net.listen / net.connect). */
  readonly host: string;
  readonly port: number;
}

const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$/;
const IPV6_BODY = /^[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?$/;

function validHost(host: string): boolean {
  if (host.length > 253) return false;
  const labels = host.replace(/\.$/, '').split('.');
  if (!labels.every((l) => HOST_LABEL.test(l))) return false;
  if (labels.length === 4 && labels.every((l) => /^\d+$/.test(l))) return labels.every((l) => Number(l) <= 255);
  return true;
}

function validIpv6(body: string): boolean {
  const addr = body.split('%')[0]!;
  return IPV6_BODY.test(body) && addr.includes(':') && (addr.match(/::/g) ?? []).length <= 1;
}

/** Shows a peer- or operator-supplied string in a message, shortened and with any URL credentials hidden. */
export function quote(s: string): string {
  // Everything up to the last "@" may be user:password (even unescaped, even without a scheme).
  const safe = s.replace(/^([a-z][a-z0-9+.-]*:\/\/)?.*@/is, '$1***@');
  return JSON.stringify(safe.length <= 80 ? safe : `${safe.slice(0, 80)}…`);
}

/**
 * Parses "host:port", "[ipv6]:port" (e.g. "[::]:3333", "[::1]:3333"); port 1–65535.
 * With `allowPortZero` (listen addresses only) port 0 is accepted too: the OS
 * picks a free port, which the daemon logs (for tests).
 * A bare IPv6 address without brackets is refused: its last colon is ambiguous.
 */
export function parseHostPort(text: string, options: { readonly allowPortZero?: boolean } = {}): ParseResult<HostPort> {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return { ok: false, message: `has "[" without "]" in ${quote(text)}` };
    host = text.slice(1, close);
    if (!validIpv6(host)) return { ok: false, message: `${quote(host)} in brackets is not an IPv6 address` };
    if (text[close + 1] !== ':') return { ok: false, message: `needs a port after the bracketed address, e.g. [${host}]:3333` };
    portText = text.slice(close + 2);
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return { ok: false, message: `needs a port: host:port, e.g. 0.0.0.0:3333 (got ${quote(text)})` };
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return { ok: false, message: `an IPv6 address needs brackets, e.g. [::1]:3333 (got ${quote(text)})` };
    if (host === '') return { ok: false, message: 'has an empty host (use 0.0.0.0 for every IPv4 address, [::] for every address)' };
    if (!validHost(host)) return { ok: false, message: `${quote(host)} is not a valid host name or IPv4 address` };
  }
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  const min = options.allowPortZero === true ? 0 : 1;
  if (!(port >= min && port <= 65535)) {
    return { ok: false, message: `port must be an integer from ${min} to 65535 (got ${quote(portText)})` };
  }
  return { ok: true, value: { host, port } };
}

/** 127.0.0.0/8, ::1 and "localhost": addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) || /^::ffff:127\./i.test(host);
}

/** Formats a HostPort back to "host:port" / "[v6]:port". */
export function formatHostPort(a: HostPort): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

export interface PoolEndpoint extends HostPort {
  /** "stratum+tcp://host:port", never with credentials: safe to log. */
  readonly url: string;
  readonly user: string | null;
  readonly password: string | null;
}

function decode(part: string, what: string): ParseResult<string> {
  try {
    return { ok: true, value: decodeURIComponent(part) };
  } catch {
    return { ok: false, message: `has a malformed %-escape in the ${what}` };
  }
}

/**
 * Parses stratum+tcp://[user[:password]@]host:port. User and password are
 * %-decoded (write "@" as %40, ":" in a user as %3A, "," as %2C). TLS
 * (stratum+ssl, stratum+tls) is refused with its own message: not supported yet.
 */
export function parsePoolUrl(text: string): ParseResult<PoolEndpoint> {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text);
  if (!scheme) return { ok: false, message: `must be stratum+tcp://[user[:password]@]host:port (got ${quote(text)})` };
  const s = scheme[1]!.toLowerCase();
  if (s === 'stratum+ssl' || s === 'stratum+tls' || s === 'stratum+tcps' || s === 'ssl' || s === 'tls') {
    return {
      ok: false,
      message: `${s}:// is not supported yet (hashgate speaks plain TCP to pools); use the pool's stratum+tcp:// port, or a local TLS tunnel such as stunnel and point hashgate at it`,
    };
  }
  if (s !== 'stratum+tcp') return { ok: false, message: `scheme ${s}:// is not supported; use stratum+tcp://host:port` };
  let rest = text.slice(scheme[0].length);
  if (rest.endsWith('/')) rest = rest.slice(0, -1);
  if (/[/?#]/.test(rest)) return { ok: false, message: 'must not have a path, query or fragment: stratum+tcp://host:port' };
  let user: string | null = null;
  let password: string | null = null;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const info = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = info.indexOf(':');
    const u = decode(colon < 0 ? info : info.slice(0, colon), 'user');
    if (!u.ok) return u;
    if (u.value === '') return { ok: false, message: 'has "@" but an empty user' };
    user = u.value;
    if (colon >= 0) {
      const p = decode(info.slice(colon + 1), 'password');
      if (!p.ok) return p;
      password = p.value;
    }
  }
  const hp = parseHostPort(rest);
  if (!hp.ok) return hp;
  return { ok: true, value: { ...hp.value, url: `stratum+tcp://${formatHostPort(hp.value)}`, user, password } };
}

// ---------------------------------------------------------------------------
// Schema

const D = CONFIG_DEFAULTS;

const PoolSchema = z.preprocess(
  (v) => (typeof v === 'string' ? { url: v } : v),
  z
    .strictObject(
      {
        url: z.string({ error: 'must be a pool URL: stratum+tcp://[user[:password]@]host:port' }),
        user: z.string({ error: 'must be a string' }).min(1, 'must not be empty').optional(),
        password: z.string({ error: 'must be a string' }).optional(),
      },
      { error: (iss) => (iss.code === 'invalid_type' ? 'must be a pool URL string or {"url", "user"?, "password"?}' : undefined) },
    )
    .transform((o, ctx): PoolEndpoint => {
      const r = parsePoolUrl(o.url);
      if (!r.ok) {
        ctx.addIssue({ code: 'custom', message: r.message, path: ['url'] });
        return z.NEVER;
      }
      if (o.user !== undefined && r.value.user !== null) {
        ctx.addIssue({ code: 'custom', message: 'is given twice: in the URL and as "user"; keep one', path: ['user'] });
      }
      if (o.password !== undefined && r.value.password !== null) {
        ctx.addIssue({ code: 'custom', message: 'is given twice: in the URL and as "password"; keep one', path: ['password'] });
      }
      return { ...r.value, user: o.user ?? r.value.user, password: o.password ?? r.value.password };
    }),
);

export const ConfigSchema = z
  .strictObject(
    {
      listen: z
        .array(
          parsed((s) => parseHostPort(s, { allowPortZero: true }), 'host:port'),
          { error: 'must be a list of host:port addresses' },
        )
        .min(1, 'needs at least one address')
        .prefault([...D.listen]),
      pools: z
        .array(PoolSchema, { error: 'at least one pool is required: --pool, HASHGATE_POOL or "pools" in the config file' })
        .min(1, 'at least one pool is required: --pool, HASHGATE_POOL or "pools" in the config file'),
      worker: section({
        mode: z.enum(WORKER_MODES, { error: 'must be "passthrough" or "account"' }).prefault(D.worker.mode),
        separator: z
          .string({ error: 'must be a string' })
          .regex(/^[^\s]{1,4}$/, 'must be 1 to 4 non-space characters')
          .prefault(D.worker.separator),
      }),
      limits: section({
        maxLineBytes: int(1024, 1024 * KIB, ' bytes').prefault(D.limits.maxLineBytes),
        maxConnections: int(1, 1_000_000).prefault(D.limits.maxConnections),
        maxConnectionsPerIp: int(1, 1_000_000).prefault(D.limits.maxConnectionsPerIp),
        authorizeTimeoutMs: int(1000, 10 * MINUTE, ' ms').prefault(D.limits.authorizeTimeoutMs),
        tcpKeepAliveMs: int(0, HOUR, ' ms (0 = off)').prefault(D.limits.tcpKeepAliveMs),
        poolRequestTimeoutMs: int(1000, 10 * MINUTE, ' ms').prefault(D.limits.poolRequestTimeoutMs),
        submitsPerSecond: num(0.01, 100_000).prefault(D.limits.submitsPerSecond),
        submitBurst: int(1, 1_000_000).prefault(D.limits.submitBurst),
        maxWorkersPerConnection: int(1, 100_000).prefault(D.limits.maxWorkersPerConnection),
      }),
      shares: section({
        forwardRejected: bool().prefault(D.shares.forwardRejected),
        ntimeWindowSeconds: int(0, 86_400, ' s').prefault(D.shares.ntimeWindowSeconds),
        localDifficulty: section({
          enabled: bool().prefault(D.shares.localDifficulty.enabled),
          targetSharesPerMinute: num(0.1, 60_000).prefault(D.shares.localDifficulty.targetSharesPerMinute),
          tolerance: num(0.01, 10).prefault(D.shares.localDifficulty.tolerance),
          minDifficulty: num(1e-12, 1e15).prefault(D.shares.localDifficulty.minDifficulty),
          maxDifficulty: num(1e-12, 1e15).prefault(D.shares.localDifficulty.maxDifficulty),
          startDifficulty: num(1e-12, 1e15).prefault(D.shares.localDifficulty.startDifficulty),
          minRetargetSeconds: num(0, 3600).prefault(D.shares.localDifficulty.minRetargetSeconds),
        }),
      }),
      failover: section({
        backoffBaseMs: int(10, HOUR, ' ms').prefault(D.failover.backoffBaseMs),
        backoffMaxMs: int(10, HOUR, ' ms').prefault(D.failover.backoffMaxMs),
        backoffJitter: num(0, 1).prefault(D.failover.backoffJitter),
        notifySilenceMs: int(0, HOUR, ' ms (0 = off)').prefault(D.failover.notifySilenceMs),
        primaryRecheckMs: int(0, 24 * HOUR, ' ms (0 = never fail back)').prefault(D.failover.primaryRecheckMs),
        poolLossGraceMs: int(0, HOUR, ' ms').prefault(D.failover.poolLossGraceMs),
      }),
      shutdown: section({ deadlineMs: int(0, 10 * MINUTE, ' ms').prefault(D.shutdown.deadlineMs) }),
      journal: section({
        path: z
          .string({ error: 'must be a file path or null' })
          .min(1, 'must not be empty (null = no journal)')
          .nullable()
          .prefault(D.journal.path),
        rotateBytes: int(0, Number.MAX_SAFE_INTEGER, ' bytes (0 = never rotate)').prefault(D.journal.rotateBytes),
        localShares: section({
          mode: z
            .enum(JOURNAL_LOCAL_SHARE_MODES, { error: `must be one of ${JOURNAL_LOCAL_SHARE_MODES.join(', ')}` })
            .prefault(D.journal.localShares.mode),
          flushMs: int(SECOND, HOUR, ' ms').prefault(D.journal.localShares.flushMs),
        }),
      }),
      log: section({
        level: z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }).prefault(D.log.level),
        pretty: bool().prefault(D.log.pretty),
      }),
      admin: section({
        /** host:port of the admin HTTP endpoint (/metrics, /healthz, /status); null = off. */
        listen: parsed((s) => parseHostPort(s, { allowPortZero: true }), 'host:port')
          .nullable()
          .prefault(D.admin.listen),
        token: z.string({ error: 'must be a string or null' }).min(16, 'must be at least 16 characters').nullable().prefault(D.admin.token),
        tokenFile: z.string({ error: 'must be a file path or null' }).min(1, 'must not be empty').nullable().prefault(D.admin.tokenFile),
        /** Per-rig metric series: opt-in (large fleets use groups). */
        perRigMetrics: bool().prefault(D.admin.perRigMetrics),
      }),
      throttle: ThrottleSchema,
      defaultRig: DefaultRigSchema,
      rigs: z.array(RigEntrySchema, { error: 'must be a list of rig entries' }).prefault([]),
    },
    objectError,
  )
  // Cross-field checks. They run even when other fields failed (so every problem is reported
  // at once) and therefore read the partly-parsed value defensively.
  .superRefine(
    (c, ctx) => {
      const problem = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', message, path });
      const n = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
      const f = c.failover as Partial<Record<string, unknown>> | undefined;
      const base = n(f?.backoffBaseMs);
      const max = n(f?.backoffMaxMs);
      if (base !== undefined && max !== undefined && max < base)
        problem(['failover', 'backoffMaxMs'], `must be at least failover.backoffBaseMs (${base})`);
      const ld = (c.shares as { localDifficulty?: Partial<Record<string, unknown>> } | undefined)?.localDifficulty;
      const [lo, start, hi] = [n(ld?.minDifficulty), n(ld?.startDifficulty), n(ld?.maxDifficulty)];
      if (lo !== undefined && hi !== undefined && hi < lo)
        problem(['shares', 'localDifficulty', 'maxDifficulty'], `must be at least minDifficulty (${lo})`);
      else if (lo !== undefined && hi !== undefined && start !== undefined && (start < lo || start > hi))
        problem(['shares', 'localDifficulty', 'startDifficulty'], `must be within minDifficulty … maxDifficulty (${lo} … ${hi})`);
      const j = c.journal as Partial<Record<string, unknown>> | undefined;
      const rotate = n(j?.rotateBytes);
      if (rotate !== undefined && rotate !== 0 && rotate < MIB)
        problem(['journal', 'rotateBytes'], `must be 0 (never rotate) or at least ${MIB} (1 MiB)`);
      const seen = new Map<string, number>();
      (Array.isArray(c.listen) ? (c.listen as unknown[]) : []).forEach((a, i) => {
        // Port 0 (any free port) never collides: each such listener gets its own port.
        if (a === null || typeof a !== 'object' || typeof (a as HostPort).port !== 'number' || (a as HostPort).port === 0) return;
        const key = formatHostPort(a as HostPort);
        const first = seen.get(key);
        if (first === undefined) seen.set(key, i);
        else problem(['listen', i], `${key} is already listen[${first}]`);
      });
      const admin = c.admin as { listen?: unknown; token?: unknown; tokenFile?: unknown } | undefined;
      const al = admin?.listen as HostPort | null | undefined;
      if (admin?.token != null && admin.tokenFile != null) problem(['admin', 'tokenFile'], 'give "token" or "tokenFile", not both');
      if (al != null && typeof al === 'object' && !isLoopback(al.host) && admin?.token == null && admin?.tokenFile == null)
        problem(
          ['admin', 'listen'],
          `${formatHostPort(al)} is not a loopback address: set admin.token or admin.tokenFile (bearer token), or listen on 127.0.0.1`,
        );
      const th = c.throttle as { enabled?: unknown; siteBudgetWatts?: unknown } | undefined;
      if (th?.enabled === true && !(n(th.siteBudgetWatts) !== undefined && (th.siteBudgetWatts as number) > 0))
        problem(['throttle', 'siteBudgetWatts'], 'must be above 0 when throttle.enabled is true (the site power contract, in watts)');
      const names = new Map<string, number>();
      (Array.isArray(c.rigs) ? (c.rigs as unknown[]) : []).forEach((r, i) => {
        const name = (r as { name?: unknown } | null)?.name;
        if (typeof name !== 'string') return;
        const first = names.get(name);
        if (first === undefined) names.set(name, i);
        else problem(['rigs', i, 'name'], `"${name}" is already rigs[${first}].name`);
      });
      if ((c.worker as { mode?: unknown } | undefined)?.mode === 'account' && Array.isArray(c.pools)) {
        (c.pools as unknown[]).forEach((p, i) => {
          if (p !== null && typeof p === 'object' && (p as PoolEndpoint).user === null) {
            problem(
              ['pools', i, 'user'],
              'worker.mode "account" needs the pool account: put it in the URL (stratum+tcp://account@host:port) or in "user"',
            );
          }
        });
      }
    },
    { when: () => true },
  );

/** What you may write (config file / merged layers). */
export type ConfigInput = z.input<typeof ConfigSchema>;
/** The validated, defaulted, frozen configuration the daemon runs with. */
export type Config = DeepReadonly<z.output<typeof ConfigSchema>>;
export type ListenAddress = Config['listen'][number];
export type PoolConfig = Config['pools'][number];
