/**
 * The demo's summary: what hashgate checked (from its journal, re-validated
 * by the audit), what the throttle did (its events), how fast it reacted,
 * and whether every curtailed rig really stopped submitting shares.
 */

import { auditFiles } from '../audit/run.js';
import { parseRecord } from '../journal/format.js';
import { readFileLines } from '../journal/reader.js';
import { formatWatts } from '../throttle/policy.js';
import type { DriverKind, ThrottleEvent } from '../throttle/types.js';
import type { DemoRigSpec } from './fleet.js';
import { type CommandEvent, isCommandEvent, type Reactions, type Verification } from './observe.js';

export interface JournalShares {
  readonly checked: number;
  /** Local verdict accepted (or block). */
  readonly accepted: number;
  readonly rejected: number;
  readonly rejectedByReason: Readonly<Record<string, number>>;
  /** Pool verdicts of the shares hashgate forwarded. */
  readonly poolAccepted: number;
  readonly poolRejected: number;
  /** Submit times per worker, ascending. */
  readonly times: ReadonlyMap<string, readonly number[]>;
}

/** Reads the share records of a journal (every verdict), with submit times per worker. */
export async function scanJournalShares(path: string): Promise<JournalShares> {
  let checked = 0;
  let accepted = 0;
  let poolAccepted = 0;
  let poolRejected = 0;
  const rejectedByReason: Record<string, number> = {};
  const times = new Map<string, number[]>();
  const onLine = (text: string) => {
    if (!text.startsWith('{"t":"share"')) return;
    const r = parseRecord(text);
    if (!r.ok || r.record.t !== 'share') return;
    const s = r.record;
    checked++;
    if (s.lv === 'accepted' || s.lv === 'block') accepted++;
    else rejectedByReason[s.lv] = (rejectedByReason[s.lv] ?? 0) + 1;
    if (s.pv === 'accepted') poolAccepted++;
    else if (s.pv === 'rejected') poolRejected++;
    let list = times.get(s.w);
    if (list === undefined) times.set(s.w, (list = []));
    list.push(s.ts);
  };
  await readFileLines(path, { line: onLine, oversize: () => undefined, unterminated: onLine });
  for (const list of times.values()) list.sort((a, b) => a - b);
  return { checked, accepted, rejected: checked - accepted, rejectedByReason, poolAccepted, poolRejected, times };
}

export interface DemoAudit {
  readonly verdict: 'clean' | 'damaged' | 'mismatch';
  readonly shares: number;
  readonly mismatches: number;
  readonly problems: number;
}

/** Re-validates the journal as `hashgate audit` does (in this process, one thread). */
export async function auditJournal(path: string): Promise<DemoAudit> {
  const r = await auditFiles([path]);
  return { verdict: r.verdict, shares: r.sharesRead, mismatches: r.mismatches.count, problems: r.problems.count };
}

/** What one driver kind did in the run: hashgate's confirmed commands, and what its firmware simulators saw. */
export interface DriverTally {
  readonly rigs: number;
  readonly curtail: number;
  readonly resume: number;
  readonly setPower: number;
  /** Times a firmware simulator of this kind stopped / restarted its rig's hashing (none for stratum rigs). */
  readonly firmwareStops: number;
  readonly firmwareStarts: number;
}

export interface DemoSummary {
  readonly endedBy: 'duration' | 'signal';
  readonly plannedMs: number;
  readonly elapsedMs: number;
  readonly rigs: number;
  readonly signals: 'in-process' | 'redis';
  readonly redis: { readonly url: string; readonly depthKey: string; readonly statusKey: string; readonly eventsChannel: string } | null;
  readonly site: {
    readonly siteBudgetWatts: number;
    readonly asicRatedWatts: number;
    readonly peakDepth: number;
    readonly peakFreedWatts: number;
    readonly peakCurtailedRigs: number;
  };
  readonly shares: {
    readonly checked: number;
    readonly accepted: number;
    readonly rejected: number;
    readonly rejectedByReason: Readonly<Record<string, number>>;
    readonly poolAccepted: number;
    readonly poolRejected: number;
    /** The simulated pool's own count of shares it accepted (checked independently of hashgate). */
    readonly poolCounted: number;
  };
  readonly events: {
    readonly curtail: number;
    readonly resume: number;
    readonly setPower: number;
    readonly alerts: number;
    readonly modeChanges: number;
    readonly driverErrors: number;
  };
  /** Per driver kind in the fleet, in the order the fleet first names them. */
  readonly drivers: Readonly<Partial<Record<DriverKind, DriverTally>>>;
  readonly reaction: {
    readonly depthChanges: number;
    readonly samples: number;
    readonly p50Ms: number | null;
    readonly maxMs: number | null;
  };
  readonly verification: Omit<Verification, 'rigs'> & { readonly graceMs: number; readonly rigs: Verification['rigs'] };
  readonly audit: DemoAudit;
  readonly cpu: { readonly percentOfOneCore: number };
  readonly journal: string;
  readonly log: string;
}

export function countEvents(events: readonly ThrottleEvent[], driverErrors: number): DemoSummary['events'] {
  const n = (t: ThrottleEvent['type']) => events.filter((e) => e.type === t).length;
  return {
    curtail: n('curtail'),
    resume: n('resume'),
    setPower: n('set-power'),
    alerts: events.filter((e) => e.type === 'alert' && e.alert !== 'driver-error').length,
    modeChanges: n('mode'),
    driverErrors,
  };
}

