/**
 * docs/systemd/hashgate.service: the hardening an operator relies on is really in the unit (plain
 * TypeScript), and systemd itself parses it (`systemd-analyze verify` where the binary exists). verify
 * needs ExecStart's binary to exist, so it runs on a copy whose ExecStart is this checkout's node and
 * bin/hashgate.js; User= is kept. A warning about a missing user or system manager is not a failure,
 * a parse error is; a deliberately broken copy proves the check can fail.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import t from 'tap';
import { CONFIG_DEFAULTS } from '../../src/config/index.js';
import { BIN } from '../helpers/cli.js';

const UNIT_URL = new URL('../../docs/systemd/hashgate.service', import.meta.url);
const unit = readFileSync(UNIT_URL, 'utf8');
const operations = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');

/** [section] -> key -> every value given (a key may repeat; an empty value resets it, as in systemd). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[([^\]]+)\]$/.exec(line);
    if (header) {
      current = new Map();
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq < 0) throw new Error(`not a key=value line inside a section: ${line}`);
    const key = line.slice(0, eq).trim();
    current.set(key, [...(current.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return sections;
}

/** systemd time span ("30s", "1min 30s", "90") in milliseconds; bare numbers are seconds. */
function timespanMs(text: string): number {
  const units: Record<string, number> = { ms: 1, s: 1000, sec: 1000, m: 60_000, min: 60_000, h: 3_600_000 };
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)/g)) {
    const unit = m[2] === '' ? 's' : m[2]!;
    if (units[unit] === undefined) throw new Error(`unit ${unit} in ${text}`);
    total += Number(m[1]) * units[unit]!;
  }
  return total;
}

const parsed = parseUnit(unit);
const service = parsed.get('Service') ?? new Map<string, string[]>();
const one = (key: string): string | undefined => service.get(key)?.at(-1);

t.test('the unit runs hashgate as a dedicated user with the documented paths', async (t) => {
  t.same([...parsed.keys()], ['Unit', 'Service', 'Install']);
  t.equal(one('User'), 'hashgate');
  t.equal(one('Group'), 'hashgate');
  t.equal(one('DynamicUser'), 'no');
  t.equal(one('ExecStart'), '/usr/bin/node /opt/hashgate/bin/hashgate.js run --config /etc/hashgate/config.json');
  t.equal(one('ExecReload'), '/bin/kill -HUP $MAINPID');
  t.equal(one('StateDirectory'), 'hashgate', 'journal under /var/lib/hashgate');
  t.equal(one('ConfigurationDirectory'), 'hashgate', '/etc/hashgate');
  t.equal(one('StandardOutput'), 'journal', 'JSON logs to journald');
  t.equal(parsed.get('Install')?.get('WantedBy')?.at(-1), 'multi-user.target');
});

t.test('stop, restart and limits fit the daemon', async (t) => {
  t.equal(one('KillSignal'), 'SIGTERM');
  const stopMs = timespanMs(one('TimeoutStopSec') ?? '0');
  t.ok(
    stopMs > CONFIG_DEFAULTS.shutdown.deadlineMs,
    `TimeoutStopSec (${stopMs} ms) > shutdown.deadlineMs (${CONFIG_DEFAULTS.shutdown.deadlineMs} ms)`,
  );
  t.equal(one('Restart'), 'on-failure');
  t.ok(timespanMs(one('RestartSec') ?? '0') >= 1000, 'RestartSec of a second or more');
  t.equal(one('RestartPreventExitStatus'), '2', 'a config error (exit 2) is not retried');
  const unitSection = parsed.get('Unit')!;
  t.ok(Number(unitSection.get('StartLimitBurst')?.at(-1)) > 0, 'StartLimitBurst');
  t.ok(timespanMs(unitSection.get('StartLimitIntervalSec')?.at(-1) ?? '0') > 0, 'StartLimitIntervalSec');
  const nofile = Number(one('LimitNOFILE'));
  t.ok(nofile >= 65536, `LimitNOFILE ${nofile}`);
  t.ok(nofile > 2 * CONFIG_DEFAULTS.limits.maxConnections, 'two sockets per miner at the default connection cap');
});

