/**
 * `hashgate config check FILE`: validates a `hashgate run` config file with
 * the daemon's own loader (the file plus the HASHGATE_* environment; no
 * flags), prints every problem with its path, and warns when a file that
 * holds credentials can be read (or changed) by users other than root and
 * the service. See docs/cli.md and docs/operations.md.
 */

import { readFile, stat } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { buildConfig, type Config, CONFIG_OPTIONS, ConfigError, formatHostPort, readConfigFile } from '../../config/index.js';
import { quote } from '../../config/schema.js';
import { CONFIG_ACTIONS, SERVICE_GROUP } from '../limits.js';
import { ExitCode } from '../exit-codes.js';
import type { CommandIO } from '../io.js';

export { CONFIG_ACTIONS, SERVICE_GROUP };

// ---------------------------------------------------------------------------
// Credentials: found generically in the raw JSON, so sections added later (admin tokens, Redis and
// driver logins) are covered without a change here.

export interface CredentialFinding {
  /** Config path, e.g. "pools[0].password" or "throttle.redis.url". Never the value. */
  readonly path: string;
  /** `secret`: the value itself is a secret; `url`: a URL with credentials in it; `file`: names a file holding a secret. */
  readonly kind: 'secret' | 'url' | 'file';
  /** kind `file` only: the path it names (a path, not a secret). */
  readonly file?: string;
}

/**
 * Key names whose value is a secret: password, passwd, pass, token, secret, auth, authorization,
 * credential(s), apiKey, and compounds ending in one of them (redisPassword, bearerToken, basicAuth).
 * Matched on the end of the name, so "authorizeTimeoutMs" or "maxTokens" are not secrets.
 */
const SECRET_KEY = /(?:^pass|passw(?:or)?d|token|secret|auth|authorization|credentials?|api[-_]?key)$/i;
/** The same names followed by File/Path: the value is a path to a file that holds the secret. */
const SECRET_FILE_KEY = /(?:pass|passw(?:or)?d|token|secret|auth|credentials?|api[-_]?key)[-_]?(?:file|path)$/i;
/** scheme://userinfo@… */
const URL_USERINFO = /^([a-z][a-z0-9+.-]*):\/\/([^/?#@\s]*)@/i;

function joinPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

/** True when a URL carries a secret: any "user:password@", or any userinfo outside Stratum (where a bare user is the pool account). */
function urlHasCredentials(text: string): boolean {
  const m = URL_USERINFO.exec(text);
  if (m === null || m[2] === '') return false;
  const stratum = m[1]!.toLowerCase().startsWith('stratum');
  const colon = m[2]!.indexOf(':');
  return colon >= 0 ? m[2]!.length > colon + 1 || !stratum : !stratum;
}

/**
 * Walks a parsed config file and lists where credentials are, without their values. Empty strings
 * and null are not credentials. Bounded by the input (a parsed JSON value has no cycles).
 */
export function findCredentials(value: unknown): CredentialFinding[] {
  const found: CredentialFinding[] = [];
  const walk = (v: unknown, path: string, key: string | undefined) => {
    if (typeof v === 'string') {
      if (v === '') return;
      if (key !== undefined && SECRET_FILE_KEY.test(key)) found.push({ path, kind: 'file', file: v });
      else if (key !== undefined && SECRET_KEY.test(key)) found.push({ path, kind: 'secret' });
      else if (urlHasCredentials(v)) found.push({ path, kind: 'url' });
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => walk(x, joinPath(path, i), key));
      return;
    }
    if (v !== null && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, joinPath(path, k), k);
      return;
    }
    // A number or boolean under a secret name (a numeric PIN, say) is still a secret.
    if ((typeof v === 'number' || typeof v === 'boolean') && key !== undefined && SECRET_KEY.test(key))
      found.push({ path, kind: 'secret' });
  };
  walk(value, '', undefined);
  return found;
}

// ---------------------------------------------------------------------------
// File modes

export interface ModeFacts {
  /** st_mode (only the permission bits are read). */
  readonly mode: number;
  /** The file's group id. */
  readonly gid: number;
  /** The service group's id, when that group exists on this machine. */
  readonly serviceGid: number | undefined;
  /** The file group's name, when known. */
  readonly groupName?: string;
}

