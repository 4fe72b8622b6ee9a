/** Test helpers: a daemon on 127.0.0.1 port 0 in front of simulated pools. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig, type Config } from '../../src/config/index.js';
import { Daemon, type DaemonExtras } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/util/log.js';

export interface Tap {
  teardown(fn: () => unknown): void;
}

export function tempJournal(): string {
  return join(mkdtempSync(join(tmpdir(), 'hashgate-daemon-')), 'journal.jsonl');
}

export async function startDaemon(
  t: Tap,
  poolPorts: number[],
  flags: Record<string, unknown> = {},
  extras: DaemonExtras = {},
): Promise<{ daemon: Daemon; port: number; config: Config; journal: string | null }> {
  const journal = flags.journal === null ? null : tempJournal();
  const base = buildConfig({
    flags: {
      listen: ['127.0.0.1:1'],
      pool: poolPorts.map((p) => `stratum+tcp://127.0.0.1:${p}`),
      'backoff-base-ms': 10,
      'backoff-max-ms': 100,
      ...flags,
      ...(journal === null ? {} : { journal }),
    },
  });
  const config = { ...base, listen: [{ host: '127.0.0.1', port: 0 }] } as Config;
  const daemon = new Daemon(config, createLogger({ level: 'silent' }), extras);
  await daemon.start();
  t.teardown(() => daemon.stop());
  return { daemon, port: daemon.addresses()[0]!.port, config, journal };
}
