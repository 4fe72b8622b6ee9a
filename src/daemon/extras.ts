/** The optional parts of a Daemon (tests, the demo): see DaemonExtras. */

import type { MetricsRecorder } from '../admin/types.js';
import type { SignalSource, StatusSink } from '../throttle/controller.js';
import type { RigControl, RigSpec, ThrottleStatus } from '../throttle/types.js';
import type { PoolTransport } from '../upstream/transport.js';
import type { Clock } from '../util/clock.js';

/**
 * Optional parts of the daemon. By default the throttle (when config.throttle.enabled) reads Redis from
 * config.throttle.redis, publishes its status there, and reaches rigs through the drivers in config.rigs.
 * The demo and tests pass their own signal source, sink and controls.
 */
export interface DaemonExtras {
  readonly signalSource?: SignalSource;
  readonly statusSink?: StatusSink | null;
  readonly createControl?: (rig: RigSpec) => RigControl;
  readonly onThrottleTick?: (status: ThrottleStatus) => void;
  /** Metrics hooks (the admin endpoint's Metrics); set before start(). */
  readonly recorder?: MetricsRecorder | null;
  /**
   * Time and timers for the daemon's own deadlines (authorize timeout, no-pool probes, stop) and for
   * every pool link and the throttle loop it builds (default systemClock). Tests pass a fake clock.
   */
  readonly clock?: Clock;
  /** How pool links and no-pool probes reach pools (default node:net). */
  readonly transport?: PoolTransport;
}
