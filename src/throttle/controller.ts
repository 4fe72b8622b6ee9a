/**
 * The throttle loop: signals → policy → planner → drivers, once per
 * throttle.intervalMs, plus verification and status. See docs/throttling.md.
 *
 * Rules it keeps:
 * - It never stalls on Redis or a rig: a reading is bounded by the source's
 *   command timeout, driver commands run in the background (a rig with a
 *   command in flight is left out of planning until it settles), and a tick
 *   never overlaps the previous one.
 * - Stale or unreachable signals engage throttle.redis.onStale after
 *   staleAfterMs: hold (no new decisions), shed (budget for the GPUs' maximum
 *   need), release (budget for no GPU need); visible as the mode.
 * - No pool reachable: the fleet is curtailed through its drivers.
 * - Shadow: every decision is computed and logged, nothing is sent.
 * - Verification: a curtailed rig that still submits shares after
 *   verify.afterCurtailMs is flagged still-hashing; a resumed one with no share
 *   after verify.afterResumeMs is flagged not-resumed.
 */

import type { Config } from '../config/index.js';
import type { Logger } from '../util/log.js';
import { matchRig } from './inventory.js';
import { plan } from './planner.js';
import { computeBudget, policyFromConfig } from './policy.js';
import {
  type Budget,
  type Decision,
  INITIAL_PLANNER_MEMORY,
  type PlannerMemory,
  type PlannerRig,
  type PolicySettings,
  type RigAlert,
  type RigControl,
  type RigPowerState,
  type RigSpec,
  type RigStatus,
  type StratumGate,
  type ThrottleEvent,
  type ThrottleMode,
  type ThrottleStatus,
} from './types.js';

/** One poll of the signals (Redis, or the demo's in-process script). */
export type SignalReading =
  | {
      readonly ok: true;
      readonly depth: number;
      readonly capWatts: number | null;
      readonly overrides: ReadonlyMap<string, 'run' | 'curtail'>;
      readonly at: number;
    }
  | { readonly ok: false; readonly error: string; readonly at: number };

export interface SignalSource {
  /** Never throws; bounded in time. */
  poll(): Promise<SignalReading>;
  close(): Promise<void> | void;
}

export interface StatusSink {
  publishStatus(status: ThrottleStatus): void | Promise<void>;
  publishEvent(event: ThrottleEvent): void | Promise<void>;
  close(): Promise<void> | void;
}

/** One live, authorized miner session as the throttle sees it. */
export interface FleetSession {
  readonly rigId: string;
  readonly ip: string | null;
  /** Shares accepted (locally valid) so far in this session. */
  readonly accepted: number;
  readonly lastShareAt: number | null;
}

/** What the daemon offers the throttle. */
export interface Fleet {
  sessions(): Iterable<FleetSession>;
  /** Fresh work with clean_jobs for the rig's sessions (after a firmware resume). */
  refreshWork(rigId: string): void;
  /** True while no pool is reachable (the daemon's no-pool state). */
  noPool(): boolean;
  readonly gate: StratumGate;
}

export type ThrottleConfig = Pick<Config, 'throttle' | 'rigs' | 'defaultRig'>;

export interface ControllerOptions {
  readonly config: ThrottleConfig;
  readonly source: SignalSource;
  readonly sink?: StatusSink | null;
  readonly fleet: Fleet;
  /** Builds the control channel of a rig (src/throttle/drivers). */
  readonly createControl: (rig: RigSpec) => RigControl;
  readonly log: Logger;
  readonly now?: () => number;
  /** Called when a driver command is handed to the driver (bench: reaction time). */
  readonly onCommand?: (rig: string, action: Decision['action'], at: number) => void;
  /** Called for every failed driver command (metrics). */
  readonly onDriverError?: (driver: RigControl['kind']) => void;
  /** Called after every tick (tests, demo). */
  readonly onTick?: (status: ThrottleStatus) => void;
}

/** A rig unseen (no session) this long, and not curtailed by us, is forgotten. */
const FORGET_AFTER_MS = 10 * 60 * 1000;
/** Share timestamps kept per rig for the share rate. */
const RATE_WINDOW_MS = 60 * 1000;
const MAX_SHARE_STAMPS = 512;

interface RigRecord {
  spec: RigSpec;
  state: RigPowerState;
  control: RigControl | null;
  controlError: string | null;
  busy: boolean;
  sessions: number;
  ip: string | null;
  lastSeenAt: number;
  accepted: number;
  lastShareAt: number | null;
  shareStamps: number[];
  alert: RigAlert | null;
  reason: string | null;
  /** When the last curtail / resume was sent, for verification. */
  curtailedAt: number | null;
  resumedAt: number | null;
  /** After a failed command the rig sits out of planning until then (others cover its watts), doubling per failure. */
  retryAt: number;
  failures: number;
}

