/** The hostile-input generator and pool link (src/sim/hostile.ts): sizes, shapes, determinism, same-id answers. */
import net from 'node:net';
import t from 'tap';
import { pool } from '../helpers/sim.js';
import {
  CONTAINER_KINDS,
  createRng,
  D1_LINE,
  HEAVY_KINDS,
  HOSTILE_KINDS,
  hostileAnswer,
  hostileValue,
  jsonShape,
  minerScripts,
  minerTargets,
  startHostileLink,
} from '../../src/sim/hostile.js';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

t.test('createRng: a seed gives one sequence in [0, 1); another seed another', async (t) => {
  const a = createRng(42);
  const b = createRng(42);
  const xs = Array.from({ length: 100 }, () => a());
  t.same(
    Array.from({ length: 100 }, () => b()),
    xs,
  );
  t.ok(xs.every((x) => x >= 0 && x < 1));
  t.notSame(Array.from({ length: 100 }, createRng(43)), xs);
});

t.test('hostileValue: valid JSON within its byte budget; heavy kinds past any honest shape', async (t) => {
  const rng = createRng(1);
  for (const kind of HOSTILE_KINDS) {
    for (const budget of [4, 64, 1024, 16_000, 60_000]) {
      for (let i = 0; i < 5; i++) {
        const v = hostileValue(rng, kind, budget);
        const what = `${kind} in ${budget} bytes`;
        if (bytes(v) > budget) t.fail(`${what}: ${bytes(v)} bytes`);
        let parsed: unknown;
        try {
          parsed = JSON.parse(v); // V8's JSON.parse is iterative: any depth is fine here
        } catch (e) {
          t.fail(`${what}: not JSON (${(e as Error).message})`);
        }
        if (CONTAINER_KINDS.has(kind) && (typeof parsed !== 'object' || parsed === null)) t.fail(`${what}: not a container`);
        const shape = jsonShape(v);
        if (HEAVY_KINDS.has(kind) && budget >= 8192 && shape.depth <= 16 && shape.values <= 1024) t.fail(`${what}: not heavy`);
      }
    }
  }
  t.ok(jsonShape(hostileValue(rng, 'deep-array', 16_000, true)).depth > 7900, 'deepest array in 16 KB: over 7,900 levels');
  t.ok(jsonShape(hostileValue(rng, 'deep-mixed', 16_000, true)).depth > 4500, 'deepest mixed in 16 KB: over 4,500 levels');
});

t.test('jsonShape: depth and values, strings skipped', async (t) => {
  t.same(jsonShape('{"a":[1,2,{"b":"[[[{"}]}'), { depth: 3, values: 6 });
  t.same(jsonShape('"\\"[["'), { depth: 0, values: 1 });
  t.equal(jsonShape(D1_LINE).depth, 5003, 'D1: the envelope, params, the options object and 5,000 arrays');
});

t.test('minerScripts: every target leads a script before and after the handshake; lines fit 16 KiB; seeded', async (t) => {
  const scripts = minerScripts(7);
  t.same(minerScripts(7), scripts, 'same seed, same scripts');
  t.notSame(minerScripts(8), scripts, 'another seed, other scripts');
  const leads = new Set(scripts.map((s) => s.label));
  const targets = minerTargets();
  t.equal(scripts.length, targets.length * 2);
  for (const target of targets) {
    const label = `miner ${target.method} ${target.slot}`;
    for (const phase of ['before', 'after']) {
      if (![...leads].some((l) => l.startsWith(`${phase}: ${label} `))) t.fail(`${label} never leads ${phase} the handshake`);
    }
  }
  for (const s of scripts) {
    t.equal(s.awaitIds.length, s.prefix.length, `${s.label}: every prefix request awaited`);
    for (const h of s.lines) {
      if (bytes(h.line) >= 16_384) t.fail(`${h.label}: ${bytes(h.line)} bytes`);
      const v = JSON.parse(h.line) as unknown;
      if (typeof v !== 'object' || v === null || Array.isArray(v)) t.fail(`${h.label}: not an object`);
    }
  }
  t.ok(bytes(D1_LINE) < 16_384 && bytes(D1_LINE) > 10_000, 'D1 as reported: ~10 KB, under the line cap');
});

