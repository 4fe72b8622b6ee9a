/**
 * The one place the throttle reads the config: maps a validated config's
 * `throttle`, `rigs` and `defaultRig` sections into ThrottleSettings, the
 * core's own types. The pure modules (policy, planner, inventory,
 * verification) never import src/config (DESIGN.md: the throttle core knows
 * nothing of config files).
 */

import type { Config } from '../config/index.js';
import { plannerSettingsFromConfig } from './planner.js';
import { policyFromConfig } from './policy.js';
import type { ThrottleSettings } from './types.js';

/** The config sections the throttle reads. */
export type ThrottleConfig = Pick<Config, 'throttle' | 'rigs' | 'defaultRig'>;

export function throttleSettingsFromConfig(config: ThrottleConfig): ThrottleSettings {
  const t = config.throttle;
  return {
    enabled: t.enabled,
    shadow: t.shadow,
    intervalMs: t.intervalMs,
    policy: policyFromConfig(t),
    planner: plannerSettingsFromConfig(t),
    stale: { staleAfterMs: t.redis.staleAfterMs, onStale: t.redis.onStale },
    verify: { afterCurtailMs: t.verify.afterCurtailMs, afterResumeMs: t.verify.afterResumeMs, measuredLevels: t.verify.measuredLevels },
    rigs: config.rigs,
    defaultRig: config.defaultRig,
  };
}
