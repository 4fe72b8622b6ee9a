/**
 * A simulated LuxOS (LUXminer) miner API over real TCP on 127.0.0.1, for tests
 * and demos. Written from Luxor's public API docs, independent of src/:
 *   https://docs.luxor.tech/firmware/api/sessions
 *   https://docs.luxor.tech/firmware/api/luxminer/logon
 *   https://docs.luxor.tech/firmware/api/luxminer/curtail
 *   https://docs.luxor.tech/firmware/api/luxminer/profileset
 *   https://docs.luxor.tech/firmware/api/luxminer/session
 *
 * Protocol (cgminer style): one connection per command. The client writes one
 * JSON object `{"command": C, "parameter": "p1,p2,…"}`; the sim writes one JSON
 * reply followed by a NUL byte and closes. Every reply carries
 * `STATUS: [{STATUS, When, Code, Msg, Description}]` (S = success, E = error).
 *
 * State machine:
 * - At most one session (docs: "only one session can exist at any given
 *   time"); it expires after sessionTtlMs without use (docs: one minute,
 *   refreshed by every use). `logon` while one is live → E "Another session is
 *   active" (code 402, as Luxor's own tooling expects). `logoff` ends it.
 * - `session` returns the live session's id, "" when there is none. Another
 *   tool on the same rig shares the one session: `otherTool.logon()` opens it
 *   as that tool would, `otherTool.logoff()` ends whichever session is live,
 *   and `failures.logoffAfter` makes the other tool log off right after the
 *   sim answered the named commands (between two commands of a client).
 * - `curtail` `<session>,sleep|wakeup`: sleeping = hashboards and PSU output
 *   off, the rig draws idleWatts and hashes nothing. `wakeup` of a rig that is
 *   not asleep → E "Miner is already active" (as LUXminer answers).
 * - Booting (`booting` option, `setBooting`): the first seconds after a power-up
 *   or reboot, awake but not hashing yet: 0 GH/s, idleWatts, CurtailMode
 *   "None". Only `config`'s CurtailMode "Sleep" says the rig sleeps.
 * - `profileset` `<session>,<name>`: selects a profile (watts, GH/s).
 * - `summary`, `stats`, `power`, `config`, `profiles`, `session`, `version` need no session.
 * Codes from the docs: 316 session created, 319 session info, 335 curtail, 321
 * profile set, 402 another session (Luxor's luxos-tooling); 14 "Invalid
 * command", 11 summary, 22 version, 70 stats, 33 config are cgminer's. Codes the public
 * docs do not give are the sim's own: 317 logoff, 0 for `profiles`/`power`,
 * 900 up for errors (bad session, bad password, unknown profile, injected).
 *
 * Optional API password (firmware with one set): `logon` must carry it as its
 * parameter. The command record never holds it.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { type FirmwareSim, type FirmwareSimOptions, matches, serveFirmwareSim, stateListeners } from './shared.js';

export interface LuxosSimProfile {
  readonly watts: number;
  /** Hash rate in GH/s while awake on this profile. */
  readonly ghs: number;
}

export interface LuxosSimState {
  readonly sleeping: boolean;
  /** Awake but not hashing yet (power-up, reboot); not asleep. */
  readonly booting: boolean;
  readonly profile: string;
  /** What the rig draws now: the profile's watts, or idleWatts while sleeping. */
  readonly watts: number;
  /** GH/s now (0 while sleeping or booting). */
  readonly ghs: number;
  readonly hashing: boolean;
  /** The live session id, or null. */
  readonly session: string | null;
}

/** A command as the sim received it. The logon parameter (the password) is never kept: it reads "[redacted]". */
export interface LuxosSimCommand {
  readonly command: string;
  readonly parameter: string | null;
  readonly at: number;
}

/** Switches tests flip at any time. A command list matches by command name; `true` matches every command. */
export interface LuxosSimFailures {
  /** Refuse every logon with this Msg (code 402). */
  refuseLogon: string | null;
  /** Answer these commands with STATUS E and this Msg. */
  errors: Partial<Record<string, string>>;
  /** Read the request, then never answer (the socket stays open until the client gives up or the sim closes). */
  hang: boolean | readonly string[];
  /** Read the request, then reset the connection without a reply. */
  drop: boolean | readonly string[];
  /** Answer these commands as usual (carrying them out), but with STATUS W and this Msg. */
  warnings: Partial<Record<string, string>>;
  /** Right after answering these commands, another tool logs the live session off. */
  logoffAfter: readonly string[];
}

/** Another tool on the same rig (a fleet manager, a script), sharing the one session. */
export interface LuxosSimOtherTool {
  /** Logs on as that tool would: the new session id, or null when a session is live ("Another session is active"). */
  logon(): string | null;
  /** Ends whichever session is live, as that tool's `logoff` (or `kill`) would. */
  logoff(): void;
}

