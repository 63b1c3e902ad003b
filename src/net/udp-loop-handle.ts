// The owner's side of a UDP loop: starts the Worker, commands it through the eventfd and the shared
// command word, drains the hand-off ring (the miss path) when the loop wakes it and sends the answers
// later.
import type { LibcNet } from "./libc-net";
import { lastError } from "./libc-net";
import type { NetLayout } from "./layout";
import type { SlotRegion } from "./slots";
import { checkSlotRegion } from "./slots";
import type { HandedOff, LoopEnd } from "./udp-loop";
import type { LoopInit } from "./loop-init";
import {
  COMMAND_DRAIN_AND_CLOSE, COMMAND_DRAIN_AND_STOP, COMMAND_STOP, CTRL_COMMAND, CTRL_STATE, CTRL_WORDS, STATE_CLOSED, STATE_FAILED,
  STAT_COUNT, readStats, type LoopStats,
} from "./loop-control";
import { ECONNREFUSED, EFD_CLOEXEC, EFD_NONBLOCK, MSG_DONTWAIT, MSG_NOSIGNAL } from "./constants";
import { HandOffRingReader, RING_MAX_RECORDS, createHandOffRing, type RingVisitor } from "./handoff-ring";

export interface UdpLoopOptions {
  /** the loop's sockets (created or adopted); the loop owns them from now on */
  readonly fds: readonly number[];
  /** per fd: other loops read it too, so each datagram wakes one of them (EPOLLEXCLUSIVE) */
  readonly exclusive?: readonly boolean[];
  readonly slots: SlotRegion;
  /** module URL (e.g. new URL("./h.ts", import.meta.url).href) exporting the handler factory */
  readonly handler: { readonly module: string; readonly export?: string; readonly options?: unknown };
  readonly batchesPerWake?: number;
  readonly drainBatches?: number;
  /** the Worker's entry (default: loop-worker.ts, which imports handler.module); a compiled binary
   * passes its own entry, listed in the build, with the handler imported statically */
  readonly workerUrl?: string;
  /** how long start-up (Worker, dlopen, handler factory) may take */
  readonly startTimeoutMs?: number;
}

export interface LoopReport { readonly end: LoopEnd; readonly stats: LoopStats }

export class UdpLoopHandle {
  /** datagrams the handler handed off, oldest first; answer with sendTo (or drop them) */
  onHandOff: ((d: HandedOff) => void) | null = null;
  private readonly ring: HandOffRingReader;
  private readonly one = new Uint8Array(8);
  private finished = false;
  readonly done: Promise<LoopReport>;
  private resolveDone!: (r: LoopReport) => void;
  private rejectDone!: (e: Error) => void;

  private constructor(private readonly lib: LibcNet, private readonly worker: Worker, readonly fds: readonly number[],
    private readonly controlFd: number, private readonly ctrl: Int32Array, private readonly statWords: Float64Array, ring: SharedArrayBuffer) {
    this.ring = new HandOffRingReader(ring);
    new DataView(this.one.buffer).setBigUint64(0, 1n, true);
    this.done = new Promise((resolve, reject) => { this.resolveDone = resolve; this.rejectDone = reject; });
    this.done.catch(() => {}); // a failure is also reported to whoever awaits ready/stop
  }

