// Shared pieces of the robustness suites and long-run scripts: free ports, /proc readings of a
// process (RSS, open fds), running the binary on a given address, a multiplexing UDP client and
// a framed TCP client that count answers and losses.
import * as dgram from "node:dgram";
import * as net from "node:net";
import { readFileSync, readdirSync } from "node:fs";
import { runBinary, type RunningBinary } from "./binary";
import { sleep } from "./dns";
import { FrameReader } from "./frames";

/** Whether host:port is free for both TCP and UDP right now. */
export async function portFree(host: string, port: number): Promise<boolean> {
  const srv = net.createServer();
  const tcpOk = await new Promise<boolean>((res) => {
    srv.once("error", () => res(false));
    srv.listen(port, host, () => res(true));
  });
  if (!tcpOk) return false;
  const udp = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
  const ok = await new Promise<boolean>((res) => {
    udp.once("error", () => res(false));
    udp.bind(port, host, () => res(true));
  });
  await new Promise((r) => srv.close(() => r(null)));
  try { udp.close(); } catch { /* never bound */ }
  return ok;
}

/** A port free for both UDP and TCP on every one of `hosts` right now, below the kernel's ephemeral
 * range (32768+) so that no outgoing socket of parallel work takes it between now and a restart. */
export async function pickPort(...hosts: string[]): Promise<number> {
  if (hosts.length === 0) hosts = ["127.0.0.1"];
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    let ok = true;
    for (const h of hosts) if (!(ok = await portFree(h, port))) break;
    if (ok) return port;
  }
  throw new Error(`no free port on ${hosts.join(", ")}`);
}

/** VmRSS of a process in KiB (from /proc/PID/status). */
export function rssKiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** Open file descriptors of a process. */
export function fdCount(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

export interface BinaryOn { bin: RunningBinary; host: string; port: number; kubeHost: string; kubePort: number; admin: string | null; pid: number }

/** Runs dist/localdns with its vnet listener on host:port (kube on host2:port), both sets forwarding
 * to `upstream`; `extra` is merged over the config (top-level keys replace). */
export async function runBinaryOn(o: {
  host: string; kubeHost?: string; port?: number; upstream: { host: string; port: number }; admin?: boolean; extra?: Record<string, unknown>; env?: Record<string, string>;
}): Promise<BinaryOn> {
  const kubeHost = o.kubeHost ?? o.host.replace(/\.(\d+)$/, (_, d) => `.${Number(d) + 1}`);
  const port = o.port ?? await pickPort(o.host, kubeHost);
  const kubePort = kubeHost === o.host ? await pickPort(o.host) : port;
  let adminPort = 0;
  while (o.admin && (adminPort === 0 || adminPort === port || adminPort === kubePort)) adminPort = await pickPort(o.host);
  const up = [`${o.upstream.host}:${o.upstream.port}`];
  const config = {
    mode: "Required",
    listeners: { vnetDNS: [`${o.host}:${port}`], kubeDNS: [`${kubeHost}:${kubePort}`] },
    upstreams: { ClusterCoreDNS: up, VnetDNS: up },
    admin: { listen: o.admin ? `${o.host}:${adminPort}` : null },
    cache: { snapshotPath: null },
    ...o.extra,
  };
  const bin = await runBinary(config, { probe: { host: o.host, port }, env: o.env });
  return { bin, host: o.host, port, kubeHost, kubePort, admin: o.admin ? `http://${o.host}:${adminPort}` : null, pid: bin.proc.pid! };
}

/** Reads one metric sample (first line whose name and labels start with `prefix`) from /metrics. */
export async function metric(admin: string, prefix: string): Promise<number | null> {
  const text = await (await fetch(`${admin}/metrics`)).text();
  for (const line of text.split("\n")) if (line.startsWith(prefix)) return Number(line.slice(line.lastIndexOf(" ") + 1));
  return null;
}

/** A UDP client that keeps many queries outstanding on one socket and matches answers by ID. */
export class UdpMux {
  readonly sock: dgram.Socket;
  private readonly waiting = new Map<number, { resolve: (m: Buffer | null) => void; timer: ReturnType<typeof setTimeout> }>();
  private nextId = 1;
  stray = 0;
  private constructor(sock: dgram.Socket) {
    this.sock = sock;
    sock.on("error", () => {});
    sock.on("message", (m) => {
      if (m.length < 2) { this.stray++; return; }
      const w = this.waiting.get(m.readUInt16BE(0));
      if (!w) { this.stray++; return; }
      this.waiting.delete(m.readUInt16BE(0));
      clearTimeout(w.timer);
      w.resolve(m);
    });
  }
  static async open(family: 4 | 6 = 4): Promise<UdpMux> {
    const s = dgram.createSocket(family === 6 ? "udp6" : "udp4");
    await new Promise<void>((r) => s.bind(0, r));
    return new UdpMux(s);
  }
  get outstanding(): number { return this.waiting.size; }
  /** A free 16-bit ID. */
  id(): number {
    for (let i = 0; i < 65536; i++) {
      const id = this.nextId;
      this.nextId = (this.nextId % 65535) + 1;
      if (!this.waiting.has(id)) return id;
    }
    throw new Error("no free ID");
  }
  /** Sends msg (its ID already set) and resolves with the answer, or null after timeoutMs. */
  ask(msg: Uint8Array, host: string, port: number, timeoutMs = 2000): Promise<Buffer | null> {
    const id = (msg[0] << 8) | msg[1];
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.waiting.delete(id); resolve(null); }, timeoutMs);
      this.waiting.set(id, { resolve, timer });
      this.sock.send(msg, port, host);
    });
  }
  close(): void {
    for (const w of this.waiting.values()) { clearTimeout(w.timer); w.resolve(null); }
    this.waiting.clear();
    try { this.sock.close(); } catch { /* closed */ }
  }
}

