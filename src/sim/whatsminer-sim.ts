/**
 * A simulated Whatsminer (MicroBT btminer) API 2.x over real TCP on 127.0.0.1, for tests and demos, and with
 * `api3: true` API 3.x on a second port. Written from the MicroBT API v2.0.4/v2.0.5 docs and the wire format
 * pyasic's btminer client sends and reads (notes/firmware-apis.md § 2), independent of src/ except the pure
 * MD5-crypt in src/util.
 *
 * Protocol 2.x: one request per connection. The client writes one JSON object; the sim writes one JSON reply and
 * closes. Commands are named by `cmd` or `command`. The reads pyasic sends, in their documented shapes:
 * - list envelope `{"STATUS":[{"STATUS":"S",…}],"SECTION":[…]}`: `summary` (SUMMARY), `devs`/`edevs` (DEVS, one
 *   per hashboard), `devdetails` (DEVDETAILS), `pools` (POOLS); several joined by `+` (`summary+pools`) answer
 *   `{"summary":[…],"pools":[…],"id":1}`, as cgminer does;
 * - flat envelope `{"STATUS":"S","When","Code":131,"Msg":…,"Description":""}`: `status` (mineroff,
 *   mineroff_reason, FirmwareVersion, …), `get_version` (api_ver, rpc_ver, fw_ver, platform), `get_psu`,
 *   `get_miner_info`, `get_error_code` (Msg.error_code: []), `get_token`; these are refused in a `+` join.
 *
 * Privileged writes (`power_off` with `respbefore`, `power_on`, `adjust_power_limit` with `power_limit`):
 * - `get_token` → Code 134, Msg {time (4 chars), salt (the rig's, fixed), newsalt (8 chars, per token)}.
 * - key = hash part of md5crypt(password, salt); sign = hash part of md5crypt(key + time, newsalt).
 * - The client sends `{"enc":1,"data":base64(AES-256-ECB(SHA-256(key), JSON padded with NULs to 16))}` whose
 *   JSON carries `cmd`, its fields and `token` = sign. The sim decrypts with its own key; a text that does not
 *   decrypt to JSON (a wrong password) or an unknown or expired sign → Code 135 "check token err" (plain);
 *   success → `{"enc": base64(AES(reply))}` with Code 131 "API command OK".
 * - Tokens live tokenTtlMs (30 min on the firmware); more than maxTokens live → Code 136 "token over max times".
 * - `writeDisabled` (the factory default until WhatsMinerTool enables it) → Code 45, Msg "can't access write cmd".
 * Codes: 14 invalid command, 23 invalid JSON, 45 permission denied, 131 OK, 132 command error, 134 token,
 * 135 check token error, 136 token over max times (MicroBT v2.0.5).
 *
 * State (one, shared by both APIs):
 * - power_off: `mineroff` "true" at once (reason "by whatsminer api"); with respbefore "true" the reply goes out
 *   first and the boards stop powerOffDelayMs later (0 = right after the reply), with "false" before the reply.
 *   Stopped: 0 MH/s, idleWatts.
 * - power_on: btminer boots for resumeDelayMs (minutes on real rigs) before it hashes: 0 MH/s, mineroff "false".
 * - adjust_power_limit: sets `Power Limit` and, as pyasic's doc says, restarts btminer: limitRestartMs (default
 *   resumeDelayMs) of 0 MH/s. The hash rate and watts scale with the limit.
 * Every change (also a board stop or a boot ending later) calls onChange listeners, so tests wait on events.
 *
 * Older firmware: `missing` names commands the daemon does not know (Code 14 "invalid cmd" on 2.x, code -2 on
 * 3.x), e.g. adjust_power_limit before API 2.0.5, or get_version and status on a v1.x daemon; `legacy: true`
 * answers `status` in the old form (`btmineroff`, a quoted `Firmware Version`) and puts `Firmware Version` in the
 * summary. Failure switches (flip at any time): `hang` (read, never answer), `halfReply` (half the reply, then
 * close), `writeDisabled`, `down` (accept and close at once, as a port with nothing behind it: '2' and/or '3').
 *
 * API 3.x (port3): 4-byte little-endian length + JSON both ways; reply {code, when, msg, desc}; `get.device.info`
 * (param "salt" → msg.salt; else network/system/hardware/power/miner), `get.miner.status` (param summary, edevs
 * or pools), `get.miner.setting`; writes carry ts, account "super" and token = base64(SHA-256(cmd + password +
 * salt + ts))[0..8]: `set.miner.service` start/stop/restart, `set.miner.power_limit` (int W). A wrong token →
 * code -4 "access denied".
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { md5CryptHash } from '../util/md5-crypt.js';
import { type FirmwareSimOptions, listenOn, matches, stateListeners } from './shared.js';

export interface WhatsminerSimState {
  readonly mineroff: boolean;
  /** mineroff, but the boards still run (respbefore: the reply went out first). */
  readonly stopping: boolean;
  readonly booting: boolean;
  readonly powerLimit: number;
  readonly watts: number;
  /** MH/s now. */
  readonly mhs: number;
  readonly hashing: boolean;
  readonly liveTokens: number;
}

