/** Typed messages: tolerance and refusals the fixtures do not pin, dispatch, and the error helpers. */
import t from 'tap';
import {
  assertNever,
  classifyLine,
  encodeMinerMessage,
  encodePoolMessage,
  encodeProtocolError,
  errorTripleOf,
  formatMaskHex,
  MINER_METHODS,
  type MinerMessage,
  POOL_METHODS,
  type PoolMessage,
  parseMaskHex,
  parseMinerMessage,
  parsePoolMessage,
} from '../../src/protocol/index.js';

function miner(line: string, pending?: string): MinerMessage {
  const r = parseMinerMessage(line, () => pending);
  if (!r.ok) throw new Error(r.error.message);
  return r.msg;
}

function pool(line: string, pending?: string): PoolMessage {
  const r = parsePoolMessage(line, () => pending);
  if (!r.ok) throw new Error(r.error.message);
  return r.msg;
}

function minerError(line: string) {
  const r = parseMinerMessage(line);
  if (r.ok) throw new Error(`accepted: ${line}`);
  return r.error;
}

function poolError(line: string, pending?: string) {
  const r = parsePoolMessage(line, () => pending);
  if (r.ok) throw new Error(`accepted: ${line}`);
  return r.error;
}

t.test('masks: 1–8 hex digits in, 8 out', async (t) => {
  t.equal(parseMaskHex('1fffe000'), 0x1fffe000);
  t.equal(parseMaskHex('FFFFFFFF'), 0xffffffff);
  t.equal(parseMaskHex('3000'), 0x3000);
  for (const bad of ['', '0x3000', '1fffe0000', 'g', ' 3000', 3000, null]) t.equal(parseMaskHex(bad), undefined, String(bad));
  t.equal(formatMaskHex(0x3000), '00003000');
  t.equal(formatMaskHex(0xffffffff), 'ffffffff');
});

t.test('configure: default mask, known extensions only, each parameter checked, "__proto__" never kept', async (t) => {
  const m = miner(
    '{"id":1,"method":"mining.configure","params":[["version-rolling","info","x-made-up","info"],{"info.hw-id":"S19-01","info.sw-version":{"deep":[1]},"x-made-up.p":1,"__proto__":{"x":1}}]}',
  );
  t.match(m, { type: 'configure', versionRolling: { mask: 0xffffffff, minBitCount: null } });
  if (m.type !== 'configure') throw new Error('type');
  t.same(m.extensions, ['version-rolling', 'info'], 'unknown extension dropped, duplicate once');
  t.strictSame(m.parameters, { 'info.hw-id': 'S19-01' }, 'a non-string info value, an unknown parameter and "__proto__" are dropped');
  t.equal(Object.getPrototypeOf(m.parameters), Object.prototype, 'prototype untouched');
  const again = miner(encodeMinerMessage(m).trim());
  t.strictSame(again, m, 'mirror');
  const long = miner(`{"id":9,"method":"mining.configure","params":[["info"],{"info.hw-id":"${'a'.repeat(257)}"}]}`);
  t.match(long, { parameters: {} }, 'an info string over 256 characters is dropped');

  const noParams = miner('{"id":2,"method":"mining.configure","params":[["version-rolling"]]}');
  t.match(noParams, { versionRolling: { mask: 0xffffffff }, parameters: {} }, 'extension-parameters absent');

  const notRolling = miner(
    '{"id":3,"method":"mining.configure","params":[["minimum-difficulty"],{"minimum-difficulty.value":64,"version-rolling.mask":"ff"}]}',
  );
  t.strictSame(
    (notRolling as { parameters: unknown }).parameters,
    { 'minimum-difficulty.value': 64 },
    'a mask without its extension is dropped; the minimum-difficulty value is kept',
  );
  t.match(notRolling, { versionRolling: null });

  const oddBits = miner(
    '{"id":4,"method":"mining.configure","params":[["version-rolling"],{"version-rolling.mask":"1fffe000","version-rolling.min-bit-count":"2"}]}',
  );
  t.match(oddBits, { versionRolling: { mask: 0x1fffe000, minBitCount: null } }, 'min-bit-count is diagnostic: a bad one is dropped');

  t.equal(minerError('{"id":5,"method":"mining.configure","params":["version-rolling",{}]}').kind, 'invalid-params');
  t.equal(minerError('{"id":6,"method":"mining.configure","params":[[""],{}]}').kind, 'invalid-params');
  t.equal(minerError('{"id":7,"method":"mining.configure","params":[["version-rolling"],[]]}').kind, 'invalid-params');
});

t.test('subscribe and authorize shapes', async (t) => {
  t.match(miner('{"id":1,"method":"mining.subscribe","params":[null,"abc"]}'), { userAgent: null, sessionId: 'abc' });
  t.equal(
    encodeMinerMessage(miner('{"id":1,"method":"mining.subscribe","params":[null,"abc"]}')),
    '{"id":1,"method":"mining.subscribe","params":[null,"abc"]}\n',
  );
  t.equal(encodeMinerMessage(miner('{"id":1,"method":"mining.subscribe"}')), '{"id":1,"method":"mining.subscribe","params":[]}\n');
  t.equal(minerError('{"id":1,"method":"mining.subscribe","params":[5]}').kind, 'invalid-params');
  t.equal(minerError('{"id":2,"method":"mining.authorize","params":[]}').kind, 'invalid-params');
  t.equal(minerError('{"id":2,"method":"mining.authorize","params":["w",1234]}').kind, 'invalid-params');
  t.match(miner('{"id":2,"method":"mining.authorize","params":["w",null]}'), { password: null });
});

