// RFC 1035 4.2.2 TCP framing for the test clients and fake servers: one place, so no test carries its
// own reassembly loop. (The product's own framing is src/dns/framing.ts.)

/** The message with its two-octet length prefix. */
export function frame(msg: Uint8Array): Buffer {
  const out = Buffer.alloc(2 + msg.length);
  out.writeUInt16BE(msg.length);
  out.set(msg, 2);
  return out;
}

/** Reassembles length-prefixed messages from a byte stream's chunks, in any split. */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Octets received and not yet part of a whole message. */
  get pending(): number { return this.buf.length; }

  /** Adds a chunk; returns the whole messages it completed (copies, safe to keep). */
  push(chunk: Uint8Array | string): Buffer[] {
    const c = typeof chunk === "string" ? Buffer.from(chunk, "latin1") : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.buf = this.buf.length ? Buffer.concat([this.buf, c]) : c;
    const out: Buffer[] = [];
    while (this.buf.length >= 2 && this.buf.length >= 2 + this.buf.readUInt16BE(0)) {
      const n = this.buf.readUInt16BE(0);
      out.push(Buffer.from(this.buf.subarray(2, 2 + n)));
      this.buf = this.buf.subarray(2 + n);
    }
    return out;
  }
}
