import t from 'tap';
import { buildConfig } from '../../src/config/index.js';
import { joulesPerTh, minimumWatts, modelWatts, nextState, plan, plannerSettingsFromConfig } from '../../src/throttle/planner.js';
import {
  type Decision,
  INITIAL_PLANNER_MEMORY,
  type Plan,
  type PlanInput,
  type PlannerRig,
  type PlannerSettings,
  type RigPowerState,
} from '../../src/throttle/types.js';

const MIN = 60_000;
const NOW = 10 * 60 * MIN;
const LONG_AGO = NOW - 5 * 60 * MIN;

const settings: PlannerSettings = {
  hysteresisWatts: 1_000,
  minOnMs: 2 * MIN,
  minOffMs: 1 * MIN,
  resumeWattsPerStep: 10_000,
  resumeIntervalMs: 10_000,
  maxCurtailMs: 0,
};

const running = (since = LONG_AGO): RigPowerState => ({ kind: 'running', since });
const curtailed = (since = LONG_AGO, curtailedSince = since): RigPowerState => ({ kind: 'curtailed', since, curtailedSince });
const reduced = (watts: number, since = LONG_AGO): RigPowerState => ({ kind: 'reduced', watts, since, curtailedSince: since });

function rig(id: string, over: Partial<PlannerRig> = {}): PlannerRig {
  return {
    id,
    ip: null,
    entry: 'test',
    group: 'default',
    priority: 0,
    ratedWatts: 3_000,
    ratedThs: 100,
    idleWatts: 0,
    powerTargets: [],
    override: null,
    state: running(),
    controllable: true,
    ...over,
  };
}

function input(rigs: PlannerRig[], budget: number, over: Partial<PlanInput> = {}): PlanInput {
  return { now: NOW, asicBudgetWatts: budget, rigs, settings, memory: INITIAL_PLANNER_MEMORY, ...over };
}

const brief = (p: Plan) => p.decisions.map((d) => `${d.action} ${d.rig}${d.watts === undefined ? '' : ` ${d.watts}`}`);
const of = (p: Plan, id: string): Decision | undefined => p.decisions.find((d) => d.rig === id);

t.test('model watts and efficiency', async (t) => {
  t.equal(modelWatts(rig('a')), 3_000);
  t.equal(modelWatts(rig('a', { state: reduced(2_500) })), 2_500);
  t.equal(modelWatts(rig('a', { idleWatts: 40, state: curtailed() })), 40);
  t.equal(joulesPerTh(rig('a', { ratedWatts: 3_500, ratedThs: 200 })), 17.5);
});

t.test('within budget and nothing down: no decisions', async (t) => {
  const p = plan(input([rig('a'), rig('b')], 6_000));
  t.same(p.decisions, []);
  t.same(p.waiting, []);
  t.equal(p.runningWatts, 6_000);
  t.equal(p.budgetWatts, 6_000);
  t.equal(p.feasible, true);
  t.same(p.memory, INITIAL_PLANNER_MEMORY);
});

t.test('over budget: lowest priority first, then worst J/TH, then id', async (t) => {
  const rigs = [
    rig('hi', { priority: 5, ratedThs: 50 }),
    rig('eff', { priority: 0, ratedThs: 200 }),
    rig('bad', { priority: 0, ratedThs: 60 }),
    rig('b-twin', { priority: 0, ratedThs: 100 }),
    rig('a-twin', { priority: 0, ratedThs: 100 }),
  ];
  // 15,000 W running; budget 8,500 W: 6,500 W to free = three rigs.
  const p = plan(input(rigs, 8_500));
  t.same(brief(p), ['curtail bad', 'curtail a-twin', 'curtail b-twin']);
  t.equal(p.runningWatts, 6_000);
  t.equal(of(p, 'bad')!.deltaWatts, 3_000);
  t.equal(of(p, 'bad')!.reason, 'over budget by 6,500 W; priority 0, 50.0 J/TH: curtail frees 3,000 W');
  t.match(of(p, 'b-twin')!.reason, /^over budget by 500 W; priority 0, 30\.0 J\/TH/);
});