export type WhatsminerSimApi = '2' | '3';

export interface WhatsminerSimFailures {
  writeDisabled: boolean;
  /** Read the request, never answer. */
  hang: boolean | readonly string[];
  /** Write the first half of the reply, then close. */
  halfReply: boolean | readonly string[];
  /** Accept and close at once without a reply: that API's port is dead (a firmware without it, or one restarting). */
  down: boolean | readonly WhatsminerSimApi[];
}

export interface WhatsminerSimOptions extends FirmwareSimOptions<WhatsminerSimState> {
  /** 0 (default) = any free port; a real rig listens on 4028. */
  readonly port?: number;
  /**
   * The loopback address to serve on (default 127.0.0.1). Another one (127.0.0.77) lets a test serve the real ports
   * 4028 and 4433, as a rig does, without colliding with anything on 127.0.0.1; anything but loopback is refused.
   */
  readonly host?: string;
  readonly password?: string;
  readonly ratedWatts?: number;
  readonly idleWatts?: number;
  readonly ratedThs?: number;
  /** power_on → hashing (default 50 ms). */
  readonly resumeDelayMs?: number;
  /** power_off (respbefore "true") → boards stopped (default 0: right after the reply). */
  readonly powerOffDelayMs?: number;
  /** adjust_power_limit → hashing again (default resumeDelayMs). */
  readonly limitRestartMs?: number;
  readonly tokenTtlMs?: number;
  readonly maxTokens?: number;
  readonly booting?: boolean;
  /** get_version fw_ver (default "20230911.12.Rel"); status and 3.x fwversion follow it. */
  readonly firmwareVersion?: string;
  /** get_version api_ver (default "2.0.5"). */
  readonly apiVersion?: string;
  /** Commands this firmware does not know (Code 14 / -2). */
  readonly missing?: readonly string[];
  /** Old daemon shapes: `status` as {btmineroff, "Firmware Version"}, `Firmware Version` in the summary. */
  readonly legacy?: boolean;
  /** Also serve API 3.x (framed JSON) on a second port: `port3` (0 = any free port; 4433 on a real rig). */
  readonly api3?: boolean;
  readonly port3?: number;
}

export interface WhatsminerSimCommand {
  readonly cmd: string;
  readonly encrypted: boolean;
  readonly fields: Readonly<Record<string, unknown>>;
  /** Which API it came in on. */
  readonly api: WhatsminerSimApi;
}

export interface WhatsminerSim {
  readonly host: string;
  readonly port: number;
  /** The API 3.x port, or null when `api3` is off. */
  readonly port3: number | null;
  readonly state: WhatsminerSimState;
  readonly failures: WhatsminerSimFailures;
  /** Every request answered or hung, decrypted; the token field is never kept. */
  readonly commands: readonly WhatsminerSimCommand[];
  /** Connections accepted per API (also those `down` closed at once). */
  readonly connections: Readonly<Record<WhatsminerSimApi, number>>;
  /** Forgets every 2.x token and draws a new 3.x salt, as a firmware restart would. */
  expireTokens(): void;
  onChange(fn: (state: WhatsminerSimState) => void): () => void;
  close(): Promise<void>;
}

