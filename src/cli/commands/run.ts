/**
 * `hashgate run`: the proxy daemon. Config from --config FILE, flags
 * (CONFIG_OPTIONS) and HASHGATE_* environment (docs/configuration.md).
 * SIGTERM/SIGINT: stop accepting, tell miners client.reconnect, flush the
 * journal, exit 0 within shutdown.deadlineMs. SIGHUP: reopen the journal and
 * reload the config (new pools and limits apply to new connections).
 */

import { CONFIG_OPTIONS, ConfigError, type ConfigFlags, loadConfig, redactConfig } from '../../config/index.js';
import { type AdminServer, startAdminServer } from '../../admin/server.js';
import { createMetrics } from '../../admin/metrics.js';
import { Daemon } from '../../daemon/daemon.js';
import { isHashgateError } from '../../util/errors.js';
import { createLogger } from '../../util/log.js';
import { ExitCode } from '../exit-codes.js';
import type { CommandIO } from '../io.js';

function flagsOf(args: Record<string, unknown>): ConfigFlags {
  const flags: Record<string, unknown> = {};
  for (const o of CONFIG_OPTIONS) if (args[o.flag] !== undefined) flags[o.flag] = args[o.flag];
  return flags;
}

/** `hashgate run`: main() calls this only for a valid command line, so nothing starts on bad usage. */
export async function run(args: Record<string, unknown>, io: CommandIO): Promise<number> {
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
  const metrics =
    config.admin.listen === null ? null : createMetrics({ source: daemon.adminSource(), perRigMetrics: config.admin.perRigMetrics });
  daemon.recorder = metrics;
  let admin: AdminServer | null = null;

  // Handlers go in before the listeners open, so a signal during start-up is never the default
  // action (SIGHUP would kill the process, SIGTERM would exit without flushing the journal).
  let started = false;
  let stopSignal: string | undefined;
  let reloading: Promise<void> = Promise.resolve();
  let finish: (code: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finish = resolve));

  const stop = (signal: string) => {
    if (stopSignal !== undefined) {
      log.warn({ signal, first: stopSignal }, 'already stopping; waiting for shutdown.deadlineMs');
      return;
    }
    stopSignal = signal;
    if (!started) return; // start() below stops once the listeners are up
    log.info({ signal }, 'stopping');
    // A reload in progress finishes first, so the journal is not reopened behind close().
    reloading
      .then(() => daemon.stop())
      .then(() => admin?.close())
      .then(
        () => finish(ExitCode.Ok),
        (e: unknown) => {
          log.error({ err: String(e), code: 'HG_ERR_INTERNAL' }, 'stop failed');
          finish(ExitCode.Internal);
        },
      );
  };
  const hup = () => {
    if (!started || stopSignal !== undefined) {
      log.warn({ signal: 'SIGHUP' }, started ? 'stopping; SIGHUP ignored' : 'starting; SIGHUP ignored');
      return;
    }
    log.info({ signal: 'SIGHUP' }, 'reloading');
    // One reload at a time; a failure of either step is logged, never thrown.
    reloading = reloading.then(async () => {
      let next: Awaited<ReturnType<typeof loadConfig>> | undefined;
      try {
        next = await load();
      } catch (e) {
        log.error({ err: e instanceof Error ? e.message : String(e), code: 'HG_ERR_CONFIG' }, 'reload failed; keeping the old config');
      }
      try {
        await daemon.reload(next);
      } catch (e) {
        log.error({ err: e instanceof Error ? e.message : String(e), code: 'HG_ERR_JOURNAL_OPEN' }, 'journal reopen failed');
      }
    });
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  // Last line of defence. Every connection's handling is guarded where it runs (a throw closes that
  // connection: HG_ERR_CONNECTION_FAULT); anything that still escapes is a bug that must not take the
  // whole site's mining offline, so it is logged with its stack and the daemon carries on.
  const onEscaped = (e: unknown) => {
    const err = e instanceof Error ? e : new Error(String(e));
    log.error({ code: 'HG_ERR_INTERNAL', err: err.message, stack: err.stack }, 'unhandled error; the daemon carries on');
  };
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  process.on('SIGHUP', hup);
  process.on('uncaughtException', onEscaped);
  process.on('unhandledRejection', onEscaped);
  try {
    try {
      await daemon.start();
    } catch (e) {
      // start() has already closed what it opened (other listeners, the journal): nothing is left to stop.
      if (!isHashgateError(e)) throw e;
      log.fatal({ err: e.message, code: e.code }, 'cannot start');
      log.flush();
      io.stderr.write(`hashgate: cannot start: ${e.message} [${e.code}]\n`);
      return ExitCode.Usage;
    }
    if (config.admin.listen !== null && metrics !== null) {
      try {
        admin = await startAdminServer({
          listen: config.admin.listen,
          token: config.admin.token,
          tokenFile: config.admin.tokenFile,
          source: daemon.adminSource(),
          metrics,
          log: log.child({ part: 'admin' }),
        });
      } catch (e) {
        await daemon.stop();
        if (!isHashgateError(e)) throw e;
        log.fatal({ err: e.message, code: e.code }, 'cannot start the admin endpoint');
        log.flush();
        io.stderr.write(`hashgate: cannot start the admin endpoint: ${e.message} [${e.code}]\n`);
        return ExitCode.Usage;
      }
    }
    started = true;
    if (stopSignal !== undefined) {
      const signal = stopSignal;
      stopSignal = undefined;
      stop(signal);
    }
    const code = await done;
    log.flush();
    return code;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    process.off('SIGHUP', hup);
    process.off('uncaughtException', onEscaped);
    process.off('unhandledRejection', onEscaped);
  }
}
