/**
 * The `luxos` driver: LuxOS (LUXminer) firmware through its cgminer-style API,
 * JSON over TCP port 4028. Reference: docs/drivers.md, and Luxor's API docs
 * (https://docs.luxor.tech/firmware/api/sessions, …/luxminer/curtail,
 * …/luxminer/profileset, …/luxminer/logon, …/luxminer/session).
 *
 * Wire facts this module relies on (the transport is luxos-wire.ts):
 * - Parameters are one comma-separated string; commands that change the
 *   miner take the session id as their first parameter.
 * - STATUS E and F are failures, Msg says why. W (warning) is not: reads are
 *   judged by their data, changes are accepted and the warning logged
 *   (docs/drivers.md "Status W").
 * - One session at a time, shared by every tool on the rig. `session` returns
 *   the active session's id ("" when there is none); `logon` creates one and
 *   fails with "Another session is active" while one exists. As the common
 *   client (pyasic) does, hashgate asks `session` first and uses the active id,
 *   and logs on only when there is none. A session expires after one idle
 *   minute, or another tool logs it off: a cached id the miner no longer knows
 *   is answered with an error, and hashgate gets a fresh session once.
 * - `curtail` `sleep` turns the hashboards and the PSU output off; `wakeup`
 *   ramps them back; a `wakeup` of a miner that is not asleep is refused with
 *   "Miner is already active", which hashgate takes as done.
 * - `summary` (`SUMMARY[0]["GHS 5s"]`), `power` (`POWER[0].Watts`) and `config`
 *   (`CONFIG[0].CurtailMode`, "Sleep" while curtailed) need no session.
 */

import type { DriverConfig } from '../../config/throttle-schema.js';
import type { Logger } from '../../util/log.js';
import { DriverError, type RigControl, type RigFirmwareState } from '../types.js';
import { clip, createSerialQueue, describeAddress } from './common.js';
import { curtailModeOf, firstRecord, firstStatus, LuxosStatusError, numberOf, type Reply, roundTrip, sessionIdOf } from './luxos-wire.js';
import { driverTiming } from './timing.js';

export type LuxosDriverConfig = Extract<DriverConfig, { type: 'luxos' }>;

export interface LuxosContext {
  /** The resolved address (driver.host, else the rig's Stratum source address). */
  readonly host: string;
  readonly log: Logger;
  /** Reads driver.passwordFile (once, on first need). */
  readonly readFile: (path: string) => Promise<string>;
}

/** How long close() gives the best-effort `logoff`. */
const LOGOFF_TIMEOUT_MS = 1000;

/** An error Msg about the session (expired, unknown or invalid id): worth getting a fresh one, once. */
function isSessionError(e: LuxosStatusError): boolean {
  return /session/i.test(e.statusMsg) && !/another session/i.test(e.statusMsg);
}

/** A refusal that means the miner is already where the command would take it: done, not failed. */
const ALREADY: Readonly<Record<'sleep' | 'wakeup', RegExp>> = {
  sleep: /already (sleeping|asleep|in sleep|curtailed)/i,
  wakeup: /already (active|awake|running|mining)/i,
};

/** Profile names go into a comma-separated parameter; LuxOS reads a bare 0–3 as a legacy board id. */
function profileNameProblem(name: string): string | null {
  if (name.includes(',')) return 'contains a comma (LuxOS parameters are comma-separated)';
  if (/^\s*[0-3]\s*$/.test(name)) return 'is 0–3, which LuxOS reads as a board id';
  return null;
}

/** The miner's API as the control uses it: the session (found or logged on, and renewed once) and the password behind it. */
interface LuxosApi {
  /** One command; rejects with LuxosStatusError on STATUS E/F. `label` names it in messages (never with parameters). */
  send(command: string, params: readonly string[], label: string): Promise<Reply>;
  /** A command that needs the session: gets one if needed, and a fresh one once if the miner no longer knows the cached id. */
  privileged(command: string, args: readonly string[]): Promise<Reply>;
  /** Frees the miner's single session for other tools if hashgate opened it; best effort, never keeps the process alive. */
  logoff(): void;
}

/** driver.password, or driver.passwordFile read and trimmed; null when neither is set. */
async function readPassword(config: LuxosDriverConfig, ctx: LuxosContext): Promise<string | null> {
  if (config.password !== null) return config.password;
  if (config.passwordFile === null) return null;
  let text: string;
  try {
    text = await ctx.readFile(config.passwordFile);
  } catch (e) {
    const code = typeof e === 'object' && e !== null && 'code' in e ? ` (${String((e as { code: unknown }).code)})` : '';
    throw new DriverError('luxos', `cannot read passwordFile ${config.passwordFile}${code}`, 'HG_ERR_DRIVER_CONFIG');
  }
  const value = text.trim();
  if (value === '') throw new DriverError('luxos', `passwordFile ${config.passwordFile} is empty`, 'HG_ERR_DRIVER_CONFIG');
  return value;
}

