// UDP to one upstream. A small set of sockets on ephemeral ports, each retired after a number of
// queries, so source ports vary (spoofing resistance, and conntrack/DNAT spreads over backends).
import type { Runtime, UdpSocket } from "../runtime/types";
import { formatEndpoint, type Endpoint } from "../config/endpoint";
import type { PendingQuery } from "./pending";
import { freeId, inFlightFull, MAX_IN_FLIGHT } from "./id-space";

const SOCKETS = 4;
// Behind a Service IP every new source port is a new conntrack entry and a fresh DNAT pick of backend:
// rotating often spreads misses over the backends (and makes spoofed replies harder to aim).
const QUERIES_PER_SOCKET = 32;

interface Slot { sock: UdpSocket | null; binding: Promise<UdpSocket> | null; used: number; pending: number }

export class UdpTransport {
  private readonly pending = new Map<number, PendingQuery>();
  /** The socket each pending query left from: a reply is accepted only there (spoofing resistance). */
  private readonly sentOn = new Map<number, UdpSocket>();
  private readonly slots: Slot[] = [];
  private nextSlot = 0;
  private closed = false;
  sent = 0;
  connHits = 0; // queries sent on an already bound socket
  connMisses = 0; // queries that had to bind a new socket

  /** lingerMs: how long a retired socket still listens: the longest a query on it can wait (its
   * attempt timeout), so no reply it could still use is lost, and no longer (sockets cost fds). */
  constructor(private readonly rt: Runtime, readonly to: Endpoint, private readonly lingerMs = 2000) {
    for (let i = 0; i < SOCKETS; i++) this.slots.push({ sock: null, binding: null, used: 0, pending: 0 });
  }

  /** An ID free on this transport. */
  allocateId(): number {
    return freeId((id) => this.pending.has(id));
  }

  get inFlight(): number { return this.pending.size; }

  /** Sends query (its ID already allocated); returns a function that withdraws it. Withdrawn after a
   * timeout, the socket it went out on is retired: its conntrack entry may pin a backend that is gone.
   * freshSocket: send from a newly bound socket. With MAX_IN_FLIGHT queries waiting, nothing is sent:
   * p.onError follows (after this call returns). */
  send(query: Uint8Array, p: PendingQuery, freshSocket = false): (timedOut?: boolean) => void {
    if (this.pending.size >= MAX_IN_FLIGHT) {
      queueMicrotask(() => p.onError(inFlightFull(formatEndpoint(this.to))));
      return () => {};
    }
    const id = (query[0] << 8) | query[1];
    this.pending.set(id, p);
    const slot = this.slots[this.nextSlot];
    this.nextSlot = (this.nextSlot + 1) % this.slots.length;
    // a retry after a timeout goes out from a new source port: a new conntrack entry, so behind a
    // Service IP a new pick of backend, never the one that just failed to answer
    if (freshSocket && slot.sock) this.retire(slot);
    const copy = query.slice();
    let sentOn: UdpSocket | null = null;
    this.socketFor(slot).then(
      (sock) => {
        if (this.pending.get(id) !== p) return;
        sentOn = sock;
        this.sentOn.set(id, sock);
        this.sent++;
        slot.used++;
        sock.send(copy, this.to.port, this.to.host);
        if (slot.used >= QUERIES_PER_SOCKET) this.retire(slot);
      },
      (err) => { if (this.pending.get(id) === p) { this.pending.delete(id); p.onError(err); } },
    );
    return (timedOut = false) => {
      if (this.pending.get(id) !== p) return;
      this.pending.delete(id);
      this.sentOn.delete(id);
      if (timedOut && sentOn !== null && slot.sock === sentOn) this.retire(slot);
    };
  }

  private socketFor(slot: Slot): Promise<UdpSocket> {
    if (slot.sock) { this.connHits++; return Promise.resolve(slot.sock); }
    this.connMisses++;
    if (!slot.binding) {
      const host = this.to.family === 6 ? "::" : "0.0.0.0";
      slot.binding = this.rt.bindUdp(host, 0, (sock, buf, port, addr) => this.onData(sock, buf, port, addr)).then((s) => {
        slot.binding = null;
        if (this.closed) { s.close(); throw new Error("transport closed"); }
        slot.sock = s;
        return s;
      }, (e) => { slot.binding = null; throw e; });
    }
    return slot.binding;
  }

  // A retired socket keeps listening long enough for its outstanding replies, then closes.
  private retire(slot: Slot): void {
    const old = slot.sock;
    slot.sock = null;
    slot.used = 0;
    if (old) setTimeout(() => old.close(), this.lingerMs);
  }

  private onData(sock: UdpSocket, buf: Uint8Array, port: number, addr: string): void {
    if (buf.length < 12 || port !== this.to.port || !sameHost(addr, this.to.host)) return;
    const id = (buf[0] << 8) | buf[1];
    const p = this.pending.get(id);
    if (!p || this.sentOn.get(id) !== sock) return;
    if (p.onReply(buf)) { this.pending.delete(id); this.sentOn.delete(id); }
  }

  close(): void {
    this.closed = true;
    for (const s of this.slots) { s.sock?.close(); s.sock = null; }
    const err = new Error("transport closed");
    for (const p of this.pending.values()) p.onError(err);
    this.pending.clear();
    this.sentOn.clear();
  }
}

function sameHost(a: string, b: string): boolean {
  if (a === b) return true;
  return a.replace(/^::ffff:/, "") === b.replace(/^::ffff:/, "");
}
