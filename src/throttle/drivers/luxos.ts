/**
 * The `luxos` driver: LuxOS (LUXminer) firmware through its cgminer-style API,
 * JSON over TCP port 4028. Reference: docs/drivers.md, and Luxor's API docs
 * (https://docs.luxor.tech/firmware/api/sessions, …/luxminer/curtail,
 * …/luxminer/profileset, …/luxminer/logon).
 *
 * Wire facts this module relies on:
 * - One TCP connection per command: the client writes one JSON object
 *   (`{"command": "curtail", "parameter": "<session>,sleep"}`), the miner
 *   writes one JSON reply, often followed by a NUL byte, and closes.
 * - Parameters are one comma-separated string; commands that change the
 *   miner take the session id as their first parameter.
 * - Every reply has `STATUS: [{STATUS: "S"|"I"|"W"|"E"|"F", Code, Msg, …}]`;
 *   E and F are failures, Msg says why.
 * - `logon` creates the (single) session and returns `SESSION[0].SessionID`;
 *   a session expires after one idle minute, so a cached id that the miner no
 *   longer knows is answered with an error: log on again, once.
 * - `curtail` `sleep` turns the hashboards and the PSU output off; `wakeup`
 *   ramps them back. `profileset` selects a power/frequency profile.
 * - `summary` (`SUMMARY[0]["GHS 5s"]`) and `power` (`POWER[0].Watts`) need no
 *   session.
 */

import net from 'node:net';
import type { DriverConfig } from '../../config/throttle-schema.js';
import type { Logger } from '../../util/log.js';
import { DriverError, type RigControl, type RigFirmwareState } from '../types.js';
import { clip, createSerialQueue, describeAddress, socketErrorMessage } from './common.js';

export type LuxosDriverConfig = Extract<DriverConfig, { type: 'luxos' }>;

export interface LuxosContext {
  /** The resolved address (driver.host, else the rig's Stratum source address). */
  readonly host: string;
  readonly log: Logger;
  /** Reads driver.passwordFile (once, on first need). */
  readonly readFile: (path: string) => Promise<string>;
}

/** Replies larger than this are refused (a full `stats` reply is a few KiB). */
const MAX_REPLY_BYTES = 1 << 20;
/** How long close() gives the best-effort `logoff`. */
const LOGOFF_TIMEOUT_MS = 1000;

type Reply = Record<string, unknown>;

/** A STATUS E/F answer from the miner. */
class LuxosStatusError extends DriverError {
  constructor(
    message: string,
    readonly statusCode: number | null,
    readonly statusMsg: string,
  ) {
    super('luxos', message);
  }
}

/**
 * Sends one command on its own connection and resolves with the parsed reply (STATUS not checked here).
 * Rejects with a DriverError on timeout, refusal, a dropped connection or a reply that is not JSON.
 * `line` may hold the password (logon): it is written to the socket and nowhere else.
 */
function roundTrip(host: string, port: number, line: string, timeoutMs: number, label: string, background = false): Promise<Reply> {
  const where = describeAddress(host, port);
  return new Promise<Reply>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => fail(`${label}: timed out after ${timeoutMs} ms at ${where}`), timeoutMs);
    if (background) {
      socket.unref();
      timer.unref();
    }
    function settle(): boolean {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      return true;
    }
    function fail(message: string): void {
      if (settle()) reject(new DriverError('luxos', message));
    }
    function complete(): void {
      if (!settled) parse(Buffer.concat(chunks, size));
    }
    function parse(bytes: Buffer): void {
      // cgminer terminates its reply with a NUL byte; some builds also pad with whitespace.
      const text = bytes.toString('utf8').replace(/[\0\s]+$/, '');
      if (text === '') return fail(`${label}: connection closed without a reply at ${where}`);
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return fail(`${label}: reply from ${where} is not JSON`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value))
        return fail(`${label}: reply from ${where} is not a JSON object`);
      if (settle()) resolve(value as Reply);
    }
    socket.on('connect', () => socket.write(line));
    socket.on('data', (chunk: Buffer) => {
      const nul = chunk.indexOf(0);
      const part = nul >= 0 ? chunk.subarray(0, nul) : chunk;
      chunks.push(part);
      size += part.length;
      if (size > MAX_REPLY_BYTES) return fail(`${label}: reply from ${where} exceeds ${MAX_REPLY_BYTES} bytes`);
      if (nul >= 0) complete();
    });
    socket.on('end', complete);
    socket.on('close', complete);
    socket.on('error', (e) => fail(`${label}: ${socketErrorMessage(e, where)}`));
  });
}

function firstStatus(reply: Reply): { status: string; code: number | null; msg: string } | null {
  const list = reply.STATUS;
  if (!Array.isArray(list) || list.length === 0 || typeof list[0] !== 'object' || list[0] === null) return null;
  const s = list[0] as Record<string, unknown>;
  return {
    status: typeof s.STATUS === 'string' ? s.STATUS : '',
    code: typeof s.Code === 'number' ? s.Code : null,
    msg: typeof s.Msg === 'string' ? s.Msg : '',
  };
}

function firstRecord(reply: Reply, key: string): Record<string, unknown> | null {
  const list = reply[key];
  return Array.isArray(list) && typeof list[0] === 'object' && list[0] !== null ? (list[0] as Record<string, unknown>) : null;
}