/** First pause after a failed driver command; doubles up to RETRY_MAX_MS. */
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;

const EMPTY_BUDGET: Budget = Object.freeze({ siteWatts: 0, gpuNeedWatts: 0, headroomWatts: 0, baseLoadWatts: 0, asicWatts: 0 });

export class ThrottleController {
  readonly #o: ControllerOptions;
  readonly #now: () => number;
  readonly #policy: PolicySettings;
  readonly #rigs = new Map<string, RigRecord>();
  #memory: PlannerMemory = INITIAL_PLANNER_MEMORY;
  #mode: ThrottleMode;
  #depth: number | null = null;
  #capWatts: number | null = null;
  #overrides: ReadonlyMap<string, 'run' | 'curtail'> = new Map();
  #budget: Budget = EMPTY_BUDGET;
  #lastOkAt: number | null = null;
  #redisError: string | null = null;
  #startedAt: number;
  #driverErrors = 0;
  #decisions = 0;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | null = null;
  #stopped = false;
  #lastShadowKey = '';
  #lastStatus: ThrottleStatus | null = null;
  #infeasible = false;

  constructor(options: ControllerOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#policy = policyFromConfig(options.config.throttle);
    this.#startedAt = this.#now();
    this.#mode = options.config.throttle.enabled ? (options.config.throttle.shadow ? 'shadow' : 'live') : 'off';
  }

  get mode(): ThrottleMode {
    return this.#mode;
  }

  /** Starts the loop (first tick at once). */
  start(): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const loop = () => {
      this.#timer = setTimeout(() => {
        void this.tick().finally(() => {
          if (!this.#stopped) loop();
        });
      }, this.#o.config.throttle.intervalMs);
    };
    void this.tick().finally(() => {
      if (!this.#stopped) loop();
    });
  }

