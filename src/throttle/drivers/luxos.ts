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
 * - `summary` (`SUMMARY[0]["GHS 5s"]`), `power` (`POWER[0].Watts`), `config`
 *   (`CONFIG[0].CurtailMode`, "Sleep" while curtailed), `version` and `profiles` need no
 *   session (readState: luxos-state.ts; power targets: luxos-profiles.ts).
 * - Power targets are LuxOS profiles: the firmware lists them (`profiles`, read by
 *   readPowerTargets), driver.profiles overrides the name for the same watts. resume()
 *   returns to the firmware's "default" profile (else the highest-watt one known).
 */

import type { DriverConfig } from '../../config/throttle-schema.js';
import type { Logger } from '../../util/log.js';
import { DriverError, type RigControl } from '../types.js';
import { clip, createSerialQueue, describeAddress } from './common.js';
import { createProfileBook, readFirmwareProfiles } from './luxos-profiles.js';
import { createLuxosStateReader } from './luxos-state.js';
import { firstStatus, LuxosStatusError, type LuxosSend, type Reply, roundTrip, sessionIdOf } from './luxos-wire.js';
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

/** The miner's API as the control uses it: the session (found or logged on, and renewed once) and the password behind it. */
interface LuxosApi {
  /** One command; rejects with LuxosStatusError on STATUS E/F. `label` names it in messages (never with parameters). */
  send: LuxosSend;
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
function createSender(config: LuxosDriverConfig, ctx: LuxosContext, scrub: (text: string) => string): LuxosSend {
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

export function createLuxosControl(config: LuxosDriverConfig, ctx: LuxosContext): RigControl {
  const where = describeAddress(ctx.host, config.port);
  const api = createLuxosApi(config, ctx);
  const serial = createSerialQueue();
  const profiles = createProfileBook(config.profiles);
  const state = createLuxosStateReader(api.send, where);
  /** What hashgate last made the rig do: null = unknown (e.g. after a restart). */
  let asleep: boolean | null = null;
  /** Watts of the profile hashgate selected instead of the full-power one, null when it did not. */
  let reducedTo: number | null = null;
  let closed = false;

  function guard(): void {
    if (closed) throw new DriverError('luxos', 'driver closed');
  }

  /** Wakes the boards unless hashgate knows they are awake. */
  async function wake(): Promise<void> {
    if (asleep === false) return;
    await curtailAction(api, ctx.log, 'wakeup');
    asleep = false;
  }

  return {
    kind: 'luxos',
    /** True once a profile is known: configured, or listed by the firmware (readPowerTargets). */
    get supportsPowerTarget() {
      return profiles.any;
    },
    keepsSession: true,
    timing: driverTiming('luxos', config.settle),

    curtail: () =>
      serial(async () => {
        guard();
        await curtailAction(api, ctx.log, 'sleep');
        asleep = true;
      }),

    setPowerTarget: (watts: number) =>
      serial(async () => {
        guard();
        await api.privileged('profileset', [profiles.nameFor(watts)]);
        reducedTo = watts === profiles.full?.watts ? null : watts;
        // A power target means "run at this power": wake the boards if hashgate had put them to sleep.
        if (asleep === true) await wake();
      }),

    resume: () =>
      serial(async () => {
        guard();
        // Back to full power: the full-power profile if hashgate had selected another, then wake the boards.
        const full = profiles.full;
        if (reducedTo !== null && full !== null) {
          await api.privileged('profileset', [profiles.nameFor(full.watts)]);
          reducedTo = null;
        }
        await wake();
      }),

    readState: () =>
      serial(async () => {
        guard();
        return state.read({ asleep, profileWatts: reducedTo });
      }),

    readPowerTargets: () =>
      serial(async () => {
        guard();
        const list = await readFirmwareProfiles(api.send, where);
        profiles.learn(list);
        ctx.log.debug({ count: list.length }, 'luxos: firmware profiles read');
        return list;
      }),

    close: () => {
      if (closed) return;
      closed = true;
      api.logoff();
    },
  };
}
