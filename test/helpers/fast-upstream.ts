// A fast, allocation-light upstream for load and fuzz runs (UDP + TCP on one loopback port). It parses
// only what it needs (the question), never throws on odd input, and answers deterministically:
//   - a name whose first label starts with "nx"  → NXDOMAIN with a SOA in the authority section
//   - a name whose first label starts with "big" → TXT records of about `bigBytes` octets (over UDP,
//     TC=1 when the answer is larger than the query's EDNS size, so the client retries over TCP)
//   - A / AAAA                                   → one record whose address is a hash of the name
//   - anything else                              → NOERROR without records (NODATA)
// TTL: `hotTtl` for names under `hotSuffix` (lower case match), else `ttl`.
// Run as a script (for the soak and restart scripts, so it can be killed and restarted):
//   bun test/helpers/fast-upstream.ts HOST PORT [ttl] [hotTtl]   → prints "READY port" once bound
import * as dgram from "node:dgram";
import * as net from "node:net";
import { frame, FrameReader } from "./frames";

export interface FastUpstreamOptions { ttl?: number; hotTtl?: number; hotSuffix?: string; bigBytes?: number; delayMs?: number }
export interface FastUpstream { host: string; port: number; queries: { udp: number; tcp: number }; stop(): Promise<void> }

/** The address the fast upstream answers for a name (lower-cased wire or presentation form alike). */
export function addressFor(name: string): string {
  const h = hashName(name.toLowerCase().replace(/\.$/, ""));
  return `10.${(h >>> 16) & 0xff}.${(h >>> 8) & 0xff}.${h & 0xff}`;
}

function hashName(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}

/** Returns the reply to `q`, or null when there is no readable question. */
export function fastAnswer(q: Uint8Array, udp: boolean, o: FastUpstreamOptions = {}): Uint8Array | null {
  if (q.length < 12 || q[2] & 0x80) return null;
  if (((q[4] << 8) | q[5]) !== 1) return null;
  let p = 12;
  const labels: string[] = [];
  for (let hops = 0; hops < 128; hops++) {
    if (p >= q.length) return null;
    const n = q[p];
    if (n === 0) break;
    if (n > 63 || p + 1 + n > q.length) return null;
    let l = "";
    for (let i = 0; i < n; i++) { const c = q[p + 1 + i]; l += String.fromCharCode(c >= 65 && c <= 90 ? c | 0x20 : c); }
    labels.push(l);
    p += 1 + n;
  }
  if (p + 5 > q.length) return null;
  const qend = p + 5;
  const qtype = (q[p + 1] << 8) | q[p + 2];
  const name = labels.join(".");
  // EDNS size of the query (our upstream queries always carry an OPT as the last record)
  let ednsSize = 512;
  let hasOpt = false;
  if (q.length >= qend + 11 && q[qend] === 0 && q[qend + 1] === 0 && q[qend + 2] === 41) {
    hasOpt = true;
    ednsSize = Math.max(512, (q[qend + 3] << 8) | q[qend + 4]);
  }
  const hot = o.hotSuffix !== undefined && (name === o.hotSuffix || name.endsWith("." + o.hotSuffix));
  const ttl = hot ? (o.hotTtl ?? 3600) : (o.ttl ?? 0);
  const first = labels[0] ?? "";
  const parts: number[] = [];
  let rcode = 0, an = 0, ns = 0;
  const u16 = (v: number) => parts.push((v >> 8) & 0xff, v & 0xff);
  const u32 = (v: number) => { u16(v >>> 16); u16(v & 0xffff); };
  if (first.startsWith("nx")) {
    rcode = 3;
    ns = 1;
    // SOA owned by the question name: mname "." rname "." serial refresh retry expire minimum
    parts.push(0xc0, 12); u16(6); u16(1); u32(Math.max(ttl, 1)); u16(2 + 20); parts.push(0, 0);
    u32(1); u32(3600); u32(600); u32(86400); u32(Math.max(ttl, 1));
  } else if (first.startsWith("big") && qtype === 16) {
    const want = o.bigBytes ?? 16000;
    for (let n = 0; n < want; n += 256 + 12) {
      an++;
      parts.push(0xc0, 12); u16(16); u16(1); u32(ttl); u16(256);
      parts.push(255);
      for (let i = 0; i < 255; i++) parts.push(97 + ((i + an) % 26));
    }
  } else if (qtype === 1) {
    an = 1;
    parts.push(0xc0, 12); u16(1); u16(1); u32(ttl); u16(4);
    for (const x of addressFor(name).split(".")) parts.push(Number(x));
  } else if (qtype === 28) {
    an = 1;
    const h = hashName(name);
    parts.push(0xc0, 12); u16(28); u16(1); u32(ttl); u16(16);
    parts.push(0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, (h >>> 24) & 0xff, (h >>> 16) & 0xff, (h >>> 8) & 0xff, h & 0xff);
  }
  const opt = hasOpt ? [0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0] : [];
  let out = new Uint8Array(qend + parts.length + opt.length);
  out.set(q.subarray(0, qend));
  out.set(parts, qend);
  out.set(opt, qend + parts.length);
  out[2] = 0x80 | (q[2] & 0x01); // QR, RD echoed
  out[3] = 0x80 | (q[3] & 0x10) | rcode; // RA, CD echoed
  out[6] = an >> 8; out[7] = an & 0xff;
  out[8] = ns >> 8; out[9] = ns & 0xff;
  out[10] = 0; out[11] = hasOpt ? 1 : 0;
  if (udp && out.length > ednsSize) {
    const tc = new Uint8Array(qend + opt.length);
    tc.set(out.subarray(0, qend));
    tc.set(opt, qend);
    tc[2] |= 0x02;
    tc[6] = tc[7] = tc[8] = tc[9] = 0;
    out = tc;
  }
  return out;
}

export async function startFastUpstream(host: string, port = 0, o: FastUpstreamOptions = {}): Promise<FastUpstream> {
  const queries = { udp: 0, tcp: 0 };
  const udp = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  udp.on("error", () => {});
  await new Promise<void>((res, rej) => { udp.once("error", rej); udp.bind(port, host, () => res()); });
  const bound = udp.address().port;
  udp.on("message", (m, r) => {
    queries.udp++;
    const a = fastAnswer(m, true, o);
    if (!a) return;
    if (o.delayMs) setTimeout(() => udp.send(a, r.port, r.address), o.delayMs);
    else udp.send(a, r.port, r.address);
  });
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    const frames = new FrameReader();
    sock.on("data", (d) => {
      for (const msg of frames.push(d)) {
        queries.tcp++;
        const a = fastAnswer(msg, false, o);
        if (a && !sock.destroyed) sock.write(frame(a));
      }
    });
  });
  await new Promise<void>((res, rej) => { tcp.once("error", rej); tcp.listen(bound, host, () => res()); });
  return {
    host, port: bound, queries,
    async stop() {
      udp.close();
      for (const s of sockets) s.destroy();
      await new Promise((r) => tcp.close(() => r(null)));
    },
  };
}

if (import.meta.main) {
  const [host = "127.0.0.1", portText = "0", ttlText = "0", hotTtlText = "3600", hotSuffix = "hot.soak.test"] = process.argv.slice(2);
  const up = await startFastUpstream(host, Number(portText), { ttl: Number(ttlText), hotTtl: Number(hotTtlText), hotSuffix });
  console.log(`READY ${up.port}`);
  const stop = () => { void up.stop().finally(() => process.exit(0)); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
