/**
 * The hashgate command line: one module per command under ./commands.
 * `main` returns the exit code instead of exiting, so tests can call it.
 */

import yargs from 'yargs';
import { VERSION } from '../version.js';
import { auditCommand } from './commands/audit.js';
import { checkShareCommand } from './commands/check-share.js';
import { configCommand } from './commands/config.js';
import { demoCommand } from './commands/demo.js';
import { planCommand } from './commands/plan.js';
import { runCommand } from './commands/run.js';
import { ExitCode } from './exit-codes.js';
import { type CommandIO, processIO } from './io.js';

export interface CliCommand {
  readonly name: string;
  readonly describe: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- yargs builders are typed per command
  readonly builder: (y: any) => any;
  readonly run: (args: Record<string, unknown>, io: CommandIO) => Promise<number>;
}

const COMMANDS: readonly CliCommand[] = [checkShareCommand, auditCommand, runCommand, configCommand, planCommand, demoCommand];

export async function main(argv: readonly string[], io: CommandIO = processIO): Promise<number> {
  let code: number = ExitCode.Ok;
  let usageError: string | undefined;
  const cli = yargs([...argv])
    .scriptName('hashgate')
    .version(VERSION)
    .usage('$0 <command> [options]\n\nStratum V1 mining proxy with its own SHA-256d share check.')
    .strict()
    .demandCommand(1, 'Name a command (see the list above).')
    .recommendCommands()
    .wrap(Math.min(100, io.stderr.columns ?? 100))
    .epilog(
      'Exit codes: 0 ok, 1 negative answer (invalid share, audit disagreement), 2 bad usage or input, 3 damaged journal, 70 internal error. Docs: docs/cli.md',
    )
    .fail((msg: string | null, err: Error | undefined) => {
      usageError = msg ?? err?.message ?? 'bad usage';
    })
    .exitProcess(false);
  for (const c of COMMANDS) {
    cli.command(c.name, c.describe, c.builder, async (args: Record<string, unknown>) => {
      code = await c.run(args, io);
    });
  }
  let helpText = '';
  try {
    await cli.parseAsync([...argv], {}, (_err: unknown, _argv: unknown, output: string) => {
      helpText = output;
    });
  } catch (e) {
    usageError ??= e instanceof Error ? e.message : String(e);
  }
  if (usageError !== undefined) {
    if (helpText) io.stderr.write(`${helpText}\n\n`);
    io.stderr.write(`hashgate: ${usageError} [HG_ERR_USAGE]\n`);
    return ExitCode.Usage;
  }
  if (helpText) io.stdout.write(`${helpText}\n`);
  return code;
}
