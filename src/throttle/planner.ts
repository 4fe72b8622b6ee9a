/**
 * The planner: which rigs to curtail, reduce or resume so the ASIC fleet
 * fits its power budget. A pure, deterministic function: the same input
 * gives the same plan (rigs are taken in id order, every tie broken by id),
 * with a reason an operator can read for every decision.
 *
 * Watts by state: running = ratedWatts, reduced = its power target,
 * curtailed = idleWatts; a rig with drawWatts (a curtailed rig proven still
 * hashing by its measured shares) at those instead, so the others cover
 * them. Rules, in order:
 *  1. Overrides: `curtail` rigs are curtailed, `run` rigs resumed (at once:
 *     an operator's order) and never touched again; they count in the budget.
 *  2. Over budget: free watts from the cheapest rigs to lose (lowest
 *     priority, then worst J/TH, then id): a power target first where the
 *     driver has them (the highest that frees enough, else the lowest), a full
 *     curtail otherwise; if every rig is at its lowest target and the fleet
 *     still does not fit, curtail them fully in the same order. Rigs within
 *     minOnMs of their resume, or whose last command still settles (their
 *     driver's timing), are taken last ("forced").
 *  3. Under budget (and nothing was shed): resume the best rigs first
 *     (highest priority, best J/TH) when the fleet stays within budget −
 *     hysteresisWatts, the rig has been down minOffMs, and the resume step
 *     allows it (stagger, below); a rig whose last command still settles
 *     waits for it. A rig that waits for room or for the step
 *     holds back every rig of strictly lower priority (priorities are honoured
 *     on the way up too); equal priorities fill in.
 *  4. maxCurtailMs > 0 (plans that shed nothing): a rig curtailed longer is
 *     resumed if the budget allows, else swapped with the rig that would be
 *     curtailed next, if that rig's priority is not above its own and the
 *     swap keeps the fleet within budget.
 *
 * Staggered resume (inrush): resumes happen in steps. One plan call may give
 * back at most resumeWattsPerStep watts (a single rig larger than that may
 * resume alone, in a step of its own), and the next step comes no earlier
 * than resumeIntervalMs after the previous one. So any resumeIntervalMs
 * window holds at most one step. resumeIntervalMs 0 turns the stagger off.
 * Manual `run` overrides are not held back, but they start a step.
 *
 * Reference: docs/throttling.md.
 */

import { formatDuration, formatWatts } from './policy.js';
import { byId, joulesPerTh, sortById, stateWatts } from './rig-watts.js';
import type { Decision, Plan, PlanInput, PlannerMemory, PlannerRig, PlannerSettings, RigPowerState } from './types.js';

export { joulesPerTh, nextState, plannerSettingsFromConfig, stateWatts } from './rig-watts.js';

/**
 * Watts a rig is counted at now: its drawWatts where the controller knows better than the model (a curtailed rig
 * whose measured shares keep coming: its measured watts), else the model's watts in its state.
 */
export function modelWatts(rig: PlannerRig): number {
  return rig.drawWatts ?? stateWatts(rig, rig.state);
}

/**
 * The least the fleet can draw: every controllable rig without a `run` override curtailed, `run` overrides at
 * rated watts, uncontrollable rigs as they are, and a rig with drawWatts (its curtail did not take) at those. A
 * plan is feasible when this fits.
 */
export function minimumWatts(rigs: readonly PlannerRig[]): number {
  let total = 0;
  for (const r of sortById(rigs)) {
    if (r.controllable && r.override === 'run') total += r.ratedWatts;
    else if (!r.controllable || r.drawWatts !== undefined) total += modelWatts(r);
    else total += r.idleWatts;
  }
  return total;
}

// ---------------------------------------------------------------------------
// Orders

/** Cheapest to lose first: lowest priority, worst efficiency (highest J/TH), then id. */
function shedOrder(a: PlannerRig, b: PlannerRig): number {
  return a.priority - b.priority || joulesPerTh(b) - joulesPerTh(a) || byId(a, b);
}