t.test('over budget: stops as soon as the fleet fits; idle watts still count', async (t) => {
  const rigs = [rig('a', { idleWatts: 100 }), rig('b', { idleWatts: 100 }), rig('c')];
  const p = plan(input(rigs, 6_100));
  t.same(brief(p), ['curtail a'], '9,000 - 2,900 = 6,100 fits exactly');
  t.equal(p.runningWatts, 6_100);
  t.equal(of(p, 'a')!.deltaWatts, 2_900);
  const q = plan(input(rigs, 6_099));
  t.same(brief(q), ['curtail a', 'curtail b']);
});

t.test('partial lever: the highest power target that frees enough', async (t) => {
  const targets = [2_000, 2_400, 2_700];
  const rigs = [rig('lux', { powerTargets: targets }), rig('other', { priority: 1 })];
  const p = plan(input(rigs, 5_500)); // over by 500: 2,400 frees 600, 2,700 only 300
  t.same(brief(p), ['set-power lux 2400']);
  t.equal(of(p, 'lux')!.deltaWatts, 600);
  t.equal(of(p, 'lux')!.reason, 'over budget by 500 W; priority 0, 30.0 J/TH: power target 2,400 W frees 600 W');
  t.equal(p.runningWatts, 5_400);
  t.same(brief(plan(input(rigs, 5_700))), ['set-power lux 2700'], 'over by 300: the top target is enough');
});

t.test('partial lever: the lowest target when none frees enough, then the next rig', async (t) => {
  const rigs = [rig('lux', { powerTargets: [2_000, 2_500] }), rig('b', { priority: 1, powerTargets: [2_500] }), rig('c', { priority: 2 })];
  const p = plan(input(rigs, 7_600)); // over by 1,400: lux to 2,000 frees 1,000; b to 2,500 frees the other 400+
  t.same(brief(p), ['set-power lux 2000', 'set-power b 2500']);
  t.match(of(p, 'lux')!.reason, /its lowest; not enough alone/);
  t.equal(p.runningWatts, 7_500);
});

t.test('partial levers exhausted: full curtails in the same order', async (t) => {
  const rigs = [
    rig('a', { powerTargets: [2_500] }),
    rig('b', { priority: 1, powerTargets: [2_500] }),
    rig('c', { priority: 2, powerTargets: [2_500] }),
  ];
  const p = plan(input(rigs, 6_000)); // over by 3,000; all at 2,500 = 7,500, still over by 1,500; curtail a
  t.same(brief(p), ['set-power b 2500', 'set-power c 2500', 'curtail a']);
  t.equal(of(p, 'a')!.deltaWatts, 3_000, 'delta is counted from the state before the plan');
  t.match(of(p, 'a')!.reason, /with every power target set; priority 0, 30\.0 J\/TH: curtail frees 2,500 W more/);
  t.equal(p.runningWatts, 5_000);
});

t.test('a reduced rig is lowered further or curtailed', async (t) => {
  const rigs = [
    rig('a', { state: reduced(2_500), powerTargets: [2_000, 2_500] }),
    rig('b', { state: reduced(2_000), powerTargets: [2_000] }),
  ];
  const p = plan(input(rigs, 4_200)); // 4,500 running, over by 300
  t.same(brief(p), ['set-power a 2000']);
  t.equal(of(p, 'a')!.deltaWatts, 500);
  const q = plan(input([rig('b', { state: reduced(2_000), powerTargets: [2_000] })], 1_000));
  t.same(brief(q), ['curtail b'], 'no lower target: full curtail');
  t.equal(of(q, 'b')!.deltaWatts, 2_000);
});

t.test('min-on: a freshly resumed rig is taken only when the others cannot cover it ("forced")', async (t) => {
  const fresh = running(NOW - 30_000);
  const rigs = [rig('fresh', { priority: 0, state: fresh }), rig('old', { priority: 3 })];
  const p = plan(input(rigs, 3_000));
  t.same(brief(p), ['curtail old'], 'the higher-priority rig goes, because the other is within min-on');
  const q = plan(input(rigs, 2_000));
  t.same(brief(q), ['curtail old', 'curtail fresh']);
  t.match(of(q, 'fresh')!.reason, /^forced: resumed 30 s ago \(min-on 2 min\) but the other rigs cannot cover it; over budget by 1,000 W/);
  const r = plan(input([rig('fresh', { state: running(NOW - 2 * MIN) })], 0));
  t.same(brief(r), ['curtail fresh'], 'exactly min-on ago is outside min-on');
  t.notMatch(of(r, 'fresh')!.reason, /forced/);
});

