/**
 * The actuator: carries the planner's decisions to the rigs' drivers, in the
 * background, and accounts for the outcome (docs/throttling.md § 5, "A
 * driver command fails").
 *
 * - A rig's control channel is made on first need; a rig that cannot have
 *   one (a DriverError from the factory, HG_ERR_DRIVER_CONFIG) is left alone.
 *   A new channel with a firmware read asks once whether the rig is asleep
 *   (hashgate restarted while it was curtailed) and takes it as curtailed
 *   only on the firmware's own sign of sleep, never on a 0 hash rate alone
 *   (a booting rig reports 0 too). A firmware that lists its own power
 *   targets (LuxOS profiles) is asked for them then too (./power-targets.ts).
 * - Timing per driver (RigControl.timing): after the firmware accepted a
 *   command the rig settles for the command's settle time (it stops, boots or
 *   ramps meanwhile: not resumed, shed only when no other rig can cover), and
 *   verification counts from the answer. The rig's measured rate when the
 *   command was sent and the answer's time start the command's proof
 *   (RigRecord.proof, ./verify.ts).
 * - A decision is applied optimistically: the rig's new state at once (so the
 *   next tick does not pick more rigs for the same watts), busy until the
 *   driver answers. Success publishes the decision event; failure puts the
 *   old state back, raises driver-error and keeps the rig out of planning for
 *   a backoff (RETRY_BASE_MS doubling to RETRY_MAX_MS), so other rigs cover
 *   its watts meanwhile.
 */

import type { Logger } from '../util/log.js';
import type { Clock } from '../util/clock.js';
import { mergePowerTargets } from './power-targets.js';
import type { RigRecord } from './rigs.js';
import {
  type Decision,
  DriverError,
  type Fleet,
  type RigAlert,
  type RigControl,
  type RigFirmwareState,
  type RigPowerState,
  type RigSpec,
  type ThrottleEvent,
} from './types.js';

/** First pause after a failed driver command; doubles up to RETRY_MAX_MS. */
export const RETRY_BASE_MS = 5_000;
export const RETRY_MAX_MS = 5 * 60_000;

export interface ActuatorOptions {
  /** Builds the control channel of a rig (src/throttle/drivers). */
  readonly createControl: (rig: RigSpec) => RigControl;
  readonly fleet: Pick<Fleet, 'refreshWork'>;
  readonly log: Logger;
  readonly clock: Clock;
  /** Publishes a decision event. */
  readonly emit: (event: ThrottleEvent) => void;
  /** Raises an alert on a rig (the controller logs and publishes it). */
  readonly alert: (r: RigRecord, alert: RigAlert, now: number) => void;
  readonly onCommand?: (rig: string, action: Decision['action'], at: number) => void;
  readonly onDriverError?: (driver: RigControl['kind']) => void;
}

/** What carrying out a decision means for one rig: the driver call, the state after it, the watts it then draws. */
interface Command {
  readonly run: () => Promise<void>;
  readonly after: RigPowerState;
  readonly watts: number;
}

function commandFor(d: Decision, r: RigRecord, control: RigControl, now: number): Command | null {
  const curtailedSince = r.state.kind === 'running' ? now : r.state.curtailedSince;
  switch (d.action) {
    case 'curtail':
      return { run: () => control.curtail(), after: { kind: 'curtailed', since: now, curtailedSince }, watts: r.spec.idleWatts };
    case 'set-power': {
      const w = d.watts;
      const set = control.setPowerTarget?.bind(control);
      if (w === undefined || set === undefined) return null;
      return { run: () => set(w), after: { kind: 'reduced', watts: w, since: now, curtailedSince }, watts: w };
    }
    case 'resume':
      return { run: () => control.resume(), after: { kind: 'running', since: now }, watts: r.spec.ratedWatts };
  }
}

const errorMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** How long the rig takes to show an accepted command (its driver's timing; none when the driver does not say). */
function settleMs(control: RigControl, action: Decision['action']): number {
  const t = control.timing;
  if (t === undefined) return 0;
  return action === 'curtail' ? t.curtailSettleMs : action === 'resume' ? t.resumeSettleMs : t.powerSettleMs;
}

export class Actuator {
  readonly #o: ActuatorOptions;
  /** Driver commands and firmware reads in flight, for idle(). */
  readonly #inflight = new Set<Promise<void>>();
  /** Failed driver commands so far. */
  driverErrors = 0;
  /** Decisions handed to a driver so far. */
  decisions = 0;
  /** Set by stop(): outcomes that arrive later are dropped (no log line, event or alert after the loop stopped). */
  #stopped = false;

  constructor(options: ActuatorOptions) {
    this.#o = options;
  }

  /** Resolves when the commands (and firmware reads) in flight now have settled and been accounted for. */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#inflight]);
  }

  /**
   * After this, a command still in flight (an Antminer write can take a minute) settles unseen: its outcome is not
   * logged, published or counted, since the log stream and the status sink may be closed by then. Nothing new is sent.
   */
  stop(): void {
    this.#stopped = true;
  }

  /** The rig's control channel, made on first need; null when it cannot have one (logged once). */
  controlOf(r: RigRecord): RigControl | null {
    if (r.control !== null || r.controlError !== null) return r.control;
    try {
      r.control = this.#o.createControl({ ...r.spec, ip: r.ip });
      this.#startupRead(r, r.control);
    } catch (e) {
      r.controlError = errorMessage(e);
      const code = e instanceof DriverError ? e.code : 'HG_ERR_DRIVER_CONFIG';
      this.#o.log.warn({ code, rig: r.spec.id, error: r.controlError }, 'rig has no usable control channel; left alone');
    }
    return r.control;
  }

  /** Sends one decision to the rig's driver (no-op for a rig without a control channel or a lever it lacks). */
  dispatch(d: Decision, r: RigRecord, now: number): void {
    if (this.#stopped) return;
    const control = this.controlOf(r);
    if (control === null) return;
    const command = commandFor(d, r, control, now);
    if (command === null) return;
    const before = r.state;
    r.state = command.after;
    r.busy = true;
    r.reason = d.reason;
    // The proof of this command compares what the rig does after it with the rate it had when it was sent.
    r.rateAtDispatch = r.measured === null ? null : { ...r.measured };
    r.drawWatts = null;
    this.decisions++;
    this.#o.log.info(
      { rig: d.rig, action: d.action, watts: command.watts, driver: control.kind, reason: d.reason },
      'sending throttle command',
    );
    this.#o.onCommand?.(d.rig, d.action, this.#o.clock.now());
    let p: Promise<void>;
    try {
      p = command.run();
    } catch (e) {
      p = Promise.reject(e);
    }
    this.#track(
      p.then(
        () => this.#done(r, control, d, command.watts),
        (e: unknown) => this.#failed(r, control, d, before, e),
      ),
    );
  }

  #done(r: RigRecord, control: RigControl, d: Decision, watts: number): void {
    r.busy = false;
    if (this.#stopped) return;
    const now = this.#o.clock.now();
    // Verification counts from the firmware's answer (an Antminer answers a config write only after ~21 s). A reduced
    // rig still hashes: only a full curtail is checked for shares.
    if (d.action === 'resume') r.resumedAt = now;
    else if (d.action === 'curtail') r.curtailedAt = now;
    const settle = settleMs(control, d.action);
    r.settleUntil = now + settle;
    r.proof = {
      action: d.action,
      answeredAt: now,
      settleMs: settle,
      before: r.rateAtDispatch,
      watts: d.action === 'set-power' ? (d.watts ?? null) : null,
      state: 'pending',
      by: 'measurement',
      at: null,
    };
    if (r.failures > 0) this.#o.log.info({ rig: d.rig, action: d.action }, 'driver command succeeded again');
    r.failures = 0;
    r.retryAt = 0;
    if (r.alert === 'driver-error') r.alert = null;
    if (d.action === 'resume' && control.keepsSession) this.#o.fleet.refreshWork(d.rig);
    this.#o.emit({ type: d.action, rig: d.rig, watts, reason: d.reason, at: now });
  }

  #failed(r: RigRecord, control: RigControl, d: Decision, before: RigPowerState, e: unknown): void {
    r.busy = false;
    if (this.#stopped) return;
    r.state = before;
    this.driverErrors++;
    this.#o.onDriverError?.(control.kind);
    const backoff = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** r.failures);
    r.failures++;
    const now = this.#o.clock.now();
    r.retryAt = now + backoff;
    const code = e instanceof DriverError ? e.code : 'HG_ERR_DRIVER_COMMAND';
    // Logged at the first failure and then at debug: a dead rig must not flood the log every interval.
    this.#o.log[r.failures === 1 ? 'warn' : 'debug'](
      { code, rig: d.rig, action: d.action, driver: control.kind, error: errorMessage(e), retryInMs: backoff, failures: r.failures },
      'driver command failed; other rigs cover it, retrying later',
    );
    this.#o.alert(r, 'driver-error', now);
  }

  /**
   * A rig hashgate curtailed before a restart is still asleep: ask its firmware once, when its control channel is
   * made, and take it as curtailed (the planner then resumes it when the budget allows) instead of counting its
   * watts as running and never waking it. Only the firmware's positive sign counts (`asleep`: LuxOS CurtailMode
   * "Sleep", AxeOS miningPaused): a rig in its first seconds hashes nothing either, and taking it as curtailed
   * would leave its full draw out of the budget (docs/throttling.md "hashgate restarts").
   */
  #startupRead(r: RigRecord, control: RigControl): void {
    if (control.readState === undefined && control.readPowerTargets === undefined) return;
    r.busy = true;
    this.#track(
      this.#adoptFirmwareState(r, control)
        .then(() => this.#readPowerTargets(r, control))
        .finally(() => {
          r.busy = false;
        }),
    );
  }

  async #adoptFirmwareState(r: RigRecord, control: RigControl): Promise<void> {
    if (control.readState === undefined) return;
    let fw: RigFirmwareState;
    try {
      fw = await control.readState();
    } catch {
      return; // unknown: treat as running, as before
    }
    if (this.#stopped || fw.asleep !== true || r.state.kind !== 'running') return;
    const now = this.#o.clock.now();
    r.state = { kind: 'curtailed', since: now, curtailedSince: now };
    r.curtailedAt = now;
    r.reason = 'found asleep by its firmware at start-up';
    this.#o.log.info({ rig: r.spec.id, detail: fw.detail }, 'rig found curtailed by its firmware; taken as curtailed');
  }

  /** The firmware's own power targets (LuxOS profiles), merged under the configured ones; a failed read keeps the configured. */
  async #readPowerTargets(r: RigRecord, control: RigControl): Promise<void> {
    if (control.readPowerTargets === undefined) return;
    try {
      const merged = mergePowerTargets(r.spec, await control.readPowerTargets());
      if (this.#stopped) return;
      r.spec = { ...r.spec, ...merged };
      this.#o.log.info({ rig: r.spec.id, powerTargets: merged.powerTargets }, 'power targets read from the rig firmware');
    } catch (e) {
      if (this.#stopped) return;
      const code = e instanceof DriverError ? e.code : 'HG_ERR_DRIVER_COMMAND';
      this.#o.log.warn(
        { code, rig: r.spec.id, error: errorMessage(e) },
        'cannot read the rig firmware power targets; using the configured ones',
      );
    }
  }

  #track(p: Promise<void>): void {
    this.#inflight.add(p);
    void p.finally(() => this.#inflight.delete(p));
  }
}
