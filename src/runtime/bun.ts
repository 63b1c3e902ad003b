// Runtime adapter for Bun.
import { readTextCapped, openChunks, createAtomic, makeParentDir, TEXT_FILE_MAX_BYTES } from "./files";
import wasmPath from "../../build/core.wasm" with { type: "file" };
import { sdNotify } from "./bun-notify";
import type { Runtime, UdpSocket, UdpDataHandler, TcpConn, TcpHandlers, TcpServer, HttpServer } from "./types";

declare const Bun: any;

class BunTcpConn<S> implements TcpConn<S> {
  constructor(readonly sock: any, public state: S) {}
  get remoteAddress(): string { return this.sock.remoteAddress; }
  get remotePort(): number { return this.sock.remotePort ?? 0; }
  write(data: Uint8Array): number { return this.sock.write(data); }
  end(): void { this.sock.end(); }
  pause(): void { this.sock.pause(); }
  resume(): void { this.sock.resume(); }
}

function socketHandlers<S>(handlers: TcpHandlers<S>, initial: () => S) {
  return {
    open(sock: any) {
      sock.data = new BunTcpConn<S>(sock, initial());
      handlers.open(sock.data);
    },
    data(sock: any, chunk: Uint8Array) { handlers.data(sock.data, chunk); },
    drain(sock: any) { handlers.drain(sock.data); },
    close(sock: any, err?: Error) { if (sock.data) handlers.close(sock.data, err); },
    end(sock: any) { if (sock.data && handlers.end) handlers.end(sock.data); else sock.end(); },
    error(sock: any, err: Error) { if (sock.data) handlers.close(sock.data, err); },
    connectError(_sock: any, _err: Error) {},
  };
}

export const bunRuntime: Runtime = {
  name: "bun",
  servesTcpFd: true,
  version: typeof Bun !== "undefined" ? Bun.version : "",

  async bindUdp(hostname: string, port: number, onData: UdpDataHandler): Promise<UdpSocket> {
    let wrapped: UdpSocket;
    const sock = await Bun.udpSocket({
      hostname,
      port,
      socket: {
        data(_s: any, buf: Uint8Array, rport: number, raddr: string) { onData(wrapped, buf, rport, raddr); },
        // ICMP errors (port unreachable after we answered a client that left, or an upstream that is
        // down) surface here as ECONNREFUSED from recv: they are expected on UDP, never fatal
        error(_s: any, _err: Error) {},
      },
    });
    // A UDP socket reports an earlier ICMP error (port unreachable: a client that already left) by
    // failing the next send with ECONNREFUSED. That datagram was not sent; the error is consumed, so
    // one retry goes out. sendmmsg stops a batch at the first failing datagram and reports how many
    // went before it: the rest of the batch is sent on, so one departed client never costs others.
    let failures = 0;
    const sendOne = (data: Uint8Array, p: number, a: string): boolean => {
      try { if (sock.send(data, p, a)) return true; } catch { /* retried below */ }
      try { if (sock.send(data, p, a)) return true; } catch { /* dropped */ }
      failures++;
      return false;
    };
    const sendBatch = (packets: (Uint8Array | number | string)[], from: number): number => {
      try { return sock.sendMany(from === 0 ? packets : packets.slice(from * 3)); } catch { return 0; }
    };
    wrapped = {
      get port() { return sock.port; },
      get hostname() { return sock.hostname; },
      get sendFailures() { return failures; },
      send: sendOne,
      sendMany(packets) {
        const total = (packets.length / 3) | 0;
        let i = 0;
        let sent = 0;
        while (i < total) {
          const n = sendBatch(packets, i);
          sent += n;
          i += n;
          if (i >= total) break;
          // datagram i was refused: one retry on its own, then on with the rest
          if (sendOne(packets[i * 3] as Uint8Array, packets[i * 3 + 1] as number, packets[i * 3 + 2] as string)) sent++;
          i++;
        }
        return sent;
      },
      close: () => { try { sock.close(); } catch { /* already closed */ } },
    };
    return wrapped;
  },

  listenTcp<S>(hostname: string, port: number, handlers: TcpHandlers<S>, fd?: number): TcpServer {
    // allowHalfOpen: a client may send its queries, shut its write side and still read the answers
    const socket = socketHandlers(handlers, () => undefined as S);
    // Bun.listen serves an inherited listening fd (its types only list hostname/port and unix)
    // SO_REUSEPORT: a localdns started to take over (run --takeover) listens beside this one until it
    // has left; a second instance by mistake is stopped by its UDP bind first (see ffi-udp-path.ts)
    const server = fd === undefined ? Bun.listen({ hostname, port, allowHalfOpen: true, socket, reusePort: true })
      : Bun.listen({ fd, allowHalfOpen: true, socket } as unknown as Parameters<typeof Bun.listen>[0]);
    return { get port() { return fd === undefined ? server.port : port; }, stopAccepting: () => server.stop(false), stop: () => server.stop(true) };
  },

  connectTcp<S>(hostname: string, port: number, handlers: TcpHandlers<S>, state: S): Promise<TcpConn<S>> {
    return new Promise((resolve, reject) => {
      const h = socketHandlers(handlers, () => state);
      Bun.connect({
        hostname,
        port,
        socket: {
          ...h,
          open(sock: any) { h.open(sock); resolve(sock.data); },
          connectError(_sock: any, err: Error) { reject(err); },
        },
      }).catch(reject);
    });
  },

  serveHttp(hostname: string, port: number, fetch): HttpServer {
    // exclusive: with SO_REUSEPORT (Bun's default with development: false) a second instance would
    // bind the same admin port silently and take half of its requests
    const server = Bun.serve({ hostname, port, fetch, development: false, reusePort: false });
    return { get port() { return server.port; }, stop: () => server.stop(true) };
  },

  readTextFile: (path, maxBytes = TEXT_FILE_MAX_BYTES) => readTextCapped(path, maxBytes),
  openChunks,
  createAtomic: (path) => createAtomic(path, process.pid),
  makeParentDir,
  onSignal(signal, handler) { process.on(signal, handler); },
  exit(code: number): never { process.exit(code); },
  env: (name) => process.env[name],
  args: () => process.argv.slice(2),
  async loadCoreWasm() { return new Uint8Array(await Bun.file(wasmPath).arrayBuffer()); },
  rss: () => process.memoryUsage.rss(),
  // Bun writes a pipe or socket asynchronously (and a file or terminal at once): the callback is when
  // the bytes went out, so the caller can see how much is still waiting.
  writeStdout(data, done) {
    try { process.stdout.write(data, () => done()); } catch { done(); }
  },
  // a full collection, then JSC asked to give back what it no longer uses at its next idle moment
  collectGarbage: () => { Bun.gc(true); Bun.shrink(); },
  notify(state) {
    const sock = process.env.NOTIFY_SOCKET;
    return sock ? sdNotify(sock, state) : false;
  },
};
