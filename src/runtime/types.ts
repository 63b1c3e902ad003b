// The one seam between localdns and its JavaScript runtime. Everything runtime-specific (sockets, HTTP
// serving, files, signals, process exit, embedded assets) goes through this interface; the Bun and Deno
// adapters implement it and nothing else in src/ touches Bun.* or Deno.*.

/** Never throws: a datagram that cannot be sent is dropped, as UDP allows. */
export interface UdpSocket {
  readonly port: number;
  readonly hostname: string;
  /** Datagrams that could not be sent, even after one retry (counted, never thrown). */
  readonly sendFailures: number;
  /** Sends one datagram; false under backpressure (the datagram is dropped, as UDP allows). */
  send(data: Uint8Array, port: number, address: string): boolean;
  /** Sends [data, port, address, data, port, address, ...] in one batch where the runtime can. Every
   * datagram is attempted: one that fails never stops the others. Returns how many were sent. */
  sendMany(packets: (Uint8Array | number | string)[]): number;
  close(): void;
}

export type UdpDataHandler = (sock: UdpSocket, data: Uint8Array, port: number, address: string) => void;

export interface TcpConn<S = unknown> {
  /** Per-connection state owned by the caller. */
  state: S;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Writes as much as the kernel takes now; returns the number of bytes written. */
  write(data: Uint8Array): number;
  end(): void;
  /** Stops reading (the peer sees TCP backpressure); data already read may still be delivered. */
  pause(): void;
  /** Reads again after pause(). */
  resume(): void;
}

export interface TcpHandlers<S> {
  open(conn: TcpConn<S>): void;
  /** chunk is valid during this call only (the runtime may reuse it): copy what you keep. */
  data(conn: TcpConn<S>, chunk: Uint8Array): void;
  drain(conn: TcpConn<S>): void;
  close(conn: TcpConn<S>, error?: Error): void;
  /** The peer finished sending (a FIN: half-close) but may still read. Without this handler the
   * connection is ended once queued writes are out. */
  end?(conn: TcpConn<S>): void;
}

export interface TcpServer {
  readonly port: number;
  /** Stops accepting; open connections stay (a shutdown lets them finish). */
  stopAccepting(): void;
  /** Stops accepting and closes every open connection. */
  stop(): void;
}

export interface HttpServer {
  readonly port: number;
  stop(): Promise<void> | void;
}

/** A file opened for reading piece by piece. */
export interface ChunkReader {
  readonly size: number;
  /** Fills `into` from where the last read stopped; returns how many bytes came, 0 at the end. */
  read(into: Uint8Array): number;
  close(): void;
}

/** A file written beside its final path and moved there in one step by commit(). */
export interface AtomicWriter {
  write(data: Uint8Array): void;
  commit(): void;
  abort(): void;
}

export interface Runtime {
  readonly name: string;
  readonly version: string;
  bindUdp(hostname: string, port: number, onData: UdpDataHandler): Promise<UdpSocket>;
  /** A TCP listener on hostname:port, or on `fd`, a listening socket this process inherited (socket
   * activation; the runtime may not support that and throws then). */
  listenTcp<S>(hostname: string, port: number, handlers: TcpHandlers<S>, fd?: number): TcpServer;
  /** Whether listenTcp can serve a listening fd (Bun.listen({ fd })); Deno has no equivalent. A
   * takeover then listens beside the running instance itself (SO_REUSEPORT) and steers the group to
   * that listener (src/net/own-tcp-listener.ts). */
  readonly servesTcpFd: boolean;
  connectTcp<S>(hostname: string, port: number, handlers: TcpHandlers<S>, state: S): Promise<TcpConn<S>>;
  serveHttp(hostname: string, port: number, fetch: (req: Request) => Response | Promise<Response>): HttpServer;
  /** A regular file of at most maxBytes (default 1 MiB) as text. Anything else (a device, a FIFO, a
   * larger file) throws an error with code "EREFUSED" before a byte is read. */
  readTextFile(path: string, maxBytes?: number): string;
  /** Opens a regular file of at most maxBytes for reading in chunks (same refusals). */
  openChunks(path: string, maxBytes: number): ChunkReader;
  /** Starts writing a file that replaces `path` atomically (temp file, fsync, rename). */
  createAtomic(path: string): AtomicWriter;
  /** Creates the parent directory of `path` if missing (createAtomic also does). */
  makeParentDir(path: string): void;
  onSignal(signal: "SIGTERM" | "SIGINT" | "SIGHUP", handler: () => void): void;
  exit(code: number): never;
  env(name: string): string | undefined;
  args(): string[];
  /** The compiled packet core, embedded in the single binary. */
  loadCoreWasm(): Promise<Uint8Array>;
  /** Sends a systemd notification (READY=1, WATCHDOG=1, ...) to $NOTIFY_SOCKET; false if none. */
  notify(state: string): boolean;
  /** A full, synchronous garbage collection (a few ms), or nothing where the runtime offers none. */
  collectGarbage(): void;
  /** Resident set size of this process in bytes. */
  rss(): number;
  /** Writes to stdout without blocking the event loop, however slowly stdout drains; done() once the
   * OS took the bytes or the write failed. Callers bound what they hand over before done(). */
  writeStdout(data: Uint8Array, done: () => void): void;
}
