/**
 * `hashgate demo`: the whole loop on one machine, through hashgate's real
 * daemon (proxy, share check, journal), throttle loop (policy, planner) and
 * drivers, against simulated hardware:
 *
 *   sim rigs (hash for real) --Stratum--> hashgate daemon --Stratum--> sim pool
 *   firmware API sims (LuxOS, ESP-Miner, Antminer, Whatsminer) <--drivers-- throttle loop <-- queue depth (script, or Redis)
 *
 * Everything listens on 127.0.0.1 with OS-chosen ports; everything it starts
 * is closed at the end, so the process exits by itself.
 */

import { createWriteStream, mkdtempSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildConfig } from '../config/index.js';
import { Daemon } from '../daemon/daemon.js';
import { type SimPool, startSimPool } from '../sim/sim-pool.js';
import { createStatusPublisher } from '../throttle/redis.js';
import { createLogger, redactUrl } from '../util/log.js';
import { buildDemoConfig, buildFleet, buildSite, buildTimings, type DemoRedis, type DemoRigSpec } from './fleet.js';
import { DemoObserver, reactionTimes, ShareMeter, verifyCurtails } from './observe.js';
import { createRedisDepthWriter, demoRedisKeys } from './redis-writer.js';
import { type DemoRigs, startDemoRigs } from './rigs.js';
import { buildDepthScript, type DemoPhase, stepAt } from './script.js';
import { createRedisFeed, createScriptFeed, type DepthFeed } from './signals.js';
import {
  auditJournal,
  commandEvents,
  countEvents,
  type DemoSummary,
  driverTallies,
  reactionSummary,
  scanJournalShares,
} from './summary.js';
import { type DemoEvent, formatEventLine, formatLegend, LiveScreen, renderFrame } from './view.js';

export interface DemoOptions {
  readonly durationMs: number;
  readonly rigs: number;
  /** Loopback Redis URL (`--redis`), or null for the in-process signal. */
  readonly redisUrl: string | null;
  /** Live view (a terminal) or event lines. */
  readonly tty: boolean;
  /** Terminal width for the live view. */
  readonly columns: number;
  /** Where the live view / event lines go. */
  readonly write: (text: string) => void;
  /** Ends the demo early (Ctrl-C); the summary still comes. */
  readonly signal?: AbortSignal;
}

