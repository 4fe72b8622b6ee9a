/**
 * Prometheus metrics (prom-client) for the admin endpoint. docs/metrics.md
 * lists every series; a test keeps the two in sync.
 *
 * One Registry per Metrics instance (never prom-client's global one), so a
 * process (or a test) can hold several. Gauges and snapshot counters read
 * the AdminSource in their collect() callback, at scrape time: no timers.
 * Events that outlive a session (shares, pool answers, driver errors) come
 * through the MetricsRecorder hooks.
 *
 * Cardinality: every label takes values from a fixed list, except pool
 * (configured pools, at most MAX_POOLS), group (at most maxGroups) and rig
 * (per-rig series are opt-in, admin.perRigMetrics, at most maxRigs). What a
 * cap leaves out is counted in hashgate_series_capped{series}.
 */

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { REJECT_REASONS } from '../protocol/stratum-errors.js';
import type { RigStatus, ThrottleStatus } from '../throttle/types.js';
import {
  type AdminSource,
  DISCONNECT_REASONS,
  DRIVER_KINDS,
  type JournalStats,
  type MetricsRecorder,
  POOL_ANSWERS,
  type PoolAnswer,
  REFUSE_REASONS,
  RIG_ALERTS,
  RIG_STATES,
  SESSION_STATUSES,
  type ShareEvent,
  THROTTLE_MODES,
} from './types.js';

export const METRIC_PREFIX = 'hashgate_';
/** Pool round trips: 1 ms (same rack) to 10 s (a pool about to time out). */
export const POOL_RTT_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
export const DEFAULT_MAX_GROUPS = 1000;
export const DEFAULT_MAX_RIGS = 1000;
/** Pools are configured by the operator and few; the cap only guards the label set. */
export const MAX_POOLS = 32;
/** Label values from config or peers are cut to this many characters. */
export const MAX_LABEL_CHARS = 128;

export interface MetricsOptions {
  readonly source: AdminSource;
  /** admin.perRigMetrics: export hashgate_rig_watts / hashgate_rig_state (one series per rig). */
  readonly perRigMetrics?: boolean;
  readonly maxGroups?: number;
  readonly maxRigs?: number;
  /** Node process metrics (CPU, memory, event loop, GC) with the hashgate_ prefix; default true. */
  readonly processMetrics?: boolean;
}

/** A label value from config or a peer: bounded length (prom-client escapes quotes, backslashes and newlines). */
export function labelValue(s: string): string {
  if (s.length <= MAX_LABEL_CHARS) return s;
  const chars = Array.from(s); // by code point: never split a surrogate pair
  return chars.length <= MAX_LABEL_CHARS ? s : `${chars.slice(0, MAX_LABEL_CHARS - 1).join('')}…`;
}

/** A pool URL as a label: any user:password@ removed (config URLs have none; this is the second guard). */
export function poolLabel(url: string): string {
  return labelValue(url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1').replace(/^[^@/]*@/, ''));
}

/** Sorted by key and cut to `max`, so the exported set is stable from one scrape to the next. */
function capped<T>(items: Iterable<[string, T]>, max: number): { kept: [string, T][]; dropped: number } {
  const all = [...items].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return { kept: all.slice(0, max), dropped: Math.max(0, all.length - max) };
}

interface GroupRow {
  watts: number;
  curtailed: number;
  rigs: number;
}

function groupsOf(rigs: readonly RigStatus[]): Map<string, GroupRow> {
  const groups = new Map<string, GroupRow>();
  for (const r of rigs) {
    const key = labelValue(r.group);
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { watts: 0, curtailed: 0, rigs: 0 }));
    g.watts += r.watts;
    g.rigs++;
    if (r.state === 'curtailed') g.curtailed++;
  }
  return groups;
}

/** NaN for "not applicable / unknown" (throttle off, depth unknown): Prometheus stores it, alerts compare false. */
const UNKNOWN = Number.NaN;

