/**
 * The writer's output: one journal file at a time, its header, the batching
 * of lines into stream writes, the size rotation, and what happens when
 * writing fails. It knows records only as lines; what goes in them and in
 * which order is the writer's business.
 *
 * Batching. Lines are collected up to `batchBytes` and handed to the stream
 * in one write; a partial batch goes out after at most `flushIntervalMs`.
 * The buffer is bounded: while the stream holds more than
 * `maxBufferedBytes` not yet written, batches are dropped (and counted).
 *
 * Files. A file is opened synchronously (openSync, then a stream on the fd),
 * so a rename always moves the file the old stream writes to, and records it
 * still has buffered land there. Swapping to a new file leaves the old one
 * draining; `flush` and `close` wait for it.
 *
 * Rotation. With `rotateBytes`, once the file holds that many bytes it is
 * renamed to `<path>.<UTC timestamp>`, at a record boundary the writer
 * chooses (`rotateIfDue`); the writer then swaps to a new file at `path`.
 *
 * Failure. Write errors never reach the caller: they are counted, passed to
 * `onError`, and later lines are dropped (and counted) until the next swap.
 */

import { createWriteStream, existsSync, fstatSync, openSync, renameSync, statSync, type WriteStream } from 'node:fs';
import { encodeRecord, type HeaderRecord, type JournalRecord } from './format.js';
import type { WriterCounters } from './writer-stats.js';
import type { WriterSettings } from './writer-types.js';

export interface JournalFileOptions {
  readonly settings: Pick<WriterSettings, 'path' | 'now' | 'batchBytes' | 'flushIntervalMs' | 'maxBufferedBytes' | 'rotateBytes'>;
  readonly counters: WriterCounters;
  /** The first record of every file. */
  readonly header: () => HeaderRecord;
  readonly onError: ((e: Error) => void) | undefined;
}

export class JournalFile {
  readonly #opt: JournalFileOptions['settings'];
  readonly #stats: WriterCounters;
  readonly #header: () => HeaderRecord;
  readonly #onError: ((e: Error) => void) | undefined;
  #path: string;
  /** Null when the file could not be opened (lines are dropped until the next swap). */
  #stream: WriteStream | null = null;
  /** Bytes in the current file: what it held when opened plus every line handed to it since. */
  #fileBytes = 0;
  #rotateBytes: number;
  /** Size at which the next rotation is due (pushed back by rotateBytes when a rename fails). */
  #rotateAt = 0;
  /** Old files still draining after a swap; flush() and close() wait for them. */
  readonly #draining = new Set<Promise<void>>();
  #broken = false;
  #closed = false;
  #batch: string[] = [];
  #batchBytes = 0;
  #lastWrite: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #dropping = false;

  /** Opens the file at `settings.path` for appending and writes its header. */
  constructor(options: JournalFileOptions) {
    this.#opt = options.settings;
    this.#stats = options.counters;
    this.#header = options.header;
    this.#onError = options.onError;
    this.#path = options.settings.path;
    this.#rotateBytes = Math.max(0, options.settings.rotateBytes);
    this.#open();
  }

