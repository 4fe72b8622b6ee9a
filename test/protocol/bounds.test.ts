/**
 * Shape bounds on peer JSON (issue 9, D1/D2): a line nested too deep or too wide is refused before
 * anything walks or re-encodes it; what is relayed between pool and miner is bounded.
 */
import fc from 'fast-check';
import t from 'tap';
import {
  classifyLine,
  encodeErrorResponse,
  JSON_LIMITS,
  type JsonValue,
  measureJson,
  readRpcError,
  RELAY_LIMITS,
  relayableError,
  relayableResult,
} from '../../src/protocol/json-rpc.js';
import { encodeProtocolError } from '../../src/protocol/messages.js';
import { parseMinerMessage } from '../../src/protocol/miner.js';
import { parseConfigureResult, parseSubscribeResult } from '../../src/protocol/pool-results.js';

/** `depth` nested arrays as text (never built as a value: JSON.stringify of one is the crash being tested). */
const nested = (depth: number, inner = '1') => `${'['.repeat(depth)}${inner}${']'.repeat(depth)}`;

/** The depth of a parsed value, without recursion. */
function depthOf(v: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (typeof x !== 'object' || x === null) continue;
    max = Math.max(max, d + 1);
    for (const c of Object.values(x)) stack.push([c, d + 1]);
  }
  return max;
}

t.test('D1: the attack line (configure with a 5,000-deep parameter) is refused with its id, not parsed', async (t) => {
  const line = `{"id":1,"method":"mining.configure","params":[["version-rolling"],{"x":${nested(5000)}}]}`;
  t.ok(line.length < 16 * 1024, 'under the default line cap, as in the attack');
  const env = classifyLine(line);
  t.match(env, { kind: 'invalid', reason: 'too-deep', id: 1 });
  const parsed = parseMinerMessage(env);
  t.equal(parsed.ok, false);
  if (parsed.ok) return;
  const reply = encodeProtocolError(parsed.error);
  t.ok(reply !== null, 'answered');
  t.match(JSON.parse(reply!), { id: 1, result: null, error: [20, /nested deeper than 16/, null] });
});

t.test('the lowest crashing depth of the attack run (4,120) and every depth past the limit are refused', async (t) => {
  for (const depth of [JSON_LIMITS.maxDepth + 1, 100, 4120]) {
    // The envelope object is depth 1; params holds the other depth - 1 levels.
    const env = classifyLine(`{"id":7,"method":"mining.suggest_difficulty","params":${nested(depth - 1)}}`);
    t.match(env, { kind: 'invalid', reason: 'too-deep', id: 7 }, `depth ${depth}`);
  }
  const atLimit = classifyLine(`{"id":7,"method":"mining.suggest_difficulty","params":${nested(JSON_LIMITS.maxDepth - 1)}}`);
  t.equal(atLimit.kind, 'request', `depth ${JSON_LIMITS.maxDepth} exactly is still read`);
});

t.test('D2: a pool answer with 6,000-deep error data is refused with the request id', async (t) => {
  const line = `{"id":42,"result":null,"error":[23,"Low difficulty",${nested(6000)}]}`;
  t.match(classifyLine(line), { kind: 'invalid', reason: 'too-deep', id: 42 });
  const obj = `{"id":43,"result":{"version-rolling":true,"x":${'{"a":'.repeat(6000)}1${'}'.repeat(6000)}},"error":null}`;
  t.match(classifyLine(obj), { kind: 'invalid', reason: 'too-deep', id: 43 }, 'deep objects too (the configure answer)');
});

t.test('too wide: more values than JSON_LIMITS.maxValues in one line', async (t) => {
  const many = Array.from({ length: JSON_LIMITS.maxValues + 1 }, () => '0').join(',');
  t.match(classifyLine(`{"id":"w","method":"mining.submit","params":[${many}]}`), { kind: 'invalid', reason: 'too-wide', id: 'w' });
  const keys = Array.from({ length: JSON_LIMITS.maxValues + 1 }, (_, i) => `"k${i}":0`).join(',');
  t.match(classifyLine(`{"id":2,"result":{${keys}},"error":null}`), { kind: 'invalid', reason: 'too-wide' });
  const fits = Array.from({ length: 500 }, () => '0').join(',');
  t.equal(classifyLine(`{"id":1,"method":"m","params":[${fits}]}`).kind, 'request', '500 values are fine');
});

t.test('brackets and commas inside strings are text, escaped quotes do not end a string', async (t) => {
  const text = `"${'[{,'.repeat(3000)}\\"${'['.repeat(100)}"`;
  const env = classifyLine(`{"id":1,"method":"client.show_message","params":[${text}]}`);
  t.equal(env.kind, 'request', 'a 9 KB string of brackets is one value at depth 2');
  t.equal(measureJson('["\\\\", [[[1]]]]', { maxDepth: 4, maxValues: 100 }), null, 'an escaped backslash ends the escape');
  t.equal(measureJson('["\\\\", [[[[1]]]]]', { maxDepth: 4, maxValues: 100 }), 'too-deep');
});

