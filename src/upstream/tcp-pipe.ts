// A persistent TCP connection to one upstream carrying many pipelined queries (RFC 7766): replies are
// matched by ID in any order, the connection is reopened on demand after it closes, and it is closed
// after an idle period. When it drops, every query on it is told so the forwarder can retry.
import type { Runtime, TcpConn } from "../runtime/types";
import type { Endpoint } from "../config/endpoint";
import type { PendingQuery } from "./pending";
import { Framer, WriteQueue, frame } from "../server/framing";

interface PipeState { framer: Framer; out: WriteQueue }

export class TcpPipe {
  private conn: TcpConn<PipeState> | null = null;
  private connecting: Promise<TcpConn<PipeState>> | null = null;
  readonly pending = new Map<number, PendingQuery>();
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  readonly opened = { count: 0 };
  queries = 0;
  connHits = 0; // queries that found the connection open
  connMisses = 0; // queries that had to wait for a new connection
  age = 0; // when the current connection opened (ms)

  constructor(private readonly rt: Runtime, readonly to: Endpoint, private readonly idleMs: number) {}

  get isOpen(): boolean { return this.conn !== null; }

  has(id: number): boolean { return this.pending.has(id); }

  send(query: Uint8Array, p: PendingQuery): () => void {
    const id = (query[0] << 8) | query[1];
    this.pending.set(id, p);
    this.queries++;
    this.clearIdle();
    const framed = frame(query);
    const withdraw = () => { if (this.pending.get(id) === p) { this.pending.delete(id); this.armIdle(); } };
    if (this.conn) {
      this.connHits++;
      this.conn.state.out.write(this.conn, framed);
      return withdraw;
    }
    this.connMisses++;
    this.open().then(
      (conn) => { if (this.pending.get(id) === p) conn.state.out.write(conn, framed); },
      (err: Error) => { if (this.pending.get(id) === p) { this.pending.delete(id); p.onError(err); } },
    );
    return withdraw;
  }

  private open(): Promise<TcpConn<PipeState>> {
    if (this.conn) return Promise.resolve(this.conn);
    if (this.connecting) return this.connecting;
    const state: PipeState = { framer: new Framer(), out: new WriteQueue() };
    this.connecting = this.rt.connectTcp<PipeState>(this.to.host, this.to.port, {
      open: () => {},
      data: (_c, chunk) => {
        const ok = state.framer.push(chunk, (msg) => this.onMessage(msg));
        if (!ok) this.conn?.end();
      },
      drain: (c) => state.out.flush(c),
      close: (c, err) => this.onClose(c, err),
    }, state).then((conn) => {
      this.connecting = null;
      this.conn = conn;
      this.opened.count++;
      this.age = Date.now();
      return conn;
    }, (err) => {
      this.connecting = null;
      throw err instanceof Error ? err : new Error(String(err));
    });
    return this.connecting;
  }

  private onMessage(msg: Uint8Array): void {
    if (msg.length < 12) return;
    const id = (msg[0] << 8) | msg[1];
    const p = this.pending.get(id);
    if (p && p.onReply(msg)) {
      this.pending.delete(id);
      this.armIdle();
    }
  }

  private onClose(c: TcpConn<PipeState>, err?: Error): void {
    if (this.conn !== c) return;
    this.conn = null;
    this.clearIdle();
    const e = err ?? new Error("upstream closed the connection");
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const p of waiting) p.onError(e);
  }

  private armIdle(): void {
    if (this.pending.size > 0 || this.idleTimer) return;
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.pending.size === 0 && this.conn) this.conn.end();
    }, this.idleMs);
  }

  private clearIdle(): void {
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = null; }
  }

  close(): void {
    this.clearIdle();
    this.conn?.end();
    this.conn = null;
  }
}