/** Best to get back first: highest priority, best efficiency (lowest J/TH), then id. */
function resumeOrder(a: PlannerRig, b: PlannerRig): number {
  return b.priority - a.priority || joulesPerTh(a) - joulesPerTh(b) || byId(a, b);
}

// ---------------------------------------------------------------------------
// The plan

interface Work {
  readonly rig: PlannerRig;
  readonly startWatts: number;
  watts: number;
  kind: RigPowerState['kind'];
  /** Whether this plan already decided about the rig. */
  decided: boolean;
}

const jth = (r: PlannerRig) => {
  const v = joulesPerTh(r);
  return Number.isFinite(v) ? `${v.toFixed(1)} J/TH` : 'no rated TH/s';
};
const rank = (r: PlannerRig) => `priority ${r.priority}, ${jth(r)}`;

class PlanBuilder {
  readonly budget: number;
  readonly work: Work[];
  /** In the order made; a rig decided twice (a power target, then a full curtail) moves to the end. */
  readonly decisions = new Map<Work, Decision>();
  readonly waiting = new Map<string, string>();
  running = 0;
  memory: PlannerMemory;
  /** The resume step: open when this call may resume (stagger), and the watts resumed in it so far. */
  readonly stepOpen: boolean;
  stepUsed = 0;
  /** Lowest priority among rigs resumed in this plan, overrides aside (rotation swaps must not curtail above it). */
  lowestResumed = Number.POSITIVE_INFINITY;

  constructor(
    readonly input: PlanInput,
    readonly settings: PlannerSettings,
  ) {
    const b = input.asicBudgetWatts;
    // A budget that is not a number is treated as none at all: the safe side.
    this.budget = Number.isNaN(b) ? 0 : Math.max(0, b);
    this.work = sortById(input.rigs).map((rig) => {
      const w = modelWatts(rig);
      return { rig, startWatts: w, watts: w, kind: rig.state.kind, decided: false };
    });
    this.memory = input.memory;
    const m = input.memory;
    this.stepOpen =
      settings.resumeIntervalMs <= 0 ||
      m.resumeWindowWatts <= 0 ||
      input.now - m.resumeWindowStart >= settings.resumeIntervalMs ||
      input.now < m.resumeWindowStart; // the clock went back: do not wait for it to catch up
    this.total();
  }

  total(): number {
    this.running = this.work.reduce((s, w) => s + w.watts, 0);
    return this.running;
  }

  get now(): number {
    return this.input.now;
  }

  decide(w: Work, action: Decision['action'], watts: number, reason: string): void {
    const d: Decision = {
      rig: w.rig.id,
      action,
      ...(action === 'set-power' ? { watts } : {}),
      deltaWatts: w.startWatts - watts,
      reason,
    };
    this.running += watts - w.watts;
    w.watts = watts;
    w.kind = action === 'resume' ? 'running' : action === 'set-power' ? 'reduced' : 'curtailed';
    this.decisions.delete(w);
    this.decisions.set(w, d);
    w.decided = true;
    if (action === 'resume' && w.rig.override === null) this.lowestResumed = Math.min(this.lowestResumed, w.rig.priority);
  }

  /** Why a resume of `delta` watts must wait for the stagger, or null when this step allows it. */
  staggerBlock(delta: number): string | null {
    const s = this.settings;
    const step = `${formatWatts(s.resumeWattsPerStep)} per ${formatDuration(s.resumeIntervalMs)}`;
    if (!this.stepOpen) {
      const wait = this.memory.resumeWindowStart + s.resumeIntervalMs - this.now;
      return `staggered resume: next step in ${formatDuration(wait)} (${step})`;
    }
    if (s.resumeIntervalMs <= 0 || this.stepUsed === 0 || this.stepUsed + delta <= s.resumeWattsPerStep) return null;
    return `staggered resume: this step already gives back ${formatWatts(this.stepUsed)}; ${formatWatts(delta)} more would pass ${step}`;
  }