export class Metrics implements MetricsRecorder {
  readonly registry = new Registry();
  readonly #maxGroups: number;
  readonly #maxRigs: number;
  readonly #shares: Counter<'verdict' | 'reason'>;
  readonly #acceptedDifficulty: Counter;
  readonly #poolAnswers: Counter<'result'>;
  readonly #poolRtt: Histogram;
  readonly #disagreements: Counter;
  readonly #driverErrors: Counter<'driver'>;
  /** Label values left out by a cap at the last scrape. */
  readonly #cappedBy = { pool: 0, group: 0, rig: 0 };

  constructor(options: MetricsOptions) {
    this.#maxGroups = Math.max(0, options.maxGroups ?? DEFAULT_MAX_GROUPS);
    this.#maxRigs = Math.max(0, options.maxRigs ?? DEFAULT_MAX_RIGS);
    const src = options.source;
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: METRIC_PREFIX });
    // Section by section, in the order of the exposition text.
    this.#addSessionSeries(src);

    // Shares (hooks)
    this.#shares = this.#counter('shares_total', 'Shares checked locally, by verdict and reject reason ("none" for accepted).', [
      'verdict',
      'reason',
    ]);
    this.#shares.inc({ verdict: 'accepted', reason: 'none' }, 0);
    for (const reason of [...REJECT_REASONS, 'other']) this.#shares.inc({ verdict: 'rejected', reason }, 0);
    this.#acceptedDifficulty = this.#counter(
      'accepted_difficulty_total',
      'Sum of the pool difficulty of accepted shares; rate() × 2^32 estimates the fleet hashrate in H/s.',
    );
    this.#snapshotCounter('block_candidates_total', 'Shares that met the network target (block candidates).', [], () => [
      [{}, src.daemonCounters().blocks],
    ]);

    // Pools (hooks, then the source's view)
    this.#poolAnswers = this.#counter('pool_answers_total', 'Pool answers to forwarded shares, by result.', ['result']);
    for (const result of POOL_ANSWERS) this.#poolAnswers.inc({ result }, 0);
    this.#disagreements = this.#counter(
      'pool_disagreements_total',
      "Shares where the pool's verdict differs from hashgate's local verdict.",
    );
    this.#poolRtt = new Histogram({
      name: `${METRIC_PREFIX}pool_rtt_seconds`,
      help: 'Round-trip time of share submits to the pool.',
      buckets: [...POOL_RTT_BUCKETS],
      registers: [this.registry],
    });
    this.#addPoolSeries(src);
    this.#addJournalSeries(src);
    this.#addThrottleSeries(src);
    this.#driverErrors = this.#counter('driver_errors_total', 'Rig driver commands that failed, by driver.', ['driver']);
    for (const driver of DRIVER_KINDS) this.#driverErrors.inc({ driver }, 0);
    this.#addGroupSeries(src);
    if (options.perRigMetrics === true) this.#addRigSeries(src);
    // Registered last: its collect() runs after the capped series were collected in the same scrape.
    this.#gauge('series_capped', 'Label values left out of capped series at the last scrape (pool, group, rig).', ['series'], (g) => {
      for (const [series, v] of Object.entries(this.#cappedBy)) g.set({ series }, v);
    });
  }

  /** Build info, sessions and connections. */
  #addSessionSeries(src: AdminSource): void {
    this.#gauge('build_info', 'Always 1; the version label says which hashgate runs.', ['version'], (g) =>
      g.set({ version: labelValue(src.version) }, 1),
    );
    this.#gauge('sessions', 'Live miner sessions by status.', ['status'], (g) => {
      const n = new Map<string, number>(SESSION_STATUSES.map((s) => [s, 0]));
      for (const s of src.sessions()) n.set(s.status, (n.get(s.status) ?? 0) + 1);
      for (const [status, v] of n) g.set({ status }, v);
    });
    this.#snapshotCounter('connections_total', 'Miner connections accepted since start.', [], () => [
      [{}, src.daemonCounters().connections],
    ]);
    this.#snapshotCounter('connections_refused_total', 'Miner connections refused, by reason.', ['reason'], () => {
      const c = src.daemonCounters();
      return [
        [{ reason: 'total-cap' }, c.refusedTotalCap],
        [{ reason: 'per-ip-cap' }, c.refusedPerIpCap],
        [{ reason: 'no-pool' }, c.refusedNoPool],
      ] satisfies [{ reason: (typeof REFUSE_REASONS)[number] }, number][];
    });
    this.#snapshotCounter('disconnects_total', 'Miner connections closed by hashgate, by reason.', ['reason'], () => {
      const c = src.daemonCounters();
      return [
        [{ reason: 'authorize-timeout' }, c.authorizeTimeouts],
        [{ reason: 'oversized-line' }, c.oversizedLines],
        [{ reason: 'garbage' }, c.droppedForGarbage],
        [{ reason: 'flood' }, c.floodDisconnects],
        [{ reason: 'over-limits' }, c.overLimitDisconnects],
        [{ reason: 'fault' }, c.connectionFaults],
        [{ reason: 'no-pool' }, c.noPoolDisconnects],
      ] satisfies [{ reason: (typeof DISCONNECT_REASONS)[number] }, number][];
    });
    this.#snapshotCounter('submits_rate_limited_total', 'Submits answered "rate limited" (never hashed).', [], () => [
      [{}, src.daemonCounters().rateLimitedSubmits],
    ]);
  }

  /** The pools as the source sees them (capped at MAX_POOLS) and the no-pool state. */
  #addPoolSeries(src: AdminSource): void {
    this.#gauge('upstream_up', '1 while at least one session is connected to the pool, else 0.', ['pool'], (g) => {
      const { kept, dropped } = capped(
        src.pools().map((p) => [poolLabel(p.url), p] as const),
        MAX_POOLS,
      );
      this.#cappedBy.pool = dropped;
      for (const [pool, p] of kept) g.set({ pool }, p.state === 'up' ? 1 : 0);
    });
    this.#gauge('upstream_sessions', 'Sessions connected to the pool.', ['pool'], (g) => {
      for (const [pool, p] of capped(
        src.pools().map((p) => [poolLabel(p.url), p] as const),
        MAX_POOLS,
      ).kept)
        g.set({ pool }, p.sessions);
    });
    this.#gauge('no_pool', '1 while no pool is reachable (after failover.poolLossGraceMs), else 0.', [], (g) =>
      g.set(src.daemonCounters().noPoolReachable > 0 ? 1 : 0),
    );
    this.#snapshotCounter('no_pool_episodes_total', 'Times hashgate entered the no-pool state.', [], () => [
      [{}, src.daemonCounters().noPoolEpisodes],
    ]);
  }

  /** The journal writer's counters (0 while there is no journal). */
  #addJournalSeries(src: AdminSource): void {
    const jc = (name: string, help: string, read: (j: JournalStats) => number) =>
      this.#snapshotCounter(name, help, [], () => {
        const j = src.journal();
        return [[{}, j === null ? 0 : read(j)]];
      });
    jc('journal_records_total', 'Records written to the journal.', (j) => j.records);
    jc(
      'journal_write_errors_total',
      'Journal write errors (disk full or failing; records are dropped until a reopen).',
      (j) => j.writeErrors,
    );
    jc('journal_dropped_total', 'Journal records dropped (after a write error, or over the buffer cap).', (j) => j.dropped);
    jc('journal_rotations_total', 'Size rotations of the journal (journal.rotateBytes).', (j) => j.rotations);
  }

  /** The throttle loop's status: mode, watts, Redis health, decisions, rigs by state and alert. */
  #addThrottleSeries(src: AdminSource): void {
    this.#gauge('throttle_mode', 'The throttle mode: 1 for the current mode, 0 for the others.', ['mode'], (g) => {
      const mode = src.throttle()?.mode ?? 'off';
      for (const m of THROTTLE_MODES) g.set({ mode: m }, m === mode ? 1 : 0);
    });
    const th = (name: string, help: string, read: (s: ThrottleStatus) => number | null) =>
      this.#gauge(name, help, [], (g) => {
        const s = src.throttle();
        const v = s === null ? null : read(s);
        g.set(v === null ? UNKNOWN : v);
      });
    th('queue_depth', 'GPU inference queue depth read from Redis (NaN while unknown).', (s) => s.depth);
    th('site_budget_watts', 'Effective site budget, watts (the contract, or a lower Redis cap).', (s) => s.budget.siteWatts);
    th('gpu_need_watts', 'Watts the GPUs need at the current queue depth.', (s) => s.budget.gpuNeedWatts);
    th('asic_budget_watts', 'Watts the ASIC fleet may draw: site − base load − headroom − GPU need.', (s) => s.budget.asicWatts);
    th('asic_watts', 'ASIC watts running by the model (rated, power target, or idle draw per rig).', (s) => s.asicWatts);
    th('freed_watts', 'Watts freed for the GPUs by curtailed and reduced rigs.', (s) => s.freedWatts);
    th('measured_ths', "TH/s measured from the rigs' own shares over the last minute (rigs with a measurement).", (s) =>
      s.rigs.reduce((sum, r) => sum + (r.measuredThs ?? 0), 0),
    );
    th('measured_asic_watts', "ASIC watts by the measured hash rate × each rig's rated J/TH (rigs with a measurement).", (s) =>
      s.rigs.reduce((sum, r) => sum + (r.measuredWatts ?? 0), 0),
    );
    th('redis_up', '1 while Redis answers and its data is fresh, else 0 (NaN with the throttle off).', (s) => (s.redis.healthy ? 1 : 0));
    th('redis_last_ok_timestamp_seconds', 'Unix time of the last good Redis read (0 = never).', (s) =>
      s.redis.lastOkAt === null ? 0 : s.redis.lastOkAt / 1000,
    );
    this.#snapshotCounter('throttle_decisions_total', 'Curtail / set-power / resume decisions carried out.', [], () => [
      [{}, src.throttle()?.decisions ?? 0],
    ]);
    this.#gauge('rigs', 'Rigs by power state.', ['state'], (g) => {
      const n = new Map<string, number>(RIG_STATES.map((s) => [s, 0]));
      for (const r of src.throttle()?.rigs ?? []) n.set(r.state, (n.get(r.state) ?? 0) + 1);
      for (const [state, v] of n) g.set({ state }, v);
    });
    this.#gauge('rigs_alerting', 'Rigs with an open alert, by alert.', ['alert'], (g) => {
      const n = new Map<string, number>(RIG_ALERTS.map((a) => [a, 0]));
      for (const r of src.throttle()?.rigs ?? []) if (r.alert !== null) n.set(r.alert, (n.get(r.alert) ?? 0) + 1);
      for (const [alert, v] of n) g.set({ alert }, v);
    });
  }

  /** Per rig group (at most maxGroups groups). */
  #addGroupSeries(src: AdminSource): void {
    this.#gauge('group_watts', `ASIC watts running per rig group (at most ${this.#maxGroups} groups).`, ['group'], (g) => {
      const { kept, dropped } = capped(groupsOf(src.throttle()?.rigs ?? []), this.#maxGroups);
      this.#cappedBy.group = dropped;
      for (const [group, row] of kept) g.set({ group }, row.watts);
    });
    this.#gauge('group_curtailed', 'Curtailed rigs per rig group.', ['group'], (g) => {
      for (const [group, row] of capped(groupsOf(src.throttle()?.rigs ?? []), this.#maxGroups).kept) g.set({ group }, row.curtailed);
    });
    this.#gauge('group_rigs', 'Rigs per rig group.', ['group'], (g) => {
      for (const [group, row] of capped(groupsOf(src.throttle()?.rigs ?? []), this.#maxGroups).kept) g.set({ group }, row.rigs);
    });
  }

  /** Per rig, opt-in (admin.perRigMetrics; at most maxRigs rigs). */
  #addRigSeries(src: AdminSource): void {
    const rigs = () => {
      const { kept, dropped } = capped(
        (src.throttle()?.rigs ?? []).map((r) => [labelValue(r.id), r] as const),
        this.#maxRigs,
      );
      this.#cappedBy.rig = dropped;
      return kept;
    };
    this.#gauge('rig_watts', `Watts per rig by the model (admin.perRigMetrics; at most ${this.#maxRigs} rigs).`, ['rig', 'group'], (g) => {
      for (const [rig, r] of rigs()) g.set({ rig, group: labelValue(r.group) }, r.watts);
    });
    this.#gauge(
      'rig_measured_ths',
      'TH/s per rig measured from its own shares over the last minute (admin.perRigMetrics; NaN before any).',
      ['rig', 'group'],
      (g) => {
        for (const [rig, r] of rigs()) g.set({ rig, group: labelValue(r.group) }, r.measuredThs ?? Number.NaN);
      },
    );
    this.#gauge(
      'rig_state',
      'Power state per rig: 1 for the current state, 0 for the others (admin.perRigMetrics).',
      ['rig', 'state'],
      (g) => {
        for (const [rig, r] of rigs()) for (const state of RIG_STATES) g.set({ rig, state }, r.state === state ? 1 : 0);
      },
    );
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text (reads the source now). */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  countShare(event: ShareEvent): void {
    if (event.verdict === 'accepted') {
      this.#shares.inc({ verdict: 'accepted', reason: 'none' });
      if (Number.isFinite(event.difficulty) && event.difficulty > 0) this.#acceptedDifficulty.inc(event.difficulty);
    } else if (event.verdict === 'rejected') {
      const reason = (REJECT_REASONS as readonly string[]).includes(event.reason) ? event.reason : 'other';
      this.#shares.inc({ verdict: 'rejected', reason });
    }
  }

  countPoolAnswer(result: PoolAnswer): void {
    if ((POOL_ANSWERS as readonly string[]).includes(result)) this.#poolAnswers.inc({ result });
  }

  observePoolRtt(ms: number): void {
    if (Number.isFinite(ms) && ms >= 0) this.#poolRtt.observe(ms / 1000);
  }

  countPoolDisagreement(): void {
    this.#disagreements.inc();
  }

  countDriverError(driver: string): void {
    if ((DRIVER_KINDS as readonly string[]).includes(driver)) this.#driverErrors.inc({ driver });
  }

  /** A counter the MetricsRecorder hooks increment. */
  #counter<L extends string = string>(name: string, help: string, labelNames: readonly L[] = []): Counter<L> {
    return new Counter<L>({ name: `${METRIC_PREFIX}${name}`, help, labelNames, registers: [this.registry] });
  }

  #gauge<L extends string>(name: string, help: string, labelNames: readonly L[], collect: (g: Gauge<L>) => void): void {
    new Gauge<L>({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        // Labelled gauges start empty each scrape: a pool, group or rig that went away disappears.
        if (labelNames.length > 0) this.reset();
        collect(this);
      },
    });
  }

  /** A counter mirrored from a monotonic source value at scrape time. */
  #snapshotCounter<L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    read: () => [Partial<Record<L, string>>, number][],
  ): void {
    new Counter<L>({
      name: `${METRIC_PREFIX}${name}`,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, v] of read()) this.inc(labels, Number.isFinite(v) && v > 0 ? v : 0);
      },
    });
  }
}

export function createMetrics(options: MetricsOptions): Metrics {
  return new Metrics(options);
}
