/**
 * The reply bodies of the simulated stock Antminer (./antminer-sim.ts): pure functions from a snapshot of its
 * state to the JSON the firmware sends. Shapes from notes/firmware-apis.md § 1.2, § 1.6 and § 1.7:
 *
 * - cgminer API on 4028, "legacy" form (bmminer/cgminer, what pyasic's AntminerModern reads): `summary`
 *   (`SUMMARY[0]["GHS 5s"]`), `stats` (`STATS[0]` header, `STATS[1]` with `Elapsed`, `total_rateideal`,
 *   `rate_unit` "GH", `fanN`, `chain_rateN` as strings, …), `pools` (`POOLS[]`: `URL`, `User`, `Status`,
 *   `Stratum Active`, …), `version` (`VERSION[0]`: `API`, `BMMiner`, `CompileTime`, `Type`), `devs` (cgminer's
 *   API-README `DEVS[]` shape). `STATUS` is a one-element list.
 * - the "new API" form (4028 with `"new_api": true`, and the web `summary.cgi`, `stats.cgi`, `pools.cgi`):
 *   `STATUS` an object (`STATUS`, `when`, `Msg`, `api_version`), `INFO` (`miner_version`, `CompileTime`,
 *   `type`), then `SUMMARY[0]` (`rate_5s` with `rate_unit` "GH/s", `status[]` checks), `STATS[0]` (`chain[]`),
 *   or `POOLS[]` with lower-case keys (captured S23 Hyd. replies in asic-rs; the "Stock Bitmain Firmware API"
 *   doc).
 * - watts: stock S19/S21 samples carry none, so by default no reply has a power field; `powerField` puts the
 *   draw where other models were seen with it: `chain_power` ("3250 W", a string; legacy `STATS[1]`), `power`
 *   or `watt` (numbers; both stats forms; `watt` as in the captured S23 Hyd. web stats).
 */

export type AntminerPowerField = 'chain_power' | 'power' | 'watt';

/** What a reply is made of. */
export interface AntminerSnapshot {
  /** Unix seconds. */
  readonly when: number;
  /** Seconds since the miner process started. */
  readonly elapsed: number;
  /** GH/s now. */
  readonly ghs: number;
  /** GH/s at full rate (the boards' ideal rate). */
  readonly idealGhs: number;
  readonly watts: number;
  readonly powerField: AntminerPowerField | null;
  /** `GHS 5s` as a string, as older bmminer builds send it. */
  readonly ghsAsString: boolean;
  readonly model: string;
  readonly compileTime: string;
  readonly workMode: string;
  readonly pools: readonly { readonly url: string; readonly user: string }[];
}

type Json = Record<string, unknown>;
const CHAINS = [0, 1, 2] as const;
const round2 = (n: number) => Math.round(n * 100) / 100;

function legacyStatus(s: AntminerSnapshot, code: number, msg: string): Json[] {
  return [{ STATUS: 'S', When: s.when, Code: code, Msg: msg, Description: 'bmminer 1.0.0' }];
}

function newApiHead(s: AntminerSnapshot, msg: string): Json {
  return {
    STATUS: { STATUS: 'S', when: s.when, Msg: msg, api_version: '1.0.0' },
    INFO: { miner_version: '49.0.1.3', CompileTime: s.compileTime, type: s.model },
  };
}

/** The power field, where this model reports one; `legacy` = the 4028 `stats` STATS[1] row. */
function powerOf(s: AntminerSnapshot, legacy: boolean): Json {
  if (s.powerField === null) return {};
  if (s.powerField === 'chain_power') return legacy ? { chain_power: `${Math.round(s.watts)} W` } : {};
  return { [s.powerField]: Math.round(s.watts) };
}

export function legacySummary(s: AntminerSnapshot): Json {
  const ghs = round2(s.ghs);
  return {
    STATUS: legacyStatus(s, 11, 'Summary'),
    SUMMARY: [
      {
        Elapsed: s.elapsed,
        'GHS 5s': s.ghsAsString ? ghs.toFixed(2) : ghs,
        'GHS av': ghs,
        'GHS 30m': ghs,
        'Found Blocks': 0,
        Getworks: 0,
        Accepted: 0,
        Rejected: 0,
        'Hardware Errors': 0,
        Utility: 0,
        Discarded: 0,
        Stale: 0,
        'Get Failures': 0,
        'Local Work': 0,
        'Remote Failures': 0,
        'Network Blocks': 0,
        'Total MH': 0,
        'Work Utility': 0,
        'Difficulty Accepted': 0,
        'Difficulty Rejected': 0,
        'Difficulty Stale': 0,
        'Best Share': 0,
        'Device Hardware%': 0,
        'Device Rejected%': 0,
        'Pool Rejected%': 0,
        'Pool Stale%': 0,
        'Last getwork': 0,
      },
    ],
    id: 1,
  };
}

