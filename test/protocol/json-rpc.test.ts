/** The JSON-RPC envelope: a classification table, error normalisation, encoders. */
import t from 'tap';
import {
  classifyLine,
  classifyValue,
  encodeErrorResponse,
  encodeNotification,
  encodeRequest,
  encodeResponse,
  RPC_ERRORS,
  type RpcEnvelope,
  readRpcError,
  rpcErrorKindOf,
  rpcErrorTriple,
} from '../../src/protocol/json-rpc.js';
import { StratumErrorCode } from '../../src/protocol/stratum-errors.js';

/** [line, expected envelope (subset)] */
const TABLE: [string, string, Partial<RpcEnvelope> & Record<string, unknown>][] = [
  // requests
  [
    'request, numeric id',
    '{"id":1,"method":"mining.subscribe","params":[]}',
    { kind: 'request', id: 1, method: 'mining.subscribe', params: [] },
  ],
  ['request, string id kept as given', '{"id":"7","method":"mining.ping","params":[]}', { kind: 'request', id: '7' }],
  ['request, id 0 is an id', '{"id":0,"method":"client.reconnect","params":[]}', { kind: 'request', id: 0 }],
  ['request, fractional id kept', '{"id":1.5,"method":"x","params":[]}', { kind: 'request', id: 1.5 }],
  ['request, params absent read as []', '{"id":3,"method":"mining.extranonce.subscribe"}', { kind: 'request', params: [] }],
  ['request, extra jsonrpc member tolerated', '{"jsonrpc":"2.0","id":1,"method":"m","params":[1]}', { kind: 'request', params: [1] }],
  ['request with a null result member is still a call', '{"id":4,"method":"m","params":[],"result":null}', { kind: 'request' }],
  // notifications
  ['notification, id null', '{"id":null,"method":"mining.notify","params":[]}', { kind: 'notification', id: null }],
  ['notification, id absent', '{"method":"mining.set_difficulty","params":[2]}', { kind: 'notification', id: null }],
  ['notification with error null member', '{"id":null,"method":"m","params":[],"error":null}', { kind: 'notification' }],
  // responses
  ['response true', '{"id":2,"result":true,"error":null}', { kind: 'response', id: 2, result: true, error: null }],
  [
    'response with an error triple',
    '{"id":3,"result":null,"error":[21,"Job not found",null]}',
    { kind: 'response', error: [21, 'Job not found', null] },
  ],
  ['response, error only', '{"id":3,"error":[20,"x",null]}', { kind: 'response', result: null }],
  ['response, result only', '{"id":3,"result":"pong"}', { kind: 'response', result: 'pong', error: null }],
  [
    'response to an unreadable request: id null',
    '{"id":null,"result":null,"error":[20,"Parse error",null]}',
    { kind: 'response', id: null },
  ],
  [
    'response, reject-reason kept',
    '{"id":5,"result":false,"error":null,"reject-reason":"Stale"}',
    { kind: 'response', rejectReason: 'Stale' },
  ],
  [
    'response echoing method with params null',
    '{"error":null,"id":0,"method":"mining.subscribe","params":null,"result":[null,"00",4]}',
    { kind: 'response', id: 0 },
  ],
  ['response, method null', '{"id":1,"method":null,"result":true}', { kind: 'response' }],
  // invalid
  ['not JSON', '{"id":1,', { kind: 'invalid', reason: 'parse-error' }],
  ['empty', '', { kind: 'invalid', reason: 'parse-error' }],
  ['JSON array (batch)', '[{"id":1,"method":"m","params":[]}]', { kind: 'invalid', reason: 'not-object' }],
  ['JSON string', '"mining.subscribe"', { kind: 'invalid', reason: 'not-object' }],
  ['JSON null', 'null', { kind: 'invalid', reason: 'not-object' }],
  ['id object', '{"id":{},"method":"m","params":[]}', { kind: 'invalid', reason: 'bad-id' }],
  ['id boolean', '{"id":true,"result":true}', { kind: 'invalid', reason: 'bad-id' }],
  ['method number', '{"id":1,"method":5,"params":[]}', { kind: 'invalid', reason: 'bad-method', id: 1 }],
  ['method empty', '{"id":1,"method":"","params":[]}', { kind: 'invalid', reason: 'bad-method' }],
  ['params object', '{"id":9,"method":"mining.authorize","params":{"u":"w"}}', { kind: 'invalid', reason: 'bad-params', id: 9 }],
  [
    'params string (not tolerated)',
    '{"id":null,"method":"mining.set_version_mask","params":"1fffe000"}',
    { kind: 'invalid', reason: 'bad-params' },
  ],
  ['neither call nor response', '{"id":1}', { kind: 'invalid', reason: 'no-method-or-result', id: 1 }],
  ['response without id', '{"result":true,"error":null}', { kind: 'invalid', reason: 'no-method-or-result' }],
  ['__proto__ member is just a member', '{"__proto__":{"method":"x"},"id":1}', { kind: 'invalid', reason: 'no-method-or-result' }],
];