export interface ModeVerdict {
  /** Who besides the owner (and the service group) can read the file: empty = nobody. */
  readonly readers: readonly ('group' | 'others')[];
  /** Anyone can change the file (and so redirect the hashrate to another pool). */
  readonly worldWritable: boolean;
}

/**
 * Group read access is fine when the group is the service's own (the documented root:hashgate 0640);
 * any other group, and others, should not read a file with credentials.
 */
export function assessMode(f: ModeFacts): ModeVerdict {
  const readers: ('group' | 'others')[] = [];
  if ((f.mode & 0o040) !== 0 && f.gid !== f.serviceGid) readers.push('group');
  if ((f.mode & 0o004) !== 0) readers.push('others');
  return { readers, worldWritable: (f.mode & 0o002) !== 0 };
}

/** Group names and ids from /etc/group (groups from LDAP and the like are not looked up). */
interface Groups {
  readonly byName: ReadonlyMap<string, number>;
  readonly byId: ReadonlyMap<number, string>;
}

async function readGroups(): Promise<Groups> {
  const byName = new Map<string, number>();
  const byId = new Map<number, string>();
  let text = '';
  try {
    text = await readFile('/etc/group', 'utf8');
  } catch {
    // No /etc/group: every group is unknown, and the advice falls back to chmod 0600.
  }
  for (const line of text.split('\n')) {
    const [name, , gid] = line.split(':');
    if (name === undefined || name === '' || gid === undefined || !/^\d+$/.test(gid)) continue;
    byName.set(name, Number(gid));
    if (!byId.has(Number(gid))) byId.set(Number(gid), name);
  }
  return { byName, byId };
}

/** Quotes a path for a shell command line when it needs it. */
function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

const octal = (mode: number) => `0${(mode & 0o777).toString(8).padStart(3, '0')}`;

/** The warnings (one line each, without the command prefix) for a file with these facts and findings. */
export function permissionWarnings(file: string, facts: ModeFacts, findings: readonly CredentialFinding[], serviceGroup: string): string[] {
  const verdict = assessMode(facts);
  const warnings: string[] = [];
  const q = shellQuote(file);
  const fix = facts.serviceGid === undefined ? `chmod 0600 ${q}` : `chown root:${serviceGroup} ${q} && chmod 0640 ${q}`;
  const inFile = findings.filter((f) => f.kind !== 'file');
  if (inFile.length > 0 && verdict.readers.length > 0) {
    const who = verdict.readers
      .map((r) => (r === 'group' ? `group ${facts.groupName ?? facts.gid} (not ${serviceGroup})` : 'every user'))
      .join(' and ');
    const where = inFile.map((f) => f.path).join(', ');
    warnings.push(`warning: ${file} holds credentials (${where}) and is readable by ${who} (mode ${octal(facts.mode)}). Fix: ${fix}`);
  }
  if (verdict.worldWritable) {
    warnings.push(
      `warning: ${file} is writable by every user (mode ${octal(facts.mode)}): anyone could change what hashgate does (its pools, its credentials). Fix: ${fix}`,
    );
  }
  return warnings;
}

// ---------------------------------------------------------------------------
// The command

/** The HASHGATE_* variables that change the result (names only: values may hold credentials). */
function envOverrides(env: NodeJS.ProcessEnv): string[] {
  const known = new Set(CONFIG_OPTIONS.map((o) => o.env));
  return Object.keys(env)
    .filter((k) => known.has(k) && env[k] !== undefined && env[k] !== '')
    .sort();
}