t.test('overrides: curtail is carried out, run is resumed at once and never touched', async (t) => {
  const rigs = [
    rig('keep', { override: 'run', state: curtailed(NOW - 1_000) }),
    rig('stop', { override: 'curtail', priority: 9 }),
    rig('x', { priority: 1 }),
    rig('y', { priority: 2 }),
  ];
  const p = plan(input(rigs, 9_000));
  t.same(brief(p), ['resume keep', 'curtail stop'], 'run: no min-off, no stagger; fleet 9,000 W fits');
  t.equal(of(p, 'keep')!.reason, 'manual override "run": takes back 3,000 W (not staggered)');
  t.equal(of(p, 'stop')!.reason, 'manual override "curtail": frees 3,000 W');
  t.same(p.memory, { resumeWindowStart: NOW, resumeWindowWatts: 3_000 }, 'the override starts a resume step');
  const q = plan(input(rigs, 3_000));
  t.same(brief(q), ['resume keep', 'curtail stop', 'curtail x', 'curtail y'], 'the others make room for the run override');
  t.equal(q.feasible, true);
});

t.test('overrides that make the budget infeasible: said so, never touched', async (t) => {
  const rigs = [rig('keep', { override: 'run' }), rig('keep2', { override: 'run', ratedWatts: 2_000 }), rig('x')];
  const p = plan(input(rigs, 4_000));
  t.equal(p.feasible, false);
  t.same(brief(p), ['curtail x'], 'everything else is curtailed');
  t.equal(p.runningWatts, 5_000);
  t.equal(minimumWatts(rigs), 5_000);
});

t.test('uncontrollable rigs: left alone, their watts count', async (t) => {
  const rigs = [rig('lost', { controllable: false, priority: -5 }), rig('a', { priority: 1 }), rig('b', { priority: 2 })];
  const p = plan(input(rigs, 4_000));
  t.same(brief(p), ['curtail a', 'curtail b']);
  t.equal(p.runningWatts, 3_000);
  t.equal(p.feasible, true);
  const q = plan(input(rigs, 2_000));
  t.equal(q.feasible, false, 'the uncontrollable rig alone is over');
  const down = [rig('lost', { controllable: false, state: curtailed() }), rig('lost2', { controllable: false, override: 'curtail' })];
  const r = plan(input(down, 100_000));
  t.same(r.decisions, [], 'no resume and no override for a rig hashgate cannot reach');
  t.same(r.waiting, []);
});

t.test('under budget: resume best first (priority, then J/TH), within budget minus hysteresis', async (t) => {
  const rigs = [
    rig('run', { ratedWatts: 5_000 }),
    rig('lo', { priority: 0, state: curtailed() }),
    rig('hi-bad', { priority: 2, ratedThs: 50, state: curtailed() }),
    rig('hi-good', { priority: 2, ratedThs: 150, state: curtailed() }),
  ];
  // 5,000 running, budget 12,500, hysteresis 1,000: room for two 3,000 W rigs (5,000 + 6,000 = 11,000 <= 11,500).
  const p = plan(input(rigs, 12_500));
  t.same(brief(p), ['resume hi-good', 'resume hi-bad']);
  t.equal(of(p, 'hi-good')!.deltaWatts, -3_000);
  t.equal(
    of(p, 'hi-good')!.reason,
    'under budget: 7,500 W free, 3,500 W left above the 1,000 W hysteresis; priority 2, 20.0 J/TH; down 5 h: takes back 3,000 W',
  );
  t.same(p.waiting, [{ rig: 'lo', reason: 'hysteresis: needs 3,000 W, 500 W free below the budget minus the 1,000 W hysteresis' }]);
  t.same(p.memory, { resumeWindowStart: NOW, resumeWindowWatts: 6_000 });
  t.equal(p.runningWatts, 11_000);
});

t.test('hysteresis: a resume must leave the hysteresis margin free', async (t) => {
  const rigs = [rig('a'), rig('b', { state: curtailed() })];
  t.same(brief(plan(input(rigs, 6_999))), [], 'would leave 999 W < 1,000 W');
  t.same(brief(plan(input(rigs, 7_000))), ['resume b'], 'exactly the margin');
});

