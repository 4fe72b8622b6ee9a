/** Fixtures and helpers for the admin endpoint tests: a plain-data AdminSource, an exposition parser, HTTP clients. */
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { createMetrics, type Metrics } from '../../src/admin/metrics.js';
import { startAdminServer, type AdminLimits, type AdminServer } from '../../src/admin/server.js';
import type { AdminCounters, AdminSource, Readiness, SessionView } from '../../src/admin/types.js';
import type { JournalWriterStats } from '../../src/journal/writer.js';
import { createWorkerStats, type WorkerStats } from '../../src/work/worker-stats.js';
import type { RigStatus, ThrottleMode, ThrottleStatus } from '../../src/throttle/types.js';
import { createLogger, type Logger } from '../../src/util/log.js';

export interface Tap {
  teardown(fn: () => unknown): void;
}
export const TOKEN = 'correct-horse-battery-staple-42';

// ---------------------------------------------------------------------------
// Fixtures

export function counters(over: Partial<AdminCounters> = {}): AdminCounters {
  return {
    connections: 12,
    active: 3,
    refusedTotalCap: 1,
    refusedPerIpCap: 2,
    refusedNoPool: 3,
    authorizeTimeouts: 4,
    oversizedLines: 5,
    droppedForGarbage: 6,
    floodDisconnects: 7,
    overLimitDisconnects: 2,
    connectionFaults: 1,
    noPoolDisconnects: 8,
    rateLimitedSubmits: 9,
    blocks: 1,
    noPoolReachable: 0,
    noPoolEpisodes: 2,
    ...over,
  };
}

export function rig(id: string, group: string, state: RigStatus['state'], watts: number, alert: RigStatus['alert'] = null): RigStatus {
  return {
    id,
    group,
    entry: 'default',
    driver: 'stratum',
    ip: '10.0.0.1',
    state,
    watts,
    ratedWatts: 3250,
    ratedThs: 110,
    priority: 1,
    sessions: state === 'curtailed' ? 0 : 1,
    sharesPerMinute: 3,
    lastShareAt: 1_700_000_000_000,
    alert,
    reason: null,
    since: 1_700_000_000_000,
    settlingUntil: null,
    measuredThs: null,
    measuredThsLow: null,
    measuredThsHigh: null,
    measuredWatts: null,
    proof: null,
  };
}

export function throttle(mode: ThrottleMode, rigs: RigStatus[] = THREE_RIGS): ThrottleStatus {
  return {
    mode,
    depth: 42,
    capWatts: null,
    budget: { siteWatts: 100_000, gpuNeedWatts: 30_000, headroomWatts: 5_000, baseLoadWatts: 2_000, asicWatts: 63_000 },
    asicWatts: 6_600,
    freedWatts: 3_150,
    curtailedRigs: 1,
    reducedRigs: 1,
    redis: { healthy: true, lastOkAt: 1_700_000_123_000, error: null },
    driverErrors: 0,
    decisions: 17,
    updatedAt: 1_700_000_123_000,
    rigs,
  };
}

export const THREE_RIGS = [
  rig('s19-a', 'rack-1', 'running', 3250),
  rig('s19-b', 'rack-1', 'curtailed', 100, 'still-hashing'),
  rig('s21-c', 'rack-2', 'reduced', 3250),
];

export const NOW = 1_700_000_600_000;

export function session(id: string, status: SessionView['status'], workers: [string, Partial<WorkerStats>][] = []): SessionView {
  return {
    id,
    peer: `10.0.0.${id.length}:4000`,
    status,
    startedAt: NOW - 100_000,
    difficulty: 1024,
    poolConnected: status !== 'connected',
    pool: 'stratum+tcp://pool.example:3333',
    workers: new Map(workers.map(([w, s]) => [w, { ...createWorkerStats(), ...s }])),
  };
}

export interface FakeSource extends AdminSource {
  state: {
    throttle: ThrottleStatus | null;
    ready: Readiness;
    counters: AdminCounters;
    sessions: SessionView[];
    journal: JournalWriterStats | null;
  };
}