function summary(file: string, config: Config, env: readonly string[]): string {
  const pools = config.pools.map((p, i) => {
    const creds = [p.user === null ? undefined : `user ${JSON.stringify(p.user)}`, p.password === null ? undefined : 'password set'];
    const c = creds.filter((x) => x !== undefined).join(', ');
    return `  pools[${i}]: ${p.url}${c === '' ? ' (no credentials)' : ` (${c})`}`;
  });
  const bare = config.pools.filter((p) => p.user === null && p.password === null).length;
  const journal =
    config.journal.path === null
      ? 'none (no shares are recorded)'
      : `${config.journal.path}${config.journal.rotateBytes === 0 ? '' : ` (new file past ${config.journal.rotateBytes} bytes)`}`;
  const a = config.admin;
  const token = a.token !== null ? 'bearer token set' : a.tokenFile !== null ? `bearer token from ${a.tokenFile}` : 'no token';
  const admin = a.listen === null ? 'off' : `${formatHostPort(a.listen)} (${token})`;
  const th = config.throttle;
  const throttle = th.enabled
    ? `enabled${th.shadow ? ' in shadow mode (decisions only logged, nothing parked)' : ''}, site budget ${th.siteBudgetWatts} W, Redis at ${quote(th.redis.url)}`
    : 'disabled';
  return [
    `${file}: valid`,
    `listeners: ${config.listen.map(formatHostPort).join(', ')}`,
    `pools: ${config.pools.length} in failover order`,
    ...pools,
    `pools without credentials: ${bare}${bare > 0 && config.worker.mode === 'passthrough' ? " (fine in passthrough mode: each miner's own worker name and password go to the pool)" : ''}`,
    `worker mode: ${config.worker.mode}`,
    `journal: ${journal}`,
    `admin HTTP: ${admin}`,
    `throttle: ${throttle}`,
    `rigs in the inventory: ${config.rigs.length}`,
    `environment overrides: ${env.length === 0 ? 'none' : env.join(', ')}`,
    'problems: 0',
  ].join('\n');
}

async function check(file: string, serviceGroup: string, io: CommandIO, env: NodeJS.ProcessEnv): Promise<number> {
  const prefix = 'hashgate config check';
  const read = await readConfigFile(file);
  if ('problem' in read) {
    io.stderr.write(`${prefix}: ${read.problem.path}: ${read.problem.message} [HG_ERR_CONFIG]\n`);
    return ExitCode.Usage;
  }
  // Permissions first: they matter even when the content is invalid.
  const findings = findCredentials(read.value);
  const groups = await readGroups();
  const factsOf = async (path: string): Promise<ModeFacts> => {
    const st = await stat(path);
    return { mode: st.mode, gid: st.gid, serviceGid: groups.byName.get(serviceGroup), groupName: groups.byId.get(st.gid) };
  };
  try {
    const facts = await factsOf(file);
    for (const w of permissionWarnings(file, facts, findings, serviceGroup)) io.stderr.write(`${prefix}: ${w}\n`);
  } catch (e) {
    io.stderr.write(`${prefix}: warning: cannot stat ${file} to check its mode: ${(e as Error).message}\n`);
  }
  // A secret kept in its own file (passwordFile, tokenFile…) needs the same care as the config file.
  for (const f of findings.filter((x) => x.kind === 'file')) {
    const target = f.file!;
    try {
      const w = permissionWarnings(target, await factsOf(target), [{ path: f.path, kind: 'secret' }], serviceGroup);
      for (const line of w) io.stderr.write(`${prefix}: ${line}\n`);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why = code === 'ENOENT' ? 'does not exist' : `cannot be checked (${code ?? 'error'})`;
      // The service resolves a relative path from its working directory, not from where this check runs.
      const where = isAbsolute(target)
        ? ''
        : ' (a relative path; the service resolves it from its working directory, /var/lib/hashgate under the systemd unit)';
      io.stderr.write(`${prefix}: warning: ${f.path} names ${target}, which ${why}${where}\n`);
    }
  }

  let config: Config;
  try {
    config = buildConfig({ file: { name: file, value: read.value }, env });
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr.write(`${prefix}: ${file}: ${e.message} [HG_ERR_CONFIG]\n`);
      return ExitCode.Usage;
    }
    throw e;
  }
  io.stdout.write(`${summary(file, config, envOverrides(env))}\n`);
  return ExitCode.Ok;
}

/** `hashgate config`: main() calls this only for a valid command line (a known action and one file). */
export async function run(args: Record<string, unknown>, io: CommandIO): Promise<number> {
  if (args.action !== 'check' || typeof args.file !== 'string')
    throw new Error('hashgate config: main() let an invalid command line through');
  const group = typeof args['service-group'] === 'string' ? args['service-group'] : SERVICE_GROUP;
  return check(args.file, group, io, process.env);
}
