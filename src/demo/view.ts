/**
 * What the demo shows while it runs. On a terminal: a live view redrawn in
 * place (ANSI cursor-up + clear, a few times a second). Otherwise (a pipe, a
 * log file, CI): one plain line per event. Pure string building; the caller
 * writes.
 */

import { DEFAULT_TIMING } from '../throttle/drivers/timing.js';
import { formatWatts } from '../throttle/policy.js';
import type { ThrottleEvent, ThrottleStatus } from '../throttle/types.js';
import type { DemoRigSpec, DemoTimings } from './fleet.js';
import type { DemoPhase } from './script.js';

/** A line in the event log: the throttle's events plus the script's phase changes and the demo's own notes. */
export type DemoEvent =
  | ThrottleEvent
  | { readonly type: 'phase'; readonly phase: DemoPhase; readonly depth: number; readonly at: number }
  | { readonly type: 'note'; readonly text: string; readonly at: number };

const PHASE_TEXT: Readonly<Record<DemoPhase, string>> = {
  calm: 'the GPUs are idle: every rig runs',
  ramp: 'inference traffic arrives: the queue grows',
  hold: 'busy plateau (the wobble stays inside the hysteresis band)',
  spike: 'burst: the GPUs want nearly everything',
  drain: 'the queue empties: rigs come back, staggered',
};

const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

/** One plain line for an event; null for events not shown (budget). */
export function formatEventLine(e: DemoEvent, startedAt: number, rigs: ReadonlyMap<string, DemoRigSpec>): string | null {
  const t = `[${lpad(secs(Math.max(0, e.at - startedAt)), 6)}]`;
  switch (e.type) {
    case 'phase':
      return `${t} phase      ${e.phase}: ${PHASE_TEXT[e.phase]} (queue depth ${e.depth})`;
    case 'note':
      return `${t} note       ${e.text}`;
    case 'mode':
      return `${t} mode       ${e.mode} (was ${e.previous})`;
    case 'alert':
      return `${t} alert      ${e.rig}: ${e.alert}`;
    case 'curtail':
    case 'resume':
    case 'set-power': {
      const spec = rigs.get(e.rig);
      const driver = spec?.driver ?? '?';
      return `${t} ${pad(e.type, 10)} ${pad(e.rig, 11)} ${pad(driver, 10)} now ${lpad(formatWatts(e.watts), 8)}  ${e.reason}`;
    }
    case 'budget':
      return null;
  }
}

const ms = (n: number) => (n >= 60_000 ? `${+(n / 60_000).toFixed(1)} min` : n >= 1000 ? `${+(n / 1000).toFixed(1)} s` : `${n} ms`);

/**
 * What the demo scales down, said up front: the simulators' delays and the drivers' settle windows, against a real
 * rig's (the defaults in src/throttle/drivers/timing.ts). Only the kinds the fleet has.
 */
export function formatLegend(fleet: readonly DemoRigSpec[], t: DemoTimings): string[] {
  const kinds = new Set(fleet.map((r) => r.driver));
  const lines: string[] = [];
  if (kinds.has('antminer'))
    lines.push(
      `scaled down: an Antminer config write answers in ${ms(t.sim.antminerReplyMs)}, its miner restarts in ${ms(t.sim.antminerRestartMs)} (real rig: ~20 s, ~10 s)`,
    );
  if (kinds.has('whatsminer'))
    lines.push(`scaled down: a Whatsminer boots in ${ms(t.sim.whatsminerBootMs)} after power_on (real rig: minutes)`);
  const firmware = [...kinds].flatMap((k) => (k === 'stratum' ? [] : [k]));
  if (firmware.length > 0) {
    const demo = firmware.flatMap((k) => [t.settle[k].curtailMs, t.settle[k].resumeMs, t.settle[k].powerMs]);
    const real = firmware.flatMap((k) => [
      DEFAULT_TIMING[k].curtailSettleMs,
      DEFAULT_TIMING[k].resumeSettleMs,
      DEFAULT_TIMING[k].powerSettleMs,
    ]);
    const range = (xs: number[]) => `${ms(Math.min(...xs))} to ${ms(Math.max(...xs))}`;
    lines.push(`driver settle windows ${range(demo)}, demo-sized (the drivers' defaults: ${range(real)})`);
  }
  return lines;
}

export interface FrameInput {
  readonly elapsedMs: number;
  readonly durationMs: number;
  readonly phase: DemoPhase;
  readonly depth: number;
  readonly status: ThrottleStatus | null;
  readonly fleet: readonly DemoRigSpec[];
  readonly sharesPerMinute: (rig: string) => number;
  readonly recent: readonly string[];
  /** formatLegend's lines, under the header. */
  readonly legend: readonly string[];
  readonly signals: string;
  readonly columns: number;
}

/** The live view, as lines (each cut to the terminal width so nothing wraps). */
export function renderFrame(f: FrameInput): string[] {
  const s = f.status;
  const b = s?.budget;
  const w = (x: number | undefined) => (x === undefined ? '-' : formatWatts(x));
  const lines = [
    `hashgate demo  ${secs(f.elapsedMs)} / ${secs(f.durationMs)}  phase ${f.phase}  mode ${s?.mode ?? '-'}  signals ${f.signals}   (Ctrl-C ends early)`,
    `queue depth ${f.depth}   GPU need ${w(b?.gpuNeedWatts)}   site budget ${w(b?.siteWatts)}   ASIC budget ${w(b?.asicWatts)}`,
    `ASIC watts ${w(s?.asicWatts)}   freed ${w(s?.freedWatts)}   curtailed ${s?.curtailedRigs ?? 0}   reduced ${s?.reducedRigs ?? 0}`,
    ...f.legend,
    '',
    `${pad('rig', 12)}${pad('model', 21)}${pad('driver', 11)}${pad('prio', 5)}${pad('state', 10)}${lpad('shares/min', 10)}${lpad('watts', 10)}  alert`,
  ];
  const byId = new Map((s?.rigs ?? []).map((r) => [r.id, r]));
  for (const rig of f.fleet) {
    const r = byId.get(rig.name);
    const state = r === undefined ? 'offline' : r.sessions === 0 && r.state === 'running' ? 'connecting' : r.state;
    const rate = Math.round(f.sharesPerMinute(rig.name));
    lines.push(
      `${pad(rig.name, 12)}${pad(rig.model, 21)}${pad(rig.driver, 11)}${pad(String(rig.priority), 5)}${pad(state, 10)}${lpad(String(rate), 10)}${lpad(r === undefined ? '-' : formatWatts(r.watts), 10)}  ${r?.alert ?? ''}`,
    );
  }
  lines.push('', ...f.recent);
  return lines.map((l) => (l.length > f.columns ? l.slice(0, Math.max(1, f.columns - 1)) : l));
}

/** In-place redraws: cursor up over the previous frame, clear to the end of the screen, write the new one. */
export class LiveScreen {
  #lines = 0;
  constructor(private readonly write: (s: string) => void) {}

  draw(lines: readonly string[]): void {
    const up = this.#lines > 0 ? `\x1b[${this.#lines}F` : '';
    this.write(`${up}\x1b[J${lines.join('\n')}\n`);
    this.#lines = lines.length;
  }

  /** Hides the cursor while the view runs. */
  begin(): void {
    this.write('\x1b[?25l');
  }

  /** Shows the cursor again (always called, also on Ctrl-C). */
  end(): void {
    this.write('\x1b[?25h');
  }
}
