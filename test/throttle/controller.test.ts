/**
 * The throttle loop on its own: a scripted SignalSource, a fake Fleet, fake
 * RigControls and a FakeClock, so every tick is driven by the test and no
 * test sleeps. What the loop does is asserted through what it reports: the
 * driver calls, the status, the events and the log lines.
 */

import t from 'tap';
import { buildConfig } from '../../src/config/index.js';
import { RETRY_BASE_MS, ThrottleController } from '../../src/throttle/controller.js';
import {
  DriverError,
  type DriverKind,
  type DriverTiming,
  type FirmwarePowerTarget,
  type Fleet,
  type FleetSession,
  type MeasuredRate,
  type RigControl,
  type RigFirmwareState,
  type RigSpec,
  type SignalReading,
  type SignalSource,
  type StatusSink,
  type ThrottleEvent,
  type ThrottleStatus,
} from '../../src/throttle/types.js';
import { STOP_GRACE_MS, sharesPerSecondLow } from '../../src/throttle/verify.js';
import { secondsToConfirmStop } from '../../src/work/share-proof.js';
import { FakeClock } from '../helpers/fake-clock.js';
import { captureLog } from './log-capture.js';
import { Signal, when } from './wait.js';

/** The part of a tap Test the harness needs. */
interface Tap {
  teardown(fn: () => unknown): void;
}

// ---------------------------------------------------------------------------
// Fakes

class FakeSource implements SignalSource {
  depth = 0;
  capWatts: number | null = null;
  overrides = new Map<string, 'run' | 'curtail'>();
  /** Set: every poll fails with this error. */
  failure: string | null = null;
  polls = 0;
  closed = false;
  constructor(private readonly clock: FakeClock) {}
  poll(): Promise<SignalReading> {
    this.polls++;
    const at = this.clock.now();
    if (this.failure !== null) return Promise.resolve({ ok: false, error: this.failure, code: 'HG_ERR_REDIS_UNAVAILABLE', at });
    const { depth, capWatts } = this;
    return Promise.resolve({
      ok: true,
      depth,
      perSource: [{ label: 'test', value: depth }],
      capWatts,
      overrides: new Map(this.overrides),
      warnings: [],
      at,
    });
  }
  close(): void {
    this.closed = true;
  }
}

class FakeFleet implements Fleet {
  readonly live = new Map<string, { ip: string; accepted: number; lastShareAt: number | null; hashrate: MeasuredRate | null }>();
  readonly refreshed: string[] = [];
  readonly parked: string[] = [];
  lostPool = false;
  readonly gate = { park: (id: string) => void this.parked.push(id), unpark: () => undefined };
  constructor(private readonly clock: FakeClock) {}
  connect(...ids: string[]): void {
    for (const id of ids) this.live.set(id, { ip: `10.0.0.${this.live.size + 1}`, accepted: 0, lastShareAt: null, hashrate: null });
  }
  disconnect(id: string): void {
    this.live.delete(id);
  }
  /** The rig's session had a share accepted now. */
  share(id: string): void {
    const s = this.live.get(id)!;
    s.accepted++;
    s.lastShareAt = this.clock.now();
  }
  /** The rig's session now measures `ths` TH/s, its 90 % interval ±5 %, from `shares` shares over 60 s (null: none). */
  measure(id: string, ths: number | null, shares = 600): void {
    const s = this.live.get(id)!;
    const h = ths === null ? null : ths * 1e12;
    s.hashrate = h === null ? null : { hashesPerSecond: h, low: h * 0.95, high: h * 1.05, shares, windowSeconds: 60 };
  }
  *sessions(): Iterable<FleetSession> {
    for (const [rigId, s] of this.live) yield { rigId, ...s };
  }
  refreshWork(id: string): void {
    this.refreshed.push(id);
  }
  noPool(): boolean {
    return this.lostPool;
  }
}

interface ControlBehaviour {
  kind?: DriverKind;
  /** Set: commands reject with a DriverError carrying this message. */
  failWith?: string | null;
  /** Set: the rig has readState and reports this. */
  firmware?: RigFirmwareState;
  /** Set: commands stay in flight until the test settles them (FakeControl.held). */
  held?: boolean;
  /** Set: the driver's timing (how long its commands take to show). */
  timing?: DriverTiming;
  /** Set: the rig has readPowerTargets and lists these (a string: the read fails with it); setPowerTarget exists then. */
  firmwareTargets?: readonly FirmwarePowerTarget[] | string;
}

class FakeControl implements RigControl {
  readonly kind: DriverKind;
  readonly keepsSession: boolean;
  readonly calls: string[] = [];
  closed = false;
  readState?: () => Promise<RigFirmwareState>;
  readPowerTargets?: () => Promise<readonly FirmwarePowerTarget[]>;
  setPowerTarget?: (watts: number) => Promise<void>;
  readonly timing?: DriverTiming;
  constructor(
    readonly spec: RigSpec,
    readonly behaviour: ControlBehaviour,
  ) {
    this.kind = behaviour.kind ?? 'luxos';
    this.keepsSession = this.kind !== 'stratum';
    const fw = behaviour.firmware;
    if (fw !== undefined) this.readState = () => Promise.resolve(fw);
    this.timing = behaviour.timing;
    const targets = behaviour.firmwareTargets;
    if (targets !== undefined) {
      this.readPowerTargets = () =>
        typeof targets === 'string' ? Promise.reject(new DriverError(this.kind, targets)) : Promise.resolve(targets);
      this.setPowerTarget = (watts) => this.#run(`set-power ${watts}`);
    }
  }
  get supportsPowerTarget(): boolean {
    return this.setPowerTarget !== undefined;
  }
  /** With behaviour.held: the commands in flight, settled by the test. */
  readonly held: { resolve: () => void; reject: (e: Error) => void }[] = [];
  #run(what: string): Promise<void> {
    this.calls.push(what);
    if (this.behaviour.held === true) return new Promise((resolve, reject) => this.held.push({ resolve, reject }));
    const failWith = this.behaviour.failWith ?? null;
    return failWith === null ? Promise.resolve() : Promise.reject(new DriverError(this.kind, failWith));
  }
  curtail(): Promise<void> {
    return this.#run('curtail');
  }
  resume(): Promise<void> {
    return this.#run('resume');
  }
  close(): void {
    this.closed = true;
  }
}

