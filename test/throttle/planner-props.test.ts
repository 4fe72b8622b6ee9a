/**
 * Property tests of the planner over random fleets (1–200 rigs) and budgets.
 * The fleet's watts and the feasibility are recomputed here from the rules
 * (not taken from the planner), and multi-step runs apply each plan's
 * decisions to the rigs before the next call, advancing `now`.
 */
import fc from 'fast-check';
import t from 'tap';
import { plan } from '../../src/throttle/planner.js';
import {
  type Decision,
  INITIAL_PLANNER_MEMORY,
  type Plan,
  type PlanInput,
  type PlannerMemory,
  type PlannerRig,
  type PlannerSettings,
  type RigPowerState,
} from '../../src/throttle/types.js';

const MIN = 60_000;
const T0 = 1_000 * MIN;

// ---------------------------------------------------------------------------
// Generators

interface RigSeed {
  priority: number;
  ratedWatts: number;
  ratedThs: number;
  idleWatts: number;
  targetFractions: number[];
  override: 'run' | 'curtail' | null;
  controllable: boolean;
  state: 'running' | 'reduced' | 'curtailed';
  ageMs: number;
  downMs: number;
}

const seedArb = (overrides: boolean): fc.Arbitrary<RigSeed> =>
  fc.record({
    priority: fc.integer({ min: -2, max: 3 }),
    ratedWatts: fc.integer({ min: 500, max: 6_000 }),
    ratedThs: fc.integer({ min: 10, max: 300 }),
    idleWatts: fc.integer({ min: 0, max: 60 }),
    targetFractions: fc.uniqueArray(fc.integer({ min: 50, max: 95 }), { maxLength: 3 }),
    override: overrides
      ? fc.oneof({ weight: 12, arbitrary: fc.constant(null) }, fc.constant('run' as const), fc.constant('curtail' as const))
      : fc.constant(null),
    controllable: overrides ? fc.oneof({ weight: 12, arbitrary: fc.constant(true) }, fc.constant(false)) : fc.constant(true),
    state: fc.constantFrom('running' as const, 'running' as const, 'reduced' as const, 'curtailed' as const),
    ageMs: fc.integer({ min: 0, max: 10 * MIN }),
    downMs: fc.integer({ min: 0, max: 90 * MIN }),
  });

function buildRig(s: RigSeed, i: number): PlannerRig {
  const powerTargets = [...new Set(s.targetFractions.map((f) => Math.floor((s.ratedWatts * f) / 100)))]
    .filter((w) => w < s.ratedWatts)
    .sort((a, b) => a - b);
  const since = T0 - s.ageMs;
  let state: RigPowerState;
  if (s.state === 'running' || (s.state === 'reduced' && powerTargets.length === 0)) state = { kind: 'running', since };
  else if (s.state === 'reduced') state = { kind: 'reduced', watts: powerTargets[0]!, since, curtailedSince: since - s.downMs };
  else state = { kind: 'curtailed', since, curtailedSince: since - s.downMs };
  return {
    // Ids out of index order, so ordering by id is not the generation order.
    id: `rig-${((i * 7919) % 1_000).toString().padStart(3, '0')}-${i}`,
    ip: null,
    entry: 'prop',
    group: 'default',
    priority: s.priority,
    ratedWatts: s.ratedWatts,
    ratedThs: s.ratedThs,
    idleWatts: s.idleWatts,
    powerTargets,
    override: s.override,
    state,
    controllable: s.controllable,
  };
}

const fleetArb = (overrides: boolean, maxLength = 200) =>
  // size 'max': fleets spread over the whole 1..maxLength range, not only the small sizes fast-check favours.
  fc.array(seedArb(overrides), { minLength: 1, maxLength, size: 'max' }).map((seeds) => seeds.map(buildRig));

const settingsArb = (rotation: boolean): fc.Arbitrary<PlannerSettings> =>
  fc.record({
    hysteresisWatts: fc.integer({ min: 1, max: 8_000 }),
    minOnMs: fc.integer({ min: 0, max: 5 * MIN }),
    minOffMs: fc.integer({ min: 0, max: 5 * MIN }),
    resumeWattsPerStep: fc.integer({ min: 1_000, max: 30_000 }),
    resumeIntervalMs: fc.integer({ min: 1_000, max: 60_000 }),
    maxCurtailMs: rotation ? fc.oneof(fc.constant(0), fc.integer({ min: 1 * MIN, max: 60 * MIN })) : fc.constant(0),
  });