t.test('submit: strings only here; hex is the work core verdict', async (t) => {
  const s = miner('{"id":4,"method":"mining.submit","params":["w","j","zz","nothex","1","ffffffff"]}');
  t.match(s, { type: 'submit', share: { extranonce2: 'zz', ntime: 'nothex', nonce: '1', versionBits: 'ffffffff' } });
  const nullBits = miner('{"id":4,"method":"mining.submit","params":["w","j","00","00000000","00000000",null]}');
  t.notOk(nullBits.type === 'submit' && 'versionBits' in nullBits.share, 'null version bits = absent');
  const extra = miner('{"id":4,"method":"mining.submit","params":["w","j","00","00000000","00000000","00000000","extra"]}');
  t.match(extra, { type: 'submit' }, 'extra params ignored');
  t.equal(minerError('{"id":4,"method":"mining.submit","params":["w","j","00","00000000"]}').kind, 'invalid-params');
  t.equal(minerError('{"id":4,"method":"mining.submit","params":["w",17,"00","00000000","00000000"]}').kind, 'invalid-params');
});

t.test('suggest_difficulty and set_difficulty: positive finite numbers', async (t) => {
  t.match(miner('{"id":3,"method":"mining.suggest_difficulty","params":[0.001]}'), { difficulty: 0.001 });
  t.match(miner('{"id":null,"method":"mining.suggest_difficulty","params":[512]}'), { id: null, difficulty: 512 }, 'as a notification');
  for (const d of ['0', '-1', '"512"', 'null', '[]']) {
    t.equal(minerError(`{"id":3,"method":"mining.suggest_difficulty","params":[${d}]}`).kind, 'invalid-params', d);
    t.equal(poolError(`{"id":null,"method":"mining.set_difficulty","params":[${d}]}`).kind, 'invalid-params', d);
  }
});

t.test('notify: extra params ignored, shapes checked', async (t) => {
  const params = ['j1', '00'.repeat(32), '01', '02', ['ab'.repeat(32)], '20000000', '17029a8a', '679ac169', false, 'extra'];
  t.match(pool(JSON.stringify({ id: null, method: 'mining.notify', params })), { type: 'notify', cleanJobs: false, job: { jobId: 'j1' } });
  const bad = (i: number, v: unknown) => {
    const p = params.slice();
    p[i] = v as string;
    return poolError(JSON.stringify({ id: null, method: 'mining.notify', params: p })).message;
  };
  t.match(bad(0, ''), /job_id/);
  t.match(bad(1, '00'.repeat(31)), /prevhash/);
  t.match(bad(2, '0'), /coinb1/);
  t.match(bad(3, null), /coinb2/);
  t.match(bad(4, ['ab']), /merkle_branch/);
  t.match(bad(4, 'ab'.repeat(32)), /merkle_branch/);
  t.match(bad(5, '2000000'), /version/);
  t.match(bad(6, 0x17029a8a), /nbits/);
  t.match(bad(7, '679ac16g'), /ntime/);
  t.match(bad(8, 1), /clean_jobs/);
});

t.test('reconnect: ports and hosts', async (t) => {
  t.match(
    pool('{"id":null,"method":"client.reconnect","params":["",0]}'),
    { host: null, port: null, waitSeconds: null },
    'empty host and port 0 = same',
  );
  t.match(pool('{"id":null,"method":"client.reconnect","params":[null,"4444"]}'), { host: null, port: 4444 });
  t.equal(
    encodePoolMessage(pool('{"id":null,"method":"client.reconnect","params":[null,4444,null]}')),
    '{"id":null,"method":"client.reconnect","params":[null,4444]}\n',
  );
  for (const p of ['65536', '-1', '"44a"', '3333.5', 'true']) {
    t.equal(poolError(`{"id":null,"method":"client.reconnect","params":["h",${p}]}`).kind, 'invalid-params', p);
  }
  t.equal(poolError('{"id":null,"method":"client.reconnect","params":["h",3333,-5]}').kind, 'invalid-params');
  t.equal(poolError('{"id":null,"method":"client.reconnect","params":[7]}').kind, 'invalid-params');
});

t.test('set_extranonce, set_version_mask, show_message refusals', async (t) => {
  t.equal(poolError('{"id":null,"method":"mining.set_extranonce","params":["abc",4]}').kind, 'invalid-params');
  t.equal(poolError('{"id":null,"method":"mining.set_extranonce","params":["ab",33]}').kind, 'invalid-params');
  t.equal(poolError('{"id":null,"method":"mining.set_extranonce","params":["ab"]}').kind, 'invalid-params');
  t.equal(poolError('{"id":null,"method":"mining.set_version_mask","params":[]}').kind, 'invalid-params');
  t.equal(poolError('{"id":null,"method":"client.show_message","params":[["x"]]}').kind, 'invalid-params');
});

