/**
 * Loading the `hashgate run` configuration, once, at start-up:
 * flags > HASHGATE_* environment > JSON config file > defaults (per option;
 * a list such as listen or pools is replaced whole by a higher layer, never
 * merged). Every problem from every layer is collected and reported in one
 * HG_ERR_CONFIG error, each with its path; the result is deep-frozen.
 *
 * This is the only module that looks at environment variables, and it only
 * reads the `env` it is given: the daemon passes `process.env`, tests pass
 * a plain object. Reference: docs/configuration.md.
 */

import { readFile } from 'node:fs/promises';
import { HashgateError } from '../util/errors.js';
import { CONFIG_DEFAULTS, type Config, ConfigSchema, deepFreeze } from './schema.js';

export interface ConfigProblem {
  /** Where: a config path ("pools[1].url", "limits.maxLineBytes"), an environment variable or the config file's path. */
  readonly path: string;
  readonly message: string;
}

/** HG_ERR_CONFIG with every problem found; `message` lists them one per line. */
export class ConfigError extends HashgateError {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    const n = problems.length;
    const lines = problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
    super('HG_ERR_CONFIG', `invalid configuration (${n} problem${n === 1 ? '' : 's'}):\n${lines}`);
    this.problems = Object.freeze([...problems]);
  }
}

type Kind = 'list' | 'string' | 'int' | 'number' | 'boolean';

export interface ConfigOption {
  /** Dotted config path, e.g. "limits.maxLineBytes". */
  readonly path: string;
  /** Command-line flag without dashes (kebab-case); the flags object is read by its camelCase form. */
  readonly flag: string;
  readonly env: string;
  readonly kind: Kind;
  readonly describe: string;
}

const opt = (path: string, flag: string, kind: Kind, describe: string): ConfigOption => ({
  path,
  flag,
  env: `HASHGATE_${flag.toUpperCase().replaceAll('-', '_')}`,
  kind,
  describe,
});

/**
 * Every option that has a flag and an environment variable. The daemon builds
 * its yargs options from this table and must give them no yargs defaults
 * (defaults live in CONFIG_DEFAULTS, so an absent flag never overrides a lower layer).
 * Flags avoid a leading "no-", which yargs would read as a negation.
 */
