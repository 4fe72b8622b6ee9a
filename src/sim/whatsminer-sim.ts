/**
 * A simulated Whatsminer (MicroBT btminer) API 2.x over real TCP on 127.0.0.1, for tests and demos. Written from
 * the MicroBT API v2.0.4/v2.0.5 docs and the wire format pyasic's btminer client sends (notes/firmware-apis.md
 * § 2), independent of src/ except the pure MD5-crypt in src/util.
 *
 * Protocol: one request per connection. The client writes one JSON object; the sim writes one JSON reply and
 * closes. Reads name the command as `cmd` or `command`: `summary`, `devdetails` (list envelope
 * `{"STATUS":[{…}],"SUMMARY":[…]}`), `status`, `get_version`, `get_token` (flat envelope
 * `{"STATUS":"S","When","Code","Msg","Description"}`).
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
 * State: power_off stops hashing (idleWatts, status mineroff "true"); power_on starts btminer, which hashes
 * only after resumeDelayMs (minutes on real rigs). adjust_power_limit sets `Power Limit` and, as pyasic's doc
 * says, reboots btminer (booting again for resumeDelayMs). Booting: 0 MH/s, mineroff "false".
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { md5CryptHash } from '../util/md5-crypt.js';
import { type FirmwareSimOptions, listenOn, matches, stateListeners } from './shared.js';

export interface WhatsminerSimState {
  readonly mineroff: boolean;
  readonly booting: boolean;
  readonly powerLimit: number;
  readonly watts: number;
  /** MH/s now. */
  readonly mhs: number;
  readonly hashing: boolean;
  readonly liveTokens: number;
}

export interface WhatsminerSimFailures {
  writeDisabled: boolean;
  /** Read the request, never answer. */
  hang: boolean | readonly string[];
  /** Write the first half of the reply, then close. */
  halfReply: boolean | readonly string[];
}

export interface WhatsminerSimOptions extends FirmwareSimOptions<WhatsminerSimState> {
  /** 0 (default) = any free port; a real rig listens on 4028. */
  readonly port?: number;
  readonly password?: string;
  readonly ratedWatts?: number;
  readonly idleWatts?: number;
  readonly ratedThs?: number;
  readonly resumeDelayMs?: number;
  readonly tokenTtlMs?: number;
  readonly maxTokens?: number;
  readonly booting?: boolean;
  /** Also serve API 3.x (framed JSON) on a second port: `port3` (0 = any free port; 4433 on a real rig). */
  readonly api3?: boolean;
  readonly port3?: number;
}

export interface WhatsminerSimCommand {
  readonly cmd: string;
  readonly encrypted: boolean;
  readonly fields: Readonly<Record<string, unknown>>;
}

