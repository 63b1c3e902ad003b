// The data-path loop, run on a dedicated thread: epoll over the loop's UDP sockets and a control
// eventfd; a readable socket is read with recvmmsg straight into the slots, the handler answers in
// place, one sendmmsg sends the answers; what the handler hands off is copied into the hand-off ring
// (one wake message to the owner per batch at most). Nothing here allocates per datagram.
import type { LibcNet } from "./libc-net";
import { lastError } from "./libc-net";
import type { NetLayout } from "./layout";
import { MessageVectors, epollEvent } from "./message-vectors";
import { EAGAIN, ECONNREFUSED, EINTR, EPOLLEXCLUSIVE, EPOLLIN, EPOLL_CLOEXEC, EPOLL_CTL_ADD, MSG_DONTWAIT, MSG_TRUNC, SOCKADDR_MAX } from "./constants";
import { META_FLAGS, META_IN_LEN, META_OUT_LEN, META_SOCKET, SLOT_TRUNCATED, checkSlotRegion, type SlotRegion } from "./slots";
import {
  COMMAND_DRAIN_AND_CLOSE, COMMAND_RUN, COMMAND_STOP, CTRL_COMMAND, CTRL_STATE, STAT, STATE_CLOSED, STATE_RUNNING, STATE_STOPPED,
} from "./loop-control";
import { HandOffRingWriter } from "./handoff-ring";
import type { BatchHandler } from "./batch-handler";

export interface UdpLoopConfig {
  readonly fds: readonly number[];
  /** per fd: watched with EPOLLEXCLUSIVE (other loops read the same socket) */
  readonly exclusive?: readonly boolean[];
  readonly controlFd: number;
  readonly slots: SlotRegion;
  readonly ctrl: Int32Array;
  readonly stats: Float64Array;
  /** the hand-off ring (createHandOffRing) the owner drains */
  readonly ring: SharedArrayBuffer;
  /** recvmmsg batches per socket per wake-up before the other sockets get a turn */
  readonly batchesPerWake?: number;
  /** batches read at most while draining (a socket that still receives would never run dry) */
  readonly drainBatches?: number;
}

/** A handed-off datagram as the owner gets it (its own copies). `kind`: what the owner is asked to do
 * with it, the handler's own code (0 when it gave none). */
export interface HandedOff { fd: number; socket: number; address: Uint8Array; data: Uint8Array; truncated: boolean; kind: number }

export type LoopEnd = "stopped" | "closed";

export class UdpLoop {
  private readonly vectors: MessageVectors;
  private readonly words: Uint32Array;
  private readonly metaWord: number;
  private readonly counterBuf = new Uint8Array(8); // eventfd reads land here: kept for the loop's life
  private readonly count: number;
  private readonly slotSize: number;
  private readonly bytes: Uint8Array;
  private epfd = -1;
  // counters, published to cfg.stats after each batch
  private received = 0; private answered = 0; private batches = 0; private truncated = 0; private handedOff = 0;
  private sendErrors = 0; private receiveErrors = 0; private handlerErrors = 0; private drained = 0; private wakeups = 0;
  private handOffsDropped = 0;
  private readonly ring: HandOffRingWriter;
  /** records written since the owner was last woken */
  private unannounced = false;

  /** `wake`: tells the owner to drain the ring (one message); called at most once per batch. */
  constructor(private readonly lib: LibcNet, layout: NetLayout, private readonly cfg: UdpLoopConfig,
    private readonly wake: () => void) {
    this.ring = new HandOffRingWriter(cfg.ring);
    checkSlotRegion(cfg.slots);
    const s = cfg.slots;
    this.count = s.count;
    this.slotSize = s.slotSize;
    this.bytes = new Uint8Array(s.memory);
    this.words = new Uint32Array(s.memory, 0, s.memory.byteLength >> 2);
    this.metaWord = s.metaOffset >> 2;
    const base = lib.address(this.bytes);
    this.vectors = new MessageVectors(lib, layout, s.count, (i) => base + s.dataOffset + i * s.slotSize, s.slotSize, cfg.fds.length + 1);
    this.epfd = lib.epollCreate1(EPOLL_CLOEXEC);
    if (this.epfd < 0) throw new Error(`epoll_create1: ${lastError(lib)}`);
    // tags: socket index, or fds.length for the control eventfd
    cfg.fds.forEach((fd, i) => this.watch(fd, i, layout, cfg.exclusive?.[i] === true));
    this.watch(cfg.controlFd, cfg.fds.length, layout, false);
  }

