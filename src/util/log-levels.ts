/**
 * The log levels, apart from the logger: the config schema validates
 * `log.level` with this list before any logger exists, and must not load
 * pino to do so (src/util/log.ts is the one module that imports pino).
 */

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