type Obj = Record<string, unknown>;

function aesKey(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}
function encrypt(key: string, text: string): string {
  const plain = Buffer.from(text, 'utf8');
  const padded = Buffer.alloc(Math.ceil(plain.length / 16) * 16 || 16);
  plain.copy(padded);
  const c = createCipheriv('aes-256-ecb', aesKey(key), null).setAutoPadding(false);
  return Buffer.concat([c.update(padded), c.final()]).toString('base64');
}
function decrypt(key: string, data: string): Obj | null {
  try {
    const bytes = Buffer.from(data, 'base64');
    if (bytes.length === 0 || bytes.length % 16 !== 0) return null;
    const d = createDecipheriv('aes-256-ecb', aesKey(key), null).setAutoPadding(false);
    const text = Buffer.concat([d.update(bytes), d.final()])
      .toString('utf8')
      .replace(/\0+$/, '');
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : null;
  } catch {
    return null;
  }
}

const SALT_CHARS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function randomSalt(): string {
  return Array.from(randomBytes(8), (b) => SALT_CHARS[b % SALT_CHARS.length]).join('');
}

const BOARDS = 3;
/** Plain reads a `+` join may name (cgminer-style list replies); the Whatsminer get_* and status may not. */
const LIST_READS = new Set(['summary', 'devs', 'edevs', 'devdetails', 'pools']);
const WRITES = new Set(['power_off', 'power_on', 'adjust_power_limit']);

interface Model {
  readonly ratedWatts: number;
  readonly ratedMhs: number;
  readonly firmware: string;
  readonly apiVersion: string;
  readonly legacy: boolean;
  readonly now: () => number;
}

/** The list-envelope reads (notes/firmware-apis.md § 2.2; field names as in pyasic's BTMinerSummaryItem and a captured M30S). */
function listRead(cmd: string, s: WhatsminerSimState, m: Model): Obj {
  const when = Math.floor(m.now() / 1000);
  const list = (msg: string, section: string, rows: Obj[]): Obj => ({
    STATUS: [{ STATUS: 'S', When: when, Code: 0, Msg: msg, Description: '' }],
    [section]: rows,
  });
  const boards = Array.from({ length: BOARDS }, (_, i) => i);
  const perBoard = Math.round(s.mhs / BOARDS);
  switch (cmd) {
    case 'summary':
      return list('Summary', 'SUMMARY', [
        {
          Elapsed: 1000,
          'MHS av': s.mhs,
          'MHS 5s': s.mhs,
          'MHS 1m': s.mhs,
          'MHS 5m': s.mhs,
          'MHS 15m': s.mhs,
          'HS RT': s.mhs,
          Accepted: 100,
          Rejected: 0,
          Temperature: s.hashing ? 70 : 30,
          'Fan Speed In': s.hashing ? 4500 : 0,
          'Fan Speed Out': s.hashing ? 4500 : 0,
          Power: s.watts,
          'Power Rate': s.mhs > 0 ? Math.round((s.watts / (s.mhs / 1e6)) * 100) / 100 : 0,
          Uptime: 2000,
          'Hash Stable': s.hashing,
          'Target MHS': Math.round(m.ratedMhs * Math.min(1, s.powerLimit / m.ratedWatts)),
          'Env Temp': 25,
          'Power Mode': 'Normal',
          'Factory GHS': m.ratedMhs / 1000,
          'Power Limit': s.powerLimit,
          'Chip Temp Min': 60,
          'Chip Temp Max': 80,
          'Chip Temp Avg': 70,
          'Btminer Fast Boot': 'disable',
          ...(m.legacy ? { 'Firmware Version': `'${m.firmware}'`, MAC: 'C6:07:2F:00:00:01' } : {}),
        },
      ]);
    case 'devs':
    case 'edevs':
      return list(
        '6 ASC(s)',
        'DEVS',
        boards.map((i) => ({
          ASC: i,
          Slot: i,
          Enabled: 'Y',
          Status: 'Alive',
          Temperature: 70,
          'Chip Frequency': 600,
          'MHS av': perBoard,
          'MHS 5s': perBoard,
          'MHS 1m': perBoard,
          'Effective Chips': 156,
          'PCB SN': `SIM${i}`,
          'Upfreq Complete': s.hashing ? 1 : 0,
        })),
      );
    case 'devdetails':
      return list(
        'Device Details',
        'DEVDETAILS',
        boards.map((i) => ({ DEVDETAILS: i, Name: 'SM', ID: i, Driver: 'bitmicro', Kernel: '', Model: 'M30S+' })),
      );
    case 'pools':
      return list('1 Pool(s)', 'POOLS', [
        {
          POOL: 0,
          URL: 'stratum+tcp://127.0.0.1:3333',
          Status: 'Alive',
          Priority: 0,
          Accepted: 100,
          Rejected: 0,
          User: 'sim.wm',
          'Stratum Active': true,
        },
      ]);
    default:
      throw new Error(`not a list read: ${cmd}`);
  }
}

