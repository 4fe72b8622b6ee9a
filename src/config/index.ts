/** The `hashgate run` configuration: schema, loading with precedence, redaction. See docs/configuration.md. */

export {
  buildConfig,
  CONFIG_FILE_ENV,
  CONFIG_OPTIONS,
  type ConfigEnv,
  ConfigError,
  type ConfigFlags,
  type ConfigLayers,
  type ConfigOption,
  type ConfigProblem,
  formatPath,
  type LoadConfigOptions,
  loadConfig,
  REDACTED,
  readConfigFile,
  redactConfig,
} from './load.js';
export {
  CONFIG_DEFAULTS,
  type Config,
  type ConfigInput,
  ConfigSchema,
  type DeepReadonly,
  deepFreeze,
  formatHostPort,
  type HostPort,
  type ListenAddress,
  type PoolConfig,
  type PoolEndpoint,
  parseHostPort,
  parsePoolUrl,
  WORKER_MODES,
  type WorkerMode,
} from './schema.js';
export type { ParseResult } from './zod-helpers.js';