t.test('min-off: a rig down less than minOffMs waits and does not hold others back', async (t) => {
  const rigs = [
    rig('recent', { priority: 9, state: curtailed(NOW - 20_000) }),
    rig('older', { priority: 0, state: curtailed(NOW - 5 * MIN) }),
  ];
  const p = plan(input(rigs, 100_000));
  t.same(brief(p), ['resume older']);
  t.same(p.waiting, [{ rig: 'recent', reason: 'min-off: lowered 20 s ago, may resume in 40 s (min-off 1 min)' }]);
});

t.test('a waiting rig holds back strictly lower priorities; equal priorities fill in', async (t) => {
  const rigs = [
    rig('run', { ratedWatts: 10_000 }),
    rig('big', { priority: 2, ratedWatts: 6_000, ratedThs: 400, state: curtailed() }),
    rig('peer', { priority: 2, ratedWatts: 1_500, ratedThs: 50, state: curtailed() }),
    rig('low', { priority: 1, ratedWatts: 1_000, state: curtailed() }),
  ];
  const p = plan(input(rigs, 14_000)); // room 3,000 below the margin: big does not fit, peer does
  t.same(brief(p), ['resume peer']);
  t.same(p.waiting, [
    { rig: 'big', reason: 'hysteresis: needs 6,000 W, 3,000 W free below the budget minus the 1,000 W hysteresis' },
    { rig: 'low', reason: 'behind big (priority 2), which waits for room in the budget' },
  ]);
});

t.test('a reduced rig steps back up to running; its delta counts', async (t) => {
  const rigs = [rig('a', { state: reduced(2_400), powerTargets: [2_400] }), rig('b')];
  const p = plan(input(rigs, 7_000));
  t.same(brief(p), ['resume a']);
  t.equal(of(p, 'a')!.deltaWatts, -600);
  t.match(of(p, 'a')!.reason, /steps up from 2,400 W to 3,000 W$/);
  t.same(p.memory, { resumeWindowStart: NOW, resumeWindowWatts: 600 });
  t.same(brief(plan(input(rigs, 6_000))), [], 'the 600 W step-up needs the hysteresis margin too');
});

t.test('staggered resume: at most resumeWattsPerStep per step, steps resumeIntervalMs apart', async (t) => {
  const down = ['a', 'b', 'c', 'd', 'e'].map((id) => rig(id, { state: curtailed() }));
  const p1 = plan(input(down, 1e9));
  t.same(brief(p1), ['resume a', 'resume b', 'resume c'], '3 × 3,000 W fit a 10,000 W step');
  t.same(p1.memory, { resumeWindowStart: NOW, resumeWindowWatts: 9_000 });
  t.same(p1.waiting, [
    { rig: 'd', reason: 'staggered resume: this step already gives back 9,000 W; 3,000 W more would pass 10,000 W per 10 s' },
    { rig: 'e', reason: 'staggered resume: this step already gives back 9,000 W; 3,000 W more would pass 10,000 W per 10 s' },
  ]);
  // Apply and come back 4 s later: the step is still closed.
  const apply = (rigs: PlannerRig[], p: Plan, now: number) =>
    rigs.map((r) => {
      const d = of(p, r.id);
      return d === undefined ? r : { ...r, state: nextState(r, d, now) };
    });
  const after1 = apply(down, p1, NOW);
  const p2 = plan(input(after1, 1e9, { now: NOW + 4_000, memory: p1.memory }));
  t.same(brief(p2), []);
  t.same(p2.waiting.map((w) => w.reason)[0], 'staggered resume: next step in 6 s (10,000 W per 10 s)');
  t.same(p2.memory, p1.memory, 'memory unchanged while nothing resumes');
  const p3 = plan(input(after1, 1e9, { now: NOW + 10_000, memory: p2.memory }));
  t.same(brief(p3), ['resume d', 'resume e']);
  t.same(p3.memory, { resumeWindowStart: NOW + 10_000, resumeWindowWatts: 6_000 });
});

t.test('staggered resume: one rig larger than the step resumes alone in its own step', async (t) => {
  const rigs = [rig('huge', { priority: 5, ratedWatts: 25_000, state: curtailed() }), rig('small', { state: curtailed() })];
  const p = plan(input(rigs, 1e9));
  t.same(brief(p), ['resume huge']);
  t.same(p.waiting, [
    { rig: 'small', reason: 'staggered resume: this step already gives back 25,000 W; 3,000 W more would pass 10,000 W per 10 s' },
  ]);
  const q = plan(input([rig('small', { state: curtailed() }), rig('huge', { ratedWatts: 25_000, state: curtailed() })], 1e9));
  t.same(brief(q), ['resume small'], 'the better rig went first; the big one waits for a step of its own');
  t.match(q.waiting[0]!.reason, /^staggered resume/);
});