  /** Starts a loop Worker on the fds; resolves once it serves. */
  static async start(lib: LibcNet, layout: NetLayout, options: UdpLoopOptions): Promise<UdpLoopHandle> {
    checkSlotRegion(options.slots);
    if (options.fds.length === 0) throw new Error("a loop needs at least one socket");
    const controlFd = lib.eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (controlFd < 0) throw new Error(`eventfd: ${lastError(lib)}`);
    const ctrl = new Int32Array(new SharedArrayBuffer(4 * CTRL_WORDS));
    const stats = new Float64Array(new SharedArrayBuffer(8 * STAT_COUNT));
    const ring = createHandOffRing();
    const worker = new Worker(options.workerUrl ?? new URL("./loop-worker.ts", import.meta.url).href, { type: "module" });
    const handle = new UdpLoopHandle(lib, worker, options.fds, controlFd, ctrl, stats, ring);
    const ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error("the UDP loop did not start in time")), options.startTimeoutMs ?? 10_000);
      worker.onmessage = (ev: MessageEvent) => {
        const m = ev.data;
        if (m.type === "ready") { clearTimeout(timer); resolve(); }
        else if (m.type === "wake") handle.drainRing();
        else if (m.type === "done") { handle.drainRing(true); handle.finish({ end: m.end, stats: handle.stats() }); }
        else if (m.type === "failed") { clearTimeout(timer); const e = new Error(`UDP loop failed: ${m.message}`); reject(e); handle.fail(e); }
      };
      worker.onerror = (ev: ErrorEvent) => { clearTimeout(timer); const e = new Error(`UDP loop Worker: ${ev.message}`); reject(e); handle.fail(e); };
    });
    const init: LoopInit = {
      arch: layout.arch, fds: [...options.fds], exclusive: options.exclusive ? [...options.exclusive] : undefined, controlFd, slots: options.slots, ctrl, stats, ring,
      batchesPerWake: options.batchesPerWake, drainBatches: options.drainBatches,
      handler: { module: options.handler.module, export: options.handler.export ?? "createBatchHandler", options: options.handler.options },
    };
    worker.postMessage(init);
    try { await ready; } catch (e) { handle.fail(e as Error); throw e; }
    return handle;
  }

  stats(): LoopStats { return readStats(this.statWords); }

  /** Records in the hand-off ring not yet served. */
  get handOffsWaiting(): number { return this.ring.waiting; }

  private readonly serveRecord: RingVisitor = (socket, kind, truncated, address, data) => {
    this.onHandOff?.({ fd: this.fds[socket], socket, address, data, truncated, kind });
  };

  private readonly drainLater = (): void => this.drainRing();

  // Serves what the ring holds, at most RING_MAX_RECORDS per event-loop turn (then it yields and comes
  // back), until it is empty and the loop knows to wake this thread again. `all`: the loop has left;
  // everything is served now.
  private drainRing(all = false): void {
    let served = 0;
    for (;;) {
      try {
        served += this.ring.drain(this.serveRecord, all ? Infinity : RING_MAX_RECORDS - served);
      } catch {
        served++; // a throwing onHandOff loses only its own datagram (counted as served)
        continue;
      }
      if (all) { if (this.ring.waiting === 0) return; continue; }
      if (served >= RING_MAX_RECORDS) { setTimeout(this.drainLater, 0); return; }
      if (!this.ring.idleUnlessMore()) return;
    }
  }

  /** Whether the loop closed its sockets (their fd numbers may belong to something else now). */
  get socketsClosed(): boolean { return Atomics.load(this.ctrl, CTRL_STATE) === STATE_CLOSED; }

  /** Leaves the loop; the sockets stay open and are the caller's again. */
  stop(timeoutMs = 5000): Promise<LoopReport> { return this.command(COMMAND_STOP, timeoutMs); }

  /** Answers what the sockets hold, closes them on the loop thread, leaves. For a hand-over: steer new
   * datagrams elsewhere first, answer pending hand-offs, then call this. */
  drainAndClose(timeoutMs = 5000): Promise<LoopReport> { return this.command(COMMAND_DRAIN_AND_CLOSE, timeoutMs); }

  /** Answers what the sockets hold and leaves; the sockets stay open (a takeover: the newer instance
   * receives the new datagrams, this one still sends the answers of what it has in flight). */
  drainAndStop(timeoutMs = 5000): Promise<LoopReport> { return this.command(COMMAND_DRAIN_AND_STOP, timeoutMs); }

  /** Sends a later answer to a binary source address from the loop's socket `socket` (any thread may
   * send on an fd). False when it could not be sent or the loop's sockets are closed. Do not call it
   * while drainAndClose runs: the loop closes the fds on its thread, and a closed fd number may be
   * reused (answer pending hand-offs first, then drain). */
  sendTo(socket: number, address: Uint8Array, data: Uint8Array): boolean {
    if (Atomics.load(this.ctrl, CTRL_STATE) === STATE_CLOSED || !(socket >= 0 && socket < this.fds.length)) return false;
    const fd = this.fds[socket];
    for (let attempt = 0; attempt < 2; attempt++) {
      if (this.lib.sendto(fd, data, data.length, MSG_DONTWAIT | MSG_NOSIGNAL, address, address.length) === data.length) return true;
      if (this.lib.errno() !== ECONNREFUSED) return false; // one retry: ECONNREFUSED was an earlier ICMP error
    }
    return false;
  }

  private command(cmd: number, timeoutMs: number): Promise<LoopReport> {
    if (!this.finished) {
      Atomics.store(this.ctrl, CTRL_COMMAND, cmd);
      this.lib.write(this.controlFd, this.one, 8); // wakes the loop out of epoll_wait
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`the UDP loop did not stop within ${timeoutMs} ms`)), timeoutMs); });
    return Promise.race([this.done, timeout]).finally(() => clearTimeout(timer));
  }

  private finish(report: LoopReport): void {
    if (this.finished) return;
    this.finished = true;
    this.lib.close(this.controlFd);
    this.worker.terminate();
    this.resolveDone(report);
  }

  private fail(e: Error): void {
    if (this.finished) return;
    this.finished = true;
    Atomics.store(this.ctrl, CTRL_STATE, STATE_FAILED);
    this.lib.close(this.controlFd);
    this.worker.terminate();
    this.rejectDone(e);
  }
}
