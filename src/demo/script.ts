/**
 * The demo's queue-depth script: a pure function of the elapsed time, relative
 * to the demo's duration, so every phase happens even in a ten-second run.
 *
 *   calm   the GPUs are idle: every rig runs
 *   ramp   inference traffic arrives: the depth climbs in steps, rigs are curtailed by priority and J/TH
 *   hold   a busy plateau with a small wobble inside the hysteresis band (no flapping)
 *   spike  a burst: the GPUs want nearly everything
 *   drain  the queue empties: rigs come back, staggered (inrush)
 *
 * The depth changes in discrete steps (stepMs apart), so each change has a
 * time the reaction measurement can start from.
 */

export const DEMO_PHASES = ['calm', 'ramp', 'hold', 'spike', 'drain'] as const;
export type DemoPhase = (typeof DEMO_PHASES)[number];

/** Where each phase starts, as a fraction of the duration. */
const PHASE_START: Readonly<Record<DemoPhase, number>> = Object.freeze({ calm: 0, ramp: 0.08, hold: 0.33, spike: 0.5, drain: 0.62 });

export interface ScriptStep {
  /** Offset from the start of the demo, ms. */
  readonly at: number;
  readonly phase: DemoPhase;
  readonly depth: number;
}

export interface DepthScript {
  readonly durationMs: number;
  readonly stepMs: number;
  /** Ascending by `at`; the first step is at 0. Consecutive steps differ in depth or phase. */
  readonly steps: readonly ScriptStep[];
  /** Depth of the plateau and of the spike (for the fleet's GPU model). */
  readonly holdDepth: number;
  readonly spikeDepth: number;
}

export const HOLD_DEPTH = 40;
export const SPIKE_DEPTH = 80;
const CALM_DEPTH = 2;
/** The hold plateau wobbles by this much, well inside the planner's hysteresis band. */
const WOBBLE = 2;

/** Step length: about 30 steps a run, between 250 ms and 2 s. */
export function stepMsFor(durationMs: number): number {
  return Math.round(Math.min(2000, Math.max(250, durationMs / 30)));
}

/** Start and end (ms) of each phase. */
function phaseSpans(durationMs: number): Record<DemoPhase, { start: number; end: number }> {
  const spans = {} as Record<DemoPhase, { start: number; end: number }>;
  DEMO_PHASES.forEach((p, i) => {
    const next = DEMO_PHASES[i + 1];
    spans[p] = {
      start: Math.round(PHASE_START[p] * durationMs),
      end: next === undefined ? durationMs : Math.round(PHASE_START[next] * durationMs),
    };
  });
  return spans;
}

/** The depth of the k-th step (k = 0, 1, …) of a phase that has `count` steps. */
function depthOf(phase: DemoPhase, k: number, count: number): number {
  switch (phase) {
    case 'calm':
      return CALM_DEPTH;
    case 'ramp':
      return Math.round(CALM_DEPTH + ((HOLD_DEPTH - CALM_DEPTH) * (k + 1)) / count);
    case 'hold':
      return HOLD_DEPTH + (k % 3 === 1 ? WOBBLE : k % 3 === 2 ? -WOBBLE : 0);
    case 'spike':
      return SPIKE_DEPTH;
    case 'drain':
      // Down in three steps, then empty: the rest of the phase is for the staggered resume.
      return k === 0 ? HOLD_DEPTH : k === 1 ? HOLD_DEPTH / 4 : 0;
  }
}

export function buildDepthScript(durationMs: number): DepthScript {
  if (!(durationMs > 0)) throw new RangeError('durationMs must be above 0');
  const stepMs = stepMsFor(durationMs);
  const steps: ScriptStep[] = [];
  const spans = phaseSpans(durationMs);
  // Each phase on its own stepMs grid from its start, so a phase starts on time and its steps count from there.
  for (const phase of DEMO_PHASES) {
    const { start, end } = spans[phase];
    const count = Math.max(1, Math.ceil((end - start) / stepMs));
    for (let k = 0; k < count; k++) {
      const at = start + k * stepMs;
      const depth = depthOf(phase, k, count);
      const last = steps[steps.length - 1];
      if (last === undefined || last.depth !== depth || last.phase !== phase) steps.push({ at, phase, depth });
    }
  }
  return { durationMs, stepMs, steps, holdDepth: HOLD_DEPTH, spikeDepth: SPIKE_DEPTH };
}

/** The step in force at `elapsedMs` (the last one at or before it). */
export function stepAt(script: DepthScript, elapsedMs: number): ScriptStep {
  let found = script.steps[0]!;
  for (const s of script.steps) {
    if (s.at > elapsedMs) break;
    found = s;
  }
  return found;
}
