/**
 * Random input never makes the framer or a parser throw, and every message
 * type survives encode → parse unchanged (property round trips).
 */
import { isDeepStrictEqual } from 'node:util';
import fc from 'fast-check';
import t from 'tap';
import {
  classifyLine,
  encodeMinerMessage,
  encodePoolMessage,
  type JsonValue,
  LineFramer,
  MINER_METHODS,
  type MinerMessage,
  POOL_METHODS,
  type PoolMessage,
  parseMinerMessage,
  parsePoolMessage,
  type Subscription,
} from '../../src/protocol/index.js';
import { formatU32BE } from '../../src/util/hex.js';

const RUNS = { numRuns: 1000 };

// ------------------------------------------------------------ arbitraries

/** JSON values as they come back from JSON.parse (no -0, no undefined). */
const json: fc.Arbitrary<JsonValue> = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue);
const str = fc.string({ unit: 'binary', maxLength: 24 });
const id = fc.oneof(
  fc.constant(null),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
  str,
);
const hex = (min = 0, max = 64) => fc.uint8Array({ minLength: min, maxLength: max }).map((b) => Buffer.from(b).toString('hex'));
const hex32 = hex(32, 32);
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u32hex = u32.map(formatU32BE);
const positive = fc.double({ min: Number.MIN_VALUE, noNaN: true, noDefaultInfinity: true });
/** A pool's error member when there is one: never null or false (those mean "no error"). */
const errorValue = fc.oneof(
  fc.tuple(fc.integer({ min: 20, max: 25 }), str, fc.constant(null)).map((e) => e as JsonValue),
  str,
  fc.record({ code: fc.integer(), message: str }),
);
const errorOrNone = fc.oneof(fc.constant(null), errorValue);
const VR_KEYS = new Set(['version-rolling', 'version-rolling.mask', 'version-rolling.min-bit-count']);
/** Other extensions' results in a configure answer: short scalars (anything else is dropped, see parseConfigureResult). */
const scalarDict = fc
  .dictionary(str, fc.oneof(fc.boolean(), fc.constant(null), str, fc.integer()), { maxKeys: 4 })
  .map((d) => Object.fromEntries(Object.entries(d).filter(([k]) => !VR_KEYS.has(k))));

const minerCall = {
  subscribe: fc.record({ type: fc.constant('subscribe' as const), id, userAgent: fc.option(str), sessionId: fc.option(str) }),
  authorize: fc.record({ type: fc.constant('authorize' as const), id, user: str, password: fc.option(str) }),
  // Only what parseConfigure keeps mirrors: known extensions (each once) and their checked parameters.
  configure: fc
    .record({
      id,
      others: fc.uniqueArray(fc.constantFrom('minimum-difficulty', 'subscribe-extranonce', 'info'), { maxLength: 3 }),
      rolling: fc.option(fc.record({ mask: u32, minBitCount: fc.option(fc.integer({ min: 0, max: 32 })) })),
      minDiff: fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }),
      hwId: str,
    })
    .map(({ id, others, rolling, minDiff, hwId }) => {
      const parameters: Record<string, JsonValue> = {};
      if (others.includes('minimum-difficulty')) parameters['minimum-difficulty.value'] = minDiff;
      if (others.includes('info')) parameters['info.hw-id'] = hwId;
      return {
        type: 'configure' as const,
        id,
        extensions: rolling ? [...others, 'version-rolling'] : others,
        versionRolling: rolling,
        parameters,
      };
    }),
  submit: fc
    .record({ id, worker: str, jobId: str, extranonce2: str, ntime: str, nonce: str, versionBits: fc.option(str) })
    .map(({ id, worker, versionBits, ...s }) => ({
      type: 'submit' as const,
      id,
      worker,
      share: versionBits === null ? s : { ...s, versionBits },
    })),
  suggest: fc.record({ type: fc.constant('suggest-difficulty' as const), id, difficulty: positive }),
  extranonce: fc.record({ type: fc.constant('extranonce-subscribe' as const), id }),
  ping: fc.record({ type: fc.constant('ping' as const), id }),
};

const minerReply = {
  version: fc.record({ type: fc.constant('version-result' as const), id, version: fc.option(str), error: errorOrNone }),
  pong: fc.record({ type: fc.constant('pong' as const), id, result: json, error: errorOrNone }),
  response: fc.record({
    type: fc.constant('response' as const),
    id,
    method: fc.constantFrom(null, 'mining.notify', 'mining.set_difficulty'),
    result: json,
    error: errorOrNone,
  }),
};

const minerMessage: fc.Arbitrary<MinerMessage> = fc.oneof(...Object.values(minerCall), ...Object.values(minerReply));

const subscribeResult = fc
  .record({
    subscriptions: fc.array(fc.tuple(fc.constantFrom('mining.notify', 'mining.set_difficulty', 'x'), str), { maxLength: 3 }),
    extranonce1: hex(0, 8),
    extranonce2Size: fc.integer({ min: 1, max: 32 }),
  })
  .map(({ subscriptions, ...r }) => ({
    subscriptions: subscriptions as Subscription[],
    sessionId: subscriptions.find(([m]) => m === 'mining.notify')?.[1] ?? null,
    ...r,
  }));

