/**
 * The pool link's transport over node:net (./transport.ts): TCP with
 * Nagle off (a share is one small line that should leave at once) and
 * optional keep-alive. Nothing here knows Stratum; the pool link
 * (./pool-upstream.ts) does, without a socket.
 */

import net from 'node:net';
import { type Clock, systemClock } from '../util/clock.js';
import { PoolUpstream, type PoolUpstreamOptions } from './pool-upstream.js';
import type { PoolEndpoint, PoolTransport, TransportConnection, TransportHandlers } from './transport.js';

export interface NetTransportOptions {
  /** TCP keep-alive initial delay; 0 or absent = off. */
  readonly keepAliveMs?: number;
  /** A probe that neither connects nor fails within this long counts as unreachable (default 10 s). */
  readonly probeTimeoutMs?: number;
}

export function netTransport(options: NetTransportOptions = {}): PoolTransport {
  return {
    connect(to: PoolEndpoint, h: TransportHandlers): TransportConnection {
      const socket = net.connect({ host: to.host, port: to.port });
      socket.setNoDelay(true);
      if ((options.keepAliveMs ?? 0) > 0) socket.setKeepAlive(true, options.keepAliveMs);
      socket.on('connect', () => h.connected());
      socket.on('data', (chunk: Buffer) => h.data(chunk));
      socket.on('drain', () => h.drained());
      socket.on('error', (err: NodeJS.ErrnoException) => h.error(err.code ?? err.message));
      socket.on('close', () => h.closed());
      return {
        write: (text) => (socket.destroyed ? true : socket.write(text)),
        pause: () => void socket.pause(),
        resume: () => void socket.resume(),
        destroy: () => void socket.destroy(),
      };
    },
    probe(to: PoolEndpoint, done: (reachable: boolean) => void): () => void {
      let settled = false;
      const probe = net.connect({ host: to.host, port: to.port });
      const finish = (ok: boolean) => {
        if (settled) return;
        settled = true;
        probe.destroy();
        done(ok);
      };
      probe.setTimeout(options.probeTimeoutMs ?? 10_000, () => finish(false));
      probe.on('connect', () => finish(true));
      probe.on('error', () => finish(false));
      return () => {
        settled = true;
        probe.destroy();
      };
    },
  };
}

/** A started pool link on node:net and the system clock (unless the options name others). */
export function createPoolUpstream(
  options: Omit<PoolUpstreamOptions, 'transport' | 'clock'> & { readonly transport?: PoolTransport; readonly clock?: Clock },
): PoolUpstream {
  const transport = options.transport ?? netTransport({ keepAliveMs: options.tcpKeepAliveMs });
  return new PoolUpstream({ ...options, transport, clock: options.clock ?? systemClock }).start();
}