export const CONFIG_OPTIONS: readonly ConfigOption[] = Object.freeze([
  opt('listen', 'listen', 'list', 'Address to accept miners on, host:port or [v6]:port (repeatable)'),
  opt('pools', 'pool', 'list', 'Pool URL stratum+tcp://[user[:password]@]host:port (repeatable, failover order)'),
  opt('worker.mode', 'worker-mode', 'string', 'passthrough (miner credentials go to the pool) or account (pool user + rig name)'),
  opt('worker.separator', 'worker-separator', 'string', 'Separator between account and rig name in account mode'),
  opt('limits.maxLineBytes', 'max-line-bytes', 'int', 'Longest Stratum line accepted, in bytes'),
  opt('limits.maxConnections', 'max-connections', 'int', 'Miner connections allowed in total'),
  opt('limits.maxConnectionsPerIp', 'max-connections-per-ip', 'int', 'Miner connections allowed from one source IP'),
  opt('limits.authorizeTimeoutMs', 'authorize-timeout-ms', 'int', 'Close connections that have not authorized after this long'),
  opt('limits.tcpKeepAliveMs', 'tcp-keepalive-ms', 'int', 'TCP keepalive initial delay (0 = off)'),
  opt('limits.poolRequestTimeoutMs', 'pool-request-timeout-ms', 'int', 'Give up on a pool request (submit, authorize) after this long'),
  opt('limits.submitsPerSecond', 'submits-per-second', 'number', 'Sustained submit rate allowed per connection'),
  opt('limits.submitBurst', 'submit-burst', 'int', 'Submits allowed in a burst per connection'),
  opt('limits.maxWorkersPerConnection', 'max-workers-per-connection', 'int', 'Distinct worker names one connection may authorize'),
  opt('shares.forwardRejected', 'forward-rejected', 'boolean', 'Also forward shares hashgate rejects to the pool'),
  opt('shares.ntimeWindowSeconds', 'ntime-window-seconds', 'int', "How far a submit's ntime may run ahead of its job's"),
  opt('shares.localDifficulty.enabled', 'local-difficulty', 'boolean', "Telemetry difficulty: miners work below the pool's difficulty"),
  opt('failover.backoffBaseMs', 'backoff-base-ms', 'int', 'First pool reconnect delay'),
  opt('failover.backoffMaxMs', 'backoff-max-ms', 'int', 'Longest pool reconnect delay'),
  opt('failover.backoffJitter', 'backoff-jitter', 'number', 'Random spread of reconnect delays, 0 to 1'),
  opt('failover.notifySilenceMs', 'notify-silence-ms', 'int', 'Fail over when a pool sends no mining.notify for this long (0 = off)'),
  opt('failover.primaryRecheckMs', 'primary-recheck-ms', 'int', 'While failed over, retry the first pool this often (0 = never)'),
  opt('failover.poolLossGraceMs', 'pool-loss-grace-ms', 'int', 'With no pool reachable, disconnect miners after this long'),
  opt('shutdown.deadlineMs', 'shutdown-deadline-ms', 'int', 'On SIGTERM, force-close whatever is still open after this long'),
  opt('journal.path', 'journal', 'string', 'Journal file (JSONL); absent = no journal'),
  opt('journal.rotateBytes', 'journal-rotate-bytes', 'int', 'Start a new journal file past this size (0 = never)'),
  opt('log.level', 'log-level', 'string', 'fatal, error, warn, info, debug, trace or silent'),
  opt('log.pretty', 'log-pretty', 'boolean', 'Human-readable logs (terminals; not for journald)'),
  opt('admin.listen', 'admin-listen', 'string', 'Admin HTTP endpoint (/metrics, /healthz, /status), host:port'),
  opt('admin.tokenFile', 'admin-token-file', 'string', 'File holding the admin bearer token (needed off loopback)'),
  opt('throttle.enabled', 'throttle', 'boolean', 'Curtail rigs when the inference queue needs the power'),
  opt('throttle.shadow', 'throttle-shadow', 'boolean', 'Run the throttle loop but only log its decisions'),
  opt('throttle.siteBudgetWatts', 'site-budget-watts', 'number', 'The site power contract, in watts'),
  opt('throttle.redis.url', 'redis-url', 'string', 'Redis with the queue depth (redis://[user:password@]host:port[/db])'),
  opt('throttle.redis.onStale', 'on-stale', 'string', 'When Redis data is stale: hold, shed or release'),
]);

/** Names the config file when no file is given explicitly. */
export const CONFIG_FILE_ENV = 'HASHGATE_CONFIG';

export type ConfigFlags = Readonly<Record<string, unknown>>;
export type ConfigEnv = Readonly<Record<string, string | undefined>>;

export interface ConfigLayers {
  /** The parsed config file and the name problems from it are reported under. */
  readonly file?: { readonly name: string; readonly value: unknown };
  /** Parsed command-line flags (yargs argv); keys are the camelCase flag names, anything else is ignored. */
  readonly flags?: ConfigFlags;
  readonly env?: ConfigEnv;
}

export interface LoadConfigOptions {
  /** The --config path; falls back to env.HASHGATE_CONFIG; none = no file. */
  readonly file?: string;
  readonly flags?: ConfigFlags;
  readonly env?: ConfigEnv;
}

const camel = (flag: string) => flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** Turns a text value (environment, or a flag the daemon left as a string) into the type its option wants. */
function fromText(kind: Kind, text: string, splitLists: boolean): unknown {
  switch (kind) {
    case 'list':
      return splitLists
        ? text
            .split(',')
            .map((s) => s.trim())
            .filter((s) => s !== '')
        : [text];
    case 'int':
    case 'number':
      // Anything that is not plainly a number is left as text, so the schema reports it with its range.
      return /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text.trim()) ? Number(text) : text;
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (['true', '1', 'yes', 'on'].includes(t)) return true;
      if (['false', '0', 'no', 'off'].includes(t)) return false;
      return text;
    }
    case 'string':
      return text;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function setAt(target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let o = target;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === undefined) o[k] = {};
    // A lower layer put a non-object here: keep it, so its own problem is reported.
    if (!isPlainObject(o[k])) return;
    o = o[k];
  }
  o[keys[keys.length - 1]!] = value;
}