const poolCall = {
  notify: fc.record({
    type: fc.constant('notify' as const),
    id,
    job: fc.record({
      jobId: str.filter((s) => s.length > 0),
      prevhash: hex32,
      coinb1: hex(),
      coinb2: hex(),
      merkleBranch: fc.array(hex32, { maxLength: 4 }),
      version: u32hex,
      nbits: u32hex,
      ntime: u32hex,
    }),
    cleanJobs: fc.boolean(),
  }),
  difficulty: fc.record({ type: fc.constant('set-difficulty' as const), id, difficulty: positive }),
  extranonce: fc.record({
    type: fc.constant('set-extranonce' as const),
    id,
    extranonce1: hex(0, 8),
    extranonce2Size: fc.integer({ min: 1, max: 32 }),
  }),
  mask: fc.record({ type: fc.constant('set-version-mask' as const), id, mask: u32 }),
  reconnect: fc.record({
    type: fc.constant('reconnect' as const),
    id,
    host: fc.option(str.filter((s) => s.length > 0)),
    port: fc.option(fc.integer({ min: 1, max: 65535 })),
    waitSeconds: fc.option(
      fc.oneof(
        fc.nat(),
        fc.double({ min: 0, noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
      ),
    ),
  }),
  message: fc.record({ type: fc.constant('show-message' as const), id, message: str }),
  version: fc.record({ type: fc.constant('get-version' as const), id }),
  ping: fc.record({ type: fc.constant('ping' as const), id }),
};

const poolReply = {
  subscribe: fc.oneof(
    fc.record({ type: fc.constant('subscribe-result' as const), id, result: subscribeResult, error: fc.constant(null) }),
    fc.record({ type: fc.constant('subscribe-result' as const), id, result: fc.constant(null), error: errorValue }),
  ),
  authorize: fc.record({ type: fc.constant('authorize-result' as const), id, authorized: fc.boolean(), error: errorOrNone }),
  submit: fc.record({
    type: fc.constant('submit-result' as const),
    id,
    accepted: fc.boolean(),
    error: errorOrNone,
    rejectReason: fc.option(str),
  }),
  configure: fc.oneof(
    fc.record({
      type: fc.constant('configure-result' as const),
      id,
      result: fc.record({
        versionRolling: fc.oneof(fc.constant(null), fc.boolean(), str),
        versionRollingMask: fc.option(u32),
        other: scalarDict,
      }),
      error: fc.constant(null),
    }),
    fc.record({ type: fc.constant('configure-result' as const), id, result: fc.constant(null), error: errorOrNone }),
  ),
  response: fc.record({
    type: fc.constant('response' as const),
    id,
    method: fc.constantFrom(null, 'mining.suggest_difficulty', 'mining.extranonce.subscribe'),
    result: json,
    error: errorOrNone,
  }),
};

const poolMessage: fc.Arbitrary<PoolMessage> = fc.oneof(...Object.values(poolCall), ...Object.values(poolReply));

/** The method of the request a response answers: what a session's pending table would say. */
const PENDING: Record<string, string> = {
  'version-result': 'client.get_version',
  pong: 'mining.ping',
  'subscribe-result': 'mining.subscribe',
  'authorize-result': 'mining.authorize',
  'submit-result': 'mining.submit',
  'configure-result': 'mining.configure',
};

/** fast-check builds records without a prototype; parsed messages are plain objects. */
function plain<T>(v: T): T {
  return structuredClone(v);
}

function resolverFor(msg: MinerMessage | PoolMessage): () => string | undefined {
  const method = msg.type === 'response' ? (msg.method ?? undefined) : PENDING[msg.type];
  return () => method;
}

// ---------------------------------------------------------------- framer

t.test('framer: random chunks never throw, lines never hold a newline, memory stays bounded', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.integer({ min: 1, max: 200 }), (chunks, max) => {
          const framer = new LineFramer({ maxLineBytes: max });
          for (const c of chunks) {
            for (const e of framer.feed(c)) {
              if (e.type === 'line' && (e.line.length === 0 || e.line.includes('\n'))) return false;
              if (e.type === 'oversized' && e.bytes <= max) return false;
            }
            if (framer.stats.buffered > max + 1) return false;
          }
          return true;
        }),
        RUNS,
      ),
    '1000 inputs',
  );
});