export interface WhatsminerSim {
  readonly host: string;
  readonly port: number;
  /** The API 3.x port, or null when `api3` is off. */
  readonly port3: number | null;
  readonly state: WhatsminerSimState;
  readonly failures: WhatsminerSimFailures;
  /** Every request, decrypted; the token field is never kept. */
  readonly commands: readonly WhatsminerSimCommand[];
  /** Forgets every token, as a firmware restart would. */
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

export async function startWhatsminerSim(options: WhatsminerSimOptions = {}): Promise<WhatsminerSim> {
  const now = options.now ?? Date.now;
  const password = options.password ?? 'admin';
  const ratedWatts = options.ratedWatts ?? 3400;
  const idleWatts = options.idleWatts ?? 15;
  const ratedMhs = (options.ratedThs ?? 100) * 1e6;
  const resumeDelayMs = options.resumeDelayMs ?? 50;
  const tokenTtlMs = options.tokenTtlMs ?? 30 * 60_000;
  const maxTokens = options.maxTokens ?? 32;
  const salt = 'BQ5hoXV9';
  const key = md5CryptHash(password, salt);
  const failures: WhatsminerSimFailures = { writeDisabled: false, hang: false, halfReply: false };
  const listeners = stateListeners(options.onChange);
  const commands: WhatsminerSimCommand[] = [];
  /** sign → expiry time. */
  const tokens = new Map<string, number>();
  let mineroff = false;
  let bootUntil = options.booting ? now() + resumeDelayMs : 0;
  let powerLimit = ratedWatts;

  function liveTokens(): number {
    for (const [s, until] of tokens) if (until <= now()) tokens.delete(s);
    return tokens.size;
  }
  function state(): WhatsminerSimState {
    const booting = !mineroff && now() < bootUntil;
    const hashing = !mineroff && !booting;
    const share = Math.min(1, powerLimit / ratedWatts);
    return {
      mineroff,
      booting,
      powerLimit,
      watts: hashing ? Math.round(ratedWatts * share) : idleWatts,
      mhs: hashing ? Math.round(ratedMhs * share) : 0,
      hashing,
      liveTokens: liveTokens(),
    };
  }
  const changed = (): void => listeners.notify(state());
  const flat = (status: 'S' | 'E', code: number, msg: unknown): Obj => ({
    STATUS: status,
    When: Math.floor(now() / 1000),
    Code: code,
    Msg: msg,
    Description: '',
  });

  function read(cmd: string): Obj {
    const s = state();
    const list = (msg: string, section: string, body: Obj): Obj => ({
      STATUS: [{ STATUS: 'S', When: Math.floor(now() / 1000), Code: 0, Msg: msg, Description: '' }],
      [section]: [body],
    });
    switch (cmd) {
      case 'summary':
        return list('Summary', 'SUMMARY', {
          Elapsed: 1000,
          'MHS av': s.mhs,
          'MHS 5s': s.mhs,
          'MHS 1m': s.mhs,
          Power: s.watts,
          'Power Limit': s.powerLimit,
          'Power Mode': 'Normal',
          'Factory GHS': ratedMhs / 1000,
        });
      case 'devdetails':
        return list('Device Details', 'DEVDETAILS', { DEVDETAILS: 0, Name: 'SM', Model: 'M30S+' });
      case 'status':
        return flat('S', 131, {
          mineroff: String(s.mineroff),
          mineroff_reason: s.mineroff ? 'by whatsminer api' : '',
          FirmwareVersion: '20230911.12.Rel',
        });
      case 'get_version':
        return flat('S', 131, { api_ver: '2.0.5', rpc_ver: '2.0.5', fw_ver: '20230911.12.Rel', platform: 'H6OS' });
      case 'get_token': {
        if (liveTokens() >= maxTokens) return flat('E', 136, 'token over max times');
        const time = String(Math.floor(now() / 1000) % 10000).padStart(4, '0');
        const newsalt = randomSalt();
        tokens.set(md5CryptHash(key + time, newsalt), now() + tokenTtlMs);
        return flat('S', 134, { time, salt, newsalt });
      }
      default:
        return flat('E', 14, 'invalid cmd');
    }
  }

  function write(cmd: string, req: Obj): Obj {
    switch (cmd) {
      case 'power_off':
        mineroff = true;
        break;
      case 'power_on':
        if (mineroff) bootUntil = now() + resumeDelayMs;
        mineroff = false;
        break;
      case 'adjust_power_limit': {
        const w = Number(req.power_limit);
        if (!Number.isInteger(w) || w <= 0 || w > ratedWatts) return flat('E', 132, 'power_limit out of range');
        powerLimit = w;
        bootUntil = now() + resumeDelayMs; // pyasic: the miner reboots after this is set
        break;
      }
      default:
        return flat('E', 14, 'invalid cmd');
    }
    changed();
    return flat('S', 131, 'API command OK');
  }

  /** Returns the reply and the command name (for the failure switches). */
  function handle(text: string): { reply: Obj; cmd: string } {
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
        commands.push({ cmd, encrypted: true, fields });
      }
      const until = typeof inner?.token === 'string' ? tokens.get(inner.token) : undefined;
      if (inner === null || until === undefined || until <= now()) return { reply: flat('E', 135, 'check token err'), cmd };
      if (failures.writeDisabled) return { reply: flat('E', 45, "can't access write cmd"), cmd };
      return { reply: { enc: encrypt(key, JSON.stringify(write(cmd, inner))) }, cmd };
    }
    const cmd = typeof req.cmd === 'string' ? req.cmd : typeof req.command === 'string' ? req.command : '';
    commands.push({ cmd, encrypted: false, fields: {} });
    if (['power_off', 'power_on', 'adjust_power_limit'].includes(cmd)) return { reply: flat('E', 45, 'permission denied'), cmd };
    return { reply: read(cmd), cmd };
  }

  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = '';
    let done = false;
    let idle: NodeJS.Timeout | undefined;
    const answer = (): void => {
      if (done) return;
      done = true;
      clearTimeout(idle);
      const { reply, cmd } = handle(buf);
      if (matches(failures.hang, cmd)) return;
      const out = JSON.stringify(reply);
      socket.end(matches(failures.halfReply, cmd) ? out.slice(0, Math.floor(out.length / 2)) : out);
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
  const port = await listenOn(server, { host: '127.0.0.1', port: options.port ?? 0 });

  /**
   * API 3.x (notes/firmware-apis.md § 2.6): 4-byte little-endian length + JSON both ways; reply
   * {code, when, msg, desc}; writes carry ts, account and token = base64(SHA-256(cmd + password + salt + ts))[0..8].
   * A token that does not match (wrong password, or a salt from before a change) → code -4 "access denied".
   */
  const salt3 = randomSalt();
  function handle3(req: Obj): Obj {
    const cmd = typeof req.cmd === 'string' ? req.cmd : '';
    const reply = (code: number, msg: unknown): Obj => ({ code, when: Math.floor(now() / 1000), msg, desc: cmd });
    const { token: _t, ...fields } = req;
    commands.push({ cmd, encrypted: false, fields });
    if (cmd === 'get.device.info')
      return reply(0, req.param === 'salt' ? { salt: salt3 } : { system: { api: '3.0.1', fwversion: '20250101.22.REL' } });
    if (cmd === 'get.miner.status') {
      const st = state();
      const summary = {
        elapsed: 1000,
        'hash-realtime': st.mhs / 1e6,
        'hash-1min': st.mhs / 1e6,
        'power-realtime': st.watts,
        'power-limit': st.powerLimit,
      };
      return reply(0, { summary });
    }
    if (!cmd.startsWith('set.')) return reply(-2, 'invalid command');
    const expected = createHash('sha256')
      .update(`${cmd}${password}${salt3}${String(req.ts)}`, 'utf8')
      .digest('base64')
      .slice(0, 8);
    if (req.token !== expected || req.account !== 'super') return reply(-4, 'access denied');
    if (cmd === 'set.miner.service' && (req.param === 'stop' || req.param === 'start')) {
      write(req.param === 'stop' ? 'power_off' : 'power_on', {});
      return reply(0, 'ok');
    }
    if (cmd === 'set.miner.power_limit') {
      const r = write('adjust_power_limit', { power_limit: req.param });
      return r.STATUS === 'S' ? reply(0, 'ok') : reply(-1, r.Msg);
    }
    return reply(-2, 'invalid command');
  }
  const server3 = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
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
  const port3 = options.api3 ? await listenOn(server3, { host: '127.0.0.1', port: options.port3 ?? 0 }) : null;
  return {
    host: '127.0.0.1',
    port,
    port3,
    get state() {
      return state();
    },
    failures,
    commands,
    expireTokens: () => tokens.clear(),
    onChange: listeners.add,
    close() {
      for (const s of sockets) s.destroy();
      if (port3 !== null) server3.close();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
