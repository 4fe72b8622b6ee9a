/**
 * `hashgate plan --config F --depth N [--cap W] [--rigs FILE] [--json]`:
 * a dry run of the throttle. Loads the config with the daemon's own loader,
 * computes the power budget at that queue depth and one plan for the fleet
 * (every rig running), and prints the budget, each decision with its reason
 * and the rigs that would wait. Touches nothing: no Redis, no drivers, no
 * miners. See docs/cli.md and docs/throttling.md.
 */

import { readFile } from 'node:fs/promises';
import { type Config, ConfigError, loadConfig } from '../../config/index.js';
import { parseIp, matchInventory, rigSpecOf } from '../../throttle/inventory.js';
import { joulesPerTh, minimumWatts, modelWatts, plan, plannerSettingsFromConfig } from '../../throttle/planner.js';
import { computeBudget, formatWatts, policyFromConfig } from '../../throttle/policy.js';
import { type Budget, INITIAL_PLANNER_MEMORY, type Plan, type PlannerRig, type RigSpec } from '../../throttle/types.js';
import { HashgateError } from '../../util/errors.js';
import { ExitCode } from '../exit-codes.js';
import type { CommandIO } from '../io.js';

const PREFIX = 'hashgate plan';
/** A connected-rigs list is small JSON; refuse anything absurd. */
const MAX_RIGS_BYTES = 16 * 1024 * 1024;

function usage(message: string): never {
  throw new HashgateError('HG_ERR_USAGE', message);
}

function inputField(path: string, message: string): never {
  throw new HashgateError('HG_ERR_INPUT_FIELD', `${path}: ${message}`, { field: path });
}

/** --depth: a queue depth (integer ≥ 0), or "unknown" for the worst case (what onStale "shed" plans against). */
export function parseDepth(v: unknown): number | null {
  if (typeof v !== 'string') usage('--depth must be given once: a queue depth (integer ≥ 0) or "unknown"');
  if (v === 'unknown') return null;
  if (!/^\d{1,15}$/.test(v)) usage(`--depth must be an integer ≥ 0 or "unknown" (got ${JSON.stringify(v.slice(0, 40))})`);
  return Number(v);
}

/** --cap: the site cap in watts, as the Redis cap key would give it. */
export function parseCap(v: unknown): number | null {
  if (v === undefined) return null;
  if (typeof v !== 'string' || !/^\d{1,15}(\.\d+)?$/.test(v)) usage('--cap must be a number of watts ≥ 0, given once');
  return Number(v);
}

/**
 * The connected rigs of a --rigs file: [{"worker": "acct.s21-001", "ip": "10.0.1.7"}, …], each matched
 * against the inventory as a miner that authorized with that worker name from that address would be.
 */
export function parseRigList(value: unknown, config: Config): RigSpec[] {
  if (!Array.isArray(value)) inputField('(root)', 'must be a list of {"worker", "ip"?} objects');
  const seen = new Map<string, number>();
  return value.map((r: unknown, i) => {
    const at = `[${i}]`;
    if (r === null || typeof r !== 'object' || Array.isArray(r)) inputField(at, 'must be an object {"worker", "ip"?}');
    const o = r as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'worker' && k !== 'ip') inputField(`${at}.${k}`, 'unknown field (allowed: worker, ip)');
    if (typeof o.worker !== 'string' || o.worker === '') inputField(`${at}.worker`, 'must be the worker name the rig authorizes with');
    const first = seen.get(o.worker);
    if (first !== undefined) inputField(`${at}.worker`, `${JSON.stringify(o.worker)} is already [${first}].worker`);
    seen.set(o.worker, i);
    const ip = o.ip ?? null;
    if (ip !== null && (typeof ip !== 'string' || parseIp(ip) === null)) inputField(`${at}.ip`, 'must be an IPv4 or IPv6 address, or null');
    return matchInventory(config.rigs, config.defaultRig, o.worker, ip as string | null).spec;
  });
}