function legacyChains(s: AntminerSnapshot): Json {
  const out: Json = {};
  for (const i of CHAINS) {
    const n = i + 1;
    const hot = s.ghs > 0;
    Object.assign(out, {
      [`chain_acn${n}`]: 126,
      [`chain_acs${n}`]: ' oooooooo'.repeat(14).trimEnd(),
      [`chain_hw${n}`]: 0,
      [`chain_rate${n}`]: (s.ghs / CHAINS.length).toFixed(2),
      [`freq${n}`]: 525,
      [`temp_pcb${n}`]: hot ? '45-50-48-55' : '30-30-30-30',
      [`temp_chip${n}`]: hot ? '60-65-63-70' : '30-30-30-30',
      [`temp_pic${n}`]: hot ? '45-50-48-55' : '30-30-30-30',
      [`temp2_${n}`]: hot ? 65 : 30,
      [`temp${n}`]: hot ? 50 : 30,
    });
  }
  return out;
}

export function legacyStats(s: AntminerSnapshot): Json {
  const ghs = round2(s.ghs);
  const fan = s.ghs > 0 ? 5400 : 2000;
  return {
    STATUS: legacyStatus(s, 70, 'CGMiner stats'),
    STATS: [
      { BMMiner: '1.0.0', Miner: '49.0.1.3', CompileTime: s.compileTime, Type: s.model },
      {
        STATS: 0,
        ID: 'BTM_SOC0',
        Elapsed: s.elapsed,
        Calls: 0,
        Wait: 0,
        Max: 0,
        Min: 99999999,
        'GHS 5s': s.ghsAsString ? ghs.toFixed(2) : ghs,
        'GHS av': ghs,
        rate_30m: ghs,
        Mode: 2,
        miner_count: CHAINS.length,
        frequency: 525,
        fan_num: 4,
        fan1: fan,
        fan2: fan,
        fan3: fan,
        fan4: fan,
        temp_num: CHAINS.length,
        ...legacyChains(s),
        total_rateideal: round2(s.idealGhs),
        rate_unit: 'GH',
        total_freqavg: 525,
        total_acn: 126 * CHAINS.length,
        'total rate': ghs,
        miner_version: '49.0.1.3',
        miner_id: 'sim0000000000000',
        ...powerOf(s, true),
      },
    ],
    id: 1,
  };
}

/** `stats` with `new_api`, and the web `stats.cgi`. */
export function newApiStats(s: AntminerSnapshot): Json {
  const chain = CHAINS.map((index) => ({
    index,
    freq_avg: 525,
    rate_ideal: round2(s.idealGhs / CHAINS.length),
    rate_real: round2(s.ghs / CHAINS.length),
    asic_num: 126,
    temp_pic: s.ghs > 0 ? [45, 50, 48, 55] : [30, 30, 30, 30],
    temp_pcb: s.ghs > 0 ? [45, 50, 48, 55] : [30, 30, 30, 30],
    temp_chip: s.ghs > 0 ? [60, 65, 63, 70] : [30, 30, 30, 30],
    hw: 0,
    eeprom_loaded: true,
    sn: `SIMCHAIN000${index}`,
  }));
  const fan = s.ghs > 0 ? 5400 : 2000;
  return {
    ...newApiHead(s, 'stats'),
    STATS: [
      {
        elapsed: s.elapsed,
        rate_5s: round2(s.ghs),
        rate_avg: round2(s.ghs),
        rate_30m: round2(s.ghs),
        rate_ideal: round2(s.idealGhs),
        rate_unit: 'GH/s',
        chain_num: CHAINS.length,
        fan_num: 4,
        fan: [fan, fan, fan, fan],
        hwp_total: 0,
        'miner-mode': Number(s.workMode),
        'freq-level': 100,
        chain,
        ...powerOf(s, false),
      },
    ],
  };
}

/** `summary` with `new_api`, and the web `summary.cgi`. */
export function newApiSummary(s: AntminerSnapshot): Json {
  const check = (type: string) => ({ type, status: 's', code: 0, msg: '' });
  return {
    ...newApiHead(s, 'summary'),
    SUMMARY: [
      {
        elapsed: s.elapsed,
        rate_5s: round2(s.ghs),
        rate_avg: round2(s.ghs),
        rate_30m: round2(s.ghs),
        rate_ideal: round2(s.idealGhs),
        rate_unit: 'GH/s',
        hw_all: 0,
        bestshare: 0,
        status: [check('rate'), check('network'), check('fans'), check('temp')],
      },
    ],
  };
}

