/**
 * A simulated Stratum V1 pool over real TCP (NDJSON) on 127.0.0.1, for integration tests.
 * It checks every share itself with ./hash.ts (node:crypto), independent of src/.
 *
 * Behaviour follows what real pools do (ckpool-style answers):
 * - mining.subscribe → [[["mining.set_difficulty", id], ["mining.notify", id]], extranonce1 (4 bytes, unique), extranonce2_size]
 * - mining.authorize → true (any credentials, or a password / predicate check), then set_difficulty + notify once per connection
 * - mining.configure → BIP 310 version rolling, mask = requested & pool mask
 * - mining.submit → true, or error [code, message, null] with 20 other, 21 stale, 22 duplicate, 23 low difficulty,
 *   24 unauthorized worker, 25 not subscribed
 *
 * A share is checked against min(difficulty when its job was sent to that connection, current difficulty), so
 * shares in flight across a set_difficulty are not punished. Shares are never accepted for jobs the connection
 * was not sent, or that a clean_jobs notify (or the job cap) has retired.
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { hashShare, hex32, isHex, parseHex32, type StratumJob, shareDifficulty, targetFromBits, targetFromDifficulty } from './hash.js';

export type StratumCode = 20 | 21 | 22 | 23 | 24 | 25;

export const REASONS: Record<StratumCode, string> = {
  20: 'Other/Unknown',
  21: 'Job not found (=stale)',
  22: 'Duplicate share',
  23: 'Low difficulty share',
  24: 'Unauthorized worker',
  25: 'Not subscribed',
};

export interface PoolJob extends StratumJob {
  jobId: string;
  clean: boolean;
}

/** A share as the pool saw it, with its verdict. */
export interface PoolShare {
  connId: number;
  worker: string;
  jobId: string;
  extranonce1: string;
  extranonce2: string;
  ntime: string;
  nonce: string;
  versionBits?: string | undefined;
  /** Difficulty the share was checked against (undefined when rejected before the hash check). */
  difficulty?: number | undefined;
  /** DIFF1 / hash (undefined when rejected before hashing). */
  shareDifficulty?: number | undefined;
  /** Display-order hash hex. */
  hash?: string | undefined;
  accepted: boolean;
  code?: StratumCode | undefined;
  reason?: string | undefined;
  /** The hash also meets the job's nbits target. */
  block: boolean;
  /** Rejected by rejectAll / rejectIf although the share was valid. */
  forced: boolean;
  at: number;
}

/** Input for rejectIf: the share after all real checks passed. */
export type RejectDecision = StratumCode | [StratumCode, string] | null | undefined | false;

export interface SimPoolBehavior {
  /** Stop sending unsolicited messages (set_difficulty, notify, set_extranonce, reconnect…); requests are still answered. */
  silent: boolean;
  /** Accept TCP then reset the connection at once. */
  refuse: boolean;
  /** Delay every answer (and the work sent after authorize) by this many ms. */
  answerDelayMs: number;
  /** Never answer: everything (true) or these methods. */
  neverAnswer: boolean | string[];
  /** Reject every otherwise valid share with this code (true = 23). */
  rejectAll: boolean | StratumCode;
  /** Decide per otherwise valid share; return a code (or [code, message]) to reject it. */
  rejectIf: ((share: PoolShare) => RejectDecision) | undefined;
}

