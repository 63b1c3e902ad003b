// RFC 7766 2-octet length framing: reassembles DNS messages from arbitrary TCP chunks.

export class Framer {
  private buf: Uint8Array = new Uint8Array(0);
  private len = 0;

  /** Appends a chunk and calls onMessage for every complete message. Returns false on a zero-length
   * frame (invalid: the connection should be closed). */
  push(chunk: Uint8Array, onMessage: (msg: Uint8Array) => void): boolean {
    let data = chunk;
    let off = 0;
    if (this.len > 0) {
      this.append(chunk);
      data = this.buf;
      off = 0;
      const end = this.len;
      while (end - off >= 2) {
        const n = (data[off] << 8) | data[off + 1];
        if (n === 0) return false;
        if (end - off - 2 < n) break;
        onMessage(data.subarray(off + 2, off + 2 + n));
        off += 2 + n;
      }
      this.buf.copyWithin(0, off, end);
      this.len = end - off;
      return true;
    }
    while (data.length - off >= 2) {
      const n = (data[off] << 8) | data[off + 1];
      if (n === 0) return false;
      if (data.length - off - 2 < n) break;
      onMessage(data.subarray(off + 2, off + 2 + n));
      off += 2 + n;
    }
    if (off < data.length) this.append(data.subarray(off));
    return true;
  }

  /** Bytes of an incomplete message held. */
  get buffered(): number { return this.len; }

  private append(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, this.len + chunk.length, 512));
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
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
  bytes = 0;
  write(conn: { write(d: Uint8Array): number }, data: Uint8Array): void {
    if (this.queue.length === 0) {
      const n = conn.write(data);
      if (n >= data.length) return;
      data = data.slice(n < 0 ? 0 : n);
    } else data = data.slice();
    this.queue.push(data);
    this.bytes += data.length;
  }
  flush(conn: { write(d: Uint8Array): number }): void {
    while (this.queue.length) {
      const head = this.queue[0];
      const n = conn.write(head);
      if (n >= head.length) { this.queue.shift(); this.bytes -= head.length; continue; }
      if (n > 0) { this.queue[0] = head.subarray(n); this.bytes -= n; }
      return;
    }
  }
}
