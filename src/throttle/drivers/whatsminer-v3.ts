/**
 * The `whatsminer` driver for API 3.x (newer MicroBT firmware): TCP 4433, every message (both ways) a 4-byte
 * little-endian length then that many bytes of JSON. Reference: docs/drivers.md § whatsminer,
 * notes/firmware-apis.md § 2.6 (pyasic `BTMinerV3RPCAPI`; iaon/ya-whatsminer-cli).
 *
 * - Request `{"cmd":"get.miner.status","param":"summary"}`; reply `{"code":0,"when","msg","desc"}`; code 0 = OK.
 * - Writes add `ts` (Unix seconds), `account` ("super") and `token` = the first 8 characters of
 *   base64(SHA-256(cmd + password + salt + ts)), salt from `get.device.info` `param:"salt"` → `msg.salt`.
 * - curtail = `set.miner.service` `stop`; resume = `start`; setPowerTarget = `set.miner.power_limit` (int W), after
 *   reading `power-limit` from the summary the first time (restored on resume, as the 2.x driver does), then
 *   `start` when hashgate stopped the service (3.x shows no stopped service, so an unknown one is left as it is).
 * - readState: `get.miner.status` `summary` → `msg.summary` (`hash-realtime` TH/s, `power-realtime` W). 3.x has
 *   no documented sign of a stopped service, so `asleep` is null (unknown), never inferred from 0 hash rate.
 *   `firmware`: `get.device.info` msg.system `fwversion` and `api`, read once; optional (null, never a failure).
 * - Code -2 (invalid command) on a command: a firmware too old for it. A failed link is a WhatsminerLinkError.
 */

import { createHash } from 'node:crypto';
import net from 'node:net';
import type { Logger } from '../../util/log.js';
import { type DriverTiming, DriverError, type RigControl, type RigFirmwareState } from '../types.js';
import { parseReply } from './cgminer-api.js';
import { clip, createSerialQueue, describeAddress, socketErrorMessage } from './common.js';
import { firmwareText, numberOf, type Reply, WhatsminerLinkError } from './whatsminer-wire.js';

const MAX_REPLY_BYTES = 1 << 20;
const ACCOUNT = 'super';

/** One framed request on its own connection; resolves with the parsed reply (code not checked). */
export function framedRoundTrip(host: string, port: number, request: Reply, timeoutMs: number, label: string): Promise<Reply> {
  const where = describeAddress(host, port);
  return new Promise<Reply>((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let settled = false;
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => fail(`${label}: timed out after ${timeoutMs} ms at ${where}`), timeoutMs);
    function settle(): boolean {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      return true;
    }
    function fail(message: string): void {
      if (settle()) reject(new WhatsminerLinkError(message));
    }
    socket.on('connect', () => {
      const body = Buffer.from(JSON.stringify(request), 'utf8');
      const head = Buffer.alloc(4);
      head.writeUInt32LE(body.length, 0);
      socket.write(Buffer.concat([head, body]));
    });
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 4) return;
      const length = buf.readUInt32LE(0);
      if (length > MAX_REPLY_BYTES) return fail(`${label}: reply from ${where} announces ${length} bytes`);
      if (buf.length < 4 + length) return;
      const value = parseReply(buf.subarray(4, 4 + length).toString('utf8'));
      if (value === null) return fail(`${label}: reply from ${where} is not a JSON object`);
      if (settle()) resolve(value);
    });
    const early = (): void => fail(`${label}: connection closed before a whole reply at ${where}`);
    socket.on('end', early);
    socket.on('close', early);
    socket.on('error', (e) => fail(`${label}: ${socketErrorMessage(e, where)}`));
  });
}

/** The write token of API 3.x (notes § 2.6). */
export function tokenV3(cmd: string, password: string, salt: string, ts: number): string {
  return createHash('sha256').update(`${cmd}${password}${salt}${ts}`, 'utf8').digest('base64').slice(0, 8);
}

export interface WhatsminerV3Settings {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
  readonly log: Logger;
  readonly password: () => Promise<string>;
  readonly now: () => number;
  readonly timing: DriverTiming;
}

/** A reply with a code other than 0, its code kept (-4 = access denied). */
class WhatsminerV3Error extends DriverError {
  constructor(
    message: string,
    readonly replyCode: number,
  ) {
    super('whatsminer', message);
  }
}
const CODE_INVALID_COMMAND = -2;
const CODE_ACCESS_DENIED = -4;

const objectOf = (v: unknown): Reply | null => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Reply) : null);

/** `get.device.info` msg.system: `fwversion`, with `api` (pyasic `BTMinerV3`); null when absent. */
function firmwareOfInfo(msg: unknown): string | null {
  const system = objectOf(objectOf(msg)?.system);
  const fw = firmwareText(system?.fwversion);
  const api = firmwareText(system?.api);
  return fw === null ? null : api === null ? fw : `${fw} (API ${api})`;
}

function stateOf(summary: Reply | null, where: string, firmware: string | null): RigFirmwareState {
  const ths = numberOf(summary?.['hash-realtime']) ?? numberOf(summary?.['hash-1min']);
  if (ths === null) throw new DriverError('whatsminer', `get.miner.status: reply from ${where} has no hash rate`);
  const watts = numberOf(summary?.['power-realtime']);
  const limit = numberOf(summary?.['power-limit']);
  const detail = [
    `${ths.toFixed(2)} TH/s`,
    watts === null ? 'power unknown' : `${watts} W`,
    limit === null ? 'power limit unknown' : `limit ${limit} W`,
    'service state unknown (API 3.x)',
  ].join(', ');
  return { hashing: ths > 0, asleep: null, hashrateThs: ths, powerWatts: watts, firmware, detail };
}