/** Every rig running, long enough that no minimum on-time protects it. */
function asRunning(specs: readonly RigSpec[]): PlannerRig[] {
  return specs.map((s) => ({ ...s, controllable: true, state: { kind: 'running', since: Number.NEGATIVE_INFINITY } }));
}

export interface PlanReport {
  readonly depth: number | null;
  readonly capWatts: number | null;
  readonly budget: Budget;
  readonly fleet: { readonly rigs: number; readonly watts: number };
  readonly rigs: readonly {
    readonly id: string;
    readonly entry: string;
    readonly group: string;
    readonly priority: number;
    readonly ratedWatts: number;
    readonly ratedThs: number;
    readonly joulesPerTh: number;
    readonly idleWatts: number;
    readonly powerTargets: readonly number[];
    readonly override: 'run' | 'curtail' | null;
  }[];
  readonly decisions: Plan['decisions'];
  readonly runningWatts: number;
  readonly feasible: boolean;
  /** The least the fleet can draw (every rig without a "run" override curtailed). */
  readonly minimumWatts: number;
  readonly waiting: Plan['waiting'];
  readonly throttle: { readonly enabled: boolean; readonly shadow: boolean };
}

/** Budget and plan for a fleet of running rigs. Pure apart from reading the clock for `now`. */
export function buildReport(config: Config, specs: readonly RigSpec[], depth: number | null, capWatts: number | null): PlanReport {
  const budget = computeBudget(policyFromConfig(config.throttle), { depth, capWatts });
  const rigs = asRunning(specs);
  const p = plan({
    now: Date.now(),
    asicBudgetWatts: budget.asicWatts,
    rigs,
    settings: plannerSettingsFromConfig(config.throttle),
    memory: INITIAL_PLANNER_MEMORY,
  });
  return {
    depth,
    capWatts,
    budget,
    fleet: { rigs: rigs.length, watts: rigs.reduce((s, r) => s + modelWatts(r), 0) },
    rigs: specs.map((s) => ({
      id: s.id,
      entry: s.entry,
      group: s.group,
      priority: s.priority,
      ratedWatts: s.ratedWatts,
      ratedThs: s.ratedThs,
      joulesPerTh: Math.round(joulesPerTh(s) * 100) / 100,
      idleWatts: s.idleWatts,
      powerTargets: s.powerTargets,
      override: s.override,
    })),
    decisions: p.decisions,
    runningWatts: p.runningWatts,
    feasible: p.feasible,
    minimumWatts: minimumWatts(rigs),
    waiting: p.waiting,
    throttle: { enabled: config.throttle.enabled, shadow: config.throttle.shadow },
  };
}

