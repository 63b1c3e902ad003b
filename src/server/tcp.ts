// TCP listener (RFC 7766): length-framed queries, several per connection, answers in whatever order
// they complete, an idle timeout, and a per-connection cap on unsent answer bytes. The connection cap
// and the memory budget are shared by every listener (TcpBudget); so is the event loop (TcpTurns).
//
// Pipelined queries (RFC 7766 §6.2.1.1) are read one at a time and handled while the connection has
// fewer than MAX_AWAITING answers outstanding and the kernel takes its answers; otherwise the
// connection stops reading (the client sees TCP backpressure) until answers go out. Each connection
// handles at most PER_VISIT queries before the others get their turn, and a turn writes a bounded
// number of answer bytes over all connections: answers beyond it wait in their connection's queue
// (counted in the memory budget) for a later turn.
import type { Runtime, TcpConn, TcpServer } from "../runtime/types";
import { formatEndpoint, type Endpoint } from "../config/endpoint";
import type { QueryHandler, Send } from "./handler";
import { Framer, WriteQueue, INVALID_FRAME, releaseSpareFrames } from "../dns/framing";
import type { BudgetMember, TcpBudget } from "./tcp-budget";
import type { TcpTurns } from "./tcp-turns";

export interface TcpLimits { idleTimeoutMs: number; maxBufferedBytes: number }

// Queries of one connection waiting for an answer (misses on their way to an upstream). A client
// pipelining more waits for answers first: 32 keeps a busy resolver's pipeline full.
const MAX_AWAITING = 32;
// Queries one connection handles before the next connection's turn.
const PER_VISIT = 8;

// lastActive: last octet received or taken by the client (idle timeout). frameSince: when the message
// now being received began; a message must complete within the idle timeout too, or a client trickling
// one octet at a time (slowloris) would hold the connection for ever.
// awaiting: queries read whose answers are not sent yet. readDone: the client half-closed (FIN); the
// connection ends once those answers are out. blocked: reading stopped until answers go out.
// queued: a later visit is waiting in TcpTurns. paused: the socket is not being read.
interface ConnState extends BudgetMember {
  conn: TcpConn<ConnState>;
  framer: Framer;
  out: WriteQueue;
  send: Send;
  frameSince: number;
  closed: boolean;
  awaiting: number;
  readDone: boolean;
  blocked: boolean;
  queued: boolean;
  paused: boolean;
}

export class TcpListener {
  private server: TcpServer | null = null;
  readonly conns = new Set<TcpConn<ConnState>>();
  private sweeper: ReturnType<typeof setInterval> | null = null;

  constructor(private readonly rt: Runtime, readonly ep: Endpoint, private readonly set: number,
    private readonly handler: QueryHandler, private readonly limits: TcpLimits,
    private readonly budget: TcpBudget, private readonly turns: TcpTurns,
    /** a listening socket systemd passed for this address (socket activation), served instead of binding */
    private readonly inheritedFd: number | null = null) {}

  start(): void {
    try {
      this.server = this.rt.listenTcp<ConnState>(this.ep.host, this.ep.port, {
        open: (c) => this.onOpen(c),
        data: (c, chunk) => this.onData(c.state, chunk),
        drain: (c) => this.onDrain(c.state),
        // half-close: answer what was asked, then close
        end: (c) => { c.state.readDone = true; this.serve(c.state); },
        close: (c) => this.forget(c.state),
      }, this.inheritedFd ?? undefined);
    } catch (e) {
      throw new Error(`cannot ${this.inheritedFd === null ? "bind" : `serve the inherited fd ${this.inheritedFd} of`} TCP ${formatEndpoint(this.ep)}: ${(e as Error).message}`);
    }
    const tick = Math.max(100, Math.min(1000, this.limits.idleTimeoutMs / 4));
    this.sweeper = setInterval(() => this.sweep(), tick);
  }

  get port(): number { return this.server?.port ?? 0; }

  private onOpen(c: TcpConn<ConnState>): void {
    const now = Date.now();
    const st: ConnState = {
      conn: c, framer: new Framer(), out: new WriteQueue(), send: () => {}, held: 0, opened: now, lastActive: now,
      frameSince: 0, closed: false, awaiting: 0, readDone: false, blocked: false, queued: false, paused: false,
      shed: () => this.close(st),
    };
    st.send = (framed) => this.answer(st, framed);
    c.state = st;
    this.conns.add(c);
    this.budget.join(st);
  }

  private onData(st: ConnState, chunk: Uint8Array): void {
    this.budget.received += chunk.length;
    if (st.closed) return;
    st.lastActive = Date.now();
    st.framer.push(chunk);
    this.account(st);
    if (!st.queued) this.serve(st);
    else this.reading(st); // a visit is due: read no further meanwhile
  }

