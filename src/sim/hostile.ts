/**
 * Hostile Stratum V1 input for fuzz tests (issue 9): a seeded generator of lines that are deep, wide, long or
 * odd in every field of every method, from both sides, and a man-in-the-middle pool link that relays a real
 * simulated pool (./sim-pool.ts) and slips such lines in.
 *
 * Lines are written as text, never with JSON.stringify of a deep value: stringifying a 5,000-deep array is
 * the very stack overflow this fuzz looks for (V8's JSON.parse is iterative, JSON.stringify recurses).
 * Every line stays under the line cap it is meant for (a miner's 16 KiB, a pool's 64 KiB), so it reaches the
 * JSON layer instead of being cut by the framer. Like the other simulators this file shares no code with
 * the rest of src/ (node: modules only). Loopback only; every count, size and lifetime is bounded.
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';

// ------------------------------------------------------------------ PRNG and values

/** Uniform in [0, 1). */
export type Rng = () => number;

/** mulberry32: a tiny seeded PRNG; the same seed always gives the same sequence. */
export function createRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = a;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

export const HOSTILE_KINDS = [
  'deep-array',
  'deep-object',
  'deep-mixed',
  'deep-then-wide',
  'wide-array',
  'wide-object',
  'dup-keys',
  'long-string',
  'unicode',
  'odd-number',
  'proto-keys',
  'scalar',
] as const;
export type HostileKind = (typeof HOSTILE_KINDS)[number];

export const DEEP_KINDS: readonly HostileKind[] = ['deep-array', 'deep-object', 'deep-mixed', 'deep-then-wide'];
/** The deepest per byte (2 and 3.5 bytes a level). */
const LEAD_KINDS: readonly HostileKind[] = ['deep-array', 'deep-mixed'];
/** Far deeper or wider than any honest Stratum message: a shape-bounded parser refuses the whole line. */
export const HEAVY_KINDS: ReadonlySet<HostileKind> = new Set([...DEEP_KINDS, 'wide-array', 'wide-object', 'dup-keys']);
/** Values that are arrays or objects (never a valid scalar field). */
export const CONTAINER_KINDS: ReadonlySet<HostileKind> = new Set([...HEAVY_KINDS, 'proto-keys']);
/** Heavy kinds count twice: they are what crashed the daemon (issue 9). */
const WEIGHTED_KINDS: readonly HostileKind[] = [...HOSTILE_KINDS, ...HEAVY_KINDS];

// Non-hex, with spaces: never a valid hex field or host name by accident.
const LONG_PIECES = ['zq ', 'zq ', 'zq ', '\\"', '\\\\', '\\n', '\\t', '/'];
// Raw UTF-8 (astral, RTL override, BOM, combining mark, line separators) and JSON escapes (NUL, lone surrogates).
const UNICODE_PIECES = ['😀', '\u202e', '\ufeff', 'e\u0301', '中文', '\u2028', '\u2029', '\\u0000', '\\ud800', '\\udfff', '\\uffff', 'ÿ'];
// 1e999 parses to Infinity and 1e-400 to 0: JSON.stringify could never write them.
const ODD_NUMBERS = [
  '1e308',
  '-1e308',
  '1e999',
  '-1e999',
  '-0',
  '-0.0',
  '5e-324',
  '1e-400',
  '123456789012345678901234567890',
  '9007199254740993',
  '4294967296',
  '-1',
  '2.5',
  '1E+2',
];
const PROTO_VALUES = [
  '{"__proto__":{"polluted":true}}',
  '{"constructor":{"prototype":{"polluted":true}}}',
  '{"toString":1,"valueOf":2,"hasOwnProperty":3}',
  '{"__proto__":null,"then":0,"length":1e308}',
  '[{"__proto__":[]},{"constructor":0}]',
];
const SCALARS = ['null', 'true', 'false', '""', '[]', '{}', '0', '"0"'];
// Wide members: never null or a string, so a wide params list is never a valid call by accident.
const WIDE_MEMBERS = ['0', '[]', '{}', '-1'];

/**
 * A depth that fits `maxDepth`: the deepest when `deepest`, else mostly the deepest (issue 9: the lowest
 * crashing depth was 4,120), sometimes just past a bound.
 */
