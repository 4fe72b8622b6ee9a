/**
 * The controller's book of rigs: one record per rig it has seen, with what it
 * last commanded, what the fleet reports (sessions, accepted shares) and the
 * rig's alert. Plain data and small functions over it; the controller owns
 * the records and is the only writer. The status snapshot is ./status.ts.
 */

import type { DecisionProof, FleetSession, MeasuredRate, RigAlert, RigControl, RigPowerState, RigSpec } from './types.js';
import type { DecisionUnderProof } from './verify.js';

/** A rig unseen (no session) this long, and not curtailed by us, is forgotten. */
export const FORGET_AFTER_MS = 10 * 60 * 1000;
/** Share timestamps kept per rig for the share rate. */
export const RATE_WINDOW_MS = 60 * 1000;
export const MAX_SHARE_STAMPS = 512;

export interface RigRecord {
  spec: RigSpec;
  state: RigPowerState;
  control: RigControl | null;
  controlError: string | null;
  /** A driver command (or the start-up firmware read) is in flight: the rig sits out of planning until it settles. */
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
  /**
   * The in-flight window of the driver's last accepted command (RigControl.timing): until then the rig boots, ramps
   * or stops: not resumed meanwhile, and shed only when no other rig can cover. 0 = none.
   */
  settleUntil: number;
  /** The rig's measured hash rate at the last tick (SessionTotals.hashrate), null before any. */
  measured: SessionTotals['hashrate'];
  /** The measured rate when the last command was sent (a curtail's proof compares the silence after it with this). */
  rateAtDispatch: MeasuredRate | null;
  /** The last decision the firmware accepted and its proof so far (./verify.ts); null before any. */
  proof: (DecisionUnderProof & Pick<DecisionProof, 'state' | 'by' | 'at'>) | null;
  /** A curtailed rig proven still hashing (a zombie): the watts it is counted at, by its measured rate; null otherwise. */
  drawWatts: number | null;
}

/** One rig's live sessions, summed. */
export interface SessionTotals {
  sessions: number;
  ip: string | null;
  accepted: number;
  lastShareAt: number | null;
  /** Summed over the rig's sessions that have an estimate; null when none has. */
  hashrate: { hashesPerSecond: number; low: number; high: number; shares: number; windowSeconds?: number } | null;
}

function addRate(a: SessionTotals['hashrate'], b: FleetSession['hashrate']): SessionTotals['hashrate'] {
  if (b === null || b === undefined) return a;
  if (a === null) return { ...b };
  a.hashesPerSecond += b.hashesPerSecond;
  a.low += b.low;
  a.high += b.high;
  a.shares += b.shares;
  // The longest window: the conservative side for a share rate (more seconds) and for where the window starts
  // (earlier); unknown when one session does not say (verification then takes the longest possible).
  if (a.windowSeconds !== undefined && b.windowSeconds !== undefined) a.windowSeconds = Math.max(a.windowSeconds, b.windowSeconds);
  else delete a.windowSeconds;
  return a;
}

/** The fleet's live sessions, summed per rig. */
export function sessionTotals(sessions: Iterable<FleetSession>): Map<string, SessionTotals> {
  const seen = new Map<string, SessionTotals>();
  for (const s of sessions) {
    const a = seen.get(s.rigId);
    if (a === undefined)
      seen.set(s.rigId, { sessions: 1, ip: s.ip, accepted: s.accepted, lastShareAt: s.lastShareAt, hashrate: addRate(null, s.hashrate) });
    else {
      a.sessions++;
      a.accepted += s.accepted;
      a.hashrate = addRate(a.hashrate, s.hashrate);
      if (s.lastShareAt !== null && (a.lastShareAt === null || s.lastShareAt > a.lastShareAt)) a.lastShareAt = s.lastShareAt;
    }
  }
  return seen;
}

/** A rig seen for the first time: taken to be running at full power. */
export function createRigRecord(spec: RigSpec, totals: SessionTotals, now: number): RigRecord {
  return {
    spec,
    state: { kind: 'running', since: now },
    control: null,
    controlError: null,
    busy: false,
    sessions: 0,
    ip: totals.ip,
    lastSeenAt: now,
    accepted: totals.accepted,
    lastShareAt: totals.lastShareAt,
    shareStamps: [],
    alert: null,
    reason: null,
    curtailedAt: null,
    resumedAt: null,
    retryAt: 0,
    failures: 0,
    settleUntil: 0,
    measured: null,
    rateAtDispatch: null,
    proof: null,
    drawWatts: null,
  };
}

/** Folds this tick's session totals into the record: shares since the last tick (stamped for the rate), sessions, address. */
export function recordSeen(r: RigRecord, a: SessionTotals, now: number): void {
  // New shares since the last tick (a reconnect starts a new session with its own count).
  const fresh = a.accepted >= r.accepted ? a.accepted - r.accepted : a.accepted;
  for (let i = 0; i < Math.min(fresh, MAX_SHARE_STAMPS); i++) r.shareStamps.push(a.lastShareAt ?? now);
  if (r.shareStamps.length > MAX_SHARE_STAMPS) r.shareStamps.splice(0, r.shareStamps.length - MAX_SHARE_STAMPS);
  r.accepted = a.accepted;
  if (a.lastShareAt !== null && (r.lastShareAt === null || a.lastShareAt > r.lastShareAt)) r.lastShareAt = a.lastShareAt;
  r.sessions = a.sessions;
  r.measured = a.hashrate;
  r.ip = a.ip ?? r.ip;
  r.lastSeenAt = now;
}

/** A rig with no session this tick. True when it can be forgotten: running, idle, and unseen for FORGET_AFTER_MS. */
export function recordUnseen(r: RigRecord, now: number): boolean {
  r.sessions = 0;
  r.measured = null;
  r.accepted = 0;
  return r.state.kind === 'running' && !r.busy && now - r.lastSeenAt > FORGET_AFTER_MS;
}

/** Drops share stamps older than the rate window. */
export function pruneShareStamps(r: RigRecord, now: number): void {
  while (r.shareStamps.length > 0 && r.shareStamps[0]! < now - RATE_WINDOW_MS) r.shareStamps.shift();
}

/** Watts the rig is counted at: by the model in its commanded state (rated, its power target, or idle), or a zombie's measured watts. */
export function rigWatts(r: RigRecord): number {
  if (r.state.kind === 'curtailed' && r.drawWatts !== null) return Math.max(r.spec.idleWatts, r.drawWatts);
  return r.state.kind === 'running' ? r.spec.ratedWatts : r.state.kind === 'reduced' ? r.state.watts : r.spec.idleWatts;
}

/** What the rig draws by its measured hash rate: measured TH/s × its rated J/TH; null without a measurement or a rated TH/s. */
export function measuredWattsOf(r: Pick<RigRecord, 'measured' | 'spec'>): number | null {
  if (r.measured === null || !(r.spec.ratedThs > 0)) return null;
  return (r.measured.hashesPerSecond / 1e12) * (r.spec.ratedWatts / r.spec.ratedThs);
}

/** Watts freed for the GPUs: rated watts of the curtailed and reduced rigs minus what they still draw. */
export function freedWatts(rigs: Iterable<RigRecord>): number {
  let freed = 0;
  for (const r of rigs) if (r.state.kind !== 'running') freed += r.spec.ratedWatts - rigWatts(r);
  return freed;
}