  /** One iteration; concurrent calls share the running one. */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().finally(() => (this.#ticking = null));
    return this.#ticking;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#ticking;
    for (const r of this.#rigs.values()) r.control?.close();
    await this.#o.source.close();
    await this.#o.sink?.close();
  }

  /** The last tick's status (or a fresh snapshot before the first tick). */
  status(): ThrottleStatus {
    return this.#lastStatus ?? this.#snapshot(this.#now());
  }

  async #tick(): Promise<void> {
    const t = this.#o.config.throttle;
    const reading = await this.#o.source.poll();
    const now = this.#now();
    if (reading.ok) {
      this.#lastOkAt = reading.at;
      this.#redisError = null;
      this.#depth = reading.depth;
      this.#capWatts = reading.capWatts;
      this.#overrides = reading.overrides;
    } else {
      if (this.#redisError === null) this.#o.log.warn({ error: reading.error }, 'throttle signals unreadable');
      this.#redisError = reading.error;
    }
    this.#refreshFleet(now);

    const mode = this.#modeFor(now);
    this.#setMode(mode, now);
    if (mode !== 'off') {
      const depth = mode === 'stale-shed' ? null : mode === 'stale-release' ? 0 : this.#depth;
      // A stale cap is still the last word from the site (a demand-response limit must not lapse with Redis).
      const cap = this.#capWatts;
      let budget = computeBudget(this.#policy, { depth, capWatts: cap });
      if (mode === 'no-pool') budget = { ...budget, asicWatts: 0 };
      if (budget.asicWatts !== this.#budget.asicWatts)
        this.#emit({ type: 'budget', asicBudgetWatts: budget.asicWatts, freedWatts: this.#freedWatts(), at: now });
      this.#budget = budget;
      if (mode !== 'stale-hold') this.#planAndAct(now, mode);
    }
    this.#verify(now);
    const status = this.#snapshot(now);
    this.#lastStatus = status;
    if (t.enabled) void Promise.resolve(this.#o.sink?.publishStatus(status)).catch(() => {});
    this.#o.onTick?.(status);
  }

  #modeFor(now: number): ThrottleMode {
    const t = this.#o.config.throttle;
    if (!t.enabled) return 'off';
    if (this.#o.fleet.noPool()) return 'no-pool';
    if (now - (this.#lastOkAt ?? this.#startedAt) > t.redis.staleAfterMs) return `stale-${t.redis.onStale}`;
    // No reading yet: decide nothing until the first one arrives (or staleAfterMs passes).
    if (this.#lastOkAt === null) return 'stale-hold';
    return t.shadow ? 'shadow' : 'live';
  }

  #setMode(mode: ThrottleMode, now: number): void {
    if (mode === this.#mode) return;
    const previous = this.#mode;
    this.#mode = mode;
    const level = mode.startsWith('stale') || mode === 'no-pool' ? 'warn' : 'info';
    this.#o.log[level]({ mode, previous, redisError: this.#redisError }, `throttle mode ${previous} -> ${mode}`);
    this.#emit({ type: 'mode', mode, previous, at: now });
  }

  #refreshFleet(now: number): void {
    const seen = new Map<string, { sessions: number; ip: string | null; accepted: number; lastShareAt: number | null }>();
    for (const s of this.#o.fleet.sessions()) {
      const a = seen.get(s.rigId);
      if (a === undefined) seen.set(s.rigId, { sessions: 1, ip: s.ip, accepted: s.accepted, lastShareAt: s.lastShareAt });
      else {
        a.sessions++;
        a.accepted += s.accepted;
        if (s.lastShareAt !== null && (a.lastShareAt === null || s.lastShareAt > a.lastShareAt)) a.lastShareAt = s.lastShareAt;
      }
    }
    const cfg = this.#o.config;
    for (const [id, a] of seen) {
      let r = this.#rigs.get(id);
      if (r === undefined) {
        const spec = matchRig(cfg.rigs, cfg.defaultRig, id, a.ip);
        r = {
          spec,
          state: { kind: 'running', since: now },
          control: null,
          controlError: null,
          busy: false,
          sessions: 0,
          ip: a.ip,
          lastSeenAt: now,
          accepted: a.accepted,
          lastShareAt: a.lastShareAt,
          shareStamps: [],
          alert: null,
          reason: null,
          curtailedAt: null,
          resumedAt: null,
          retryAt: 0,
          failures: 0,
        };
        this.#rigs.set(id, r);
      }
      // New shares since the last tick (a reconnect starts a new session with its own count).
      const fresh = a.accepted >= r.accepted ? a.accepted - r.accepted : a.accepted;
      for (let i = 0; i < Math.min(fresh, MAX_SHARE_STAMPS); i++) r.shareStamps.push(a.lastShareAt ?? now);
      if (r.shareStamps.length > MAX_SHARE_STAMPS) r.shareStamps.splice(0, r.shareStamps.length - MAX_SHARE_STAMPS);
      r.accepted = a.accepted;
      if (a.lastShareAt !== null && (r.lastShareAt === null || a.lastShareAt > r.lastShareAt)) r.lastShareAt = a.lastShareAt;
      r.sessions = a.sessions;
      r.ip = a.ip ?? r.ip;
      r.lastSeenAt = now;
    }
    for (const [id, r] of this.#rigs) {
      if (!seen.has(id)) {
        r.sessions = 0;
        r.accepted = 0;
        if (r.state.kind === 'running' && !r.busy && now - r.lastSeenAt > FORGET_AFTER_MS) {
          r.control?.close();
          this.#rigs.delete(id);
        }
      }
      while (r.shareStamps.length > 0 && r.shareStamps[0]! < now - RATE_WINDOW_MS) r.shareStamps.shift();
    }
  }

  #controlOf(r: RigRecord): RigControl | null {
    if (r.control !== null || r.controlError !== null) return r.control;
    try {
      r.control = this.#o.createControl({ ...r.spec, ip: r.ip });
      this.#adoptFirmwareState(r, r.control);
    } catch (e) {
      r.controlError = e instanceof Error ? e.message : String(e);
      this.#o.log.warn({ rig: r.spec.id, error: r.controlError }, 'rig has no usable control channel; left alone');
    }
    return r.control;
  }

  /**
   * A rig hashgate curtailed before a restart is still asleep: ask its firmware once, when its control channel is
   * made, and take it as curtailed (the planner then resumes it when the budget allows) instead of counting its
   * watts as running and never waking it.
   */
  #adoptFirmwareState(r: RigRecord, control: RigControl): void {
    if (control.readState === undefined) return;
    r.busy = true;
    control.readState().then(
      (fw) => {
        r.busy = false;
        if (fw.hashing || r.state.kind !== 'running') return;
        const now = this.#now();
        r.state = { kind: 'curtailed', since: now, curtailedSince: now };
        r.curtailedAt = now;
        r.reason = 'found asleep by its firmware at start-up';
        this.#o.log.info({ rig: r.spec.id, detail: fw.detail }, 'rig found curtailed by its firmware; taken as curtailed');
      },
      () => {
        r.busy = false; // unknown: treat as running, as before
      },
    );
  }

  #overrideOf(r: RigRecord): 'run' | 'curtail' | null {
    return this.#overrides.get(r.spec.id) ?? r.spec.override;
  }

  #plannerRigs(mode: ThrottleMode, now: number): PlannerRig[] {
    const out: PlannerRig[] = [];
    for (const r of this.#rigs.values()) {
      const control = this.#controlOf(r);
      // A running rig with no session is not working for us (off, or on another pool) and is left out, except with no
      // pool reachable: then the daemon has just disconnected it, it is most likely still hashing stale work or its
      // backup pool's, and a firmware driver can still put it to sleep.
      if (r.state.kind === 'running' && r.sessions === 0 && !(mode === 'no-pool' && control?.keepsSession === true)) continue;
      const reachable = control !== null;
      out.push({
        ...r.spec,
        ip: r.ip,
        powerTargets: control?.supportsPowerTarget === true ? r.spec.powerTargets : [],
        override: this.#overrideOf(r),
        state: r.state,
        controllable: reachable && !r.busy && now >= r.retryAt,
      });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #planAndAct(now: number, mode: ThrottleMode): void {
    const t = this.#o.config.throttle;
    const result = plan({
      now,
      asicBudgetWatts: this.#budget.asicWatts,
      rigs: this.#plannerRigs(mode, now),
      settings: t.planner,
      memory: this.#memory,
    });
    if (mode === 'shadow') {
      const key = result.decisions.map((d) => `${d.rig}:${d.action}:${d.watts ?? ''}`).join(',');
      if (key !== this.#lastShadowKey) {
        this.#lastShadowKey = key;
        for (const d of result.decisions)
          this.#o.log.info({ rig: d.rig, action: d.action, watts: d.watts, reason: d.reason }, `shadow: would ${d.action} ${d.rig}`);
      }
      return;
    }
    this.#memory = result.memory;
    if (!result.feasible && !this.#infeasible) {
      this.#o.log.warn(
        { budget: result.budgetWatts, running: result.runningWatts },
        'ASIC budget cannot be met even with every controllable rig curtailed',
      );
    } else if (result.feasible && this.#infeasible) this.#o.log.info({ budget: result.budgetWatts }, 'ASIC budget can be met again');
    this.#infeasible = !result.feasible;
    for (const d of result.decisions) this.#dispatch(d, now);
  }

  #dispatch(d: Decision, now: number): void {
    const r = this.#rigs.get(d.rig);
    const control = r === undefined ? null : this.#controlOf(r);
    if (r === undefined || control === null) return;
    const before = r.state;
    const curtailedSince = before.kind === 'running' ? now : before.curtailedSince;
    let run: () => Promise<void>;
    let after: RigPowerState;
    let watts: number;
    if (d.action === 'curtail') {
      run = () => control.curtail();
      after = { kind: 'curtailed', since: now, curtailedSince };
      watts = r.spec.idleWatts;
    } else if (d.action === 'set-power' && d.watts !== undefined && control.setPowerTarget !== undefined) {
      const w = d.watts;
      run = () => control.setPowerTarget!(w);
      after = { kind: 'reduced', watts: w, since: now, curtailedSince };
      watts = w;
    } else if (d.action === 'resume') {
      run = () => control.resume();
      after = { kind: 'running', since: now };
      watts = r.spec.ratedWatts;
    } else return;
    // Optimistic: the planner sees the new state at once (so the next tick does not pick more rigs for the same
    // watts); a failed command puts the old one back.
    r.state = after;
    r.busy = true;
    r.reason = d.reason;
    this.#decisions++;
    if (d.action === 'resume') r.resumedAt = now;
    else if (d.action === 'curtail') r.curtailedAt = now; // a reduced rig still hashes: verification counts from the full curtail
    this.#o.log.info({ rig: d.rig, action: d.action, watts, driver: control.kind, reason: d.reason }, `${d.action} ${d.rig}`);
    this.#o.onCommand?.(d.rig, d.action, this.#now());
    let p: Promise<void>;
    try {
      p = run();
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then(
      () => {
        r.busy = false;
        if (r.failures > 0) this.#o.log.info({ rig: d.rig, action: d.action }, 'driver command succeeded again');
        r.failures = 0;
        r.retryAt = 0;
        if (r.alert === 'driver-error') r.alert = null;
        if (d.action === 'resume' && control.keepsSession) this.#o.fleet.refreshWork(d.rig);
        this.#emit({ type: d.action, rig: d.rig, watts, reason: d.reason, at: this.#now() });
      },
      (e: unknown) => {
        r.busy = false;
        r.state = before;
        this.#driverErrors++;
        this.#o.onDriverError?.(control.kind);
        const backoff = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** r.failures);
        r.failures++;
        r.retryAt = this.#now() + backoff;
        const message = e instanceof Error ? e.message : String(e);
        // Logged at the first failure and then at debug: a dead rig must not flood the log every interval.
        this.#o.log[r.failures === 1 ? 'warn' : 'debug'](
          { rig: d.rig, action: d.action, driver: control.kind, error: message, retryInMs: backoff, failures: r.failures },
          'driver command failed; other rigs cover it, retrying later',
        );
        this.#alert(r, 'driver-error', this.#now());
      },
    );
  }

  #verify(now: number): void {
    const v = this.#o.config.throttle.verify;
    for (const r of this.#rigs.values()) {
      if (r.busy) continue;
      let alert: RigAlert | null = r.alert === 'driver-error' ? 'driver-error' : null;
      if (
        r.state.kind === 'curtailed' &&
        r.curtailedAt !== null &&
        r.lastShareAt !== null &&
        r.lastShareAt > r.curtailedAt + v.afterCurtailMs
      ) {
        alert = 'still-hashing';
      } else if (
        r.state.kind === 'running' &&
        r.resumedAt !== null &&
        now > r.resumedAt + v.afterResumeMs &&
        (r.lastShareAt === null || r.lastShareAt < r.resumedAt)
      ) {
        alert = 'not-resumed';
      }
      if (alert !== r.alert) {
        if (alert === null) r.alert = null;
        else this.#alert(r, alert, now);
      }
    }
  }

  #alert(r: RigRecord, alert: RigAlert, now: number): void {
    if (r.alert === alert) return;
    r.alert = alert;
    if (alert !== 'driver-error') this.#o.log.warn({ rig: r.spec.id, alert, ip: r.ip }, `rig ${r.spec.id}: ${alert}`);
    this.#emit({ type: 'alert', rig: r.spec.id, alert, at: now });
  }