/**
 * Budgets of a run as fractions of the fleet's rated watts: a random walk (small moves, where partial
 * levers and hysteresis matter) with the odd jump (a queue burst, a demand-response cap).
 */
const budgetWalkArb = (minLength: number, maxLength: number) =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 13_000 }).map((v) => v / 10_000),
      fc.array(
        fc.oneof(
          { weight: 9, arbitrary: fc.integer({ min: -1_200, max: 1_200 }).map((d) => ({ jump: false, v: d / 10_000 })) },
          { weight: 1, arbitrary: fc.integer({ min: 0, max: 13_000 }).map((v) => ({ jump: true, v: v / 10_000 })) },
        ),
        { minLength, maxLength },
      ),
    )
    .map(([f0, moves]) => {
      let f = f0;
      return moves.map((m) => (f = m.jump ? m.v : Math.max(0, f + m.v)));
    });

// ---------------------------------------------------------------------------
// The rules, written out again

function wattsOf(r: PlannerRig): number {
  return r.state.kind === 'running' ? r.ratedWatts : r.state.kind === 'reduced' ? r.state.watts : r.idleWatts;
}

const fleetWatts = (rigs: readonly PlannerRig[]) => rigs.reduce((s, r) => s + wattsOf(r), 0);

/** Feasible: curtailing every controllable rig without a "run" override fits the budget. */
function floorWatts(rigs: readonly PlannerRig[]): number {
  return rigs.reduce((s, r) => s + (!r.controllable ? wattsOf(r) : r.override === 'run' ? r.ratedWatts : r.idleWatts), 0);
}

function applyDecision(r: PlannerRig, d: Decision, now: number): PlannerRig {
  const down = r.state.kind === 'running' ? now : r.state.curtailedSince;
  const state: RigPowerState =
    d.action === 'resume'
      ? { kind: 'running', since: now }
      : d.action === 'set-power'
        ? { kind: 'reduced', watts: d.watts!, since: now, curtailedSince: down }
        : { kind: 'curtailed', since: now, curtailedSince: down };
  return { ...r, state };
}

function apply(rigs: readonly PlannerRig[], p: Plan, now: number): PlannerRig[] {
  const byRig = new Map(p.decisions.map((d) => [d.rig, d]));
  return rigs.map((r) => {
    const d = byRig.get(r.id);
    return d === undefined ? r : applyDecision(r, d, now);
  });
}

/** Checks that hold for every single plan; returns a description of the first violation, or null. */
function planProblems(input: PlanInput, p: Plan): string | null {
  const ids = new Set<string>();
  const rigById = new Map(input.rigs.map((r) => [r.id, r]));
  for (const d of p.decisions) {
    const r = rigById.get(d.rig);
    if (r === undefined) return `decision for unknown rig ${d.rig}`;
    if (ids.has(d.rig)) return `two decisions for ${d.rig}`;
    ids.add(d.rig);
    if (!r.controllable) return `decision for uncontrollable ${d.rig}`;
    if (r.override === 'run' && d.action !== 'resume') return `${d.action} of "run" override ${d.rig}`;
    if (r.override === 'curtail' && d.action !== 'curtail') return `${d.action} of "curtail" override ${d.rig}`;
    if (d.action === 'set-power' && !r.powerTargets.includes(d.watts!)) return `set-power ${d.watts} not a target of ${d.rig}`;
    if (!/\d/.test(d.reason) || d.reason.length < 10) return `reason without numbers: ${d.reason}`;
  }
  const after = apply(input.rigs, p, input.now);
  const watts = fleetWatts(after);
  if (watts !== p.runningWatts) return `runningWatts ${p.runningWatts} but the decisions leave ${watts}`;
  const feasible = floorWatts(input.rigs) <= Math.max(0, input.asicBudgetWatts);
  if (p.feasible !== feasible) return `feasible ${p.feasible}, expected ${feasible}`;
  // (a) never over budget when a feasible plan exists.
  if (feasible && watts > input.asicBudgetWatts) return `over budget: ${watts} > ${input.asicBudgetWatts} although feasible`;
  // (d) priorities: no rig is curtailed or reduced while a strictly lower-priority, controllable rig without override,
  // outside min-on (by its state before the plan), is left running at full power.
  const protectedAtInput = (r: PlannerRig) => r.state.kind === 'running' && input.now - r.state.since < input.settings.minOnMs;
  for (const d of p.decisions) {
    const x = rigById.get(d.rig)!;
    if (d.action === 'resume' || x.override !== null) continue;
    const y = after.find(
      (r) =>
        r.priority < x.priority &&
        r.controllable &&
        r.override === null &&
        !protectedAtInput(rigById.get(r.id)!) &&
        r.state.kind === 'running',
    );
    if (y !== undefined) return `${d.action} ${x.id} (priority ${x.priority}) while ${y.id} (priority ${y.priority}) keeps running`;
  }
  return null;
}

