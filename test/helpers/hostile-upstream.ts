// A scriptable hostile upstream (UDP + TCP on one loopback port) for the robustness suites. Unlike
// fake-upstream.ts the script sees where each query came from and may answer from other sockets
// (forged source port or address), send partial TCP frames, or reset a connection (RST).
import * as dgram from "node:dgram";
import * as net from "node:net";
import packet from "dns-packet";
import { frame, FrameReader } from "./frames";

export interface Query {
  raw: Buffer;
  /** dns-packet's decoding, or null if it could not decode */
  q: any | null;
  id: number;
  name: string;
  proto: "udp" | "tcp";
  from: { address: string; port: number };
  /** TCP: which connection (1, 2, ...) */
  conn: number;
  at: number;
}

export interface Reply {
  /** Sends a message (raw bytes, or a dns-packet object) on the query's transport, after delayMs. */
  send(msg: Buffer | object, delayMs?: number): void;
  /** TCP only: raw bytes on the connection (no length prefix added). */
  sendRaw(bytes: Buffer, delayMs?: number): void;
  /** TCP only: close the connection, with a reset (RST) or a plain FIN. */
  close(reset?: boolean, delayMs?: number): void;
}

export type Script = (q: Query, r: Reply) => void;

export interface HostileUpstream {
  host: string;
  port: number;
  seen: Query[];
  tcpConnections: number;
  script: Script;
  /** Sends `msg` over UDP from the upstream's own socket (its real address and port) to `to`. */
  sendUdp(msg: Buffer, to: { address: string; port: number }): void;
  /** Sends `msg` to `to` from another socket bound at fromHost:fromPort (0 = any free port): a forgery. */
  forge(msg: Buffer, to: { address: string; port: number }, fromHost?: string, fromPort?: number): Promise<void>;
  stop(): Promise<void>;
}

/** A well-formed answer to q (dns-packet object) with one A record. */
export function aAnswer(q: any, data = "10.1.2.3", over: Record<string, unknown> = {}): any {
  const qq = q.questions[0];
  return {
    type: "response", id: q.id, flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE,
    questions: q.questions, answers: qq.type === "A" ? [{ name: qq.name, type: "A", ttl: 300, data }] : [], ...over,
  };
}

export const encode = (m: Buffer | object): Buffer => (Buffer.isBuffer(m) ? m : packet.encode(m as any));

export async function startHostileUpstream(host: string, script: Script = (_q, r) => r.send(Buffer.alloc(0))): Promise<HostileUpstream> {
  const seen: Query[] = [];
  const udp = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  udp.on("error", () => {});
  await new Promise<void>((res, rej) => { udp.once("error", rej); udp.bind(0, host, () => res()); });
  const port = udp.address().port;
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number | undefined, fn: () => void) => {
    if (!ms) { fn(); return; }
    const t = setTimeout(() => { timers.delete(t); fn(); }, ms);
    timers.add(t);
  };
  const decode = (raw: Buffer) => { try { return packet.decode(raw) as any; } catch { return null; } };
  const u: HostileUpstream = {
    host, port, seen, tcpConnections: 0, script,
    sendUdp(msg, to) { udp.send(msg, to.port, to.address); },
    async forge(msg, to, fromHost = host, fromPort = 0) {
      if (fromHost === host && fromPort === port) throw new Error("forge: that is the upstream's own address; use sendUdp");
      const s = dgram.createSocket(fromHost.includes(":") ? "udp6" : "udp4");
      await new Promise<void>((res, rej) => { s.once("error", rej); s.bind(fromPort, fromHost, () => res()); });
      await new Promise<void>((res) => s.send(msg, to.port, to.address, () => res()));
      s.close();
    },
    stop: async () => {},
  };
  udp.on("message", (raw, rinfo) => {
    const q = decode(raw);
    const entry: Query = { raw, q, id: raw.length >= 2 ? raw.readUInt16BE(0) : -1, name: q?.questions?.[0]?.name ?? "", proto: "udp", from: { address: rinfo.address, port: rinfo.port }, conn: 0, at: Date.now() };
    seen.push(entry);
    u.script(entry, {
      send: (m, d) => later(d, () => udp.send(encode(m), rinfo.port, rinfo.address)),
      sendRaw: () => { throw new Error("sendRaw is TCP only"); },
      close: () => {},
    });
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((sock) => {
    const conn = ++u.tcpConnections;
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    const frames = new FrameReader();
    sock.on("data", (d) => {
      for (const raw of frames.push(d)) {
        const q = decode(raw);
        const entry: Query = { raw, q, id: raw.length >= 2 ? raw.readUInt16BE(0) : -1, name: q?.questions?.[0]?.name ?? "", proto: "tcp", from: { address: sock.remoteAddress ?? "", port: sock.remotePort ?? 0 }, conn, at: Date.now() };
        seen.push(entry);
        u.script(entry, {
          send: (m, d) => later(d, () => {
            if (!sock.destroyed) sock.write(frame(encode(m)));
          }),
          sendRaw: (b, d) => later(d, () => { if (!sock.destroyed) sock.write(b); }),
          close: (reset = false, d) => later(d, () => {
            if (sock.destroyed) return;
            if (reset && typeof (sock as any).resetAndDestroy === "function") (sock as any).resetAndDestroy();
            else if (reset) { sock.setNoDelay(true); sock.destroy(); }
            else sock.end();
          }),
        });
      }
    });
  });
  await new Promise<void>((res, rej) => { tcp.once("error", rej); tcp.listen(port, host, () => res()); });
  u.stop = async () => {
    for (const t of timers) clearTimeout(t);
    udp.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => tcp.close(() => r(null)));
  };
  return u;
}
