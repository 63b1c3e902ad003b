// A scriptable upstream (UDP + TCP on one loopback port) for delays, drops, wrong IDs, truncation
// and garbage. Every query it sees is recorded.
import * as dgram from "node:dgram";
import * as net from "node:net";
import { packet } from "./dns";
import { frame, FrameReader } from "./frames";

export interface SeenQuery { id: number; name: string; type: string; proto: "udp" | "tcp"; raw: Buffer; remotePort: number }
export type Action =
  | { kind: "answer"; msg?: any; delayMs?: number; ttl?: number }
  | { kind: "drop" }
  | { kind: "raw"; bytes: Buffer | Buffer[]; delayMs?: number }
  | { kind: "close" };
export type Behaviour = (q: any, proto: "udp" | "tcp", raw: Buffer) => Action | undefined;

const RCODES: Record<string, number> = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 };

export function answerFor(q: any, opts: { ttl?: number; rcode?: string; tc?: boolean; answers?: any[]; authorities?: any[] } = {}) {
  const qq = q.questions[0];
  const answers = opts.answers ?? (opts.rcode && opts.rcode !== "NOERROR" ? [] :
    qq.type === "A" ? [{ name: qq.name, type: "A", ttl: opts.ttl ?? 60, data: "10.1.2.3" }] :
    qq.type === "AAAA" ? [{ name: qq.name, type: "AAAA", ttl: opts.ttl ?? 60, data: "fd00::1" }] : []);
  return {
    type: "response", id: q.id,
    // dns-packet encodes the rcode from the low bits of flags
    flags: packet.RECURSION_DESIRED | packet.RECURSION_AVAILABLE | (opts.tc ? packet.TRUNCATED_RESPONSE : 0) | RCODES[opts.rcode ?? "NOERROR"],
    questions: q.questions, answers, authorities: opts.authorities ?? [],
  };
}

export interface FakeUpstream {
  host: string; port: number;
  seen: SeenQuery[];
  tcpConnections: number;
  behaviour: Behaviour;
  stop(): Promise<void>;
}

export async function startFakeUpstream(host = "127.0.0.3", behaviour: Behaviour = () => undefined, port = 0): Promise<FakeUpstream> {
  const f: FakeUpstream = { host, port: 0, seen: [], tcpConnections: 0, behaviour, stop: async () => {} };
  const respond = (raw: Buffer, proto: "udp" | "tcp", remotePort: number, send: (b: Buffer) => void, close: () => void) => {
    let q: any;
    try { q = packet.decode(raw); } catch { return; }
    f.seen.push({ id: q.id, name: q.questions?.[0]?.name ?? "", type: q.questions?.[0]?.type ?? "", proto, raw, remotePort });
    const a: Action = f.behaviour(q, proto, raw) ?? { kind: "answer" };
    const later = (ms: number | undefined, fn: () => void) => (ms ? setTimeout(fn, ms) : fn());
    if (a.kind === "drop") return;
    if (a.kind === "close") { close(); return; }
    if (a.kind === "raw") { later(a.delayMs, () => (Array.isArray(a.bytes) ? a.bytes : [a.bytes]).forEach(send)); return; }
    const msg = a.msg ?? answerFor(q, { ttl: a.ttl });
    later(a.delayMs, () => send(packet.encode(msg)));
  };
  const udp = dgram.createSocket("udp4");
  await new Promise<void>((res, rej) => { udp.once("error", rej); udp.bind(port, host, () => res()); });
  f.port = udp.address().port;
  udp.on("message", (m, rinfo) => respond(m, "udp", rinfo.port, (b) => udp.send(b, rinfo.port, rinfo.address), () => {}));
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((sock) => {
    f.tcpConnections++;
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    const frames = new FrameReader();
    sock.on("data", (d) => {
      for (const msg of frames.push(d)) {
        respond(msg, "tcp", sock.remotePort ?? 0, (b) => { if (!sock.destroyed) sock.write(frame(b)); }, () => sock.destroy());
      }
    });
  });
  await new Promise<void>((res, rej) => { tcp.once("error", rej); tcp.listen(f.port, host, () => res()); });
  f.stop = async () => {
    udp.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => tcp.close(() => r(null)));
  };
  return f;
}