  #emit(e: ThrottleEvent): void {
    if (!this.#o.config.throttle.enabled) return;
    void Promise.resolve(this.#o.sink?.publishEvent(e)).catch(() => {});
  }

  #wattsOf(r: RigRecord): number {
    return r.state.kind === 'running' ? r.spec.ratedWatts : r.state.kind === 'reduced' ? r.state.watts : r.spec.idleWatts;
  }

  #freedWatts(): number {
    let freed = 0;
    for (const r of this.#rigs.values()) if (r.state.kind !== 'running') freed += r.spec.ratedWatts - this.#wattsOf(r);
    return freed;
  }

  #snapshot(now: number): ThrottleStatus {
    const rigs: RigStatus[] = [];
    let asic = 0;
    let curtailed = 0;
    let reduced = 0;
    for (const r of this.#rigs.values()) {
      const watts = r.state.kind === 'running' && r.sessions === 0 ? 0 : this.#wattsOf(r);
      asic += watts;
      if (r.state.kind === 'curtailed') curtailed++;
      if (r.state.kind === 'reduced') reduced++;
      rigs.push({
        id: r.spec.id,
        group: r.spec.group,
        entry: r.spec.entry,
        driver: r.control?.kind ?? 'stratum',
        ip: r.ip,
        state: r.state.kind,
        watts,
        ratedWatts: r.spec.ratedWatts,
        ratedThs: r.spec.ratedThs,
        priority: r.spec.priority,
        sessions: r.sessions,
        sharesPerMinute: r.shareStamps.filter((s) => s >= now - RATE_WINDOW_MS).length,
        lastShareAt: r.lastShareAt,
        alert: r.alert,
        reason: r.reason,
        since: r.state.since,
      });
    }
    rigs.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return {
      mode: this.#mode,
      depth: this.#depth,
      capWatts: this.#capWatts,
      budget: this.#budget,
      asicWatts: asic,
      freedWatts: this.#freedWatts(),
      curtailedRigs: curtailed,
      reducedRigs: reduced,
      redis: { healthy: this.#redisError === null && this.#lastOkAt !== null, lastOkAt: this.#lastOkAt, error: this.#redisError },
      driverErrors: this.#driverErrors,
      decisions: this.#decisions,
      updatedAt: now,
      rigs,
    };
  }
}