/** Writes a raw query with a given ID over UDP and waits for any answer, or null. */
export async function udpOnce(host: string, port: number, msg: Uint8Array, timeoutMs = 1000): Promise<Buffer | null> {
  const mux = await UdpMux.open(host.includes(":") ? 6 : 4);
  try { return await mux.ask(msg, host, port, timeoutMs); } finally { mux.close(); }
}

/** Polls `cond` every `everyMs` until it is true or `ms` passed; returns whether it became true. */
export async function waitFor(cond: () => boolean | Promise<boolean>, ms: number, everyMs = 20): Promise<boolean> {
  const until = Date.now() + ms;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() >= until) return false;
    await sleep(everyMs);
  }
}

/** 2-octet length prefix. */
/** A message with its TCP length prefix (the shared test framing). */
export { frame as framed } from "./frames";

/** A TCP client connection that collects framed answers and notices when the server closes it. */
export class TcpClient {
  readonly sock: net.Socket;
  answers: Buffer[] = [];
  bytes = 0;
  closedAt: number | null = null; // when the server ended or reset the connection
  error: Error | null = null;
  private readonly frames = new FrameReader();
  private listeners: (() => void)[] = [];
  private constructor(sock: net.Socket) {
    this.sock = sock;
    sock.on("data", (d) => {
      this.bytes += d.length;
      this.answers.push(...this.frames.push(d));
      this.notify();
    });
    const closed = () => { if (this.closedAt === null) this.closedAt = Date.now(); this.notify(); };
    sock.on("end", closed);
    sock.on("close", closed);
    sock.on("error", (e) => { this.error = e; closed(); });
  }
  static connect(host: string, port: number, timeoutMs = 2000): Promise<TcpClient> {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host, port });
      const t = setTimeout(() => { sock.destroy(); reject(new Error("connect timeout")); }, timeoutMs);
      sock.once("connect", () => { clearTimeout(t); resolve(new TcpClient(sock)); });
      sock.once("error", (e) => { clearTimeout(t); reject(e); });
    });
  }
  private notify(): void { for (const l of this.listeners.splice(0)) l(); }
  /** Resolves once cond() holds (checked after each event) or after ms; returns cond(). */
  until(cond: () => boolean, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      if (cond()) { resolve(true); return; }
      const t = setTimeout(() => resolve(cond()), ms);
      const check = () => { if (cond()) { clearTimeout(t); resolve(true); } else this.listeners.push(check); };
      this.listeners.push(check);
    });
  }
  send(data: Uint8Array): boolean { return this.sock.write(data); }
  get closed(): boolean { return this.closedAt !== null; }
  destroy(): void { this.sock.destroy(); }
}