t.test('staggered resume: resumeIntervalMs 0 turns it off; a clock that went back does not stall', async (t) => {
  const down = ['a', 'b', 'c', 'd', 'e'].map((id) => rig(id, { state: curtailed() }));
  t.equal(plan(input(down, 1e9, { settings: { ...settings, resumeIntervalMs: 0 } })).decisions.length, 5);
  const back = plan(input(down, 1e9, { memory: { resumeWindowStart: NOW + 60_000, resumeWindowWatts: 9_000 } }));
  t.equal(back.decisions.length, 3);
});

t.test('no resume in a plan that sheds', async (t) => {
  const rigs = [rig('a', { priority: 0 }), rig('b', { priority: 1 }), rig('small', { ratedWatts: 200, priority: 5, state: curtailed() })];
  const p = plan(input(rigs, 5_900)); // over by 100: a goes (frees 3,000); small would fit but must wait for the next plan
  t.same(brief(p), ['curtail a']);
  t.same(p.waiting, []);
});

t.test('rotation: a rig down longer than maxCurtailMs resumes when the budget allows', async (t) => {
  const s = { ...settings, maxCurtailMs: 60 * MIN };
  const rigs = [
    rig('long', { priority: 0, state: curtailed(NOW - 61 * MIN) }),
    rig('hi', { priority: 5, ratedWatts: 5_000, state: curtailed() }),
  ];
  // Room for one rig: 'hi' ranks first and is too big; rotation then takes 'long' despite the priority hold.
  const p = plan(input(rigs, 4_500, { settings: s }));
  t.same(brief(p), ['resume long']);
  t.match(of(p, 'long')!.reason, /^rotation \(down 1 h 1 min, over the 1 h cap\): the budget has room/);
  t.same(
    p.waiting.map((w) => w.rig),
    ['hi'],
  );
});

t.test('rotation: swapped with the rig that would be curtailed next', async (t) => {
  const s = { ...settings, maxCurtailMs: 60 * MIN };
  const rigs = [
    rig('long', { priority: 1, state: curtailed(NOW - 2 * 60 * MIN) }),
    rig('next', { priority: 1, ratedThs: 80 }),
    rig('good', { priority: 1, ratedThs: 120 }),
  ];
  const p = plan(input(rigs, 6_000, { settings: s }));
  t.same(brief(p), ['curtail next', 'resume long']);
  t.match(
    of(p, 'next')!.reason,
    /^rotation: makes room for long \(down 2 h, over the 1 h cap\); priority 1, 37\.5 J\/TH: curtail frees 3,000 W/,
  );
  t.match(of(p, 'long')!.reason, /^rotation \(down 2 h, over the 1 h cap\): swapped with next/);
  t.equal(p.runningWatts, 6_000, 'the swap keeps the fleet within budget');
  t.same(p.waiting, []);
  t.same(p.memory, { resumeWindowStart: NOW, resumeWindowWatts: 3_000 }, 'the resume half is staggered like any other');
});

t.test('rotation: no swap that would go over budget, with a higher-priority rig, or while shedding', async (t) => {
  const s = { ...settings, maxCurtailMs: 60 * MIN };
  const long = rig('long', { priority: 1, ratedWatts: 4_000, state: curtailed(NOW - 2 * 60 * MIN) });
  const over = plan(input([long, rig('next', { priority: 1 }), rig('o', { priority: 1 })], 6_500, { settings: s }));
  t.same(brief(over), []);
  t.match(over.waiting[0]!.reason, /a swap with next would leave the fleet over budget by 500 W$/);
  const higher = plan(input([long, rig('vip', { priority: 2 })], 3_000, { settings: s }));
  t.same(brief(higher), []);
  t.match(higher.waiting[0]!.reason, /no running rig of priority 1 or lower \(outside min-on\) to swap with/);
  const fresh = plan(input([long, rig('fresh', { priority: 0, state: running(NOW - 1_000) })], 3_000, { settings: s }));
  t.same(brief(fresh), [], 'a rig within min-on is not swapped out');
  const shedding = plan(input([long, rig('a', { priority: 0 }), rig('b', { priority: 0 })], 5_000, { settings: s }));
  t.same(brief(shedding), ['curtail a'], 'a plan that sheds does not rotate');
  const early = plan(input([rig('long', { state: curtailed(NOW - 30 * MIN) }), rig('n')], 3_000, { settings: s }));
  t.same(brief(early), [], 'not over the cap yet');
});