interface V3Api {
  /** One command; resolves with a code-0 reply, rejects with a WhatsminerV3Error for any other code. */
  call(cmd: string, param: unknown, extra?: Reply): Promise<Reply>;
  /** A write with the salted token; the salt is kept and fetched again once on -4. */
  write(cmd: string, param: unknown): Promise<void>;
}

function createV3Api(s: WhatsminerV3Settings, where: string): V3Api {
  let salt: string | null = null;

  async function call(cmd: string, param: unknown, extra: Reply = {}): Promise<Reply> {
    const reply = await framedRoundTrip(s.host, s.port, { cmd, param: param ?? null, ...extra }, s.timeoutMs, cmd);
    if (typeof reply.code !== 'number') throw new DriverError('whatsminer', `${cmd}: reply from ${where} has no code`);
    if (reply.code === 0) return reply;
    const msg = typeof reply.msg === 'string' ? reply.msg : JSON.stringify(reply.msg ?? '');
    const hint = reply.code === CODE_INVALID_COMMAND ? '; the firmware does not know this command (too old?)' : '';
    throw new WhatsminerV3Error(`${cmd}: ${clip(msg) || 'error'} (Whatsminer code ${reply.code})${hint}`, reply.code);
  }

  async function write(cmd: string, param: unknown): Promise<void> {
    const password = await s.password();
    for (let attempt = 0; ; attempt++) {
      const fresh = salt === null;
      if (salt === null) {
        const msg = objectOf((await call('get.device.info', 'salt')).msg);
        if (typeof msg?.salt !== 'string') throw new DriverError('whatsminer', `get.device.info: no salt in the reply from ${where}`);
        salt = msg.salt;
      }
      const ts = Math.floor(s.now() / 1000);
      try {
        await call(cmd, param, { ts, account: ACCOUNT, token: tokenV3(cmd, password, salt, ts) });
        return;
      } catch (e) {
        // Access denied (-4): a stale salt once; with a fresh salt, the password is wrong.
        if (!(e instanceof WhatsminerV3Error && e.replyCode === CODE_ACCESS_DENIED)) throw e;
        salt = null;
        if (fresh || attempt > 0)
          throw new DriverError('whatsminer', `${cmd}: ${where} denied the command's token: wrong password?`, 'HG_ERR_DRIVER_CONFIG');
        s.log.info({ command: cmd }, 'whatsminer 3.x token refused; fetching the salt again');
      }
    }
  }

  return { call, write };
}

export function createWhatsminerV3Control(s: WhatsminerV3Settings): RigControl {
  const where = describeAddress(s.host, s.port);
  const serial = createSerialQueue();
  const { call, write } = createV3Api(s, where);
  let closed = false;
  /** As in the 2.x driver: the limit from before the first power target (restored on resume), whether hashgate stopped the service, the firmware text. */
  let limitBefore: number | null = null;
  let off: boolean | null = null;
  let firmware: string | null | undefined;

  const summary = async (): Promise<Reply | null> => objectOf(objectOf((await call('get.miner.status', 'summary')).msg)?.summary);
  const start = async (): Promise<void> => {
    if (off === false) return;
    await write('set.miner.service', 'start');
    off = false;
  };
  /** Optional: a firmware without get.device.info's system block, or a failed read, gives null (asked again after a link failure). */
  const readFirmware = async (): Promise<string | null> => {
    if (firmware !== undefined) return firmware;
    try {
      return (firmware = firmwareOfInfo((await call('get.device.info', null)).msg));
    } catch (e) {
      if (e instanceof WhatsminerV3Error) firmware = null;
      return null;
    }
  };

  const run = <T>(task: () => Promise<T>): Promise<T> =>
    serial(async () => {
      if (closed) throw new DriverError('whatsminer', 'driver closed');
      return task();
    });

  return {
    kind: 'whatsminer',
    supportsPowerTarget: true,
    keepsSession: true,
    timing: s.timing,
    curtail: () =>
      run(async () => {
        await write('set.miner.service', 'stop');
        off = true;
      }),
    resume: () =>
      run(async () => {
        if (limitBefore !== null) {
          await write('set.miner.power_limit', limitBefore);
          limitBefore = null;
        }
        await start();
      }),
    setPowerTarget: (watts: number) =>
      run(async () => {
        if (!Number.isFinite(watts) || watts <= 0)
          throw new DriverError('whatsminer', `power target ${watts} W is not a positive number`, 'HG_ERR_DRIVER_CONFIG');
        if (limitBefore === null) {
          const limit = numberOf((await summary())?.['power-limit']);
          if (limit === null || limit <= 0)
            throw new DriverError(
              'whatsminer',
              `set.miner.power_limit: ${where} does not report its power-limit, so a power target could not be undone`,
            );
          limitBefore = limit;
        }
        await write('set.miner.power_limit', Math.round(watts));
        // 3.x shows no stopped service (asleep unknown): start it only when hashgate stopped it.
        if (off === true) await start();
      }),
    readState: () => run(async () => stateOf(await summary(), where, await readFirmware())),
    close: () => {
      closed = true;
    },
  };
}
