/**
 * Where a hostile value goes: every param of every Stratum call from either side, the envelope (id, method,
 * an extra member) and bare responses; which pool targets an honest miner's session can take; one line.
 */
import { CONTAINER_KINDS, type HostileKind, hostileValue, pick, type Rng, utf8Bytes } from './values.js';

/** One hostile line (no newline) and what it is, for reports: "miner mining.configure p1.x deep-array". */
export interface HostileLine {
  readonly line: string;
  readonly label: string;
  readonly kind: HostileKind;
}

/** Where a hostile value goes: a param position (pN; the one past the last is an extra param), inside one, or the envelope. */
export interface Target {
  readonly side: 'miner' | 'pool';
  readonly method: string;
  readonly slot: string;
  /** The line with `v` in the slot; `params` are the call's valid params as JSON texts. */
  readonly build: (v: string, id: string, extraKey: string, params: readonly string[]) => string;
}

const EXTRA_KEYS = ['x', '__proto__', 'constructor', 'jsonrpc', 'reject-reason'];
const call = (id: string, method: string, params: string, extra = '') => `{"id":${id},"method":${method},"params":${params}${extra}}`;
export const list = (ps: readonly string[]) => `[${ps.join(',')}]`;
const withParam = (ps: readonly string[], i: number, v: string) => {
  const out = [...ps];
  while (out.length < i) out.push('null');
  out[i] = v;
  return out;
};

/** Targets for one call: each param position and one past the end, params itself, id, method, an extra member. */
function callTargets(side: Target['side'], method: string, arity: number): Target[] {
  const m = JSON.stringify(method);
  const ts: Target[] = [];
  for (let i = 0; i <= arity; i++)
    ts.push({ side, method, slot: `p${i}`, build: (v, id, _k, ps) => call(id, m, list(withParam(ps, i, v))) });
  ts.push({ side, method, slot: 'params', build: (v, id) => call(id, m, v) });
  ts.push({ side, method, slot: 'id', build: (v, _id, _k, ps) => call(v, m, list(ps)) });
  ts.push({ side, method, slot: 'method', build: (v, id, _k, ps) => call(id, v, list(ps)) });
  ts.push({ side, method, slot: 'extra', build: (v, id, k, ps) => call(id, m, list(ps), `,"${k}":${v}`) });
  return ts;
}

function responseTargets(side: Target['side']): Target[] {
  const method = 'response';
  return [
    { side, method, slot: 'result', build: (v, id) => `{"id":${id},"result":${v},"error":null}` },
    { side, method, slot: 'error', build: (v, id) => `{"id":${id},"result":null,"error":${v}}` },
    { side, method, slot: 'error[2]', build: (v, id) => `{"id":${id},"result":null,"error":[20,"x",${v}]}` },
    { side, method, slot: 'id', build: (v) => `{"id":${v},"result":true,"error":null}` },
  ];
}

/** What an honest miner sends (JSON texts), the base every miner target puts its hostile value into. */
export const MINER_PARAMS: Readonly<Record<string, readonly string[]>> = {
  'mining.subscribe': ['"hostile/1.0"', 'null'],
  'mining.authorize': ['"hostile.w"', '"x"'],
  'mining.configure': ['["version-rolling"]', '{"version-rolling.mask":"ffffffff","version-rolling.min-bit-count":2}'],
  'mining.submit': ['"hostile.w"', '"1"', '"00000000"', '"00000000"', '"00000000"', '"00000000"'],
  'mining.suggest_difficulty': ['1'],
  'mining.extranonce.subscribe': [],
  'mining.ping': [],
  'mining.hostile': ['0'],
};

/** Every miner → proxy target: each method × slot, inside BIP 310's configure params, and bare responses. */
export function minerTargets(): Target[] {
  const ts = Object.entries(MINER_PARAMS).flatMap(([method, ps]) => callTargets('miner', method, ps.length));
  const cfg = JSON.stringify('mining.configure');
  const opts = (mask: string, bits: string, extra = '') =>
    `{"version-rolling.mask":${mask},"version-rolling.min-bit-count":${bits}${extra}}`;
  ts.push(
    { side: 'miner', method: 'mining.configure', slot: 'p0[0]', build: (v, id) => call(id, cfg, `[[${v}],${opts('"ffffffff"', '2')}]`) },
    {
      side: 'miner',
      method: 'mining.configure',
      slot: 'p1.mask',
      build: (v, id) => call(id, cfg, `[["version-rolling"],${opts(v, '2')}]`),
    },
    {
      side: 'miner',
      method: 'mining.configure',
      slot: 'p1.min-bit-count',
      build: (v, id) => call(id, cfg, `[["version-rolling"],${opts('"ffffffff"', v)}]`),
    },
    // Issue 9, D1: {"x": <5,000 deep>} beside the extension's own parameters.
    { side: 'miner', method: 'mining.configure', slot: 'p1.x', build: (v, id) => call(id, cfg, `[["version-rolling"],{"x":${v}}]`) },
  );
  return [...ts, ...responseTargets('miner')];
}