/** The commands per driver kind, with each kind's firmware-side counts (rig name → stops and starts). */
export function driverTallies(
  fleet: readonly DemoRigSpec[],
  commands: readonly CommandEvent[],
  firmware: ReadonlyMap<string, { readonly firmwareStops: number; readonly firmwareStarts: number }>,
): Partial<Record<DriverKind, DriverTally>> {
  const kindOf = new Map(fleet.map((r) => [r.name, r.driver]));
  const out: Partial<Record<DriverKind, { -readonly [K in keyof DriverTally]: DriverTally[K] }>> = {};
  const zero = () => ({ rigs: 0, curtail: 0, resume: 0, setPower: 0, firmwareStops: 0, firmwareStarts: 0 });
  for (const r of fleet) {
    const t = (out[r.driver] ??= zero());
    t.rigs++;
    t.firmwareStops += firmware.get(r.name)?.firmwareStops ?? 0;
    t.firmwareStarts += firmware.get(r.name)?.firmwareStarts ?? 0;
  }
  for (const e of commands) {
    const kind = kindOf.get(e.rig);
    const t = kind === undefined ? undefined : out[kind];
    if (t === undefined) continue;
    if (e.type === 'curtail') t.curtail++;
    else if (e.type === 'resume') t.resume++;
    else t.setPower++;
  }
  return out;
}

export function commandEvents(events: readonly ThrottleEvent[]): CommandEvent[] {
  return events.filter(isCommandEvent);
}

export function reactionSummary(depthChanges: number, r: Reactions): DemoSummary['reaction'] {
  return { depthChanges, samples: r.samplesMs.length, p50Ms: r.p50Ms, maxMs: r.maxMs };
}

const int = (n: number) => Math.round(n).toLocaleString('en-US');
const ms = (n: number | null) => (n === null ? 'n/a' : `${int(n)} ms`);

const pad = (t: string, n: number) => (t.length >= n ? t : t + ' '.repeat(n - t.length));

/** One line per driver kind: its rigs, the commands hashgate confirmed, and what the firmware simulators saw. */
function formatDrivers(drivers: DemoSummary['drivers']): string[] {
  return Object.entries(drivers).map(([kind, d], i) => {
    const rigs = `${d.rigs} ${d.rigs === 1 ? 'rig' : 'rigs'}:`;
    const sim =
      kind === 'stratum'
        ? 'parked by hashgate, no firmware'
        : `firmware stopped hashing ${d.firmwareStops}×, restarted ${d.firmwareStarts}×`;
    return `${i === 0 ? '  by driver        ' : '                   '}${pad(kind, 11)}${pad(rigs, 9)} ${d.curtail} curtail, ${d.resume} resume, ${d.setPower} set-power; ${sim}`;
  });
}

/** The human summary (stdout without --json). */
export function formatSummary(s: DemoSummary): string {
  const rej = Object.entries(s.shares.rejectedByReason)
    .map(([k, v]) => `${k} ${int(v)}`)
    .join(', ');
  const v = s.verification;
  const how = s.endedBy === 'signal' ? 'stopped early (Ctrl-C)' : 'done';
  const lines = [
    '',
    `hashgate demo ${how} after ${(s.elapsedMs / 1000).toFixed(1)} s: ${s.rigs} rigs, queue depth from ${s.signals === 'redis' ? `Redis key ${s.redis?.depthKey ?? ''}` : 'the in-process script'}`,
    '',
    `  shares checked   ${int(s.shares.checked)} by hashgate: ${int(s.shares.accepted)} accepted, ${int(s.shares.rejected)} rejected${rej === '' ? '' : ` (${rej})`}`,
    `                   pool accepted ${int(s.shares.poolAccepted)} of those forwarded (the pool's own count: ${int(s.shares.poolCounted)})`,
    `  throttle         ${int(s.events.curtail)} curtail, ${int(s.events.resume)} resume, ${int(s.events.setPower)} set-power, ${int(s.events.alerts)} alerts, ${int(s.events.driverErrors)} driver errors`,
    `                   peak: ${formatWatts(s.site.peakFreedWatts)} freed for the GPUs, ${s.site.peakCurtailedRigs} rigs curtailed or reduced (site ${formatWatts(s.site.siteBudgetWatts)}, ASICs rated ${formatWatts(s.site.asicRatedWatts)})`,
    ...formatDrivers(s.drivers),
    `  reaction time    p50 ${ms(s.reaction.p50Ms)}, max ${ms(s.reaction.maxMs)} from a depth change to its first driver command (${s.reaction.samples} of ${s.reaction.depthChanges} changes caused one)`,
    `  verification     ${v.stopped} of ${v.curtailedRigs - v.unjudged} curtailed rigs stopped submitting shares (hashgate's journal, ${int(v.graceMs)} ms grace)${v.stillHashing.length > 0 ? `; STILL HASHING: ${v.stillHashing.join(', ')}` : ''}${v.unjudged > 0 ? `; ${v.unjudged} curtailed too briefly to judge` : ''}`,
    `                   ${v.resumedWithShares} of ${v.resumes} resumed rigs submitted shares again`,
    `  audit            ${s.audit.verdict}: ${int(s.audit.shares)} shares re-validated, ${int(s.audit.mismatches)} disagreements, ${int(s.audit.problems)} problems`,
    `  cpu              ${s.cpu.percentOfOneCore.toFixed(0)}% of one core`,
    `  journal          ${s.journal}`,
    `  daemon log       ${s.log}`,
    '',
    `Re-check every share yourself:  hashgate audit ${s.journal}`,
    '',
  ];
  return lines.join('\n');
}
