/**
 * The man-in-the-middle pool link's sockets: a server for the proxy, one connection to the real (simulated)
 * pool per proxy connection, lines cut by util's LineFramer and handed to ./relay.ts. A relayed line is
 * written as the framer gives it plus "\n": a trailing "\r" (and a leading byte-order mark) are not carried
 * over, and neither the simulated pool nor the proxy sends them. Lines of blanks are not relayed; a line
 * over 1 MiB ends the link.
 */
import net from 'node:net';
import { lineReader, listenOn, waitForOn } from '../shared.js';
import type { HostileLink, HostileLinkOptions } from './link-types.js';
import { createLinkContext, fromPool, fromProxy, inject, type Link, type LinkContext } from './relay.js';

/** Far above any line either side sends (the hostile ones stay under 64 KiB). */
const MAX_RELAY_LINE_BYTES = 1 << 20;

function onConnection(ctx: LinkContext, proxy: net.Socket): void {
  proxy.on('error', () => {});
  const pool = net.connect({ host: '127.0.0.1', port: ctx.o.pool.port });
  pool.on('error', () => {});
  pool.setNoDelay(true);
  proxy.setNoDelay(true);
  const l: Link = {
    proxy,
    pool,
    role: 'unknown',
    pending: new Map(),
    lastNotify: undefined,
    difficulty: undefined,
    injected: 0,
    heavy: 0,
  };
  ctx.links.add(l);
  ctx.stats.links++;
  ctx.stats.roles.unknown++;
  const end = () => {
    proxy.destroy();
    pool.destroy();
    if (ctx.links.delete(l)) ctx.events.emit('linkClosed');
  };
  const relay = (handle: (ctx: LinkContext, l: Link, line: string) => void) =>
    lineReader(
      MAX_RELAY_LINE_BYTES,
      (line) => {
        if (line.trim() !== '') handle(ctx, l, line);
      },
      end,
    );
  proxy.on('close', end);
  pool.on('close', end);
  proxy.on('data', relay(fromProxy));
  pool.on('data', relay(fromPool));
  for (let i = 0; i < (ctx.o.burstOnOpen ?? 2); i++) inject(ctx, l);
  ctx.events.emit('link');
}

/**
 * A TCP server on 127.0.0.1:0 for the proxy to use as its pool. Each connection is relayed to `pool`; once
 * armed, the link (a) sends hostile calls, requests and stray answers towards the proxy between real lines,
 * and (b) replaces some real answers with hostile ones carrying the same id, so they land in the proxy's
 * pending-request table. A link's role decides how hard: on links an honest miner uses only harmless lines and
 * every replaceSubmitEvery-th submit answer; on hostile miners' links anything, every answer kind.
 */
export async function startHostileLink(o: HostileLinkOptions): Promise<HostileLink> {
  const ctx = createLinkContext(o);
  const server = net.createServer((proxy) => onConnection(ctx, proxy));
  const port = await listenOn(server, { host: '127.0.0.1', port: 0, exclusive: true });
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= new Promise<void>((resolve) => {
      clearTimeout(lifetime);
      for (const l of ctx.links) {
        l.proxy.destroy();
        l.pool.destroy();
      }
      server.close(() => resolve());
    }));
  const lifetime = setTimeout(() => void close(), o.lifetimeMs ?? 120_000);
  lifetime.unref();
  return {
    port,
    stats: ctx.stats,
    events: ctx.events,
    recent: ctx.recent,
    arm(on = true) {
      ctx.armed = on;
      if (on) for (const l of ctx.links) inject(ctx, l);
    },
    waitFor: (pred, timeoutMs, label) => waitForOn(ctx.events, pred, timeoutMs, label, 'hostile link:'),
    close,
  };
}
