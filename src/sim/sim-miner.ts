/**
 * A simulated Stratum V1 miner over real TCP (NDJSON), for integration tests. It really hashes: it builds
 * headers from the jobs it is sent (./hash.ts, node:crypto) and submits nonces that meet the current share
 * difficulty. At a tiny fractional difficulty (2^-24 ≈ 256 hashes a share) that costs little CPU.
 *
 * Handshake (sequential, like cgminer / ESP-Miner): [mining.configure] → mining.subscribe →
 * [mining.extranonce.subscribe] → [mining.suggest_difficulty] → mining.authorize.
 * Handles mining.notify (clean_jobs), mining.set_difficulty, mining.set_extranonce, mining.set_version_mask,
 * client.reconnect, mining.ping, client.get_version, client.show_message.
 * Loopback only; every loop is bounded (hashes per tick, hash rate, reconnect attempts, lifetime).
 */
import { EventEmitter } from 'node:events';
import net from 'node:net';
import {
  buildHeader,
  coinbase,
  hashToBigInt,
  hex32,
  isHex,
  isLoopback,
  merkleRoot,
  parseHex32,
  rollVersion,
  sha256d,
  targetFromDifficulty,
} from './hash.js';

export interface SimMinerOptions {
  host?: string;
  port: number;
  user: string;
  password?: string;
  /** Negotiate BIP 310 version rolling and roll version bits in submits (default false). */
  versionRolling?: boolean;
  /** Mask asked for in mining.configure (default ffffffff, as cgminer does). */
  requestMask?: string;
  userAgent?: string;
  /** Cap on shares submitted per second (default: as fast as they are found). */
  sharesPerSecond?: number;
  /** Stop searching after this many shares found (the miner stays connected; 'done' is emitted once all are answered). */
  maxShares?: number;
  /** Close after this many ms. */
  durationMs?: number;
  /** Hash at all (default true); false = handshake only, submit by hand. */
  mine?: boolean;
  /** Run the handshake (default true); false = connect only, drive it with request() / sendRaw(). */
  handshake?: boolean;
  /** Mine at this difficulty whatever the pool says (to produce low-difficulty shares). */
  mineDifficulty?: number;
  /** Use this JSON-RPC id for every submit (real firmware does); answers are then matched in order. */
  sameSubmitId?: number | string;
  /** Answer mining.ping (default true). */
  answerPings?: boolean;
  suggestDifficulty?: number;
  /** Send mining.extranonce.subscribe (default false). */
  extranonceSubscribe?: boolean;
  /** Reconnect when the peer drops the connection (default false; client.reconnect is always honoured). */
  autoReconnect?: boolean;
  /** Connection attempts per reconnect (default 5). */
  reconnectAttempts?: number;
  /** Pause between attempts (default 100 ms). */
  reconnectDelayMs?: number;
  /** Cap on client.reconnect's wait (default 5000 ms). */
  maxReconnectWaitMs?: number;
  /** Requests unanswered after this are given up (default 5000 ms). */
  requestTimeoutMs?: number;
  /** Hashes per event-loop turn (default 256). */
  hashesPerTick?: number;
  /** Hash-rate cap in H/s (default 50000), so a miner never burns a core. */
  maxHashRate?: number;
  /** Line cap for what the pool sends (default 65536). */
  maxLineBytes?: number;
  /** Safety net: the miner closes itself after this many ms (default 60000). */
  lifetimeMs?: number;
}

/** What goes into mining.submit (besides the worker name). */
export interface MinerShare {
  jobId: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  versionBits?: string | undefined;
}

export interface SubmitResult {
  status: 'accepted' | 'rejected' | 'timeout' | 'closed';
  code: number | null;
  message: string | null;
}

export interface MinerShareRecord extends MinerShare, Partial<SubmitResult> {
  id: number | string;
  /** Undefined while pending. */
  status?: SubmitResult['status'];
}

