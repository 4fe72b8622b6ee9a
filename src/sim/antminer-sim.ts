/**
 * A simulated stock-Bitmain Antminer (S19/S21 family) on 127.0.0.1, for tests and demos: the web CGI
 * behind HTTP digest auth, and the cgminer-compatible API on TCP 4028. Written from the public facts
 * collected in notes/firmware-apis.md § 1 (pyasic, asic-rs, Foreman, the FDMiner doc, the "Stock Bitmain
 * Firmware API" doc), independent of the rest of src/. Reply bodies: ./antminer-replies.ts; digest auth:
 * ./antminer-digest.ts.
 *
 * Web (digest auth, realm "antMiner Configuration", qop "auth"; default root/root), `/cgi-bin/<name>.cgi`:
 * - GET  get_miner_conf   → the config; every scalar is a string: "bitmain-work-mode": "0"|"1"|"3"
 *   (`hasWorkMode: false`: an older firmware without the key, which ignores mode writes)
 * - POST set_miner_conf   → JSON body (any Content-Type); `miner-mode` (int or numeric string) wins over
 *   `bitmain-work-mode`; reply {"stats":"success","code":"M000","msg":"OK!"} after `replyDelayMs`, even when
 *   the mode did not change (LPM on a model without one, the `ignoreWorkModeKey` quirk, no work mode at all).
 *   A changed mode restarts the miner process for `restartMs`.
 * - GET  get_system_info  → minertype, `system_filesystem_version` (the firmware build date), `firmware_type`, …
 *   (`firmwareVersion: null`: both fields absent)
 * - GET  summary, stats, pools → the "new API" shapes (`rate_5s` in `rate_unit` "GH/s"); `webStats: false` = an
 *   older firmware without them (404). While the miner process restarts they answer 200 with an empty body (the
 *   CGI cannot reach bmminer; our inference, no source describes it).
 * - GET  get_blink_status → {"blink":false}
 * Work modes: 0 normal, 1 sleep, 3 low power (75 % of the hash rate, 70 % of the watts; `lowPowerMode: false` =
 * a model without LPM, which ignores it).
 * API 4028 (`api: false` or `setApiListening(false)`: nothing listens, connections are refused, as on builds
 * that ship with the API off): one JSON request per connection, `summary`, `stats`, `pools`, `version`, `devs`
 * (`new_api: true` for the modern shapes; "a+b" for several), reply + NUL, then close. While the miner process
 * restarts the port closes without a reply (`restartGap: 'close'`, default) or refuses (`'refuse'`).
 * Watts appear only with `powerField` (stock S19/S21 report none).
 */
import http from 'node:http';
import net from 'node:net';
import { createDigestServer } from './antminer-digest.js';
import { type AntminerPowerField, type AntminerSnapshot, apiReply, newApiPools, newApiStats, newApiSummary } from './antminer-replies.js';
import { type FirmwareSim, type FirmwareSimOptions, listenOn, matches, serveFirmwareSim, stateListeners } from './shared.js';

export type { AntminerPowerField } from './antminer-replies.js';
export type AntminerRoute =
  'get_miner_conf' | 'set_miner_conf' | 'get_system_info' | 'summary' | 'stats' | 'pools' | 'get_blink_status' | 'api';
export type AntminerWorkMode = '0' | '1' | '3';
const WEB_ROUTES = ['get_miner_conf', 'set_miner_conf', 'get_system_info', 'summary', 'stats', 'pools', 'get_blink_status'] as const;

export interface AntminerSimState {
  readonly workMode: AntminerWorkMode;
  /** The miner process restarting after a mode change: the 4028 API is down. */
  readonly restarting: boolean;
  /** Hashboards starting up: 0 GH/s while the mode is normal. */
  readonly booting: boolean;
  /** GH/s now. */
  readonly hashRate: number;
  /** Watts drawn now (reported only with `powerField`). */
  readonly watts: number;
  /** Something listens on the 4028 port. */
  readonly apiListening: boolean;
}

/** Switches tests flip at any time. */
export interface AntminerSimFailures {
  /** Answer these routes with this HTTP status instead (after auth). */
  status: Partial<Record<AntminerRoute, number>>;
  /** Read the request, never answer. */
  hang: boolean | readonly AntminerRoute[];
  /** Send half of the answer, then close the connection. */
  half: boolean | readonly AntminerRoute[];
  /** Answer 401 to every request, even with the right digest (a 401 loop; each challenge has a fresh nonce). */
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
  /** Watts in normal mode (default 3250). */
  readonly watts?: number;
  readonly workMode?: AntminerWorkMode;
  readonly booting?: boolean;
  /** false = a model without low-power mode: a write of mode 3 is answered M000 and ignored (default true). */
  readonly lowPowerMode?: boolean;
  /** false = an older firmware whose config has no `bitmain-work-mode` and which ignores mode writes. */
  readonly hasWorkMode?: boolean;
  /** How long set_miner_conf takes to answer, ms (default 20000, as measured on an S19j Pro). */
  readonly replyDelayMs?: number;
  /** How long the miner process restarts after a mode change, ms (default 10000). */
  readonly restartMs?: number;
  /** What 4028 does while the miner process restarts (default 'close'). */
  readonly restartGap?: 'close' | 'refuse';
  readonly ghsAsString?: boolean;
  /** false = nothing listens on 4028 (default true). */
  readonly api?: boolean;
  /** false = no summary.cgi / stats.cgi / pools.cgi (404), as on older firmware (default true). */
  readonly webStats?: boolean;
  /** Where the watts are reported (default null: nowhere, as on stock S19/S21). */
  readonly powerField?: AntminerPowerField | null;
  /** `system_filesystem_version` (default a 2023 build date); null = get_system_info has no version fields. */
  readonly firmwareVersion?: string | null;
  readonly model?: string;
}

