// A probe that asks cached names at a steady rate over UDP, alternating between targets (the vnet and
// kube listeners), and records every query's wait and whether the answer was the expected address.
// It runs as its own process so that its clock and event loop are not disturbed by the abuse the
// test process generates: its latencies are the server's, not the test runner's.
//
//   startCachedProbe({ targets, names, qps })   → stop() resolves with the summary
//   bun test/helpers/cached-probe.ts JSON        (the child side; "stop" on stdin ends it)
import { spawn } from "node:child_process";
import * as dgram from "node:dgram";
import packet from "dns-packet";

export interface ProbeOptions {
  targets: { host: string; port: number }[];
  /** name → the A address it must get */
  names: { name: string; address: string }[];
  qps: number;
  /** a query unanswered this long counts as lost (its wait is recorded as this) */
  timeoutMs?: number;
  /** a wait at or above this is a stall */
  stallMs?: number;
}

export interface ProbeResult {
  sent: number;
  answered: number;
  wrong: number;
  lost: number;
  /** waits ≥ stallMs (lost ones included) */
  stalls: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** up to 10 descriptions of wrong, lost or stalled queries, with the time since the start */
  problems: string[];
}

interface Pending { sentAt: number; name: string; address: string; target: number; timer: ReturnType<typeof setTimeout> }

async function runProbe(o: ProbeOptions, stopped: Promise<void>): Promise<ProbeResult> {
  const timeoutMs = o.timeoutMs ?? 2000;
  const stallMs = o.stallMs ?? 500;
  const sock = dgram.createSocket(o.targets[0].host.includes(":") ? "udp6" : "udp4");
  sock.on("error", () => {});
  await new Promise<void>((r) => sock.bind(0, r));
  const t0 = performance.now();
  const waits: number[] = [];
  const problems: string[] = [];
  const r = { sent: 0, answered: 0, wrong: 0, lost: 0, stalls: 0 };
  const pending = new Map<number, Pending>();
  const note = (p: Pending, what: string) => { if (problems.length < 10) problems.push(`t=${Math.round(p.sentAt - t0)}ms ${o.targets[p.target].host}:${o.targets[p.target].port} ${p.name}: ${what}`); };
  const settle = (id: number, msg: Buffer | null) => {
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    clearTimeout(p.timer);
    const wait = msg ? performance.now() - p.sentAt : timeoutMs;
    waits.push(wait);
    if (!msg) { r.lost++; r.stalls++; note(p, `no answer in ${timeoutMs} ms`); return; }
    r.answered++;
    let got = "undecodable";
    try {
      const a = packet.decode(msg) as any;
      got = `${a.rcode} ${a.answers?.filter((x: any) => x.type === "A").map((x: any) => x.data).join(",") || "(no A)"}`;
    } catch { /* counted as wrong */ }
    if (got !== `NOERROR ${p.address}`) { r.wrong++; note(p, `got ${got}, want ${p.address}`); }
    if (wait >= stallMs) { r.stalls++; note(p, `waited ${Math.round(wait)} ms`); }
  };
  sock.on("message", (m) => { if (m.length >= 12) settle(m.readUInt16BE(0), m); });
  let id = 0;
  let done = false;
  void stopped.then(() => { done = true; });
  const every = 1000 / o.qps;
  while (!done) {
    // catch up on the schedule (timers fire late when the machine is busy) but never burst more than 5
    const due = Math.min(Math.floor((performance.now() - t0) / every) - r.sent + 1, 5);
    for (let k = 0; k < due; k++) {
      do id = (id % 65535) + 1; while (pending.has(id));
      const n = o.names[r.sent % o.names.length];
      const target = r.sent % o.targets.length;
      const q = packet.encode({ type: "query", id, flags: packet.RECURSION_DESIRED, questions: [{ type: "A", name: n.name, class: "IN" }] } as any);
      const myId = id;
      pending.set(id, { sentAt: performance.now(), name: n.name, address: n.address, target, timer: setTimeout(() => settle(myId, null), timeoutMs) });
      sock.send(q, o.targets[target].port, o.targets[target].host);
      r.sent++;
    }
    await new Promise((res) => setTimeout(res, Math.max(1, every / 2)));
  }
  while (pending.size) await new Promise((res) => setTimeout(res, 20));
  sock.close();
  const sorted = waits.sort((a, b) => a - b);
  const pct = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0);
  const round = (x: number) => Math.round(x * 10) / 10;
  return { ...r, p50Ms: round(pct(0.5)), p99Ms: round(pct(0.99)), maxMs: round(sorted.at(-1) ?? 0), problems };
}

export interface RunningProbe { stop(): Promise<ProbeResult> }

/** Starts the probe as a child process; resolves once it is sending. */
export async function startCachedProbe(o: ProbeOptions): Promise<RunningProbe> {
  const child = spawn(process.execPath, [import.meta.path, JSON.stringify(o)], { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout!.on("data", (d) => { out += d; });
  const exited = new Promise<number | null>((res) => child.once("exit", (c) => res(c)));
  const until = Date.now() + 10_000;
  while (!out.includes("READY\n")) {
    if (child.exitCode !== null || Date.now() > until) { child.kill("SIGKILL"); throw new Error(`probe did not start: ${out}`); }
    await new Promise((res) => setTimeout(res, 10));
  }
  return {
    async stop() {
      child.stdin!.end("stop\n");
      const code = await exited;
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (code !== 0 || !line) throw new Error(`probe exited ${code}: ${out}`);
      return JSON.parse(line) as ProbeResult;
    },
  };
}

if (import.meta.main) {
  const o = JSON.parse(process.argv[2]) as ProbeOptions;
  const stopped = new Promise<void>((res) => {
    process.stdin.on("data", (d) => { if (String(d).includes("stop")) res(); });
    process.stdin.on("end", () => res());
  });
  const running = runProbe(o, stopped);
  process.stdout.write("READY\n");
  const r = await running;
  process.stdout.write(JSON.stringify(r) + "\n");
  process.exit(0);
}
