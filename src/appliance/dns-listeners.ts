// The DNS listeners (UDP and TCP on each configured address of both listener sets), diffed on reload:
// addresses that stay keep their sockets, new ones are bound beside the running ones and switched in
// by commit(), or closed again by rollback().
// UDP goes through one of two data paths: the FFI path (sockets we own, served by a loop Worker; see
// src/server/ffi/) or the runtime's own UDP sockets. Sockets systemd passed (socket activation) are
// taken instead of binding, for the addresses they match.
import type { Runtime, UdpSocket } from "../runtime/types";
import { formatEndpoint, type Endpoint } from "../config/endpoint";
import { LISTENER_SETS, type EffectiveConfig } from "../config/effective";
import type { QueryHandler } from "../server/handler";
import { listenUdp } from "../server/udp";
import { TcpListener } from "../server/tcp";
import type { TcpBudget } from "../server/tcp-budget";
import type { TcpTurns } from "../server/tcp-turns";
import type { FfiUdpPath } from "../server/ffi/ffi-udp-path";
import type { FfiUdpSocket } from "../server/ffi/ffi-udp-socket";
import { listeningTcpSocketCount } from "../net/reuseport-steer";
import { steerToOwnTcpListener, unsteerOwnTcpListener, type SteeredListener } from "../net/own-tcp-listener";
import type { LibcNet } from "../net/libc-net";
import type { NetLayout } from "../net/layout";

export interface BoundListener { set: number; ep: Endpoint; udp: UdpSocket; tcp: TcpListener }

/** Sockets bound for a plan: switched in by commit(), closed by rollback(). */
export interface BoundChange { commit(): void; rollback(): void }

/** Inherited listener fds by endpoint ("host:port"), each taken at most once. */
export type InheritedFds = Map<string, { udp: number | null; tcp: number | null }>;

const listenerKey = (set: number, ep: Endpoint) => `${set}|${formatEndpoint(ep)}`;
const PORT_ZERO_ATTEMPTS = 20;

export class DnsListeners {
  bound: BoundListener[] = [];

  constructor(private readonly rt: Runtime, private readonly handler: QueryHandler,
    private readonly budget: TcpBudget, private readonly turns: TcpTurns,
    private readonly ffi: FfiUdpPath | null, private readonly inherited: InheritedFds = new Map(),
    private readonly takeover = false, private readonly net: { lib: LibcNet; layout: NetLayout } | null = null) {}

  /** Our own TCP listeners steered to in a takeover (a runtime that cannot serve a socket made here). */
  private steered: SteeredListener[] = [];

  /** Once the instance taken over has left: datagrams and connections are hashed over our sockets
   * again. */
  releaseTakeovers(): void {
    this.ffi?.releaseTakeovers();
    for (const s of this.steered.splice(0)) unsteerOwnTcpListener(this.net!.lib, s);
  }

  /** Which UDP data path serves. */
  get dataPath(): "ffi" | "runtime" { return this.ffi ? "ffi" : "runtime"; }

  /** Binds the listeners `c` has and the running set lacks. Throws, having closed what it bound,
   * when one cannot be bound. */
  async prepare(c: EffectiveConfig): Promise<BoundChange> {
    const existing = new Map(this.bound.map((l) => [listenerKey(l.set, l.ep), l]));
    const wanted: BoundListener[] = [];
    const added: BoundListener[] = [];
    let loop: BoundChange = { commit: () => {}, rollback: () => {} };
    try {
      for (const [set, setName] of LISTENER_SETS.entries()) {
        for (const ep of c.listeners[setName]) {
          const old = existing.get(listenerKey(set, ep));
          if (old && ep.port !== 0) { existing.delete(listenerKey(set, ep)); wanted.push(old); continue; }
          const b = await this.bind(set, ep, c);
          added.push(b);
          wanted.push(b);
        }
      }
      // the FFI loop over the new set starts beside the running one; it closes the UDP sockets that
      // go away once the old loop has left them
      if (this.ffi) loop = await this.ffi.prepare(wanted.map((l) => l.udp as FfiUdpSocket), [...existing.values()].map((l) => l.udp as FfiUdpSocket));
    } catch (e) {
      closeEach(added, true);
      throw e;
    }
    return {
      commit: () => {
        closeEach(existing.values(), this.ffi === null); // FFI UDP sockets: closed by the loop change
        loop.commit();
        this.bound = wanted;
      },
      rollback: () => { loop.rollback(); closeEach(added, true); },
    };
  }

