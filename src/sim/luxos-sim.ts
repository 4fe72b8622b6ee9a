/**
 * A simulated LuxOS (LUXminer) miner API over real TCP on 127.0.0.1, for tests
 * and demos. Written from Luxor's public API docs and from what the common fleet
 * client (pyasic) reads, independent of src/:
 *   https://docs.luxor.tech/firmware/api/sessions
 *   https://docs.luxor.tech/firmware/api/luxminer/logon
 *   https://docs.luxor.tech/firmware/api/luxminer/curtail
 *   https://docs.luxor.tech/firmware/api/luxminer/profileset
 *   https://docs.luxor.tech/firmware/api/luxminer/session
 *   https://docs.luxor.tech/firmware/api/luxminer/atm, …/atmset, …/tempctrlset
 *   https://docs.luxor.tech/firmware/api/cgminer/fans, …/cgminer/version
 *   UpstreamData/pyasic pyasic/miners/backends/luxminer.py, pyasic/rpc/luxminer.py,
 *   pyasic/config (MiningPreset.from_luxos, FanModeConfig.from_luxos, TemperatureConfig.from_luxos)
 *   notes/firmware-apis.md §§ 0 and 3.
 *
 * Protocol (cgminer style): one connection per command. The client writes one
 * JSON object `{"command": C, "parameter": "p1,p2,…"}`; the sim writes one JSON
 * reply followed by a NUL byte and closes the socket, as cgminer's API does
 * ("reply with a string and then close the socket each time", cgminer
 * API-README): a client that reads until EOF (pyasic) is never left waiting.
 * Every reply carries `STATUS: [{STATUS, When, Code, Msg, Description}]`
 * (S = success, E = error), Description "LUXminer <version>".
 *
 * Multi-command (cgminer): read commands joined with '+' (`tempctrl+fans+pools`)
 * are answered in one reply keyed by command, each value a one-element list
 * holding that command's own reply, plus `"id": 1` (no top-level STATUS). A
 * command unknown to the build answers "Invalid command" in its slot. Commands
 * that change the miner cannot be joined: the whole reply is then STATUS E
 * (the sim's wording). At most 16 commands per join.
 *
 * Read commands (no session needed) and their sections:
 * - `summary` SUMMARY[0] (`GHS 5s`, `GHS av`, Elapsed); `stats` STATS[1] as pyasic reads it
 *   (chain_rateN, chain_acnN, temp_chipN/temp_pcbN dash strings, total_rateideal, rate_unit, Elapsed);
 *   `power` POWER[0].Watts; `version` VERSION[0] (API, LUXminer, Miner, CompileTime, Type).
 * - `config` CONFIG[0]: MACAddr, Profile (the active profile's name), RedLed "off", CurtailMode
 *   ("Sleep" while curtailed, else "None"), IsPowerSupplyOn, SystemStatus, Model.
 * - `profiles` PROFILES[]: "Profile Name", Watts, Hashrate (TH/s), IsTuned, Frequency (MHz), Voltage (V).
 * - `atm` ATM[0] (Enabled, Max/MinProfile(Step), PostRampMinutes, StartupMinutes, TempWindow, …), code 339.
 * - `tempctrl` TEMPCTRL[0] (Mode, Target, Hot, Dangerous); `fans` FANS[] (FAN, ID, RPM, Speed %) and
 *   FANCTRL[0] (MinFans, PowerOffSpeed), code 202 "N Fan(s)"; `pools` POOLS[] in cgminer's shape
 *   (POOL, URL, User, Status, Accepted, Rejected, Get Failures, Remote Failures, Stratum Active, …);
 *   `groups` GROUPS[] (GROUP, Name, Quota, Pools: pool indexes; field names not in the public docs).
 * - `session` the live session's id, "" when there is none.
 *
 * State machine:
 * - At most one session (docs: "only one session can exist at any given
 *   time"); it expires after sessionTtlMs without use (docs: one minute,
 *   refreshed by every use). `logon` while one is live → E "Another session is
 *   active" (code 402, as Luxor's own tooling expects). `logoff` ends it.
 *   Another tool on the same rig shares the one session: `otherTool.logon()`
 *   opens it as that tool would, `otherTool.logoff()` ends whichever session is
 *   live, and `failures.logoffAfter` makes the other tool log off right after
 *   the sim answered the named commands (between two commands of a client).
 * - `curtail` `<session>,sleep|wakeup`: sleeping = hashboards and PSU output
 *   off, the rig draws idleWatts and hashes nothing. `wakeup` of a rig that is
 *   not asleep → E "Miner is already active" (as LUXminer answers).
 * - Booting (`booting` option, `setBooting`): the first seconds after a power-up
 *   or reboot, awake but not hashing yet: 0 GH/s, idleWatts, CurtailMode
 *   "None". Only `config`'s CurtailMode "Sleep" says the rig sleeps.
 * - `profileset` `<session>,<name>`: selects a profile by its exact name (watts, GH/s).
 * - `atmset` `<session>,enabled=true|false`: switches ATM (the autotuner) on or off (code 340).
 * - An older build (`unsupported` option) answers the commands it lacks with code 14 "Invalid command".
 * Codes from the docs: 316 session created, 319 session info, 335 curtail, 321
 * profile set, 339 atm, 340 atmset, 22 version, 202 fans, 402 another session (Luxor's
 * luxos-tooling); 14 "Invalid command", 11 summary, 70 stats, 33 config, 7 pools are cgminer's.
 * Codes the public docs do not give are the sim's own: 317 logoff, 0 for `profiles`, `power`,
 * `tempctrl` and `groups`, 900 up for errors (bad session, bad password, unknown profile,
 * not joinable, injected).
 *
 * Optional API password (firmware with one set): `logon` must carry it as its
 * parameter (the sim's assumption; the public docs show `logon` without one). The
 * command record never holds it.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { type FirmwareSim, type FirmwareSimOptions, matches, serveFirmwareSim, stateListeners } from './shared.js';

export interface LuxosSimProfile {
  readonly watts: number;
  /** Hash rate in GH/s while awake on this profile. */
  readonly ghs: number;
  /** Chip frequency in MHz (default: derived from the hash rate). */
  readonly frequency?: number;
  /** Board voltage in V (default: derived from the watts). */
  readonly voltage?: number;
  /** Whether the autotuner has tuned this profile (default false). */
  readonly tuned?: boolean;
}

