/**
 * Streaming line reader for journals of any size, in bounded memory.
 *
 * Splits on the newline byte and decodes UTF-8 once per complete line.
 * A line longer than `maxLineBytes` is reported (with its length) and
 * skipped without being buffered; a last line with no newline is handed to
 * the sink separately, because it is what a writer cut off mid-record
 * leaves behind. The sink is called synchronously, chunk by chunk, so a
 * consumer that does its work inside the callbacks costs no promise per line.
 */

import { createReadStream } from 'node:fs';

/** Default line cap: a job record is < 70 KiB even at the work core's limits; anything near 1 MiB is damage. */
export const DEFAULT_MAX_LINE_BYTES = 1024 * 1024;

export interface LineSink {
  /** A complete line (newline removed). `lineNo` counts from 1. */
  line(text: string, lineNo: number): void;
  /** A line longer than the cap; `bytes` is its length without the newline. `terminated` is false for a last line with no newline. */
  oversize(lineNo: number, bytes: number, terminated: boolean): void;
  /** The last line of the input has no newline (and is within the cap). */
  unterminated(text: string, lineNo: number): void;
  /** Bytes consumed so far, after each chunk. */
  progress?(bytesRead: number): void;
}

export interface ReadLinesOptions {
  readonly maxLineBytes?: number;
}

export interface ReadLinesSummary {
  readonly bytes: number;
  readonly lines: number;
}

/** Feeds every line of `source` to `sink`. Rejects only when the source itself fails. */
export async function readLines(
  source: AsyncIterable<Uint8Array | string>,
  sink: LineSink,
  options: ReadLinesOptions = {},
): Promise<ReadLinesSummary> {
  const max = options.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES;
  let carry: Buffer[] = [];
  let carryLen = 0;
  let discarding = false;
  let lineNo = 0;
  let bytes = 0;
  for await (const chunk of source) {
    const buf =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.isBuffer(chunk)
          ? chunk
          : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    bytes += buf.length;
    let start = 0;
    for (let nl = buf.indexOf(10, start); nl !== -1; nl = buf.indexOf(10, start)) {
      lineNo++;
      const len = carryLen + nl - start;
      if (discarding || len > max) {
        sink.oversize(lineNo, len, true);
      } else if (carryLen > 0) {
        carry.push(buf.subarray(start, nl));
        sink.line(Buffer.concat(carry, len).toString('utf8'), lineNo);
      } else {
        sink.line(buf.toString('utf8', start, nl), lineNo);
      }
      carry = [];
      carryLen = 0;
      discarding = false;
      start = nl + 1;
    }
    if (start < buf.length) {
      const rest = buf.length - start;
      carryLen += rest;
      if (discarding || carryLen > max) {
        // Past the cap: keep counting, stop keeping bytes.
        discarding = true;
        carry = [];
      } else {
        carry.push(buf.subarray(start));
      }
    }
    sink.progress?.(bytes);
  }
  if (carryLen > 0) {
    lineNo++;
    if (discarding) sink.oversize(lineNo, carryLen, false);
    else sink.unterminated(Buffer.concat(carry, carryLen).toString('utf8'), lineNo);
  }
  return { bytes, lines: lineNo };
}

/** readLines over a file, read in 1 MiB chunks. */
export function readFileLines(path: string, sink: LineSink, options: ReadLinesOptions = {}): Promise<ReadLinesSummary> {
  return readLines(createReadStream(path, { highWaterMark: 1024 * 1024 }), sink, options);
}