t.test('framer: any split of any input gives the same lines as feeding it whole', async (t) => {
  const input = fc.array(
    fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.constant(new Uint8Array([0x0d, 0x0a])), fc.constant(new Uint8Array([0x0a]))),
    {
      maxLength: 12,
    },
  );
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(input, fc.array(fc.nat(), { maxLength: 6 }), fc.integer({ min: 1, max: 64 }), (parts, cuts, max) => {
          const all = Buffer.concat(parts);
          const points = [...new Set(cuts.map((c) => c % (all.length + 1)))].sort((a, b) => a - b);
          const run = (chunks: Uint8Array[]) => {
            const f = new LineFramer({ maxLineBytes: max });
            const ev = chunks.flatMap((c) => f.feed(c)).map((e) => (e.type === 'line' ? e.line : null));
            return JSON.stringify({ ev, stats: f.stats });
          };
          const chunks: Uint8Array[] = [];
          let prev = 0;
          for (const p of [...points, all.length]) {
            chunks.push(all.subarray(prev, p));
            prev = p;
          }
          return run([all]) === run(chunks);
        }),
        RUNS,
      ),
    '1000 inputs',
  );
});

// --------------------------------------------------------------- parsers

const methods = [...Object.values(MINER_METHODS), ...Object.values(POOL_METHODS), 'client.get_version', 'mining.foo'];
const pendingMethod = fc.constantFrom(undefined, ...Object.values(PENDING), 'mining.suggest_difficulty');

function parsesQuietly(line: string, pending: string | undefined): boolean {
  classifyLine(line);
  const a = parseMinerMessage(line, () => pending);
  const b = parsePoolMessage(line, () => pending);
  // Whatever is accepted must also mirror: encode → parse gives the same value.
  if (a.ok && JSON.stringify(parseMinerMessage(encodeMinerMessage(a.msg), () => pending)) !== JSON.stringify(a)) return false;
  if (b.ok && JSON.stringify(parsePoolMessage(encodePoolMessage(b.msg), () => pending)) !== JSON.stringify(b)) return false;
  return true;
}

t.test('parsers: random strings never throw', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fc.string({ unit: 'binary', maxLength: 200 }), pendingMethod, (s, p) => parsesQuietly(s, p)),
        RUNS,
      ),
    '1000 inputs',
  );
});

t.test('parsers: random JSON values never throw', async (t) => {
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(fc.jsonValue(), pendingMethod, (v, p) => parsesQuietly(JSON.stringify(v) ?? 'null', p)),
        RUNS,
      ),
    '1000 inputs',
  );
});

t.test('parsers: random envelopes with known methods and random params never throw; what they accept mirrors', async (t) => {
  const envelope = fc.oneof(
    fc.record({ id, method: fc.oneof(fc.constantFrom(...methods), str), params: fc.array(json, { maxLength: 10 }) }),
    fc.record({ id, result: json, error: fc.oneof(json, errorValue) }),
    fc.record({ id: json, method: json, params: json, result: json }, { requiredKeys: [] }),
  );
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(envelope, pendingMethod, (env, p) => parsesQuietly(JSON.stringify(env), p)),
        RUNS,
      ),
    '1000 inputs',
  );
});

t.test('parsers: valid messages with one param replaced, dropped or added never throw; what they accept mirrors', async (t) => {
  const valid = fc.oneof(minerMessage.map(encodeMinerMessage), poolMessage.map(encodePoolMessage));
  t.doesNotThrow(
    () =>
      fc.assert(
        fc.property(valid, fc.nat(12), fc.constantFrom('replace', 'drop', 'add', 'truncate'), json, pendingMethod, (line, i, how, v, p) => {
          const obj = JSON.parse(line) as { params?: JsonValue[]; result?: JsonValue };
          const list = Array.isArray(obj.params) ? obj.params : Array.isArray(obj.result) ? obj.result : null;
          if (list) {
            const k = i % (list.length + 1);
            if (how === 'replace') list[k] = v;
            else if (how === 'drop') list.splice(k, 1);
            else if (how === 'add') list.splice(k, 0, v);
            else list.length = k;
          } else if ('result' in obj) {
            obj.result = v;
          }
          return parsesQuietly(JSON.stringify(obj), p);
        }),
        RUNS,
      ),
    '1000 inputs',
  );
});

// ------------------------------------------------------------ round trips

t.test('every miner message type: encode → parse is the identity', async (t) => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(minerMessage, (msg) => {
      seen.add(msg.type);
      const line = encodeMinerMessage(msg);
      if (line.indexOf('\n') !== line.length - 1) return false;
      const r = parseMinerMessage(line.slice(0, -1), resolverFor(msg));
      return r.ok && isDeepStrictEqual(r.msg, plain(msg));
    }),
    { numRuns: 1000 },
  );
  t.equal(seen.size, 10, 'all 10 miner message types generated');
});

t.test('every pool message type: encode → parse is the identity', async (t) => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(poolMessage, (msg) => {
      seen.add(msg.type);
      const line = encodePoolMessage(msg);
      if (line.indexOf('\n') !== line.length - 1) return false;
      const r = parsePoolMessage(line.slice(0, -1), resolverFor(msg));
      return r.ok && isDeepStrictEqual(r.msg, plain(msg));
    }),
    { numRuns: 1000 },
  );
  t.equal(seen.size, 13, 'all 13 pool message types generated');
});
