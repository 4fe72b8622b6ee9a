/**
 * Routing lines to the shards of a parallel audit (AuditShard in
 * audit-types.ts): a session record goes to the shard its sid hashes to;
 * everything else is shared. Writer-formatted lines are routed by a regular
 * expression on their first bytes, without JSON.parse; other lines are
 * parsed once, and the parsed value travels on with the line.
 */

/** Marks a line not parsed yet (`undefined` and `null` are JSON values a line can hold). */
export const UNPARSED: unique symbol = Symbol('unparsed');

const SESSION_TYPES = new Set(['sess', 'ntf', 'share', 'end', 'lsh', 'loc']);
/** Writer-formatted session records start `{"t":…,"ts":…,"sid":"…"`: routable without JSON.parse. */
const ROUTE_RE = /^\{"t":"([a-z]+)","ts":[-+.\deE]+,"sid":"([^"\\]*)"/;
const TYPE_RE = /^\{"t":"([a-z]+)"/;
const JK_RE = /"jk":(\d+)[,}]/;

/** FNV-1a of the sid, modulo the shard count. */
export function shardOf(sid: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < sid.length; i++) h = Math.imul(h ^ sid.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return UNPARSED;
  }
}

/** Whether a line is a `hdr` record (by its first bytes when writer-formatted). */
export function lineIsHeader(text: string): boolean {
  const m = TYPE_RE.exec(text);
  if (m !== null) return m[1] === 'hdr';
  try {
    return (JSON.parse(text) as { t?: unknown } | null)?.t === 'hdr';
  } catch {
    return false;
  }
}

export interface Route {
  /** The session the line belongs to; undefined for a shared line (hdr, job, anything unroutable). */
  readonly sid: string | undefined;
  /** The record type of a session line. */
  readonly type: unknown;
  /** The line parsed, when routing had to parse it; UNPARSED otherwise. */
  readonly value: unknown;
}

/** Where a line goes. `value` is the line already parsed, or UNPARSED. */
export function routeOf(text: string, value: unknown): Route {
  let sid: string | undefined;
  let type: unknown;
  if (value === UNPARSED) {
    const m = ROUTE_RE.exec(text);
    if (m !== null && SESSION_TYPES.has(m[1])) {
      sid = m[2];
      type = m[1];
    } else {
      const t = TYPE_RE.exec(text)?.[1];
      if (t !== 'hdr' && t !== 'job') value = tryParse(text);
    }
  }
  if (sid === undefined && value !== null && typeof value === 'object') {
    const o = value as { t?: unknown; sid?: unknown };
    if (typeof o.t === 'string' && SESSION_TYPES.has(o.t) && typeof o.sid === 'string') {
      sid = o.sid;
      type = o.t;
    }
  }
  return { sid, type, value };
}

/** The `jk` of an ntf line (a number when there is one). */
export function jkOf(text: string, value: unknown): unknown {
  return value === UNPARSED ? Number(JK_RE.exec(text)?.[1]) : (value as { jk?: unknown }).jk;
}