t.test('responses: named by the resolver, or passed up as is', async (t) => {
  t.match(pool('{"id":1,"result":true,"error":null}'), { type: 'response', method: null }, 'no resolver');
  t.match(miner('{"id":1,"result":"cgminer/4.12.1","error":null}', 'client.get_version'), {
    type: 'version-result',
    version: 'cgminer/4.12.1',
  });
  t.match(miner('{"id":1,"result":5,"error":null}', 'client.get_version'), { type: 'version-result', version: null });
  t.match(miner('{"id":1,"result":true,"error":null}', 'mining.notify'), { type: 'response', method: 'mining.notify' });
  t.match(pool('{"id":1,"result":null,"error":null}', 'mining.configure'), { type: 'configure-result', result: null });
  t.equal(poolError('{"id":1,"result":[1,2],"error":null}', 'mining.configure').kind, 'invalid-result');
  t.equal(poolError('{"id":1,"result":{"version-rolling":1},"error":null}', 'mining.configure').kind, 'invalid-result');
  t.equal(poolError('{"id":1,"result":{"version-rolling.mask":"xyz"},"error":null}', 'mining.configure').kind, 'invalid-result');
  t.equal(poolError('{"id":1,"result":{"a":1},"error":null}', 'mining.subscribe').kind, 'invalid-result');
  t.equal(poolError('{"id":1,"result":[null,"abc",4],"error":null}', 'mining.subscribe').kind, 'invalid-result');
  t.match(
    pool('{"id":1,"result":[[["mining.notify"],[1,2],"x"],"ab",4],"error":null}', 'mining.subscribe'),
    {
      result: { subscriptions: [], sessionId: null },
    },
    'malformed subscription pairs are skipped',
  );
  const rejected = pool('{"id":9,"result":null,"error":[21,"Job not found",null]}', 'mining.submit');
  t.equal(encodePoolMessage(rejected), '{"id":9,"result":false,"error":[21,"Job not found",null]}\n', 'relayed: the error unchanged');
});

t.test('protocol errors: who gets an answer', async (t) => {
  const unknown = minerError('{"id":12,"method":"mining.get_transactions","params":[]}');
  t.match(unknown, { kind: 'unknown-method', id: 12, method: 'mining.get_transactions', code: 20 });
  t.strictSame(errorTripleOf(unknown), [20, 'Method not found (JSON-RPC -32601): mining.get_transactions', null]);
  t.equal(
    encodeProtocolError(unknown),
    '{"id":12,"result":null,"error":[20,"Method not found (JSON-RPC -32601): mining.get_transactions",null]}\n',
  );
  t.equal(encodeProtocolError(minerError('{"id":null,"method":"mining.foo","params":[]}')), null, 'notification: no answer');
  t.equal(encodeProtocolError(minerError('not json')), null, 'unreadable: no id to answer');
  t.match(
    encodeProtocolError(minerError('{"id":"q","method":"mining.authorize","params":{}}')),
    /^\{"id":"q",/,
    'invalid request with an id',
  );
  t.equal(encodeProtocolError(poolError('{"id":3,"result":{},"error":null}', 'mining.subscribe')), null, 'a response is never answered');
});

t.test('dispatch covers every method table entry', async (t) => {
  for (const method of Object.values(MINER_METHODS)) {
    const r = parseMinerMessage(JSON.stringify({ id: 1, method, params: [] }));
    t.not(!r.ok && r.error.kind, 'unknown-method', method);
  }
  for (const method of Object.values(POOL_METHODS)) {
    const r = parsePoolMessage(JSON.stringify({ id: 1, method, params: [] }));
    t.not(!r.ok && r.error.kind, 'unknown-method', method);
  }
  t.equal(
    minerError('{"id":1,"method":"mining.notify","params":[]}').kind,
    'unknown-method',
    'direction lives in the type: notify is not a miner method',
  );
  t.equal(poolError('{"id":1,"method":"mining.submit","params":[]}').kind, 'unknown-method', 'nor submit a pool method');
  t.equal(minerError('{"id":1,"method":"constructor","params":[]}').kind, 'unknown-method', 'no prototype lookups');
  t.equal(minerError('{"id":1,"method":"MINING.SUBSCRIBE","params":[]}').kind, 'unknown-method', 'method names are exact');
});

t.test('parsers take a classified envelope too', async (t) => {
  t.match(parseMinerMessage(classifyLine('{"id":1,"method":"mining.ping"}')), { ok: true, msg: { type: 'ping' } });
  t.match(parsePoolMessage(classifyLine('{"id":1')), { ok: false, error: { kind: 'parse-error' } });
});

t.test('assertNever throws on what the types rule out', async (t) => {
  t.throws(() => assertNever('x' as never, 'message'), /unexpected message: "x"/);
  t.throws(() => encodeMinerMessage({ type: 'bogus' } as unknown as MinerMessage));
  t.throws(() => encodePoolMessage({ type: 'bogus' } as unknown as PoolMessage));
});
