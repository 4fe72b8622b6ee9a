/**
 * Config sections for inference-aware throttling (`throttle`), the rig
 * inventory (`rigs`, `defaultRig`) and the admin HTTP endpoint (`admin`).
 * Reference: docs/throttling.md, docs/drivers.md, docs/configuration.md.
 */

import * as z from 'zod';
import { parseIp } from '../throttle/inventory.js';
import { bool, int, num, objectError, section } from './zod-helpers.js';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const MW = 1_000_000_000; // a gigawatt: the largest number of watts anything here may name

export const STALE_MODES = ['hold', 'shed', 'release'] as const;
export const DRIVER_KINDS = ['luxos', 'esp-miner', 'antminer', 'whatsminer', 'stratum'] as const;

export const THROTTLE_DEFAULTS = Object.freeze({
  enabled: false,
  shadow: false,
  intervalMs: 1 * SECOND,
  siteBudgetWatts: 0,
  baseLoadWatts: 0,
  headroomPercent: 5,
  redis: {
    url: 'redis://127.0.0.1:6379',
    commandTimeoutMs: 500,
    staleAfterMs: 5 * SECOND,
    onStale: 'shed' as (typeof STALE_MODES)[number],
    capKey: null as string | null,
    overrideKey: 'hashgate:override',
    statusKey: 'hashgate:status',
    eventsChannel: 'hashgate:events',
  },
  planner: {
    hysteresisWatts: 5000,
    minOnMs: 2 * MINUTE,
    minOffMs: 1 * MINUTE,
    resumeWattsPerStep: 20_000,
    resumeIntervalMs: 10 * SECOND,
    maxCurtailMs: 0,
  },
  verify: { afterCurtailMs: 60 * SECOND, afterResumeMs: 3 * MINUTE, measuredLevels: true },
});

export const DEFAULT_RIG = Object.freeze({
  ratedWatts: 3500,
  ratedThs: 200,
  idleWatts: 0,
  priority: 0,
  group: 'default',
});

const T = THROTTLE_DEFAULTS;
const watts = () => num(0, MW);
const redisKey = () => z.string({ error: 'must be a Redis key (string)' }).min(1, 'must not be empty').max(1024, 'is too long');

/** One queue-depth source; their values are summed. */
export const DepthSourceSchema = z.discriminatedUnion(
  'type',
  [
    /** An integer key (GET), e.g. a counter a vLLM metrics bridge writes. */
    z.strictObject({ type: z.literal('key'), key: redisKey() }, objectError),
    /** A list (LLEN): Celery (queue name), RQ (rq:queue:NAME). */
    z.strictObject({ type: z.literal('list'), key: redisKey() }, objectError),
    /** A sorted set (ZCARD). */
    z.strictObject({ type: z.literal('zset'), key: redisKey() }, objectError),
    /** A stream consumer group: lag + pending (XINFO GROUPS). */
    z.strictObject(
      { type: z.literal('stream'), key: redisKey(), group: z.string({ error: 'must be a consumer group name' }).min(1) },
      objectError,
    ),
    /** A BullMQ queue: wait + prioritized (+ paused, for older BullMQ). */
    z.strictObject(
      {
        type: z.literal('bullmq'),
        queue: z.string({ error: 'must be the BullMQ queue name' }).min(1),
        prefix: z.string({ error: 'must be a string' }).min(1).prefault('bull'),
      },
      objectError,
    ),
  ],
  { error: 'must be {"type": "key"|"list"|"zset"|"stream"|"bullmq", …}' },
);
export type DepthSource = z.output<typeof DepthSourceSchema>;

const GpuSchema = z.union(
  [
    z.strictObject({ idleWatts: watts(), wattsPerRequest: watts(), maxWatts: watts() }, objectError),
    z.strictObject(
      {
        steps: z
          .array(z.strictObject({ depth: int(0, Number.MAX_SAFE_INTEGER), watts: watts() }, objectError))
          .min(1, 'needs at least one step')
          .refine((s) => s[0]?.depth === 0, 'the first step must be at depth 0')
          .refine((s) => s.every((x, i) => i === 0 || x.depth > s[i - 1]!.depth), 'steps must be in ascending depth order'),
      },
      objectError,
    ),
  ],
  { error: 'must be {"idleWatts", "wattsPerRequest", "maxWatts"} or {"steps": [{"depth", "watts"}, …]}' },
);