/** One command with its STATUS checked: E/F reject (the Msg scrubbed of the password), W is logged and passes. */
function createSender(config: LuxosDriverConfig, ctx: LuxosContext, scrub: (text: string) => string): LuxosApi['send'] {
  const { host, log } = ctx;
  const where = describeAddress(host, config.port);
  return async (command, params, label) => {
    const request: { command: string; parameter?: string } = { command };
    if (params.length > 0) request.parameter = params.join(',');
    log.debug({ command: label }, 'luxos command');
    const reply = await roundTrip(host, config.port, JSON.stringify(request), config.timeoutMs, label);
    const status = firstStatus(reply);
    if (status === null) throw new DriverError('luxos', `${label}: reply from ${where} has no STATUS`);
    const code = status.code === null ? '' : ` (LuxOS code ${status.code})`;
    if (status.status === 'E' || status.status === 'F') {
      throw new LuxosStatusError(`${label}: ${clip(scrub(status.msg)) || 'error'}${code}`, status.code, scrub(status.msg));
    }
    if (status.status === 'W')
      log.warn({ command: label, msg: clip(scrub(status.msg)), code: status.code }, 'luxos command answered with a warning');
    return reply;
  };
}

function createLuxosApi(config: LuxosDriverConfig, ctx: LuxosContext): LuxosApi {
  const { host, log } = ctx;
  const where = describeAddress(host, config.port);
  let session: string | null = null;
  /** Whether hashgate opened the cached session (and so logs it off at close) or found it active. */
  let owned = false;
  /** undefined = not loaded yet (read once, on first need); null = none configured. */
  let password: string | null | undefined;

  /** Removes the password from a text that came from the miner (a firmware could echo a parameter). */
  const scrub = (text: string): string => (password ? text.split(password).join('[redacted]') : text);
  const send = createSender(config, ctx, scrub);

  async function logon(): Promise<string> {
    // Documented logon takes no parameter; firmware with an API password set reads it as the parameter.
    const id = sessionIdOf(await send('logon', password ? [password] : [], 'logon'));
    if (id === null) throw new DriverError('luxos', `logon: no usable SessionID in the reply from ${where}`);
    log.debug('luxos session opened');
    return id;
  }

  /** The active session if there is one (another tool's, or hashgate's own from before), else a new one. */
  async function acquire(): Promise<string> {
    password ??= await readPassword(config, ctx); // a settings problem fails before the rig is asked anything
    let active: string | null = null;
    try {
      active = sessionIdOf(await send('session', [], 'session'));
    } catch (e) {
      if (!(e instanceof LuxosStatusError)) throw e; // a build without `session`: log on as before
    }
    owned = active === null;
    session = active ?? (await logon());
    if (!owned) log.debug('luxos: using the active session');
    return session;
  }

  async function privileged(command: string, args: readonly string[]): Promise<Reply> {
    const label = [command, ...args].join(' ');
    const id = session ?? (await acquire());
    try {
      return await send(command, [id, ...args], label);
    } catch (e) {
      if (!(e instanceof LuxosStatusError && isSessionError(e))) throw e;
    }
    session = null;
    log.info({ command: label }, 'luxos session no longer valid (expired or logged off); getting a fresh one');
    return send(command, [await acquire(), ...args], label);
  }

  function logoff(): void {
    const id = owned ? session : null;
    session = null;
    if (id === null) return; // a session another tool opened is theirs to end
    roundTrip(host, config.port, JSON.stringify({ command: 'logoff', parameter: id }), LOGOFF_TIMEOUT_MS, 'logoff', true).catch(() => {
      /* the session expires on its own after a minute */
    });
  }

  return { send, privileged, logoff };
}

/** `curtail sleep|wakeup`; a refusal saying the miner is already there counts as done. */
async function curtailAction(api: LuxosApi, log: Logger, action: 'sleep' | 'wakeup'): Promise<void> {
  try {
    await api.privileged('curtail', [action]);
  } catch (e) {
    if (!(e instanceof LuxosStatusError && ALREADY[action].test(e.statusMsg))) throw e;
    log.debug({ command: `curtail ${action}`, msg: clip(e.statusMsg) }, 'luxos: already in that state; taken as done');
  }
}