  recordResume(delta: number): void {
    if (this.stepOpen) {
      this.memory =
        this.stepUsed === 0
          ? { resumeWindowStart: this.now, resumeWindowWatts: delta }
          : { ...this.memory, resumeWindowWatts: this.memory.resumeWindowWatts + delta };
      this.stepUsed += delta;
    } else {
      // Only a manual override resumes outside a step: it starts a new one, so automatic resumes keep their distance.
      this.memory = { resumeWindowStart: this.now, resumeWindowWatts: Math.max(delta, 1) };
    }
  }

  isProtected(w: Work): boolean {
    const st = w.rig.state;
    return (st.kind === 'running' && this.now - st.since < this.settings.minOnMs) || this.settlingFor(w) > 0;
  }

  /** How much longer the rig's last command settles (it stops, boots or ramps), 0 when it does not. */
  settlingFor(w: Work): number {
    const until = w.rig.settlingUntil;
    return until === undefined ? 0 : Math.max(0, until - this.now);
  }

  free(w: Work): boolean {
    return w.rig.controllable && w.rig.override === null && !w.decided;
  }
}

function applyOverrides(p: PlanBuilder): void {
  for (const w of p.work) {
    const o = w.rig.override;
    if (!w.rig.controllable || o === null) continue;
    if (o === 'curtail' && w.kind !== 'curtailed') {
      p.decide(w, 'curtail', w.rig.idleWatts, `manual override "curtail": frees ${formatWatts(w.watts - w.rig.idleWatts)}`);
    } else if (o === 'run' && w.kind !== 'running') {
      const delta = w.rig.ratedWatts - w.watts;
      p.decide(w, 'resume', w.rig.ratedWatts, `manual override "run": takes back ${formatWatts(delta)} (not staggered)`);
      p.recordResume(delta);
    }
  }
}

/** One rig's lever while over budget: a power target (highest that frees enough, else lowest) or a full curtail. */
function lever(p: PlanBuilder, w: Work, prefix: string): void {
  const excess = p.running - p.budget;
  const targets = w.rig.powerTargets.filter((t) => t < w.watts);
  const head = `${prefix}over budget by ${formatWatts(excess)}; ${rank(w.rig)}`;
  if (targets.length > 0) {
    const enough = targets.filter((t) => w.watts - t >= excess);
    const t = enough.length > 0 ? enough[enough.length - 1]! : targets[0]!;
    const frees = w.watts - t;
    const tail = enough.length > 0 ? '' : ' (its lowest; not enough alone)';
    const ths = w.rig.powerTargetThs?.[t];
    const at = ths === undefined ? '' : ` (${ths.toFixed(1)} TH/s of ${w.rig.ratedThs.toFixed(1)})`;
    p.decide(w, 'set-power', t, `${head}: power target ${formatWatts(t)}${at}${tail} frees ${formatWatts(frees)}`);
  } else {
    p.decide(w, 'curtail', w.rig.idleWatts, `${head}: curtail frees ${formatWatts(w.watts - w.rig.idleWatts)}`);
  }
}

function shed(p: PlanBuilder): void {
  const fits = () => p.running <= p.budget;
  const candidates = p.work.filter((w) => p.free(w) && w.kind !== 'curtailed').sort((a, b) => shedOrder(a.rig, b.rig));
  const unprotected = candidates.filter((w) => !p.isProtected(w));
  const protectedRigs = candidates.filter((w) => p.isProtected(w));
  const forced = (w: Work) => {
    const settling = p.settlingFor(w);
    if (settling > 0) return `forced: its last command settles for ${formatDuration(settling)} more but the other rigs cannot cover it; `;
    const st = w.rig.state;
    const ago = st.kind === 'running' ? p.now - st.since : 0;
    return `forced: resumed ${formatDuration(ago)} ago (min-on ${formatDuration(p.settings.minOnMs)}) but the other rigs cannot cover it; `;
  };
  const passes: [Work[], (w: Work) => string][] = [
    [unprotected, () => ''],
    [protectedRigs, forced],
  ];
  for (const [list, prefix] of passes) {
    for (const w of list) {
      if (fits()) return;
      lever(p, w, prefix(w));
    }
    // Every rig of this pass is at its lowest target or curtailed: curtail the reduced ones fully, in the same order.
    for (const w of list) {
      if (fits()) return;
      if (w.kind !== 'reduced') continue;
      const excess = p.running - p.budget;
      const frees = w.watts - w.rig.idleWatts;
      p.decide(
        w,
        'curtail',
        w.rig.idleWatts,
        `${prefix(w)}over budget by ${formatWatts(excess)} with every power target set; ${rank(w.rig)}: curtail frees ${formatWatts(frees)} more`,
      );
    }
  }
}

