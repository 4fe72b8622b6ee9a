/**
 * The proxy bench's child processes (./proxy.ts): one runs the daemon
 * (`hashgate run`'s Daemon, built from a config as the CLI does; journal on,
 * in a temp dir), one the simulated pool (src/sim, node:crypto share check,
 * difficulty 2^-32 so nearly every nonce is a share). The parent forks this
 * file with CHILD_FLAG and samples each child's CPU (process.cpuUsage) and
 * RSS over IPC. Every wait has a timeout; a child exits when told, when the
 * IPC channel closes, or after CHILD_LIFETIME_MS.
 */

import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildConfig, type Config } from '../config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { startSimPool } from '../sim/sim-pool.js';
import { createLogger } from '../util/log.js';

/** Pool share difficulty: target ≈ 2^256 · 0xffff/0x10000, so almost every nonce is a share. */
const SHARE_DIFFICULTY = 2 ** -32;
const CHILD_FLAG = '--hashgate-bench-child';
const SELF = fileURLToPath(import.meta.url);
/** Safety net: a child never outlives this, whatever happens to the parent. */
const CHILD_LIFETIME_MS = 10 * 60_000;
const IPC_TIMEOUT_MS = 15_000;
/** With a `shares` section (the local-difficulty bench): every miner is on 127.0.0.1 and sends several shares a second. */
const LOCAL_DIFFICULTY_LIMITS = { maxConnections: 1_000_000, maxConnectionsPerIp: 1_000_000, submitsPerSecond: 1000, submitBurst: 1000 };

// ---------------------------------------------------------------------------
// Child side

export interface Sample {
  readonly rss: number;
  readonly heapUsed: number;
  readonly cpuUs: number;
  /** The kernel's part of cpuUs (system time: socket reads and writes, mostly). */
  readonly sysUs: number;
}

type ChildRequest = { readonly seq: number; readonly op: 'sample' | 'gc' | 'stop' };
type ChildReply =
  | { readonly op: 'ready'; readonly port: number }
  | { readonly op: 'reply'; readonly seq: number; readonly sample: Sample }
  | { readonly op: 'failed'; readonly message: string };

function sampleSelf(): Sample {
  const m = process.memoryUsage();
  const c = process.cpuUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, cpuUs: c.user + c.system, sysUs: c.system };
}

async function childMain(role: string, args: readonly string[]): Promise<void> {
  const send = (m: ChildReply) => process.send?.(m);
  setTimeout(() => process.exit(3), CHILD_LIFETIME_MS).unref();
  process.on('disconnect', () => process.exit(0));
  let stop: () => Promise<void>;
  let port: number;
  try {
    if (role === 'pool') {
      // Optional argument: the pool's share difficulty (the local-difficulty bench sets one above the miners').
      const difficulty = args[0] === undefined ? SHARE_DIFFICULTY : Number(args[0]);
      const pool = await startSimPool({ difficulty, lifetimeMs: CHILD_LIFETIME_MS });
      stop = () => pool.close();
      port = pool.port;
    } else if (role === 'proxy') {
      // Optional third argument: the `shares` config section as JSON (the local-difficulty bench turns the telemetry
      // difficulty on with it), with the submit rate limit raised to match.
      const [poolPort, journal, shares] = args;
      const base = buildConfig({
        file: {
          name: 'bench',
          value: {
            listen: ['127.0.0.1:3333'],
            pools: [`stratum+tcp://127.0.0.1:${poolPort}`],
            // Every miner comes from 127.0.0.1; the caps are not what is measured.
            limits: { maxConnections: 1_000_000, maxConnectionsPerIp: 1_000_000 },
            // The sim pool sends one job per connection and then stays quiet: no silence failover.
            failover: { notifySilenceMs: 0 },
            shutdown: { deadlineMs: 2000 },
            journal: { path: journal },
            ...(shares === undefined ? {} : { shares: JSON.parse(shares) as unknown, limits: LOCAL_DIFFICULTY_LIMITS }),
          },
        },
      });
      const config = { ...base, listen: [{ host: '127.0.0.1', port: 0 }] } as Config;
      const daemon = new Daemon(config, createLogger({ level: config.log.level }));
      await daemon.start();
      stop = () => daemon.stop();
      port = daemon.addresses()[0]!.port;
    } else throw new Error(`unknown bench child role ${role}`);
  } catch (e) {
    send({ op: 'failed', message: e instanceof Error ? e.message : String(e) });
    process.exit(1);
  }
  const gc = (globalThis as { gc?: () => void }).gc;
  process.on('message', (raw: ChildRequest) => {
    if (raw.op === 'gc') {
      gc?.();
      gc?.();
    }
    if (raw.op === 'stop') {
      void stop().finally(() => {
        send({ op: 'reply', seq: raw.seq, sample: sampleSelf() });
        process.exit(0);
      });
      return;
    }
    send({ op: 'reply', seq: raw.seq, sample: sampleSelf() });
  });
  send({ op: 'ready', port });
}

// ---------------------------------------------------------------------------
// Parent side: children

export class BenchChild {
  readonly #cp: ChildProcess;
  readonly #waiting = new Map<number, (s: Sample) => void>();
  #seq = 0;
  #exited = false;

  private constructor(
    cp: ChildProcess,
    readonly port: number,
  ) {
    this.#cp = cp;
    cp.on('message', (m: ChildReply) => {
      if (m.op === 'reply') this.#waiting.get(m.seq)?.(m.sample);
    });
    cp.on('exit', () => (this.#exited = true));
  }

  static spawn(role: 'pool' | 'proxy', args: readonly string[] = []): Promise<BenchChild> {
    // The parent's node flags too (fork's default), so a child of a test run under tsx loads TypeScript the same way.
    const cp = fork(SELF, [CHILD_FLAG, role, ...args], {
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      execArgv: [...process.execArgv, '--expose-gc'],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        cp.kill('SIGKILL');
        reject(new Error(`bench ${role} child did not start in ${IPC_TIMEOUT_MS} ms`));
      }, IPC_TIMEOUT_MS);
      cp.on('message', function first(m: ChildReply) {
        if (m.op === 'reply') return;
        clearTimeout(timer);
        cp.off('message', first);
        if (m.op === 'ready') resolve(new BenchChild(cp, m.port));
        else reject(new Error(`bench ${role} child failed: ${m.message}`));
      });
      cp.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`bench ${role} child exited with ${code} before it was ready`));
      });
    });
  }

  #call(op: ChildRequest['op']): Promise<Sample> {
    const seq = ++this.#seq;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(seq);
        reject(new Error(`bench child did not answer ${op} in ${IPC_TIMEOUT_MS} ms`));
      }, IPC_TIMEOUT_MS);
      this.#waiting.set(seq, (s) => {
        clearTimeout(timer);
        this.#waiting.delete(seq);
        resolve(s);
      });
      this.#cp.send({ seq, op } satisfies ChildRequest);
    });
  }

  sample(): Promise<Sample> {
    return this.#call('sample');
  }

  /** Forced GC (twice), then a sample. */
  settled(): Promise<Sample> {
    return this.#call('gc');
  }

  async stop(): Promise<void> {
    if (this.#exited) return;
    const exited = new Promise<void>((resolve) => this.#cp.once('exit', () => resolve()));
    await this.#call('stop').catch(() => undefined);
    const timer = setTimeout(() => this.#cp.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

if (process.argv[2] === CHILD_FLAG && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await childMain(process.argv[3] ?? '', process.argv.slice(4));
}
