// The hand-off ring: datagrams a loop Worker passes to its owner thread (misses, refreshes) through one
// SharedArrayBuffer of fixed size, one writer (the loop) and one reader (the owner). Writing a record
// makes no JS object; the owner drains many records per wake-up.
//
// Layout: RING_HEADER_BYTES of Int32 control words, then RING_BYTES of records. HEAD and TAIL count
// bytes written and read (u32, wrapping; RING_BYTES is a power of two, so position & mask is the
// offset). A record never wraps: when it does not fit before the end, a pad record fills the rest and
// it starts at offset 0. Record (16-aligned), little-endian u32s:
//   +0 record bytes (header, address field and data, rounded up to 16)
//   +4 data length, or PAD for a pad record
//   +8 kind (bits 0-15), source address length (bits 16-23), bit 24: the datagram was truncated
//   +12 socket index
//   +16 source address (ADDRESS_FIELD bytes, binary sockaddr), +48 data
// The writer stores HEAD after a record's bytes (Atomics.store: the reader who loads HEAD sees them);
// the reader stores TAIL after it has copied a record out.
//
// Waking the owner costs one message per drain, not per record: the owner sets OWNER_IDLE when it
// found the ring empty; a writer that finds it set (after storing HEAD) clears it and sends one wake.
// Both sides use seq-cst atomics, so either the writer sees OWNER_IDLE or the owner sees the new HEAD.
// (Atomics.waitAsync would avoid the message, but on Deno 2 its promise is not resolved by the event
// loop when the Worker notifies: a pending wait never wakes.)

/** Record bytes; a power of two. Bounds the memory the miss path can hold: 256 KiB whatever arrives
 * (the postMessage hand-off it replaced held up to 1,024 copies of up to a 4 KiB slot each, 4 MiB);
 * 4,096 typical queries (up to 16 octets past the 48 of header and address: 64 a record), 2,340 of
 * 64 octets, 63 of 4 KiB. */
export const RING_BYTES = 1 << 18;
import { MAX_PENDING_HANDOFFS } from "./loop-control";

/** At most this many records wait for the owner (the rest are dropped and counted). */
export const RING_MAX_RECORDS = MAX_PENDING_HANDOFFS;

const HEAD = 0, TAIL = 1, RECORDS = 2, OWNER_IDLE = 3;
const RING_HEADER_WORDS = 16; // 64 bytes: the control words on their own cache line
export const RING_HEADER_BYTES = 4 * RING_HEADER_WORDS;
const RECORD_HEADER = 16;
export const ADDRESS_FIELD = 32;
const DATA_AT = RECORD_HEADER + ADDRESS_FIELD;
const PAD = 0xffffffff;
const TRUNCATED_BIT = 1 << 24;

/** The largest datagram a record can carry (the rest of a larger one is cut off, as the slot does). */
export const RING_MAX_DATA = 65535;

export function createHandOffRing(): SharedArrayBuffer {
  const sab = new SharedArrayBuffer(RING_HEADER_BYTES + RING_BYTES);
  Atomics.store(new Int32Array(sab, 0, RING_HEADER_WORDS), OWNER_IDLE, 1);
  return sab;
}

function check(sab: SharedArrayBuffer): void {
  if (!(sab instanceof SharedArrayBuffer) || sab.byteLength !== RING_HEADER_BYTES + RING_BYTES) throw new Error("hand-off ring: not a ring buffer");
}

const recordBytes = (dataLen: number): number => (DATA_AT + dataLen + 15) & ~15;

/** The loop's side. Every method is allocation-free. */
export class HandOffRingWriter {
  private readonly ctrl: Int32Array;
  private readonly words: Uint32Array;
  private readonly bytes: Uint8Array;
  private head: number;

  constructor(sab: SharedArrayBuffer) {
    check(sab);
    this.ctrl = new Int32Array(sab, 0, RING_HEADER_WORDS);
    this.words = new Uint32Array(sab, RING_HEADER_BYTES);
    this.bytes = new Uint8Array(sab, RING_HEADER_BYTES);
    this.head = Atomics.load(this.ctrl, HEAD) >>> 0;
  }