function downFor(p: PlanBuilder, w: Work): { since: number; curtailedSince: number } {
  const st = w.rig.state;
  return st.kind === 'running' ? { since: p.now, curtailedSince: p.now } : st;
}

function resumeReason(p: PlanBuilder, w: Work, delta: number, why: string): string {
  const { curtailedSince } = downFor(p, w);
  const what =
    w.kind === 'reduced' ? `steps up from ${formatWatts(w.watts)} to ${formatWatts(w.rig.ratedWatts)}` : `takes back ${formatWatts(delta)}`;
  return `${why}; ${rank(w.rig)}; down ${formatDuration(p.now - curtailedSince)}: ${what}`;
}

function resumePass(p: PlanBuilder): void {
  const s = p.settings;
  const candidates = p.work.filter((w) => p.free(w) && w.kind !== 'running').sort((a, b) => resumeOrder(a.rig, b.rig));
  let blocker: { readonly rig: PlannerRig; readonly why: string } | null = null;
  for (const w of candidates) {
    if (blocker !== null && w.rig.priority < blocker.rig.priority) {
      p.waiting.set(w.rig.id, `behind ${blocker.rig.id} (priority ${blocker.rig.priority}), which waits for ${blocker.why}`);
      continue;
    }
    const settling = p.settlingFor(w);
    if (settling > 0) {
      p.waiting.set(w.rig.id, `settling: its last command takes effect for ${formatDuration(settling)} more`);
      continue;
    }
    const { since } = downFor(p, w);
    const off = p.now - since;
    if (off < s.minOffMs) {
      p.waiting.set(
        w.rig.id,
        `min-off: lowered ${formatDuration(off)} ago, may resume in ${formatDuration(s.minOffMs - off)} (min-off ${formatDuration(s.minOffMs)})`,
      );
      continue;
    }
    const delta = w.rig.ratedWatts - w.watts;
    const room = p.budget - s.hysteresisWatts - p.running;
    if (delta > room) {
      p.waiting.set(
        w.rig.id,
        `hysteresis: needs ${formatWatts(delta)}, ${formatWatts(Math.max(0, room))} free below the budget minus the ${formatWatts(s.hysteresisWatts)} hysteresis`,
      );
      blocker = { rig: w.rig, why: 'room in the budget' };
      continue;
    }
    const stagger = p.staggerBlock(delta);
    if (stagger !== null) {
      p.waiting.set(w.rig.id, stagger);
      blocker = { rig: w.rig, why: 'the next resume step' };
      continue;
    }
    const why = `under budget: ${formatWatts(p.budget - p.running)} free, ${formatWatts(room - delta)} left above the ${formatWatts(s.hysteresisWatts)} hysteresis`;
    p.decide(w, 'resume', w.rig.ratedWatts, resumeReason(p, w, delta, why));
    p.recordResume(delta);
  }
}