function shuffle<T>(list: readonly T[], seed: number): T[] {
  const out = [...list];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1_103_515_245) + 12_345) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

interface Step {
  readonly input: PlanInput;
  readonly plan: Plan;
}

/** Runs the planner over a budget sequence, applying each plan before the next call. */
function simulate(rigs: PlannerRig[], settings: PlannerSettings, budgets: readonly number[], gaps: readonly number[]): Step[] {
  let now = T0;
  let memory: PlannerMemory = INITIAL_PLANNER_MEMORY;
  let fleet = rigs;
  const steps: Step[] = [];
  budgets.forEach((b, k) => {
    const input: PlanInput = { now, asicBudgetWatts: b, rigs: fleet, settings, memory };
    const p = plan(input);
    steps.push({ input, plan: p });
    fleet = apply(fleet, p, now);
    memory = p.memory;
    now += gaps[k % gaps.length]!;
  });
  return steps;
}

const RUNS = 120;

t.test('(a)+(d) single plans: within budget when feasible, priorities honoured, decisions well-formed', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fleetArb(true), settingsArb(true), fc.double({ min: 0, max: 1.3, noNaN: true }), (rigs, settings, f) => {
          const budget = Math.round(rigs.reduce((s, r) => s + r.ratedWatts, 0) * f);
          const input: PlanInput = { now: T0, asicBudgetWatts: budget, rigs, settings, memory: INITIAL_PLANNER_MEMORY };
          const problem = planProblems(input, plan(input));
          if (problem !== null) throw new Error(problem);
        }),
        { numRuns: 200 },
      ),
    '200 random fleets',
  );
});

t.test('(a)+(d) multi-step: every plan of a run with moving budgets', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(
          fleetArb(true, 120),
          settingsArb(true),
          budgetWalkArb(5, 25),
          fc.array(fc.integer({ min: 0, max: 3 * MIN }), { minLength: 1, maxLength: 5 }),
          (rigs, settings, fs, gaps) => {
            const total = rigs.reduce((s, r) => s + r.ratedWatts, 0);
            for (const s of simulate(
              rigs,
              settings,
              fs.map((f) => Math.round(total * f)),
              gaps,
            )) {
              const problem = planProblems(s.input, s.plan);
              if (problem !== null) throw new Error(`at ${s.input.now - T0} ms: ${problem}`);
            }
          },
        ),
        { numRuns: RUNS },
      ),
    `${RUNS} random runs`,
  );
});

/*
 * (b) No flapping. The budget oscillates inside the hysteresis band: every budget of the run lies in
 * [B0, B0 + hysteresisWatts). Rotation is off (a rotation swap curtails on purpose). Then no rig that
 * the planner resumed (automatically, not by override) is curtailed or reduced later in the run.
 * Why it holds: a resume needs running + delta ≤ budget − hysteresis < B0 ≤ every later budget, and
 * nothing else raises the fleet's watts, so after any resume no later plan is over budget.
 */
t.test('(b) no flapping for budgets oscillating inside the hysteresis band', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(
          fleetArb(true, 150),
          settingsArb(false),
          fc.double({ min: 0, max: 1.1, noNaN: true }),
          fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 10, maxLength: 40 }),
          fc.array(fc.integer({ min: 0, max: 6 * MIN }), { minLength: 1, maxLength: 6 }),
          (rigs, settings, f, wobble, gaps) => {
            const b0 = Math.round(rigs.reduce((s, r) => s + r.ratedWatts, 0) * f);
            const budgets = wobble.map((w) => b0 + Math.floor(w * settings.hysteresisWatts));
            const resumedAt = new Map<string, number>();
            const steps = simulate(rigs, settings, budgets, gaps);
            steps.forEach((s, k) => {
              for (const d of s.plan.decisions) {
                const r = s.input.rigs.find((x) => x.id === d.rig)!;
                if (r.override !== null) continue;
                if (d.action === 'resume') resumedAt.set(d.rig, k);
                else if (resumedAt.has(d.rig)) {
                  throw new Error(`${d.rig} resumed at step ${resumedAt.get(d.rig)} and ${d.action} at step ${k}: ${d.reason}`);
                }
              }
            });
          },
        ),
        { numRuns: RUNS },
      ),
    `${RUNS} oscillating runs`,
  );
});