function chooseDepth(rng: Rng, maxDepth: number, deepest: boolean): number {
  const d = deepest ? maxDepth : pick(rng, [maxDepth, maxDepth, maxDepth, 4200, 1000, 100, 17]);
  return Math.max(1, Math.min(d, maxDepth));
}

function repeatToBytes(rng: Rng, pieces: readonly string[], maxBytes: number): string {
  let out = '';
  let size = 0;
  for (;;) {
    const p = pick(rng, pieces);
    const n = utf8Bytes(p);
    if (size + n > maxBytes) return out;
    out += p;
    size += n;
  }
}

/** JSON text of one hostile value of `kind`, at most `maxBytes` (>= 4) UTF-8 bytes; `deepest`: no random depths. */
export function hostileValue(rng: Rng, kind: HostileKind, maxBytes: number, deepest = false): string {
  // Too big for the room left: a container kind stays a container ([[]] is no scalar and no hash list).
  const fits = (s: string) => (utf8Bytes(s) <= maxBytes ? s : CONTAINER_KINDS.has(kind) ? '[[]]' : 'null');
  switch (kind) {
    case 'deep-array': {
      const d = chooseDepth(rng, Math.floor((maxBytes - 1) / 2), deepest);
      return fits(`${'['.repeat(d)}0${']'.repeat(d)}`);
    }
    case 'deep-object': {
      const d = chooseDepth(rng, Math.floor((maxBytes - 1) / 6), deepest);
      return fits(`${'{"a":'.repeat(d)}0${'}'.repeat(d)}`);
    }
    case 'deep-mixed': {
      // [{"":[{"":…0}]}] : 7 bytes for every two levels.
      const pairs = chooseDepth(rng, Math.floor((maxBytes - 1) / 7), deepest);
      return fits(`${'[{"":'.repeat(pairs)}0${'}]'.repeat(pairs)}`);
    }
    case 'deep-then-wide': {
      const d = chooseDepth(rng, Math.floor(maxBytes / 4), deepest);
      const n = Math.max(1, Math.floor((maxBytes - 2 * d) / 2));
      return fits(`${'['.repeat(d)}${new Array<string>(n).fill('0').join(',')}${']'.repeat(d)}`);
    }
    case 'wide-array': {
      const m = pick(rng, WIDE_MEMBERS);
      const n = Math.min(20_000, Math.floor((maxBytes - 2) / (m.length + 1)));
      return n < 1 ? fits('[]') : `[${new Array<string>(n).fill(m).join(',')}]`;
    }
    case 'wide-object': {
      const parts: string[] = [];
      let size = 2;
      for (let i = 0; i < 20_000; i++) {
        const p = `"k${i}":0`;
        if (size + p.length + 1 > maxBytes) break;
        parts.push(p);
        size += p.length + 1;
      }
      return fits(`{${parts.join(',')}}`);
    }
    case 'dup-keys': {
      const n = Math.min(20_000, Math.floor((maxBytes - 2) / 6));
      return n < 1 ? fits('{}') : `{${new Array<string>(n).fill('"a":0').join(',')}}`;
    }
    case 'long-string':
      return fits(`"${repeatToBytes(rng, LONG_PIECES, Math.min(maxBytes - 2, pick(rng, [maxBytes, maxBytes, 300, 5000])))}"`);
    case 'unicode':
      return fits(`"${repeatToBytes(rng, UNICODE_PIECES, Math.min(maxBytes - 2, pick(rng, [maxBytes, 64, 2000])))}"`);
    case 'odd-number':
      return fits(pick(rng, ODD_NUMBERS));
    case 'proto-keys':
      return fits(pick(rng, PROTO_VALUES));
    case 'scalar':
      return fits(pick(rng, SCALARS));
  }
}

/** Nesting depth and a count of values of a JSON text, scanned without parsing (strings skipped). */
export function jsonShape(text: string): { depth: number; values: number } {
  let depth = 0;
  let max = 0;
  let values = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      max = Math.max(max, ++depth);
      values++;
    } else if (c === 0x5d || c === 0x7d) depth--;
    else if (c === 0x2c) values++;
  }
  return { depth: max, values };
}

// ------------------------------------------------------------------ lines

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
const list = (ps: readonly string[]) => `[${ps.join(',')}]`;
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

// ------------------------------------------------------------------ miner scripts