/** How long the fleet may take to connect before the clock starts anyway. */
const CONNECT_WAIT_MS = 5000;
const VIEW_INTERVAL_MS = 250;
const RECENT_LINES = 6;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export async function runDemo(o: DemoOptions): Promise<DemoSummary> {
  const fleet = buildFleet(o.rigs);
  const byName = new Map<string, DemoRigSpec>(fleet.map((r) => [r.name, r]));
  const script = buildDepthScript(o.durationMs);
  const site = buildSite(fleet, script.holdDepth);
  const timings = buildTimings(o.durationMs, fleet);
  const legend = formatLegend(fleet, timings);
  const lifetimeMs = o.durationMs + 120_000;

  // Redis first: a bad --redis fails before anything is started.
  let redis: DemoRedis | null = null;
  let feed: DepthFeed;
  if (o.redisUrl !== null) {
    const keys = demoRedisKeys();
    feed = createRedisFeed(await createRedisDepthWriter(o.redisUrl, keys));
    redis = { url: o.redisUrl, ...keys };
  } else feed = createScriptFeed();

  const dir = mkdtempSync(join(tmpdir(), 'hashgate-demo-'));
  const journalPath = join(dir, 'journal.jsonl');
  const logPath = join(dir, 'hashgate.log');
  let logStream: WriteStream | null = null;
  let pool: SimPool | null = null;
  let rigs: DemoRigs | null = null;
  let daemon: Daemon | null = null;
  const timers = new Set<NodeJS.Timeout>();
  const cpuStart = process.cpuUsage();
  const wallStart = Date.now();
  let startedAt = Date.now();
  let endedAt = startedAt;
  let endedBy: DemoSummary['endedBy'] = 'duration';
  let screen: LiveScreen | null = null;
  // Collects the throttle's events and statuses; with --redis it also forwards them to the real Redis publisher.
  let sink = new DemoObserver();
  let driverErrors = 0;

  try {
    pool = await startSimPool({ lifetimeMs, jobIntervalMs: Math.round(Math.min(10_000, Math.max(1000, o.durationMs / 6))) });
    rigs = await startDemoRigs(fleet, { lifetimeMs, sim: timings.sim });
    const config = buildConfig({
      file: {
        name: 'demo',
        value: buildDemoConfig({
          fleet,
          site,
          timings,
          ports: { poolPort: pool.port, firmware: rigs.firmwareEndpoints() },
          journalPath,
          redis,
        }),
      },
    });
    logStream = createWriteStream(logPath);
    const log = createLogger({ level: 'info', destination: logStream });
    if (redis !== null) {
      const publisher = createStatusPublisher({
        url: redis.url,
        commandTimeoutMs: config.throttle.redis.commandTimeoutMs,
        logger: log,
        statusKey: redis.statusKey,
        eventsChannel: redis.eventsChannel,
        intervalMs: config.throttle.intervalMs,
      });
      sink = new DemoObserver(publisher);
    }

    let phase: DemoPhase = script.steps[0]!.phase;
    await feed.set(script.steps[0]!.depth, phase);
    const recent: string[] = [];
    const show = (e: DemoEvent) => {
      const line = formatEventLine(e, startedAt, byName);
      if (line === null) return;
      if (o.tty) {
        recent.push(line);
        if (recent.length > RECENT_LINES) recent.shift();
      } else o.write(`${line}\n`);
    };
    sink.onEvent((e) => {
      if (e.type === 'alert' && e.alert === 'driver-error') driverErrors++;
      show(e);
    });

    daemon = new Daemon(config, log, {
      ...(feed.source === null ? {} : { signalSource: feed.source }),
      statusSink: sink,
      onThrottleTick: (s) => sink.tick(s),
    });
    await daemon.start();
    const port = daemon.addresses()[0]!.port;
    const d = daemon;
    if (!o.tty)
      o.write(
        `hashgate demo: ${fleet.length} rigs, ${(o.durationMs / 1000).toFixed(0)} s, site budget ${site.siteBudgetWatts} W, journal ${journalPath}\n${legend.map((l) => `  ${l}\n`).join('')}`,
      );
    await rigs.connect(port);
    // Start the clock once the fleet is in (bounded), so the calm phase shows every rig running.
    const connectDeadline = Date.now() + CONNECT_WAIT_MS;
    while (Date.now() < connectDeadline && !o.signal?.aborted) {
      const authorized = new Set(d.sessions().flatMap((s) => s.workerNames));
      if (fleet.every((r) => authorized.has(r.name))) break;
      await sleep(50, o.signal);
    }

    startedAt = Date.now();
    show({ type: 'phase', phase, depth: feed.current, at: startedAt });
    // The script: one timer per step.
    for (const step of script.steps.slice(1)) {
      const t = setTimeout(() => {
        timers.delete(t);
        const phaseChanged = step.phase !== phase;
        phase = step.phase;
        feed.set(step.depth, step.phase).then(
          () => {
            if (phaseChanged) show({ type: 'phase', phase: step.phase, depth: step.depth, at: Date.now() });
          },
          (e: unknown) => show({ type: 'note', text: `depth write failed: ${e instanceof Error ? e.message : String(e)}`, at: Date.now() }),
        );
      }, step.at);
      timers.add(t);
    }

    const meter = new ShareMeter(Math.min(10_000, Math.max(2000, o.durationMs / 10)));
    if (o.tty) {
      screen = new LiveScreen(o.write);
      screen.begin();
      const draw = () => {
        const now = Date.now();
        meter.sample(d.sessions(), now);
        const elapsed = now - startedAt;
        screen?.draw(
          renderFrame({
            elapsedMs: elapsed,
            durationMs: o.durationMs,
            phase: stepAt(script, elapsed).phase,
            depth: feed.current,
            status: sink.status,
            fleet,
            sharesPerMinute: (rig) => meter.perMinute(rig),
            recent,
            legend,
            signals: redis === null ? 'in-process script' : `redis ${redactUrl(redis.url)} ${redis.depthKey}`,
            columns: o.columns,
          }),
        );
      };
      draw();
      const t = setInterval(draw, VIEW_INTERVAL_MS);
      timers.add(t);
    }

    await sleep(o.durationMs, o.signal);
    if (o.signal?.aborted) endedBy = 'signal';
  } finally {
    endedAt = Date.now();
    for (const t of timers) clearTimeout(t);
    timers.clear();
    screen?.end();
    // Miners first (so they do not reconnect to a stopping daemon), then the driver commands still in flight (an
    // Antminer write answers only after its restart: it finishes against the open sim instead of failing), then the
    // daemon (flushes the journal; its throttle loop stops at once), then the firmware sims, the pool, and Redis.
    await rigs?.stopMiners();
    await daemon?.throttle?.idle();
    await daemon?.stop();
    await daemon?.throttle?.idle(); // and a command the last tick sent while the loop stopped
    await rigs?.close();
    await pool?.close();
    await feed.close();
    if (logStream !== null) {
      const s = logStream;
      await new Promise<void>((resolve) => s.end(() => resolve()));
    }
  }

  const cpu = process.cpuUsage(cpuStart);
  const elapsedMs = endedAt - startedAt;
  const shares = await scanJournalShares(journalPath);
  const audit = await auditJournal(journalPath);
  const commands = commandEvents(sink.events);
  const verification = verifyCurtails({
    commands,
    shares: shares.times,
    endAt: endedAt,
    graceMs: timings.graceMs,
    observeMs: timings.graceMs,
    resumeWithinMs: timings.afterResumeMs,
  });
  return {
    endedBy,
    plannedMs: o.durationMs,
    elapsedMs,
    rigs: fleet.length,
    signals: redis === null ? 'in-process' : 'redis',
    redis:
      redis === null
        ? null
        : { url: redactUrl(redis.url), depthKey: redis.depthKey, statusKey: redis.statusKey, eventsChannel: redis.eventsChannel },
    site: {
      siteBudgetWatts: site.siteBudgetWatts,
      asicRatedWatts: site.asicWatts,
      peakDepth: Math.max(0, ...feed.changes.map((c) => c.depth)),
      peakFreedWatts: sink.peakFreedWatts,
      peakCurtailedRigs: sink.peakCurtailed,
    },
    shares: {
      checked: shares.checked,
      accepted: shares.accepted,
      rejected: shares.rejected,
      rejectedByReason: shares.rejectedByReason,
      poolAccepted: shares.poolAccepted,
      poolRejected: shares.poolRejected,
      poolCounted: pool?.stats.accepted ?? 0,
    },
    events: countEvents(sink.events, driverErrors),
    drivers: driverTallies(fleet, commands, new Map((rigs?.rigs ?? []).map((r) => [r.spec.name, r]))),
    reaction: reactionSummary(feed.changes.length, reactionTimes(feed.changes, commands)),
    verification: { ...verification, graceMs: timings.graceMs },
    audit,
    cpu: { percentOfOneCore: Math.round(((cpu.user + cpu.system) / 10 / Math.max(1, Date.now() - wallStart)) * 10) / 10 },
    journal: journalPath,
    log: logPath,
  };
}