  private watch(fd: number, tag: number, layout: NetLayout, exclusive: boolean): void {
    if (this.lib.epollCtl(this.epfd, EPOLL_CTL_ADD, fd, epollEvent(layout, exclusive ? EPOLLIN | EPOLLEXCLUSIVE : EPOLLIN, tag)) !== 0) {
      const why = lastError(this.lib);
      this.lib.close(this.epfd);
      throw new Error(`epoll_ctl add fd ${fd}: ${why}`);
    }
  }

  /** Releases the epoll fd of a loop that will never run (start-up failed after construction). */
  dispose(): void {
    if (this.epfd >= 0) this.lib.close(this.epfd);
    this.epfd = -1;
  }

  /** For the handler's context: slot i's bytes (from `offset` on) and source to the owner, copied into
   * the ring (the slot is reused); dropped and counted when the ring is full. */
  handOff(i: number, kind = 0, offset = 0): void {
    if (!(i >= 0 && i < this.count) || !(offset >= 0 && offset < this.slotSize)) return;
    const m = this.metaWord + 4 * i;
    const start = this.cfg.slots.dataOffset + i * this.slotSize + offset;
    const end = Math.min(start + this.words[m + (META_IN_LEN >> 2)], this.cfg.slots.dataOffset + (i + 1) * this.slotSize);
    const v = this.vectors;
    const written = this.ring.write(this.bytes, start, end - start, v.bytes, v.sourceAt(i), Math.min(v.sourceLength(i), SOCKADDR_MAX),
      kind, (this.words[m + (META_FLAGS >> 2)] & SLOT_TRUNCATED) !== 0, this.words[m + (META_SOCKET >> 2)]);
    if (!written) { this.handOffsDropped++; return; }
    this.handedOff++;
    this.unannounced = true;
  }

  /** Serves until the owner's command says otherwise. */
  run(handler: BatchHandler): LoopEnd {
    const { lib, cfg, vectors } = this;
    const ctrlTag = cfg.fds.length;
    const perWake = cfg.batchesPerWake ?? 4;
    const maxEvents = cfg.fds.length + 1;
    Atomics.store(cfg.ctrl, CTRL_STATE, STATE_RUNNING);
    Atomics.notify(cfg.ctrl, CTRL_STATE);
    while (Atomics.load(cfg.ctrl, CTRL_COMMAND) === COMMAND_RUN) {
      const k = lib.epollWait(this.epfd, vectors.eventsPtr, maxEvents, -1);
      this.wakeups++;
      if (k < 0) {
        if (lib.errno() === EINTR) continue;
        throw new Error(`epoll_wait: ${lastError(lib)}`);
      }
      for (let j = 0; j < k; j++) {
        const tag = vectors.eventTag(j);
        if (tag === ctrlTag) lib.read(cfg.controlFd, this.counterBuf, 8); // resets the counter
        else if (tag < ctrlTag) this.serveSocket(tag, perWake, handler);
      }
      this.publish();
    }
    this.dispose();
    const command = Atomics.load(cfg.ctrl, CTRL_COMMAND);
    if (command === COMMAND_STOP) {
      this.publish();
      Atomics.store(cfg.ctrl, CTRL_STATE, STATE_STOPPED);
      return "stopped";
    }
    // drain: whatever the kernel still holds for our sockets is answered; for a close, they are then
    // closed here, on this thread, right after the last empty read (a hop to another thread first
    // lost queries). Without the close (a takeover: new datagrams go to the new instance's socket
    // already) the sockets stay open for the answers of queries still with the upstreams.
    const before = this.received;
    for (let s = 0; s < cfg.fds.length; s++) this.serveSocket(s, cfg.drainBatches ?? 1024, handler);
    this.drained += this.received - before;
    if (command !== COMMAND_DRAIN_AND_CLOSE) {
      this.publish();
      Atomics.store(cfg.ctrl, CTRL_STATE, STATE_STOPPED);
      return "stopped";
    }
    for (const fd of cfg.fds) lib.close(fd);
    this.publish();
    Atomics.store(cfg.ctrl, CTRL_STATE, STATE_CLOSED);
    return "closed";
  }