export interface LuxosSimOptions extends FirmwareSimOptions<LuxosSimState> {
  /** API password; null (default) = none set, logon accepts any parameter. */
  readonly password?: string | null;
  /** Profiles by name; default "default" 3250 W / 110 TH/s, "2800W", "2400W". */
  readonly profiles?: Readonly<Record<string, LuxosSimProfile>>;
  /** Active profile at start (default: the first one). */
  readonly profile?: string;
  readonly sleeping?: boolean;
  /** Start booting: awake, 0 GH/s, until setBooting(false). */
  readonly booting?: boolean;
  /** Watts drawn while sleeping (control board, fans), default 15. */
  readonly idleWatts?: number;
  /** Idle time after which a session expires, default 60 000 ms (docs). */
  readonly sessionTtlMs?: number;
  /** End replies with a NUL byte (default true, as LUXminer does); false = close right after the JSON. */
  readonly nulTerminator?: boolean;
}

/** onChange: after every change of sleeping or profile. */
export interface LuxosSim extends FirmwareSim<LuxosSimState, LuxosSimFailures> {
  readonly commands: readonly LuxosSimCommand[];
  /** Makes the live session expire now (as a minute of idleness would). */
  expireSession(): void;
  readonly otherTool: LuxosSimOtherTool;
  /** Starts (true) or ends (false) the booting state; ignored while sleeping. */
  setBooting(on: boolean): void;
}

export const DEFAULT_LUXOS_PROFILES: Readonly<Record<string, LuxosSimProfile>> = Object.freeze({
  default: { watts: 3250, ghs: 110_000 },
  '2800W': { watts: 2800, ghs: 98_000 },
  '2400W': { watts: 2400, ghs: 86_000 },
});

const DESCRIPTION = 'LUXminer sim';
const MAX_REQUEST_BYTES = 64 * 1024;

