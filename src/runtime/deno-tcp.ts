// TCP for the Deno adapter: Deno.listen / Deno.connect streams driven into the open/data/drain/close
// callbacks that the Bun adapter gets from Bun's socket handlers.
import type { TcpConn, TcpHandlers, TcpServer } from "./types";

declare const Deno: any;

// per connection, pinned by its pending read: 1000 client connections hold 4 MiB (a DNS query is
// tens of octets; a 64 KB message takes 16 reads)
const READ_SIZE = 4 * 1024;
// Deno's writes are async: write() queues and reports the bytes as taken, up to this many queued
// bytes. Past it write() takes nothing and drain fires once the queue is short again, so the
// caller's own queue (and its cap on unsent bytes for a client that never reads) still works.
const HIGH_WATER = 64 * 1024;
const END_GRACE_MS = 2000;

class DenoTcpConn<S> implements TcpConn<S> {
  readonly remoteAddress: string;
  readonly remotePort: number;
  private queue: Uint8Array[] = [];
  private queued = 0;
  private writing = false;
  private wantDrain = false;
  private ending = false;
  private done = false;
  private paused = false;
  private wake: (() => void) | null = null;

  constructor(private readonly conn: any, private readonly handlers: TcpHandlers<S>, public state: S,
    private readonly onDone: (c: DenoTcpConn<S>) => void) {
    this.remoteAddress = conn.remoteAddr.hostname;
    this.remotePort = conn.remoteAddr.port;
    try { conn.setNoDelay(true); } catch { /* not fatal */ }
  }

  write(data: Uint8Array): number {
    if (this.done || this.ending) return 0;
    if (this.queued >= HIGH_WATER) { this.wantDrain = true; return 0; }
    this.queue.push(data.slice()); // callers pass views they reuse (wasm memory)
    this.queued += data.length;
    if (!this.writing) void this.pump();
    return data.length;
  }

  /** Closes once everything queued is written (Bun's socket.end()), but at once when the peer is not
   * reading (a client that never reads is exactly what gets ended), and after END_GRACE_MS at most. */
  end(): void {
    if (this.ending || this.done) return;
    this.ending = true;
    if (!this.writing || this.wantDrain) { this.finish(); return; }
    Deno.unrefTimer(setTimeout(() => this.finish(), END_GRACE_MS));
  }

  pause(): void { this.paused = true; }

  resume(): void {
    this.paused = false;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  /** Starts reading; data arrives through handlers.data until EOF or an error. */
  async readLoop(): Promise<void> {
    const buf = new Uint8Array(READ_SIZE);
    try {
      for (;;) {
        if (this.paused) await new Promise<void>((r) => { this.wake = r; });
        if (this.done) return;
        const n: number | null = await this.conn.read(buf);
        if (n === null) break;
        // a view of buf, reused by the next read (callers copy what they keep: no garbage per read)
        if (!this.done) this.handlers.data(this, buf.subarray(0, n));
      }
    } catch (e) {
      if (!this.done) { this.finish(e as Error); return; }
    }
    // peer finished sending: the caller may still answer (half-close); else finish writing and close
    if (this.handlers.end && !this.done) this.handlers.end(this);
    else this.end();
  }

  // Writes queued chunks in order, several at once when they pile up.
  private async pump(): Promise<void> {
    this.writing = true;
    try {
      while (this.queue.length > 0 && !this.done) {
        const chunk = this.queue.length === 1 ? this.queue[0] : concat(this.queue);
        this.queue = [];
        for (let off = 0; off < chunk.length;) off += await this.conn.write(chunk.subarray(off));
        this.queued -= chunk.length;
        if (this.wantDrain && this.queued < HIGH_WATER) { this.wantDrain = false; this.handlers.drain(this); }
      }
    } catch (e) {
      this.writing = false;
      this.finish(e as Error);
      return;
    }
    this.writing = false;
    if (this.ending) this.finish();
  }

  /** Closes now (queued bytes dropped) and reports close once. */
  finish(error?: Error): void {
    if (this.done) return;
    this.done = true;
    this.queue = [];
    this.resume(); // a paused read loop ends
    try { this.conn.close(); } catch { /* already closed */ }
    this.onDone(this);
    this.handlers.close(this, error);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) { out.set(p, off); off += p.length; }
  return out;
}

export function listenDenoTcp<S>(hostname: string, port: number, handlers: TcpHandlers<S>, fd?: number): TcpServer {
  if (fd !== undefined) throw new Error("Deno cannot serve an inherited listening socket (socket activation needs the Bun build)");
  // SO_REUSEPORT (needs --unstable-net): a localdns started to take over listens beside this one
  // until this one has left (the bind of a plain second start is refused by the caller first)
  const listener = Deno.listen({ transport: "tcp", hostname, port, reusePort: true });
  const conns = new Set<DenoTcpConn<S>>();
  let stopped = false;
  void (async () => {
    while (!stopped) {
      let c: any;
      try {
        c = await listener.accept();
      } catch (e) {
        if (stopped || e instanceof Deno.errors.BadResource) return;
        await new Promise((r) => setTimeout(r, 50)); // e.g. out of file descriptors: retry, don't stop accepting
        continue;
      }
      const conn = new DenoTcpConn<S>(c, handlers, undefined as S, (x) => conns.delete(x));
      conns.add(conn);
      handlers.open(conn);
      void conn.readLoop();
    }
  })();
  return {
    port: listener.addr.port,
    stopAccepting() {
      stopped = true;
      try { listener.close(); } catch { /* already closed */ }
    },
    stop() {
      // like Bun's server.stop(true): stop accepting and close every open connection
      stopped = true;
      try { listener.close(); } catch { /* already closed */ }
      for (const c of conns) c.finish();
    },
  };
}

export async function connectDenoTcp<S>(hostname: string, port: number, handlers: TcpHandlers<S>, state: S): Promise<TcpConn<S>> {
  const c = await Deno.connect({ transport: "tcp", hostname, port });
  const conn = new DenoTcpConn<S>(c, handlers, state, () => {});
  handlers.open(conn);
  void conn.readLoop();
  return conn;
}