/** One hostile miner connection: valid handshake lines (answers awaited), then hostile lines. */
export interface MinerScript {
  readonly label: string;
  /** Valid requests sent first; `awaitIds` are the ids whose answers to wait for before the hostile lines. */
  readonly prefix: readonly string[];
  readonly awaitIds: readonly number[];
  readonly lines: readonly HostileLine[];
}

export interface MinerScriptOptions {
  /** The daemon's limits.maxLineBytes (default 16384); lines stay below it. */
  maxLineBytes?: number;
  /** Random lines after the one the script is about (default 2). */
  extraLines?: number;
}

/** Issue 9, D1, exactly as reported: before any subscribe, configure params[1] = {"x": 5,000 deep}. */
export const D1_LINE = `{"id":1,"method":"mining.configure","params":[["version-rolling"],{"x":${'['.repeat(5000)}${']'.repeat(5000)}}]}`;

function prefixFor(phase: 'before' | 'after', i: number, worker: string): string[] {
  const configure = `{"id":101,"method":"mining.configure","params":${list(MINER_PARAMS['mining.configure']!)}}`;
  if (phase === 'before') return i % 2 === 0 ? [] : [configure];
  const lines = [
    `{"id":102,"method":"mining.subscribe","params":["hostile/1.0"]}`,
    `{"id":103,"method":"mining.authorize","params":[${JSON.stringify(worker)},"x"]}`,
  ];
  if (i % 3 === 0) lines.unshift(configure);
  if (i % 3 === 1)
    lines.push(
      '{"id":104,"method":"mining.extranonce.subscribe","params":[]}',
      '{"id":105,"method":"mining.suggest_difficulty","params":[0.5]}',
    );
  return lines;
}

/**
 * Scripts covering every miner target both before a handshake and after a valid subscribe/authorize: one
 * script per target and phase leads with that target (so it counts even if the proxy then drops the
 * connection), at the deepest that fits, then `extraLines` random ones. Same seed, same scripts.
 */
