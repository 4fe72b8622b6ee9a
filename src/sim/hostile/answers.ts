/** Hostile answers from the pool to the proxy's own requests, with the request's id (issue 9, D2). */
import type { HostileLine } from './targets.js';
import { type HostileKind, hostileValue, type Rng, utf8Bytes } from './values.js';

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
