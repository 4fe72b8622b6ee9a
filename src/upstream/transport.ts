/**
 * What the pool link (./pool-upstream.ts) needs from the network, and no
 * more: one stream connection at a time to a host and port, and a probe that
 * says whether a host accepts connections. The link is a state machine over
 * these calls and an injected clock; ./net-transport.ts is the node:net one,
 * and tests drive the link with a scripted transport instead of sockets.
 */

/** Where to connect. */
export interface PoolEndpoint {
  readonly host: string;
  readonly port: number;
}

/** What a connection reports to the link. After closed() nothing more is called. */
export interface TransportHandlers {
  /** The connection is established. */
  connected(): void;
  /** Bytes arrived. */
  data(chunk: Uint8Array): void;
  /** The write buffer emptied after a write() returned false. */
  drained(): void;
  /** A connection error, for the log (an errno code or a message); closed() follows. */
  error(detail: string): void;
  /** The connection is gone: refused, reset, ended by the peer, or destroyed by the link. Called once. */
  closed(): void;
}

/** One connection, as the link drives it. */
export interface TransportConnection {
  /** Queues text to send; false when the write buffer is full (drained() follows once it empties). */
  write(text: string): boolean;
  /** Stops / restarts delivering data (backpressure from a slow miner). */
  pause(): void;
  resume(): void;
  /** Ends the connection now; closed() follows. Idempotent. */
  destroy(): void;
}

export interface PoolTransport {
  /** Starts connecting; the handlers say what becomes of it. */
  connect(to: PoolEndpoint, handlers: TransportHandlers): TransportConnection;
  /**
   * Opens a connection and closes it at once: done(true) if the host accepted it, done(false) if
   * not (or not within the transport's probe timeout). Returns a cancel function; after it, done is
   * not called.
   */
  probe(to: PoolEndpoint, done: (reachable: boolean) => void): () => void;
}
