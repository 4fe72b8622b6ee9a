/**
 * The hashgate command line. ./command-table.ts names every command with its
 * builder; a command's module (./commands/<name>.ts) is imported and run only
 * after the whole command line was parsed and checked, so bad usage never
 * starts anything (exit 2, "hashgate: … [HG_ERR_USAGE]") and each command
 * loads only what it uses. `main` returns the exit code instead of exiting,
 * so tests can call it.
 */

import yargs, { type Argv } from 'yargs';
import { VERSION } from '../version.js';
import { COMMANDS, type CommandSpec } from './command-table.js';
import { ExitCode } from './exit-codes.js';
import { type CommandIO, processIO } from './io.js';

export type { CommandRun, CommandSpec } from './command-table.js';

/**
 * What a command's builder declared, read back from yargs once it has run. `getOptions()` is a
 * method of the yargs instance that @types/yargs leaves out; test/cli/usage.test.ts fails if a
 * yargs upgrade changes what it returns.
 */
interface Declared {
  /** Option names and aliases, positionals included. */
  readonly keys: readonly string[];
  readonly positionals: ReadonlySet<string>;
  readonly arrays: ReadonlySet<string>;
  readonly numbers: ReadonlySet<string>;
}

interface YargsOptions {
  readonly key: Record<string, unknown>;
  readonly array: readonly string[];
  readonly number: readonly string[];
  readonly string: readonly string[];
}

/** The positionals of a yargs command string: "config <action> <file>" → action, file. */
function positionalsOf(name: string): Set<string> {
  return new Set([...name.matchAll(/[<[]([^\s<>[\]]+?)(?:\.\.)?[>\]]/g)].map((m) => m[1]!));
}

/**
 * Reads back what the builder declared, and makes every option that takes one value refuse to
 * go without it: a bare `--duration` would otherwise fall back to its default, a bare `--threads`
 * to nothing. Array options are left to checkValues (nargs would stop them at one value).
 */
function declare(y: Argv, spec: CommandSpec): Declared {
  const o = (y as unknown as { getOptions(): YargsOptions }).getOptions();
  const positionals = positionalsOf(spec.name);
  const arrays = new Set(o.array);
  for (const k of new Set([...o.string, ...o.number])) if (!positionals.has(k) && !arrays.has(k)) y.requiresArg(k);
  return {
    keys: Object.keys(o.key).filter((k) => k !== 'help' && k !== 'version'),
    positionals,
    arrays,
    numbers: new Set(o.number),
  };
}

/** What yargs lets through but is still bad usage: a one-value option given twice or empty, a number that is not one. */
function checkValues(args: Record<string, unknown>, d: Declared): string | undefined {
  for (const key of d.keys) {
    const v = args[key];
    if (v === undefined) continue;
    const flag = d.positionals.has(key) ? key : `${key.length === 1 ? '-' : '--'}${key}`;
    if (Array.isArray(v)) {
      if (!d.arrays.has(key)) return `${flag} was given more than once`;
      if (v.length === 0 && !d.positionals.has(key)) return `${flag} needs a value`;
    }
    if (d.numbers.has(key) && (Array.isArray(v) ? v : [v]).some((x) => typeof x !== 'number' || Number.isNaN(x))) {
      return `${flag} must be a number`;
    }
  }
  return undefined;
}

export async function main(argv: readonly string[], io: CommandIO = processIO): Promise<number> {
  let usageError: string | undefined;
  /** The command yargs picked and its arguments; run below, never from inside yargs. */
  let chosen: { readonly spec: CommandSpec; readonly args: Record<string, unknown>; readonly declared: Declared } | undefined;
  let declared: Declared | undefined;
  /** A builder that failed for another reason than usage (its import, say): a bug, not bad usage. */
  let builderFault: { readonly error: unknown } | undefined;
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
      usageError ??= msg ?? err?.message ?? 'bad usage';
    })
    .exitProcess(false);
  for (const spec of COMMANDS) {
    const builder = async (y: Argv) => {
      try {
        const out = await spec.builder(y);
        declared = declare(out, spec);
        return out;
      } catch (error) {
        builderFault = { error };
        throw error;
      }
    };
    // yargs calls a command's handler even after .fail() reported a problem (an unknown option under
    // strict(), a missing positional, a value outside `choices`): so the handler only records the
    // choice, and the command runs after parsing, when nothing is wrong with the command line.
    cli.command(spec.name, spec.describe, builder, (args: Record<string, unknown>) => {
      if (declared !== undefined) chosen = { spec, args, declared };
    });
  }
  let helpText = '';
  try {
    await cli.parseAsync([...argv], {}, (_err: unknown, _argv: unknown, output: string) => {
      helpText = output;
    });
  } catch (e) {
    if (builderFault !== undefined) throw builderFault.error;
    usageError ??= e instanceof Error ? e.message : String(e);
  }
  if (usageError === undefined && chosen !== undefined) usageError = checkValues(chosen.args, chosen.declared);
  if (usageError !== undefined) {
    if (helpText) io.stderr.write(`${helpText}\n\n`);
    io.stderr.write(`hashgate: ${usageError} [HG_ERR_USAGE]\n`);
    return ExitCode.Usage;
  }
  if (helpText) {
    // --help or --version: printed, and no command runs.
    io.stdout.write(`${helpText}\n`);
    return ExitCode.Ok;
  }
  if (chosen === undefined) throw new Error('the command line parsed without a usage error, help or a command');
  const run = await chosen.spec.load();
  return run(chosen.args, io);
}