export function minerScripts(seed: number, o: MinerScriptOptions = {}): MinerScript[] {
  const rng = createRng(seed);
  const max = (o.maxLineBytes ?? 16384) - 64;
  const targets = minerTargets();
  const scripts: MinerScript[] = [];
  let id = 1;
  for (const phase of ['before', 'after'] as const) {
    targets.forEach((lead, i) => {
      const worker = `hostile.w${scripts.length}`;
      const params = (t: Target) => (MINER_PARAMS[t.method] ?? []).map((p) => (p === '"hostile.w"' ? JSON.stringify(worker) : p));
      // The deepest kinds lead: in 16 KB only these two get past the ~4,100 levels that overflowed the stack.
      const leadKind = phase === 'before' || rng() < 0.75 ? LEAD_KINDS[(i + (phase === 'after' ? 1 : 0)) % 2]! : pick(rng, HOSTILE_KINDS);
      const lines = [buildLine(rng, lead, leadKind, max, String(id++), params(lead), true)];
      for (let k = 0; k < (o.extraLines ?? 2); k++) {
        const t = pick(rng, targets);
        lines.push(buildLine(rng, t, pick(rng, WEIGHTED_KINDS), max, String(id++), params(t)));
      }
      const prefix = prefixFor(phase, i, worker);
      const awaitIds = prefix.map((l) => Number(/^\{"id":(\d+)/.exec(l)![1]));
      scripts.push({ label: `${phase}: ${lines[0]!.label}`, prefix, awaitIds, lines });
    });
  }
  // Fisher–Yates with the seeded rng.
  for (let i = scripts.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [scripts[i], scripts[j]] = [scripts[j]!, scripts[i]!];
  }
  return scripts;
}

// ------------------------------------------------------------------ pool answers

/** Ways to make a pool's answer hostile; the first of each list is issue 9's D2 case. */
const ANSWER_SHAPES: Readonly<Record<string, readonly string[]>> = {
  'mining.submit': ['error[2]', 'result', 'error', 'error[1]', 'error[0]', 'error.data', 'error.message', 'reject-reason', 'extra'],
  'mining.configure': ['result.mask', 'result', 'result.version-rolling', 'result.x', 'error', 'error[2]', 'extra'],
  'mining.subscribe': ['result', 'result[0]', 'result[0][0][1]', 'result[1]', 'result[2]', 'error', 'error[2]', 'extra'],
};
const DEFAULT_SHAPES = ['result', 'error', 'error[2]', 'error.data', 'error.message', 'extra'];

function answerLine(shape: string, id: string, v: string): string {
  const r = (result: string, error = 'null', extra = '') => `{"id":${id},"result":${result},"error":${error}${extra}}`;
  switch (shape) {
    case 'result':
      return r(v);
    case 'error':
      return r('null', v);
    case 'error[0]':
      return r('null', `[${v},"Low difficulty share",null]`);
    case 'error[1]':
      return r('null', `[23,${v},null]`);
    case 'error[2]':
      return r('null', `[23,"Low difficulty share",${v}]`);
    case 'error.data':
      return r('null', `{"code":-32000,"message":"rejected","data":${v}}`);
    case 'error.message':
      return r('null', `{"code":-32000,"message":${v}}`);
    case 'reject-reason':
      return r('false', '[23,"Low difficulty share",null]', `,"reject-reason":${v}`);
    case 'extra':
      return r('true', 'null', `,"x":${v}`);
    case 'result.mask':
      return r(`{"version-rolling":true,"version-rolling.mask":${v}}`);
    case 'result.version-rolling':
      return r(`{"version-rolling":${v},"version-rolling.mask":"1fffe000"}`);
    case 'result.x':
      return r(`{"version-rolling":true,"version-rolling.mask":"1fffe000","x":${v}}`);
    case 'result[0]':
      return r(`[${v},"00000000",4]`);
    case 'result[0][0][1]':
      return r(`[[["mining.notify",${v}]],"00000000",4]`);
    case 'result[1]':
      return r(`[[["mining.notify","1"]],${v},4]`);
    default: // result[2]
      return r(`[[["mining.notify","1"]],"00000000",${v}]`);
  }
}

/**
 * A hostile answer to the proxy's request `method` with the same `id`, at most `maxBytes` bytes. `n` picks the
 * shape (n = 0 is issue 9's D2 case). `arraySafe`: where a client reads the error text (error[1],
 * error.message) no array and no own toString: a client that String()s it (sim-miner does) would overflow its
 * own stack in Array#join or throw "Cannot convert object to primitive value".
 */
export function hostileAnswer(
  rng: Rng,
  method: string,
  id: string,
  kind: HostileKind,
  n: number,
  maxBytes: number,
  arraySafe = false,
): HostileLine {
  const shapes = ANSWER_SHAPES[method] ?? DEFAULT_SHAPES;
  const shape = shapes[n % shapes.length]!;
  const room = Math.max(4, maxBytes - utf8Bytes(answerLine(shape, id, '')));
  if (n === 0) {
    // As reported: the deepest array that fits (6,000 levels in the report; over 7,900 in 16 KB).
    const d = Math.floor((room - 1) / 2);
    return {
      line: answerLine(shape, id, `${'['.repeat(d)}0${']'.repeat(d)}`),
      kind: 'deep-array',
      label: `pool answer ${method} ${shape} deep-array ${d}`,
    };
  }
  let v = hostileValue(rng, kind, room);
  const text = shape === 'error[1]' || shape === 'error.message';
  if (arraySafe && text && (v.startsWith('[') || v.includes('"toString"'))) v = hostileValue(rng, 'deep-object', room);
  return { line: answerLine(shape, id, v), kind, label: `pool answer ${method} ${shape} ${kind}` };
}

// ------------------------------------------------------------------ the man-in-the-middle pool link

export type LinkRole = 'unknown' | 'honest' | 'hostile';

export interface HostileLinkOptions {
  /** The real (simulated) pool each link relays to, on 127.0.0.1. */
  readonly pool: { readonly port: number };
  readonly seed: number;
  /** True for a request only an honest miner's session sends; a link's role is set by its first request. */
  readonly isHonest?: (method: string, params: readonly unknown[]) => boolean;
  /** Chance of one hostile line after each real line relayed to the proxy (default 0.25). */
  readonly injectChance?: number;
  /** Hostile lines sent as soon as a link opens (default 2). */
  readonly burstOnOpen?: number;
  /** Every Nth submit answer on honest links is replaced (default 8). */
  readonly replaceSubmitEvery?: number;
  /** Every Nth answer per method on hostile links is replaced, and followed by the real one (default 2). */
  readonly replaceHostileEvery?: number;
  readonly maxInjectionsPerLink?: number;
  /**
   * Heavy (deep / wide) lines per honest or unknown link, injected or replaced (default 12): under the count
   * after which a proxy may fairly take the pool as broken and fail over, so honest sessions are attacked,
   * not just failed over.
   */
  readonly maxHeavyPerLink?: number;
  readonly maxInjections?: number;
  /** Line budget on honest and unknown links (default 16000) and on hostile ones (default 60000). */
  readonly honestLineBytes?: number;
  readonly hostileLineBytes?: number;
  /** Safety net: the link server closes after this many ms (default 120000). */
  readonly lifetimeMs?: number;
}

export interface HostileLinkStats {
  links: number;
  roles: Record<LinkRole, number>;
  /** Real lines relayed each way. */
  toPool: number;
  toProxy: number;
  injected: number;
  injectedHonest: number;
  /** "method slot" → count, over all injected lines. */
  injectedByTarget: Record<string, number>;
  replaced: number;
  replacedHonestSubmits: number;
  /** Proxy request method → answers replaced. */
  replacedByMethod: Record<string, number>;
  /** "method shape" (e.g. "mining.submit error[2]") → answers replaced. */
  replacedByShape: Record<string, number>;
  /** Requests from the proxy the link did not pass to the pool (unsafe for it) and answered with an error itself. */
  heldBack: number;
  /** Responses the proxy sent to the link's own injected requests (client.get_version, mining.ping…). */
  proxyAnswers: number;
}

export interface HostileLink {
  readonly port: number;
  readonly stats: HostileLinkStats;
  readonly events: EventEmitter;
  /** Labels of the last 32 hostile lines written, oldest first (what the proxy was chewing on if it died). */
  readonly recent: readonly string[];
  /** Start (or stop) attacking; until then every link is a plain relay. */
  arm(on?: boolean): void;
  waitFor(pred: () => boolean, timeoutMs: number, label: string): Promise<void>;
  close(): Promise<void>;
}

class Emitter extends EventEmitter {
  readonly waiters = new Set<() => void>();
  override emit(name: string | symbol, ...args: unknown[]): boolean {
    const r = super.emit(name, ...args);
    for (const w of [...this.waiters]) w();
    return r;
  }
}

/** Splits a stream into lines; a line over maxBytes ends the stream (onOverflow). */
function lines(maxBytes: number, onLine: (l: string) => void, onOverflow: () => void): (chunk: Buffer) => void {
  let buf = '';
  return (chunk) => {
    buf += chunk.toString('utf8');
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (l.trim() !== '') onLine(l);
    }
    if (buf.length > maxBytes) onOverflow();
  };
}