/** The configured profile for exactly `watts` (watts → name, ascending), its name checked. */
function profileFor(profiles: readonly (readonly [number, string])[], watts: number): string {
  const hit = profiles.find(([w]) => w === watts);
  if (hit === undefined) {
    const known = profiles.map(([w]) => w).join(', ');
    throw new DriverError(
      'luxos',
      `no LuxOS profile configured for ${watts} W (driver.profiles has ${known || 'none'})`,
      'HG_ERR_DRIVER_CONFIG',
    );
  }
  const problem = profileNameProblem(hit[1]);
  if (problem !== null) throw new DriverError('luxos', `profile name "${clip(hit[1], 40)}" ${problem}`, 'HG_ERR_DRIVER_CONFIG');
  return hit[1];
}

/** A read the firmware may lack (older LUXminer builds): null on a STATUS error, other failures thrown. */
async function optionalRead(api: LuxosApi, command: string): Promise<Reply | null> {
  try {
    return await api.send(command, [], command);
  } catch (e) {
    if (e instanceof LuxosStatusError) return null;
    throw e;
  }
}

/**
 * The rig's state from `summary` (hash rate), `power` (watts) and `config` (CurtailMode: the positive sign of
 * sleep), with what hashgate last commanded. A 0 hash rate alone is not sleep: a booting rig reports it too.
 */
async function readLuxosState(api: LuxosApi, where: string, asleep: boolean | null, reducedTo: number | null): Promise<RigFirmwareState> {
  const summary = firstRecord(await api.send('summary', [], 'summary'), 'SUMMARY');
  const ghs = numberOf(summary?.['GHS 5s']) ?? numberOf(summary?.['GHS av']);
  if (ghs === null) throw new DriverError('luxos', `summary: reply from ${where} has no hash rate`);
  const power = await optionalRead(api, 'power');
  const watts = power === null ? null : numberOf(firstRecord(power, 'POWER')?.Watts);
  const config = await optionalRead(api, 'config');
  const mode = config === null ? null : curtailModeOf(config);
  const parts = [`${ghs} GH/s (5 s)`, watts === null ? 'power unknown' : `${watts} W`, `curtail mode ${mode ?? 'unknown'}`];
  if (asleep === true) parts.push('sleep commanded');
  if (reducedTo !== null) parts.push(`profile for ${reducedTo} W`);
  return {
    hashing: ghs > 0,
    asleep: mode === null ? null : /sleep/i.test(mode),
    hashrateThs: ghs / 1000,
    powerWatts: watts,
    firmware: null,
    detail: parts.join(', '),
  };
}

export function createLuxosControl(config: LuxosDriverConfig, ctx: LuxosContext): RigControl {
  const where = describeAddress(ctx.host, config.port);
  const api = createLuxosApi(config, ctx);
  const serial = createSerialQueue();
  /** Profile name per watts, ascending by watts. */
  const profiles = Object.entries(config.profiles)
    .map(([w, name]) => [Number(w), name] as const)
    .sort((a, b) => a[0] - b[0]);
  const fullProfile = profiles.length > 0 ? profiles[profiles.length - 1]! : null;
  /** What hashgate last made the rig do: null = unknown (e.g. after a restart). */
  let asleep: boolean | null = null;
  /** Watts of the profile hashgate selected below full power, null when it did not. */
  let reducedTo: number | null = null;
  let closed = false;

  function guard(): void {
    if (closed) throw new DriverError('luxos', 'driver closed');
  }

  const control: RigControl = {
    kind: 'luxos',
    supportsPowerTarget: profiles.length > 0,
    keepsSession: true,
    timing: driverTiming('luxos', config.settle),

    curtail: () =>
      serial(async () => {
        guard();
        await curtailAction(api, ctx.log, 'sleep');
        asleep = true;
      }),

    resume: () =>
      serial(async () => {
        guard();
        // Back to full power: the highest-watt profile if hashgate had selected a lower one, then wake the boards
        // unless hashgate knows they are awake.
        if (reducedTo !== null && fullProfile !== null) {
          await api.privileged('profileset', [profileFor(profiles, fullProfile[0])]);
          reducedTo = null;
        }
        if (asleep !== false) {
          await curtailAction(api, ctx.log, 'wakeup');
          asleep = false;
        }
      }),

    readState: () =>
      serial(async () => {
        guard();
        return readLuxosState(api, where, asleep, reducedTo);
      }),

    close: () => {
      if (closed) return;
      closed = true;
      api.logoff();
    },
  };

  if (profiles.length > 0) {
    control.setPowerTarget = (watts: number) =>
      serial(async () => {
        guard();
        await api.privileged('profileset', [profileFor(profiles, watts)]);
        reducedTo = fullProfile !== null && watts < fullProfile[0] ? watts : null;
        // A power target means "run at this power": wake the boards if hashgate had put them to sleep.
        if (asleep === true) {
          await curtailAction(api, ctx.log, 'wakeup');
          asleep = false;
        }
      });
  }
  return control;
}
