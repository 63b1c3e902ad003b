// Traffic and inputs that try to exhaust localdns's memory or stall its event loop (issue 14): many
// TCP connections holding almost-complete 64 KiB frames, pipelines of huge padded queries or of
// queries that each produce an error log line, connections that pipeline big answers and never read,
// and configuration or hosts files far beyond what the core holds. Each generator is bounded (a count
// or a stop()) and releases every socket it opened.
import * as net from "node:net";
import packet from "dns-packet";
import { framed } from "./robust";
import { FrameReader } from "./frames";

export interface Target { host: string; port: number }

/** Opens `count` connections round-robin over `targets`, at most `parallel` connects at a time. A
 * connect that fails (the server refused or reset it) is counted, not thrown. */
export async function openMany(targets: Target[], count: number, parallel: number, onOpen: (s: net.Socket, i: number) => void): Promise<{ sockets: net.Socket[]; failed: number }> {
  const sockets: net.Socket[] = [];
  let failed = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const t = targets[i % targets.length];
      await new Promise<void>((res) => {
        const s = net.connect({ host: t.host, port: t.port });
        s.on("error", () => {});
        const timer = setTimeout(() => { failed++; s.destroy(); res(); }, 3000);
        s.once("connect", () => { clearTimeout(timer); sockets.push(s); onOpen(s, i); res(); });
        s.once("close", () => { clearTimeout(timer); res(); });
        s.once("error", () => { clearTimeout(timer); failed++; res(); });
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return { sockets, failed };
}

/** How many of `sockets` the server has closed (FIN or reset). */
export function closedCount(sockets: net.Socket[]): number {
  return sockets.filter((s) => s.destroyed || s.readableEnded || (s as any).closed).length;
}

export function destroyAll(sockets: net.Socket[]): void {
  for (const s of sockets) s.destroy();
}

/** Abuse 1: each connection sends a length prefix of 65,535 and then 65,534 octets, one short of the
 * message, and nothing more: the server holds ~64 KiB per connection until its idle timeout. */
export async function partialFrames(targets: Target[], count: number): Promise<{ sockets: net.Socket[]; failed: number }> {
  const frame = Buffer.alloc(2 + 65_534);
  frame.writeUInt16BE(65_535, 0);
  return openMany(targets, count, 64, (s) => { s.write(frame); });
}

/** A query padded with an EDNS PADDING option (RFC 7830) to exactly `size` octets. */
export function paddedQuery(name: string, size: number, id = 0x4242): Buffer {
  const bare = packet.encode({ type: "query", id, flags: packet.RECURSION_DESIRED, questions: [{ type: "A", name, class: "IN" }], additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, options: [{ code: "PADDING", length: 0 }] }] } as any);
  const q = packet.encode({ type: "query", id, flags: packet.RECURSION_DESIRED, questions: [{ type: "A", name, class: "IN" }], additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, options: [{ code: "PADDING", length: size - bare.length }] }] } as any);
  if (q.length !== size) throw new Error(`padded query is ${q.length} octets, not ${size}`);
  return q;
}

export interface Pipeline {
  /** queries written so far */
  sent(): number;
  /** answers read so far, by rcode (0 NOERROR, 2 SERVFAIL, 5 REFUSED, ...) */
  answers(): Record<number, number>;
  /** connections the server closed while the pipeline ran */
  closedByServer(): number;
  /** stops writing and closes every connection */
  stop(): void;
}

/** Abuses 2 and 3: `conns` connections (round-robin over targets) that write queries from `next()`
 * in batches of `batch` as fast as the server takes them (each batch written on 'drain'), read every
 * answer, and count them by rcode. */
export async function pipeline(targets: Target[], conns: number, next: () => Uint8Array, batch: number): Promise<Pipeline> {
  let sent = 0;
  let stopped = false;
  const rcodes: Record<number, number> = {};
  const pump = (s: net.Socket) => {
    while (!stopped && !s.destroyed) {
      const chunk: Buffer[] = [];
      for (let i = 0; i < batch; i++) chunk.push(framed(next()));
      sent += batch;
      if (!s.write(Buffer.concat(chunk))) return; // resumes on 'drain'
    }
  };
  const { sockets } = await openMany(targets, conns, conns, (s) => {
    const frames = new FrameReader();
    s.on("data", (d) => {
      for (const a of frames.push(d)) if (a.length >= 4) { const rc = a[3] & 0xf; rcodes[rc] = (rcodes[rc] ?? 0) + 1; }
    });
    s.on("drain", () => pump(s));
    pump(s);
  });
  return {
    sent: () => sent,
    answers: () => ({ ...rcodes }),
    closedByServer: () => closedCount(sockets),
    stop: () => { stopped = true; destroyAll(sockets); },
  };
}

/** Abuse 6: `conns` connections that each write `perConn` copies of `query` at once and never read
 * (the socket is paused), so the answers pile up on the server's side. */
export async function nonReaders(targets: Target[], conns: number, perConn: number, query: Uint8Array): Promise<{ sockets: net.Socket[]; failed: number }> {
  const burst = Buffer.concat(Array.from({ length: perConn }, () => framed(query)));
  return openMany(targets, conns, 50, (s) => { s.pause(); s.write(burst); });
}

/** Abuse 4: `n` extra zones (beyond "." and cluster.local) in each listener set, each forwarding
 * like ".". The core has room for 64 zones. */
export function manyZones(n: number, destination: "VnetDNS" | "ClusterCoreDNS"): Record<string, { forwardDestination: string }> {
  const out: Record<string, { forwardDestination: string }> = {};
  for (let i = 0; i < n; i++) out[`z${i}.zones.limits.test`] = { forwardDestination: destination };
  return out;
}

/** Abuse 4: `n` NXDOMAIN rules (the core holds about 58). */
export function manyRules(n: number): { suffix: string; minLabels: number }[] {
  return Array.from({ length: n }, (_, i) => ({ suffix: `r${i}.rules.limits.test`, minLabels: 1 }));
}

/** Abuse 5: a hosts(5) file giving `name` `v6` distinct IPv6 addresses and `mapped` distinct
 * IPv4-mapped ones (::ffff:a.b.c.d), plus whatever `extra` lines. */
export function bigHostsFile(name: string, v6: number, mapped: number, extra: string[] = []): string {
  const lines: string[] = [...extra];
  for (let i = 0; i < v6; i++) lines.push(`fd00:14::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)} ${name}`);
  for (let i = 0; i < mapped; i++) lines.push(`::ffff:10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff} ${name}`);
  return lines.join("\n") + "\n";
}