/** The flat-envelope reads; null for a command this is not. */
function flatRead(cmd: string, s: WhatsminerSimState, m: Model): { code: number; msg: unknown } | null {
  switch (cmd) {
    case 'status':
      if (m.legacy) return { code: 131, msg: { btmineroff: String(s.mineroff), 'Firmware Version': `'${m.firmware}'` } };
      return {
        code: 131,
        msg: {
          mineroff: String(s.mineroff),
          mineroff_reason: s.mineroff ? 'by whatsminer api' : '',
          mineroff_time: '',
          FirmwareVersion: m.firmware,
          power_mode: '',
          hash_percent: '',
        },
      };
    case 'get_version':
      return { code: 131, msg: { api_ver: m.apiVersion, rpc_ver: m.apiVersion, fw_ver: m.firmware, platform: 'H6OS', chip: 'K210' } };
    case 'get_psu':
      return {
        code: 131,
        msg: {
          name: 'P221B',
          hw_version: 'V01.00',
          sw_version: 'V01.00.V01.03',
          model: 'P221B',
          iin: '1500',
          vin: '22000',
          pin: String(s.watts),
          fan_speed: '6000',
          version: '1',
          serial_no: 'SIMPSU',
          vender: '1',
        },
      };
    case 'get_miner_info':
      return {
        code: 131,
        msg: {
          ip: '127.0.0.1',
          proto: 'dhcp',
          netmask: '255.0.0.0',
          gateway: '127.0.0.1',
          dns: '127.0.0.1',
          hostname: 'WhatsMiner',
          mac: 'C6:07:2F:00:00:01',
          ledstat: 'auto',
          minersn: 'SIMMINER',
          powersn: 'SIMPSU',
          ntp: [],
        },
      };
    case 'get_error_code':
      return { code: 131, msg: { error_code: [] } };
    default:
      return null;
  }
}

