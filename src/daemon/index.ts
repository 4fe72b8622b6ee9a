/** The `hashgate run` daemon: sockets, sessions, journal, signals. */

export * from './daemon.js';