function rotate(p: PlanBuilder): void {
  const s = p.settings;
  const due = p.work
    .filter((w) => {
      if (!p.free(w) || w.kind !== 'curtailed' || w.rig.state.kind !== 'curtailed' || p.settlingFor(w) > 0) return false;
      return p.now - w.rig.state.curtailedSince > s.maxCurtailMs && p.now - w.rig.state.since >= s.minOffMs;
    })
    .sort((a, b) => downFor(p, a).curtailedSince - downFor(p, b).curtailedSince || byId(a.rig, b.rig));
  const capOf = (r: Work) => `down ${formatDuration(p.now - downFor(p, r).curtailedSince)}, over the ${formatDuration(s.maxCurtailMs)} cap`;
  // First every due rig the budget has room for, so the swaps below know every rig resumed in this plan.
  for (const r of due) {
    const delta = r.rig.ratedWatts - r.watts;
    if (delta > p.budget - s.hysteresisWatts - p.running || p.staggerBlock(delta) !== null) continue;
    p.waiting.delete(r.rig.id);
    p.decide(r, 'resume', r.rig.ratedWatts, resumeReason(p, r, delta, `rotation (${capOf(r)}): the budget has room`));
    p.recordResume(delta);
  }
  // Then swaps with the rig that would be curtailed next, if it ranks neither above the rotated rig nor above
  // any rig resumed in this plan (a skipped rig, decided on the way, is passed over).
  const nextUp = p.work.filter((w) => p.free(w) && w.kind !== 'curtailed' && !p.isProtected(w)).sort((a, b) => shedOrder(a.rig, b.rig));
  let cursor = 0;
  for (const r of due) {
    if (r.decided) continue;
    const cap = capOf(r);
    const delta = r.rig.ratedWatts - r.watts;
    const room = p.budget - s.hysteresisWatts - p.running;
    const stagger = p.staggerBlock(delta);
    while (cursor < nextUp.length && nextUp[cursor]!.decided) cursor++;
    const next = nextUp[cursor];
    if (next === undefined || next.rig.priority > r.rig.priority || next.rig.priority > p.lowestResumed) {
      p.waiting.set(
        r.rig.id,
        `rotation due (${cap}) but no running rig of priority ${Math.min(r.rig.priority, p.lowestResumed)} or lower (outside min-on) to swap with, and ${
          delta > room ? `the budget has ${formatWatts(Math.max(0, room))} of the ${formatWatts(delta)} needed` : 'no resume step is free'
        }`,
      );
      continue;
    }
    const after = p.running - (next.watts - next.rig.idleWatts) + delta;
    if (after > p.budget) {
      p.waiting.set(
        r.rig.id,
        `rotation due (${cap}); a swap with ${next.rig.id} would leave the fleet over budget by ${formatWatts(after - p.budget)}`,
      );
      continue;
    }
    if (stagger !== null) {
      p.waiting.set(r.rig.id, `rotation due (${cap}); ${stagger}`);
      continue;
    }
    p.waiting.delete(r.rig.id);
    p.decide(
      next,
      'curtail',
      next.rig.idleWatts,
      `rotation: makes room for ${r.rig.id} (${cap}); ${rank(next.rig)}: curtail frees ${formatWatts(next.watts - next.rig.idleWatts)}`,
    );
    p.decide(r, 'resume', r.rig.ratedWatts, resumeReason(p, r, delta, `rotation (${cap}): swapped with ${next.rig.id}`));
    p.recordResume(delta);
  }
}

/**
 * Plans one step. Pure and deterministic: the rigs' input order does not matter (ids should be
 * unique). Plan.memory must be passed back in with the next call.
 */
export function plan(input: PlanInput): Plan {
  const p = new PlanBuilder(input, input.settings);
  applyOverrides(p);
  const over = p.running > p.budget;
  if (over) shed(p);
  else resumePass(p);
  if (!over && input.settings.maxCurtailMs > 0) rotate(p);
  return {
    decisions: [...p.decisions.values()],
    runningWatts: p.total(),
    budgetWatts: p.budget,
    feasible: minimumWatts(input.rigs) <= p.budget,
    waiting: [...p.waiting].map(([rig, reason]) => ({ rig, reason })),
    memory: p.memory,
  };
}