export const ThrottleSchema = section({
  enabled: bool().prefault(T.enabled),
  shadow: bool().prefault(T.shadow),
  intervalMs: int(100, MINUTE, ' ms').prefault(T.intervalMs),
  siteBudgetWatts: watts().prefault(T.siteBudgetWatts),
  baseLoadWatts: watts().prefault(T.baseLoadWatts),
  headroomPercent: num(0, 90).prefault(T.headroomPercent),
  gpu: GpuSchema.prefault({ idleWatts: 0, wattsPerRequest: 0, maxWatts: 0 }),
  depth: z.array(DepthSourceSchema, { error: 'must be a list of depth sources' }).prefault([]),
  redis: section({
    url: z
      .string({ error: 'must be a redis:// URL' })
      .regex(/^rediss?:\/\/[^\s]+$/, 'must be redis://[user:password@]host:port[/db] (or rediss://)')
      .prefault(T.redis.url),
    commandTimeoutMs: int(50, MINUTE, ' ms').prefault(T.redis.commandTimeoutMs),
    staleAfterMs: int(100, HOUR, ' ms').prefault(T.redis.staleAfterMs),
    onStale: z.enum(STALE_MODES, { error: 'must be "hold", "shed" or "release"' }).prefault(T.redis.onStale),
    capKey: redisKey().nullable().prefault(T.redis.capKey),
    overrideKey: redisKey().nullable().prefault(T.redis.overrideKey),
    statusKey: redisKey().nullable().prefault(T.redis.statusKey),
    eventsChannel: redisKey().nullable().prefault(T.redis.eventsChannel),
  }),
  planner: section({
    hysteresisWatts: watts().prefault(T.planner.hysteresisWatts),
    minOnMs: int(0, 24 * HOUR, ' ms').prefault(T.planner.minOnMs),
    minOffMs: int(0, 24 * HOUR, ' ms').prefault(T.planner.minOffMs),
    resumeWattsPerStep: num(1, MW).prefault(T.planner.resumeWattsPerStep),
    resumeIntervalMs: int(0, HOUR, ' ms').prefault(T.planner.resumeIntervalMs),
    maxCurtailMs: int(0, 7 * 24 * HOUR, ' ms (0 = no cap)').prefault(T.planner.maxCurtailMs),
  }),
  verify: section({
    afterCurtailMs: int(0, HOUR, ' ms').prefault(T.verify.afterCurtailMs),
    afterResumeMs: int(0, HOUR, ' ms').prefault(T.verify.afterResumeMs),
    /** Check power targets and resumes against the measured hash rate's level (off: the time rules only). */
    measuredLevels: bool().prefault(T.verify.measuredLevels),
  }),
});

/**
 * "10.0.1.0/24", "10.0.1.7" (= /32), "fd00::/64". The address is read by the throttle core's parser
 * (no node:net in the config layer), which accepts exactly what node's net.isIP accepts
 * (test/config/schema.test.ts checks the two against each other).
 */
export function parseCidr(text: string): { readonly address: string; readonly prefix: number; readonly family: 4 | 6 } | null {
  const [addr, bits, extra] = text.split('/');
  if (addr === undefined || extra !== undefined) return null;
  const family = parseIp(addr)?.family ?? 0;
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  const prefix = bits === undefined ? max : /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
  if (prefix < 0 || prefix > max) return null;
  return { address: addr, prefix, family: family as 4 | 6 };
}

/** How long the driver's commands take to show on the rig (src/throttle/drivers/timing.ts); null = the driver's default. */
const settle = () =>
  z
    .strictObject(
      {
        curtailMs: int(0, HOUR, ' ms').nullable().prefault(null),
        resumeMs: int(0, HOUR, ' ms').nullable().prefault(null),
        powerMs: int(0, HOUR, ' ms').nullable().prefault(null),
      },
      objectError,
    )
    .prefault({});

const DriverSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject(
      {
        type: z.literal('luxos'),
        /** Default: the rig's Stratum source address. */
        host: z.string().min(1).nullable().prefault(null),
        port: int(1, 65535).prefault(4028),
        user: z.string().min(1).prefault('root'),
        password: z.string().nullable().prefault(null),
        passwordFile: z.string().min(1).nullable().prefault(null),
        /** LuxOS profile name per power target in watts, e.g. {"2800": "2800W", "3100": "3100W"}. */
        profiles: z.record(z.string().regex(/^\d+$/, 'keys must be watts (integers)'), z.string().min(1)).prefault({}),
        timeoutMs: int(100, MINUTE, ' ms').prefault(3000),
        settle: settle(),
      },
      objectError,
    ),
    z.strictObject(
      {
        type: z.literal('esp-miner'),
        host: z.string().min(1).nullable().prefault(null),
        port: int(1, 65535).prefault(80),
        timeoutMs: int(100, MINUTE, ' ms').prefault(3000),
        settle: settle(),
      },
      objectError,
    ),
    z.strictObject(
      {
        type: z.literal('antminer'),
        host: z.string().min(1).nullable().prefault(null),
        /** The web CGI (digest auth) that reads and writes the work mode. */
        webPort: int(1, 65535).prefault(80),
        /** The cgminer-compatible API that reports the hash rate. */
        apiPort: int(1, 65535).prefault(4028),
        user: z.string().min(1).prefault('root'),
        /** null with no passwordFile = the firmware default "root". */
        password: z.string().nullable().prefault(null),
        passwordFile: z.string().min(1).nullable().prefault(null),
        /** The watts the rig draws in its low-power work mode (3), where the model has one; null = no power target. */
        lowPowerWatts: num(1, MW).nullable().prefault(null),
        timeoutMs: int(100, MINUTE, ' ms').prefault(5000),
        /** set_miner_conf.cgi answers after the miner process restarts: ~21 s measured on an S19j Pro. */
        writeTimeoutMs: int(100, 10 * MINUTE, ' ms').prefault(60_000),
        settle: settle(),
      },
      objectError,
    ),
    z
      .strictObject(
        {
          type: z.literal('whatsminer'),
          host: z.string().min(1).nullable().prefault(null),
          /** null = the API's own port: 4028 for 2.x, 4433 for 3.x (both probed with apiVersion "auto"). */
          port: int(1, 65535).nullable().prefault(null),
          /** The admin password (the firmware default "admin" must be changed before writes work); or passwordFile. */
          password: z.string().nullable().prefault(null),
          passwordFile: z.string().min(1).nullable().prefault(null),
          /**
           * '2': TCP 4028, get_token and AES writes; '3': TCP 4433, framed JSON, salted token; 'auto' (default): the
           * version the rig answers, probed read-only once per rig (3.x on 4433, then 2.x on 4028; drivers/whatsminer-auto.ts).
           */
          apiVersion: z.enum(['2', '3', 'auto'], { error: 'must be "2", "3" or "auto"' }).prefault('auto'),
          /** Power limits (W) the planner may set with adjust_power_limit; those below the rig's ratedWatts are used. */
          powerTargets: z
            .array(int(1, MW), { error: 'must be a list of watts (integers)' })
            .max(64, 'at most 64 targets')
            .readonly()
            .prefault([]),
          timeoutMs: int(100, MINUTE, ' ms').prefault(5000),
          settle: settle(),
        },
        objectError,
      )
      .superRefine((d, ctx) => {
        // "auto" probes each version on its own port; one port number cannot name both.
        if (d.apiVersion === 'auto' && d.port !== null)
          ctx.addIssue({
            code: 'custom',
            path: ['port'],
            message: 'needs apiVersion "2" or "3": with "auto" the ports are 4028 (2.x) and 4433 (3.x)',
          });
      }),
    z.strictObject({ type: z.literal('stratum') }, objectError),
  ],
  { error: 'must be {"type": "luxos"|"esp-miner"|"antminer"|"whatsminer"|"stratum", …}' },
);
export type DriverConfig = z.output<typeof DriverSchema>;

const rigFields = {
  ratedWatts: num(1, MW),
  ratedThs: num(0.000001, 1_000_000),
  idleWatts: watts(),
  priority: int(-1000, 1000),
  group: z.string({ error: 'must be a string' }).regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1–64 of A-Z a-z 0-9 _ . : -'),
  driver: DriverSchema,
  override: z.enum(['run', 'curtail'], { error: 'must be "run", "curtail" or null' }).nullable(),
};

export const RigEntrySchema = z
  .strictObject(
    {
      name: z.string({ error: 'must be a string' }).min(1).max(64),
      match: z.strictObject(
        {
          /** Glob on the miner's worker name: * any run, ? one character. */
          worker: z.string().min(1).optional(),
          /** Source address or network. */
          cidr: z
            .string()
            .refine((s) => parseCidr(s) !== null, 'must be an IP address or network such as 10.0.1.0/24')
            .optional(),
        },
        objectError,
      ),
      ...rigFields,
      idleWatts: rigFields.idleWatts.prefault(DEFAULT_RIG.idleWatts),
      priority: rigFields.priority.prefault(DEFAULT_RIG.priority),
      group: rigFields.group.prefault(DEFAULT_RIG.group),
      driver: rigFields.driver.prefault({ type: 'stratum' }),
      override: rigFields.override.prefault(null),
    },
    objectError,
  )
  .superRefine((r, ctx) => {
    if (r.match.worker === undefined && r.match.cidr === undefined)
      ctx.addIssue({ code: 'custom', path: ['match'], message: 'needs "worker" (glob) and/or "cidr"' });
    if (r.idleWatts >= r.ratedWatts) ctx.addIssue({ code: 'custom', path: ['idleWatts'], message: 'must be below ratedWatts' });
  });
export type RigEntry = z.output<typeof RigEntrySchema>;

export const DefaultRigSchema = section({
  ratedWatts: rigFields.ratedWatts.prefault(DEFAULT_RIG.ratedWatts),
  ratedThs: rigFields.ratedThs.prefault(DEFAULT_RIG.ratedThs),
  idleWatts: rigFields.idleWatts.prefault(DEFAULT_RIG.idleWatts),
  priority: rigFields.priority.prefault(DEFAULT_RIG.priority),
  group: rigFields.group.prefault(DEFAULT_RIG.group),
  driver: rigFields.driver.prefault({ type: 'stratum' }),
});