t.test('the sandbox keys are present', async (t) => {
  const expected: Record<string, string> = {
    ProtectSystem: 'strict',
    ProtectHome: 'yes',
    PrivateTmp: 'yes',
    PrivateDevices: 'yes',
    NoNewPrivileges: 'yes',
    ProtectKernelTunables: 'yes',
    ProtectKernelModules: 'yes',
    ProtectKernelLogs: 'yes',
    ProtectControlGroups: 'yes',
    RestrictNamespaces: 'yes',
    RestrictSUIDSGID: 'yes',
    LockPersonality: 'yes',
    RestrictAddressFamilies: 'AF_INET AF_INET6 AF_UNIX',
    CapabilityBoundingSet: '',
    AmbientCapabilities: '',
    SystemCallFilter: '@system-service',
    SystemCallArchitectures: 'native',
  };
  for (const [key, value] of Object.entries(expected)) t.equal(one(key), value, key);
  t.notOk(service.has('MemoryDenyWriteExecute'), 'MemoryDenyWriteExecute is not set: the V8 JIT needs W+X memory');
  t.match(unit, /^# MemoryDenyWriteExecute= is deliberately NOT set: V8's JIT/m, 'and a comment says why');
  t.match(unit, /^# +AmbientCapabilities=CAP_NET_BIND_SERVICE$/m, 'the way to a port below 1024 is documented');
});

t.test('docs/operations.md installs what the unit expects', async (t) => {
  t.match(operations, /useradd --system .*hashgate/, 'creates the hashgate system user');
  t.match(operations, '/opt/hashgate', 'installs to /opt/hashgate');
  t.match(operations, 'docs/systemd/hashgate.service', 'names the unit file');
  t.match(operations, 'hashgate config check', 'checks the config before start');
  t.match(operations, /chmod 0?640 \/etc\/hashgate\/config\.json/);
});

// ---------------------------------------------------------------------------
// systemd-analyze

/** Lines that mean systemd did not accept the unit as written. */
const REJECTED = /Unknown key|Unknown section|Invalid|Failed to parse|is not executable|bad-setting/i;

function findOnPath(name: string): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin']) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

function analyze(bin: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { timeout: 60_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

/** The unit with ExecStart pointing at binaries that exist here (verify checks that they do). */
function runnableCopy(text: string): string {
  const q = (s: string) => (/\s/.test(s) ? `"${s}"` : s);
  const exec = `ExecStart=${q(process.execPath)} ${q(BIN)} run --config /etc/hashgate/config.json`;
  const out = text.replace(/^ExecStart=.*$/m, exec);
  if (out === text) throw new Error('no ExecStart= line to rewrite');
  return out;
}

const systemdAnalyze = findOnPath('systemd-analyze');

t.test('systemd-analyze verify accepts the unit (and rejects a broken copy)', async (t) => {
  if (systemdAnalyze === undefined) {
    t.comment('systemd-analyze is not installed here: only the plain checks above ran; install systemd to verify the unit');
    t.notOk(service.has('MemoryDenyWriteExecute'), 'plain check still runs');
    return;
  }
  const dir = t.testdir();
  const good = join(dir, 'hashgate.service');
  writeFileSync(good, runnableCopy(unit));
  const ok = await analyze(systemdAnalyze, ['verify', '--man=no', good]);
  const rejected = ok.output.split('\n').filter((l) => REJECTED.test(l));
  t.same(rejected, [], 'no unknown key, invalid value or parse failure');
  if (ok.code !== 0) t.comment(`systemd-analyze verify exited ${ok.code} (no manager or user here?):\n${ok.output}`);

  // The same unit with a typo'd key and a bad value: the check above must be able to fail.
  const brokenDir = join(dir, 'broken');
  mkdirSync(brokenDir);
  const broken = join(brokenDir, 'hashgate.service');
  writeFileSync(broken, runnableCopy(unit).replace(/^Restart=on-failure$/m, 'Restart=sometimes\nProtectSystm=strict'));
  const bad = await analyze(systemdAnalyze, ['verify', '--man=no', broken]);
  const lines = bad.output.split('\n').filter((l) => REJECTED.test(l));
  t.ok(
    lines.some((l) => /ProtectSystm/.test(l)),
    `the typo'd key is reported: ${bad.output}`,
  );
  t.ok(
    lines.some((l) => /sometimes/.test(l)),
    `the bad value is reported: ${bad.output}`,
  );
});

t.test('systemd-analyze security rates the sandbox low-exposure', async (t) => {
  if (systemdAnalyze === undefined) {
    t.comment('systemd-analyze is not installed here: exposure not rated');
    t.equal(one('ProtectSystem'), 'strict', 'plain check still runs');
    return;
  }
  const file = join(t.testdir(), 'hashgate.service');
  writeFileSync(file, runnableCopy(unit));
  const r = await analyze(systemdAnalyze, ['security', '--offline=yes', '--no-pager', file]);
  const m = /Overall exposure level for hashgate\.service: (\d+(?:\.\d+)?)/.exec(r.output);
  if (m === null) {
    // systemd < 250 has no --offline; verify above still ran.
    t.comment(`this systemd-analyze cannot rate a unit file offline:\n${r.output.slice(0, 500)}`);
    t.equal(one('ProtectSystem'), 'strict', 'plain check still runs');
    return;
  }
  t.ok(Number(m[1]) <= 2.5, `exposure ${m[1]} (0 = fully sandboxed, 10 = none) is at most 2.5`);
});
