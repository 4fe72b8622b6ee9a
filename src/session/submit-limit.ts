/**
 * The submit flood limit of one connection, with time passed in.
 *
 * A token bucket (`burst` tokens, refilled at `perSecond`) decides whether a
 * submit is checked at all. Over-limit submits also add up in an excess
 * count that drains at `perSecond`: a miner more than floodFactor × burst
 * above it is flooding, whether in one burst or steadily. (Counting
 * over-limit submits "in a row" missed a steady flood: at 10,000 submits/s
 * against 20/s a token arrives every 500 submits, so the run never reached
 * the 1,000 needed, and honest miners' latency went from 18 ms to 1.8 s.)
 */

export type SubmitLimitVerdict =
  /** Within the limit: check the share. */
  | 'ok'
  /** Over the limit: answer "rate limited". `episodeStart` is true for the first of an episode (log once). */
  | { readonly limited: true; readonly episodeStart: boolean }
  /** Flooding: disconnect. */
  | 'flood';

export interface SubmitLimitOptions {
  /** Sustained rate; undefined or <= 0 = no limit. */
  readonly perSecond?: number | undefined;
  /** Bucket size (default 1). */
  readonly burst?: number | undefined;
  /** Excess over floodFactor × burst is a flood (default 10). */
  readonly floodFactor?: number | undefined;
}

export const DEFAULT_FLOOD_FACTOR = 10;

export class SubmitLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #floodAt: number;
  #tokens: number;
  #tokensAt: number;
  #excess = 0;
  #excessAt: number;

  constructor(options: SubmitLimitOptions, now: number) {
    this.#rate = options.perSecond ?? 0;
    this.#burst = Math.max(1, options.burst ?? 1);
    this.#floodAt = (options.floodFactor ?? DEFAULT_FLOOD_FACTOR) * this.#burst;
    this.#tokens = this.#burst;
    this.#tokensAt = now;
    this.#excessAt = now;
  }

  /** The excess above which a miner is flooding. */
  get floodAt(): number {
    return this.#floodAt;
  }

  /** One submit at `now` (ms). */
  take(now: number): SubmitLimitVerdict {
    if (this.#rate <= 0) return 'ok';
    this.#tokens = Math.min(this.#burst, this.#tokens + (Math.max(0, now - this.#tokensAt) * this.#rate) / 1000);
    this.#tokensAt = now;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return 'ok';
    }
    this.#excess = Math.max(0, this.#excess - (Math.max(0, now - this.#excessAt) * this.#rate) / 1000);
    this.#excessAt = now;
    const episodeStart = this.#excess === 0;
    this.#excess++;
    if (this.#excess > this.#floodAt) return 'flood';
    return { limited: true, episodeStart };
  }
}