/** A pool as `pools` lists it. */
export interface LuxosSimPool {
  readonly url: string;
  readonly user: string;
}

export interface LuxosSimState {
  readonly sleeping: boolean;
  /** Awake but not hashing yet (power-up, reboot); not asleep. */
  readonly booting: boolean;
  readonly profile: string;
  /** ATM (the autotuner) on. */
  readonly atm: boolean;
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
  /** Pools in priority order (default one: stratum+tcp://127.0.0.1:3333, user "hashgate.sim"). */
  readonly pools?: readonly LuxosSimPool[];
  /** `config` MACAddr (default "02:00:00:4c:58:01", lower case as some builds send it; clients upper-case it). */
  readonly mac?: string;
  /** The LUXminer version `version` reports (LUXminer and Miner) and every Description carries. */
  readonly firmwareVersion?: string;
  /** Commands this build lacks: answered with code 14 "Invalid command" (an older LUXminer, e.g. ['version', 'profiles']). */
  readonly unsupported?: readonly string[];
  /** ATM (the autotuner) on at start (default false). */
  readonly atm?: boolean;
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

/** onChange: after every change of sleeping, profile or ATM. */
export interface LuxosSim extends FirmwareSim<LuxosSimState, LuxosSimFailures> {
  readonly commands: readonly LuxosSimCommand[];
  /** Makes the live session expire now (as a minute of idleness would). */
  expireSession(): void;
  readonly otherTool: LuxosSimOtherTool;
  /** Starts (true) or ends (false) the booting state; ignored while sleeping. */
  setBooting(on: boolean): void;
  /** LUXminer restarts (as after a firmware update): `Elapsed` counts from 0 again; `firmwareVersion` replaces the version. */
  restartMiner(firmwareVersion?: string): void;
}

export const DEFAULT_LUXOS_PROFILES: Readonly<Record<string, LuxosSimProfile>> = Object.freeze({
  default: { watts: 3250, ghs: 110_000, frequency: 545, voltage: 13.4 },
  '2800W': { watts: 2800, ghs: 98_000, frequency: 495, voltage: 13.2 },
  '2400W': { watts: 2400, ghs: 86_000, frequency: 445, voltage: 13.0 },
});

const DEFAULT_FIRMWARE_VERSION = '2024.1.26.143259-2d8448bf';
const MODEL = 'Antminer S19 (sim)';
const MAX_REQUEST_BYTES = 64 * 1024;
/** Commands a join may hold at most (the sim's bound). */
const MAX_JOINED = 16;
/** Commands that change the miner: never joinable, and the ones that take a session. */
const WRITES: ReadonlySet<string> = new Set(['logon', 'logoff', 'curtail', 'profileset', 'atmset']);
const FAN_COUNT = 4;
const BOARDS = 3;
const CHIPS_PER_BOARD = 126;

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
  let atm = options.atm ?? false;
  const idleWatts = options.idleWatts ?? 15;
  const ttl = options.sessionTtlMs ?? 60_000;
  const nul = options.nulTerminator ?? true;
  const pools = options.pools ?? [{ url: 'stratum+tcp://127.0.0.1:3333', user: 'hashgate.sim' }];
  const mac = options.mac ?? '02:00:00:4c:58:01';
  let firmwareVersion = options.firmwareVersion ?? DEFAULT_FIRMWARE_VERSION;
  const unsupported = new Set(options.unsupported ?? []);
  let session: { id: string; lastUsed: number } | null = null;
  const commands: LuxosSimCommand[] = [];
  const failures: LuxosSimFailures = { refuseLogon: null, errors: {}, hang: false, drop: false, warnings: {}, logoffAfter: [] };
  const listeners = stateListeners(options.onChange);
  let started = now();

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
      atm,
      watts: idle ? idleWatts : p.watts,
      ghs: idle ? 0 : p.ghs,
      hashing: !idle,
      session: liveSession(),
    };
  }

  function changed(): void {
    listeners.notify(state());
  }

  function elapsed(): number {
    return Math.floor((now() - started) / 1000);
  }

  function reply(status: 'S' | 'E' | 'W', code: number, msg: string, body: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      ...body,
      STATUS: [{ STATUS: status, When: Math.floor(now() / 1000), Code: code, Msg: msg, Description: `LUXminer ${firmwareVersion}` }],
      id: 1,
    };
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

  /** `a+b+c` (cgminer's join): each command's own reply in a one-element list under its name; writes refused whole. */
  function handleJoined(command: string, params: string[]): Record<string, unknown> {
    const parts = command.split('+');
    if (parts.length > MAX_JOINED) return reply('E', 906, `Too many joined commands (at most ${MAX_JOINED})`);
    const write = parts.find((c) => WRITES.has(c));
    if (write !== undefined) return reply('E', 905, `Command '${write}' cannot be joined`);
    const out: Record<string, unknown> = {};
    for (const part of parts) out[part] = [handle(part, params)];
    out.id = 1;
    return out;
  }

  function execute(command: string, params: string[]): Record<string, unknown> {
    if (unsupported.has(command)) return reply('E', 14, 'Invalid command');
    if (WRITES.has(command)) return executeWrite(command, params);
    return executeRead(command);
  }

  function executeWrite(command: string, params: string[]): Record<string, unknown> {
    if (command === 'logon') {
      if (failures.refuseLogon !== null) return reply('E', 402, failures.refuseLogon);
      if (password !== null && params.join(',') !== password) return reply('E', 901, 'Invalid password');
      if (liveSession() !== null) return reply('E', 402, 'Another session is active');
      session = { id: randomBytes(6).toString('base64url'), lastUsed: now() };
      return reply('S', 316, 'Session created', { SESSION: [{ SessionID: session.id }] });
    }
    const bad = checkSession(params[0]);
    if (bad) return bad;
    switch (command) {
      case 'logoff':
        session = null;
        return reply('S', 317, 'Session terminated');
      case 'curtail': {
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
        const name = params[1] ?? '';
        if (profiles[name] === undefined) return reply('E', 903, `Profile not found: ${name}`);
        const was = profile;
        profile = name;
        if (was !== profile) changed();
        return reply('S', 321, 'Profile Set', { PROFILE: [{ Board: 0, FrequencyStep: 5, Profile: name, VoltageStep: 0.05 }] });
      }
      default: {
        // atmset: only `enabled=true|false` is modelled.
        const setting = /^enabled=(true|false)$/.exec(params.slice(1).join(','));
        if (setting === null) return reply('E', 907, 'Invalid ATM setting');
        const was = atm;
        atm = setting[1] === 'true';
        if (was !== atm) changed();
        return reply('S', 340, 'ATM configuration updated');
      }
    }
  }

  function executeRead(command: string): Record<string, unknown> {
    const s = state();
    switch (command) {
      case 'session':
        return reply('S', 319, 'Session information', { SESSION: [{ SessionID: s.session ?? '' }] });
      case 'summary':
        return reply('S', 11, 'Summary', { SUMMARY: [{ Elapsed: elapsed(), 'GHS 5s': s.ghs, 'GHS av': s.ghs }] });
      case 'stats':
        return reply('S', 70, 'CGMiner stats', { STATS: [{ Type: MODEL }, boardStats(s)] });
      case 'power':
        return reply('S', 0, 'Power', { POWER: [{ Watts: s.watts, PSU: !sleeping }] });
      case 'config':
        return reply('S', 33, 'LUXminer config', {
          CONFIG: [
            {
              CurtailMode: sleeping ? 'Sleep' : 'None',
              IsPowerSupplyOn: !sleeping,
              MACAddr: mac,
              Model: MODEL,
              Profile: profile,
              RedLed: 'off',
              SystemStatus: booting ? 'Initializing' : 'Normal',
            },
          ],
        });
      case 'profiles':
        return reply('S', 0, 'Profiles', { PROFILES: names.map((n) => profileEntry(n, profiles[n]!)) });
      case 'version':
        return reply('S', 22, 'LUXminer versions', {
          VERSION: [
            { API: '3.7', CompileTime: 'Fri Jan 26 14:32:59 UTC 2024', LUXminer: firmwareVersion, Miner: firmwareVersion, Type: MODEL },
          ],
        });
      case 'atm':
        return reply('S', 339, 'ATM configuration values', {
          ATM: [
            {
              Enabled: atm,
              MaxProfile: '',
              MaxProfileStep: 0,
              MinProfile: '',
              MinProfileStep: 0,
              PostRampMinutes: 15,
              StartupMinutes: 15,
              TempWindow: 5,
              ChipTempWindow: 5,
              WaterInletTempWindow: 5,
            },
          ],
        });
      case 'tempctrl':
        return reply('S', 0, 'Temperature control', { TEMPCTRL: [{ Mode: 'Auto', Target: 75, Hot: 90, Dangerous: 100 }] });
      case 'fans':
        return reply('S', 202, `${FAN_COUNT} Fan(s)`, {
          FANS: Array.from({ length: FAN_COUNT }, (_, i) => ({ FAN: i, ID: i, RPM: sleeping ? 1800 : 4800, Speed: sleeping ? 30 : 80 })),
          FANCTRL: [{ MinFans: 1, PowerOffSpeed: 0 }],
        });
      case 'pools':
        return reply('S', 7, `${pools.length} Pool(s)`, { POOLS: pools.map((p, i) => poolEntry(p, i, s)) });
      case 'groups':
        return reply('S', 0, '1 Group(s)', { GROUPS: [{ GROUP: 0, Name: 'Default', Quota: 1, Pools: pools.map((_, i) => i) }] });
      default:
        return reply('E', 14, 'Invalid command');
    }
  }

  /** STATS[1] as pyasic reads it: per-board rate, chip count and dash-joined temperatures (3 boards). */
  function boardStats(s: LuxosSimState): Record<string, unknown> {
    const out: Record<string, unknown> = { Elapsed: elapsed(), 'GHS 5s': s.ghs, total_rateideal: profiles[profile]!.ghs, rate_unit: 'GH' };
    const [chip, pcb] = s.hashing ? [65, 50] : [30, 28];
    for (let b = 1; b <= BOARDS; b++) {
      out[`chain_rate${b}`] = Math.round((s.ghs / BOARDS) * 100) / 100;
      out[`chain_acn${b}`] = CHIPS_PER_BOARD;
      out[`temp_chip${b}`] = [chip, chip + 2, chip + 3, chip + 1].join('-');
      out[`temp_pcb${b}`] = [pcb, pcb + 2, pcb + 3, pcb + 1].join('-');
    }
    return out;
  }

  function profileEntry(name: string, p: LuxosSimProfile): Record<string, unknown> {
    return {
      'Profile Name': name,
      Watts: p.watts,
      Hashrate: Math.round(p.ghs / 100) / 10, // TH/s, one decimal
      IsTuned: p.tuned ?? false,
      Frequency: p.frequency ?? Math.round(p.ghs / 200),
      Voltage: p.voltage ?? Math.round(p.watts / 25) / 10,
    };
  }

  function poolEntry(p: LuxosSimPool, index: number, s: LuxosSimState): Record<string, unknown> {
    const active = index === 0 && s.hashing;
    return {
      POOL: index,
      URL: p.url,
      User: p.user,
      Status: 'Alive',
      Priority: index,
      Quota: 1,
      Accepted: 0,
      Rejected: 0,
      Stale: 0,
      'Get Failures': 0,
      'Remote Failures': 0,
      'Has Stratum': true,
      'Stratum Active': active,
      'Stratum URL': p.url.replace(/^[a-z+]+:\/\//, '').replace(/:\d+$/, ''),
    };
  }

  function record(command: string, parameter: string | null): void {
    let p = parameter;
    if (command === 'logon' && p !== null) p = '[redacted]';
    else if (p !== null && password !== null && password !== '') p = p.split(password).join('[redacted]');
    commands.push({ command, parameter: p, at: now() });
  }

  function answer(command: string, parameter: string | null): Record<string, unknown> {
    const params = parameter === null || parameter === '' ? [] : parameter.split(',');
    return command.includes('+') ? handleJoined(command, params) : handle(command, params);
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
      // One reply, then close (cgminer's API closes after every reply; pyasic reads until EOF).
      socket.end(JSON.stringify(answer(command, parameter)) + (nul ? '\0' : ''));
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
    restartMiner(version?: string) {
      started = now();
      if (version !== undefined) firmwareVersion = version;
    },
  });
}