export function fakeSource(): FakeSource {
  const state = {
    throttle: throttle('live') as ThrottleStatus | null,
    ready: { ready: true, why: [] } as Readiness,
    journal: {
      records: 500,
      bytes: 123_456,
      jobsWritten: 20,
      writeErrors: 1,
      dropped: 3,
      pendingShares: 2,
      forcedVerdicts: 0,
      lateVerdicts: 0,
      files: 2,
      rotations: 1,
    } as JournalWriterStats | null,
    counters: counters(),
    sessions: [
      session('s1', 'authorized', [
        ['alice.rig1', { accepted: 10, acceptedDifficulty: 100, rejected: { duplicate: 2, 'stale-job': 1 }, poolRttMs: 25 }],
      ]),
      session('s2', 'authorized', [['alice.rig2', { accepted: 5, acceptedDifficulty: 50 }]]),
      session('s3', 'subscribed'),
    ],
  };
  return {
    state,
    version: '9.9.9-test',
    startedAt: NOW - 3_600_000,
    daemonCounters: () => state.counters,
    sessions: () => state.sessions,
    pools: () => [
      { url: 'stratum+tcp://pool.example:3333', state: 'up', sessions: 2 },
      // A URL that slipped through with credentials must not leak into a label.
      { url: 'stratum+tcp://acct.worker:s3cret@backup.example:443', state: 'standby', sessions: 0 },
    ],
    throttle: () => state.throttle,
    journal: () => state.journal,
    ready: () => state.ready,
  };
}

// ---------------------------------------------------------------------------
// Helpers: exposition parser, HTTP client, log capture

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** Parses Prometheus text format 0.0.4: every non-comment line is `name{labels} value`. Throws on a bad line. */
export function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`bad exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/y;
    let pos = 0;
    while (pos < body.length) {
      re.lastIndex = pos;
      const l = re.exec(body);
      if (l === null) throw new Error(`bad labels in: ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      pos = re.lastIndex;
    }
    // Values as Prometheus reads them (Go's ParseFloat: NaN and Inf in any case; prom-client writes "Nan").
    const v = m[3]!;
    const inf = /^([+-]?)inf$/i.exec(v);
    const value = /^nan$/i.test(v) ? Number.NaN : inf !== null ? (inf[1] === '-' ? -Infinity : Infinity) : Number(v);
    if (!/^nan$/i.test(v) && Number.isNaN(value)) throw new Error(`bad value in: ${line}`);
    out.push({ name: m[1]!, labels, value });
  }
  return out;
}

export function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

export function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const f = find(samples, name, labels);
  if (f.length !== 1) throw new Error(`${name}${JSON.stringify(labels)}: ${f.length} samples`);
  return f[0]!.value;
}

export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
}

export function request(
  port: number,
  path: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers, agent: false, timeout: 5000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(o.body);
  });
}

export function captureLog(): { log: Logger; text: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (c: Buffer) => (text += c.toString()));
  return { log: createLogger({ destination: stream, level: 'debug' }), text: () => text };
}

export async function start(
  t: Tap,
  o: {
    token?: string | null;
    tokenFile?: string | null;
    perRigMetrics?: boolean;
    source?: FakeSource;
    log?: Logger;
    limits?: Partial<AdminLimits>;
  } = {},
): Promise<{ server: AdminServer; port: number; source: FakeSource; metrics: Metrics }> {
  const source = o.source ?? fakeSource();
  const metrics = createMetrics({ source, perRigMetrics: o.perRigMetrics ?? false });
  const server = await startAdminServer({
    listen: { host: '127.0.0.1', port: 0 },
    token: o.token ?? null,
    tokenFile: o.tokenFile ?? null,
    source,
    metrics,
    log: o.log ?? createLogger({ level: 'silent' }),
    now: () => NOW,
    limits: o.limits,
  });
  t.teardown(() => server.close());
  return { server, port: server.address.port, source, metrics };
}

export const auth = { Authorization: `Bearer ${TOKEN}` };

export function rawExchange(port: number, bytes: Buffer | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    s.setTimeout(5000, () => s.destroy(new Error('raw exchange timed out')));
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', reject);
    s.on('close', () => resolve(got));
    s.on('connect', () => s.write(bytes));
  });
}
