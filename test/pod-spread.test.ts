// Upstream load spread across CoreDNS "pods" behind a Service IP, with kube-proxy's iptables DNAT
// rules (-m statistic --mode random) inside a network namespace this test creates.
import { test, expect, beforeAll, afterAll } from "bun:test";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, netnsUnavailable, type Netns } from "./helpers/netns";
import { BINARY } from "./helpers/binary";
import { sleep } from "./helpers/dns";

const SERVICE_IP = "10.0.0.10";
const PODS = ["10.244.0.2", "10.244.0.3", "10.244.0.4"];
const why = netnsUnavailable();
if (why) console.log(`skipping kube-proxy spread tests: ${why}`);

let ns: Netns;
let dir: string;
const pods = new Map<string, ReturnType<Netns["start"]>>();
const bun = process.execPath;
const helper = (f: string) => join(import.meta.dir, "helpers", f);

function ipt(args: string[]) {
  const r = ns.exec("iptables", ["-w", "5", "-t", "nat", ...args]);
  if (r.status !== 0) throw new Error(`iptables ${args.join(" ")}: ${r.stderr}`);
}

/** Rewrites the Service's chains exactly as kube-proxy (iptables mode) writes them for these endpoints. */
function setEndpoints(ips: string[]) {
  for (const proto of ["udp", "tcp"]) {
    const svc = `KUBE-SVC-DNS${proto.toUpperCase()}`;
    if (ns.exec("iptables", ["-w", "5", "-t", "nat", "-S", svc]).status !== 0) {
      ipt(["-N", svc]);
      ipt(["-A", "OUTPUT", "-d", `${SERVICE_IP}/32`, "-p", proto, "-m", proto, "--dport", "53", "-j", svc]);
    }
    ipt(["-F", svc]);
    ips.forEach((ip, k) => {
      const sep = `KUBE-SEP-${proto.toUpperCase()}-${ip.split(".").pop()}`;
      if (ns.exec("iptables", ["-w", "5", "-t", "nat", "-S", sep]).status !== 0) ipt(["-N", sep]);
      ipt(["-F", sep]);
      ipt(["-A", sep, "-p", proto, "-m", proto, "-j", "DNAT", "--to-destination", `${ip}:53`]);
      const left = ips.length - k;
      const pick = left > 1 ? ["-m", "statistic", "--mode", "random", "--probability", (1 / left).toFixed(11)] : [];
      ipt(["-A", svc, ...pick, "-j", sep]);
    });
  }
}

async function startPod(ip: string) {
  ns.exec("ip", ["addr", "add", `${ip}/32`, "dev", "lo"]);
  const p = ns.start(bun, [helper("counting-dns.ts"), ip, "53"]);
  for (let i = 0; i < 100 && !p.output().includes("READY"); i++) await sleep(50);
  pods.set(ip, p);
}

function counts(ip: string): { udp: number; tcp: number } {
  const r = ns.exec("dig", ["+short", "+time=1", "+tries=2", `@${ip}`, "count.localdns.test", "TXT"]);
  const m = /udp=(\d+)" "tcp=(\d+)/.exec(r.stdout);
  if (!m) throw new Error(`no count from ${ip}: ${r.stdout} ${r.stderr}`);
  return { udp: Number(m[1]), tcp: Number(m[2]) };
}