class FakeSink implements StatusSink {
  readonly events: ThrottleEvent[] = [];
  readonly statuses: ThrottleStatus[] = [];
  publishStatus(s: ThrottleStatus): void {
    this.statuses.push(s);
  }
  publishEvent(e: ThrottleEvent): void {
    this.events.push(e);
  }
  close(): void {}
  of<K extends ThrottleEvent['type']>(type: K): (ThrottleEvent & { type: K })[] {
    return this.events.filter((e): e is ThrottleEvent & { type: K } => e.type === type);
  }
}

// ---------------------------------------------------------------------------
// Harness

/** Three 1,000 W rigs on a 3,000 W site; the GPUs need 100 W per queued request. a is the worst J/TH, c the highest priority. */
const RIGS = [
  { name: 'a', match: { worker: 'a' }, ratedWatts: 1000, ratedThs: 10, priority: 0 },
  { name: 'b', match: { worker: 'b' }, ratedWatts: 1000, ratedThs: 20, priority: 0 },
  { name: 'c', match: { worker: 'c' }, ratedWatts: 1000, ratedThs: 20, priority: 5 },
];
const INTERVAL = 100;
const STALE_AFTER = 1000;

function harness(t: Tap, o: { throttle?: Record<string, unknown>; rigs?: unknown[]; behaviour?: Record<string, ControlBehaviour> } = {}) {
  const config = buildConfig({
    file: {
      name: 'controller.json',
      value: {
        pools: ['stratum+tcp://127.0.0.1:3333'],
        admin: { listen: null },
        throttle: {
          enabled: true,
          intervalMs: INTERVAL,
          siteBudgetWatts: 3000,
          headroomPercent: 0,
          gpu: { idleWatts: 0, wattsPerRequest: 100, maxWatts: 3000 },
          redis: { staleAfterMs: STALE_AFTER, onStale: 'shed' },
          planner: { hysteresisWatts: 0, minOnMs: 0, minOffMs: 0, resumeWattsPerStep: 1000, resumeIntervalMs: 1000 },
          verify: { afterCurtailMs: 500, afterResumeMs: 2000 },
          ...o.throttle,
        },
        rigs: o.rigs ?? RIGS,
      },
    },
  });
  const clock = new FakeClock();
  const source = new FakeSource(clock);
  const fleet = new FakeFleet(clock);
  const sink = new FakeSink();
  const log = captureLog();
  const controls = new Map<string, FakeControl>();
  const driverErrors: DriverKind[] = [];
  const ticked = new Signal();
  let last: ThrottleStatus | null = null;
  let ticks = 0;
  const controller = new ThrottleController({
    config,
    source,
    sink,
    fleet,
    createControl: (spec) => {
      const c = new FakeControl(spec, o.behaviour?.[spec.id] ?? {});
      controls.set(spec.id, c);
      return c;
    },
    log: log.logger,
    clock,
    onDriverError: (kind) => driverErrors.push(kind),
    onTick: (s) => {
      last = s;
      ticks++;
      ticked.fire();
    },
  });
  t.teardown(() => controller.stop());
  const h = {
    controller,
    clock,
    source,
    fleet,
    sink,
    log,
    controls,
    driverErrors,
    ticked,
    get ticks() {
      return ticks;
    },
    get status(): ThrottleStatus {
      return last ?? controller.status();
    },
    rig: (id: string) => h.status.rigs.find((r) => r.id === id),
    calls: (id: string) => controls.get(id)?.calls ?? [],
    /** Moves the clock by ms, runs one tick, and lets the driver commands it sent settle. */
    async step(ms = INTERVAL): Promise<ThrottleStatus> {
      clock.advance(ms);
      await controller.tick();
      await controller.idle();
      return h.status;
    },
  };
  return h;
}

const states = (s: ThrottleStatus) => Object.fromEntries(s.rigs.map((r) => [r.id, r.state]));

// ---------------------------------------------------------------------------

t.test('start() ticks at once, then one interval after each tick on the injected clock; stop() clears the timer', async (t) => {
  const h = harness(t);
  h.fleet.connect('a');
  h.controller.start();
  h.controller.start(); // idempotent
  // The next tick is scheduled once this one has ended: wait for the timer, not for time.
  await when(() => h.clock.pending().length === 1, 'the next tick scheduled', [h.clock.changed.subscribe], 5000);
  t.equal(h.ticks, 1, 'one tick so far');
  t.equal(h.source.polls, 1, 'one poll per tick');
  t.same(h.clock.pending(), [INTERVAL], 'the next tick is one interval away');
  h.clock.advance(INTERVAL - 1);
  t.equal(h.ticks, 1, 'not before the interval');
  h.clock.advance(1);
  await when(() => h.ticks === 2, 'the second tick', [h.ticked.subscribe], 5000);
  await h.controller.stop();
  t.same(h.clock.pending(), [], 'stop() leaves no timer');
  h.clock.advance(10 * INTERVAL);
  t.equal(h.ticks, 2, 'and no tick after it');
  t.ok(h.source.closed, 'the source is closed');
  t.ok(h.controls.get('a')!.closed, 'rig controls are closed');
});

