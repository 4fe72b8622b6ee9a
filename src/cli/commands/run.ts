/**
 * `hashgate run`: the proxy daemon. Config from --config FILE, flags
 * (CONFIG_OPTIONS) and HASHGATE_* environment (docs/configuration.md).
 * SIGTERM/SIGINT: stop accepting, tell miners client.reconnect, flush the
 * journal, exit 0 within shutdown.deadlineMs. SIGHUP: reopen the journal and
 * reload the config (new pools and limits apply to new connections).
 */

import { CONFIG_OPTIONS, type Config, ConfigError, type ConfigFlags, loadConfig, redactConfig } from '../../config/index.js';
import { type AdminServer, startAdminServer } from '../../admin/server.js';
import { createMetrics } from '../../admin/metrics.js';
import { Daemon } from '../../daemon/daemon.js';
import { isHashgateError } from '../../util/errors.js';
import { createLogger, type Logger } from '../../util/log.js';
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
  let config: Config;
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
  const signals = trapSignals(log, daemon, load, () => admin?.close());
  try {
    try {
      await daemon.start();
    } catch (e) {
      // start() has already closed what it opened (other listeners, the journal): nothing is left to stop.
      return cannotStart(e, 'cannot start', log, io);
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
        return cannotStart(e, 'cannot start the admin endpoint', log, io);
      }
    }
    signals.started();
    const code = await signals.done;
    log.flush();
    return code;
  } finally {
    signals.detach();
  }
}

/** A start-up failure: logged and told on stderr with its code, exit "usage"; anything but a HashgateError is a bug and thrown. */
function cannotStart(e: unknown, what: string, log: Logger, io: CommandIO): number {
  if (!isHashgateError(e)) throw e;
  log.fatal({ err: e.message, code: e.code }, what);
  log.flush();
  io.stderr.write(`hashgate: ${what}: ${e.message} [${e.code}]\n`);
  return ExitCode.Usage;
}

interface Signals {
  /** The exit code, once a stop signal has stopped the daemon and the admin endpoint. */
  readonly done: Promise<number>;
  /** The listeners are up: a stop signal that came during start-up is acted on now. */
  started(): void;
  /** Removes the handlers. */
  detach(): void;
}

/**
 * The process's handlers while the daemon runs: SIGTERM and SIGINT stop it (once), SIGHUP reloads
 * the config and reopens the journal (one reload at a time), and an error that escaped every guard
 * is logged instead of taking the process down.
 */
function trapSignals(log: Logger, daemon: Daemon, load: () => Promise<Config>, closeAdmin: () => Promise<void> | undefined): Signals {
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
    if (!started) return; // started() stops once the listeners are up
    log.info({ signal }, 'stopping');
    // A reload in progress finishes first, so the journal is not reopened behind close().
    reloading
      .then(() => daemon.stop())
      .then(() => closeAdmin())
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
    reloading = reloading.then(() => reload(log, daemon, load));
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
  const handlers = [
    ['SIGTERM', onTerm],
    ['SIGINT', onInt],
    ['SIGHUP', hup],
    ['uncaughtException', onEscaped],
    ['unhandledRejection', onEscaped],
  ] as const;
  for (const [event, handler] of handlers) process.on(event, handler);
  return {
    done,
    started() {
      started = true;
      if (stopSignal === undefined) return;
      const signal = stopSignal;
      stopSignal = undefined;
      stop(signal);
    },
    detach() {
      for (const [event, handler] of handlers) process.off(event, handler);
    },
  };
}

/** One SIGHUP: the config read again, then the daemon reloaded with it; a failure of either step is logged, never thrown. */
async function reload(log: Logger, daemon: Daemon, load: () => Promise<Config>): Promise<void> {
  let next: Config | undefined;
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
}
