/**
 * A simulated stock-Bitmain Antminer (S19/S21 family) on 127.0.0.1, for tests and demos: the web CGI
 * behind HTTP digest auth, and the cgminer-compatible API on TCP 4028. Written from the public facts
 * collected in notes/firmware-apis.md § 1 (pyasic, asic-rs, Foreman, the FDMiner doc), independent of src/.
 *
 * Web (digest auth, RFC 7616 with MD5, realm "antMiner Configuration", qop "auth"; default root/root):
 * - GET  /cgi-bin/get_miner_conf.cgi  → the config; every scalar is a string: "bitmain-work-mode": "0"|"1"|"3"
 * - POST /cgi-bin/set_miner_conf.cgi  → JSON body (any Content-Type); `miner-mode` (int or numeric string) wins
 *   over `bitmain-work-mode`; reply {"stats":"success","code":"M000","msg":"OK!"} after `replyDelayMs`,
 *   even when the mode did not change (LPM on a model without one, or the `ignoreWorkModeKey` quirk).
 *   A changed mode restarts the miner process: the 4028 API closes without a reply for `restartMs`.
 * - GET  /cgi-bin/get_system_info.cgi → minertype, firmware build date, …
 * Work modes: 0 normal, 1 sleep, 3 low power (about 75 % of the hash rate; `lowPowerMode: false` = a model
 * without LPM, which ignores it).
 * API 4028: one JSON request per connection (`summary`, `stats`, `version`), reply + NUL, then close.
 * `GHS 5s` is a number, or a string like older bmminer builds (`ghsAsString`).
 */
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { type FirmwareSim, type FirmwareSimOptions, listenOn, matches, serveFirmwareSim, stateListeners } from './shared.js';

export type AntminerRoute = 'get_miner_conf' | 'set_miner_conf' | 'get_system_info' | 'api';
export type AntminerWorkMode = '0' | '1' | '3';

export interface AntminerSimState {
  readonly workMode: AntminerWorkMode;
  /** The miner process restarting after a mode change: the 4028 API is down. */
  readonly restarting: boolean;
  /** Hashboards starting up: 0 GH/s while the mode is normal. */
  readonly booting: boolean;
  /** GH/s now. */
  readonly hashRate: number;
}

/** Switches tests flip at any time. */
export interface AntminerSimFailures {
  /** Answer these routes with this HTTP status instead (after auth). */
  status: Partial<Record<AntminerRoute, number>>;
  /** Read the request, never answer. */
  hang: boolean | readonly AntminerRoute[];
  /** Send half of the answer, then close the connection. */
  half: boolean | readonly AntminerRoute[];
  /** Answer 401 to every request, even with the right digest (a 401 loop). */
  alwaysUnauthorized: boolean;
  /** The 2022 S19j Pro quirk: a `bitmain-work-mode` write is answered M000 and ignored; only `miner-mode` applies. */
  ignoreWorkModeKey: boolean;
  /** Answer set_miner_conf with the error form {"stats":"error","code":"M001",…}. */
  refuseWrite: boolean;
}

export interface AntminerSimOptions extends FirmwareSimOptions<AntminerSimState> {
  readonly user?: string;
  readonly password?: string;
  /** Hash rate in normal mode, GH/s (default 110000, an S19j Pro). */
  readonly hashRate?: number;
  readonly workMode?: AntminerWorkMode;
  readonly booting?: boolean;
  /** false = a model without low-power mode: a write of mode 3 is answered M000 and ignored (default true). */
  readonly lowPowerMode?: boolean;
  /** How long set_miner_conf takes to answer, ms (default 20000, as measured on an S19j Pro). */
  readonly replyDelayMs?: number;
  /** How long the miner process restarts after a mode change, ms (default 10000). */
  readonly restartMs?: number;
  readonly ghsAsString?: boolean;
}

export interface AntminerSim extends FirmwareSim<AntminerSimState, AntminerSimFailures> {
  /** The 4028 API port. */
  readonly apiPort: number;
  /** Every request: "GET get_miner_conf", "POST set_miner_conf 401", "api summary". */
  readonly requests: readonly string[];
  /** The last set_miner_conf body, parsed. */
  lastWrite(): Record<string, unknown> | null;
  setBooting(on: boolean): void;
}

const REALM = 'antMiner Configuration';
const md5 = (s: string): string => createHash('md5').update(s).digest('hex');

/** The parameters of an `Authorization: Digest k="v", k=v` header. */
function digestParams(header: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of header.replace(/^Digest\s+/i, '').matchAll(/(\w+)=(?:"([^"]*)"|([^\s,]*))/g)) out[m[1]!] = m[2] ?? m[3] ?? '';
  return out;
}