t.test('a rising queue curtails the least valuable rigs first; status, events and log say so', async (t) => {
  const h = harness(t);
  h.fleet.connect('a', 'b', 'c');
  let s = await h.step();
  t.equal(s.mode, 'live');
  t.same(states(s), { a: 'running', b: 'running', c: 'running' });
  t.equal(s.asicWatts, 3000);
  t.equal(s.budget.asicWatts, 3000);

  h.source.depth = 5; // GPUs 500 W → ASIC budget 2,500 W: one rig goes, the worst J/TH of the lowest priority
  s = await h.step();
  t.same(h.calls('a'), ['curtail']);
  t.same(h.calls('b'), []);
  t.same(states(s), { a: 'curtailed', b: 'running', c: 'running' });
  t.equal(s.asicWatts, 2000);
  t.equal(s.freedWatts, 1000);
  t.equal(s.decisions, 1);
  const curtail = h.sink.of('curtail');
  t.match(curtail, [{ rig: 'a', watts: 0, at: h.clock.now(), reason: /over budget/ }], 'curtail event once the driver accepted it');
  t.match(h.sink.of('budget').at(-1), { asicBudgetWatts: 2500, freedWatts: 0 }, 'budget event with the watts freed before the decision');
  const sent = h.log.withMsg('sending throttle command');
  t.match(sent, [{ rig: 'a', action: 'curtail', driver: 'luxos', watts: 0, level: 'info' }], 'a constant message, values as fields');

  h.source.depth = 15; // budget 1,500 W: b goes too; c (priority 5) stays
  s = await h.step();
  t.same(states(s), { a: 'curtailed', b: 'curtailed', c: 'running' });
  t.same(h.calls('c'), []);
  t.equal(h.sink.statuses.length, 3, 'status published every tick');
  t.same(h.fleet.parked, [], 'firmware rigs are not parked');
});

t.test('staggered resume: best rig first, one step per resumeIntervalMs of the controller clock', async (t) => {
  const h = harness(t);
  h.fleet.connect('a', 'b', 'c');
  await h.step();
  h.source.depth = 30; // all of it to the GPUs
  let s = await h.step();
  t.equal(s.curtailedRigs, 3);

  h.source.depth = 0;
  const resumedAtTick: number[] = [];
  for (let i = 0; i < 40 && h.sink.of('resume').length < 3; i++) {
    const before = h.sink.of('resume').length;
    s = await h.step();
    if (h.sink.of('resume').length > before) resumedAtTick.push(i);
  }
  const resumes = h.sink.of('resume');
  t.same(
    resumes.map((e) => e.rig),
    ['c', 'b', 'a'],
    'priority first, then J/TH',
  );
  t.same(
    resumedAtTick.map((x, i) => (i === 0 ? 0 : x - resumedAtTick[i - 1]!)),
    [0, 10, 10],
    'one rig per step: ten 100 ms ticks between steps, none resumed in between',
  );
  // The decision times under the controller's own clock (the rigs' `since`) are a resumeIntervalMs apart.
  const since = ['c', 'b', 'a'].map((id) => h.rig(id)!.since);
  t.same([since[1]! - since[0]!, since[2]! - since[1]!], [1000, 1000]);
  t.same(
    resumes.map((e) => e.at),
    since,
    'each resume event is stamped with its decision time',
  );
  t.same(h.fleet.refreshed, ['c', 'b', 'a'], 'firmware rigs get fresh work on resume');
  t.equal(s.curtailedRigs, 0);
});

t.test('before the first good reading the loop holds; with no reading for staleAfterMs the stale mode engages', async (t) => {
  const h = harness(t);
  h.fleet.connect('a', 'b', 'c');
  h.source.failure = 'connection refused';
  let s = await h.step(0);
  t.equal(s.mode, 'stale-hold', 'no reading yet: no decisions');
  t.equal(s.redis.healthy, false);
  t.equal(s.redis.error, 'connection refused');
  const unreadable = h.log.withMsg('throttle signals unreadable');
  t.match(unreadable, [{ code: 'HG_ERR_REDIS_UNAVAILABLE', error: 'connection refused', level: 'warn' }]);
  s = await h.step(STALE_AFTER);
  t.equal(s.mode, 'stale-hold', 'staleAfterMs not yet exceeded');
  s = await h.step(1);
  t.equal(s.mode, 'stale-shed', 'then the configured mode');
  t.equal(s.curtailedRigs, 3, 'shed: budget for the GPUs maximum need (3,000 W of 3,000)');
  t.equal(h.log.withMsg('throttle signals unreadable').length, 1, 'logged once per run of failures');
});

