/** A listen address that cannot be bound: start() closes what it opened and rejects with HG_ERR_LISTEN. */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import t from 'tap';
import { buildConfig, type Config } from '../../src/config/index.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { isHashgateError } from '../../src/util/errors.js';
import { createLogger } from '../../src/util/log.js';
import { spawnCli } from '../helpers/cli.js';
import { tempJournal } from './helpers.js';

function listen(port = 0): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

const close = (s: net.Server) => new Promise<void>((resolve) => s.close(() => resolve()));
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = await listen();
  const port = portOf(s);
  await close(s);
  return port;
}

t.test('second listener taken: the first is closed again, the journal closed, HG_ERR_LISTEN names the address', async (t) => {
  const blocker = await listen();
  t.teardown(() => close(blocker));
  const taken = portOf(blocker);
  const free = await freePort();
  const journal = tempJournal();
  const config = buildConfig({
    flags: { listen: [`127.0.0.1:${free}`, `127.0.0.1:${taken}`], pool: ['stratum+tcp://127.0.0.1:3333'], journal },
  }) as Config;
  const daemon = new Daemon(config, createLogger({ level: 'silent' }));

  const err = await daemon.start().then(
    () => null,
    (e: unknown) => e,
  );
  t.ok(isHashgateError(err), 'a HashgateError');
  if (!isHashgateError(err)) return;
  t.equal(err.code, 'HG_ERR_LISTEN');
  t.match(err.message, `cannot listen on 127.0.0.1:${taken}: EADDRINUSE`);
  t.same(daemon.addresses(), [], 'no listener left open');
  const again = await listen(free);
  t.equal(portOf(again), free, 'the first address is free again: it could be bound by someone else');
  await close(again);
  t.same(
    readFileSync(journal, 'utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => (JSON.parse(l) as { t: string }).t),
    ['hdr'],
    'the journal was flushed and closed (just its header)',
  );
  t.equal(daemon.journal?.stats.dropped, 0);
  await t.resolves(daemon.stop(), 'stop() after a failed start is a no-op');
});

t.test('hashgate run with a taken address exits 2 with HG_ERR_LISTEN instead of hanging', async (t) => {
  const blocker = await listen();
  t.teardown(() => close(blocker));
  const taken = portOf(blocker);
  const free = await freePort();
  const r = await spawnCli([
    'run',
    '--listen',
    `127.0.0.1:${free}`,
    '--listen',
    `127.0.0.1:${taken}`,
    '--pool',
    'stratum+tcp://127.0.0.1:3333',
  ]);
  t.equal(r.code, 2, 'exit code 2');
  t.match(r.stderr, `hashgate: cannot start: cannot listen on 127.0.0.1:${taken}: EADDRINUSE [HG_ERR_LISTEN]`);
  t.match(r.stdout, /"code":"HG_ERR_LISTEN"/, 'and the fatal log line carries the code');
});