const BAD_KEYS = new Set([
  'constructor',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
]);

/** Small, shallow, plain: what the simulated pool can read without tripping over it (it String()s params). */
function safeForPool(line: string, value: unknown): boolean {
  if (line.length > 4096 || jsonShape(line).depth > 6) return false;
  const stack: unknown[] = [value];
  let nodes = 0;
  while (stack.length > 0) {
    const v = stack.pop();
    if (++nodes > 256) return false;
    if (typeof v === 'string' && v.length > 1024) return false;
    if (typeof v === 'number' && !Number.isFinite(v)) return false;
    if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (BAD_KEYS.has(k) || !/^[a-z0-9][\w.-]{0,63}$/i.test(k)) return false;
        stack.push(x);
      }
    }
  }
  return true;
}

type Msg = { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };

interface Link {
  readonly proxy: net.Socket;
  readonly pool: net.Socket;
  role: LinkRole;
  readonly pending: Map<number | string, string>;
  lastNotify: readonly string[] | undefined;
  difficulty: string | undefined;
  injected: number;
  heavy: number;
}

/**
 * A TCP server on 127.0.0.1:0 for the proxy to use as its pool. Each connection is relayed to `pool`; once
 * armed, the link (a) sends hostile calls, requests and stray answers towards the proxy between real lines,
 * and (b) replaces some real answers with hostile ones carrying the same id, so they land in the proxy's
 * pending-request table. A link's role decides how hard: on links an honest miner uses only harmless lines and
 * every replaceSubmitEvery-th submit answer; on hostile miners' links anything, every answer kind.
 */