for (const onStale of ['hold', 'shed', 'release'] as const) {
  t.test(`Redis goes away: after staleAfterMs, onStale "${onStale}"; a good reading ends it`, async (t) => {
    const h = harness(t, { throttle: { redis: { staleAfterMs: STALE_AFTER, onStale } } });
    h.fleet.connect('a', 'b', 'c');
    h.source.depth = 5;
    let s = await h.step();
    t.same(states(s), { a: 'curtailed', b: 'running', c: 'running' }, 'live: one rig curtailed');

    h.source.failure = 'no reply within 600 ms';
    s = await h.step();
    t.equal(s.mode, 'live', 'one failed poll is not stale yet');
    t.equal(s.redis.healthy, false);
    s = await h.step(STALE_AFTER);
    t.equal(s.mode, `stale-${onStale}`);
    t.match(h.sink.of('mode').at(-1), { mode: `stale-${onStale}`, previous: 'live', at: h.clock.now() });
    t.match(h.log.withMsg('throttle mode changed').at(-1), { mode: `stale-${onStale}`, previous: 'live', level: 'warn' });
    s = await h.step();
    if (onStale === 'hold') {
      t.same(states(s), { a: 'curtailed', b: 'running', c: 'running' }, 'hold: nothing changes');
      t.equal(s.budget.asicWatts, 2500, 'the last known budget');
    } else if (onStale === 'shed') {
      t.same(states(s), { a: 'curtailed', b: 'curtailed', c: 'curtailed' }, 'shed: to the safe floor');
      t.equal(s.budget.asicWatts, 0);
    } else {
      t.same(states(s), { a: 'running', b: 'running', c: 'running' }, 'release: budget for an empty queue');
      t.equal(s.budget.asicWatts, 3000);
    }

    h.source.failure = null;
    h.source.depth = 5;
    s = await h.step();
    t.equal(s.mode, 'live', 'a good reading ends the stale mode');
    t.equal(s.redis.healthy, true);
    t.equal(s.redis.lastOkAt, h.clock.now());
  });
}

t.test('a failed driver command: state put back, driver-error alert, other rigs cover it, retried with doubling backoff', async (t) => {
  const h = harness(t, { behaviour: { a: { failWith: 'curtail sleep: connection refused at 10.0.0.1:4028' } } });
  h.fleet.connect('a', 'b', 'c');
  await h.step();
  h.source.depth = 5;
  await h.step();
  t.same(h.calls('a'), ['curtail'], 'the worst rig was picked');
  t.same(h.driverErrors, ['luxos'], 'onDriverError for metrics');
  t.match(h.sink.of('alert'), [{ rig: 'a', alert: 'driver-error' }]);
  t.match(h.log.withMsg('driver command failed; other rigs cover it, retrying later'), [
    { level: 'warn', code: 'HG_ERR_DRIVER_COMMAND', rig: 'a', action: 'curtail', driver: 'luxos', retryInMs: RETRY_BASE_MS, failures: 1 },
  ]);
  t.equal(h.sink.of('curtail').length, 0, 'no curtail event for a command that failed');

  // The next tick sees the failure: a is back to running, sits out for its backoff, and b covers its watts.
  const s = await h.step();
  t.equal(h.rig('a')!.state, 'running', 'its state is put back');
  t.equal(h.rig('a')!.alert, 'driver-error');
  t.equal(s.driverErrors, 1);
  t.same(states(s), { a: 'running', b: 'curtailed', c: 'running' }, 'the next rig covers its watts at once');

  // Nothing else to curtail when b is back: only a can free watts. Its retries wait 5 s, then 10 s.
  const h1 = harness(t, { rigs: [RIGS[0]], throttle: { siteBudgetWatts: 1000 }, behaviour: { a: { failWith: 'timed out' } } });
  h1.fleet.connect('a');
  h1.source.depth = 5; // budget 500 W < 1,000 W
  await h1.step();
  t.equal(h1.calls('a').length, 1);
  for (let ms = INTERVAL; ms < RETRY_BASE_MS; ms += INTERVAL) await h1.step();
  t.equal(h1.calls('a').length, 1, 'not retried within the first backoff');
  await h1.step();
  t.equal(h1.calls('a').length, 2, 'retried after 5 s');
  for (let ms = INTERVAL; ms < 2 * RETRY_BASE_MS; ms += INTERVAL) await h1.step();
  t.equal(h1.calls('a').length, 2, 'not retried within the doubled backoff');
  h1.controls.get('a')!.behaviour.failWith = null; // the rig's API is back
  await h1.step();
  t.equal(h1.calls('a').length, 3, 'retried after 10 s more');
  await h1.step();
  t.equal(h1.rig('a')!.state, 'curtailed');
  t.equal(h1.rig('a')!.alert, null, 'the alert clears when a command works');
  t.equal(h1.calls('a').length, 3, 'and nothing is sent again');
  const failed = h1.log.withMsg('driver command failed; other rigs cover it, retrying later');
  t.same(
    failed.map((l) => [l.level, l.retryInMs]),
    [
      ['warn', 5000],
      ['debug', 10_000],
    ],
    'warned once, then at debug',
  );
  t.equal(h1.log.withMsg('driver command succeeded again').length, 1);
});

t.test('a rig with no usable control channel is left alone and others cover it', async (t) => {
  const h = harness(t);
  h.fleet.connect('a', 'b', 'c');
  const controller = new ThrottleController({
    config: buildConfig({
      file: {
        name: 'x.json',
        value: {
          pools: ['stratum+tcp://127.0.0.1:3333'],
          throttle: {
            enabled: true,
            siteBudgetWatts: 3000,
            headroomPercent: 0,
            gpu: { idleWatts: 0, wattsPerRequest: 100, maxWatts: 3000 },
          },
          rigs: RIGS,
        },
      },
    }),
    source: h.source,
    fleet: h.fleet,
    createControl: (spec) => {
      if (spec.id === 'a') throw new DriverError('luxos', 'rig a has no address: set driver.host', 'HG_ERR_DRIVER_CONFIG');
      return new FakeControl(spec, {});
    },
    log: h.log.logger,
    clock: h.clock,
  });
  t.teardown(() => controller.stop());
  h.source.depth = 5;
  await controller.tick();
  await controller.idle();
  const s = controller.status();
  t.same(states(s), { a: 'running', b: 'curtailed', c: 'running' });
  t.match(h.log.withMsg('rig has no usable control channel; left alone'), [{ code: 'HG_ERR_DRIVER_CONFIG', rig: 'a', level: 'warn' }]);
});