/*
 * (c) Staggered resumes. Over a run with moving budgets (sheds, resumes, rotations), take every automatic
 * resume (overrides aside: an operator's order is not held back) with its watts (the rig's rated watts
 * minus what it drew: a step-up counts its delta). For every window [t, t + resumeIntervalMs): the watts
 * resumed in it are ≤ resumeWattsPerStep, or the window holds exactly one resume (a rig larger than the
 * step resumes alone).
 */
t.test('(c) resumes are staggered: ≤ resumeWattsPerStep in any resumeIntervalMs window', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(
          fleetArb(true, 150),
          settingsArb(true),
          budgetWalkArb(5, 30),
          fc.array(fc.integer({ min: 0, max: 40_000 }), { minLength: 1, maxLength: 6 }),
          (rigs, settings, fs, gaps) => {
            const total = rigs.reduce((s, r) => s + r.ratedWatts, 0);
            const events: { at: number; watts: number; rig: string }[] = [];
            for (const s of simulate(
              rigs,
              settings,
              fs.map((f) => Math.round(total * f)),
              gaps,
            )) {
              for (const d of s.plan.decisions) {
                const r = s.input.rigs.find((x) => x.id === d.rig)!;
                if (d.action === 'resume' && r.override === null) events.push({ at: s.input.now, watts: -d.deltaWatts, rig: d.rig });
              }
            }
            for (const e of events) {
              const inWindow = events.filter((x) => x.at >= e.at && x.at < e.at + settings.resumeIntervalMs);
              const watts = inWindow.reduce((s, x) => s + x.watts, 0);
              if (watts > settings.resumeWattsPerStep && inWindow.length > 1) {
                throw new Error(
                  `${watts} W resumed in ${inWindow.length} resumes from ${e.at - T0} ms (step ${settings.resumeWattsPerStep} W)`,
                );
              }
            }
          },
        ),
        { numRuns: RUNS },
      ),
    `${RUNS} runs`,
  );
});

t.test('(e) determinism: the same input gives the same plan, whatever the rig order', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(
          fleetArb(true),
          settingsArb(true),
          fc.double({ min: 0, max: 1.3, noNaN: true }),
          fc.integer(),
          fc.record({ resumeWindowStart: fc.integer({ min: T0 - MIN, max: T0 }), resumeWindowWatts: fc.integer({ min: 0, max: 20_000 }) }),
          (rigs, settings, f, seed, memory) => {
            const budget = Math.round(rigs.reduce((s, r) => s + r.ratedWatts, 0) * f);
            const input: PlanInput = { now: T0, asicBudgetWatts: budget, rigs, settings, memory };
            const a = plan(input);
            const b = plan({ ...input, rigs: shuffle(rigs, seed) });
            const c = plan(structuredClone(input));
            if (JSON.stringify(a) !== JSON.stringify(b)) throw new Error('rig order changed the plan');
            if (JSON.stringify(a) !== JSON.stringify(c)) throw new Error('a copy of the input gave another plan');
          },
        ),
        { numRuns: 150 },
      ),
    '150 random inputs',
  );
});

t.test('the generators cover what the properties are about', async (t) => {
  // Guard against vacuous properties: over a fixed sample the runs must shed, resume, reduce, rotate, force and wait.
  const seen = new Set<string>();
  fc.assert(
    fc.property(fleetArb(true, 80), settingsArb(true), budgetWalkArb(10, 20), (rigs, settings, fs) => {
      const total = rigs.reduce((s, r) => s + r.ratedWatts, 0);
      for (const s of simulate(
        rigs,
        settings,
        fs.map((f) => Math.round(total * f)),
        [5_000, 70_000, 200_000],
      )) {
        for (const d of s.plan.decisions) {
          seen.add(d.action);
          if (d.reason.startsWith('forced')) seen.add('forced');
          if (d.reason.startsWith('rotation')) seen.add('rotation');
        }
        if (s.plan.waiting.length > 0) seen.add('waiting');
        if (!s.plan.feasible) seen.add('infeasible');
      }
    }),
    { numRuns: 60, seed: 42 },
  );
  t.same([...seen].sort(), ['curtail', 'forced', 'infeasible', 'resume', 'rotation', 'set-power', 'waiting']);
});