export async function startLuxosSim(options: LuxosSimOptions = {}): Promise<LuxosSim> {
  const now = options.now ?? Date.now;
  const password = options.password ?? null;
  const profiles = options.profiles ?? DEFAULT_LUXOS_PROFILES;
  const names = Object.keys(profiles);
  if (names.length === 0) throw new Error('luxos sim: at least one profile');
  let profile = options.profile ?? names[0]!;
  if (profiles[profile] === undefined) throw new Error(`luxos sim: unknown profile ${profile}`);
  let sleeping = options.sleeping ?? false;
  let booting = !sleeping && (options.booting ?? false);
  const idleWatts = options.idleWatts ?? 15;
  const ttl = options.sessionTtlMs ?? 60_000;
  const nul = options.nulTerminator ?? true;
  let session: { id: string; lastUsed: number } | null = null;
  const commands: LuxosSimCommand[] = [];
  const failures: LuxosSimFailures = { refuseLogon: null, errors: {}, hang: false, drop: false, warnings: {}, logoffAfter: [] };
  const listeners = stateListeners(options.onChange);
  const started = now();

  function liveSession(): string | null {
    if (session !== null && now() - session.lastUsed > ttl) session = null;
    return session?.id ?? null;
  }

  function state(): LuxosSimState {
    const p = profiles[profile]!;
    const idle = sleeping || booting;
    return {
      sleeping,
      booting,
      profile,
      watts: idle ? idleWatts : p.watts,
      ghs: idle ? 0 : p.ghs,
      hashing: !idle,
      session: liveSession(),
    };
  }

  function changed(): void {
    listeners.notify(state());
  }

  function reply(status: 'S' | 'E' | 'W', code: number, msg: string, body: Record<string, unknown> = {}): Record<string, unknown> {
    return { ...body, STATUS: [{ STATUS: status, When: Math.floor(now() / 1000), Code: code, Msg: msg, Description: DESCRIPTION }], id: 1 };
  }

  /** Checks the session id a privileged command carries, and refreshes it. */
  function checkSession(id: string | undefined): Record<string, unknown> | null {
    const live = liveSession();
    if (live === null || id !== live) return reply('E', 900, 'Invalid session ID');
    session!.lastUsed = now();
    return null;
  }

  /** One command: injected errors and warnings, the command itself, then another tool's logoff if switched on. */
  function handle(command: string, params: string[]): Record<string, unknown> {
    const injected = failures.errors[command];
    if (injected !== undefined) return reply('E', 999, injected);
    const answer = execute(command, params);
    const warning = failures.warnings[command];
    const status = (answer.STATUS as { STATUS: string; Code: number }[])[0]!;
    if (warning !== undefined && status.STATUS === 'S') Object.assign(answer, reply('W', status.Code, warning));
    if (failures.logoffAfter.includes(command)) session = null;
    return answer;
  }

  function execute(command: string, params: string[]): Record<string, unknown> {
    switch (command) {
      case 'logon': {
        if (failures.refuseLogon !== null) return reply('E', 402, failures.refuseLogon);
        if (password !== null && params.join(',') !== password) return reply('E', 901, 'Invalid password');
        if (liveSession() !== null) return reply('E', 402, 'Another session is active');
        session = { id: randomBytes(6).toString('base64url'), lastUsed: now() };
        return reply('S', 316, 'Session created', { SESSION: [{ SessionID: session.id }] });
      }
      case 'logoff': {
        const bad = checkSession(params[0]);
        if (bad) return bad;
        session = null;
        return reply('S', 317, 'Session terminated');
      }
      case 'session':
        return reply('S', 319, 'Session information', { SESSION: [{ SessionID: liveSession() ?? '' }] });
      case 'curtail': {
        const bad = checkSession(params[0]);
        if (bad) return bad;
        const action = params[1];
        if (action !== 'sleep' && action !== 'wakeup') return reply('E', 902, 'Invalid curtail action');
        if (action === 'wakeup' && !sleeping) return reply('E', 904, 'Miner is already active');
        const was = sleeping;
        sleeping = action === 'sleep';
        booting = false;
        if (was !== sleeping) changed();
        return reply('S', 335, 'Curtailment command sent', { CURTAIL: [{ Action: sleeping ? 'sleep mode' : 'wake up' }] });
      }
      case 'profileset': {
        const bad = checkSession(params[0]);
        if (bad) return bad;
        const name = params[1] ?? '';
        if (profiles[name] === undefined) return reply('E', 903, `Profile not found: ${name}`);
        const was = profile;
        profile = name;
        if (was !== profile) changed();
        return reply('S', 321, 'Profile Set', { PROFILE: [{ Board: 0, FrequencyStep: 5, Profile: name, VoltageStep: 0.05 }] });
      }
      case 'profiles':
        return reply('S', 0, 'Profiles', {
          PROFILES: names.map((n) => ({ 'Profile Name': n, Watts: profiles[n]!.watts, Hashrate: profiles[n]!.ghs / 1000 })),
        });
      case 'summary': {
        const s = state();
        const elapsed = Math.floor((now() - started) / 1000);
        return reply('S', 11, 'Summary', { SUMMARY: [{ Elapsed: elapsed, 'GHS 5s': s.ghs, 'GHS av': s.ghs }] });
      }
      case 'stats': {
        const s = state();
        return reply('S', 70, 'CGMiner stats', {
          STATS: [{ Type: 'Antminer S19 (sim)' }, { Elapsed: Math.floor((now() - started) / 1000), 'GHS 5s': s.ghs }],
        });
      }
      case 'power':
        return reply('S', 0, 'Power', { POWER: [{ Watts: state().watts, PSU: !sleeping }] });
      case 'config':
        return reply('S', 33, 'LUXminer config', {
          CONFIG: [
            {
              CurtailMode: sleeping ? 'Sleep' : 'None',
              IsPowerSupplyOn: !sleeping,
              Profile: profile,
              SystemStatus: booting ? 'Initializing' : 'Normal',
              Model: 'Antminer S19 (sim)',
            },
          ],
        });
      case 'version':
        return reply('S', 22, 'LUXminer versions', { VERSION: [{ API: '3.7', LUXminer: 'sim', Type: 'Antminer S19 (sim)' }] });
      default:
        return reply('E', 14, 'Invalid command');
    }
  }

  function record(command: string, parameter: string | null): void {
    let p = parameter;
    if (command === 'logon' && p !== null) p = '[redacted]';
    else if (p !== null && password !== null && password !== '') p = p.split(password).join('[redacted]');
    commands.push({ command, parameter: p, at: now() });
  }

  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let buf = '';
    let done = false;
    const tryRequest = (final: boolean): void => {
      if (done) return;
      const text = buf.replace(/[\0\s]+$/, '');
      let req: unknown;
      try {
        req = JSON.parse(text);
      } catch {
        if (!final) return; // wait for the rest
        done = true;
        socket.end(JSON.stringify(reply('E', 23, 'Invalid JSON')) + (nul ? '\0' : ''));
        return;
      }
      done = true;
      const r = (typeof req === 'object' && req !== null ? req : {}) as { command?: unknown; parameter?: unknown };
      const command = typeof r.command === 'string' ? r.command : '';
      const parameter = r.parameter === undefined || r.parameter === null ? null : String(r.parameter);
      record(command, parameter);
      if (matches(failures.hang, command)) return;
      if (matches(failures.drop, command)) {
        socket.resetAndDestroy();
        return;
      }
      const params = parameter === null || parameter === '' ? [] : parameter.split(',');
      socket.end(JSON.stringify(handle(command, params)) + (nul ? '\0' : ''));
    };
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      if (buf.length > MAX_REQUEST_BYTES) {
        socket.destroy();
        return;
      }
      tryRequest(false);
    });
    socket.on('end', () => tryRequest(true));
  });

  const sim = await serveFirmwareSim(server, state, failures, listeners);
  return Object.assign(sim, {
    commands,
    expireSession() {
      if (session !== null) session.lastUsed = now() - ttl - 1;
    },
    otherTool: {
      logon() {
        if (liveSession() !== null) return null;
        session = { id: randomBytes(6).toString('base64url'), lastUsed: now() };
        return session.id;
      },
      logoff() {
        session = null;
      },
    },
    setBooting(on: boolean) {
      if (sleeping || booting === on) return;
      booting = on;
      changed();
    },
  });
}
