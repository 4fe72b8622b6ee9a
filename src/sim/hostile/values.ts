/**
 * Hostile JSON values (issue 9): a seeded PRNG, the kinds of value (deep, wide, long, odd…), and a value of a
 * kind written as text within a byte budget. Never JSON.stringify of a deep value (see ../hostile.ts).
 */

import { createRng, type Rng } from '../../util/rng.js';

export { createRng, type Rng };

export const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
export const utf8Bytes = (s: string): number => Buffer.byteLength(s, 'utf8');

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
export const LEAD_KINDS: readonly HostileKind[] = ['deep-array', 'deep-mixed'];
/** Far deeper or wider than any honest Stratum message: a shape-bounded parser refuses the whole line. */
export const HEAVY_KINDS: ReadonlySet<HostileKind> = new Set([...DEEP_KINDS, 'wide-array', 'wide-object', 'dup-keys']);
/** Values that are arrays or objects (never a valid scalar field). */
export const CONTAINER_KINDS: ReadonlySet<HostileKind> = new Set([...HEAVY_KINDS, 'proto-keys']);
/** Heavy kinds count twice: they are what crashed the daemon (issue 9). */
export const WEIGHTED_KINDS: readonly HostileKind[] = [...HOSTILE_KINDS, ...HEAVY_KINDS];

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