export async function startWhatsminerSim(options: WhatsminerSimOptions = {}): Promise<WhatsminerSim> {
  const now = options.now ?? Date.now;
  const password = options.password ?? 'admin';
  const ratedWatts = options.ratedWatts ?? 3400;
  const idleWatts = options.idleWatts ?? 15;
  const resumeDelayMs = options.resumeDelayMs ?? 50;
  const powerOffDelayMs = options.powerOffDelayMs ?? 0;
  const limitRestartMs = options.limitRestartMs ?? resumeDelayMs;
  const tokenTtlMs = options.tokenTtlMs ?? 30 * 60_000;
  const maxTokens = options.maxTokens ?? 32;
  const missing = new Set(options.missing ?? []);
  const model: Model = {
    ratedWatts,
    ratedMhs: (options.ratedThs ?? 100) * 1e6,
    firmware: options.firmwareVersion ?? '20230911.12.Rel',
    apiVersion: options.apiVersion ?? '2.0.5',
    legacy: options.legacy ?? false,
    now,
  };
  const salt = 'BQ5hoXV9';
  const key = md5CryptHash(password, salt);
  const failures: WhatsminerSimFailures = { writeDisabled: false, hang: false, halfReply: false, down: false };
  const listeners = stateListeners(options.onChange);
  const commands: WhatsminerSimCommand[] = [];
  const connections: Record<WhatsminerSimApi, number> = { '2': 0, '3': 0 };
  /** sign → expiry time. */
  const tokens = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let mineroff = false;
  /** With mineroff: when the boards stop. */
  let stopAt = 0;
  let bootUntil = options.booting ? now() + resumeDelayMs : 0;
  let powerLimit = ratedWatts;

  function liveTokens(): number {
    for (const [s, until] of tokens) if (until <= now()) tokens.delete(s);
    return tokens.size;
  }
  function state(): WhatsminerSimState {
    const stopping = mineroff && now() < stopAt;
    const booting = !mineroff && now() < bootUntil;
    const hashing = (!mineroff || stopping) && !booting;
    const share = Math.min(1, powerLimit / ratedWatts);
    return {
      mineroff,
      stopping,
      booting,
      powerLimit,
      watts: hashing ? Math.round(ratedWatts * share) : idleWatts,
      mhs: hashing ? Math.round(model.ratedMhs * share) : 0,
      hashing,
      liveTokens: liveTokens(),
    };
  }
  const changed = (): void => listeners.notify(state());
  /**
   * Tells the listeners now, and again at `at` (a board stop or a boot ending on its own). A timer may fire a
   * millisecond before Date.now() reaches `at`; on the real clock it then waits on, so the event never comes early.
   */
  function changedNowAndAt(at: number): void {
    changed();
    const arm = (): void => {
      const wait = at - now();
      if (wait <= 0) return changed();
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (options.now === undefined) arm();
        else changed(); // an injected clock moves when the test says; tell at the timer anyway
      }, wait + 1);
      timers.add(timer);
    };
    if (at > now()) arm();
  }
  const flat = (status: 'S' | 'E', code: number, msg: unknown): Obj => ({
    STATUS: status,
    When: Math.floor(now() / 1000),
    Code: code,
    Msg: msg,
    Description: '',
  });

  function read(cmd: string): Obj {
    if (cmd.includes('+')) {
      const parts = cmd.split('+');
      if (!parts.every((c) => LIST_READS.has(c) && !missing.has(c))) return flat('E', 14, 'invalid cmd');
      const s = state();
      return { ...Object.fromEntries(parts.map((c) => [c, [listRead(c, s, model)]])), id: 1 };
    }
    if (missing.has(cmd)) return flat('E', 14, 'invalid cmd');
    if (LIST_READS.has(cmd)) return listRead(cmd, state(), model);
    if (cmd === 'get_token') {
      if (liveTokens() >= maxTokens) return flat('E', 136, 'token over max times');
      const time = String(Math.floor(now() / 1000) % 10000).padStart(4, '0');
      const newsalt = randomSalt();
      tokens.set(md5CryptHash(key + time, newsalt), now() + tokenTtlMs);
      return flat('S', 134, { time, salt, newsalt });
    }
    const r = flatRead(cmd, state(), model);
    return r === null ? flat('E', 14, 'invalid cmd') : flat('S', r.code, r.msg);
  }

  /** A write carried out; `after` runs once the reply is on its way (respbefore). */
  function write(cmd: string, req: Obj): { reply: Obj; after?: () => void } {
    if (missing.has(cmd) || !WRITES.has(cmd)) return { reply: flat('E', 14, 'invalid cmd') };
    const ok = flat('S', 131, 'API command OK');
    switch (cmd) {
      case 'power_off': {
        const before = req.respbefore !== 'false';
        if (!mineroff) stopAt = before ? now() + powerOffDelayMs : 0; // boards already off stay off
        mineroff = true;
        if (!before) changed();
        return { reply: ok, after: before ? () => changedNowAndAt(stopAt) : undefined };
      }
      case 'power_on':
        if (mineroff) bootUntil = now() + resumeDelayMs;
        mineroff = false;
        changedNowAndAt(bootUntil);
        return { reply: ok };
      default: {
        const w = Number(req.power_limit);
        if (!Number.isInteger(w) || w <= 0 || w > ratedWatts) return { reply: flat('E', 132, 'power_limit out of range') };
        powerLimit = w;
        bootUntil = now() + limitRestartMs; // pyasic: the miner reboots after this is set
        changedNowAndAt(bootUntil);
        return { reply: ok };
      }
    }
  }

  /** The reply to one 2.x request, the command name (for the failure switches) and what to do after replying. */
  function handle(text: string): { reply: Obj; cmd: string; after?: () => void } {
    let req: Obj;
    try {
      const v: unknown = JSON.parse(text);
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
      req = v as Obj;
    } catch {
      return { reply: flat('E', 23, 'invalid json'), cmd: '' };
    }
    if (req.enc === 1 || req.enc === '1') {
      const inner = typeof req.data === 'string' ? decrypt(key, req.data) : null;
      const cmd = typeof inner?.cmd === 'string' ? inner.cmd : '';
      if (inner !== null) {
        const { token: _t, ...fields } = inner;
        commands.push({ cmd, encrypted: true, fields, api: '2' });
      }
      const until = typeof inner?.token === 'string' ? tokens.get(inner.token) : undefined;
      if (inner === null || until === undefined || until <= now()) return { reply: flat('E', 135, 'check token err'), cmd };
      if (failures.writeDisabled) return { reply: flat('E', 45, "can't access write cmd"), cmd };
      const done = write(cmd, inner);
      return { reply: { enc: encrypt(key, JSON.stringify(done.reply)) }, cmd, after: done.after };
    }
    const cmd = typeof req.cmd === 'string' ? req.cmd : typeof req.command === 'string' ? req.command : '';
    commands.push({ cmd, encrypted: false, fields: {}, api: '2' });
    if (WRITES.has(cmd)) return { reply: flat('E', 45, 'permission denied'), cmd };
    return { reply: read(cmd), cmd };
  }

  const sockets = new Set<net.Socket>();
  /** Counts and keeps the socket; false when that API is `down` (the socket is then destroyed). */
  function accept(socket: net.Socket, api: WhatsminerSimApi): boolean {
    connections[api]++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (!matches(failures.down, api)) return true;
    socket.destroy();
    return false;
  }
  const server = net.createServer((socket) => {
    if (!accept(socket, '2')) return;
    let buf = '';
    let done = false;
    let idle: NodeJS.Timeout | undefined;
    const answer = (): void => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      const { reply, cmd, after } = handle(buf);
      if (matches(failures.hang, cmd)) return;
      const out = JSON.stringify(reply);
      socket.end(matches(failures.halfReply, cmd) ? out.slice(0, Math.floor(out.length / 2)) : out, () => after?.());
    };
    socket.on('data', (chunk: Buffer) => {
      buf += chunk.toString('utf8');
      try {
        JSON.parse(buf);
        return answer();
      } catch {
        // Not a whole JSON object yet: answer what came once the client pauses (or ends), as a daemon would.
      }
      if (buf.length >= 65536) return answer();
      clearTimeout(idle);
      idle = setTimeout(answer, 100);
    });
    socket.on('end', answer);
    socket.on('close', () => clearTimeout(idle));
  });
  const host = options.host ?? '127.0.0.1';
  if (!/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) && host !== '::1')
    throw new Error(`whatsminer sim: ${host} is not a loopback address`);
  const port = await listenOn(server, { host, port: options.port ?? 0 });

  let salt3 = randomSalt();
  function handle3(req: Obj): Obj {
    const cmd = typeof req.cmd === 'string' ? req.cmd : '';
    const reply = (code: number, msg: unknown): Obj => ({ code, when: Math.floor(now() / 1000), msg, desc: cmd });
    const { token: _t, ...fields } = req;
    commands.push({ cmd, encrypted: false, fields, api: '3' });
    if (missing.has(cmd)) return reply(-2, 'invalid command');
    if (cmd.startsWith('get.')) {
      const msg = read3(cmd, req.param, state(), model, salt3);
      return msg === null ? reply(-2, 'invalid command') : reply(0, msg);
    }
    if (!cmd.startsWith('set.')) return reply(-2, 'invalid command');
    const expected = createHash('sha256')
      .update(`${cmd}${password}${salt3}${String(req.ts)}`, 'utf8')
      .digest('base64')
      .slice(0, 8);
    if (req.token !== expected || req.account !== 'super') return reply(-4, 'access denied');
    if (failures.writeDisabled) return reply(-4, 'access denied');
    if (cmd === 'set.miner.service' && (req.param === 'stop' || req.param === 'start' || req.param === 'restart')) {
      if (req.param === 'restart') write('adjust_power_limit', { power_limit: String(powerLimit) });
      else write(req.param === 'stop' ? 'power_off' : 'power_on', { respbefore: 'false' });
      return reply(0, 'ok');
    }
    if (cmd === 'set.miner.power_limit') {
      const r = write('adjust_power_limit', { power_limit: String(req.param) }).reply;
      return r.STATUS === 'S' ? reply(0, 'ok') : reply(-1, r.Msg);
    }
    return reply(-2, 'invalid command');
  }
  const server3 = net.createServer((socket) => {
    if (!accept(socket, '3')) return;
    let buf = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4 || buf.length < 4 + buf.readUInt32LE(0)) return;
      let req: unknown;
      try {
        req = JSON.parse(buf.subarray(4, 4 + buf.readUInt32LE(0)).toString('utf8'));
      } catch {
        req = null;
      }
      const ok = typeof req === 'object' && req !== null && !Array.isArray(req);
      const out = ok ? handle3(req as Obj) : { code: -3, when: Math.floor(now() / 1000), msg: 'invalid json', desc: '' };
      const cmd = ok && typeof (req as Obj).cmd === 'string' ? ((req as Obj).cmd as string) : '';
      if (matches(failures.hang, cmd)) return;
      const body = Buffer.from(JSON.stringify(out), 'utf8');
      const head = Buffer.alloc(4);
      head.writeUInt32LE(body.length, 0);
      const frame = Buffer.concat([head, body]);
      socket.end(matches(failures.halfReply, cmd) ? frame.subarray(0, Math.floor(frame.length / 2)) : frame);
    });
  });
  const port3 = options.api3 ? await listenOn(server3, { host, port: options.port3 ?? 0 }) : null;
  return {
    host,
    port,
    port3,
    get state() {
      return state();
    },
    failures,
    commands,
    connections,
    expireTokens: () => {
      tokens.clear();
      salt3 = randomSalt();
    },
    onChange: listeners.add,
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const s of sockets) s.destroy();
      if (port3 !== null) server3.close();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** API 3.x reads (notes/firmware-apis.md § 2.6; pyasic BTMinerV3RPCAPI); null for an unknown one. */
