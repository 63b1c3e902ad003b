// TCP listener (RFC 7766): length-framed queries, several per connection, answers in whatever order
// they complete, an idle timeout, a per-connection cap on unsent answer bytes (a client that never
// reads is closed), and a cap on connections that closes the longest-idle one first.
import type { Runtime, TcpConn, TcpServer } from "../runtime/types";
import { formatEndpoint, type Endpoint } from "../config/endpoint";
import type { QueryHandler } from "./handler";
import { Framer, WriteQueue } from "./framing";

export interface TcpLimits { idleTimeoutMs: number; maxConnections: number; maxBufferedBytes: number }

// lastActive: last octet received (idle timeout). frameSince: when the message now being received
// began; a message must complete within the idle timeout too, or a client trickling one octet at a
// time (slowloris) would hold the connection for ever.
// awaiting: queries read whose answers are not sent yet. readDone: the client half-closed (FIN); the
// connection ends once those answers are out.
interface ConnState { framer: Framer; out: WriteQueue; lastActive: number; frameSince: number; closed: boolean; awaiting: number; readDone: boolean }

export class TcpListener {
  private server: TcpServer | null = null;
  readonly conns = new Set<TcpConn<ConnState>>();
  private sweeper: ReturnType<typeof setInterval> | null = null;
  closedIdle = 0;
  closedOverflow = 0;

  constructor(private readonly rt: Runtime, readonly ep: Endpoint, private readonly set: number,
    private readonly handler: QueryHandler, private readonly limits: TcpLimits) {}

  start(): void {
    try {
      this.server = this.rt.listenTcp<ConnState>(this.ep.host, this.ep.port, {
        open: (c) => this.onOpen(c),
        data: (c, chunk) => this.onData(c, chunk),
        drain: (c) => { c.state?.out.flush(c); },
        // half-close: answer what was asked, then close
        end: (c) => { c.state.readDone = true; if (c.state.awaiting === 0) this.close(c); },
        close: (c) => { if (c.state) c.state.closed = true; this.conns.delete(c); },
      });
    } catch (e) {
      throw new Error(`cannot bind TCP ${formatEndpoint(this.ep)}: ${(e as Error).message}`);
    }
    const tick = Math.max(100, Math.min(1000, this.limits.idleTimeoutMs / 4));
    this.sweeper = setInterval(() => this.sweep(), tick);
  }

  get port(): number { return this.server?.port ?? 0; }

  private onOpen(c: TcpConn<ConnState>): void {
    c.state = { framer: new Framer(), out: new WriteQueue(), lastActive: Date.now(), frameSince: 0, closed: false, awaiting: 0, readDone: false };
    this.conns.add(c);
    if (this.conns.size > this.limits.maxConnections) {
      // close the longest-idle connection (Set order is open order; pick by lastActive)
      let oldest: TcpConn<ConnState> | null = null;
      for (const x of this.conns) if (x !== c && (!oldest || x.state.lastActive < oldest.state.lastActive)) oldest = x;
      if (oldest) { this.closedOverflow++; this.close(oldest); }
    }
  }

  private onData(c: TcpConn<ConnState>, chunk: Uint8Array): void {
    const st = c.state;
    st.lastActive = Date.now();
    const send = (framed: Uint8Array) => {
      st.awaiting--;
      if (st.closed) return;
      st.out.write(c, framed);
      if (st.out.bytes > this.limits.maxBufferedBytes) this.close(c);
      else if (st.readDone && st.awaiting === 0) this.close(c);
    };
    const ok = st.framer.push(chunk, (msg) => {
      st.awaiting++;
      if (!this.handler.tcp(this.set, msg, send, c.remoteAddress, c.remotePort)) st.awaiting--;
    });
    if (!ok) { this.close(c); return; }
    if (st.framer.buffered === 0) st.frameSince = 0;
    else if (st.frameSince === 0) st.frameSince = st.lastActive;
  }

  private sweep(): void {
    const now = Date.now();
    const limit = this.limits.idleTimeoutMs;
    for (const c of this.conns) {
      const st = c.state;
      if (now - st.lastActive > limit || (st.frameSince !== 0 && now - st.frameSince > limit)) { this.closedIdle++; this.close(c); }
    }
  }

  private close(c: TcpConn<ConnState>): void {
    c.state.closed = true;
    this.conns.delete(c);
    try { c.end(); } catch { /* already gone */ }
  }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.server?.stop();
    for (const c of this.conns) this.close(c);
  }
}