/** RFC 7616 § 3.4.1 with MD5 and qop=auth. */
function digestOk(header: string | undefined, method: string, user: string, password: string, nonces: Set<string>): boolean {
  if (header === undefined || !/^Digest\s/i.test(header)) return false;
  const p = digestParams(header);
  if (p.username !== user || p.realm !== REALM || !nonces.has(p.nonce ?? '') || p.qop !== 'auth') return false;
  const ha1 = md5(`${user}:${REALM}:${password}`);
  const ha2 = md5(`${method}:${p.uri ?? ''}`);
  return p.response === md5(`${ha1}:${p.nonce}:${p.nc ?? ''}:${p.cnonce ?? ''}:auth:${ha2}`);
}

function modeOf(v: unknown): AntminerWorkMode | null {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  return s === '0' || s === '1' || s === '3' ? s : null;
}

export async function startAntminerSim(options: AntminerSimOptions = {}): Promise<AntminerSim> {
  const user = options.user ?? 'root';
  const password = options.password ?? 'root';
  const fullRate = options.hashRate ?? 110_000;
  const lowPower = options.lowPowerMode ?? true;
  const replyDelayMs = options.replyDelayMs ?? 20_000;
  const restartMs = options.restartMs ?? 10_000;
  const now = options.now ?? Date.now;
  let workMode: AntminerWorkMode = options.workMode ?? '0';
  let booting = options.booting ?? false;
  let restartTimer: NodeJS.Timeout | null = null;
  let lastWrite: Record<string, unknown> | null = null;
  const started = now();
  const nonces = new Set<string>();
  const pending = new Set<NodeJS.Timeout>(); // set_miner_conf answers still to come
  const requests: string[] = [];
  const failures: AntminerSimFailures = {
    status: {},
    hang: false,
    half: false,
    alwaysUnauthorized: false,
    ignoreWorkModeKey: false,
    refuseWrite: false,
  };
  const listeners = stateListeners(options.onChange);

  function state(): AntminerSimState {
    const rate = workMode === '1' || booting || restartTimer !== null ? 0 : workMode === '3' ? fullRate * 0.75 : fullRate;
    return { workMode, restarting: restartTimer !== null, booting, hashRate: rate };
  }

  function config(): Record<string, unknown> {
    const pool = (i: number) => ({ url: i === 0 ? 'stratum+tcp://127.0.0.1:3333' : '', user: i === 0 ? 'acct.w1' : '', pass: 'x' });
    return {
      pools: [pool(0), pool(1), pool(2)],
      'api-listen': true,
      'api-network': true,
      'api-groups': 'A:stats:pools:devs:summary:version',
      'api-allow': 'A:0/0,W:*',
      'bitmain-fan-ctrl': false,
      'bitmain-fan-pwm': '100',
      'bitmain-use-vil': true,
      'bitmain-freq': '500',
      'bitmain-voltage': '1300',
      'bitmain-ccdelay': '0',
      'bitmain-pwth': '0',
      'bitmain-work-mode': workMode,
      'bitmain-freq-level': '100',
    };
  }

  function apply(body: Record<string, unknown>): void {
    const wanted = modeOf(body['miner-mode']) ?? (failures.ignoreWorkModeKey ? null : modeOf(body['bitmain-work-mode']));
    if (wanted === null || wanted === workMode || (wanted === '3' && !lowPower)) return;
    workMode = wanted;
    if (wanted !== '0') booting = false;
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      restartTimer = null;
      listeners.notify(state());
    }, restartMs);
    listeners.notify(state());
  }

  function send(res: http.ServerResponse, route: AntminerRoute, status: number, body: unknown): void {
    const text = JSON.stringify(body);
    if (matches(failures.half, route)) {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.write(text.slice(0, Math.floor(text.length / 2)));
      res.socket?.end(); // a FIN mid-body: the client sees a short answer
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
    res.end(text);
  }

  function challenge(res: http.ServerResponse): void {
    const nonce = randomBytes(16).toString('hex');
    nonces.add(nonce);
    res.writeHead(401, { 'www-authenticate': `Digest realm="${REALM}", qop="auth", nonce="${nonce}"`, connection: 'close' });
    res.end('401 Unauthorized');
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse, route: AntminerRoute, body: string): void {
    if (matches(failures.hang, route)) return;
    const forced = failures.status[route];
    if (forced !== undefined) return send(res, route, forced, { error: `simulated failure ${forced}` });
    if (route === 'get_miner_conf') return send(res, route, 200, config());
    if (route === 'get_system_info') {
      const uptime = Math.floor((now() - started) / 1000);
      return send(res, route, 200, {
        minertype: 'Antminer S19j Pro',
        nettype: 'DHCP',
        macaddr: '02:00:00:00:19:01',
        hostname: 'antminer-sim',
        ipaddress: '127.0.0.1',
        system_mode: 'GNU/Linux',
        system_kernel_version: 'Linux 4.9.113',
        system_filesystem_version: 'Mon Jan  9 10:00:00 CST 2023',
        firmware_type: 'Release',
        uptime,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      parsed = null;
    }
    if (failures.refuseWrite || typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      return send(res, route, 200, { stats: 'error', code: 'M001', msg: 'Invalid config' });
    const written = (lastWrite = parsed as Record<string, unknown>);
    const timer = setTimeout(() => {
      pending.delete(timer);
      apply(written);
      send(res, route, 200, { stats: 'success', code: 'M000', msg: 'OK!' });
    }, replyDelayMs);
    pending.add(timer);
  }

  const web = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const name = /^\/cgi-bin\/(\w+)\.cgi$/.exec((req.url ?? '/').split('?')[0]!)?.[1] ?? '';
    const route = (['get_miner_conf', 'set_miner_conf', 'get_system_info'] as const).find((r) => r === name);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const authed = !failures.alwaysUnauthorized && digestOk(req.headers.authorization, method, user, password, nonces);
      requests.push(`${method} ${name}${authed ? '' : ' 401'}`);
      if (!authed) return challenge(res);
      if (route === undefined || (route === 'set_miner_conf') !== (method === 'POST')) {
        res.writeHead(404, { connection: 'close' });
        return void res.end('Not Found');
      }
      handle(req, res, route, Buffer.concat(chunks).toString('utf8'));
    });
  });

  function apiReply(command: string): Record<string, unknown> {
    const when = Math.floor(now() / 1000);
    const s = state();
    const ghs = Math.round(s.hashRate * 100) / 100;
    const status = (code: number, msg: string) => [{ STATUS: 'S', When: when, Code: code, Msg: msg, Description: 'bmminer 1.0.0' }];
    if (command === 'summary') {
      const elapsed = Math.floor((now() - started) / 1000);
      const rate = options.ghsAsString ? ghs.toFixed(2) : ghs;
      return {
        STATUS: status(11, 'Summary'),
        SUMMARY: [{ Elapsed: elapsed, 'GHS 5s': rate, 'GHS av': ghs, 'GHS 30m': ghs, Accepted: 0, Rejected: 0, 'Hardware Errors': 0 }],
        id: 1,
      };
    }
    if (command === 'version')
      return {
        STATUS: status(22, 'BMMiner versions'),
        VERSION: [
          { BMMiner: '1.0.0', API: '3.1', Miner: 'uart_trans.1.3', CompileTime: 'Mon Jan  9 10:00:00 CST 2023', Type: 'Antminer S19j Pro' },
        ],
        id: 1,
      };
    if (command === 'stats')
      return {
        STATUS: status(70, 'CGMiner stats'),
        STATS: [
          { BMMiner: '1.0.0', Type: 'Antminer S19j Pro' },
          { 'GHS 5s': ghs, Mode: 2 },
        ],
        id: 1,
      };
    return { STATUS: [{ STATUS: 'E', When: when, Code: 14, Msg: 'Invalid command', Description: 'bmminer 1.0.0' }], id: 1 };
  }

  const api = net.createServer((socket) => {
    socket.on('error', () => {});
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.length > 65536) return void socket.destroy();
      let request: { command?: unknown };
      try {
        request = JSON.parse(text) as { command?: unknown };
      } catch {
        return; // wait for the rest
      }
      const command = typeof request.command === 'string' ? request.command : '';
      requests.push(`api ${command}`);
      if (matches(failures.hang, 'api')) return;
      if (restartTimer !== null) return void socket.end(); // bmminer is down: the port closes without a reply
      const reply = JSON.stringify(apiReply(command));
      socket.end(matches(failures.half, 'api') ? reply.slice(0, Math.floor(reply.length / 2)) : `${reply}\0`);
    });
  });
  const apiPort = await listenOn(api, { host: '127.0.0.1', port: 0 });
  const apiSockets = new Set<net.Socket>();
  api.on('connection', (s: net.Socket) => {
    apiSockets.add(s);
    s.on('close', () => apiSockets.delete(s));
  });
  const sim = await serveFirmwareSim(web, state, failures, listeners);
  const closeWeb = sim.close;
  return Object.assign(sim, {
    apiPort,
    requests,
    lastWrite: () => lastWrite,
    setBooting(on: boolean) {
      if (booting === on || (on && workMode !== '0')) return;
      booting = on;
      listeners.notify(state());
    },
    async close() {
      if (restartTimer) clearTimeout(restartTimer);
      for (const timer of pending) clearTimeout(timer);
      for (const s of apiSockets) s.destroy();
      await new Promise<void>((resolve) => api.close(() => resolve()));
      await closeWeb();
    },
  });
}
