// One TCP connection to an upstream carrying many pipelined queries (RFC 7766): replies are matched by
// ID in any order. It lives once: connecting → open → (draining) → closed. Draining takes no new queries
// and closes when its last reply arrives, so recycling never loses or retries a query. When it drops,
// every query on it is told so the forwarder can retry elsewhere.
import type { Runtime, TcpConn } from "../runtime/types";
import type { Endpoint } from "../config/endpoint";
import type { PendingQuery } from "./pending";
import { Framer, WriteQueue, frame } from "../dns/framing";

interface ConnState { framer: Framer; out: WriteQueue }

// A SYN into a black hole would otherwise sit in "connecting" for minutes with queries queued on it.
const CONNECT_TIMEOUT_MS = 2000;

export class TcpConnection {
  private conn: TcpConn<ConnState> | null = null;
  private queued: Uint8Array[] = [];
  readonly pending = new Map<number, PendingQuery>();
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  state: "connecting" | "open" | "draining" | "closed" = "connecting";
  readonly openedAt = Date.now();
  sent = 0;

  constructor(rt: Runtime, readonly to: Endpoint, private readonly idleMs: number, private readonly onClosed: (c: TcpConnection) => void) {
    const st: ConnState = { framer: new Framer(), out: new WriteQueue() };
    const connectTimer = setTimeout(() => { if (this.conn === null && this.state !== "closed") this.closed(new Error("connect timeout")); }, CONNECT_TIMEOUT_MS);
    rt.connectTcp<ConnState>(to.host, to.port, {
      open: () => {},
      data: (_c, chunk) => { if (!st.framer.feed(chunk, (m) => this.onMessage(m))) this.conn?.end(); },
      drain: (c) => st.out.flush(c),
      close: (c, err) => { if (c === this.conn) this.closed(err ?? new Error("upstream closed the connection")); },
    }, st).then((c) => {
      clearTimeout(connectTimer);
      if (this.state === "closed") { c.end(); return; }
      this.conn = c;
      if (this.state === "connecting") this.state = "open";
      for (const q of this.queued) c.state.out.write(c, q);
      this.queued = [];
      this.armIdle();
    }, (err) => { clearTimeout(connectTimer); this.closed(err instanceof Error ? err : new Error(String(err))); });
  }

  get outstanding(): number { return this.pending.size; }
  get usable(): boolean { return this.state === "connecting" || this.state === "open"; }

  send(query: Uint8Array, p: PendingQuery): () => void {
    const id = (query[0] << 8) | query[1];
    this.pending.set(id, p);
    this.sent++;
    this.clearIdle();
    const framed = frame(query);
    if (this.conn) this.conn.state.out.write(this.conn, framed);
    else this.queued.push(framed);
    return () => {
      if (this.pending.get(id) !== p) return;
      this.pending.delete(id);
      this.settled();
    };
  }

  /** Stop taking queries; close once the outstanding ones are answered. */
  drain(): void {
    if (!this.usable) return;
    this.state = "draining";
    this.settled();
  }

  close(): void {
    this.closed(new Error("connection closed by localdns"));
  }

  private onMessage(msg: Uint8Array): void {
    if (msg.length < 12) return;
    const id = (msg[0] << 8) | msg[1];
    const p = this.pending.get(id);
    if (p && p.onReply(msg)) {
      this.pending.delete(id);
      this.settled();
    }
  }

  private settled(): void {
    if (this.pending.size > 0) return;
    if (this.state === "draining") this.shutdown();
    else this.armIdle();
  }

  private shutdown(): void {
    this.clearIdle();
    if (this.conn) this.conn.end(); // close() callback finishes the job
    else this.closed(new Error("closed before connecting"));
  }

  private closed(err: Error): void {
    if (this.state === "closed") return;
    this.state = "closed";
    this.clearIdle();
    this.conn = null;
    const waiting = [...this.pending.values()];
    this.pending.clear();
    this.onClosed(this);
    for (const p of waiting) p.onError(err);
  }

  private armIdle(): void {
    if (this.pending.size > 0 || this.idleTimer || this.state !== "open") return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.size === 0) this.shutdown();
    }, this.idleMs);
  }

  private clearIdle(): void {
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = null; }
  }
}
