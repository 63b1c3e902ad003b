// Shares the event loop between TCP connections of every listener. A turn of the loop handles at most
// `queriesPerTurn` TCP queries and writes about `bytesPerTurn` of TCP answers in all; a connection with
// more pipelined queries than it may handle now waits in a round-robin queue and goes on in a later
// turn (setImmediate: the loop polls its sockets, UDP included, between turns). So clients pipelining
// large answers cannot keep everyone else waiting. Bytes count because they are the cost: the kernel
// copies every answer into the socket (64 KB answers: ~50 µs each here), building one is cheap.

export class TcpTurns {
  private queries = 0; // handled in this turn
  private bytes = 0; // of answers written in this turn
  private queue: (() => void)[] = [];
  private scheduled = false;

  constructor(readonly queriesPerTurn = 128, readonly bytesPerTurn = 512 * 1024) {}

  /** Takes one query's share of this turn; false when the turn is used up (try again later()). */
  take(): boolean {
    if (this.queries >= this.queriesPerTurn || this.bytes >= this.bytesPerTurn) return false;
    this.queries++;
    this.schedule();
    return true;
  }

  /** Answer bytes this turn may still write. */
  get room(): number { return this.bytesPerTurn - this.bytes; }

  /** Counts answer bytes written in this turn. */
  spend(bytes: number): void {
    this.bytes += bytes;
    this.schedule();
  }

  /** Runs `work` in a later turn, after the work queued before it. */
  later(work: () => void): void {
    this.queue.push(work);
    this.schedule();
  }

  get waiting(): number { return this.queue.length; }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.turn());
  }

  private turn(): void {
    this.scheduled = false;
    this.queries = this.bytes = 0;
    // only what was queued before this turn began: work queued now runs in the next one
    for (let n = this.queue.length; n > 0 && this.queries < this.queriesPerTurn && this.bytes < this.bytesPerTurn; n--) this.queue.shift()!();
    if (this.queue.length > 0) this.schedule();
  }
}