/** Formats a zod path as the operator writes it: ["pools", 1, "url"] -> "pools[1].url". */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const k of path) s += typeof k === 'number' ? `[${k}]` : `${s === '' ? '' : '.'}${String(k)}`;
  return s === '' ? '(root)' : s;
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(w.length / 4)) + 1;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    // A prefix ("pass" for "password", "pool" for "pools") counts as close.
    const dd = w.length >= 3 && (lc.startsWith(w) || w.startsWith(lc)) ? 1 : distance(w, lc);
    if (dd < bestD) [best, bestD] = [c, dd];
  }
  return best;
}

const POOL_KEYS = ['url', 'user', 'password'];

function unknownKeyMessage(parent: readonly PropertyKey[], key: string): string {
  const top = Object.keys(CONFIG_DEFAULTS).concat('pools');
  const section = parent.length === 1 ? (CONFIG_DEFAULTS as Record<string, unknown>)[String(parent[0])] : undefined;
  const allowed =
    parent.length === 0
      ? top
      : parent[0] === 'pools' && parent.length === 2
        ? POOL_KEYS
        : isPlainObject(section)
          ? Object.keys(section)
          : [];
  const near = closest(key, allowed);
  if (near !== undefined) return `unknown option (did you mean "${near}"?)`;
  const elsewhere = CONFIG_OPTIONS.find((o) => o.path.endsWith(`.${key}`) || o.path === key);
  if (elsewhere !== undefined) return `unknown option here (did you mean ${elsewhere.path}?)`;
  return `unknown option (allowed: ${allowed.join(', ')})`;
}

/** HASHGATE_* variables that map to nothing: a typo would otherwise be silently ignored. */
function unknownEnvProblems(env: ConfigEnv): ConfigProblem[] {
  const known = [...CONFIG_OPTIONS.map((o) => o.env), CONFIG_FILE_ENV];
  return Object.keys(env)
    .filter((name) => name.startsWith('HASHGATE_') && !known.includes(name))
    .sort()
    .map((name) => {
      const near = closest(name, known);
      return { path: name, message: `unknown environment variable${near === undefined ? '' : ` (did you mean ${near}?)`}` };
    });
}

/**
 * Merges the layers, validates once, and returns the frozen config, or
 * throws one ConfigError with every problem. No I/O.
 */
export function buildConfig(layers: ConfigLayers): Config {
  const env = layers.env ?? {};
  const flags = layers.flags ?? {};
  const problems: ConfigProblem[] = unknownEnvProblems(env);
  /** Which layer set each path (longest prefix wins), so a problem can say where the bad value came from. */
  const sources = new Map<string, string>();

  let merged: Record<string, unknown> = {};
  if (layers.file !== undefined) {
    // A file we cannot use would make every "missing" or "default" finding misleading: stop at the layer problems.
    if (!isPlainObject(layers.file.value)) {
      throw new ConfigError([{ path: layers.file.name, message: 'must hold one JSON object ({ … }) at the top level' }, ...problems]);
    }
    merged = structuredClone(layers.file.value);
    const label = `in ${layers.file.name}`;
    const walk = (v: unknown, path: string) => {
      if (path !== '') sources.set(path, label);
      if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, path === '' ? k : `${path}.${k}`);
    };
    walk(merged, '');
  }
  const setFrom = (path: string, value: unknown, label: string) => {
    setAt(merged, path, value);
    for (const k of [...sources.keys()]) if (k.startsWith(`${path}.`)) sources.delete(k);
    sources.set(path, label);
  };

  for (const o of CONFIG_OPTIONS) {
    const text = env[o.env];
    if (text === undefined || text === '') continue;
    setFrom(o.path, fromText(o.kind, text, true), `from ${o.env}`);
  }
  for (const o of CONFIG_OPTIONS) {
    let v = flags[camel(o.flag)];
    if (v === undefined) v = flags[o.flag];
    if (v === undefined) continue;
    if (typeof v === 'string') v = fromText(o.kind, v, false);
    else if (o.kind === 'list' && Array.isArray(v)) v = v.map((x) => (typeof x === 'number' ? String(x) : x));
    setFrom(o.path, v, `from --${o.flag}`);
  }

  const result = ConfigSchema.safeParse(merged);
  if (!result.success) {
    for (const issue of result.error.issues) {
      const located = (path: readonly PropertyKey[], message: string) => {
        let source: string | undefined;
        for (let n = path.length; n > 0 && source === undefined; n--) source = sources.get(path.slice(0, n).map(String).join('.'));
        problems.push({ path: formatPath(path), message: source === undefined ? message : `${message} (${source})` });
      };
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) located([...issue.path, key], unknownKeyMessage(issue.path, key));
      } else {
        located(issue.path, issue.message);
      }
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(result.data) as Config;
}