t.test('an unreadable id in an over-limit line is answered to nobody (null), never echoed long', async (t) => {
  t.match(classifyLine(`{"method":"x","params":${nested(50)},"id":{"a":1}}`), { kind: 'invalid', reason: 'too-deep', id: null });
  t.match(classifyLine(`{"id":"${'i'.repeat(65)}","method":"x","params":${nested(50)}}`), { id: null }, 'a 65-char id is not echoed');
  t.match(classifyLine(`${nested(50)}`), { kind: 'invalid', reason: 'too-deep', id: null }, 'not even an object');
  t.match(classifyLine(`{"id":3,"params":${nested(50, '')}`), { kind: 'invalid', reason: 'too-deep', id: null }, 'truncated JSON');
});

t.test('property: within the limits classification is what JSON.parse sees; past them it is refused', async (t) => {
  t.doesNotThrow(() =>
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 30 }), (v) => {
        const line = JSON.stringify({ id: 1, method: 'm', params: [v] });
        const parsed = JSON.parse(line) as unknown;
        const depth = depthOf(parsed);
        const env = classifyLine(line);
        if (depth > JSON_LIMITS.maxDepth) return env.kind === 'invalid' && env.reason === 'too-deep';
        if (env.kind === 'invalid') return env.reason === 'too-wide';
        return env.kind === 'request' && JSON.stringify(env.params) === JSON.stringify((parsed as { params: unknown }).params);
      }),
      { numRuns: 500 },
    ),
  );
});

t.test('relayableError: the shapes pools send pass unchanged; anything else is cut to a flat triple', async (t) => {
  const same: JsonValue[] = [
    [23, 'Low difficulty share', null],
    [21, 'Job not found', 'stale'],
    { code: -32601, message: 'Method not found' },
    { code: 24, message: 'Unauthorized', data: null },
    'params not an array',
    null,
  ];
  for (const e of same) t.same(relayableError(e), e, JSON.stringify(e));
  t.same(relayableError([23, 'Low difficulty', { detail: [1, 2] }]), [23, 'Low difficulty', null], 'nested data dropped');
  t.same(relayableError([20, 'x'.repeat(5000), null]), [20, 'x'.repeat(RELAY_LIMITS.maxMessageChars), null], 'long message cut');
  t.same(relayableError({ code: 21, message: 'stale', stack: 'trace' }), [21, 'stale', null], 'odd members dropped');
  t.same(relayableError(42), [20, 'unknown error', null]);
  // Built in JS (never via classifyLine): the check does not recurse, so even this is safe.
  let deep: JsonValue = 1;
  for (let i = 0; i < 10_000; i++) deep = [deep];
  t.same(relayableError([23, 'Low', deep]), [23, 'Low', null], 'a 10,000-deep value is handled without recursion');
  t.same(relayableError(deep), [20, 'unknown error', null]);
  t.ok(encodeErrorResponse(1, relayableError(deep)).length < 100, 'and encodes small');
});

t.test('relayableResult: scalars pass, structures become null', async (t) => {
  for (const v of [true, false, null, 0, 'ok']) t.equal(relayableResult(v), v);
  t.equal(relayableResult([true]), null);
  t.equal(relayableResult({ a: 1 }), null);
  t.equal(relayableResult('x'.repeat(RELAY_LIMITS.maxMessageChars + 1)), null);
});

t.test('pool results keep only bounded parts: subscriptions, configure extensions, reject reason', async (t) => {
  const subs = Array.from({ length: 50 }, (_, i) => ['mining.notify', `s${i}`]);
  const sub = parseSubscribeResult({ kind: 'response', id: 1, result: [subs, 'deadbeef', 4], error: null });
  t.ok(sub.ok && sub.msg.result !== null && sub.msg.result.subscriptions.length === 8, 'at most 8 subscriptions');
  const conf = parseConfigureResult({
    kind: 'response',
    id: 2,
    result: { 'version-rolling': true, 'version-rolling.mask': '1fffe000', 'minimum-difficulty': true, x: { y: [1] }, z: 'a'.repeat(300) },
    error: null,
  });
  t.ok(conf.ok);
  if (conf.ok) t.strictSame(conf.msg.result?.other, { 'minimum-difficulty': true }, 'structures and long strings dropped');
  const en1 = parseSubscribeResult({ kind: 'response', id: 1, result: [[], 'ab'.repeat(33), 4], error: null });
  t.equal(en1.ok, false, 'extranonce1 over 32 bytes is not a pool answer');
});

t.test('readRpcError: a code that is not a finite number is no code (1e999 parses as Infinity, which JSON writes as null)', async (t) => {
  // Found by the fuzz test: the journal got pe [null, "…"] and the audit called it damaged.
  const env = classifyLine('{"id":1,"result":false,"error":[1e999,"Low difficulty",null]}');
  t.equal(env.kind, 'response');
  if (env.kind !== 'response') return;
  t.same(readRpcError(env.error), { code: null, message: 'Low difficulty', data: null });
  t.same(readRpcError(JSON.parse('{"code":-1e999,"message":"x"}') as JsonValue), { code: null, message: 'x', data: null });
  t.same(readRpcError([23, 'Low', null]), { code: 23, message: 'Low', data: null });
});