  get path(): string {
    return this.#path;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Appends one record (dropped and counted once the file is closed or broken). */
  line(record: JournalRecord): void {
    if (this.#closed || this.#broken) {
      this.#stats.dropped++;
      return;
    }
    const line = `${encodeRecord(record)}\n`;
    const bytes = Buffer.byteLength(line);
    this.#stats.records++;
    this.#stats.bytes += bytes;
    this.#fileBytes += bytes;
    this.#batch.push(line);
    this.#batchBytes += line.length;
    if (this.#batchBytes >= this.#opt.batchBytes) this.writeBatch();
    else if (this.#timer === undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.writeBatch();
      }, this.#opt.flushIntervalMs);
      this.#timer.unref();
    }
  }

  /** Hands the batched lines to the stream (or drops them: broken file, buffer over its cap). */
  writeBatch(): void {
    if (this.#batch.length === 0) return;
    const lines = this.#batch;
    this.#batch = [];
    this.#batchBytes = 0;
    const stream = this.#stream;
    if (this.#broken || stream === null || stream.destroyed) {
      this.#stats.dropped += lines.length;
      return;
    }
    if (stream.writableLength > this.#opt.maxBufferedBytes) {
      this.#stats.dropped += lines.length;
      if (!this.#dropping) this.#onError?.(new Error(`journal: write buffer above ${this.#opt.maxBufferedBytes} bytes, dropping records`));
      this.#dropping = true;
      return;
    }
    this.#dropping = false;
    this.#lastWrite = new Promise((resolve) => {
      stream.write(lines.join(''), () => resolve());
    });
  }

  /** Resolves when the stream (and any old file still draining) has written every line handed over. */
  async flush(): Promise<void> {
    this.writeBatch();
    await Promise.all([this.#lastWrite, ...this.#draining]);
  }

  /**
   * Continues in a new file at `path` at once (lines from now on go there) and resolves once the old
   * file is closed.
   */
  swap(path: string): Promise<void> {
    this.writeBatch();
    if (path === this.#path && this.#stillOpenAt(path)) {
      // Nothing moved the file away (a SIGHUP without logrotate): a second stream appending to the same file could
      // land its lines before the first one's buffered ones (found by test/daemon/reload.test.ts: a queued ntf ended
      // up after the new segment's header, referring to a job of the old segment). The new segment continues in this
      // stream, in order.
      this.#stats.files++;
      this.#rotateAt = this.#rotateBytes;
      this.line(this.#header());
      return Promise.resolve();
    }
    const old = this.#stream;
    this.#path = path;
    this.#open();
    const ended = endStream(old);
    this.#draining.add(ended);
    void ended.then(() => this.#draining.delete(ended));
    return ended;
  }

  /** Size rotation threshold from now on (a reload); 0 = never. */
  setRotateBytes(bytes: number): void {
    this.#rotateBytes = Math.max(0, bytes);
    this.#rotateAt = this.#rotateBytes;
  }

  /**
   * Once the file has reached rotateBytes, renames it to `<path>.<UTC timestamp>` and returns that
   * name; the caller then swaps to a new file at `path`. Null when no rotation is due, or the rename
   * failed (the file carries on and the next try comes after another rotateBytes).
   */
  rotateIfDue(): string | null {
    if (this.#rotateBytes <= 0 || this.#fileBytes < this.#rotateAt || this.#closed || this.#broken || this.#stream === null) return null;
    const full = this.#path;
    let rotated: string;
    try {
      rotated = rotatedName(full, this.#opt.now());
      renameSync(full, rotated);
    } catch (e) {
      this.#rotateAt = this.#fileBytes + this.#rotateBytes;
      this.#onError?.(new Error(`journal: cannot rotate ${full}: ${(e as Error).message}`));
      return null;
    }
    this.#stats.rotations++;
    return rotated;
  }

  /** Writes what is batched and closes the file; lines handed over later are dropped. */
  async close(): Promise<void> {
    this.writeBatch();
    this.#closed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    await Promise.all([endStream(this.#stream), ...this.#draining]);
  }

  /** Whether the open stream still writes to the file at `path` (same device and inode). */
  #stillOpenAt(path: string): boolean {
    // createWriteStream('', { fd }) keeps the descriptor it was given (node's typings leave `fd` out).
    const fd = (this.#stream as { fd?: unknown } | null)?.fd;
    if (this.#broken || typeof fd !== 'number') return false;
    try {
      const open = fstatSync(fd);
      const named = statSync(path);
      return open.dev === named.dev && open.ino === named.ino;
    } catch {
      return false;
    }
  }

  #open(): void {
    this.#broken = false;
    this.#stats.files++;
    this.#rotateAt = this.#rotateBytes;
    let fd: number;
    try {
      fd = openSync(this.#path, 'a');
      this.#fileBytes = fstatSync(fd).size;
    } catch (e) {
      // Lines are dropped (and counted) until the next swap.
      this.#stats.writeErrors++;
      this.#broken = true;
      this.#stream = null;
      this.#fileBytes = 0;
      this.#onError?.(e as Error);
      return;
    }
    const stream = createWriteStream('', { fd });
    stream.on('error', (e) => {
      this.#stats.writeErrors++;
      if (stream === this.#stream) this.#broken = true;
      this.#onError?.(e);
    });
    this.#stream = stream;
    this.line(this.#header());
  }
}

function endStream(stream: WriteStream | null): Promise<void> {
  return new Promise((resolve) => {
    if (stream === null || stream.destroyed || stream.writableFinished) return resolve();
    stream.once('close', () => resolve());
    stream.end();
  });
}

/** `<path>.<YYYYMMDDTHHMMSS.mmmZ>` (UTC; sorts in time order), with `-1`, `-2`… if that name exists. */
export function rotatedName(path: string, now: number): string {
  const stamp = new Date(now).toISOString().replace(/[-:]/g, '');
  const base = `${path}.${stamp}`;
  let name = base;
  for (let n = 1; existsSync(name); n++) name = `${base}-${n}`;
  return name;
}