/** "Unexpected token } in JSON at position 42" -> line and column (1-based) of offset 42. */
function jsonErrorMessage(text: string, e: Error): string {
  const m = /at position (\d+)/.exec(e.message);
  // V8 may quote the file around the error ('Unexpected token 'h', ..."password":hunter2}"... is not valid JSON'): drop the quote, it can hold a secret.
  const reason = e.message
    .replace(/\s*in JSON at position \d+.*$/s, '')
    .replace(/\s*\(line \d+ column \d+\)$/, '')
    .replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
  if (m === null) return `is not valid JSON: ${reason}`;
  const before = text.slice(0, Number(m[1]));
  const line = before.split('\n').length;
  const col = before.length - before.lastIndexOf('\n');
  return `is not valid JSON at line ${line}, column ${col}: ${reason}`;
}

/** Reads and parses the config file; a problem (with the file's path) instead of a value when it cannot. */
export async function readConfigFile(file: string): Promise<{ value: unknown } | { problem: ConfigProblem }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? 'config file not found'
        : code === 'EACCES'
          ? 'config file is not readable by this user (it should be root:hashgate, mode 0640)'
          : code === 'EISDIR'
            ? 'is a directory, not a config file'
            : `cannot read the config file: ${(e as Error).message}`;
    return { problem: { path: file, message } };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return { value: JSON.parse(text) };
  } catch (e) {
    return { problem: { path: file, message: jsonErrorMessage(text, e as Error) } };
  }
}

/**
 * Loads the configuration for `hashgate run`: reads the JSON file (options.file,
 * else env.HASHGATE_CONFIG, else none), merges flags > env > file > defaults,
 * validates everything at once and returns the frozen result. Throws a
 * ConfigError (HG_ERR_CONFIG) listing every problem.
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<Config> {
  const env = options.env ?? {};
  const fileEnv = env[CONFIG_FILE_ENV];
  const file = options.file ?? (fileEnv === '' ? undefined : fileEnv);
  if (file === undefined) return buildConfig({ flags: options.flags ?? {}, env });
  const read = await readConfigFile(file);
  if ('problem' in read) {
    // Unknown variables are still worth reporting; "missing" findings are not (the file may have answered them).
    throw new ConfigError([read.problem, ...unknownEnvProblems(env)]);
  }
  return buildConfig({ file: { name: file, value: read.value }, flags: options.flags ?? {}, env });
}

const SECRET_KEYS = new Set(['password', 'pass', 'token', 'secret', 'credentials', 'authorization']);
export const REDACTED = '[redacted]';

function redact(value: unknown, key: string): unknown {
  if (SECRET_KEYS.has(key.toLowerCase())) return value === null || value === undefined ? value : REDACTED;
  if (typeof value === 'string') return value.replace(/^([a-z][a-z0-9+.-]*:\/\/).*@/is, `$1${REDACTED}@`);
  if (Array.isArray(value)) return value.map((v) => redact(v, ''));
  if (isPlainObject(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  return value;
}

/**
 * A copy of the config that is safe to log: pool passwords and any other
 * secret-named field become "[redacted]", credentials in URLs too. Pool
 * users (account names) stay visible.
 */
export function redactConfig(config: Config): Config {
  return deepFreeze(redact(config, '') as Config);
}