t.test('verification: still-hashing after a curtail, not-resumed after a resume', async (t) => {
  const h = harness(t);
  h.fleet.connect('a', 'b', 'c');
  await h.step();
  h.source.depth = 5;
  await h.step();
  const curtailedAt = h.clock.now();
  t.equal(h.rig('a')!.state, 'curtailed');

  h.clock.advance(400);
  h.fleet.share('a'); // a share in flight when the command landed: within afterCurtailMs
  let s = await h.step();
  t.equal(h.rig('a')!.alert, null, 'a share within afterCurtailMs is not an alert');
  h.clock.advance(curtailedAt + 600 - h.clock.now());
  h.fleet.share('a');
  s = await h.step(0);
  t.equal(h.rig('a')!.alert, 'still-hashing', 'a share later than afterCurtailMs: the cut did not take');
  t.match(h.sink.of('alert'), [{ rig: 'a', alert: 'still-hashing', at: h.clock.now() }]);
  t.match(h.log.withMsg('rig alert'), [{ rig: 'a', alert: 'still-hashing', level: 'warn' }]);
  t.equal(s.rigs.find((r) => r.id === 'a')!.sharesPerMinute, 2);

  h.source.depth = 0;
  await h.step();
  t.equal(h.rig('a')!.state, 'running');
  const resumedAt = h.rig('a')!.since;
  await h.step(0); // verification looks at a rig once its command has settled
  t.equal(h.rig('a')!.alert, null, 'resumed: the curtail alert is over');
  h.clock.advance(resumedAt + 2000 - h.clock.now());
  await h.step(0);
  t.equal(h.rig('a')!.alert, null, 'no share yet, but within afterResumeMs');
  await h.step(1);
  t.equal(h.rig('a')!.alert, 'not-resumed', 'no share within afterResumeMs');
  t.match(h.sink.of('alert').at(-1), { rig: 'a', alert: 'not-resumed' });
  h.fleet.share('a');
  await h.step();
  t.equal(h.rig('a')!.alert, null, 'a share clears it');
});

t.test('shadow mode: the plan is logged once per change, nothing is sent, states never change', async (t) => {
  const h = harness(t, { throttle: { shadow: true } });
  h.fleet.connect('a', 'b', 'c');
  let s = await h.step();
  t.equal(s.mode, 'shadow');
  h.source.depth = 30;
  s = await h.step();
  s = await h.step();
  t.equal(s.budget.asicWatts, 0, 'the budget follows the queue');
  t.same(states(s), { a: 'running', b: 'running', c: 'running' });
  t.same(
    [...h.controls.values()].flatMap((c) => c.calls),
    [],
    'no driver call',
  );
  const would = h.log.withMsg('shadow: would act');
  t.same(
    would.map((l) => [l.action, l.rig]),
    [
      ['curtail', 'a'],
      ['curtail', 'b'],
      ['curtail', 'c'],
    ],
    'each decision logged once, with action and rig as fields',
  );
  t.ok(
    would.every((l) => typeof l.reason === 'string' && l.reason !== ''),
    'with its reason',
  );
  t.equal(h.sink.of('curtail').length, 0, 'no decision events');
  t.ok(h.sink.of('budget').length > 0, 'budget events are published');
  t.equal(s.decisions, 0);
});

t.test(
  'no pool reachable: budget 0, firmware rigs curtailed even with their sessions gone; stratum rigs without one left alone',
  async (t) => {
    const h = harness(t, { behaviour: { c: { kind: 'stratum' } } });
    h.fleet.connect('a', 'b', 'c');
    await h.step();
    h.fleet.lostPool = true;
    for (const id of ['a', 'b', 'c']) h.fleet.disconnect(id);
    const s = await h.step();
    t.equal(s.mode, 'no-pool');
    t.equal(s.budget.asicWatts, 0);
    t.same(h.calls('a'), ['curtail']);
    t.same(h.calls('b'), ['curtail']);
    t.same(h.calls('c'), [], 'a disconnected stratum rig cannot be reached');
    h.fleet.lostPool = false;
    h.fleet.connect('a', 'b', 'c');
    t.equal((await h.step()).mode, 'live', 'a pool again: live');
  },
);

t.test('a rig its firmware reports asleep at start-up is taken as curtailed, and resumed when the budget allows', async (t) => {
  const h = harness(t, {
    behaviour: { a: { firmware: { hashing: false, asleep: true, hashrateThs: 0, powerWatts: 20, firmware: null, detail: '0 GH/s' } } },
  });
  h.fleet.connect('a');
  h.source.depth = 30;
  await h.step(); // makes the control channel and asks the firmware; the rig sits out until it answers
  t.equal(h.rig('a')!.state, 'running');
  await h.step();
  t.equal(h.rig('a')!.state, 'curtailed');
  t.equal(h.rig('a')!.reason, 'found asleep by its firmware at start-up');
  h.source.depth = 0;
  await h.step();
  t.same(h.calls('a'), ['resume'], 'woken when the budget allows');
});

