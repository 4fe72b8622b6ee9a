/** One miner's Stratum session: state machine, share checks, relay, stats. */

export * from './session.js';
