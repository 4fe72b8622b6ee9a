/**
 * Bad usage never starts a command (issue 10): whatever yargs or main() finds wrong with the command
 * line, the exit is 2 with one "hashgate: … [HG_ERR_USAGE]" line, and the command's own code never
 * runs. yargs calls a command's handler even after its .fail() callback reported a problem, so each
 * case here is built to leave a trace if the command ran: its own message or output (a config problem,
 * a report on stdout), or stdin read. Most run in-process with fake streams; `run` and `demo` are also
 * spawned from the BUILT binary (`npm test` builds first) with a command line that would start them,
 * and must exit 2 before writing anything to stdout. Loopback only; every wait is bounded.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import t from 'tap';
import { main } from '../../src/cli/main.js';
import { BIN } from '../helpers/cli.js';

const WAIT_MS = 15_000;

interface Result {
  code: number;
  stdout: string;
  stderr: string;
  stdinRead: boolean;
}

/** main() with captured streams and a stdin that records whether anything read it. */
async function cli(argv: string[], stdin = '{}'): Promise<Result> {
  let stdinRead = false;
  let sent = false;
  const input = new Readable({
    read() {
      stdinRead = true;
      if (!sent) this.push(stdin);
      sent = true;
      this.push(null);
    },
  });
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  out.on('data', (c: Buffer) => (stdout += c.toString()));
  err.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await main(argv, { stdin: input, stdout: out, stderr: err });
  return { code, stdout, stderr, stdinRead };
}

const dir = t.testdir({
  'config.json': JSON.stringify({ pools: ['stratum+tcp://127.0.0.1:3333'] }),
  'empty.jsonl': '',
});
const config = join(dir, 'config.json');
const journal = join(dir, 'empty.jsonl');

/**
 * Each case: a command line with a usage problem, what main() must say about it, and (in the comment)
 * what the command did with it before the fix, which is the trace the assertions look for.
 */
const CASES: readonly { readonly argv: string[]; readonly says: RegExp }[] = [
  // run: its config loader ran and reported `--listen nowhere` (HG_ERR_CONFIG); with a valid config it started the daemon.
  { argv: ['run', '--bogus', '--listen', 'nowhere'], says: /Unknown argument: bogus/ },
  { argv: ['run', 'extra', '--listen', 'nowhere'], says: /Unknown argument: extra/ },
  // run: the second --config made an array, which run() took for "no config file" and carried on.
  { argv: ['run', '--config', config, '--config', config, '--listen', 'nowhere'], says: /--config was given more than once/ },
  { argv: ['run', '--listen', 'nowhere', '--journal'], says: /Not enough arguments following: journal/ },
  // demo: its own range check answered (`--duration 1`, `--rigs 0`): the handler ran; with sane values the demo started.
  { argv: ['demo', '--bogus', '--duration', '1'], says: /Unknown argument: bogus/ },
  { argv: ['demo', '--duration', '--rigs', '0'], says: /Not enough arguments following: duration/ },
  { argv: ['demo', '--duration', 'soon', '--rigs', '0'], says: /--duration must be a number/ },
  // audit: the report was printed on stdout (and exit 0 for a bare --threads, which fell back to the default).
  { argv: ['audit', journal, '--bogus'], says: /Unknown argument: bogus/ },
  { argv: ['audit', journal, '--threads'], says: /Not enough arguments following: threads/ },
  { argv: ['audit', journal, '--worker'], says: /--worker needs a value/ },
  { argv: ['audit', journal, '--since', '2024-01-01', '--since', '2024-02-01'], says: /--since was given more than once/ },
  // check-share: stdin was read and checked ("extranonce1: is missing").
  { argv: ['check-share', '--bogus'], says: /Unknown argument: bogus/ },
  { argv: ['check-share', 'extra'], says: /Unknown argument: extra/ },
  { argv: ['check-share', '--file'], says: /Not enough arguments following: file/ },
  // config check: the summary of the valid file was printed.
  { argv: ['config', 'check', config, '--bogus'], says: /Unknown argument: bogus/ },
  { argv: ['config', 'check', config, 'extra'], says: /Unknown argument: extra/ },
  { argv: ['config', 'verify', config], says: /Invalid values:/ },
  // plan: the plan was printed.
  { argv: ['plan', '--config', config, '--depth', '1', '--bogus'], says: /Unknown argument: bogus/ },
  { argv: ['plan', '--config', config, '--depth', '1', 'extra'], says: /Unknown argument: extra/ },
  { argv: ['plan', '--config', config, '--depth', '1', '--depth', '2'], says: /--depth was given more than once/ },
];

