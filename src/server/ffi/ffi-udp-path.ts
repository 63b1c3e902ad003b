// The FFI data path's owner on the main thread: binds (or adopts) the UDP listener sockets, runs
// server.workers loop Workers over all of them, each on its own scratch set of the one shared core
// (a name fetched once is a hit for every loop), and serves what the loops hand off (misses,
// refreshes) through the ordinary request flow, answering with sendTo.
// A reload that changes the UDP listeners starts new loops over the new set beside the running ones
// (they read the sockets they share; nothing is lost), then stops the old ones; sockets that went away
// are closed only once the old loops have left them.
import type { Core } from "../../core";
import type { Logger } from "../../log";
import type { Endpoint } from "../../config/endpoint";
import type { LibcNet } from "../../net/libc-net";
import type { NetLayout } from "../../net/layout";
import { Batch } from "../../core";
import { UdpLoopHandle } from "../../net/udp-loop-handle";
import type { HandedOff } from "../../net/udp-loop";
import { adoptUdpSocket, createUdpSocket, udpAddressHeld, type OwnedUdpSocket } from "../../net/udp-socket";
import { formatSockaddr, decodeSockaddr } from "../../net/sockaddr";
import { listeningTcpSocketCount } from "../../net/reuseport-steer";
import { joinAndSteer, joinAndSteerTcp, releaseTakeover, releaseTcpTakeover, type Takeover, type TcpTakeover } from "../../net/takeover";
import type { QueryHandler } from "../handler";
import { DataPathStats } from "../stats";
import { FfiUdpSocket } from "./ffi-udp-socket";
import { HANDOFF_REFRESH, type DnsBatchOptions } from "./hand-off";

export interface FfiNetReady { lib: LibcNet; layout: NetLayout }

interface RunningLoop { handle: UdpLoopHandle; reserved: number; sockets: FfiUdpSocket[]; stats: DataPathStats }

// From source this module sits beside the Worker's entry. In the compiled binary every module is in
// one bundle at the root of Bun's embedded file system, and the entry (listed in build/build.ts) keeps
// its path below src/.
const LOOP_WORKER = import.meta.url.includes("$bunfs")
  ? new URL("./server/ffi/dns-loop-worker.ts", import.meta.url).href
  : new URL("./dns-loop-worker.ts", import.meta.url).href;

export class FfiUdpPath {
  private loops: RunningLoop[] = [];
  /** counters of loops that have left (a reload restarts the loop), kept for the totals */
  private readonly retired = new DataPathStats();

  /** listeners joined from a running instance (run --takeover), steered here until it has left */
  private readonly takeovers: Takeover[] = [];

  constructor(private readonly net: FfiNetReady, private readonly core: Core, private readonly handler: QueryHandler,
    private readonly log: Logger, public receiveBufferBytes: number, private readonly takeover = false, readonly workers = 1) {}

  private readonly tcpTakeovers: TcpTakeover[] = [];

  /** Whether bind() joined a listener another process held. */
  get tookOver(): boolean { return this.takeovers.length > 0 || this.tcpTakeovers.length > 0; }

  /** In a takeover: a TCP listening socket beside the running instance's, new connections steered
   * here (the fd for the runtime to serve); null when nobody listens there or this is no takeover. */
  tcpTakeover(ep: Endpoint): number | null {
    if (!this.takeover || ep.port === 0 || (listeningTcpSocketCount(ep) ?? 0) === 0) return null;
    const t = joinAndSteerTcp(this.net.lib, this.net.layout, ep);
    this.tcpTakeovers.push(t);
    return t.fd;
  }

  /** Once the instance taken over has left: datagrams and connections are hashed over this
   * instance's sockets again. */
  releaseTakeovers(): void {
    for (const t of this.takeovers.splice(0)) releaseTakeover(this.net.lib, t);
    for (const t of this.tcpTakeovers.splice(0)) releaseTcpTakeover(this.net.lib, t);
  }

  /** A listener socket for `ep`: the inherited fd when one is given (socket activation), else bound here
   * with SO_REUSEPORT (so a newer instance can join it on takeover). Throws with the reason. */
  bind(ep: Endpoint, set: number, inheritedFd?: number): FfiUdpSocket {
    const lib = this.net.lib;
    if (inheritedFd === undefined && ep.port !== 0 && udpAddressHeld(lib, ep)) {
      // SO_REUSEPORT would let this socket join one another process holds and split its traffic
      // silently: an address already bound is in use, as it would be without the option, unless
      // this instance was started to take over (then every new datagram is steered to it)
      if (!this.takeover) throw new Error("address already in use (another localdns, or another DNS server; run --takeover replaces a running localdns)");
      const t = joinAndSteer(lib, this.net.layout, ep, { receiveBuffer: this.receiveBufferBytes });
      this.takeovers.push(t);
      this.log.info("takeover: joined a listener another process holds; new datagrams come here", { listener: formatSockaddr(t.socket.local), steeredTo: t.steeredTo });
      // the other loops' sockets join behind it: steered past until the old instance has left
      return new FfiUdpSocket(lib, t.socket, set, t.socket.local.length === 28, this.members(ep, t.socket));
    }
    // a socket systemd holds is shared by every loop: one of ours would lose its queue at a restart
    if (inheritedFd !== undefined) {
      const owned = adoptUdpSocket(lib, inheritedFd, ep, { receiveBuffer: this.receiveBufferBytes });
      return new FfiUdpSocket(lib, owned, set, decodeSockaddr(owned.local)?.family === 6);
    }
    const owned = createUdpSocket(lib, ep, { reusePort: true, receiveBuffer: this.receiveBufferBytes });
    return new FfiUdpSocket(lib, owned, set, decodeSockaddr(owned.local)?.family === 6, this.members(ep, owned));
  }

