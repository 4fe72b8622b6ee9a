/**
 * The light half of every command: its name, one-line description and yargs
 * builder, and how to load the rest. main() builds the command line from this
 * table alone; a command's module (./commands/<name>.js, with the layers it
 * imports) is loaded only once that command was chosen and its command line
 * passed every check. So `hashgate run` never loads the demo, the simulators,
 * the audit workers or the benchmarks (DESIGN.md: "the daemon never loads
 * them"), and bad usage starts nothing (docs/cli.md).
 *
 * Builders stay light: this file imports nothing at module level but types and constants (./limits.ts).
 * What a builder needs from elsewhere (the daemon's flag table, the demo's
 * fleet limits) it imports when it runs, which is only for its own command
 * (or that command's --help).
 */

import type { Argv } from 'yargs';
import type { CommandIO } from './io.js';
import { CONFIG_ACTIONS, MAX_DURATION_S, MIN_DURATION_S, SERVICE_GROUP } from './limits.js';

/** A command's work: the parsed arguments in, the exit code out (./exit-codes.ts). */
export type CommandRun = (args: Record<string, unknown>, io: CommandIO) => Promise<number>;

export interface CommandSpec {
  /** The yargs command string: the name, then its positionals (`<file>`, `<files..>`). */
  readonly name: string;
  readonly describe: string;
  readonly builder: (y: Argv) => Argv | Promise<Argv>;
  /** Imports the command's module; main() calls it only for a valid command line. */
  readonly load: () => Promise<CommandRun>;
}

export { CONFIG_ACTIONS, MAX_DURATION_S, MIN_DURATION_S, SERVICE_GROUP } from './limits.js';

const checkShare: CommandSpec = {
  name: 'check-share',
  describe: 'Check one share (job + submit as JSON) with the local SHA-256d core and print the verdict',
  builder: (y) =>
    y
      .option('file', { alias: 'f', type: 'string', describe: 'Read the share JSON from this file ("-" or absent: stdin)' })
      .option('compact', { type: 'boolean', default: false, describe: 'Print the result on one line' })
      .example('$0 check-share --file share.json', 'Check the share in share.json')
      .example('cat share.json | $0 check-share', 'Same, from stdin')
      .epilog(
        'Input: {"extranonce1","extranonce2Size","versionMask"?,"difficulty","job":{"jobId","prevhash","coinb1","coinb2","merkleBranch","version","nbits","ntime"},"submit":{"extranonce2","ntime","nonce","versionBits"?}}, hex as on the wire.\nExit: 0 valid, 1 invalid, 2 unusable input (the message names the field).',
      ),
  load: async () => (await import('./commands/check-share.js')).run,
};

const audit: CommandSpec = {
  name: 'audit <files..>',
  describe: 'Re-validate every share recorded in journal files and report per worker',
  builder: (y) =>
    y
      .positional('files', { type: 'string', array: true, describe: 'Journal files, oldest first (rotated files carry sessions over)' })
      .option('json', { type: 'boolean', default: false, describe: 'Print one JSON object instead of the table' })
      .option('worker', {
        alias: 'w',
        type: 'string',
        array: true,
        describe: 'Report only workers matching this glob (* and ?); repeatable',
      })
      .option('since', { type: 'string', describe: 'Report only shares at or after this time (ISO 8601 or epoch ms)' })
      .option('until', { type: 'string', describe: 'Report only shares before this time (ISO 8601 or epoch ms)' })
      .option('progress', { type: 'boolean', describe: 'Progress bar on stderr (default: when stderr is a TTY)' })
      .option('threads', { type: 'number', describe: 'Worker threads; sessions are split between them (default: cores, at most 4)' })
      .option('max-sessions', { type: 'number', describe: 'Open sessions kept in memory (LRU)', default: undefined })
      .option('max-jobs', {
        type: 'number',
        describe: 'Jobs kept per segment (LRU; at least the writer dedupe window)',
        default: undefined,
      })
      .option('max-examples', { type: 'number', describe: 'Examples kept per problem kind and of mismatches', default: undefined })
      .example('$0 audit /var/log/hashgate/journal.jsonl.1 /var/log/hashgate/journal.jsonl', 'Audit a rotated journal, oldest first')
      .example("$0 audit journal.jsonl --worker 'site-a.*' --since 2024-06-01T00:00:00Z --json", 'One site, since June, as JSON')
      .epilog(
        'Exit: 0 clean, 1 a recorded verdict disagrees with the recomputed one, 2 unreadable file or bad usage, 3 damaged journal (problems, no disagreement).',
      ),
  load: async () => (await import('./commands/audit.js')).run,
};

const run: CommandSpec = {
  name: 'run',
  describe: 'Run the Stratum proxy daemon (docs/configuration.md, docs/protocol.md)',
  builder: async (y) => {
    // The daemon's flag table lives with its config loader, which `run` loads anyway.
    const { CONFIG_OPTIONS } = await import('../config/index.js');
    y.option('config', { type: 'string', describe: 'JSON config file (or HASHGATE_CONFIG)' });
    for (const o of CONFIG_OPTIONS) {
      const type =
        o.kind === 'list' ? 'array' : o.kind === 'int' || o.kind === 'number' ? 'string' : o.kind === 'boolean' ? 'boolean' : 'string';
      y.option(o.flag, { type, describe: o.describe, string: type === 'array' ? true : undefined });
    }
    return y;
  },
  load: async () => (await import('./commands/run.js')).run,
};