export interface AntminerSim extends FirmwareSim<AntminerSimState, AntminerSimFailures> {
  /** The 4028 API port (kept while it is closed, so it can listen again on the same port). */
  readonly apiPort: number;
  /** Every request: "GET get_miner_conf", "POST set_miner_conf 401", "api summary", "api stats new_api". */
  readonly requests: readonly string[];
  /** The last set_miner_conf body, parsed. */
  lastWrite(): Record<string, unknown> | null;
  setBooting(on: boolean): void;
  /** Opens or closes the 4028 port (closed: connections are refused). */
  setApiListening(on: boolean): Promise<void>;
}

function modeOf(v: unknown): AntminerWorkMode | null {
  const s = typeof v === 'number' ? String(v) : typeof v === 'string' ? v.trim() : '';
  return s === '0' || s === '1' || s === '3' ? s : null;
}

function parseObject(text: string): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

export async function startAntminerSim(options: AntminerSimOptions = {}): Promise<AntminerSim> {
  const fullRate = options.hashRate ?? 110_000;
  const fullWatts = options.watts ?? 3250;
  const lowPower = options.lowPowerMode ?? true;
  const hasWorkMode = options.hasWorkMode ?? true;
  const replyDelayMs = options.replyDelayMs ?? 20_000;
  const restartMs = options.restartMs ?? 10_000;
  const restartGap = options.restartGap ?? 'close';
  const webStats = options.webStats ?? true;
  const firmwareVersion = options.firmwareVersion === undefined ? 'Mon Jan  9 10:00:00 CST 2023' : options.firmwareVersion;
  const model = options.model ?? 'Antminer S19j Pro';
  const now = options.now ?? Date.now;
  const digest = createDigestServer(options.user ?? 'root', options.password ?? 'root');
  let workMode: AntminerWorkMode = options.workMode ?? '0';
  let booting = options.booting ?? false;
  let restartTimer: NodeJS.Timeout | null = null;
  let lastWrite: Record<string, unknown> | null = null;
  let apiWanted = options.api ?? true;
  let apiOpen = true;
  const started = now();
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
    const watts = rate === 0 ? 15 : workMode === '3' ? Math.round(fullWatts * 0.7) : fullWatts;
    return { workMode, restarting: restartTimer !== null, booting, hashRate: rate, watts, apiListening: apiOpen };
  }

  function snapshot(): AntminerSnapshot {
    const s = state();
    return {
      when: Math.floor(now() / 1000),
      elapsed: Math.floor((now() - started) / 1000),
      ghs: s.hashRate,
      idealGhs: fullRate,
      watts: s.watts,
      powerField: options.powerField ?? null,
      ghsAsString: options.ghsAsString ?? false,
      model,
      compileTime: firmwareVersion ?? '',
      workMode,
      pools: config().pools as AntminerSnapshot['pools'],
    };
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
      ...(hasWorkMode ? { 'bitmain-work-mode': workMode } : {}),
      'bitmain-freq-level': '100',
    };
  }

  // ---------------------------------------------------------------- the 4028 port

  const apiSockets = new Set<net.Socket>();
  const api = net.createServer((socket) => {
    apiSockets.add(socket);
    socket.on('close', () => apiSockets.delete(socket));
    socket.on('error', () => {});
    let text = '';
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.length > 65536) return void socket.destroy();
      const request = parseObject(text);
      if (request === null) return; // wait for the rest
      const command = typeof request.command === 'string' ? request.command : '';
      const newApi = request.new_api === true;
      requests.push(`api ${command}${newApi ? ' new_api' : ''}`);
      if (matches(failures.hang, 'api')) return;
      if (restartTimer !== null) return void socket.end(); // bmminer is down: the port closes without a reply
      const reply = JSON.stringify(apiReply(snapshot(), command, newApi));
      socket.end(matches(failures.half, 'api') ? reply.slice(0, Math.floor(reply.length / 2)) : `${reply}\0`);
    });
  });
  const apiPort = await listenOn(api, { host: '127.0.0.1', port: 0 });

  function closeApi(): Promise<void> {
    if (!apiOpen) return Promise.resolve();
    apiOpen = false;
    for (const s of apiSockets) s.destroy();
    return new Promise<void>((resolve) => api.close(() => resolve()));
  }

  async function openApi(): Promise<void> {
    if (apiOpen) return;
    apiOpen = true;
    await new Promise<void>((resolve, reject) => {
      api.once('error', reject);
      api.listen({ host: '127.0.0.1', port: apiPort }, () => {
        api.off('error', reject);
        resolve();
      });
    });
  }

  /** The port listens when wanted and no refusing restart is under way. */
  function syncApi(): Promise<void> {
    const open = apiWanted && !(restartGap === 'refuse' && restartTimer !== null);
    return open ? openApi() : closeApi();
  }
  await syncApi();

  // ---------------------------------------------------------------- writes

  function apply(body: Record<string, unknown>): void {
    if (!hasWorkMode) return;
    const wanted = modeOf(body['miner-mode']) ?? (failures.ignoreWorkModeKey ? null : modeOf(body['bitmain-work-mode']));
    if (wanted === null || wanted === workMode || (wanted === '3' && !lowPower)) return;
    workMode = wanted;
    if (wanted !== '0') booting = false;
    if (restartTimer) clearTimeout(restartTimer);
    restartTimer = setTimeout(() => {
      restartTimer = null;
      void syncApi().then(() => listeners.notify(state()));
    }, restartMs);
    void syncApi();
    listeners.notify(state());
  }

  // ---------------------------------------------------------------- the web CGI

  function send(res: http.ServerResponse, route: AntminerRoute, status: number, body: unknown): void {
    const text = body === '' ? '' : JSON.stringify(body);
    if (matches(failures.half, route)) {
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.write(text.slice(0, Math.floor(text.length / 2)));
      res.socket?.end(); // a FIN mid-body: the client sees a short answer
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), connection: 'close' });
    res.end(text);
  }

  function systemInfo(): Record<string, unknown> {
    return {
      minertype: model,
      nettype: 'DHCP',
      netdevice: 'eth0',
      macaddr: '02:00:00:00:19:01',
      hostname: 'antminer-sim',
      ipaddress: '127.0.0.1',
      netmask: '255.0.0.0',
      gateway: '',
      dnsservers: '',
      system_mode: 'GNU/Linux',
      system_kernel_version: 'Linux 4.9.113',
      ...(firmwareVersion === null ? {} : { system_filesystem_version: firmwareVersion, firmware_type: 'Release' }),
      serinum: 'SIMSERIAL0000001',
    };
  }

  /** summary, stats, pools: empty while bmminer restarts (the CGI reads them from it). */
  function webStatus(res: http.ServerResponse, route: 'summary' | 'stats' | 'pools'): void {
    if (!webStats) return send(res, route, 404, { error: 'Not Found' });
    if (restartTimer !== null) return send(res, route, 200, '');
    const s = snapshot();
    send(res, route, 200, route === 'summary' ? newApiSummary(s) : route === 'stats' ? newApiStats(s) : newApiPools(s));
  }

  function write(res: http.ServerResponse, body: string): void {
    const parsed = parseObject(body);
    if (failures.refuseWrite || parsed === null)
      return send(res, 'set_miner_conf', 200, { stats: 'error', code: 'M001', msg: 'Invalid config' });
    lastWrite = parsed;
    const timer = setTimeout(() => {
      pending.delete(timer);
      apply(parsed);
      send(res, 'set_miner_conf', 200, { stats: 'success', code: 'M000', msg: 'OK!' });
    }, replyDelayMs);
    pending.add(timer);
  }

  function handle(res: http.ServerResponse, route: AntminerRoute, body: string): void {
    if (matches(failures.hang, route)) return;
    const forced = failures.status[route];
    if (forced !== undefined) return send(res, route, forced, { error: `simulated failure ${forced}` });
    switch (route) {
      case 'get_miner_conf':
        return send(res, route, 200, config());
      case 'get_system_info':
        return send(res, route, 200, systemInfo());
      case 'get_blink_status':
        return send(res, route, 200, { blink: false });
      case 'summary':
      case 'stats':
      case 'pools':
        return webStatus(res, route);
      default:
        return write(res, body);
    }
  }

  const web = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    const name = /^\/cgi-bin\/(\w+)\.cgi$/.exec((req.url ?? '/').split('?')[0]!)?.[1] ?? '';
    const route = WEB_ROUTES.find((r) => r === name);
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= 65536) chunks.push(c);
    });
    req.on('end', () => {
      const authed = !failures.alwaysUnauthorized && digest.check(req.headers.authorization, method);
      requests.push(`${method} ${name}${authed ? '' : ' 401'}`);
      if (!authed) return digest.challenge(res);
      if (route === undefined || (route === 'set_miner_conf') !== (method === 'POST')) {
        res.writeHead(404, { connection: 'close' });
        return void res.end('Not Found');
      }
      handle(res, route, Buffer.concat(chunks).toString('utf8'));
    });
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
    async setApiListening(on: boolean) {
      apiWanted = on;
      await syncApi();
      listeners.notify(state());
    },
    async close() {
      if (restartTimer) clearTimeout(restartTimer);
      restartTimer = null;
      for (const timer of pending) clearTimeout(timer);
      apiWanted = false;
      await closeApi();
      await closeWeb();
    },
  });
}
