/**
 * A resumable, bounded NDJSON line framer: bytes in, complete lines out.
 *
 * Stratum V1 sends one JSON object per line, terminated by "\n" (some
 * software sends "\r\n"). The framer:
 * - splits on the newline byte 0x0a and strips one trailing "\r";
 * - decodes UTF-8 once per complete line, never per chunk, so a multi-byte
 *   character split across TCP reads arrives whole (invalid sequences
 *   become U+FFFD; a leading BOM is dropped, as TextDecoder does);
 * - ignores empty lines;
 * - caps the line length: a line longer than `maxLineBytes` (not counting
 *   its "\r\n") yields one `oversized` event as soon as the cap is crossed,
 *   then its bytes are discarded up to the next newline. The buffer never
 *   holds more than `maxLineBytes + 1` bytes (the +1 is a possible "\r"
 *   whose fate is only known when the newline arrives), whatever the input.
 *
 * It knows nothing of JSON or sockets: the caller feeds it chunks.
 */

/** Defaults in one object. */
export const LINE_FRAMER_DEFAULTS = Object.freeze({
  /** Miners send lines < 1 KiB; a pool's mining.notify with a big coinbase stays well under this. */
  maxLineBytes: 16 * 1024,
  /** First buffer allocation; doubles on demand up to maxLineBytes + 1. */
  initialBufferBytes: 512,
});

export interface LineFramerOptions {
  /** Longest accepted line in bytes, excluding the "\n" and an optional "\r" before it. */
  readonly maxLineBytes?: number;
}

export type FrameEvent =
  | { readonly type: 'line'; readonly line: string }
  /**
   * A line passed the cap. `bytes` is how many bytes of it had arrived when
   * the framer noticed (at least maxLineBytes + 1, the whole line when its
   * newline was in the same chunk). The rest of the line is discarded.
   */
  | { readonly type: 'oversized'; readonly bytes: number };

export interface LineFramerStats {
  /** Complete, non-empty lines emitted. */
  readonly lines: number;
  /** Oversized lines seen (one per line, however long). */
  readonly oversized: number;
  /** Bytes fed in total. */
  readonly bytes: number;
  /** Bytes thrown away as part of oversized lines (or dropped by end()). */
  readonly discardedBytes: number;
  /** Bytes held for an incomplete line right now (<= maxLineBytes + 1). */
  readonly buffered: number;
}

const LF = 0x0a;
const CR = 0x0d;

// Stateless use (no `stream: true`): one decoder serves every framer.
const UTF8 = new TextDecoder('utf-8');

export class LineFramer {
  readonly maxLineBytes: number;
  /** Bytes a partial line may occupy: the cap plus a possible trailing "\r". */
  private readonly limit: number;
  private buf: Uint8Array;
  private len = 0;
  /** True while skipping the rest of an oversized line. */
  private discarding = false;
  private counts = { lines: 0, oversized: 0, bytes: 0, discardedBytes: 0 };

  constructor(options: LineFramerOptions = {}) {
    const max = options.maxLineBytes ?? LINE_FRAMER_DEFAULTS.maxLineBytes;
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError('maxLineBytes must be a positive integer');
    this.maxLineBytes = max;
    this.limit = max + 1;
    this.buf = new Uint8Array(Math.min(LINE_FRAMER_DEFAULTS.initialBufferBytes, this.limit));
  }

  /** Feeds one chunk; returns the events it completed, in order. */
  feed(chunk: Uint8Array): FrameEvent[] {
    const out: FrameEvent[] = [];
    this.counts.bytes += chunk.length;
    let i = 0;
    while (i < chunk.length) {
      const nl = chunk.indexOf(LF, i);
      const end = nl === -1 ? chunk.length : nl;
      const n = end - i;
      if (this.discarding) {
        this.counts.discardedBytes += n;
      } else if (this.len + n > this.limit) {
        // Crossed the cap mid-line: report once, drop what we hold, skip to the newline.
        this.overflow(out, this.len + n);
      } else if (nl !== -1) {
        this.completeLine(out, chunk, i, end);
      } else {
        this.append(chunk, i, end);
      }
      if (nl === -1) break;
      if (this.discarding) this.discarding = false; // the newline ends the oversized line
      i = nl + 1;
    }
    return out;
  }

  /**
   * Ends the stream: a trailing line without its newline is incomplete and
   * is dropped. Returns how many bytes were dropped; the framer is reset.
   */
  end(): number {
    const dropped = this.len;
    this.counts.discardedBytes += dropped;
    this.len = 0;
    this.discarding = false;
    return dropped;
  }

  get stats(): LineFramerStats {
    return { ...this.counts, buffered: this.len };
  }

  private overflow(out: FrameEvent[], seen: number): void {
    this.counts.oversized++;
    this.counts.discardedBytes += seen;
    this.discarding = true;
    this.len = 0;
    out.push({ type: 'oversized', bytes: seen });
  }

  /** The newline for the current line is at `end` in `chunk`; the line's tail is chunk[start, end). */
  private completeLine(out: FrameEvent[], chunk: Uint8Array, start: number, end: number): void {
    let bytes: Uint8Array;
    if (this.len === 0) {
      bytes = chunk.subarray(start, end); // common case: the whole line is in this chunk, no copy
    } else {
      this.append(chunk, start, end);
      bytes = this.buf.subarray(0, this.len);
      this.len = 0;
    }
    let n = bytes.length;
    if (n > 0 && bytes[n - 1] === CR) n--;
    if (n > this.maxLineBytes) {
      // Exactly limit bytes and the last one is not "\r": one byte over the cap.
      this.counts.oversized++;
      this.counts.discardedBytes += bytes.length;
      out.push({ type: 'oversized', bytes: bytes.length });
      return;
    }
    if (n === 0) return;
    this.counts.lines++;
    out.push({ type: 'line', line: UTF8.decode(bytes.subarray(0, n)) });
  }

  private append(chunk: Uint8Array, start: number, end: number): void {
    const need = this.len + (end - start);
    if (need > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < need) size *= 2;
      const grown = new Uint8Array(Math.min(size, this.limit));
      grown.set(this.buf.subarray(0, this.len));
      this.buf = grown;
    }
    this.buf.set(chunk.subarray(start, end), this.len);
    this.len = need;
  }
}