function load(host: string, port: number, prefix: string, suffix: string, count: number, concurrency = 20) {
  const r = ns.exec(bun, [helper("load-client.ts"), host, String(port), prefix, suffix, String(count), String(concurrency)], { timeoutMs: 120_000 });
  if (r.status !== 0) throw new Error(`load client failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as { ok: number; fail: number; timeout: number };
}

// SPREAD_OUT=file: record the measured distributions (bench/spread-chart.ts draws them for BENCHMARKS.md)
const results: Record<string, number[]> = {};
const record = (label: string, s: number[]) => { results[label] = s.map((x) => Math.round(1000 * x) / 10); };
afterAll(() => { if (process.env.SPREAD_OUT && Object.keys(results).length) writeFileSync(process.env.SPREAD_OUT, JSON.stringify(results, null, 2)); });

const share = (before: Record<string, { udp: number; tcp: number }>, proto: "udp" | "tcp", ips: string[]) => {
  const d = ips.map((ip) => counts(ip)[proto] - (before[ip]?.[proto] ?? 0));
  const total = d.reduce((a, b) => a + b, 0);
  return d.map((x) => x / total);
};
const snapshot = (ips: string[]) => Object.fromEntries(ips.map((ip) => [ip, counts(ip)]));

let ldns: ReturnType<Netns["start"]>;
beforeAll(async () => {
  if (why) return;
  ns = createNetns("ldns-k8s");
  ns.exec("ip", ["route", "add", "10.0.0.0/24", "dev", "lo"]);
  dir = mkdtempSync(join(tmpdir(), "ldns-k8s-"));
  await startPod(PODS[0]);
  await startPod(PODS[1]);
  setEndpoints(PODS.slice(0, 2));
  const cfg = join(dir, "localdns.json");
  writeFileSync(cfg, JSON.stringify({
    listeners: { vnetDNS: ["127.0.0.1:5353"], kubeDNS: ["127.0.0.1:5354"] },
    upstreams: { ClusterCoreDNS: [`${SERVICE_IP}:53`], VnetDNS: ["127.0.0.9:53"] },
    admin: { listen: null }, cache: { snapshotPath: null },
    // recycling by query count makes the spread converge within a short test; production defaults
    // recycle by age (30 s) and every 20,000 queries
    forward: { tcpMaxAgeMs: 1000, tcpMaxQueries: 25, attemptTimeoutMs: 500 },
  }));
  ldns = ns.start(BINARY, ["run", "--config", cfg]);
  for (let i = 0; i < 100 && !ldns.output().includes("localdns started"); i++) await sleep(50);
  if (!ldns.output().includes("localdns started")) throw new Error(ldns.output());
}, 30_000);
afterAll(() => { ns?.destroy(); if (dir) rmSync(dir, { recursive: true, force: true }); });

const maybe = why ? test.skip : test;

maybe("ForceTCP (cluster.local): two pods each get at least 35 %", () => {
  const before = snapshot(PODS.slice(0, 2));
  const r = load("127.0.0.1", 5354, "tcp-a", "svc.cluster.local", 3000);
  expect(r).toEqual({ ok: 3000, fail: 0, timeout: 0 });
  const s = share(before, "tcp", PODS.slice(0, 2));
  console.log(`ForceTCP via localdns, 2 pods: ${s.map((x) => (100 * x).toFixed(1) + " %").join(" / ")}`);
  record("localdns, ForceTCP (cluster.local)", s);
  for (const x of s) expect(x).toBeGreaterThanOrEqual(0.35);
}, 60_000);

maybe("PreferUDP (.): two pods each get at least 35 %", () => {
  const before = snapshot(PODS.slice(0, 2));
  const r = load("127.0.0.1", 5354, "udp-a", "example.com", 3000);
  expect(r).toEqual({ ok: 3000, fail: 0, timeout: 0 });
  const s = share(before, "udp", PODS.slice(0, 2));
  console.log(`PreferUDP via localdns, 2 pods: ${s.map((x) => (100 * x).toFixed(1) + " %").join(" / ")}`);
  record("localdns, PreferUDP (.)", s);
  for (const x of s) expect(x).toBeGreaterThanOrEqual(0.35);
}, 60_000);

maybe("a third pod gets traffic within one recycle period", async () => {
  await startPod(PODS[2]);
  setEndpoints(PODS);
  const before = snapshot(PODS);
  for (let round = 0; round < 3; round++) {
    expect(load("127.0.0.1", 5354, `tcp-b${round}`, "svc.cluster.local", 300).ok).toBe(300);
    expect(load("127.0.0.1", 5354, `udp-b${round}`, "example.com", 300).ok).toBe(300);
    await sleep(600);
  }
  const after = counts(PODS[2]);
  console.log(`third pod after ~2 s: tcp ${after.tcp - before[PODS[2]].tcp}, udp ${after.udp - before[PODS[2]].udp}`);
  expect(after.tcp - before[PODS[2]].tcp).toBeGreaterThan(0);
  expect(after.udp - before[PODS[2]].udp).toBeGreaterThan(0);
}, 60_000);

maybe("removing a pod mid-run: clients see no failures", async () => {
  const tcpRun = Bun.spawn(["ip", "netns", "exec", ns.name, bun, helper("load-client.ts"), "127.0.0.1", "5354", "tcp-c", "svc.cluster.local", "3000", "20"], { stdout: "pipe" });
  const udpRun = Bun.spawn(["ip", "netns", "exec", ns.name, bun, helper("load-client.ts"), "127.0.0.1", "5354", "udp-c", "example.com", "3000", "20"], { stdout: "pipe" });
  await sleep(300);
  setEndpoints([PODS[0], PODS[2]]);
  pods.get(PODS[1])!.kill("SIGKILL");
  const [t, u] = await Promise.all([new Response(tcpRun.stdout).text(), new Response(udpRun.stdout).text()]);
  const tr = JSON.parse(t.trim());
  const ur = JSON.parse(u.trim());
  console.log(`pod removed mid-run: tcp ${JSON.stringify(tr)}, udp ${JSON.stringify(ur)}`);
  expect(tr).toEqual({ ok: 3000, fail: 0, timeout: 0 });
  expect(ur).toEqual({ ok: 3000, fail: 0, timeout: 0 });
}, 60_000);

maybe("without localdns, one client socket talking to the Service IP stays pinned to one pod", () => {
  const live = [PODS[0], PODS[2]];
  const before = snapshot(live);
  const r = load(SERVICE_IP, 53, "direct", "example.com", 2000);
  expect(r.ok).toBe(2000);
  const s = share(before, "udp", live);
  console.log(`direct from one UDP socket, 2 pods: ${s.map((x) => (100 * x).toFixed(1) + " %").join(" / ")}`);
  record("no localdns: one client UDP socket", s);
  expect(Math.max(...s)).toBeGreaterThan(0.99);
}, 60_000);