function read3(cmd: string, param: unknown, s: WhatsminerSimState, m: Model, salt3: string): Obj | null {
  const ths = s.mhs / 1e6;
  if (cmd === 'get.device.info') {
    if (param === 'salt') return { salt: salt3 };
    return {
      network: { mac: 'C6:07:2F:00:00:01', hostname: 'WhatsMiner' },
      system: { api: '3.0.1', fwversion: m.firmware, ledstatus: 'auto' },
      hardware: { boards: BOARDS },
      power: { fanspeed: 6000 },
      miner: { 'miner-sn': 'SIMMINER', 'power-limit-set': s.powerLimit, pcbsn0: 'SIM0', pcbsn1: 'SIM1', pcbsn2: 'SIM2' },
    };
  }
  if (cmd === 'get.miner.status') {
    if (param === 'edevs')
      return {
        edevs: Array.from({ length: BOARDS }, (_, i) => ({
          id: i,
          'hash-average': ths / BOARDS,
          'effective-chips': 156,
          'chip-temp-min': 60,
          'chip-temp-max': 80,
        })),
      };
    if (param === 'pools') return { pools: [{ id: 1, url: 'stratum+tcp://127.0.0.1:3333', status: 'alive', account: 'sim.wm' }] };
    return {
      summary: {
        elapsed: 1000,
        'bootup-time': 2000,
        'factory-hash': m.ratedMhs / 1e6,
        'hash-average': ths,
        'hash-realtime': ths,
        'hash-1min': ths,
        'hash-15min': ths,
        'power-realtime': s.watts,
        'power-5min': s.watts,
        'power-limit': s.powerLimit,
        'environment-temperature': 25,
        'up-freq-finish': s.hashing ? 1 : 0,
      },
    };
  }
  if (cmd === 'get.miner.setting') return { 'power-limit': s.powerLimit, 'power-mode': 'normal', 'fast-boot': 'disable' };
  return null;
}