  // The client read: what is queued may go out (in a visit, so that a turn's writes stay bounded).
  private onDrain(st: ConnState): void {
    if (st.closed) return;
    st.lastActive = Date.now();
    st.out.stalled = false;
    this.visitLater(st);
  }

  // An answer for one of this connection's queries, now or when its upstream answered.
  private answer(st: ConnState, framed: Uint8Array): void {
    st.awaiting--;
    if (st.closed) return;
    if (st.out.bytes === 0 && !st.out.stalled && this.turns.room > 0) {
      this.turns.spend(framed.length);
      st.out.write(st.conn, framed);
    } else {
      st.out.hold(framed);
      if (!st.out.stalled) this.visitLater(st);
    }
    if (st.out.bytes > this.limits.maxBufferedBytes) {
      this.budget.count("write_backlog");
      this.close(st);
      return;
    }
    if (st.out.bytes > 0) this.account(st);
    this.unblock(st);
  }

  // One visit: writes what is queued and handles the queries read so far, as far as the connection's
  // limits and this turn allow.
  private serve(st: ConnState): void {
    st.queued = false;
    st.blocked = false;
    if (st.closed) return;
    if (st.out.bytes > 0 && !st.out.stalled) {
      this.turns.spend(st.out.flush(st.conn, this.turns.room));
      if (st.out.bytes > 0 && !st.out.stalled) this.visitLater(st); // the turn is used up
    }
    for (let n = 0; !st.closed && st.framer.ready; n++) {
      if (st.awaiting >= MAX_AWAITING || st.out.bytes > 0) { st.blocked = true; break; }
      if (n >= PER_VISIT || !this.turns.take()) { this.visitLater(st); break; }
      const msg = st.framer.next()!;
      if (msg === INVALID_FRAME) { this.close(st); return; }
      st.awaiting++;
      if (!this.handler.tcp(this.set, msg, st.send, st.conn.remoteAddress, st.conn.remotePort)) st.awaiting--;
    }
    if (st.closed) return;
    const ready = st.framer.ready;
    this.reading(st);
    if (st.framer.buffered === 0 || ready) st.frameSince = 0;
    else if (st.frameSince === 0) st.frameSince = Date.now();
    this.account(st);
    this.unblock(st);
  }

  // Reads only while there is nothing to handle and nothing to wait for; otherwise the kernel holds
  // what the client sends until we get to it.
  private reading(st: ConnState): void {
    const pause = st.queued || st.blocked || st.framer.ready;
    if (pause === st.paused) return;
    st.paused = pause;
    if (pause) st.conn.pause(); else st.conn.resume();
  }

  // Reading resumes once answers went out; a half-closed connection ends when its last answer is out.
  private unblock(st: ConnState): void {
    if (st.closed) return;
    if (st.blocked && st.awaiting < MAX_AWAITING && st.out.bytes === 0) {
      st.blocked = false;
      this.visitLater(st);
    } else if (!st.blocked && !st.queued && st.readDone && st.awaiting === 0 && st.out.bytes === 0 && !st.framer.ready) this.close(st);
  }

  private visitLater(st: ConnState): void {
    if (st.queued) return;
    st.queued = true;
    this.turns.later(() => { if (st.queued) this.serve(st); });
  }

  private account(st: ConnState): void {
    if (!st.closed) this.budget.resize(st, st.framer.held + st.out.bytes);
  }

  private sweep(): void {
    releaseSpareFrames();
    const now = Date.now();
    const limit = this.limits.idleTimeoutMs;
    for (const c of this.conns) {
      const st = c.state;
      if (now - st.lastActive > limit || (st.frameSince !== 0 && now - st.frameSince > limit)) {
        this.budget.count("idle");
        this.close(st);
      }
    }
  }

  private close(st: ConnState): void {
    if (st.closed) return;
    this.forget(st);
    try { st.conn.end(); } catch { /* already gone */ }
  }

  // The connection is gone (closed by us or by the client): let go of what it holds.
  private forget(st: ConnState): void {
    st.closed = true;
    st.queued = false;
    st.framer.clear();
    st.out.clear();
    this.budget.leave(st);
    this.conns.delete(st.conn);
  }

  /** Shutdown: no new connections; open ones keep their answers coming until stop(). */
  stopAccepting(): void { this.server?.stopAccepting(); }

  stop(): void {
    if (this.sweeper) clearInterval(this.sweeper);
    this.server?.stop();
    for (const c of this.conns) this.close(c.state);
  }
}