t.test('determinism: same input, same plan; rig order does not matter', async (t) => {
  const rigs = [
    rig('d', { priority: 1, powerTargets: [2_000] }),
    rig('a', { priority: 0 }),
    rig('c', { priority: 0, state: curtailed() }),
    rig('b', { priority: 0, ratedThs: 90 }),
  ];
  const a = plan(input(rigs, 4_000));
  t.same(plan(input(rigs, 4_000)), a);
  t.same(plan(input([...rigs].reverse(), 4_000)), a);
  t.same(brief(a), ['curtail b', 'curtail a'], 'J/TH 30.0 after 33.3; priority 1 untouched');
  t.same(brief(plan(input(rigs, 5_000))), ['curtail b', 'curtail a'], 'over by 1,000 after b: a has no power target');
  t.same(brief(plan(input(rigs, 6_500))), ['curtail b'], 'one rig is enough');
});

t.test('bad budgets are the safe side', async (t) => {
  const rigs = [rig('a')];
  t.same(brief(plan(input(rigs, Number.NaN))), ['curtail a'], 'NaN budget = 0');
  t.same(brief(plan(input(rigs, -5))), ['curtail a']);
  t.equal(plan(input(rigs, -5)).budgetWatts, 0);
});

t.test('nextState: what a decision leaves behind', async (t) => {
  const r = rig('a', { state: running(5) });
  t.same(nextState(r, { rig: 'a', action: 'curtail', deltaWatts: 0, reason: '' }, 100), {
    kind: 'curtailed',
    since: 100,
    curtailedSince: 100,
  });
  t.same(nextState(r, { rig: 'a', action: 'set-power', watts: 2_000, deltaWatts: 0, reason: '' }, 100), {
    kind: 'reduced',
    watts: 2_000,
    since: 100,
    curtailedSince: 100,
  });
  const red = rig('a', { state: { kind: 'reduced', watts: 2_000, since: 50, curtailedSince: 40 } });
  t.same(nextState(red, { rig: 'a', action: 'curtail', deltaWatts: 0, reason: '' }, 100), {
    kind: 'curtailed',
    since: 100,
    curtailedSince: 40,
  });
  t.same(nextState(red, { rig: 'a', action: 'resume', deltaWatts: 0, reason: '' }, 100), { kind: 'running', since: 100 });
});

t.test('plannerSettingsFromConfig', async (t) => {
  const c = buildConfig({
    file: { name: 'c.json', value: { pools: ['stratum+tcp://pool.example.com:3333'], throttle: { planner: { maxCurtailMs: 3_600_000 } } } },
  });
  t.same(plannerSettingsFromConfig(c.throttle), {
    hysteresisWatts: 5_000,
    minOnMs: 120_000,
    minOffMs: 60_000,
    resumeWattsPerStep: 20_000,
    resumeIntervalMs: 10_000,
    maxCurtailMs: 3_600_000,
  });
});

t.test('drawWatts (a curtailed rig proven still hashing): counted in place of the model, others shed to cover it', async (t) => {
  const zombie = rig('z', { state: curtailed(), idleWatts: 0, drawWatts: 2_400, priority: 9 });
  t.equal(modelWatts(zombie), 2_400, 'its measured watts, not its idle 0 W');
  const rigs = [zombie, rig('a', { priority: 1 }), rig('b', { priority: 2 })];
  const p = plan(input(rigs, 6_000));
  t.same(brief(p), ['curtail a'], '2,400 + 3,000 + 3,000 W against 6,000 W: the cheapest other rig goes');
  t.equal(p.runningWatts, 5_400);
  t.equal(minimumWatts(rigs), 2_400, 'its curtail did not take: it is the floor');
  t.equal(plan(input(rigs, 2_000)).feasible, false, 'so a budget below it is infeasible');
  const same = plan(input([{ ...zombie, drawWatts: undefined } as PlannerRig, rigs[1]!, rigs[2]!], 6_000));
  t.same(brief(same), [], 'without it the model (0 W) fits and nothing is shed');
  t.same(plan(input([...rigs].reverse(), 6_000)), p, 'deterministic whatever the order');
});
