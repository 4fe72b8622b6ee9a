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
 *   staleAfterMs (./stale.ts): hold (no new decisions), shed (budget for the
 *   GPUs' maximum need), release (budget for no GPU need); visible as the mode.
 * - No pool reachable: the fleet is curtailed through its drivers.
 * - Shadow: every decision is computed and logged, nothing is sent.
 * - A failed driver command puts the rig's state back, flags it driver-error
 *   and keeps it out of planning for a backoff, so other rigs cover its watts
 *   meanwhile (./actuator.ts).
 * - Verification (./verify.ts, ./rig-proof.ts): each accepted decision is
 *   proven from the rig's measured hash rate (curtail: silence at a 1e-4
 *   false-alarm bound; power target and resume: the measured interval against
 *   a ±20 % band), with today's time rules where no rate is known; alerts
 *   still-hashing, under-performing, not-reduced, not-resumed, and windows
 *   that add each driver's settle time (RigControl.timing). A curtailed rig
 *   whose measured shares keep coming (a zombie) is planned at its measured
 *   watts (PlannerRig.drawWatts), so other rigs cover it. A rig whose last
 *   command is still settling is not resumed and is shed last (./planner.ts).
 *
 * Time comes from an injected Clock (../util/clock.ts): the stamps, the plans and
 * the next tick's timer, so tests drive the loop with a fake clock. Settings
 * come from the config once, through ./settings.ts. The rig records and the
 * status snapshot live in ./rigs.ts and ./status.ts; this file is the loop.
 */

import type { Logger } from '../util/log.js';
import { Actuator } from './actuator.js';
import { type Clock, type ClockTimer, clockWithNow, systemClock } from '../util/clock.js';
import { matchRig } from './inventory.js';
import { plan } from './planner.js';
import { computeBudget } from './policy.js';
import {
  type RigRecord,
  createRigRecord,
  freedWatts,
  pruneShareStamps,
  recordSeen,
  recordUnseen,
  rigWatts,
  sessionTotals,
} from './rigs.js';
import { type ThrottleConfig, throttleSettingsFromConfig } from './settings.js';
import { StaleTracker } from './stale.js';
import { buildStatus } from './status.js';
import {
  type Budget,
  type Decision,
  type Fleet,
  INITIAL_PLANNER_MEMORY,
  type PlannerMemory,
  type PlannerRig,
  type RigAlert,
  type RigControl,
  type RigSpec,
  type SignalReading,
  type SignalSource,
  type StatusSink,
  type ThrottleEvent,
  type ThrottleMode,
  type ThrottleSettings,
  type ThrottleStatus,
} from './types.js';
import { verifyRecord } from './rig-proof.js';

// The ports used to be declared here; importers (daemon, demo, bench, tests) still find them here.
export type { Fleet, FleetSession, SignalReading, SignalSource, StatusSink } from './types.js';
export type { ThrottleConfig } from './settings.js';
export { RETRY_BASE_MS, RETRY_MAX_MS } from './actuator.js';

export interface ControllerOptions {
  readonly config: ThrottleConfig;
  readonly source: SignalSource;
  readonly sink?: StatusSink | null;
  readonly fleet: Fleet;
  /** Builds the control channel of a rig (src/throttle/drivers). */
  readonly createControl: (rig: RigSpec) => RigControl;
  readonly log: Logger;
  /** Time and the tick timer (default systemClock). */
  readonly clock?: Clock;
  /** Only the time (the timer stays the system's); ignored when `clock` is given. */
  readonly now?: () => number;
  /** Called when a driver command is handed to the driver (bench: reaction time). */
  readonly onCommand?: (rig: string, action: Decision['action'], at: number) => void;
  /** Called for every failed driver command (metrics). */
  readonly onDriverError?: (driver: RigControl['kind']) => void;
  /** Called after every tick (tests, demo). */
  readonly onTick?: (status: ThrottleStatus) => void;
}

const EMPTY_BUDGET: Budget = Object.freeze({ siteWatts: 0, gpuNeedWatts: 0, headroomWatts: 0, baseLoadWatts: 0, asicWatts: 0 });

export class ThrottleController {
  readonly #o: ControllerOptions;
  readonly #clock: Clock;
  readonly #settings: ThrottleSettings;
  readonly #stale: StaleTracker;
  readonly #rigs = new Map<string, RigRecord>();
  readonly #actuator: Actuator;
  #memory: PlannerMemory = INITIAL_PLANNER_MEMORY;
  #mode: ThrottleMode;
  #depth: number | null = null;
  #capWatts: number | null = null;
  #overrides: ReadonlyMap<string, 'run' | 'curtail'> = new Map();
  #budget: Budget = EMPTY_BUDGET;
  #timer: ClockTimer | undefined;
  #ticking: Promise<void> | null = null;
  #started = false;
  #stopped = false;
  #lastShadowKey = '';
  #lastStatus: ThrottleStatus | null = null;
  #infeasible = false;

