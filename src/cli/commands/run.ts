/**
 * `hashgate run`: the proxy daemon. Config from --config FILE, flags
 * (CONFIG_OPTIONS) and HASHGATE_* environment (docs/configuration.md).
 * SIGTERM/SIGINT: stop accepting, tell miners client.reconnect, flush the
 * journal, exit 0 within shutdown.deadlineMs. SIGHUP: reopen the journal and
 * reload the config (new pools and limits apply to new connections).
 */

import { CONFIG_OPTIONS, ConfigError, type ConfigFlags, loadConfig, redactConfig } from '../../config/index.js';
import { Daemon } from '../../daemon/daemon.js';
import { createLogger } from '../../util/log.js';
import { ExitCode } from '../exit-codes.js';
import type { CommandIO } from '../io.js';
import type { CliCommand } from '../main.js';

function flagsOf(args: Record<string, unknown>): ConfigFlags {
  const flags: Record<string, unknown> = {};
  for (const o of CONFIG_OPTIONS) if (args[o.flag] !== undefined) flags[o.flag] = args[o.flag];
  return flags;
}

async function run(args: Record<string, unknown>, io: CommandIO): Promise<number> {
  const file = typeof args.config === 'string' ? args.config : undefined;
  const load = () => loadConfig({ file, flags: flagsOf(args), env: process.env });
  let config: Awaited<ReturnType<typeof loadConfig>>;
  try {
    config = await load();
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr.write(`hashgate: ${e.message} [HG_ERR_CONFIG]\n`);
      return ExitCode.Usage;
    }
    throw e;
  }
  const log = createLogger({ level: config.log.level, pretty: config.log.pretty });
  log.info({ config: redactConfig(config) }, 'starting');
  const daemon = new Daemon(config, log);
  await daemon.start();
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping');
      process.off('SIGHUP', hup);
      daemon.stop().then(
        () => {
          log.flush();
          resolve(ExitCode.Ok);
        },
        (e: unknown) => {
          log.error({ err: String(e), code: 'HG_ERR_INTERNAL' }, 'stop failed');
          resolve(ExitCode.Internal);
        },
      );
    };
    const hup = () => {
      load()
        .then((c) => daemon.reload(c))
        .catch((e: unknown) => {
          log.error({ err: e instanceof Error ? e.message : String(e), code: 'HG_ERR_CONFIG' }, 'reload failed; keeping the old config');
          return daemon.reload();
        });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    process.on('SIGHUP', hup);
  });
}

export const runCommand: CliCommand = {
  name: 'run',
  describe: 'Run the Stratum proxy daemon (docs/configuration.md, docs/protocol.md)',
  builder: (y) => {
    y.option('config', { type: 'string', describe: 'JSON config file (or HASHGATE_CONFIG)' });
    for (const o of CONFIG_OPTIONS) {
      const type =
        o.kind === 'list' ? 'array' : o.kind === 'int' || o.kind === 'number' ? 'string' : o.kind === 'boolean' ? 'boolean' : 'string';
      y.option(o.flag, { type, describe: o.describe, string: type === 'array' ? true : undefined });
    }
    return y;
  },
  run,
};