  /** Shutdown, first step: no new queries are taken, but the sockets stay open so the answers of
   * queries already in flight still go out. closeAll() ends it. */
  async stopReceiving(drain = false): Promise<void> {
    for (const l of this.bound) l.tcp.stopAccepting();
    // the loop first: what it read before it stopped is still handed off and served (with `drain`,
    // a takeover, also what its sockets still hold)
    await this.ffi?.stopReceiving(drain);
    this.handler.receiving = false;
  }

  closeAll(): void { closeEach(this.bound, true); }

  private async bindUdp(set: number, ep: Endpoint): Promise<UdpSocket> {
    if (!this.ffi) return listenUdp(this.rt, ep, set, this.handler);
    const fd = this.takeInherited(ep, "udp");
    try {
      return this.ffi.bind(ep, set, fd ?? undefined);
    } catch (e) {
      throw new Error(`cannot bind UDP ${formatEndpoint(ep)}: ${(e as Error).message}`);
    }
  }

  private takeInherited(ep: Endpoint, kind: "udp" | "tcp"): number | null {
    const slot = this.inherited.get(formatEndpoint(ep));
    const fd = slot?.[kind] ?? null;
    if (slot) slot[kind] = null;
    return fd;
  }

  private async bind(set: number, ep: Endpoint, c: EffectiveConfig): Promise<BoundListener> {
    // port 0 (tests): TCP takes the port UDP got; if that TCP port is busy, try another
    for (let attempt = 0; ; attempt++) {
      const udp = await this.bindUdp(set, ep);
      const tcpEp = ep.port === 0 ? { ...ep, port: udp.port } : ep;
      // socket activation's fd, or in a takeover one steered beside the running instance's (a
      // runtime that cannot serve an fd listens beside it itself, and that listener is steered to)
      const inheritedTcp = this.takeInherited(ep, "tcp") ?? (this.rt.servesTcpFd ? this.ffi?.tcpTakeover(tcpEp) : null) ?? null;
      // that listener's index in the group: the listeners there before it
      const steerHere = this.takeover && inheritedTcp === null && !this.rt.servesTcpFd && this.net !== null && tcpEp.port !== 0;
      const before = steerHere ? listeningTcpSocketCount(tcpEp) ?? 0 : 0;
      const tcp = new TcpListener(this.rt, tcpEp, set, this.handler, {
        idleTimeoutMs: c.server.tcpIdleTimeoutMs, maxBufferedBytes: 1 << 20,
      }, this.budget, this.turns, inheritedTcp);
      try {
        // TCP listeners have SO_REUSEPORT (for a takeover): one already listening there is in use
        if (inheritedTcp === null && !this.takeover && (listeningTcpSocketCount(tcpEp) ?? 0) > 0) throw new Error(`cannot bind TCP ${formatEndpoint(tcpEp)}: address already in use`);
        tcp.start();
        if (steerHere && before > 0) {
          try { this.steered.push(steerToOwnTcpListener(this.net!.lib, this.net!.layout, tcpEp, before)); } catch (e) {
            tcp.stop();
            throw new Error(`cannot steer TCP ${formatEndpoint(tcpEp)} here: ${(e as Error).message}`);
          }
        }
        return { set, ep, udp, tcp };
      } catch (e) {
        udp.close();
        if (ep.port !== 0 || attempt >= PORT_ZERO_ATTEMPTS) throw e;
      }
    }
  }
}

function closeEach(list: Iterable<BoundListener>, udpToo: boolean): void {
  for (const l of list) {
    try { if (udpToo) l.udp.close(); } catch { /* already closed */ }
    try { l.tcp.stop(); } catch { /* already closed */ }
  }
}