  /** Sockets for loops 2..N on the address `first` got (its real port when 0 was asked for). */
  private members(ep: Endpoint, first: OwnedUdpSocket): OwnedUdpSocket[] {
    const out: OwnedUdpSocket[] = [];
    try {
      for (let k = 1; k < this.workers; k++) out.push(createUdpSocket(this.net.lib, { ...ep, port: first.port }, { reusePort: true, receiveBuffer: this.receiveBufferBytes }));
    } catch (e) {
      for (const m of out) this.net.lib.close(m.fd);
      this.net.lib.close(first.fd);
      throw e;
    }
    return out;
  }

  /** Starts a loop over exactly `sockets` beside the running one. commit() stops the old loop and then
   * closes `retire` (sockets no longer wanted); rollback() stops the new loop. */
  async prepare(sockets: FfiUdpSocket[], retire: FfiUdpSocket[]): Promise<{ commit(): void; rollback(): void }> {
    const old = this.loops;
    const running = old[0]?.sockets;
    const same = running !== undefined && running.length === sockets.length && running.every((s, i) => s === sockets[i]);
    if (same || sockets.length === 0 && old.length === 0) return { commit: () => {}, rollback: () => {} };
    // the loops start together (each Worker loads the bundle and the core on its own)
    const started = await Promise.allSettled(sockets.length ? Array.from({ length: this.workers }, (_, k) => this.start(sockets, k)) : []);
    const next = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const failed = started.find((r) => r.status === "rejected");
    if (failed) {
      await Promise.all(next.map((l) => this.leave(l)));
      throw failed.reason;
    }
    return {
      commit: () => {
        this.loops = next;
        void Promise.all(old.map((l) => this.leave(l))).finally(() => { for (const s of retire) s.close(); });
      },
      rollback: () => { for (const l of next) void this.leave(l); },
    };
  }

  /** Shutdown, first step: the loop stops reading; the sockets stay open so answers of queries in
   * flight still go out (sendTo). */
  async stopReceiving(drain = false): Promise<void> {
    const loops = this.loops;
    this.loops = [];
    await Promise.all(loops.map((l) => this.leave(l, drain)));
  }

  /** Every loop's counters so far (the running ones, and those that left). */
  loopStats(): DataPathStats[] {
    for (const l of this.loops) l.stats.handOffsDropped = l.handle.stats().handOffsDropped;
    return [this.retired, ...this.loops.map((l) => l.stats)];
  }

  private async start(sockets: FfiUdpSocket[], worker: number): Promise<RunningLoop> {
    const reserved = this.core.reserveInstance();
    const stats = new DataPathStats(new SharedArrayBuffer(DataPathStats.SHARED_BYTES));
    const options: DnsBatchOptions = { share: reserved.share, sets: sockets.map((s) => s.set), v6: sockets.map((s) => (s.v6 ? 1 : 0)), stats: stats.buffer! };
    let handle: UdpLoopHandle;
    try {
      handle = await UdpLoopHandle.start(this.net.lib, this.net.layout, {
        fds: sockets.map((s) => s.fdFor(worker)),
        // a socket several loops read wakes one of them per datagram, not all
        exclusive: sockets.map((s) => this.workers > 1 && s.shared),
        slots: { memory: this.core.mem.buffer as SharedArrayBuffer, dataOffset: reserved.BATCH, metaOffset: reserved.BATCH_META, count: Batch.MAX, slotSize: Batch.SLOT },
        handler: { module: "", options },
        workerUrl: LOOP_WORKER,
      });
    } catch (e) {
      this.core.unreserveInstance(reserved.index);
      throw e;
    }
    handle.onHandOff = (d) => this.serve(sockets, d);
    return { handle, reserved: reserved.index, sockets, stats };
  }

  private serve(sockets: FfiUdpSocket[], d: HandedOff): void {
    const sock = sockets[d.socket];
    if (!sock) return;
    if (d.kind === HANDOFF_REFRESH) { this.handler.refreshHandedOff(sock.set, d.data); return; }
    const from = decodeSockaddr(d.address);
    if (!from) return;
    const address = d.address;
    this.handler.handOff(sock.set, sock.v6, d.data, (answer) => { sock.sendTo(address, answer); }, from.host, from.port);
  }

  private async leave(l: RunningLoop, drain = false): Promise<void> {
    try {
      const r = await (drain ? l.handle.drainAndStop() : l.handle.stop());
      l.stats.handOffsDropped = r.stats.handOffsDropped;
      this.log.info("UDP loop left", { ...r.stats });
    } catch (e) {
      this.log.warn("UDP loop did not stop cleanly", { error: (e as Error).message, sockets: l.sockets.map((s) => formatSockaddr(s.owned.local)) });
    }
    this.retired.add(l.stats);
    this.core.unreserveInstance(l.reserved);
  }
}