export interface SimPoolOptions extends Partial<SimPoolBehavior> {
  /** Port to listen on (default 0 = ephemeral; restart() reuses whatever was bound). */
  port?: number;
  /** Host: 127.0.0.1 (default) or ::1. */
  host?: '127.0.0.1' | '::1';
  /** Share difficulty for new connections (default 2^-24: about 256 hashes a share). */
  difficulty?: number;
  extranonce2Size?: number;
  /** Pool's version-rolling mask, hex (default 1fffe000). */
  versionMask?: string;
  /** Grant version rolling at all (default true). */
  versionRolling?: boolean;
  /** Random merkle branch hashes per job (default 4). */
  branchCount?: number;
  /** Job version, hex (default 20000000). */
  version?: string;
  /** Job nbits, hex (default 1d00ffff: easy; pass e.g. 17029a8a for a mainnet one). */
  nbits?: string;
  /** Approximate coinbase size in bytes (default 200). */
  coinbaseBytes?: number;
  /** Send a new (non-clean) job every N ms (default 0: only on demand). */
  jobIntervalMs?: number;
  /** Jobs a connection may still submit to (default 8). */
  maxJobs?: number;
  /** Require this password in mining.authorize. */
  password?: string;
  /** Or decide per worker. */
  authorize?: (user: string, password: string) => boolean;
  /** How a failed authorize is answered: result false (default) or error 24. */
  authorizeFailure?: 'false' | 'error';
  /** Apply mining.suggest_difficulty (default false: recorded and answered true only). */
  honorSuggestedDifficulty?: boolean;
  /** Maximum line length in bytes (default 8192); longer lines get an error and the connection is closed. */
  maxLineBytes?: number;
  /** Unparseable lines tolerated per connection before it is dropped (default 16). */
  maxGarbage?: number;
  /** Safety net: the pool closes itself after this many ms (default 60000). */
  lifetimeMs?: number;
}

export interface WorkerStats {
  accepted: number;
  rejected: number;
  rejectedByCode: Record<number, number>;
  /** Sum of the difficulties of accepted shares. */
  acceptedDifficulty: number;
}

export interface SimPoolStats {
  connections: number;
  active: number;
  refused: number;
  submits: number;
  accepted: number;
  rejected: number;
  rejectedByCode: Record<number, number>;
  byWorker: Record<string, WorkerStats>;
  blocks: number;
  jobs: number;
  garbage: number;
  oversize: number;
  unanswered: number;
  pongs: number;
  /** The last 10000 shares with verdicts. */
  shares: PoolShare[];
}

export interface ClientInfo {
  connId: number;
  extranonce1: string;
  extranonce2Size: number;
  subscribed: boolean;
  userAgent: string | undefined;
  workers: string[];
  difficulty: number;
  suggestedDifficulty: number | undefined;
  /** Negotiated mask (hex), or undefined without mining.configure. */
  versionMask: string | undefined;
  extranonceSubscribed: boolean;
  jobIds: string[];
}

interface SentJob {
  job: PoolJob;
  extranonce1: string;
  extranonce2Size: number;
  difficulty: number;
}

interface Conn {
  id: number;
  socket: net.Socket;
  extranonce1: string;
  extranonce2Size: number;
  subscribed: boolean;
  userAgent: string | undefined;
  workers: Set<string>;
  workSent: boolean;
  difficulty: number;
  suggestedDifficulty: number | undefined;
  requestedMask: number | undefined;
  versionMask: number | undefined;
  extranonceSubscribed: boolean;
  jobs: Map<string, SentJob>;
  garbage: number;
  dead: boolean;
}

type Msg = { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };

export interface SimPool {
  readonly host: string;
  readonly port: number;
  readonly stats: SimPoolStats;
  readonly events: EventEmitter;
  /** Runtime knobs (silent, refuse, answerDelayMs, neverAnswer, rejectAll, rejectIf): assign to change. */
  readonly behavior: SimPoolBehavior;
  readonly currentJob: PoolJob | undefined;
  /** Set the difficulty for every connection (or one) and send mining.set_difficulty. */
  setDifficulty(difficulty: number, connId?: number): void;
  /** Make a new job and send it to every authorized connection. clean=true also gets a new prevhash and retires older jobs. */
  notify(clean?: boolean): PoolJob;
  /** Give connections that sent mining.extranonce.subscribe (or all, with all=true) a new extranonce1 / size, then a clean job. */
  setExtranonce(extranonce1?: string, extranonce2Size?: number, opts?: { all?: boolean }): number;
  /** Change the pool mask; connections that negotiated version rolling get mining.set_version_mask. */
  setVersionMask(mask: string): number;
  /** client.reconnect to every connection: [] or [host, port, waitSeconds]. */
  sendReconnect(host?: string, port?: number, waitSeconds?: number): number;
  /** mining.ping to every connection; answers are counted in stats.pongs. */
  ping(): number;
  /** Send a raw JSON-RPC object to one connection or all. */
  send(msg: object, connId?: number): number;
  clients(): ClientInfo[];
  /** Destroy all sockets and stop listening (connections are then refused). */
  kill(): Promise<void>;
  /** Listen again on the same port. */
  restart(): Promise<void>;
  /** Resolve when pred() holds (rechecked after every event), or reject after timeoutMs. */
  waitFor(pred: () => boolean, timeoutMs?: number, label?: string): Promise<void>;
  close(): Promise<void>;
}