export function legacyPools(s: AntminerSnapshot): Json {
  const used = s.pools.filter((p) => p.url !== '');
  return {
    STATUS: legacyStatus(s, 7, `${used.length} Pool(s)`),
    POOLS: used.map((p, i) => ({
      POOL: i,
      URL: p.url,
      Status: 'Alive',
      Priority: i,
      Quota: 1,
      'Long Poll': 'N',
      Getworks: 0,
      Accepted: 0,
      Rejected: 0,
      Discarded: 0,
      Stale: 0,
      'Get Failures': 0,
      'Remote Failures': 0,
      User: p.user,
      'Last Share Time': 0,
      Diff: '65.5K',
      'Diff1 Shares': 0,
      'Proxy Type': '',
      Proxy: '',
      'Difficulty Accepted': 0,
      'Difficulty Rejected': 0,
      'Difficulty Stale': 0,
      'Last Share Difficulty': 0,
      'Has Stratum': true,
      'Stratum Active': i === 0,
      'Stratum URL': p.url.replace(/^stratum\+tcp:\/\//, '').replace(/:\d+$/, ''),
      'Has GBT': false,
      'Best Share': 0,
      'Pool Rejected%': 0,
      'Pool Stale%': 0,
    })),
    id: 1,
  };
}

/** `pools` with `new_api`, and the web `pools.cgi` (lower-case keys). */
export function newApiPools(s: AntminerSnapshot): Json {
  return {
    ...newApiHead(s, 'pools'),
    POOLS: s.pools
      .filter((p) => p.url !== '')
      .map((p, index) => ({
        index,
        url: p.url,
        user: p.user,
        status: 'Alive',
        priority: index,
        getworks: 0,
        accepted: 0,
        rejected: 0,
        discarded: 0,
        stale: 0,
        diff: '65536.0000',
        diff1: 0,
        diffa: 0,
        diffr: 0,
        diffs: 0,
        lsdiff: 0,
        lstime: '0',
      })),
  };
}

export function legacyVersion(s: AntminerSnapshot): Json {
  return {
    STATUS: legacyStatus(s, 22, 'BMMiner versions'),
    VERSION: [{ BMMiner: '1.0.0', API: '3.1', Miner: '49.0.1.3', CompileTime: s.compileTime, Type: s.model }],
    id: 1,
  };
}

/** cgminer API-README `devs`: one ASC row per hashboard. */
export function legacyDevs(s: AntminerSnapshot): Json {
  const mhs = round2((s.ghs / CHAINS.length) * 1000);
  return {
    STATUS: legacyStatus(s, 9, `${CHAINS.length} ASC(s)`),
    DEVS: CHAINS.map((i) => ({
      ASC: i,
      Name: 'BTM_SOC0',
      ID: i,
      Enabled: 'Y',
      Status: 'Alive',
      Temperature: s.ghs > 0 ? 65 : 30,
      'MHS av': mhs,
      'MHS 5s': mhs,
      Accepted: 0,
      Rejected: 0,
      'Hardware Errors': 0,
      Utility: 0,
      'Last Share Pool': 0,
      'Last Share Time': 0,
      'Total MH': 0,
      'Diff1 Work': 0,
      'Difficulty Accepted': 0,
      'Difficulty Rejected': 0,
      'Last Share Difficulty': 0,
      'Last Valid Work': 0,
      'Device Hardware%': 0,
      'Device Rejected%': 0,
      'Device Elapsed': s.elapsed,
    })),
    id: 1,
  };
}

/** An unknown or refused command. */
export function legacyError(s: AntminerSnapshot, code: number, msg: string): Json {
  return { STATUS: [{ STATUS: 'E', When: s.when, Code: code, Msg: msg, Description: 'bmminer 1.0.0' }], id: 1 };
}

/**
 * One 4028 request: `command` (several joined with "+" answer as one object keyed by command, each value a
 * one-element list, plus `id`), `new_api` for the modern shape of `summary`, `stats` and `pools`.
 */
export function apiReply(s: AntminerSnapshot, command: string, newApi: boolean): Json {
  const one = (c: string): Json => {
    switch (c) {
      case 'summary':
        return newApi ? newApiSummary(s) : legacySummary(s);
      case 'stats':
        return newApi ? newApiStats(s) : legacyStats(s);
      case 'pools':
        return newApi ? newApiPools(s) : legacyPools(s);
      case 'version':
        return legacyVersion(s);
      case 'devs':
        return legacyDevs(s);
      default:
        return legacyError(s, 14, 'Invalid command');
    }
  };
  const commands = command.split('+').filter((c) => c !== '');
  if (commands.length <= 1) return one(command);
  const out: Json = {};
  for (const c of commands.slice(0, 8)) out[c] = [one(c)];
  out.id = 1;
  return out;
}