export interface SimMinerStats {
  connects: number;
  reconnects: number;
  disconnects: number;
  hashes: number;
  found: number;
  submitted: number;
  accepted: number;
  rejected: number;
  /** Rejections by error code ('null' when the pool gave none). */
  rejectedByCode: Record<string, number>;
  timeouts: number;
  jobs: number;
  cleanJobs: number;
  difficulty: number | undefined;
  extranonce1: string | undefined;
  extranonce2Size: number | undefined;
  /** Negotiated version-rolling mask (hex), or undefined. */
  versionMask: string | undefined;
  subscribed: boolean;
  authorized: boolean;
  connected: boolean;
  pings: number;
  garbage: number;
  unmatched: number;
  messages: string[];
}

export interface MinerJob {
  jobId: string;
  prevhash: string;
  coinb1: string;
  coinb2: string;
  merkleBranch: string[];
  version: string;
  nbits: string;
  ntime: string;
  clean: boolean;
}

interface Pending {
  id: number | string;
  method: string;
  timer: NodeJS.Timeout;
  resolve: (r: { result: unknown; error: unknown; status: 'ok' | 'timeout' | 'closed' }) => void;
}

interface Work {
  job: MinerJob;
  extranonce1: string;
  extranonce2: string;
  versionBits: number | undefined;
  header: Buffer;
  nonce: number;
}

export interface SimMiner {
  readonly stats: SimMinerStats;
  readonly events: EventEmitter;
  readonly options: Readonly<SimMinerOptions>;
  readonly currentJob: MinerJob | undefined;
  /** Every share submitted (last 10000), with its answer once it arrived. */
  readonly shares: MinerShareRecord[];
  readonly lastShare: MinerShare | undefined;
  readonly closed: boolean;
  /** Submit a share by hand (e.g. resubmit lastShare for duplicate/stale tests). */
  submit(share: MinerShare, worker?: string): Promise<SubmitResult>;
  /** Send any JSON-RPC request and wait for its answer. */
  request(method: string, params: unknown[]): Promise<{ result: unknown; error: unknown; status: 'ok' | 'timeout' | 'closed' }>;
  /** Write raw bytes (garbage tests). */
  sendRaw(data: string | Uint8Array): void;
  pause(): void;
  resume(): void;
  /** Resolve when pred() holds (rechecked after every event), or reject after timeoutMs. */
  waitFor(pred: () => boolean, timeoutMs?: number, label?: string): Promise<void>;
  close(): Promise<void>;
}

class Emitter extends EventEmitter {
  readonly waiters = new Set<() => void>();
  override emit(name: string | symbol, ...args: unknown[]): boolean {
    const r = super.emit(name, ...args);
    for (const w of [...this.waiters]) w();
    return r;
  }
}

function lineReader(maxBytes: number, onLine: (line: string) => void, onOverflow: () => void): (chunk: Buffer) => void {
  let parts: Buffer[] = [];
  let size = 0;
  let stopped = false;
  return (chunk) => {
    let start = 0;
    while (!stopped && start <= chunk.length) {
      const nl = chunk.indexOf(10, start);
      const piece = chunk.subarray(start, nl === -1 ? chunk.length : nl);
      size += piece.length;
      if (size > maxBytes) {
        stopped = true;
        parts = [];
        onOverflow();
        return;
      }
      if (nl === -1) {
        if (piece.length > 0) parts.push(piece);
        return;
      }
      const line = (parts.length > 0 ? Buffer.concat([...parts, piece]) : piece).toString('utf8');
      parts = [];
      size = 0;
      start = nl + 1;
      onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
    }
  };
}

function errorCode(error: unknown): { code: number | null; message: string | null } {
  if (Array.isArray(error))
    return { code: typeof error[0] === 'number' ? error[0] : null, message: error[1] == null ? null : String(error[1]) };
  if (error && typeof error === 'object') {
    const e = error as { code?: unknown; message?: unknown };
    return { code: typeof e.code === 'number' ? e.code : null, message: e.message == null ? null : String(e.message) };
  }
  return { code: null, message: error == null ? null : String(error) };
}