/** EventEmitter that re-evaluates waitFor predicates after each emit. Never emits 'error'. */
class Emitter extends EventEmitter {
  readonly waiters = new Set<() => void>();
  override emit(name: string | symbol, ...args: unknown[]): boolean {
    const r = super.emit(name, ...args);
    for (const w of [...this.waiters]) w();
    return r;
  }
}

export function waitForOn(em: Emitter, pred: () => boolean, timeoutMs: number, label: string | undefined): Promise<void> {
  if (pred()) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      em.waiters.delete(check);
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
    em.waiters.add(check);
  });
}

/** Split a byte stream into lines; `onOverflow` once a line exceeds maxBytes (then nothing more is delivered). */
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

function pushCount(rec: Record<number, number>, code: number): void {
  rec[code] = (rec[code] ?? 0) + 1;
}

function varint(n: number): string {
  if (n < 0xfd) return n.toString(16).padStart(2, '0');
  throw new Error('script too long');
}

function le(n: number, bytes: number): string {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b.subarray(0, bytes).toString('hex');
}

export async function startSimPool(opts: SimPoolOptions = {}): Promise<SimPool> {
  const host = opts.host ?? '127.0.0.1';
  if (host !== '127.0.0.1' && host !== '::1') throw new Error('sim pool binds to loopback only');
  const behavior: SimPoolBehavior = {
    silent: opts.silent ?? false,
    refuse: opts.refuse ?? false,
    answerDelayMs: opts.answerDelayMs ?? 0,
    neverAnswer: opts.neverAnswer ?? false,
    rejectAll: opts.rejectAll ?? false,
    rejectIf: opts.rejectIf,
  };
  let difficulty = opts.difficulty ?? 2 ** -24;
  targetFromDifficulty(difficulty); // validates
  const en2Size = opts.extranonce2Size ?? 4;
  let poolMask = parseHex32(opts.versionMask ?? '1fffe000');
  const versionRolling = opts.versionRolling ?? true;
  const branchCount = opts.branchCount ?? 4;
  const jobVersion = opts.version ?? '20000000';
  const nbits = opts.nbits ?? '1d00ffff';
  parseHex32(jobVersion);
  parseHex32(nbits);
  const coinbaseBytes = opts.coinbaseBytes ?? 200;
  const maxJobs = Math.max(1, opts.maxJobs ?? 8);
  const maxLineBytes = opts.maxLineBytes ?? 8192;
  const maxGarbage = opts.maxGarbage ?? 16;

  const events = new Emitter();
  const stats: SimPoolStats = {
    connections: 0,
    active: 0,
    refused: 0,
    submits: 0,
    accepted: 0,
    rejected: 0,
    rejectedByCode: {},
    byWorker: {},
    blocks: 0,
    jobs: 0,
    garbage: 0,
    oversize: 0,
    unanswered: 0,
    pongs: 0,
    shares: [],
  };
  const conns = new Map<number, Conn>();
  const timers = new Set<NodeJS.Timeout>();
  /** Duplicate keys per job id, pruned with the job history. */
  const seen = new Map<string, Set<string>>();
  let connSeq = 0;
  let jobSeq = 0;
  let pingSeq = 0;
  let en1Seq = randomBytes(4).readUInt32BE(0);
  let height = 900000;
  let prevhash = '';
  let currentJob: PoolJob | undefined;
  let server: net.Server | undefined;
  let port = opts.port ?? 0;
  let jobTimer: NodeJS.Timeout | undefined;
  let closed = false;

  const later = (ms: number, fn: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const write = (c: Conn, msg: object): boolean => {
    if (c.dead || c.socket.destroyed || !c.socket.writable) return false;
    c.socket.write(`${JSON.stringify(msg)}\n`);
    return true;
  };

  const unsolicited = (c: Conn, method: string, params: unknown[]): boolean => {
    if (behavior.silent) return false;
    return write(c, { id: null, method, params });
  };

  const newExtranonce1 = () => {
    en1Seq = (en1Seq + 1) >>> 0;
    return hex32(en1Seq);
  };

  const makeJob = (clean: boolean): PoolJob => {
    if (clean || prevhash === '') {
      prevhash = randomBytes(32).toString('hex');
      height++;
    }
    // A segwit-era coinbase (non-witness serialization) split around the extranonces inside the scriptSig.
    const heightPush = `03${le(height, 3)}`;
    const fixed = 4 + 1 + 36 + 1 + 4 + 1 + (8 + 1 + 22) + (8 + 1 + 38) + 4; // everything but the scriptSig
    const enBytes = 4 + en2Size;
    const tagBytes = Math.max(0, Math.min(100 - 4 - enBytes, coinbaseBytes - fixed - 4 - enBytes));
    const tagPre = randomBytes(Math.floor(tagBytes / 2)).toString('hex');
    const tagPost = Buffer.from('/hashgate-sim/').subarray(0, tagBytes - Math.floor(tagBytes / 2));
    const scriptLen = 4 + tagPre.length / 2 + enBytes + tagPost.length;
    const coinb1 = `01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff${varint(scriptLen)}${heightPush}${tagPre}`;
    const payout = `0014${randomBytes(20).toString('hex')}`;
    const commitment = `6a24aa21a9ed${randomBytes(32).toString('hex')}`;
    const coinb2 = `${tagPost.toString('hex')}ffffffff02${le(312500000, 8)}16${payout}${le(0, 8)}26${commitment}00000000`;
    const job: PoolJob = {
      jobId: (++jobSeq).toString(16),
      prevhash,
      coinb1,
      coinb2,
      merkleBranch: Array.from({ length: branchCount }, () => randomBytes(32).toString('hex')),
      version: jobVersion,
      nbits,
      ntime: hex32(Math.floor(Date.now() / 1000)),
      clean,
    };
    stats.jobs++;
    seen.set(job.jobId, new Set());
    // Duplicate sets only matter while some connection can still submit to the job.
    const keep = maxJobs * 4;
    if (seen.size > keep) for (const id of [...seen.keys()].slice(0, seen.size - keep)) seen.delete(id);
    currentJob = job;
    events.emit('job', job);
    return job;
  };

  const sendJob = (c: Conn, job: PoolJob, clean: boolean): boolean => {
    if (behavior.silent || c.dead) return false;
    if (clean) c.jobs.clear();
    c.jobs.set(job.jobId, { job, extranonce1: c.extranonce1, extranonce2Size: c.extranonce2Size, difficulty: c.difficulty });
    while (c.jobs.size > maxJobs) c.jobs.delete(c.jobs.keys().next().value as string);
    return write(c, {
      id: null,
      method: 'mining.notify',
      params: [job.jobId, job.prevhash, job.coinb1, job.coinb2, job.merkleBranch, job.version, job.nbits, job.ntime, clean],
    });
  };

  const sendWork = (c: Conn) => {
    if (behavior.silent || c.dead) return;
    c.workSent = true;
    unsolicited(c, 'mining.set_difficulty', [c.difficulty]);
    sendJob(c, currentJob ?? makeJob(true), true);
  };

  const wantsAnswer = (method: string) =>
    !(behavior.neverAnswer === true || (Array.isArray(behavior.neverAnswer) && behavior.neverAnswer.includes(method)));

  /** Answer a request (respecting neverAnswer / answerDelayMs), then run `after`. */
  const answer = (c: Conn, method: string, id: unknown, result: unknown, error: unknown = null, after?: () => void) => {
    if (!wantsAnswer(method)) {
      stats.unanswered++;
      events.emit('unanswered', { connId: c.id, method, id });
      return;
    }
    const go = () => {
      if (id !== undefined) write(c, { id, result, error });
      after?.();
    };
    if (behavior.answerDelayMs > 0) later(behavior.answerDelayMs, go);
    else go();
  };

  const garbage = (c: Conn, id: unknown, why: string) => {
    stats.garbage++;
    c.garbage++;
    events.emit('garbage', { connId: c.id, why });
    write(c, { id: id ?? null, result: null, error: [20, why, null] });
    if (c.garbage > maxGarbage) c.socket.destroy();
  };

  const record = (share: PoolShare) => {
    stats.submits++;
    let w = stats.byWorker[share.worker];
    if (!w) {
      w = { accepted: 0, rejected: 0, rejectedByCode: {}, acceptedDifficulty: 0 };
      stats.byWorker[share.worker] = w;
    }
    if (share.accepted) {
      stats.accepted++;
      w.accepted++;
      w.acceptedDifficulty += share.difficulty ?? 0;
    } else {
      stats.rejected++;
      w.rejected++;
      pushCount(stats.rejectedByCode, share.code ?? 20);
      pushCount(w.rejectedByCode, share.code ?? 20);
    }
    if (share.block) stats.blocks++;
    stats.shares.push(share);
    if (stats.shares.length > 10000) stats.shares.splice(0, stats.shares.length - 10000);
  };

  const onSubmit = (c: Conn, id: unknown, params: unknown[]) => {
    const [worker, jobId, en2, ntime, nonce, versionBits] = params;
    const share: PoolShare = {
      connId: c.id,
      worker: typeof worker === 'string' ? worker : String(worker),
      jobId: typeof jobId === 'string' ? jobId : String(jobId),
      extranonce1: c.extranonce1,
      extranonce2: typeof en2 === 'string' ? en2 : String(en2),
      ntime: typeof ntime === 'string' ? ntime : String(ntime),
      nonce: typeof nonce === 'string' ? nonce : String(nonce),
      versionBits: versionBits === undefined || versionBits === null ? undefined : String(versionBits),
      accepted: false,
      block: false,
      forced: false,
      at: Date.now(),
    };
    const verdict = (): [StratumCode, string] | null => {
      if (params.length < 5 || params.length > 6) return [20, 'Invalid params'];
      if (!c.subscribed) return [25, REASONS[25]];
      if (typeof worker !== 'string' || !c.workers.has(worker)) return [24, REASONS[24]];
      const sent = c.jobs.get(share.jobId);
      if (!sent) return [21, REASONS[21]];
      share.extranonce1 = sent.extranonce1;
      if (!isHex(en2, sent.extranonce2Size)) return [20, 'Invalid extranonce2 size'];
      if (!isHex(ntime, 4)) return [20, 'Invalid ntime'];
      if (!isHex(nonce, 4)) return [20, 'Invalid nonce'];
      const nt = parseHex32(ntime);
      const jt = parseHex32(sent.job.ntime);
      if (nt < jt || nt > jt + 7200) return [20, 'Ntime out of range'];
      if (share.versionBits !== undefined) {
        if (!isHex(share.versionBits, 4)) return [20, 'Invalid version bits'];
        if (c.versionMask === undefined) return [20, 'Version rolling not negotiated'];
        if ((parseHex32(share.versionBits) & ~c.versionMask) !== 0) return [20, 'Invalid version mask'];
      }
      const key = `${sent.extranonce1}:${en2}:${ntime}:${nonce}:${share.versionBits ?? ''}`.toLowerCase();
      let dups = seen.get(share.jobId);
      if (!dups) {
        dups = new Set();
        seen.set(share.jobId, dups);
      }
      if (dups.has(key)) return [22, REASONS[22]];
      const h = hashShare(sent.job, {
        extranonce1: sent.extranonce1,
        extranonce2: en2,
        ntime,
        nonce,
        versionBits: share.versionBits,
        versionMask: c.versionMask === undefined ? undefined : hex32(c.versionMask),
      });
      share.difficulty = Math.min(sent.difficulty, c.difficulty);
      share.hash = h.hashHex;
      share.shareDifficulty = shareDifficulty(h.hashInt);
      share.block = h.hashInt <= targetFromBits(parseHex32(sent.job.nbits));
      if (h.hashInt > targetFromDifficulty(share.difficulty)) return [23, REASONS[23]];
      dups.add(key);
      const forced = behavior.rejectIf?.(share);
      if (forced) {
        share.forced = true;
        return Array.isArray(forced) ? forced : [forced, REASONS[forced]];
      }
      if (behavior.rejectAll !== false) {
        share.forced = true;
        const code = behavior.rejectAll === true ? 23 : behavior.rejectAll;
        return [code, REASONS[code]];
      }
      return null;
    };
    const v = verdict();
    if (v) {
      share.code = v[0];
      share.reason = v[1];
    } else share.accepted = true;
    record(share);
    events.emit('share', share);
    events.emit(share.accepted ? 'accepted' : 'rejected', share);
    if (v) answer(c, 'mining.submit', id, null, [v[0], v[1], null]);
    else answer(c, 'mining.submit', id, true);
  };

  const onRequest = (c: Conn, id: unknown, method: string, params: unknown[]) => {
    events.emit('request', { connId: c.id, id, method, params });
    switch (method) {
      case 'mining.subscribe': {
        c.subscribed = true;
        if (typeof params[0] === 'string') c.userAgent = params[0];
        const sub = c.id.toString(16);
        answer(c, method, id, [
          [
            ['mining.set_difficulty', sub],
            ['mining.notify', sub],
          ],
          c.extranonce1,
          c.extranonce2Size,
        ]);
        events.emit('subscribe', { connId: c.id, userAgent: c.userAgent });
        return;
      }
      case 'mining.authorize': {
        const user = typeof params[0] === 'string' ? params[0] : '';
        const pass = typeof params[1] === 'string' ? params[1] : '';
        const ok = user !== '' && (opts.authorize ? opts.authorize(user, pass) : opts.password === undefined || pass === opts.password);
        events.emit('authorize', { connId: c.id, user, ok });
        if (!ok) {
          if (opts.authorizeFailure === 'error') answer(c, method, id, null, [24, REASONS[24], null]);
          else answer(c, method, id, false);
          return;
        }
        c.workers.add(user);
        answer(c, method, id, true, null, () => {
          if (!c.workSent) sendWork(c);
        });
        return;
      }
      case 'mining.configure': {
        const exts = Array.isArray(params[0]) ? params[0].filter((e): e is string => typeof e === 'string') : [];
        const p = params[1] && typeof params[1] === 'object' ? (params[1] as Record<string, unknown>) : {};
        const result: Record<string, unknown> = {};
        for (const ext of exts) {
          if (ext !== 'version-rolling') {
            result[ext] = false;
            continue;
          }
          const reqHex = p['version-rolling.mask'];
          const req = isHex(reqHex, 4) ? parseHex32(reqHex) : 0xffffffff;
          if (!versionRolling || poolMask === 0) {
            result['version-rolling'] = false;
            continue;
          }
          c.requestedMask = req;
          c.versionMask = (req & poolMask) >>> 0;
          result['version-rolling'] = true;
          result['version-rolling.mask'] = hex32(c.versionMask);
        }
        events.emit('configure', { connId: c.id, extensions: exts, result });
        answer(c, method, id, result);
        return;
      }
      case 'mining.extranonce.subscribe':
        c.extranonceSubscribed = true;
        answer(c, method, id, true);
        return;
      case 'mining.suggest_difficulty': {
        const d = Number(params[0]);
        const valid = Number.isFinite(d) && d > 0;
        if (valid) c.suggestedDifficulty = d;
        events.emit('suggest', { connId: c.id, difficulty: d });
        answer(c, method, id, valid, null, () => {
          if (valid && opts.honorSuggestedDifficulty) {
            c.difficulty = d;
            if (c.workSent) unsolicited(c, 'mining.set_difficulty', [d]);
          }
        });
        return;
      }
      case 'mining.submit':
        onSubmit(c, id, params);
        return;
      default:
        answer(c, method, id, null, [20, `Method not found: ${method.slice(0, 64)}`, null]);
    }
  };

  const onLine = (c: Conn, line: string) => {
    if (c.dead || line.trim() === '') return;
    let msg: Msg;
    try {
      msg = JSON.parse(line) as Msg;
    } catch {
      garbage(c, null, 'Parse error');
      return;
    }
    if (!msg || typeof msg !== 'object' || Array.isArray(msg)) {
      garbage(c, null, 'Invalid request');
      return;
    }
    if (typeof msg.method !== 'string') {
      if ('result' in msg || 'error' in msg) {
        // The miner answering one of our requests (mining.ping, …).
        if (msg.result === 'pong' || (typeof msg.id === 'string' && msg.id.startsWith('ping-') && msg.error == null)) stats.pongs++;
        events.emit('response', { connId: c.id, msg });
        return;
      }
      garbage(c, msg.id, 'Invalid request');
      return;
    }
    const params = msg.params === undefined || msg.params === null ? [] : msg.params;
    if (!Array.isArray(params)) {
      garbage(c, msg.id, 'Params must be an array');
      return;
    }
    onRequest(c, msg.id, msg.method, params);
  };

  const onConnection = (socket: net.Socket) => {
    socket.on('error', () => {});
    if (behavior.refuse || closed) {
      stats.refused++;
      events.emit('refused');
      socket.resetAndDestroy();
      return;
    }
    socket.setNoDelay(true);
    const c: Conn = {
      id: ++connSeq,
      socket,
      extranonce1: newExtranonce1(),
      extranonce2Size: en2Size,
      subscribed: false,
      userAgent: undefined,
      workers: new Set(),
      workSent: false,
      difficulty,
      suggestedDifficulty: undefined,
      requestedMask: undefined,
      versionMask: undefined,
      extranonceSubscribed: false,
      jobs: new Map(),
      garbage: 0,
      dead: false,
    };
    conns.set(c.id, c);
    stats.connections++;
    stats.active++;
    socket.on(
      'data',
      lineReader(
        maxLineBytes,
        (line) => onLine(c, line),
        () => {
          stats.oversize++;
          events.emit('oversize', { connId: c.id });
          write(c, { id: null, result: null, error: [20, 'Line too long', null] });
          c.dead = true;
          socket.end();
          later(1000, () => socket.destroy());
        },
      ),
    );
    socket.on('close', () => {
      c.dead = true;
      conns.delete(c.id);
      stats.active--;
      events.emit('disconnect', { connId: c.id });
    });
    events.emit('connection', { connId: c.id, extranonce1: c.extranonce1 });
  };

  const startJobTimer = () => {
    if (opts.jobIntervalMs && opts.jobIntervalMs > 0 && !jobTimer) {
      jobTimer = setInterval(() => pool.notify(false), opts.jobIntervalMs);
      jobTimer.unref();
    }
  };

  const listen = async () => {
    const s = net.createServer(onConnection);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen({ host, port, exclusive: true }, () => {
        s.off('error', reject);
        resolve();
      });
    });
    s.on('error', () => {});
    server = s;
    port = (s.address() as net.AddressInfo).port;
    startJobTimer();
  };

  const kill = async () => {
    if (jobTimer) clearInterval(jobTimer);
    jobTimer = undefined;
    const gone: Promise<void>[] = [];
    for (const c of conns.values()) {
      c.dead = true;
      if (!c.socket.closed) gone.push(new Promise((resolve) => c.socket.once('close', () => resolve())));
      c.socket.destroy();
    }
    await Promise.all(gone);
    const s = server;
    server = undefined;
    if (s) await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  const clients = (): ClientInfo[] =>
    [...conns.values()].map((c) => ({
      connId: c.id,
      extranonce1: c.extranonce1,
      extranonce2Size: c.extranonce2Size,
      subscribed: c.subscribed,
      userAgent: c.userAgent,
      workers: [...c.workers],
      difficulty: c.difficulty,
      suggestedDifficulty: c.suggestedDifficulty,
      versionMask: c.versionMask === undefined ? undefined : hex32(c.versionMask),
      extranonceSubscribed: c.extranonceSubscribed,
      jobIds: [...c.jobs.keys()],
    }));

  const pool: SimPool = {
    host,
    get port() {
      return port;
    },
    stats,
    events,
    behavior,
    get currentJob() {
      return currentJob;
    },
    setDifficulty(d, connId) {
      targetFromDifficulty(d);
      if (connId === undefined) difficulty = d;
      for (const c of conns.values()) {
        if (connId !== undefined && c.id !== connId) continue;
        c.difficulty = d;
        if (c.workSent) unsolicited(c, 'mining.set_difficulty', [d]);
      }
    },
    notify(clean = false) {
      const job = makeJob(clean);
      for (const c of conns.values()) {
        if (c.workSent) sendJob(c, job, clean);
        else if (c.workers.size > 0) sendWork(c); // authorized while silent: difficulty first, then this job
      }
      return job;
    },
    setExtranonce(extranonce1, size, o) {
      if (extranonce1 !== undefined && !isHex(extranonce1)) throw new Error('extranonce1 must be hex');
      let n = 0;
      let job: PoolJob | undefined;
      for (const c of conns.values()) {
        if (!c.subscribed || !(c.extranonceSubscribed || o?.all)) continue;
        c.extranonce1 = extranonce1 ?? newExtranonce1();
        if (size !== undefined) c.extranonce2Size = size;
        if (!unsolicited(c, 'mining.set_extranonce', [c.extranonce1, c.extranonce2Size])) continue;
        n++;
        // The old jobs were tied to the old extranonce: retire them with a clean job.
        if (c.workSent) {
          if (!job) job = makeJob(false);
          sendJob(c, job, true);
        }
      }
      return n;
    },
    setVersionMask(mask) {
      poolMask = parseHex32(mask);
      let n = 0;
      for (const c of conns.values()) {
        if (c.requestedMask === undefined) continue;
        c.versionMask = (c.requestedMask & poolMask) >>> 0;
        if (unsolicited(c, 'mining.set_version_mask', [hex32(c.versionMask)])) n++;
      }
      return n;
    },
    sendReconnect(h, p, wait) {
      const params = h === undefined ? [] : [h, p ?? port, wait ?? 0];
      let n = 0;
      for (const c of conns.values()) if (unsolicited(c, 'client.reconnect', params)) n++;
      return n;
    },
    ping() {
      let n = 0;
      for (const c of conns.values()) if (!c.dead && write(c, { id: `ping-${++pingSeq}`, method: 'mining.ping', params: [] })) n++;
      return n;
    },
    send(msg, connId) {
      let n = 0;
      for (const c of conns.values()) if ((connId === undefined || c.id === connId) && write(c, msg)) n++;
      return n;
    },
    clients,
    kill,
    async restart() {
      if (closed) throw new Error('pool is closed');
      if (server) return;
      await listen();
    },
    waitFor(pred, timeoutMs = 5000, label) {
      return waitForOn(events, pred, timeoutMs, label);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(lifetime);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await kill();
      events.emit('close');
    },
  };

  await listen();
  const lifetime = setTimeout(() => void pool.close(), opts.lifetimeMs ?? 60000);
  lifetime.unref();
  return pool;
}