/** Pool → proxy calls and their arity; the base params come from the link (the last real notify). */
const POOL_ARITY: Readonly<Record<string, number>> = {
  'mining.notify': 9,
  'mining.set_difficulty': 1,
  'mining.set_extranonce': 2,
  'mining.set_version_mask': 1,
  'client.reconnect': 3,
  'client.show_message': 1,
  'client.get_version': 0,
  'mining.ping': 0,
  'mining.hostile': 1,
};

export function poolTargets(): Target[] {
  return [...Object.entries(POOL_ARITY).flatMap(([method, n]) => callTargets('pool', method, n)), ...responseTargets('pool')];
}

/** A made-up but well-formed job, until the link has seen a real notify. */
export const DEFAULT_NOTIFY_PARAMS: readonly string[] = [
  '"h1"',
  `"${'00'.repeat(32)}"`,
  '"01000000"',
  '"ffffffff"',
  '[]',
  '"20000000"',
  '"1d00ffff"',
  '"66000000"',
  'false',
];

export function poolBaseParams(
  method: string,
  lastNotify: readonly string[] | undefined,
  difficulty: string | undefined,
): readonly string[] {
  switch (method) {
    case 'mining.notify':
      return lastNotify ?? DEFAULT_NOTIFY_PARAMS;
    case 'mining.set_difficulty':
      return [difficulty ?? '1'];
    case 'mining.set_extranonce':
      return ['"00000000"', '4'];
    case 'mining.set_version_mask':
      return ['"1fffe000"'];
    case 'client.show_message':
      return ['"hello"'];
    case 'mining.hostile':
      return ['0'];
    default:
      return [];
  }
}

const ALWAYS_HARMLESS = new Set(['client.show_message', 'client.get_version', 'mining.ping', 'mining.hostile']);

/**
 * Whether a pool target with this kind can only be refused or be a no-op for an honest miner's session behind a
 * correct proxy, whatever the proxy makes of it. The rest (set_difficulty 5e-324, client.reconnect with a long
 * host, a notify with a string job id…) may be VALID messages that legitimately change the miner's work, so the
 * link sends them only where no honest miner listens. `realBase`: the base params are the link's real last
 * notify / difficulty, so a still-valid line is a re-send of what the miner already has.
 */
export function isHarmlessPoolTarget(t: Target, kind: HostileKind, realBase = true): boolean {
  const container = CONTAINER_KINDS.has(kind);
  if (t.method === 'response') return t.slot !== 'id' || !['odd-number', 'scalar'].includes(kind); // unknown ids only
  // The text of a show_message reaches the miner: only text-like values (sim-miner String()s it).
  if (t.method === 'client.show_message' && t.slot === 'p0') return ['long-string', 'unicode', 'odd-number', 'scalar'].includes(kind);
  if (ALWAYS_HARMLESS.has(t.method) || t.slot === 'method') return true;
  const copy = realBase && (t.method === 'mining.notify' || t.method === 'mining.set_difficulty'); // same job / difficulty re-sent
  const extraParam = t.slot === `p${POOL_ARITY[t.method]}`;
  if (t.slot === 'extra' || extraParam) return copy;
  if (t.slot === 'id') return container || copy;
  if (container) return true; // a container where a scalar or a hash list belongs
  if (t.method === 'mining.notify') return t.slot !== 'p0' && ['odd-number', 'long-string', 'unicode'].includes(kind);
  if (t.method === 'mining.set_difficulty') return kind === 'long-string' || kind === 'unicode'; // a string is no difficulty
  return false;
}

/** One line for `target` with a `kind` value, at most `maxBytes` bytes. */
export function buildLine(
  rng: Rng,
  target: Target,
  kind: HostileKind,
  maxBytes: number,
  id: string,
  params: readonly string[],
  deepest = false,
): HostileLine {
  const key = pick(rng, EXTRA_KEYS);
  const room = maxBytes - utf8Bytes(target.build('', id, key, params));
  const line = target.build(hostileValue(rng, kind, Math.max(4, room), deepest), id, key, params);
  return { line, kind, label: `${target.side} ${target.method} ${target.slot} ${kind}` };
}