const normalizeHost = (h: string) => (h === 'localhost' ? '127.0.0.1' : h);

export async function startSimMiner(opts: SimMinerOptions): Promise<SimMiner> {
  let host = normalizeHost(opts.host ?? '127.0.0.1');
  let port = opts.port;
  if (!isLoopback(host)) throw new Error(`sim miner connects to loopback only, not ${host}`);
  const password = opts.password ?? 'x';
  const userAgent = opts.userAgent ?? 'sim-miner/1.0';
  const mine = opts.mine ?? true;
  const answerPings = opts.answerPings ?? true;
  const reconnectAttempts = Math.max(1, opts.reconnectAttempts ?? 5);
  const reconnectDelayMs = opts.reconnectDelayMs ?? 100;
  const maxReconnectWaitMs = opts.maxReconnectWaitMs ?? 5000;
  const requestTimeoutMs = opts.requestTimeoutMs ?? 5000;
  const hashesPerTick = Math.max(1, opts.hashesPerTick ?? 256);
  const maxHashRate = Math.max(1, opts.maxHashRate ?? 50000);
  const maxLineBytes = opts.maxLineBytes ?? 65536;
  if (opts.mineDifficulty !== undefined) targetFromDifficulty(opts.mineDifficulty);

  const events = new Emitter();
  const stats: SimMinerStats = {
    connects: 0,
    reconnects: 0,
    disconnects: 0,
    hashes: 0,
    found: 0,
    submitted: 0,
    accepted: 0,
    rejected: 0,
    rejectedByCode: {},
    timeouts: 0,
    jobs: 0,
    cleanJobs: 0,
    difficulty: undefined,
    extranonce1: undefined,
    extranonce2Size: undefined,
    versionMask: undefined,
    subscribed: false,
    authorized: false,
    connected: false,
    pings: 0,
    garbage: 0,
    unmatched: 0,
    messages: [],
  };
  const shares: MinerShareRecord[] = [];
  let lastShare: MinerShare | undefined;
  let socket: net.Socket | undefined;
  /** Bumped on every (re)connection; stale callbacks compare against it. */
  let gen = 0;
  let closed = false;
  let closing: Promise<void> | undefined;
  let reconnecting = false;
  let paused = false;
  let doneEmitted = false;
  let nextId = 1;
  let pending: Pending[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const sleepers = new Set<() => void>();

  let job: MinerJob | undefined;
  let extranonce1: string | undefined;
  let extranonce2Size = 4;
  let versionMask: number | undefined;
  let difficulty: number | undefined;
  let target: bigint | undefined;
  let work: Work | undefined;
  let en2Counter = 0;
  let nextShareAt = 0;
  let windowStart = 0;
  let windowHashes = 0;
  let mineScheduled = false;

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        clearTimeout(t);
        timers.delete(t);
        sleepers.delete(wake);
        resolve();
      };
      const t = setTimeout(wake, ms);
      timers.add(t);
      sleepers.add(wake);
    });

  const write = (obj: object) => {
    if (socket && !socket.destroyed && socket.writable) socket.write(`${JSON.stringify(obj)}\n`);
  };

  const request = (method: string, params: unknown[], id: number | string = nextId++) =>
    new Promise<{ result: unknown; error: unknown; status: 'ok' | 'timeout' | 'closed' }>((resolve) => {
      if (closed || !socket) {
        resolve({ result: null, error: null, status: 'closed' });
        return;
      }
      const p: Pending = {
        id,
        method,
        resolve,
        timer: setTimeout(() => {
          timers.delete(p.timer);
          pending = pending.filter((x) => x !== p);
          resolve({ result: null, error: null, status: 'timeout' });
          // Submits count their timeout once the share record is updated (in submit()).
          if (method !== 'mining.submit') {
            stats.timeouts++;
            events.emit('timeout', { id, method });
          }
        }, requestTimeoutMs),
      };
      timers.add(p.timer);
      pending.push(p);
      write({ id, method, params });
    });

  const dropPending = () => {
    const old = pending;
    pending = [];
    for (const p of old) {
      clearTimeout(p.timer);
      timers.delete(p.timer);
      p.resolve({ result: null, error: null, status: 'closed' });
    }
  };

  const updateTarget = () => {
    const d = opts.mineDifficulty ?? difficulty ?? 1; // miners assume difficulty 1 until told otherwise
    target = targetFromDifficulty(d);
  };

  const buildWork = (): Work | undefined => {
    if (!job || extranonce1 === undefined) return undefined;
    const width = extranonce2Size * 2;
    const en2 = (en2Counter++).toString(16).padStart(width, '0').slice(-width);
    let versionBits: number | undefined;
    let version = parseHex32(job.version);
    if (versionMask !== undefined && versionMask !== 0) {
      const low = versionMask & -versionMask;
      versionBits = (Math.imul(en2Counter, low) & versionMask) >>> 0 || low >>> 0;
      version = rollVersion(version, versionBits, versionMask);
    }
    const root = merkleRoot(coinbase(job.coinb1, extranonce1, en2, job.coinb2), job.merkleBranch);
    const header = buildHeader({
      version,
      prevhash: job.prevhash,
      merkleRoot: root,
      ntime: parseHex32(job.ntime),
      nbits: parseHex32(job.nbits),
      nonce: 0,
    });
    return { job, extranonce1, extranonce2: en2, versionBits, header, nonce: 0 };
  };

  const maybeDone = () => {
    if (doneEmitted || opts.maxShares === undefined || stats.found < opts.maxShares) return;
    if (pending.some((p) => p.method === 'mining.submit')) return;
    doneEmitted = true;
    events.emit('done', stats);
  };

  const submit = async (share: MinerShare, worker = opts.user): Promise<SubmitResult> => {
    const params: unknown[] = [worker, share.jobId, share.extranonce2, share.ntime, share.nonce];
    if (share.versionBits !== undefined) params.push(share.versionBits);
    const id = opts.sameSubmitId ?? nextId++;
    const rec: MinerShareRecord = { ...share, id };
    shares.push(rec);
    if (shares.length > 10000) shares.splice(0, shares.length - 10000);
    lastShare = share;
    stats.submitted++;
    events.emit('submit', rec);
    const r = await request('mining.submit', params, id);
    let out: SubmitResult;
    if (r.status !== 'ok') out = { status: r.status, code: null, message: null };
    else if (r.result === true) out = { status: 'accepted', code: null, message: null };
    else out = { status: 'rejected', ...errorCode(r.error) };
    Object.assign(rec, out);
    if (out.status === 'accepted') {
      stats.accepted++;
      events.emit('accepted', rec);
    } else if (out.status === 'rejected') {
      stats.rejected++;
      const k = String(out.code);
      stats.rejectedByCode[k] = (stats.rejectedByCode[k] ?? 0) + 1;
      events.emit('rejected', rec);
    } else {
      if (out.status === 'timeout') {
        stats.timeouts++;
        events.emit('timeout', { id, method: 'mining.submit' });
      }
      events.emit('submitFailed', rec);
    }
    maybeDone();
    return out;
  };

  const canMine = () =>
    mine &&
    !closed &&
    !paused &&
    stats.connected &&
    stats.authorized &&
    job !== undefined &&
    extranonce1 !== undefined &&
    (opts.maxShares === undefined || stats.found < opts.maxShares);

  const scheduleMine = (delayMs = 0) => {
    if (mineScheduled || closed) return;
    mineScheduled = true;
    if (delayMs > 0) {
      const t = setTimeout(() => {
        timers.delete(t);
        mineScheduled = false;
        mineTick();
      }, delayMs);
      timers.add(t);
    } else
      setImmediate(() => {
        mineScheduled = false;
        mineTick();
      });
  };

  const mineTick = () => {
    if (!canMine()) return;
    const now = Date.now();
    if (now < nextShareAt) return scheduleMine(nextShareAt - now);
    if (now - windowStart >= 1000) {
      windowStart = now;
      windowHashes = 0;
    }
    if (windowHashes >= maxHashRate) return scheduleMine(windowStart + 1000 - now);
    if (!work) work = buildWork();
    if (!work || target === undefined) return;
    const w = work;
    const tgt = target;
    const n = Math.min(hashesPerTick, maxHashRate - windowHashes);
    for (let i = 0; i < n; i++) {
      w.header.writeUInt32LE(w.nonce, 76);
      const h = sha256d(w.header);
      stats.hashes++;
      windowHashes++;
      if (hashToBigInt(h) <= tgt) {
        const share: MinerShare = {
          jobId: w.job.jobId,
          extranonce2: w.extranonce2,
          ntime: w.job.ntime,
          nonce: hex32(w.nonce),
          versionBits: w.versionBits === undefined ? undefined : hex32(w.versionBits),
        };
        stats.found++;
        events.emit('found', share);
        work = undefined; // next share: fresh extranonce2 (and version bits)
        if (opts.sharesPerSecond && opts.sharesPerSecond > 0) nextShareAt = Date.now() + 1000 / opts.sharesPerSecond;
        void submit(share);
        break;
      }
      if (w.nonce === 0xffffffff) {
        work = undefined;
        break;
      }
      w.nonce++;
    }
    scheduleMine();
  };

  const onNotification = (method: string, params: unknown[], id: unknown) => {
    switch (method) {
      case 'mining.notify': {
        const [jobId, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean] = params;
        if (
          typeof jobId !== 'string' ||
          !isHex(prevhash, 32) ||
          !isHex(coinb1) ||
          !isHex(coinb2) ||
          !Array.isArray(branch) ||
          !branch.every((b) => isHex(b, 32)) ||
          !isHex(version, 4) ||
          !isHex(nbits, 4) ||
          !isHex(ntime, 4)
        ) {
          stats.garbage++;
          events.emit('garbage', { why: 'bad notify', params });
          return;
        }
        job = { jobId, prevhash, coinb1, coinb2, merkleBranch: branch as string[], version, nbits, ntime, clean: clean === true };
        work = undefined;
        stats.jobs++;
        if (job.clean) stats.cleanJobs++;
        events.emit('job', job);
        scheduleMine();
        return;
      }
      case 'mining.set_difficulty': {
        const d = Number(params[0]);
        if (!Number.isFinite(d) || d <= 0) {
          stats.garbage++;
          return;
        }
        difficulty = d;
        stats.difficulty = d;
        updateTarget();
        events.emit('difficulty', d);
        scheduleMine();
        return;
      }
      case 'mining.set_extranonce': {
        const [en1, size] = params;
        if (!isHex(en1) || typeof size !== 'number' || !Number.isInteger(size) || size < 1 || size > 16) {
          stats.garbage++;
          return;
        }
        extranonce1 = en1;
        extranonce2Size = size;
        stats.extranonce1 = en1;
        stats.extranonce2Size = size;
        work = undefined;
        events.emit('extranonce', { extranonce1: en1, extranonce2Size: size });
        scheduleMine();
        return;
      }
      case 'mining.set_version_mask': {
        if (!isHex(params[0], 4)) {
          stats.garbage++;
          return;
        }
        versionMask = parseHex32(params[0]);
        stats.versionMask = hex32(versionMask);
        work = undefined;
        events.emit('versionMask', stats.versionMask);
        return;
      }
      case 'client.reconnect': {
        const [h, p, wait] = params;
        let nh = typeof h === 'string' && h !== '' ? normalizeHost(h) : host;
        if (!isLoopback(nh)) nh = host; // never leave loopback
        const np = Number(p);
        const nport = Number.isInteger(np) && np > 0 && np < 65536 ? np : port;
        const waitMs = Math.min(maxReconnectWaitMs, Math.max(0, Number(wait) * 1000 || 0));
        events.emit('reconnectRequested', { host: nh, port: nport, waitMs });
        void reconnect(nh, nport, waitMs);
        return;
      }
      case 'mining.ping':
        stats.pings++;
        events.emit('ping');
        if (answerPings && id !== undefined && id !== null) write({ id, result: 'pong', error: null });
        return;
      case 'client.get_version':
        if (id !== undefined && id !== null) write({ id, result: userAgent, error: null });
        return;
      case 'client.show_message':
        stats.messages.push(String(params[0]));
        events.emit('message', String(params[0]));
        return;
      default:
        events.emit('unknown', { method, params, id });
    }
  };

  const onLine = (line: string) => {
    if (line.trim() === '') return;
    let msg: { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
    try {
      msg = JSON.parse(line);
    } catch {
      stats.garbage++;
      events.emit('garbage', { why: 'parse', line: line.slice(0, 200) });
      return;
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
      stats.garbage++;
      events.emit('garbage', { why: 'not an object', line: line.slice(0, 200) });
      return;
    }
    if (typeof msg.method === 'string') {
      onNotification(msg.method, Array.isArray(msg.params) ? msg.params : [], msg.id);
      return;
    }
    // A response: oldest pending request with this id (ids may repeat with sameSubmitId).
    const i = pending.findIndex((p) => p.id === msg.id);
    if (i === -1) {
      stats.unmatched++;
      events.emit('unmatched', msg);
      return;
    }
    const p = pending[i]!;
    pending.splice(i, 1);
    clearTimeout(p.timer);
    timers.delete(p.timer);
    p.resolve({ result: msg.result, error: msg.error ?? null, status: 'ok' });
  };

  const handshake = async (g: number) => {
    const current = () => g === gen && !closed;
    if (opts.versionRolling) {
      const r = await request('mining.configure', [
        ['version-rolling'],
        { 'version-rolling.mask': opts.requestMask ?? 'ffffffff', 'version-rolling.min-bit-count': 2 },
      ]);
      if (!current()) return;
      const res = r.result as Record<string, unknown> | null;
      if (r.status === 'ok' && res && res['version-rolling'] === true && isHex(res['version-rolling.mask'], 4)) {
        versionMask = (parseHex32(res['version-rolling.mask']) & parseHex32(opts.requestMask ?? 'ffffffff')) >>> 0;
        stats.versionMask = hex32(versionMask);
      }
      events.emit('configured', stats.versionMask);
    }
    const sub = await request('mining.subscribe', [userAgent]);
    if (!current()) return;
    const res = sub.result;
    if (sub.status !== 'ok' || !Array.isArray(res) || !isHex(res[1]) || typeof res[2] !== 'number') {
      events.emit('handshakeFailed', { step: 'subscribe', response: sub });
      return;
    }
    extranonce1 = res[1];
    extranonce2Size = res[2];
    stats.extranonce1 = extranonce1;
    stats.extranonce2Size = extranonce2Size;
    stats.subscribed = true;
    events.emit('subscribed', { extranonce1, extranonce2Size });
    if (opts.extranonceSubscribe) {
      await request('mining.extranonce.subscribe', []);
      if (!current()) return;
    }
    // Some pools never answer suggest_difficulty: don't wait for it.
    if (opts.suggestDifficulty !== undefined) void request('mining.suggest_difficulty', [opts.suggestDifficulty]);
    const auth = await request('mining.authorize', [opts.user, password]);
    if (!current()) return;
    if (auth.status === 'ok' && auth.result === true) {
      stats.authorized = true;
      events.emit('authorized');
      scheduleMine();
    } else events.emit('unauthorized', auth);
  };

  const resetSession = () => {
    stats.connected = false;
    stats.subscribed = false;
    stats.authorized = false;
    job = undefined;
    work = undefined;
    extranonce1 = undefined;
    versionMask = undefined;
    stats.versionMask = undefined;
    difficulty = undefined;
    updateTarget();
    dropPending();
  };

  const connectOnce = () =>
    new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect({ host, port });
      const t = setTimeout(() => {
        s.destroy();
        reject(new Error('connect timeout'));
      }, 2000);
      s.once('connect', () => {
        clearTimeout(t);
        s.off('error', reject);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(t);
        s.destroy();
        reject(e);
      });
    });

  const attach = (s: net.Socket) => {
    const g = ++gen;
    socket = s;
    s.setNoDelay(true);
    s.on('error', (e) => events.emit('socketError', e));
    s.on(
      'data',
      lineReader(
        maxLineBytes,
        (line) => {
          if (g === gen) onLine(line);
        },
        () => {
          stats.garbage++;
          s.destroy();
        },
      ),
    );
    s.on('close', () => {
      if (g !== gen) return;
      socket = undefined;
      resetSession();
      stats.disconnects++;
      events.emit('disconnect');
      if (closed || reconnecting) return;
      if (opts.autoReconnect) void reconnect(host, port, reconnectDelayMs);
      else void miner.close();
    });
    stats.connects++;
    stats.connected = true;
    events.emit('connect', { host, port });
    if (opts.handshake ?? true) void handshake(g);
  };

  /** Connect with bounded attempts; true on success. */
  const connectWithRetries = async (attempts: number): Promise<boolean> => {
    for (let i = 0; i < attempts && !closed; i++) {
      if (i > 0) await sleep(reconnectDelayMs);
      if (closed) return false;
      try {
        const s = await connectOnce();
        if (closed) {
          s.destroy();
          return false;
        }
        attach(s);
        return true;
      } catch (e) {
        events.emit('connectFailed', e);
      }
    }
    return false;
  };

  const reconnect = async (h: string, p: number, waitMs: number) => {
    if (closed || reconnecting) return;
    reconnecting = true;
    stats.reconnects++;
    events.emit('reconnecting', { host: h, port: p, waitMs });
    const old = socket;
    gen++; // retire the old connection's callbacks
    socket = undefined;
    resetSession();
    old?.destroy();
    host = h;
    port = p;
    if (waitMs > 0) await sleep(waitMs);
    const ok = await connectWithRetries(reconnectAttempts);
    reconnecting = false;
    if (!ok && !closed) {
      events.emit('giveup');
      void miner.close();
    }
  };

  const miner: SimMiner = {
    stats,
    events,
    options: opts,
    get currentJob() {
      return job;
    },
    shares,
    get lastShare() {
      return lastShare;
    },
    get closed() {
      return closed;
    },
    submit,
    request: (method, params) => request(method, params),
    sendRaw(data) {
      if (socket && !socket.destroyed && socket.writable) socket.write(data);
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      scheduleMine();
    },
    waitFor(pred, timeoutMs = 5000, label) {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          events.waiters.delete(check);
        };
        const check = () => {
          let ok: boolean;
          try {
            ok = pred();
          } catch (e) {
            done();
            reject(e);
            return;
          }
          if (ok) {
            done();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`waitFor timed out after ${timeoutMs} ms${label ? `: ${label}` : ''}`));
        }, timeoutMs);
        events.waiters.add(check);
      });
    },
    close() {
      if (closing) return closing;
      closed = true;
      closing = (async () => {
        clearTimeout(lifetime);
        for (const t of timers) clearTimeout(t);
        timers.clear();
        for (const wake of [...sleepers]) wake();
        dropPending();
        const s = socket;
        socket = undefined;
        gen++;
        if (s && !s.destroyed) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(() => {
              s.destroy();
            }, 1000);
            s.once('close', () => {
              clearTimeout(t);
              resolve();
            });
            s.end();
          });
        }
        stats.connected = false;
        events.emit('close', stats);
      })();
      return closing;
    },
  };

  const lifetime = setTimeout(() => void miner.close(), opts.durationMs ?? opts.lifetimeMs ?? 60000);
  if (opts.durationMs === undefined) lifetime.unref();
  updateTarget();
  const ok = await connectWithRetries(opts.autoReconnect ? reconnectAttempts : 1);
  if (!ok) {
    await miner.close();
    throw new Error(`sim miner could not connect to ${host}:${port}`);
  }
  return miner;
}
