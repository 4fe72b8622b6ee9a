/**
 * Replies to one miner in the order of its requests.
 *
 * Several miners send every submit with one JSON-RPC id (cpuminer uses id
 * 4 for all of them) and can only match replies by order. hashgate answers
 * some requests at once (a locally rejected share, a ping) and others only
 * when the pool has answered, so without this a local reject overtook the
 * forwarded shares before it and was taken for their answer (measured: 5 of
 * 32 good shares and 5 of 6 duplicates attributed to the wrong reply).
 *
 * Each request with an id takes a slot when it arrives; its reply fills the
 * slot; filled slots at the head go out. A slot filled with null sends
 * nothing (a request that gets no reply) but no longer holds the ones after
 * it. The queue is bounded by what can be pending: the pool request timeout
 * ends every forwarded request, and the session's limits bound the rest.
 */

export type ReplySlot = (line: string | null) => void;

export class ReplyOrder {
  readonly #send: (line: string) => void;
  readonly #slots: { line: string | null; filled: boolean }[] = [];

  constructor(send: (line: string) => void) {
    this.#send = send;
  }

  /** Replies still held (their own, or behind an earlier unanswered request). */
  get pending(): number {
    return this.#slots.length;
  }

  /** Takes the next slot; call the returned function once with the reply line (or null for none). */
  reserve(): ReplySlot {
    const slot = { line: null as string | null, filled: false };
    this.#slots.push(slot);
    return (line) => {
      if (slot.filled) return;
      slot.line = line;
      slot.filled = true;
      this.#flush();
    };
  }

  #flush(): void {
    while (this.#slots.length > 0 && this.#slots[0]!.filled) {
      const { line } = this.#slots.shift()!;
      if (line !== null) this.#send(line);
    }
  }
}