t.test('classification table', async (t) => {
  for (const [name, line, expected] of TABLE) t.match(classifyLine(line), expected, name);
  t.equal(TABLE.length, 32);
});

t.test('invalid envelopes carry a message and, when readable, the id', async (t) => {
  const e = classifyLine('{"id":"a","method":7}');
  t.equal(e.kind, 'invalid');
  if (e.kind === 'invalid') {
    t.equal(e.id, 'a');
    t.match(e.message, /method/);
  }
});

t.test('classifyLine never throws on odd input', async (t) => {
  for (const v of [undefined, null, 5, {}, [], '\u0000', '{"id":1e999,"method":"m"}', '['.repeat(100_000)]) {
    t.doesNotThrow(() => classifyLine(v as string));
    t.doesNotThrow(() => classifyValue(v));
  }
  t.match(
    classifyLine('{"id":1e999,"method":"m"}'),
    { kind: 'invalid', reason: 'bad-id' },
    'an id that overflows to Infinity cannot be echoed',
  );
});

t.test('readRpcError normalises the three error shapes', async (t) => {
  t.equal(readRpcError(null), null);
  t.equal(readRpcError(false), null, 'some pools send error: false on success');
  t.strictSame(readRpcError([23, 'Low difficulty share', null]), { code: 23, message: 'Low difficulty share', data: null });
  t.strictSame(readRpcError([21, 'Job not found']), { code: 21, message: 'Job not found', data: null });
  t.strictSame(readRpcError({ code: 24, message: 'Unauthorized worker' }), { code: 24, message: 'Unauthorized worker', data: null });
  t.strictSame(readRpcError('params not an array'), { code: null, message: 'params not an array', data: null });
  t.strictSame(readRpcError(['x', 5, 'd']), { code: null, message: 'unknown error', data: 'd' });
  t.strictSame(readRpcError(42), { code: null, message: 'unknown error', data: 42 });
});

t.test('encoders: one line each, key order as Stratum software writes it', async (t) => {
  t.equal(encodeRequest(1, 'mining.subscribe', ['ua']), '{"id":1,"method":"mining.subscribe","params":["ua"]}\n');
  t.equal(encodeNotification('mining.set_difficulty', [2]), '{"id":null,"method":"mining.set_difficulty","params":[2]}\n');
  t.equal(encodeResponse('a', true), '{"id":"a","result":true,"error":null}\n');
  t.equal(encodeErrorResponse(4, [23, 'Low difficulty share', null]), '{"id":4,"result":null,"error":[23,"Low difficulty share",null]}\n');
  t.equal(encodeErrorResponse(4, [22, 'Duplicate share', null], false), '{"id":4,"result":false,"error":[22,"Duplicate share",null]}\n');
  const evil = encodeNotification('client.show_message', ['line1\nline2\r\u2028']);
  t.equal(evil.indexOf('\n'), evil.length - 1, 'a newline inside a string is escaped: still one line');
  for (const line of [encodeRequest(7, 'm', [{ a: [1, 'x'] }]), encodeResponse(null, [null, '00', 4])]) {
    t.equal(classifyLine(line.slice(0, -1)).kind === 'invalid', false, 'encoded lines classify');
  }
});

t.test('standard JSON-RPC errors map to Stratum code 20 with a clear message', async (t) => {
  t.strictSame(rpcErrorTriple('unknown-method', 'mining.foo'), [20, 'Method not found (JSON-RPC -32601): mining.foo', null]);
  t.strictSame(rpcErrorTriple('parse-error'), [20, 'Parse error (JSON-RPC -32700)', null]);
  for (const kind of Object.keys(RPC_ERRORS) as (keyof typeof RPC_ERRORS)[]) {
    t.equal(rpcErrorTriple(kind)[0], StratumErrorCode.Other, kind);
  }
  t.equal(rpcErrorKindOf('parse-error'), 'parse-error');
  t.equal(rpcErrorKindOf('bad-params'), 'invalid-request');
});
