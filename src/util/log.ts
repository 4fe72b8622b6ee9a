/**
 * The one logging module: pino, JSON lines (journald-friendly), secrets
 * redacted by path, pretty output only when asked. Other modules take a
 * `Logger` and never import pino themselves.
 */

import { type DestinationStream, type Logger, pino } from 'pino';
import type { LogLevel } from './log-levels.js';

export type { Logger } from 'pino';
export { LOG_LEVELS, type LogLevel } from './log-levels.js';

/**
 * Field paths whose values never reach a log line: pool and Redis
 * passwords, URLs that may embed credentials, bearer tokens, driver logins.
 */
export const REDACT_PATHS: readonly string[] = [
  'password',
  '*.password',
  'pass',
  '*.pass',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'redisUrl',
  '*.redisUrl',
  'credentials',
  '*.credentials',
  'params[1]', // mining.authorize's password in a logged request
];

export interface LoggerOptions {
  readonly level?: LogLevel;
  /** Human-readable output via pino-pretty (for a terminal; not for journald). */
  readonly pretty?: boolean;
  /** Where lines go (default stdout, fd 1). Tests pass a stream. */
  readonly destination?: DestinationStream | NodeJS.WritableStream;
  readonly name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const base = {
    level: options.level ?? 'info',
    name: options.name ?? 'hashgate',
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.pretty) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, destination: 1 } } });
  }
  return pino(base, (options.destination as DestinationStream | undefined) ?? pino.destination({ fd: 1, sync: false }));
}

/** Strips user:password from a URL for logging ("redis://:secret@host:6379/0" -> "redis://***@host:6379/0"). */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

/** Truncates a peer-supplied string for a log field, so a hostile peer cannot bloat the log. */
export function truncateForLog(s: string, max = 200): string {
  return s.length <= max ? s : `${s.slice(0, max)}…(${s.length} chars)`;
}
