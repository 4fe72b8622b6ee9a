/** The hostile pool link's public types (see ./link.ts). */
import type { EventEmitter } from 'node:events';

export type LinkRole = 'unknown' | 'honest' | 'hostile';

export interface HostileLinkOptions {
  /** The real (simulated) pool each link relays to, on 127.0.0.1. */
  readonly pool: { readonly port: number };
  readonly seed: number;
  /** True for a request only an honest miner's session sends; a link's role is set by its first request. */
  readonly isHonest?: (method: string, params: readonly unknown[]) => boolean;
  /** Chance of one hostile line after each real line relayed to the proxy (default 0.25). */
  readonly injectChance?: number;
  /** Hostile lines sent as soon as a link opens (default 2). */
  readonly burstOnOpen?: number;
  /** Every Nth submit answer on honest links is replaced (default 8). */
  readonly replaceSubmitEvery?: number;
  /** Every Nth answer per method on hostile links is replaced, and followed by the real one (default 2). */
  readonly replaceHostileEvery?: number;
  readonly maxInjectionsPerLink?: number;
  /**
   * Heavy (deep / wide) lines per honest or unknown link, injected or replaced (default 12): under the count
   * after which a proxy may fairly take the pool as broken and fail over, so honest sessions are attacked,
   * not just failed over.
   */
  readonly maxHeavyPerLink?: number;
  readonly maxInjections?: number;
  /** Line budget on honest and unknown links (default 16000) and on hostile ones (default 60000). */
  readonly honestLineBytes?: number;
  readonly hostileLineBytes?: number;
  /** Safety net: the link server closes after this many ms (default 120000). */
  readonly lifetimeMs?: number;
}

export interface HostileLinkStats {
  links: number;
  roles: Record<LinkRole, number>;
  /** Real lines relayed each way. */
  toPool: number;
  toProxy: number;
  injected: number;
  injectedHonest: number;
  /** "method slot" → count, over all injected lines. */
  injectedByTarget: Record<string, number>;
  replaced: number;
  replacedHonestSubmits: number;
  /** Proxy request method → answers replaced. */
  replacedByMethod: Record<string, number>;
  /** "method shape" (e.g. "mining.submit error[2]") → answers replaced. */
  replacedByShape: Record<string, number>;
  /** Requests from the proxy the link did not pass to the pool (unsafe for it) and answered with an error itself. */
  heldBack: number;
  /** Responses the proxy sent to the link's own injected requests (client.get_version, mining.ping…). */
  proxyAnswers: number;
}

export interface HostileLink {
  readonly port: number;
  readonly stats: HostileLinkStats;
  readonly events: EventEmitter;
  /** Labels of the last 32 hostile lines written, oldest first (what the proxy was chewing on if it died). */
  readonly recent: readonly string[];
  /** Start (or stop) attacking; until then every link is a plain relay. */
  arm(on?: boolean): void;
  waitFor(pred: () => boolean, timeoutMs: number, label: string): Promise<void>;
  close(): Promise<void>;
}