function numberOf(v: unknown): number | null {
  const n = typeof v === 'number' ? v : typeof v === 'string' && v.trim() !== '' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

/** An error Msg about the session (expired, unknown or invalid id): worth one fresh logon. */
function isSessionError(e: LuxosStatusError): boolean {
  return /session/i.test(e.statusMsg) && !/another session/i.test(e.statusMsg);
}

/** Profile names go into a comma-separated parameter; LuxOS reads a bare 0–3 as a legacy board id. */
function profileNameProblem(name: string): string | null {
  if (name.includes(',')) return 'contains a comma (LuxOS parameters are comma-separated)';
  if (/^\s*[0-3]\s*$/.test(name)) return 'is 0–3, which LuxOS reads as a board id';
  return null;
}

/** The miner's API as the control uses it: the session (logon, and once more when it expired) and the password behind it. */
interface LuxosApi {
  /** One command; rejects with LuxosStatusError on STATUS E/F. `label` names it in messages (never with parameters). */
  send(command: string, params: readonly string[], label: string): Promise<Reply>;
  /** A command that needs the session: logs on if needed, and once more if the miner no longer knows the cached id. */
  privileged(command: string, args: readonly string[]): Promise<Reply>;
  /** Frees the miner's single session for other tools; best effort, never keeps the process alive. */
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

function createLuxosApi(config: LuxosDriverConfig, ctx: LuxosContext): LuxosApi {
  const { host, log } = ctx;
  const { port, timeoutMs } = config;
  const where = describeAddress(host, port);
  let session: string | null = null;
  /** undefined = not loaded yet (read once, on first need); null = none configured. */
  let password: string | null | undefined;

  /** Removes the password from a text that came from the miner (a firmware could echo a parameter). */
  function scrub(text: string): string {
    return password ? text.split(password).join('[redacted]') : text;
  }

  async function send(command: string, params: readonly string[], label: string): Promise<Reply> {
    const request: { command: string; parameter?: string } = { command };
    if (params.length > 0) request.parameter = params.join(',');
    log.debug({ command: label }, 'luxos command');
    const reply = await roundTrip(host, port, JSON.stringify(request), timeoutMs, label);
    const status = firstStatus(reply);
    if (status === null) throw new DriverError('luxos', `${label}: reply from ${where} has no STATUS`);
    if (status.status === 'E' || status.status === 'F') {
      const msg = clip(scrub(status.msg)) || 'error';
      const code = status.code === null ? '' : ` (LuxOS code ${status.code})`;
      throw new LuxosStatusError(`${label}: ${msg}${code}`, status.code, scrub(status.msg));
    }
    return reply;
  }

  async function logon(): Promise<string> {
    password ??= await readPassword(config, ctx);
    // Documented logon takes no parameter; firmware with an API password set reads it as the parameter.
    const reply = await send('logon', password === null ? [] : [password], 'logon');
    const id = firstRecord(reply, 'SESSION')?.SessionID;
    if (typeof id !== 'string' || id === '' || id.includes(','))
      throw new DriverError('luxos', `logon: no usable SessionID in the reply from ${where}`);
    session = id;
    log.debug('luxos session opened');
    return id;
  }

  async function privileged(command: string, args: readonly string[]): Promise<Reply> {
    const label = [command, ...args].join(' ');
    const id = session ?? (await logon());
    try {
      return await send(command, [id, ...args], label);
    } catch (e) {
      if (!(e instanceof LuxosStatusError && isSessionError(e))) throw e;
    }
    session = null;
    log.info({ command: label }, 'luxos session expired; logging on again');
    return send(command, [await logon(), ...args], label);
  }

  function logoff(): void {
    const id = session;
    session = null;
    if (id === null) return;
    roundTrip(host, port, JSON.stringify({ command: 'logoff', parameter: id }), LOGOFF_TIMEOUT_MS, 'logoff', true).catch(() => {
      /* the session expires on its own after a minute */
    });
  }

  return { send, privileged, logoff };
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

/** The rig's state from `summary` (hash rate) and `power` (watts, where the build has it), with what hashgate last commanded. */
async function readLuxosState(api: LuxosApi, where: string, asleep: boolean | null, reducedTo: number | null): Promise<RigFirmwareState> {
  const summary = firstRecord(await api.send('summary', [], 'summary'), 'SUMMARY');
  const ghs = numberOf(summary?.['GHS 5s']) ?? numberOf(summary?.['GHS av']);
  if (ghs === null) throw new DriverError('luxos', `summary: reply from ${where} has no hash rate`);
  let watts: number | null = null;
  try {
    watts = numberOf(firstRecord(await api.send('power', [], 'power'), 'POWER')?.Watts);
  } catch (e) {
    // Older LUXminer builds have no `power` command: the hash rate alone still tells whether it hashes.
    if (!(e instanceof LuxosStatusError)) throw e;
  }
  const parts = [`${ghs} GH/s (5 s)`, watts === null ? 'power unknown' : `${watts} W`];
  if (asleep === true) parts.push('sleep commanded');
  if (reducedTo !== null) parts.push(`profile for ${reducedTo} W`);
  return { hashing: ghs > 0, powerWatts: watts, detail: parts.join(', ') };
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

    curtail: () =>
      serial(async () => {
        guard();
        await api.privileged('curtail', ['sleep']);
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
          await api.privileged('curtail', ['wakeup']);
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
          await api.privileged('curtail', ['wakeup']);
          asleep = false;
        }
      });
  }
  return control;
}