t.test('bad usage: exit 2, one HG_ERR_USAGE line, and the command never ran', async (t) => {
  for (const { argv, says } of CASES) {
    const name = argv.join(' ');
    const r = await cli(argv);
    t.equal(r.code, 2, `${name}: exit 2`);
    t.equal(r.stdout, '', `${name}: nothing on stdout`);
    t.notOk(r.stdinRead, `${name}: stdin untouched`);
    const lines = r.stderr.trimEnd().split('\n');
    t.match(lines[lines.length - 1], /^ *(hashgate: )?.+ \[HG_ERR_USAGE\]$/, `${name}: ends with the usage error`);
    t.match(r.stderr, says, `${name}: names the problem`);
    t.match(r.stderr, /hashgate: [^\n]*/, `${name}: from main()`);
    // The command's own voice ("hashgate run: …", "hashgate demo: …") or any other error code means it ran.
    t.notMatch(r.stderr, /hashgate [a-z-]+: /, `${name}: no message from the command itself`);
    t.same(r.stderr.match(/HG_ERR_[A-Z_]+/g), ['HG_ERR_USAGE'], `${name}: no other error code`);
  }
});

t.test('good usage still runs the command (the check above is not vacuous)', async (t) => {
  const r = await cli(['check-share']);
  t.equal(r.code, 2, 'the share input is incomplete');
  t.ok(r.stdinRead, 'stdin was read');
  t.match(r.stderr, /^hashgate check-share: extranonce1: is missing \[HG_ERR_INPUT_FIELD\]/);
  const a = await cli(['audit', journal, '--threads', '1']);
  t.equal(a.code, 0, a.stderr);
  t.not(a.stdout, '', 'the audit report');
  const c = await cli(['config', 'check', config]);
  t.equal(c.code, 0, c.stderr);
  t.match(c.stdout, /valid/);
  const help = await cli(['demo', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--duration/);
  t.equal(help.stderr, '');
});

/** A loopback port nobody listens on (bound, then released): a pool address that is never dialled. */
function unusedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/**
 * Spawns the built CLI and settles at its exit, or at the first byte on stdout (a started daemon or
 * demo writes there at once: the log line "starting", the demo's progress), or after WAIT_MS.
 */
function spawnUntilOutput(argv: string[]): Promise<{ code: number | null; stdout: string; stderr: string; outcome: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HASHGATE_')));
  const child = spawn(process.execPath, [BIN, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve) => {
    const settle = (outcome: string, code: number | null) => {
      clearTimeout(timer);
      // Whatever it was doing, it ends here (SIGKILL: no chance to carry on after the test).
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      resolve({ code, stdout, stderr, outcome });
    };
    const timer = setTimeout(() => settle(`still running after ${WAIT_MS} ms`, null), WAIT_MS);
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
      settle('wrote to stdout', null);
    });
    child.on('close', (code) => settle('exited', code));
  });
}

t.test('spawned: `run` and `demo` with an unknown option exit 2 before starting anything', async (t) => {
  const pool = await unusedPort();
  const startable = {
    // Without --bogus this starts the daemon: listeners and admin on 127.0.0.1:0, no journal.
    run: ['run', '--bogus', '--listen', '127.0.0.1:0', '--admin-listen', '127.0.0.1:0', '--pool', `stratum+tcp://127.0.0.1:${pool}`],
    // Without --bogus this starts the demo (simulated pool and rigs on 127.0.0.1).
    demo: ['demo', '--bogus', '--duration', '5', '--rigs', '1'],
  };
  for (const [name, argv] of Object.entries(startable)) {
    const r = await spawnUntilOutput(argv);
    t.equal(r.outcome, 'exited', `${name}: exited by itself (stdout: ${r.stdout.slice(0, 200)})`);
    t.equal(r.code, 2, `${name}: exit 2`);
    t.equal(r.stdout, '', `${name}: no "starting" log, no progress`);
    t.match(r.stderr, /(^|\n)hashgate: Unknown argument: bogus \[HG_ERR_USAGE\]\n$/, `${name}: the usage error, last`);
  }
});