t.test('hostileAnswer: same id, within budget; the first is the deepest; text fields stay readable for clients', async (t) => {
  const rng = createRng(3);
  for (const method of ['mining.submit', 'mining.configure', 'mining.subscribe', 'mining.authorize']) {
    for (let n = 0; n < 12; n++) {
      const kind = HOSTILE_KINDS[n % HOSTILE_KINDS.length]!;
      const h = hostileAnswer(rng, method, '17', kind, n, 16_000, true);
      const v = JSON.parse(h.line) as { id: unknown; error: unknown };
      if (v.id !== 17 || bytes(h.line) > 16_000) t.fail(`${h.label}: id ${String(v.id)}, ${bytes(h.line)} bytes`);
      // Where a client reads the message (sim-miner String()s it): no array, no own toString.
      if (!/ error(\[1\]|\.message) /.test(h.label)) continue;
      const text = Array.isArray(v.error) ? v.error[1] : (v.error as { message?: unknown } | null)?.message;
      if (Array.isArray(text) || (typeof text === 'object' && text !== null && Object.hasOwn(text, 'toString'))) {
        t.fail(`${h.label}: error text a client cannot String()`);
      }
    }
    t.ok(jsonShape(hostileAnswer(rng, method, '1', 'scalar', 0, 16_000).line).depth > 6000, `${method}: answer 0 is over 6,000 deep`);
  }
});

/** A raw client of the link: every line it receives, as text. */
function client(port: number): Promise<{ socket: net.Socket; lines: string[]; wait: (n: number) => Promise<void> }> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    const lines: string[] = [];
    const waiters = new Set<() => void>();
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => {
      buf += c;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      lines.push(...parts);
      for (const w of [...waiters]) w();
    });
    const wait = (n: number) =>
      new Promise<void>((ok, fail) => {
        const timer = setTimeout(() => fail(new Error(`${lines.length} of ${n} lines within 5000 ms`)), 5000);
        const check = () => {
          if (lines.length < n) return;
          clearTimeout(timer);
          waiters.delete(check);
          ok();
        };
        waiters.add(check);
        check();
      });
    socket.once('connect', () => resolve({ socket, lines, wait }));
  });
}

t.test('the pool link: a plain relay until armed; armed, a burst on open and same-id answers on hostile links', async (t) => {
  const p = await pool(t);
  const link = await startHostileLink({
    pool: p,
    seed: 5,
    injectChance: 0,
    burstOnOpen: 2,
    isHonest: (m, ps) => m === 'mining.subscribe' && ps[0] === 'ok',
  });
  t.teardown(() => link.close());

  const plain = await client(link.port);
  t.teardown(() => plain.socket.destroy());
  plain.socket.write('{"id":1,"method":"mining.subscribe","params":["ok"]}\n');
  await plain.wait(1);
  t.match(JSON.parse(plain.lines[0]!), { id: 1, error: null }, 'the pool answered through the link');
  t.equal(link.stats.injected, 0, 'nothing injected before arm()');
  t.equal(link.stats.roles.honest, 1, 'its first request made the link honest');

  link.arm();
  const hostile = await client(link.port);
  t.teardown(() => hostile.socket.destroy());
  await hostile.wait(2);
  t.ok(
    hostile.lines.every((l) => bytes(l) <= 16_000),
    'the burst on open: within the honest-link budget (the link is not known to be hostile yet)',
  );
  for (let id = 10; id < 14; id++) hostile.socket.write(`{"id":${id},"method":"mining.suggest_difficulty","params":[1]}\n`);
  await hostile.wait(2 + 4 + 2); // four real answers, two of them also preceded by a hostile one
  const answers = hostile.lines.slice(2).map((l) => /^\{"id":(\d+)/.exec(l)?.[1]);
  t.same(answers, ['10', '11', '11', '12', '13', '13'], 'every 2nd answer replaced, same id, then the real one');
  t.ok(jsonShape(hostile.lines[3]!).depth > 6000, 'the first replacement is issue 9 D2: deep');
  t.match(link.stats, { replaced: 2, replacedByMethod: { 'mining.suggest_difficulty': 2 }, roles: { hostile: 1 } });
});
