/**
 * `hashgate demo`: the whole loop on this machine, nothing to install beyond
 * `npm ci`: a simulated pool, simulated rigs that really hash, firmware API
 * simulators and a scripted inference queue, through hashgate's real daemon,
 * throttle loop and drivers (src/demo/run-demo.ts, docs/quick-start.md).
 */

import { MAX_RIGS, MIN_RIGS } from '../../demo/fleet.js';
import { runDemo } from '../../demo/run-demo.js';
import { formatSummary } from '../../demo/summary.js';
import { isHashgateError } from '../../util/errors.js';
import { MAX_DURATION_S, MIN_DURATION_S } from '../limits.js';
import { ExitCode } from '../exit-codes.js';
import type { CommandIO } from '../io.js';

export { MAX_DURATION_S, MIN_DURATION_S };

function usage(io: CommandIO, message: string): number {
  io.stderr.write(`hashgate demo: ${message} [HG_ERR_USAGE]\n`);
  return ExitCode.Usage;
}

/** `hashgate demo`: main() calls this only for a valid command line, so nothing starts on bad usage. */
export async function run(args: Record<string, unknown>, io: CommandIO): Promise<number> {
  const duration = args.duration as number;
  const rigs = args.rigs as number;
  const json = args.json === true;
  const redisUrl = typeof args.redis === 'string' ? args.redis : null;
  if (!(Number.isFinite(duration) && duration >= MIN_DURATION_S && duration <= MAX_DURATION_S))
    return usage(io, `--duration must be a number of seconds from ${MIN_DURATION_S} to ${MAX_DURATION_S}`);
  if (!(Number.isInteger(rigs) && rigs >= MIN_RIGS && rigs <= MAX_RIGS))
    return usage(io, `--rigs must be an integer from ${MIN_RIGS} to ${MAX_RIGS}`);
  if (args.redis !== undefined && (redisUrl === null || redisUrl === ''))
    return usage(io, '--redis needs a URL, e.g. redis://127.0.0.1:6379');

  // The live view / event lines go where the summary does not: stdout, or stderr with --json.
  const view = json ? io.stderr : io.stdout;
  const width = (view as { columns?: number }).columns;
  const columns = width !== undefined && width >= 40 ? width : 120;
  const abort = new AbortController();
  const stop = () => abort.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const summary = await runDemo({
      durationMs: Math.round(duration * 1000),
      rigs,
      redisUrl,
      tty: view.isTTY === true,
      columns,
      write: (s) => void view.write(s),
      signal: abort.signal,
    });
    io.stdout.write(json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
    const failed = summary.verification.stillHashing.length > 0 || summary.audit.verdict !== 'clean';
    return failed ? ExitCode.Negative : ExitCode.Ok;
  } catch (e) {
    if (isHashgateError(e)) {
      io.stderr.write(`hashgate demo: ${e.message} [${e.code}]\n`);
      return e.code === 'HG_ERR_USAGE' || e.code === 'HG_ERR_CONFIG' || e.code === 'HG_ERR_LISTEN' ? ExitCode.Usage : ExitCode.Internal;
    }
    throw e;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
