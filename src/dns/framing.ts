// RFC 7766 2-octet length framing: reassembles DNS messages from arbitrary TCP chunks. The reader pulls
// one message at a time (next()), so it can stop between pipelined messages and go on later.

/** next() returns this for a zero-length frame: invalid, the connection should be closed. */
export const INVALID_FRAME: Uint8Array = new Uint8Array(0);

// The largest frame: a 2-octet prefix and 65,535 octets. A partial message never holds more.
const MAX_FRAME = 2 + 0xffff;
const MIN_BUFFER = 512;
// An emptied buffer larger than this is let go: one large message must not pin its buffer for the life
// of an idle connection.
const KEEP_BUFFER = 4096;
const EMPTY = new Uint8Array(0);

// Whole-frame buffers of closed connections, kept for the next connection that needs one: a flood of
// connections each holding a large partial message (shed as fast as they come) then reuses memory
// the process already has instead of faulting in fresh pages for every one (~0.25 ms per 64 KB
// here). Bounded, and let go when no connection took one for a while (releaseSpareFrames()).
const SPARE_MAX = 64; // 4 MiB
const spare: Uint8Array[] = [];
let spareTaken = false;

export const spareFrameCount = (): number => spare.length;

/** Lets the spare frame buffers go unless one was taken since the last call (the TCP sweep calls it). */
export function releaseSpareFrames(): void {
  if (!spareTaken) spare.length = 0;
  spareTaken = false;
}

export class Framer {
  private buf: Uint8Array = EMPTY;
  private off = 0; // first octet not yet delivered
  private end = 0; // end of the octets received

  /** Appends a chunk (copied: the caller may reuse it). */
  push(chunk: Uint8Array): void {
    const have = this.end - this.off;
    const need = have + chunk.length;
    if (need > this.buf.length) {
      // grow by doubling up to one whole frame (a partial message holds at most MAX_FRAME), beyond that
      // (several pipelined messages waiting) exactly what is needed
      let size = Math.max(need, MIN_BUFFER, Math.min(this.buf.length * 2, MAX_FRAME));
      if (size > MAX_FRAME >> 1 && size < MAX_FRAME) size = MAX_FRAME; // past half a frame: a whole one
      const next = size === MAX_FRAME && spare.length > 0 ? (spareTaken = true, spare.pop()!) : new Uint8Array(size);
      next.set(this.buf.subarray(this.off, this.end));
      this.buf = next;
      this.off = 0;
      this.end = have;
    } else if (this.end + chunk.length > this.buf.length) {
      this.buf.copyWithin(0, this.off, this.end);
      this.off = 0;
      this.end = have;
    }
    this.buf.set(chunk, this.end);
    this.end += chunk.length;
  }

  /** Whether next() has something to return (a complete message or an invalid frame). */
  get ready(): boolean {
    const have = this.end - this.off;
    if (have < 2) return false;
    const n = (this.buf[this.off] << 8) | this.buf[this.off + 1];
    return n === 0 || have - 2 >= n;
  }

  /** The next complete message, a view valid until the next push(); null when none is complete;
   * INVALID_FRAME for a zero-length frame. */
  next(): Uint8Array | null {
    if (!this.ready) return null;
    const n = (this.buf[this.off] << 8) | this.buf[this.off + 1];
    if (n === 0) return INVALID_FRAME;
    const msg = this.buf.subarray(this.off + 2, this.off + 2 + n);
    this.off += 2 + n;
    if (this.off === this.end) {
      this.off = this.end = 0;
      if (this.buf.length > KEEP_BUFFER) this.buf = EMPTY; // msg keeps its own view alive
    }
    return msg;
  }

  /** Appends a chunk and calls onMessage for every complete message (no flow control). Returns false
   * on a zero-length frame. */
  feed(chunk: Uint8Array, onMessage: (msg: Uint8Array) => void): boolean {
    this.push(chunk);
    for (let m = this.next(); m !== null; m = this.next()) {
      if (m === INVALID_FRAME) return false;
      onMessage(m);
    }
    return true;
  }

  /** Octets received and not delivered yet (an incomplete message, or messages not pulled yet). */
  get buffered(): number { return this.end - this.off; }

  /** Octets of memory held. */
  get held(): number { return this.buf.length; }

  /** Lets the buffer go (the connection closed: nothing reads its messages any more). */
  clear(): void {
    if (this.buf.length === MAX_FRAME && spare.length < SPARE_MAX) spare.push(this.buf);
    this.buf = EMPTY;
    this.off = this.end = 0;
  }
}

export function frame(msg: Uint8Array): Uint8Array {
  const out = new Uint8Array(msg.length + 2);
  out[0] = msg.length >> 8;
  out[1] = msg.length & 0xff;
  out.set(msg, 2);
  return out;
}

/** Writes what the socket takes now and queues the rest; the caller flushes the queue on drain. */
export class WriteQueue {
  private queue: Uint8Array[] = [];
  /** Octets queued. */
  bytes = 0;
  /** The socket took less than it was offered: nothing more goes out before its drain. */
  stalled = false;

  /** Writes data now when nothing is queued before it; queues a copy of what the socket did not take
   * (callers pass views they reuse). */
  write(conn: { write(d: Uint8Array): number }, data: Uint8Array): void {
    if (this.queue.length === 0 && !this.stalled) {
      const n = conn.write(data);
      if (n >= data.length) return;
      this.stalled = true;
      data = data.slice(n < 0 ? 0 : n);
    } else data = data.slice();
    this.queue.push(data);
    this.bytes += data.length;
  }

  /** Queues a copy of data, to be written by a later flush(). */
  hold(data: Uint8Array): void {
    this.queue.push(data.slice());
    this.bytes += data.length;
  }

  /** Writes queued octets until the socket takes no more (call again on drain) or about maxBytes have
   * gone out; returns the octets written. */
  flush(conn: { write(d: Uint8Array): number }, maxBytes = Infinity): number {
    this.stalled = false;
    let sent = 0;
    while (this.queue.length && sent < maxBytes) {
      const head = this.queue[0];
      const n = conn.write(head);
      if (n >= head.length) { this.queue.shift(); this.bytes -= head.length; sent += head.length; continue; }
      if (n > 0) { this.queue[0] = head.subarray(n); this.bytes -= n; sent += n; }
      this.stalled = true;
      break;
    }
    return sent;
  }

  /** Drops what is queued (the connection closed). */
  clear(): void {
    this.queue = [];
    this.bytes = 0;
  }
}