  private serveSocket(s: number, maxBatches: number, handler: BatchHandler): void {
    const fd = this.cfg.fds[s];
    for (let b = 0; b < maxBatches; b++) {
      const n = this.lib.recvmmsg(fd, this.vectors.recvPtr, this.count, MSG_DONTWAIT);
      if (n <= 0) {
        if (n < 0) {
          const e = this.lib.errno();
          if (e === EINTR) continue;
          if (e !== EAGAIN) this.receiveErrors++;
        }
        return;
      }
      this.answer(n, s, fd, handler);
      if (n < this.count) return; // short batch: the queue was empty a moment ago
    }
  }

  private answer(n: number, s: number, fd: number, handler: BatchHandler): void {
    const w = this.words, v = this.vectors;
    for (let i = 0; i < n; i++) {
      const m = this.metaWord + 4 * i;
      const trunc = (v.receivedFlags(i) & MSG_TRUNC) !== 0;
      w[m] = v.receivedLength(i);
      w[m + 1] = 0;
      w[m + 2] = trunc ? SLOT_TRUNCATED : 0;
      w[m + 3] = s;
      if (trunc) this.truncated++;
    }
    this.received += n;
    this.batches++;
    try {
      handler(n, s);
    } catch {
      this.handlerErrors++;
      for (let i = 0; i < n; i++) w[this.metaWord + 4 * i + (META_OUT_LEN >> 2)] = 0;
    }
    if (this.unannounced) {
      this.unannounced = false;
      if (this.ring.claimWake()) this.wake();
    }
    let k = 0;
    for (let i = 0; i < n; i++) {
      const out = w[this.metaWord + 4 * i + (META_OUT_LEN >> 2)];
      if (out > 0 && out <= this.slotSize) v.setSend(k++, i, out);
      v.resetSourceLength(i);
    }
    this.send(fd, k);
  }

  private send(fd: number, k: number): void {
    let off = 0, retried = false, failed = 0;
    while (off < k) {
      const r = this.lib.sendmmsg(fd, this.vectors.sendPtrs[off], k - off, MSG_DONTWAIT);
      if (r > 0) { off += r; retried = false; continue; }
      const e = this.lib.errno();
      if (e === EINTR) continue;
      // ECONNREFUSED reports an earlier ICMP error and consumes it: that datagram gets one retry
      if (e === ECONNREFUSED && !retried) { retried = true; continue; }
      off++; failed++; retried = false; // dropped, as UDP allows (full send buffer, unreachable)
    }
    this.answered += k - failed;
    this.sendErrors += failed;
  }

  private publish(): void {
    const st = this.cfg.stats;
    st[STAT.received] = this.received; st[STAT.answered] = this.answered; st[STAT.batches] = this.batches;
    st[STAT.truncated] = this.truncated; st[STAT.handedOff] = this.handedOff; st[STAT.sendErrors] = this.sendErrors;
    st[STAT.receiveErrors] = this.receiveErrors; st[STAT.handlerErrors] = this.handlerErrors;
    st[STAT.drained] = this.drained; st[STAT.wakeups] = this.wakeups; st[STAT.handOffsDropped] = this.handOffsDropped;
  }
}