  /** Appends a record with `dataLen` bytes of `src` from `dataAt` and `addrLen` (≤ ADDRESS_FIELD)
   * bytes of `addrSrc` from `addrAt`. False when the ring is full (by records or by bytes): the caller
   * counts the drop. */
  write(src: Uint8Array, dataAt: number, dataLen: number, addrSrc: Uint8Array, addrAt: number, addrLen: number,
    kind: number, truncated: boolean, socket: number): boolean {
    if (dataLen > RING_MAX_DATA) dataLen = RING_MAX_DATA;
    if (addrLen > ADDRESS_FIELD) addrLen = ADDRESS_FIELD;
    if (Atomics.load(this.ctrl, RECORDS) >= RING_MAX_RECORDS) return false;
    const rec = recordBytes(dataLen);
    const tail = Atomics.load(this.ctrl, TAIL) >>> 0;
    const free = RING_BYTES - ((this.head - tail) >>> 0);
    const at0 = this.head & (RING_BYTES - 1);
    const toEnd = RING_BYTES - at0;
    if ((rec <= toEnd ? rec : toEnd + rec) > free) return false;
    let at = at0;
    if (rec > toEnd) {
      const w = at0 >> 2;
      this.words[w] = toEnd; this.words[w + 1] = PAD;
      at = 0;
    }
    const w = at >> 2, b = this.bytes;
    this.words[w] = rec;
    this.words[w + 1] = dataLen;
    this.words[w + 2] = (kind & 0xffff) | (addrLen << 16) | (truncated ? TRUNCATED_BIT : 0);
    this.words[w + 3] = socket;
    for (let k = 0, o = at + RECORD_HEADER; k < addrLen; k++) b[o + k] = addrSrc[addrAt + k];
    for (let k = 0, o = at + DATA_AT; k < dataLen; k++) b[o + k] = src[dataAt + k];
    this.head = (this.head + (rec > toEnd ? toEnd : 0) + rec) >>> 0;
    Atomics.add(this.ctrl, RECORDS, 1);
    Atomics.store(this.ctrl, HEAD, this.head | 0);
    return true;
  }

  /** After a batch's writes: true when the owner is idle and must be sent one wake message (this call
   * cleared its idle flag, so no other writer call sends one until it has drained). */
  claimWake(): boolean {
    return Atomics.load(this.ctrl, OWNER_IDLE) === 1 && Atomics.compareExchange(this.ctrl, OWNER_IDLE, 1, 0) === 1;
  }
}

/** One record as the owner gets it: its own copies of the address and the data. */
export type RingVisitor = (socket: number, kind: number, truncated: boolean, address: Uint8Array, data: Uint8Array) => void;

/** The owner's side. */
export class HandOffRingReader {
  private readonly ctrl: Int32Array;
  private readonly words: Uint32Array;
  private readonly bytes: Uint8Array;
  private tail: number;

  constructor(sab: SharedArrayBuffer) {
    check(sab);
    this.ctrl = new Int32Array(sab, 0, RING_HEADER_WORDS);
    this.words = new Uint32Array(sab, RING_HEADER_BYTES);
    this.bytes = new Uint8Array(sab, RING_HEADER_BYTES);
    this.tail = Atomics.load(this.ctrl, TAIL) >>> 0;
  }

  /** Records written and not yet drained. */
  get waiting(): number { return Atomics.load(this.ctrl, RECORDS); }

  /** Hands up to `max` records, oldest first, to `visit`; returns how many. A record stops counting
   * against the bound once `visit` returns (or throws). */
  drain(visit: RingVisitor, max = Infinity): number {
    let n = 0;
    while (n < max) {
      const head = Atomics.load(this.ctrl, HEAD) >>> 0;
      if (head === this.tail) break;
      const at = this.tail & (RING_BYTES - 1), w = at >> 2;
      const rec = this.words[w];
      if (this.words[w + 1] === PAD) { this.advance(rec); continue; }
      const dataLen = this.words[w + 1], meta = this.words[w + 2];
      const addrLen = (meta >>> 16) & 0xff;
      const address = this.bytes.slice(at + RECORD_HEADER, at + RECORD_HEADER + addrLen);
      const data = this.bytes.slice(at + DATA_AT, at + DATA_AT + dataLen);
      n++;
      try { visit(this.words[w + 3], meta & 0xffff, (meta & TRUNCATED_BIT) !== 0, address, data); } finally {
        this.advance(rec);
        Atomics.sub(this.ctrl, RECORDS, 1);
      }
    }
    return n;
  }

  private advance(bytes: number): void {
    this.tail = (this.tail + bytes) >>> 0;
    Atomics.store(this.ctrl, TAIL, this.tail | 0);
  }

  /** Marks the owner idle, then looks again: true when records arrived in between and this call took
   * the flag back (keep draining); false when it is idle now (the next write sends a wake) or a
   * writer already claimed the wake (its message is on the way). */
  idleUnlessMore(): boolean {
    Atomics.store(this.ctrl, OWNER_IDLE, 1);
    if ((Atomics.load(this.ctrl, HEAD) >>> 0) === this.tail) return false;
    return Atomics.compareExchange(this.ctrl, OWNER_IDLE, 1, 0) === 1;
  }
}