t.test('a booting rig (0 GH/s, but no sign of sleep from its firmware) is not taken as curtailed: its watts stay counted', async (t) => {
  // Issue 11: a rig in its first seconds reports 0 GH/s. Taken as curtailed, it drew full power outside the budget.
  const booting = { hashing: false, asleep: false, hashrateThs: 0, powerWatts: 1000, firmware: null, detail: '0 GH/s, curtail mode None' };
  const silent = {
    hashing: false,
    asleep: null,
    hashrateThs: null,
    powerWatts: null,
    firmware: null,
    detail: '0 GH/s, curtail mode unknown',
  };
  const h = harness(t, { behaviour: { a: { firmware: booting }, b: { firmware: silent } } });
  h.fleet.connect('a', 'b');
  h.source.depth = 0;
  await h.step(); // makes the control channels and asks the firmware
  await h.step();
  for (const id of ['a', 'b']) {
    t.equal(h.rig(id)!.state, 'running', `${id}: still running`);
    t.not(h.rig(id)!.reason, 'found asleep by its firmware at start-up');
  }
  t.same(h.calls('a'), [], 'no resume sent to a rig hashgate never took as asleep');
  t.same(h.calls('b'), []);
});

t.test('a manual override wins: curtail at once, run at once', async (t) => {
  const h = harness(t);
  h.fleet.connect('a', 'b', 'c');
  await h.step();
  h.source.overrides.set('c', 'curtail');
  let s = await h.step();
  t.equal(h.rig('c')!.state, 'curtailed');
  t.match(h.sink.of('curtail'), [{ rig: 'c', reason: /override/ }]);
  h.source.overrides.set('c', 'run');
  s = await h.step();
  t.equal(s.rigs.find((r) => r.id === 'c')!.state, 'running');
});

t.test('driver timing: a rig sits out of planning while its command settles, and verification waits for it', async (t) => {
  // Issue 11: an Antminer restarts its miner process on a config write, a Whatsminer boots for minutes after power_on.
  const timing: DriverTiming = { curtailSettleMs: 3000, resumeSettleMs: 5000, powerSettleMs: 0 };
  const h = harness(t, { behaviour: { a: { timing, kind: 'antminer' } } });
  h.fleet.connect('a', 'b', 'c');
  await h.step();
  h.source.depth = 5; // GPUs need 500 W: a goes
  await h.step();
  const curtailedAt = h.clock.now();
  t.equal(h.rig('a')!.state, 'curtailed');
  await h.step(0); // the snapshot after the firmware answered
  t.equal(h.rig('a')!.settlingUntil, curtailedAt + 3000, 'status says until when it settles');

  h.source.depth = 0; // the budget is back at once: a is still settling, so it is not resumed yet
  await h.step();
  t.same(h.calls('a'), ['curtail'], 'no command while the curtail settles');
  t.equal(h.rig('a')!.state, 'curtailed');
  h.clock.advance(curtailedAt + 2900 - h.clock.now());
  h.fleet.share('a'); // still stopping: within settle, not an alert
  await h.step(0);
  t.equal(h.rig('a')!.alert, null, 'a share while the curtail settles is no alert');
  h.clock.advance(curtailedAt + 3000 + 400 - h.clock.now());
  h.fleet.share('a'); // within settle + afterCurtailMs (500)
  await h.step(1);
  t.equal(h.rig('a')!.alert, null, 'within settle + afterCurtailMs: no alert');
  t.same(h.calls('a'), ['curtail', 'resume'], 'resumed once settled');
  const resumedAt = h.clock.now();
  await h.step(0);
  t.equal(h.rig('a')!.settlingUntil, resumedAt + 5000);

  // not-resumed only after resumeSettleMs + afterResumeMs (2000) without a share
  h.clock.advance(resumedAt + 5000 + 2000 - h.clock.now());
  await h.step(0);
  t.equal(h.rig('a')!.alert, null, 'booting: no share yet, still within settle + afterResumeMs');
  await h.step(1);
  t.equal(h.rig('a')!.alert, 'not-resumed', 'no share within settle + afterResumeMs');
  t.equal(h.rig('a')!.settlingUntil, null, 'settled');
});

t.test('driver timing: a share after settle + afterCurtailMs is still-hashing', async (t) => {
  const timing: DriverTiming = { curtailSettleMs: 3000, resumeSettleMs: 0, powerSettleMs: 0 };
  const h = harness(t, { behaviour: { a: { timing } } });
  h.fleet.connect('a', 'b', 'c');
  await h.step();
  h.source.depth = 5;
  await h.step();
  const curtailedAt = h.clock.now();
  h.clock.advance(curtailedAt + 3000 + 501 - h.clock.now());
  h.fleet.share('a');
  await h.step(0);
  t.equal(h.rig('a')!.alert, 'still-hashing');
});

t.test('power targets the firmware lists reach the planner with their TH/s; configured ones stay', async (t) => {
  const targets: FirmwarePowerTarget[] = [
    { watts: 600, ths: 7.5, name: '600W' },
    { watts: 800, ths: 9.1, name: '800W' },
    { watts: 1000, ths: 10, name: 'default' }, // rated: not a target
    { watts: Number.NaN, ths: 1, name: 'broken' },
  ];
  const rigs = [{ ...RIGS[0]!, driver: { type: 'luxos', host: '127.0.0.1', profiles: { '700': 'my700' } } }, RIGS[1]!, RIGS[2]!];
  const h = harness(t, { rigs, behaviour: { a: { firmwareTargets: targets } } });
  h.fleet.connect('a', 'b', 'c');
  await h.step(); // makes the control channel and reads the targets; a sits out until they are in
  t.match(h.log.withMsg('power targets read from the rig firmware'), [{ rig: 'a', powerTargets: [600, 700, 800] }]);
  h.source.depth = 2; // 200 W to find: 800 W frees exactly 200
  await h.step();
  t.same(h.calls('a'), ['set-power 800']);
  t.match(h.sink.of('set-power'), [{ rig: 'a', watts: 800, reason: /power target 800 W \(9\.1 TH\/s of 10\.0\)/ }]);
  h.source.depth = 4; // 400 W: 600 W frees it
  await h.step();
  t.same(h.calls('a'), ['set-power 800', 'set-power 600']);
});

