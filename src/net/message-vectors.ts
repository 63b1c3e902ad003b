// The structs the kernel reads and writes for one loop, in ONE ArrayBuffer that the loop keeps for
// its whole life (an address handed to libc is no GC root): recv and send mmsghdr arrays, their
// iovecs (pointing into the caller's slot memory), the source addresses (binary, never strings) and
// the epoll events.
import type { LibcNet, Ptr } from "./libc-net";
import { writePointer, type NetLayout } from "./layout";
import { SOCKADDR_MAX } from "./constants";

const NAME_STRIDE = 32; // SOCKADDR_MAX rounded up to 8

export class MessageVectors {
  readonly buffer: ArrayBuffer;
  readonly view: DataView;
  readonly bytes: Uint8Array;
  /** recv mmsghdr array, pass to recvmmsg */
  readonly recvPtr: Ptr;
  /** sendPtrs[k]: the send mmsghdr array from entry k on (precomputed: on Deno an offset allocates) */
  readonly sendPtrs: Ptr[];
  readonly eventsPtr: Ptr;
  readonly recvAt: number;
  readonly sendAt: number;
  readonly namesAt: number;
  readonly eventsAt: number;
  private readonly words: Uint32Array;
  // addresses as (lo, hi) u32 pairs: setSend runs per answer and must not divide
  private readonly nameWords: Uint32Array;
  private readonly sendIovWords: Uint32Array;
  private readonly sendIovAt: number;

  /** `slotAddress(i)` is the address of slot i's first byte, `slotSize` how many bytes it takes. */
  constructor(lib: LibcNet, readonly layout: NetLayout, readonly count: number, slotAddress: (i: number) => number,
    readonly slotSize: number, readonly maxEvents: number) {
    const m = layout.mmsghdr.size, iov = layout.iovec.size;
    this.recvAt = 0;
    this.sendAt = m * count;
    const recvIovAt = this.sendAt + m * count;
    this.sendIovAt = recvIovAt + iov * count;
    this.namesAt = this.sendIovAt + iov * count;
    this.eventsAt = this.namesAt + NAME_STRIDE * count;
    const total = this.eventsAt + layout.epollEvent.size * maxEvents;
    this.buffer = new ArrayBuffer(total);
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.buffer);
    this.words = new Uint32Array(this.buffer);
    this.nameWords = new Uint32Array(2 * count);
    this.sendIovWords = new Uint32Array(2 * count);
    const base = lib.address(this.bytes);
    const h = layout.msghdr;
    for (let i = 0; i < count; i++) {
      const name = base + this.namesAt + NAME_STRIDE * i, recvIov = base + recvIovAt + iov * i, sendIov = base + this.sendIovAt + iov * i;
      this.nameWords[2 * i] = name % 0x1_0000_0000; this.nameWords[2 * i + 1] = Math.floor(name / 0x1_0000_0000);
      this.sendIovWords[2 * i] = sendIov % 0x1_0000_0000; this.sendIovWords[2 * i + 1] = Math.floor(sendIov / 0x1_0000_0000);
      const r = this.recvAt + m * i;
      writePointer(this.view, r + h.name, name);
      this.view.setUint32(r + h.namelen, SOCKADDR_MAX, true);
      writePointer(this.view, r + h.iov, recvIov);
      writePointer(this.view, r + h.iovlen, 1);
      writePointer(this.view, recvIovAt + iov * i + layout.iovec.base, slotAddress(i));
      writePointer(this.view, recvIovAt + iov * i + layout.iovec.len, slotSize);
      writePointer(this.view, this.sendIovAt + iov * i + layout.iovec.base, slotAddress(i));
      writePointer(this.view, this.sendAt + m * i + h.iovlen, 1);
    }
    const basePtr = lib.ptr(this.bytes);
    this.recvPtr = lib.offset(basePtr, this.recvAt);
    this.sendPtrs = Array.from({ length: count }, (_, k) => lib.offset(basePtr, this.sendAt + m * k));
    this.eventsPtr = lib.offset(basePtr, this.eventsAt);
  }

  /** Received length of recv entry i (msg_len). */
  receivedLength(i: number): number { return this.view.getUint32(this.recvAt + this.layout.mmsghdr.size * i + this.layout.mmsghdr.len, true); }
  receivedFlags(i: number): number { return this.view.getInt32(this.recvAt + this.layout.mmsghdr.size * i + this.layout.msghdr.flags, true); }
  sourceLength(i: number): number { return this.view.getUint32(this.recvAt + this.layout.mmsghdr.size * i + this.layout.msghdr.namelen, true); }
  /** The source address of recv entry i (a view: copy what you keep). */
  source(i: number): Uint8Array { return this.bytes.subarray(this.namesAt + NAME_STRIDE * i, this.namesAt + NAME_STRIDE * i + Math.min(this.sourceLength(i), SOCKADDR_MAX)); }
  /** Where in `bytes` the source address of recv entry i starts (sourceLength(i) bytes, at most SOCKADDR_MAX). */
  sourceAt(i: number): number { return this.namesAt + NAME_STRIDE * i; }
  /** The kernel rewrote msg_namelen with the real length: restore the room before the next recvmmsg. */
  resetSourceLength(i: number): void { this.view.setUint32(this.recvAt + this.layout.mmsghdr.size * i + this.layout.msghdr.namelen, SOCKADDR_MAX, true); }

  /** Send entry k answers recv entry i with `length` bytes from slot i, back to i's source. */
  setSend(k: number, i: number, length: number): void {
    const w = this.words, h = this.layout.msghdr;
    const s = (this.sendAt + this.layout.mmsghdr.size * k) >> 2;
    w[s + (h.name >> 2)] = this.nameWords[2 * i]; w[s + (h.name >> 2) + 1] = this.nameWords[2 * i + 1];
    w[s + (h.namelen >> 2)] = this.sourceLength(i);
    w[s + (h.iov >> 2)] = this.sendIovWords[2 * i]; w[s + (h.iov >> 2) + 1] = this.sendIovWords[2 * i + 1];
    const len = (this.sendIovAt + this.layout.iovec.size * i + this.layout.iovec.len) >> 2;
    w[len] = length; // iov_len is a size_t: its high word stays 0
  }

  /** Epoll event j's events mask and the low 32 bits of its data. */
  eventMask(j: number): number { return this.view.getUint32(this.eventsAt + this.layout.epollEvent.size * j + this.layout.epollEvent.events, true); }
  eventTag(j: number): number { return this.view.getUint32(this.eventsAt + this.layout.epollEvent.size * j + this.layout.epollEvent.data, true); }
}

/** A struct epoll_event for epoll_ctl: events mask and a u32 tag in data. */
export function epollEvent(layout: NetLayout, events: number, tag: number): Uint8Array {
  const ev = new Uint8Array(layout.epollEvent.size);
  const v = new DataView(ev.buffer);
  v.setUint32(layout.epollEvent.events, events, true);
  v.setUint32(layout.epollEvent.data, tag, true);
  return ev;
}
