// The DNS listeners (UDP and TCP on each configured address of both listener sets), diffed on reload:
// addresses that stay keep their sockets, new ones are bound beside the running ones and switched in
// by commit(), or closed again by rollback().
import type { Runtime, UdpSocket } from "../runtime/types";
import { formatEndpoint, type Endpoint } from "../config/endpoint";
import { LISTENER_SETS, type EffectiveConfig } from "../config/effective";
import type { QueryHandler } from "../server/handler";
import { listenUdp } from "../server/udp";
import { TcpListener } from "../server/tcp";
import type { TcpBudget } from "../server/tcp-budget";
import type { TcpTurns } from "../server/tcp-turns";

export interface BoundListener { set: number; ep: Endpoint; udp: UdpSocket; tcp: TcpListener }

/** Sockets bound for a plan: switched in by commit(), closed by rollback(). */
export interface BoundChange { commit(): void; rollback(): void }

const listenerKey = (set: number, ep: Endpoint) => `${set}|${formatEndpoint(ep)}`;
const PORT_ZERO_ATTEMPTS = 20;

export class DnsListeners {
  bound: BoundListener[] = [];

  constructor(private readonly rt: Runtime, private readonly handler: QueryHandler,
    private readonly budget: TcpBudget, private readonly turns: TcpTurns) {}

  /** Binds the listeners `c` has and the running set lacks. Throws, having closed what it bound,
   * when one cannot be bound. */
  async prepare(c: EffectiveConfig): Promise<BoundChange> {
    const existing = new Map(this.bound.map((l) => [listenerKey(l.set, l.ep), l]));
    const wanted: BoundListener[] = [];
    const added: BoundListener[] = [];
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
    } catch (e) {
      closeEach(added);
      throw e;
    }
    return {
      commit: () => { closeEach(existing.values()); this.bound = wanted; },
      rollback: () => closeEach(added),
    };
  }

  /** Shutdown, first step: no new queries are taken, but the sockets stay open so the answers of
   * queries already in flight still go out. closeAll() ends it. */
  stopReceiving(): void {
    this.handler.receiving = false;
    for (const l of this.bound) l.tcp.stopAccepting();
  }

  closeAll(): void { closeEach(this.bound); }

  private async bind(set: number, ep: Endpoint, c: EffectiveConfig): Promise<BoundListener> {
    // port 0 (tests): TCP takes the port UDP got; if that TCP port is busy, try another
    for (let attempt = 0; ; attempt++) {
      const udp = await listenUdp(this.rt, ep, set, this.handler);
      const tcpEp = ep.port === 0 ? { ...ep, port: udp.port } : ep;
      const tcp = new TcpListener(this.rt, tcpEp, set, this.handler, {
        idleTimeoutMs: c.server.tcpIdleTimeoutMs, maxBufferedBytes: 1 << 20,
      }, this.budget, this.turns);
      try {
        tcp.start();
        return { set, ep, udp, tcp };
      } catch (e) {
        udp.close();
        if (ep.port !== 0 || attempt >= PORT_ZERO_ATTEMPTS) throw e;
      }
    }
  }
}

function closeEach(list: Iterable<BoundListener>): void {
  for (const l of list) { try { l.udp.close(); l.tcp.stop(); } catch { /* already closed */ } }
}