t.test('a failed power-target read keeps the configured targets and is logged', async (t) => {
  const rigs = [{ ...RIGS[0]!, driver: { type: 'luxos', host: '127.0.0.1', profiles: { '700': 'my700' } } }, RIGS[1]!, RIGS[2]!];
  const h = harness(t, { rigs, behaviour: { a: { firmwareTargets: 'Invalid command' } } });
  h.fleet.connect('a', 'b', 'c');
  await h.step();
  t.match(h.log.withMsg('cannot read the rig firmware power targets; using the configured ones'), [
    { rig: 'a', code: 'HG_ERR_DRIVER_COMMAND', error: /Invalid command/ },
  ]);
  h.source.depth = 3;
  await h.step();
  t.same(h.calls('a'), ['set-power 700'], 'the configured target');
});

t.test('driver timing: a rig still settling after a resume is curtailed again only when no other rig can cover', async (t) => {
  const timing: DriverTiming = { curtailSettleMs: 0, resumeSettleMs: 60_000, powerSettleMs: 0 };
  const h = harness(t, { behaviour: { a: { timing }, b: { timing } } });
  h.fleet.connect('a', 'b', 'c');
  await h.step();
  h.source.depth = 5; // a goes (lowest priority, worst J/TH)
  await h.step();
  t.same(h.calls('a'), ['curtail']);
  h.source.depth = 0;
  await h.step();
  t.same(h.calls('a'), ['curtail', 'resume'], 'resumed; now booting for a minute');
  await h.step(0);
  t.ok(h.rig('a')!.settlingUntil !== null, 'settling');

  h.source.depth = 5; // 500 W again: b (settled, not protected) covers it, though a is worse
  await h.step();
  t.same(h.calls('a'), ['curtail', 'resume'], 'the settling rig is spared while another can cover');
  t.same(h.calls('b'), ['curtail']);
  h.source.depth = 25; // 2,500 W: b, c and a are needed; the settling rig goes last, as one within min-on
  await h.step();
  t.same(h.calls('c'), ['curtail'], 'c (settled) goes before the settling rig');
  t.same(h.calls('a'), ['curtail', 'resume', 'curtail'], 'forced when no other rig can cover');
  t.match(h.sink.of('curtail').at(-1), { rig: 'a', reason: /^forced: its last command settles for/ });
});

t.test('a command still in flight when the loop stops settles unseen: no log line, event or alert after stop()', async (t) => {
  // Found by the demo: an Antminer write still in flight at shutdown failed after the log stream had ended and the
  // late log line crashed the process (ERR_STREAM_WRITE_AFTER_END).
  const h = harness(t, { behaviour: { a: { held: true }, b: { held: true } } });
  h.fleet.connect('a', 'b', 'c');
  await h.step();
  h.source.depth = 15; // a and b go
  h.clock.advance(INTERVAL);
  await h.controller.tick();
  t.same([h.calls('a'), h.calls('b')], [['curtail'], ['curtail']], 'both commands in flight');
  const lines = h.log.lines.length;
  const events = h.sink.events.length;
  await h.controller.stop();
  h.controls.get('a')!.held[0]!.reject(new DriverError('luxos', 'timed out after 60000 ms'));
  h.controls.get('b')!.held[0]!.resolve();
  await h.controller.idle();
  t.same(h.log.lines.slice(lines), [], 'nothing logged after stop');
  t.same(h.sink.events.slice(events), [], 'nothing published after stop');
  t.same(h.driverErrors, [], 'the late failure is not counted');
});

// ---------------------------------------------------------------------------
// Proof of every power decision from the rigs' measured hash rate (issue 12 § 3, src/throttle/verify.ts)

t.test('proof: a curtail is confirmed from measurement once the silence makes a hashing rig unlikely (< 1e-4)', async (t) => {
  // afterCurtailMs is a minute: the time rule could not confirm anything in the seconds this takes.
  const h = harness(t, { throttle: { verify: { afterCurtailMs: 60_000, afterResumeMs: 180_000 } } });
  h.fleet.connect('a', 'b', 'c');
  for (const id of ['a', 'b', 'c']) h.fleet.measure(id, 10); // 600 shares in the last minute: 10 a second
  await h.step();
  h.source.depth = 5;
  await h.step();
  t.same(h.calls('a'), ['curtail']);
  const answeredAt = h.clock.now();
  await h.step(0);
  t.same(h.rig('a')!.proof, { decision: 'curtail', state: 'pending', by: 'measurement', at: null, afterMs: null });
  h.fleet.measure('a', 0, 0); // silent from now on
  const needed =
    STOP_GRACE_MS +
    secondsToConfirmStop(sharesPerSecondLow({ hashesPerSecond: 1, low: 1, high: 1, shares: 600, windowSeconds: 60 })) * 1000;
  while (h.rig('a')!.proof!.state === 'pending' && h.clock.now() < answeredAt + 60_000) await h.step();
  const proof = h.rig('a')!.proof!;
  t.match(proof, { decision: 'curtail', state: 'confirmed', by: 'measurement' });
  t.ok(
    proof.afterMs! >= needed && proof.afterMs! < needed + INTERVAL,
    `confirmed ${proof.afterMs} ms after the answer (needed ${needed.toFixed(0)})`,
  );
  t.equal(proof.at, answeredAt + proof.afterMs!);
  t.ok(proof.afterMs! < 10_000, 'within the 10 s target at 10 shares a second');
  t.equal(h.rig('a')!.alert, null);
});