function table(rows: readonly (readonly string[])[], rightAligned: readonly number[]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) =>
    r
      .map((cell, c) => (c === r.length - 1 ? cell : rightAligned.includes(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd(),
  );
}

export function formatReport(r: PlanReport, config: Config): string {
  const b = r.budget;
  const lines: string[] = [];
  lines.push('dry run: nothing is touched (no Redis, no drivers, no miners)');
  if (!r.throttle.enabled) lines.push('note: throttle.enabled is false: `hashgate run` does not act on plans');
  else if (r.throttle.shadow) lines.push('note: throttle.shadow is true: `hashgate run` only logs its plans');
  const depth = r.depth === null ? 'unknown (GPU need at its maximum: what onStale "shed" plans against)' : String(r.depth);
  lines.push(`budget at queue depth ${depth}:`);
  const site =
    r.capWatts !== null && r.capWatts < config.throttle.siteBudgetWatts
      ? `(the --cap; the contract is ${formatWatts(config.throttle.siteBudgetWatts)})`
      : `(throttle.siteBudgetWatts${r.capWatts === null ? '' : `; the ${formatWatts(r.capWatts)} cap is not lower`})`;
  const pct = config.throttle.headroomPercent;
  lines.push(
    ...table(
      [
        ['  site', formatWatts(b.siteWatts), site],
        ['  base load', `-${formatWatts(b.baseLoadWatts)}`, '(throttle.baseLoadWatts)'],
        ['  headroom', `-${formatWatts(b.headroomWatts)}`, `(${pct}% of the site)`],
        ['  GPU need', `-${formatWatts(b.gpuNeedWatts)}`, '(throttle.gpu)'],
        ['  ASIC budget', formatWatts(b.asicWatts), '(what the rigs may draw; never below 0)'],
      ],
      [1],
    ),
  );
  lines.push(`fleet: ${r.fleet.rigs} rig${r.fleet.rigs === 1 ? '' : 's'}, ${formatWatts(r.fleet.watts)} running`);
  if (r.fleet.rigs === 0) lines.push('  (no rigs: add "rigs" entries to the config, or give --rigs FILE)');
  lines.push(`decisions: ${r.decisions.length}`);
  if (r.decisions.length > 0) {
    lines.push(
      ...table(
        r.decisions.map((d) => [
          `  ${d.action}`,
          d.rig,
          d.action === 'set-power' ? `to ${formatWatts(d.watts ?? 0)}` : '',
          d.deltaWatts >= 0 ? `frees ${formatWatts(d.deltaWatts)}` : `takes ${formatWatts(-d.deltaWatts)}`,
          d.reason,
        ]),
        [3],
      ),
    );
  }
  const over = r.runningWatts - b.asicWatts;
  lines.push(
    over <= 0
      ? `after: ${formatWatts(r.runningWatts)} of the ${formatWatts(b.asicWatts)} ASIC budget`
      : `after: ${formatWatts(r.runningWatts)}, over the ${formatWatts(b.asicWatts)} ASIC budget by ${formatWatts(over)}`,
  );
  if (!r.feasible) {
    lines.push(
      `infeasible: with every rig curtailed that may be, the fleet still draws ${formatWatts(r.minimumWatts)} (manual "run" overrides at rated watts, idle watts of the rest)`,
    );
  }
  lines.push(`waiting: ${r.waiting.length}`);
  for (const w of r.waiting) lines.push(`  ${w.rig}  ${w.reason}`);
  return `${lines.join('\n')}\n`;
}

async function readRigs(file: string, config: Config): Promise<RigSpec[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable by this user' : (e as Error).message;
    throw new HashgateError('HG_ERR_INPUT_READ', `--rigs ${file}: cannot read it: ${why}`);
  }
  if (text.length > MAX_RIGS_BYTES) throw new HashgateError('HG_ERR_INPUT_READ', `--rigs ${file}: is larger than ${MAX_RIGS_BYTES} bytes`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new HashgateError('HG_ERR_INPUT_JSON', `--rigs ${file}: is not valid JSON: ${(e as Error).message}`);
  }
  try {
    return parseRigList(value, config);
  } catch (e) {
    if (e instanceof HashgateError) throw new HashgateError(e.code, `--rigs ${file}: ${e.message}`, { field: e.field });
    throw e;
  }
}

/** `hashgate plan`: main() calls this only for a valid command line. */
export async function run(args: Record<string, unknown>, io: CommandIO): Promise<number> {
  try {
    const depth = parseDepth(args.depth);
    const cap = parseCap(args.cap);
    if (args.config !== undefined && typeof args.config !== 'string') usage('--config must be given once');
    if (args.rigs !== undefined && typeof args.rigs !== 'string') usage('--rigs must be given once');
    const config = await loadConfig({ file: args.config as string | undefined, env: process.env });
    const specs =
      typeof args.rigs === 'string'
        ? await readRigs(args.rigs, config)
        : config.rigs.map((e) => rigSpecOf(e, config.defaultRig, e.name, null));
    const report = buildReport(config, specs, depth, cap);
    io.stdout.write(args.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, config));
    return ExitCode.Ok;
  } catch (e) {
    if (e instanceof ConfigError) {
      io.stderr.write(`${PREFIX}: ${e.message} [HG_ERR_CONFIG]\n`);
      return ExitCode.Usage;
    }
    if (e instanceof HashgateError) {
      io.stderr.write(`${PREFIX}: ${e.message} [${e.code}]\n`);
      return ExitCode.Usage;
    }
    throw e;
  }
}
