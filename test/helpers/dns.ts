// DNS client helpers for tests, with dns-packet as the independent encoder/decoder.
import * as dgram from "node:dgram";
import * as net from "node:net";
import packet from "dns-packet";
import { frame, FrameReader } from "./frames";

export { packet };
export type Question = { name: string; type: string; class?: string };

let nextId = 1;
export function makeQuery(name: string, type = "A", opts: { id?: number; edns?: number | false; do?: boolean; rd?: boolean; cd?: boolean } = {}): Buffer {
  const id = opts.id ?? (nextId = (nextId * 7919 + 17) & 0xffff);
  const additionals: any[] = [];
  if (opts.edns !== false && opts.edns !== undefined) additionals.push({ type: "OPT", name: ".", udpPayloadSize: opts.edns, flags: opts.do ? packet.DNSSEC_OK : 0 });
  let flags = opts.rd === false ? 0 : packet.RECURSION_DESIRED;
  if (opts.cd) flags |= packet.CHECKING_DISABLED;
  return packet.encode({ type: "query", id, flags, questions: [{ name, type: type as any, class: "IN" }], additionals });
}

/** One UDP exchange; rejects after timeoutMs. Returns the raw answer. */
export function udpRaw(host: string, port: number, msg: Uint8Array, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    const t = setTimeout(() => { s.close(); reject(new Error(`udp timeout after ${timeoutMs} ms`)); }, timeoutMs);
    s.on("message", (m) => { clearTimeout(t); s.close(); resolve(m); });
    s.on("error", (e) => { clearTimeout(t); s.close(); reject(e); });
    s.send(msg, port, host);
  });
}

/** One TCP exchange (a fresh connection). */
export function tcpRaw(host: string, port: number, msg: Uint8Array, timeoutMs = 3000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port });
    const frames = new FrameReader();
    const t = setTimeout(() => { sock.destroy(); reject(new Error(`tcp timeout after ${timeoutMs} ms`)); }, timeoutMs);
    sock.on("connect", () => { sock.write(frame(msg)); });
    sock.on("data", (d) => {
      const [first] = frames.push(d);
      if (!first) return;
      clearTimeout(t);
      sock.destroy();
      resolve(first);
    });
    sock.on("error", (e) => { clearTimeout(t); reject(e); });
  });
}

export async function query(host: string, port: number, name: string, type = "A", opts: Parameters<typeof makeQuery>[2] & { tcp?: boolean; timeoutMs?: number } = {}) {
  const q = makeQuery(name, type, opts);
  const raw = opts.tcp ? await tcpRaw(host, port, q, opts.timeoutMs) : await udpRaw(host, port, q, opts.timeoutMs);
  return packet.decode(raw) as any;
}

export function sleep(ms: number): Promise<void> { return new Promise((r) => setTimeout(r, ms)); }
