// A pool of TCP connections to one upstream address. kube-proxy balances TCP per connection, so one
// connection carrying everything pins every query to one CoreDNS pod: the pool keeps `size`
// connections open (more under load, up to `max`), sends each query on the least busy one, and recycles
// each connection after maxAgeMs or maxQueries by draining it, so new pods get traffic too.
import type { Runtime } from "../runtime/types";
import { formatEndpoint, type Endpoint } from "../config/endpoint";
import type { PendingQuery } from "./pending";
import { TcpConnection } from "./tcp-connection";
import { freeId, inFlightFull, MAX_IN_FLIGHT } from "./id-space";

export interface TcpPoolOptions { size: number; max: number; maxAgeMs: number; maxQueries: number; idleMs: number }

const GROW_AT = 32; // outstanding queries per connection before the pool grows past `size`

export class TcpPool {
  private active: TcpConnection[] = [];
  private readonly draining = new Set<TcpConnection>();
  private rr = 0;
  connHits = 0; // queries sent on a connection that was already open
  connMisses = 0; // queries that opened a connection
  opened = 0;
  recycled = 0;

  constructor(private readonly rt: Runtime, readonly to: Endpoint, private readonly o: TcpPoolOptions) {}

  get openConnections(): number { return this.active.length + this.draining.size; }

  /** An ID free on every connection of the pool (a query may move to another connection on retry). */
  allocateId(): number {
    return freeId((id) => this.inUse(id));
  }

  private inUse(id: number): boolean {
    for (const c of this.active) if (c.pending.has(id)) return true;
    for (const c of this.draining) if (c.pending.has(id)) return true;
    return false;
  }

  /** Queries waiting for a reply on all connections. */
  get inFlight(): number {
    let n = 0;
    for (const c of this.active) n += c.pending.size;
    for (const c of this.draining) n += c.pending.size;
    return n;
  }

  /** fresh: open a new connection for this query (a retry after a connection dropped: behind a
   * Service IP the new connection is DNATed afresh, to a backend that is still there). With
   * MAX_IN_FLIGHT queries waiting, nothing is sent: p.onError follows (after this call returns). */
  send(query: Uint8Array, p: PendingQuery, fresh = false): () => void {
    if (this.inFlight >= MAX_IN_FLIGHT) {
      queueMicrotask(() => p.onError(inFlightFull(formatEndpoint(this.to))));
      return () => {};
    }
    if (fresh) { this.connMisses++; return this.open().send(query, p); }
    return this.pick().send(query, p);
  }

  private pick(): TcpConnection {
    const now = Date.now();
    for (const c of this.active) {
      if (now - c.openedAt >= this.o.maxAgeMs || c.sent >= this.o.maxQueries) this.retire(c);
    }
    let best: TcpConnection | null = null;
    const n = this.active.length;
    for (let k = 0; k < n; k++) {
      const c = this.active[(this.rr + k) % n];
      if (!best || c.outstanding < best.outstanding) best = c;
    }
    this.rr = n ? (this.rr + 1) % n : 0;
    if (!best || n < this.o.size || (best.outstanding >= GROW_AT && n < this.o.max)) {
      this.connMisses++;
      return this.open();
    }
    this.connHits++;
    return best;
  }

  private open(): TcpConnection {
    this.opened++;
    const c = new TcpConnection(this.rt, this.to, this.o.idleMs, (gone) => {
      this.active = this.active.filter((x) => x !== gone);
      this.draining.delete(gone);
    });
    this.active.push(c);
    return c;
  }

  private retire(c: TcpConnection): void {
    this.active = this.active.filter((x) => x !== c);
    this.recycled++;
    if (c.outstanding === 0) { c.close(); return; }
    this.draining.add(c);
    c.drain();
  }

  close(): void {
    for (const c of [...this.active, ...this.draining]) c.close();
    this.active = [];
    this.draining.clear();
  }
}
