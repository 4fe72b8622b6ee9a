/**
 * A logger whose lines land, parsed, in an array the moment they are logged:
 * the pino destination is a synchronous write function, so a test reads the
 * lines without waiting, and waits (on the write events) only for lines that
 * come from asynchronous work such as a reconnect.
 */

import { createLogger, type Logger } from '../../src/util/log.js';
import { Signal, when } from './wait.js';

export type LogLine = Record<string, unknown>;

export interface LogCapture {
  readonly logger: Logger;
  readonly lines: LogLine[];
  /** Every line as one JSON text (for "never contains" checks). */
  text(): string;
  /** The lines with this message. */
  withMsg(msg: string): LogLine[];
  /** Resolves with the first line (logged already or later) that matches; rejects with the label after ms. */
  waitFor(pred: (line: LogLine) => boolean, label: string, ms?: number): Promise<LogLine>;
}

export function captureLog(level: 'debug' | 'info' = 'debug'): LogCapture {
  const lines: LogLine[] = [];
  const written = new Signal();
  const destination = {
    write(chunk: string) {
      for (const line of chunk.split('\n')) if (line !== '') lines.push(JSON.parse(line) as LogLine);
      written.fire();
    },
  };
  return {
    logger: createLogger({ destination, level }),
    lines,
    text: () => JSON.stringify(lines),
    withMsg: (msg) => lines.filter((l) => l.msg === msg),
    async waitFor(pred, label, ms = 10_000) {
      await when(() => lines.some(pred), label, [written.subscribe], ms);
      return lines.find(pred)!;
    },
  };
}