const config: CommandSpec = {
  name: 'config <action> <file>',
  describe: 'Check a `hashgate run` config file: "config check FILE" lists every problem with its path (docs/cli.md)',
  builder: (y) =>
    y
      .positional('action', { choices: CONFIG_ACTIONS, describe: 'check: validate the file and warn about exposed credentials' })
      .positional('file', { type: 'string', describe: 'The JSON config file, e.g. /etc/hashgate/config.json' })
      .option('service-group', {
        type: 'string',
        default: SERVICE_GROUP,
        describe: 'Group the service runs as: group read access for it is expected (root:hashgate 0640)',
      })
      .example('$0 config check /etc/hashgate/config.json', 'Validate the file before starting or reloading hashgate')
      .epilog(
        [
          'Uses the same loader as `hashgate run --config FILE`: the file, then the HASHGATE_* variables of this environment on top ' +
            '(as the daemon would see them when started from this shell; under systemd, only what the unit sets). Flags are not involved.',
          'Warns (stderr, exit still 0) when the file holds credentials (passwords, tokens, secrets, URLs with user:password@) and is ' +
            'readable by others or by a group other than --service-group, or when anyone can write it; the warning prints the chmod to fix it.',
          'Exit: 0 valid (a summary on stdout), 2 unreadable file or any problem (every problem on stderr with its path) [HG_ERR_CONFIG].',
        ].join('\n'),
      ),
  load: async () => (await import('./commands/config.js')).run,
};

const plan: CommandSpec = {
  name: 'plan',
  describe: 'Dry run of the throttle: the power budget at a queue depth and which rigs would be curtailed, and why',
  builder: (y) =>
    y
      .option('config', { alias: 'c', type: 'string', describe: 'The `hashgate run` config file (default: $HASHGATE_CONFIG)' })
      .option('depth', { type: 'string', demandOption: true, describe: 'Inference queue depth (integer ≥ 0), or "unknown" (worst case)' })
      .option('cap', { type: 'string', describe: 'Site power cap in watts, as the Redis cap key would give it' })
      .option('rigs', {
        type: 'string',
        describe: 'JSON list of connected rigs [{"worker", "ip"?}] to match against the inventory (default: one rig per "rigs" entry)',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the report as JSON' })
      .example('$0 plan --config /etc/hashgate/config.json --depth 400', 'What a queue of 400 requests would curtail')
      .example('$0 plan -c config.json --depth 0 --cap 800000 --json', 'A demand-response cap of 800 kW, as JSON')
      .epilog(
        [
          'Loads the config like `hashgate run --config FILE` (the file plus HASHGATE_* variables), computes the budget ' +
            '(site − base load − headroom − GPU need) and one plan with every rig running, and prints each decision with its reason.',
          'Exit: 0 the plan was printed (even an infeasible one), 2 bad usage, config or --rigs file.',
        ].join('\n'),
      ),
  load: async () => (await import('./commands/plan.js')).run,
};

const demo: CommandSpec = {
  name: 'demo',
  describe: 'Watch the whole loop on this machine: simulated pool, rigs and GPU queue through the real proxy and throttle',
  builder: async (y) => {
    // Two constants from a module with no imports of its own: the demo's code is loaded only to run it.
    const { MIN_RIGS, MAX_RIGS } = await import('../demo/fleet.js');
    return y
      .option('duration', {
        type: 'number',
        default: 60,
        describe: `Seconds to run (${MIN_DURATION_S}–${MAX_DURATION_S}); every phase of the script fits`,
      })
      .option('rigs', { type: 'number', default: 12, describe: `Simulated rigs (${MIN_RIGS}–${MAX_RIGS})` })
      .option('redis', {
        type: 'string',
        describe: 'Write the queue depth to this loopback Redis (key hashgate:demo:depth) and read it back through the real Redis source',
      })
      .option('json', { type: 'boolean', default: false, describe: 'Print the summary as JSON on stdout (progress goes to stderr)' })
      .example('$0 demo', 'One minute: live view on a terminal, one line per event otherwise')
      .example('$0 demo --duration 20 --json', 'A short run; the summary as JSON')
      .example('$0 demo --redis redis://127.0.0.1:6379', 'The queue depth goes through a real Redis')
      .epilog(
        'Only 127.0.0.1 traffic. The journal and the daemon log stay in a temporary directory (printed); `hashgate audit` re-checks the journal. Ctrl-C ends early with the summary. Exit: 0 done, 1 a check failed (a curtailed rig kept hashing, or the audit disagreed), 2 bad usage or Redis unreachable.',
      );
  },
  load: async () => (await import('./commands/demo.js')).run,
};

/** In the order `hashgate --help` lists them. */
export const COMMANDS: readonly CommandSpec[] = [checkShare, audit, run, config, plan, demo];
