/** An in-memory Upstream for driving a MinerSession without sockets: records what the session sends, answers from a function. */
import type { JsonValue } from '../../src/protocol/json-rpc.js';
import type { RequestOptions, Upstream, UpstreamListener, UpstreamReply } from '../../src/upstream/types.js';

export interface SentRequest {
  readonly method: string;
  readonly params: readonly JsonValue[];
  readonly handshake: boolean;
  /** False for notifications. */
  readonly request: boolean;
}

export class FakeUpstream implements Upstream {
  listener: UpstreamListener = () => {};
  sent: SentRequest[] = [];
  answer: (method: string, params: readonly JsonValue[]) => UpstreamReply | Promise<UpstreamReply> = () => ({
    status: 'closed',
    sent: true,
  });
  pool: { url: string; user: string | null; password: string | null } | null = {
    url: 'stratum+tcp://127.0.0.1:1',
    user: 'acct',
    password: 'pw',
  };
  closed = false;
  handshakeDoneCalls = 0;
  request(method: string, params: readonly JsonValue[], options: RequestOptions = {}): Promise<UpstreamReply> {
    this.sent.push({ method, params, handshake: options.handshake === true, request: true });
    return Promise.resolve(this.answer(method, params));
  }
  notify(method: string, params: readonly JsonValue[]): void {
    this.sent.push({ method, params, handshake: false, request: false });
  }
  handshakeDone(): void {
    this.handshakeDoneCalls++;
  }
  setListener(l: UpstreamListener): void {
    this.listener = l;
  }
  pause(): void {}
  resume(): void {}
  close(): void {
    this.closed = true;
  }
}

/** A pool answer with the given result and error. */
export const answer = (id: number, result: JsonValue, error: JsonValue = null): UpstreamReply => ({
  status: 'ok',
  rttMs: 1,
  response: { kind: 'response', id, result, error },
});

/** A job whose shares every test can build: with a difficulty of 1e-12 any hash meets it. */
export const TEST_JOB = {
  jobId: 'j1',
  prevhash: '00'.repeat(32),
  coinb1: '01',
  coinb2: '02',
  merkleBranch: [] as string[],
  version: '20000000',
  nbits: '1d00ffff',
  ntime: '5f5e1000',
};