t.test('proof: a zombie (curtailed, its measured shares keep coming) is budgeted at its measured watts, so another rig goes', async (t) => {
  const h = harness(t);
  h.fleet.connect('a', 'b', 'c');
  h.fleet.measure('a', 8); // 8 TH/s at a's 100 J/TH: 800 W
  h.fleet.measure('b', 20);
  h.fleet.measure('c', 20);
  await h.step();
  h.source.depth = 5; // 2,500 W for the ASICs: a goes (3,000 − 1,000 fits)
  await h.step();
  t.same(h.calls('a'), ['curtail']);
  t.same(h.calls('b'), []);
  h.clock.advance(1000);
  h.fleet.share('a'); // later than the grace (min(2 s, afterCurtailMs 500 ms)): still hashing
  let s = await h.step(0);
  t.equal(h.rig('a')!.alert, 'still-hashing');
  t.match(h.rig('a')!.proof, { decision: 'curtail', state: 'failed', by: 'measurement', afterMs: 1000 });
  t.equal(h.rig('a')!.watts, 800, 'counted at its measured watts, not its idle 0 W');
  t.match(h.log.withMsg('curtailed rig still hashing: counted at its measured watts'), [{ rig: 'a', measuredWatts: 800, level: 'warn' }]);
  s = await h.step(); // the planner sees 800 + 1,000 + 1,000 W against 2,500 W
  t.same(h.calls('b'), ['curtail'], 'b is curtailed to cover the zombie');
  t.same(h.calls('c'), [], 'the higher priority stays');
  t.same(h.calls('a'), ['curtail'], 'nothing more is sent to a');
  t.equal(s.asicWatts, 800 + 0 + 1000);
  t.equal(s.freedWatts, 200 + 1000);
});

t.test('proof: a power target whose measured TH/s stays above the band is flagged not-reduced', async (t) => {
  const rigs = [{ ...RIGS[0]!, driver: { type: 'luxos', host: '127.0.0.1' } }, RIGS[1]!, RIGS[2]!];
  const h = harness(t, { rigs, behaviour: { a: { firmwareTargets: [{ watts: 500, ths: 5, name: '500W' }] } } });
  h.fleet.connect('a', 'b', 'c');
  h.fleet.measure('a', 10); // and it stays there: the target does not take
  await h.step(); // reads the firmware's targets
  h.source.depth = 5; // 500 W to find: the 500 W target frees exactly that
  await h.step();
  t.same(h.calls('a'), ['set-power 500']);
  const answeredAt = h.clock.now();
  await h.step(30_000);
  t.match(h.rig('a')!.proof, { decision: 'set-power', state: 'pending', by: 'measurement' }, 'the window still holds the old level');
  t.equal(h.rig('a')!.alert, null);
  await h.step(30_000);
  t.equal(h.rig('a')!.alert, 'not-reduced', '10 TH/s against 5 TH/s ± 20 %');
  t.match(h.rig('a')!.proof, { decision: 'set-power', state: 'failed', by: 'measurement', at: answeredAt + 60_000, afterMs: 60_000 });
  t.match(h.sink.of('alert').at(-1), { rig: 'a', alert: 'not-reduced' });
  h.fleet.measure('a', 5.2); // the target took after all
  await h.step();
  t.equal(h.rig('a')!.alert, null);
  t.match(h.rig('a')!.proof, { state: 'confirmed', by: 'measurement' });
});

t.test('proof: a resume is confirmed when the measured TH/s is back near rated over a window after the answer', async (t) => {
  const h = harness(t, { throttle: { verify: { afterCurtailMs: 500, afterResumeMs: 120_000 } } });
  h.fleet.connect('a', 'b', 'c');
  await h.step();
  h.source.depth = 5;
  await h.step();
  h.source.depth = 0;
  await h.step();
  t.same(h.calls('a'), ['curtail', 'resume']);
  const answeredAt = h.clock.now();
  h.fleet.measure('a', 9.8); // rated 10 TH/s
  h.fleet.share('a');
  await h.step(59_000);
  t.match(h.rig('a')!.proof, { decision: 'resume', state: 'pending', by: 'measurement' }, 'the window still holds time before the answer');
  await h.step(1_000);
  t.match(h.rig('a')!.proof, { decision: 'resume', state: 'confirmed', by: 'measurement', afterMs: 60_000 });
  t.equal(h.rig('a')!.proof!.at, answeredAt + 60_000);

  h.source.depth = 5;
  await h.step();
  h.source.depth = 0;
  await h.step();
  t.same(h.calls('a'), ['curtail', 'resume', 'curtail', 'resume']);
  h.fleet.measure('a', 3); // it shares, but at 3 of its 10 TH/s
  h.fleet.share('a');
  await h.step(120_000);
  t.equal(h.rig('a')!.alert, null, 'not before afterResumeMs');
  await h.step(1);
  t.equal(h.rig('a')!.alert, 'not-resumed', 'wholly below 80 % of rated though shares come');
  t.match(h.rig('a')!.proof, { decision: 'resume', state: 'failed', by: 'measurement' });
});

t.test('proof: a rig parked by the stratum driver is held to the time rules (its silence says nothing about its power)', async (t) => {
  const h = harness(t, { behaviour: { a: { kind: 'stratum' } } });
  h.fleet.connect('a', 'b', 'c');
  h.fleet.measure('a', 10);
  await h.step();
  h.source.depth = 5;
  await h.step();
  t.same(h.calls('a'), ['curtail']);
  h.fleet.disconnect('a');
  await h.step(0);
  t.match(h.rig('a')!.proof, { decision: 'curtail', state: 'pending', by: 'time' });
  await h.step(501);
  t.match(h.rig('a')!.proof, { decision: 'curtail', state: 'confirmed', by: 'time', afterMs: 501 });
});