  constructor(options: ControllerOptions) {
    this.#o = options;
    this.#clock = options.clock ?? (options.now !== undefined ? clockWithNow(options.now) : systemClock);
    this.#settings = throttleSettingsFromConfig(options.config);
    this.#stale = new StaleTracker(this.#settings.stale.staleAfterMs, this.#clock.now());
    this.#mode = this.#settings.enabled ? (this.#settings.shadow ? 'shadow' : 'live') : 'off';
    this.#actuator = new Actuator({
      createControl: options.createControl,
      fleet: options.fleet,
      log: options.log,
      clock: this.#clock,
      emit: (e) => this.#emit(e),
      alert: (r, alert, now) => this.#alert(r, alert, now),
      onCommand: options.onCommand,
      onDriverError: options.onDriverError,
    });
  }

  get mode(): ThrottleMode {
    return this.#mode;
  }

  /** Starts the loop: a tick at once, then one intervalMs after each tick ends (on the clock's timer). */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    const loop = (): void => {
      this.#timer = undefined;
      void this.tick().finally(() => {
        if (!this.#stopped) this.#timer = this.#clock.setTimeout(loop, this.#settings.intervalMs);
      });
    };
    loop();
  }

  /** One iteration; concurrent calls share the running one. */
  tick(): Promise<void> {
    this.#ticking ??= this.#tick().finally(() => (this.#ticking = null));
    return this.#ticking;
  }

  /** Resolves when the driver commands (and firmware reads) in flight now have settled and been accounted for. */
  idle(): Promise<void> {
    return this.#actuator.idle();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#actuator.stop();
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
    for (const r of this.#rigs.values()) r.control?.close();
    await this.#o.source.close();
    await this.#o.sink?.close();
  }

  /** The last tick's status (or a fresh snapshot before the first tick). */
  status(): ThrottleStatus {
    return this.#lastStatus ?? this.#snapshot(this.#clock.now());
  }

  async #tick(): Promise<void> {
    const reading = await this.#o.source.poll();
    const now = this.#clock.now();
    this.#read(reading);
    this.#refreshFleet(now);

    const mode = this.#modeFor(now);
    this.#setMode(mode, now);
    if (mode !== 'off') {
      const depth = mode === 'stale-shed' ? null : mode === 'stale-release' ? 0 : this.#depth;
      // A stale cap is still the last word from the site (a demand-response limit must not lapse with Redis).
      let budget = computeBudget(this.#settings.policy, { depth, capWatts: this.#capWatts });
      if (mode === 'no-pool') budget = { ...budget, asicWatts: 0 };
      if (budget.asicWatts !== this.#budget.asicWatts)
        this.#emit({ type: 'budget', asicBudgetWatts: budget.asicWatts, freedWatts: freedWatts(this.#rigs.values()), at: now });
      this.#budget = budget;
      if (mode !== 'stale-hold') this.#planAndAct(now, mode);
    }
    this.#verify(now);
    const status = this.#snapshot(now);
    this.#lastStatus = status;
    if (this.#settings.enabled) void Promise.resolve(this.#o.sink?.publishStatus(status)).catch(() => {});
    this.#o.onTick?.(status);
  }

  #read(reading: SignalReading): void {
    if (reading.ok) {
      this.#depth = reading.depth;
      this.#capWatts = reading.capWatts;
      this.#overrides = reading.overrides;
    } else if (this.#stale.lastError === null) {
      // Once per run of failed polls; the source logs the details of each distinct failure.
      this.#o.log.warn({ code: reading.code, error: reading.error }, 'throttle signals unreadable');
    }
    this.#stale.record(reading);
  }

  #modeFor(now: number): ThrottleMode {
    const s = this.#settings;
    if (!s.enabled) return 'off';
    if (this.#o.fleet.noPool()) return 'no-pool';
    if (this.#stale.isStale(now)) return `stale-${s.stale.onStale}`;
    // No reading yet: decide nothing until the first one arrives (or staleAfterMs passes).
    if (this.#stale.lastOkAt === null) return 'stale-hold';
    return s.shadow ? 'shadow' : 'live';
  }

  #setMode(mode: ThrottleMode, now: number): void {
    if (mode === this.#mode) return;
    const previous = this.#mode;
    this.#mode = mode;
    const level = mode.startsWith('stale') || mode === 'no-pool' ? 'warn' : 'info';
    this.#o.log[level]({ mode, previous, redisError: this.#stale.lastError }, 'throttle mode changed');
    this.#emit({ type: 'mode', mode, previous, at: now });
  }

  #refreshFleet(now: number): void {
    const seen = sessionTotals(this.#o.fleet.sessions());
    for (const [id, totals] of seen) {
      let r = this.#rigs.get(id);
      if (r === undefined) {
        r = createRigRecord(matchRig(this.#settings.rigs, this.#settings.defaultRig, id, totals.ip), totals, now);
        this.#rigs.set(id, r);
      }
      recordSeen(r, totals, now);
    }
    for (const [id, r] of this.#rigs) {
      if (!seen.has(id) && recordUnseen(r, now)) {
        r.control?.close();
        this.#rigs.delete(id);
      }
      pruneShareStamps(r, now);
    }
  }

  #plannerRigs(mode: ThrottleMode, now: number): PlannerRig[] {
    const out: PlannerRig[] = [];
    for (const r of this.#rigs.values()) {
      const control = this.#actuator.controlOf(r);
      // A running rig with no session is not working for us (off, or on another pool) and is left out, except with no
      // pool reachable: then the daemon has just disconnected it, it is most likely still hashing stale work or its
      // backup pool's, and a firmware driver can still put it to sleep.
      if (r.state.kind === 'running' && r.sessions === 0 && !(mode === 'no-pool' && control?.keepsSession === true)) continue;
      out.push({
        ...r.spec,
        ip: r.ip,
        powerTargets: control?.supportsPowerTarget === true ? r.spec.powerTargets : [],
        override: this.#overrides.get(r.spec.id) ?? r.spec.override,
        state: r.state,
        controllable: control !== null && !r.busy && now >= r.retryAt,
        ...(r.settleUntil > now ? { settlingUntil: r.settleUntil } : {}),
        // A zombie (curtailed, its measured shares keep coming) counts at its measured watts: the others cover it.
        ...(r.state.kind === 'curtailed' && r.drawWatts !== null ? { drawWatts: rigWatts(r) } : {}),
      });
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  #planAndAct(now: number, mode: ThrottleMode): void {
    const result = plan({
      now,
      asicBudgetWatts: this.#budget.asicWatts,
      rigs: this.#plannerRigs(mode, now),
      settings: this.#settings.planner,
      memory: this.#memory,
    });
    if (mode === 'shadow') {
      const key = result.decisions.map((d) => `${d.rig}:${d.action}:${d.watts ?? ''}`).join(',');
      if (key !== this.#lastShadowKey) {
        this.#lastShadowKey = key;
        for (const d of result.decisions)
          this.#o.log.info({ rig: d.rig, action: d.action, watts: d.watts, reason: d.reason }, 'shadow: would act');
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
    for (const d of result.decisions) {
      const r = this.#rigs.get(d.rig);
      if (r !== undefined) this.#actuator.dispatch(d, r, now);
    }
  }

  #verify(now: number): void {
    for (const r of this.#rigs.values()) {
      if (r.busy) continue;
      const wasZombie = r.drawWatts !== null;
      const { alert } = verifyRecord(r, now, this.#settings.verify);
      if (r.drawWatts !== null && !wasZombie)
        this.#o.log.warn(
          { rig: r.spec.id, measuredWatts: Math.round(r.drawWatts), idleWatts: r.spec.idleWatts },
          'curtailed rig still hashing: counted at its measured watts',
        );
      if (alert === r.alert) continue;
      if (alert === null) r.alert = null;
      else this.#alert(r, alert, now);
    }
  }

  #alert(r: RigRecord, alert: RigAlert, now: number): void {
    if (r.alert === alert) return;
    r.alert = alert;
    if (alert !== 'driver-error') this.#o.log.warn({ rig: r.spec.id, alert, ip: r.ip }, 'rig alert');
    this.#emit({ type: 'alert', rig: r.spec.id, alert, at: now });
  }

  #emit(e: ThrottleEvent): void {
    if (!this.#settings.enabled) return;
    void Promise.resolve(this.#o.sink?.publishEvent(e)).catch(() => {});
  }

  #snapshot(now: number): ThrottleStatus {
    return buildStatus(
      {
        mode: this.#mode,
        depth: this.#depth,
        capWatts: this.#capWatts,
        budget: this.#budget,
        redis: this.#stale.health(now),
        driverErrors: this.#actuator.driverErrors,
        decisions: this.#actuator.decisions,
        rigs: this.#rigs.values(),
      },
      now,
    );
  }
}
