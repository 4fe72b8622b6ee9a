/**
 * Builds a rig's control channel from its inventory entry's `driver` settings
 * (src/config/throttle-schema.ts). Reference: docs/drivers.md.
 *
 *   luxos      cgminer-style JSON over TCP 4028: curtail sleep/wakeup, profileset
 *   esp-miner  AxeOS HTTP: POST /api/system/pause, /api/system/resume
 *   antminer   stock Bitmain web CGI (digest auth): set_miner_conf work mode sleep/normal/low power; 4028 summary
 *   whatsminer Whatsminer API 2.x (TCP 4028 + AES token writes) or 3.x (TCP 4433, salted token), configured or
 *              detected: power_off/power_on (set.miner.service), adjust_power_limit (set.miner.power_limit)
 *   stratum    no firmware API: park/unpark through the daemon's StratumGate
 */

import { readFile as fsReadFile } from 'node:fs/promises';
import type { DriverConfig } from '../../config/throttle-schema.js';
import type { Logger } from '../../util/log.js';
import { DriverError, type DriverKind, type RigControl, type StratumGate } from '../types.js';
import { createAntminerControl } from './antminer.js';
import { createEspMinerControl } from './esp-miner.js';
import { createLuxosControl } from './luxos.js';
import { createStratumControl } from './stratum.js';
import { createWhatsminerControl } from './whatsminer.js';

export { createAntminerControl } from './antminer.js';
export { createEspMinerControl } from './esp-miner.js';
export { createLuxosControl } from './luxos.js';
export { createStratumControl } from './stratum.js';
export { createWhatsminerControl } from './whatsminer.js';

export interface DriverContext {
  /** The rig's id (its worker name), used by the stratum driver and in log fields. */
  readonly rigId: string;
  /** The rig's Stratum source address: the default firmware address when driver.host is not set. */
  readonly rigIp: string | null;
  readonly gate: StratumGate;
  readonly log: Logger;
  /** Reads a secret file (luxos/antminer passwordFile); default fs.readFile as UTF-8. Injected by tests. */
  readonly readFile?: (path: string) => Promise<string>;
}

/** "::ffff:10.0.0.5" (how a dual-stack listener reports an IPv4 peer) → "10.0.0.5". */
export function normalizeRigIp(ip: string): string {
  const m = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return m ? m[1]! : ip;
}

function addressOf(kind: DriverKind, configured: string | null, ctx: DriverContext): string {
  if (configured !== null) return configured;
  if (ctx.rigIp !== null && ctx.rigIp !== '') return normalizeRigIp(ctx.rigIp);
  throw new DriverError(kind, `rig ${ctx.rigId} has no address: set driver.host, or let the rig connect first`, 'HG_ERR_DRIVER_CONFIG');
}

/**
 * Throws a DriverError (HG_ERR_DRIVER_CONFIG) when the rig cannot have a control channel (a firmware driver with
 * no address known); the controller then leaves that rig alone and logs why.
 */
export function createRigControl(config: DriverConfig, ctx: DriverContext): RigControl {
  const log = ctx.log.child({ rig: ctx.rigId, driver: config.type });
  switch (config.type) {
    case 'stratum':
      return createStratumControl(ctx.rigId, ctx.gate, log);
    case 'luxos':
      return createLuxosControl(config, {
        host: addressOf('luxos', config.host, ctx),
        log,
        readFile: ctx.readFile ?? ((path) => fsReadFile(path, 'utf8')),
      });
    case 'esp-miner':
      return createEspMinerControl(config, { host: addressOf('esp-miner', config.host, ctx), log });
    case 'antminer':
      return createAntminerControl(config, {
        host: addressOf('antminer', config.host, ctx),
        log,
        readFile: ctx.readFile ?? ((path) => fsReadFile(path, 'utf8')),
      });
    case 'whatsminer':
      return createWhatsminerControl(config, {
        host: addressOf('whatsminer', config.host, ctx),
        log,
        readFile: ctx.readFile ?? ((path) => fsReadFile(path, 'utf8')),
      });
    default: {
      const unknown: never = config;
      throw new DriverError('stratum', `unknown driver ${JSON.stringify(unknown)}`, 'HG_ERR_DRIVER_CONFIG');
    }
  }
}