export async function startHostileLink(o: HostileLinkOptions): Promise<HostileLink> {
  const rng = createRng(o.seed);
  const targets = poolTargets();
  const events = new Emitter();
  const stats: HostileLinkStats = {
    links: 0,
    roles: { unknown: 0, honest: 0, hostile: 0 },
    toPool: 0,
    toProxy: 0,
    injected: 0,
    injectedHonest: 0,
    injectedByTarget: {},
    replaced: 0,
    replacedHonestSubmits: 0,
    replacedByMethod: {},
    replacedByShape: {},
    heldBack: 0,
    proxyAnswers: 0,
  };
  const recent: string[] = [];
  const links = new Set<Link>();
  const cursor: Record<LinkRole, number> = { unknown: 0, honest: 0, hostile: 0 };
  const answerCount = new Map<string, number>();
  let honestSubmits = 0;
  let injectId = 0;
  let armed = false;
  const perLink = o.maxInjectionsPerLink ?? 60;
  const maxHeavy = o.maxHeavyPerLink ?? 12;
  const lineBytes = (l: Link) => (l.role === 'hostile' ? (o.hostileLineBytes ?? 60_000) : (o.honestLineBytes ?? 16_000));

  const send = (l: Link, h: HostileLine) => {
    if (l.proxy.destroyed) return;
    l.proxy.write(`${h.line}\n`);
    if (HEAVY_KINDS.has(h.kind)) l.heavy++;
    recent.push(h.label);
    if (recent.length > 32) recent.shift();
  };

  const inject = (l: Link) => {
    if (!armed || l.injected >= perLink || stats.injected >= (o.maxInjections ?? 5000)) return;
    const careful = l.role !== 'hostile';
    for (let attempt = 0; attempt < 8; attempt++) {
      const t = targets[cursor[l.role]++ % targets.length]!;
      const kind = pick(rng, WEIGHTED_KINDS);
      const realBase = t.method === 'mining.notify' ? l.lastNotify !== undefined : l.difficulty !== undefined;
      if (careful && (!isHarmlessPoolTarget(t, kind, realBase) || (HEAVY_KINDS.has(kind) && l.heavy >= maxHeavy))) continue;
      // Injected requests get ids the proxy never uses for its own (a string), so answers are never mixed up.
      const id = t.method === 'response' ? String(1_000_000_000 + injectId++) : pick(rng, ['null', `"hx${injectId++}"`]);
      const h = buildLine(rng, t, kind, lineBytes(l), id, poolBaseParams(t.method, l.lastNotify, l.difficulty));
      send(l, h);
      l.injected++;
      stats.injected++;
      if (l.role === 'honest') stats.injectedHonest++;
      const key = `${t.method} ${t.slot}`;
      stats.injectedByTarget[key] = (stats.injectedByTarget[key] ?? 0) + 1;
      events.emit('inject', h.label);
      return;
    }
  };

  /** The pool's answer `line` to the proxy's `method` request: relayed, or replaced. */
  const answer = (l: Link, method: string, id: unknown, line: string) => {
    const idText = typeof id === 'number' ? String(id) : JSON.stringify(id);
    let replace = false;
    if (armed && l.role === 'honest' && method === 'mining.submit' && l.heavy < maxHeavy) {
      replace = ++honestSubmits % (o.replaceSubmitEvery ?? 8) === 0;
    } else if (armed && l.role === 'hostile') {
      const n = (answerCount.get(method) ?? 0) + 1;
      answerCount.set(method, n);
      replace = n % (o.replaceHostileEvery ?? 2) === 0;
    }
    if (!replace) {
      l.proxy.write(`${line}\n`);
      return;
    }
    // The first replacement of each method is issue 9's D2 case; later ones cycle through the shapes.
    const n = stats.replacedByMethod[method] ?? 0;
    const h = hostileAnswer(rng, method, idText, pick(rng, WEIGHTED_KINDS), n, lineBytes(l), l.role === 'honest');
    send(l, h);
    stats.replaced++;
    stats.replacedByMethod[method] = n + 1;
    const shape = h.label.split(' ').slice(2, 4).join(' '); // label: pool answer <method> <shape> <kind>
    stats.replacedByShape[shape] = (stats.replacedByShape[shape] ?? 0) + 1;
    if (l.role === 'honest') stats.replacedHonestSubmits++;
    // A hostile link's handshake must not stall for the proxy's request timeout: the real answer follows, and
    // a proxy that took the hostile one ignores it as an unknown id.
    if (l.role === 'hostile') l.proxy.write(`${line}\n`);
    events.emit('replace', h.label);
  };

  const fromProxy = (l: Link, line: string) => {
    let msg: Msg;
    try {
      msg = JSON.parse(line) as Msg;
    } catch {
      return;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) return;
    if (typeof msg.method !== 'string') {
      stats.proxyAnswers++; // the pool never asks anything here: it answers the link's own requests
      events.emit('proxyAnswer');
      return;
    }
    const params = Array.isArray(msg.params) ? (msg.params as unknown[]) : [];
    if (l.role === 'unknown' && msg.id !== undefined && msg.id !== null) {
      l.role = o.isHonest?.(msg.method, params) ? 'honest' : 'hostile';
      stats.roles.unknown--;
      stats.roles[l.role]++;
    }
    const idOk = typeof msg.id === 'number' || (typeof msg.id === 'string' && msg.id.length <= 64);
    if (!safeForPool(line, msg)) {
      stats.heldBack++;
      if (idOk) l.proxy.write(`${JSON.stringify({ id: msg.id, result: null, error: [20, 'not passed on by the hostile link', null] })}\n`);
      return;
    }
    if (idOk) l.pending.set(msg.id as number | string, msg.method);
    stats.toPool++;
    l.pool.write(`${line}\n`);
  };

  const fromPool = (l: Link, line: string) => {
    stats.toProxy++;
    let msg: Msg | undefined;
    try {
      msg = JSON.parse(line) as Msg;
    } catch {
      msg = undefined;
    }
    const id = msg?.id;
    if (msg && typeof msg.method !== 'string' && (typeof id === 'number' || typeof id === 'string') && l.pending.has(id)) {
      const method = l.pending.get(id)!;
      l.pending.delete(id);
      answer(l, method, id, line);
    } else {
      if (msg?.method === 'mining.notify' && Array.isArray(msg.params)) {
        l.lastNotify = msg.params.map((p, i) => (i === 8 ? 'false' : JSON.stringify(p))); // a copy is never clean
      } else if (msg?.method === 'mining.set_difficulty' && Array.isArray(msg.params) && typeof msg.params[0] === 'number') {
        l.difficulty = JSON.stringify(msg.params[0]);
      }
      l.proxy.write(`${line}\n`);
    }
    if (rng() < (o.injectChance ?? 0.25)) inject(l);
  };

  const onConnection = (proxy: net.Socket) => {
    proxy.on('error', () => {});
    const pool = net.connect({ host: '127.0.0.1', port: o.pool.port });
    pool.on('error', () => {});
    pool.setNoDelay(true);
    proxy.setNoDelay(true);
    const l: Link = {
      proxy,
      pool,
      role: 'unknown',
      pending: new Map(),
      lastNotify: undefined,
      difficulty: undefined,
      injected: 0,
      heavy: 0,
    };
    links.add(l);
    stats.links++;
    stats.roles.unknown++;
    const end = () => {
      proxy.destroy();
      pool.destroy();
      if (links.delete(l)) events.emit('linkClosed');
    };
    proxy.on('close', end);
    pool.on('close', end);
    proxy.on(
      'data',
      lines(1 << 20, (line) => fromProxy(l, line), end),
    );
    pool.on(
      'data',
      lines(1 << 20, (line) => fromPool(l, line), end),
    );
    for (let i = 0; i < (o.burstOnOpen ?? 2); i++) inject(l);
    events.emit('link');
  };

  const server = net.createServer(onConnection);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve());
  });
  server.on('error', () => {});
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      clearTimeout(lifetime);
      for (const l of links) {
        l.proxy.destroy();
        l.pool.destroy();
      }
      server.close(() => resolve());
    }));
  const lifetime = setTimeout(() => void close(), o.lifetimeMs ?? 120_000);
  lifetime.unref();
  return {
    port: (server.address() as net.AddressInfo).port,
    stats,
    events,
    recent,
    arm(on = true) {
      armed = on;
      if (on) for (const l of links) inject(l);
    },
    waitFor(pred, timeoutMs, label) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!pred()) return;
          clearTimeout(timer);
          events.waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          events.waiters.delete(check);
          reject(new Error(`hostile link: timed out after ${timeoutMs} ms: ${label}`));
        }, timeoutMs);
        events.waiters.add(check);
      });
    },
    close,
  };
}
