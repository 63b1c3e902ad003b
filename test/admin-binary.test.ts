// The compiled binary's admin side, over real sockets: the metrics listener serves only /metrics and
// /health; the whole exposition parses with a real parser and has no duplicate series although one
// upstream serves both destinations; process_* and timed local answers; GET /config is a file
// `validate` accepts; /status after a reload; a metrics port in use is named in the error.
import { test, expect, beforeAll, afterAll, describe } from "bun:test";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createServer, type Server } from "node:net";
import { runBinary, freePort, BINARY, type RunningBinary } from "./helpers/binary";
import { startFakeUpstream, type FakeUpstream } from "./helpers/fake-upstream";
import { query, sleep } from "./helpers/dns";
import { readExposition, valueOf, sumOf, type Family } from "./helpers/exposition";

const TOKEN = "a-test-token-0123456789";
let up: FakeUpstream;
let bin: RunningBinary;
let port: number, adminPort: number, metricsPort: number;
const testStart = Date.now() / 1000;
const admin = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${adminPort}${path}`, init);
const metricsPortGet = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${metricsPort}${path}`, init);
const scrape = async () => readExposition(await (await metricsPortGet("/metrics")).text());

beforeAll(async () => {
  up = await startFakeUpstream("127.0.0.3");
  port = freePort();
  adminPort = freePort();
  metricsPort = freePort();
  bin = await runBinary({
    listeners: { vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${port + 1}`] },
    // one upstream for both destinations: two upstreams inside, told apart by destination
    upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] },
    admin: { listen: `127.0.0.1:${adminPort}`, metricsListen: `127.0.0.1:${metricsPort}`, token: TOKEN },
    cache: { snapshotPath: null },
  }, { probe: { host: "127.0.0.1", port } });
  // the loop answers DNS as soon as it runs; the HTTP servers are bound a moment later
  for (let i = 0; i < 100; i++) { try { await metricsPortGet("/health"); await admin("/health"); break; } catch { await sleep(50); } }
});
afterAll(async () => { await bin?.stop(); await up?.stop(); });

describe("admin.metricsListen", () => {
  test("serves /metrics and /health", async () => {
    const m = await metricsPortGet("/metrics");
    expect([m.status, m.headers.get("content-type")]).toEqual([200, "text/plain; version=0.0.4; charset=utf-8"]);
    const h = await metricsPortGet("/health");
    expect([h.status, await h.text()]).toEqual([200, "OK"]);
  });

  test("serves nothing else: no config, reload, flush, stats, status or readiness", async () => {
    const tried: [string, string][] = [["/config", "GET"], ["/reload", "POST"], ["/cache/flush", "POST"], ["/cache/stats", "GET"], ["/status", "GET"], ["/ready", "GET"], ["/", "GET"]];
    for (const [path, method] of tried) {
      // with the right token too: the port has no mutating API at all
      const r = await metricsPortGet(path, { method, headers: { authorization: `Bearer ${TOKEN}` } });
      expect({ path, method, status: r.status }).toEqual({ path, method, status: 404 });
    }
    expect((await metricsPortGet("/metrics", { method: "POST" })).status).toBe(405);
  });
});

describe("the exposition", () => {
  let m: Family[];
  beforeAll(async () => {
    for (const name of ["one.example", "two.example", "one.example", "x.cluster.local"]) await query("127.0.0.1", port, name);
    await query("127.0.0.1", port + 1, "y.cluster.local");
    m = await scrape();
  });

  test("parses whole with a real parser, with no duplicate series (one upstream serving both destinations)", async () => {
    // readExposition throws on a repeated series or family; here it did not
    const names = m.map((f) => f.name);
    for (const name of ["coredns_dns_requests_total", "coredns_dns_request_duration_seconds", "coredns_cache_hits_total", "coredns_proxy_request_duration_seconds", "localdns_upstream_up", "process_cpu_seconds_total"])
      expect({ name, present: names.includes(name) }).toEqual({ name, present: true });
    const to = `${up.host}:${up.port}`;
    for (const name of ["coredns_proxy_healthcheck_failures_total", "localdns_upstream_up", "localdns_upstream_queries_total", "localdns_upstream_failures_total",
      "localdns_upstream_open_connections", "localdns_upstream_connections_recycled_total"]) {
      const series = m.find((f) => f.name === name)!.samples.map((s) => s.labels);
      expect({ name, series }).toEqual({ name, series: [{ to, destination: "ClusterCoreDNS" }, { to, destination: "VnetDNS" }] });
    }
    // 3 misses on the vnet listener's "." (one.example twice: one hit), cluster.local on both listeners
    expect(valueOf(m, "localdns_upstream_queries_total", { to, destination: "VnetDNS" })).toBe(2);
    expect(valueOf(m, "localdns_upstream_queries_total", { to, destination: "ClusterCoreDNS" })).toBe(2);
    expect(valueOf(m, "coredns_cache_hits_total", { server: "vnetDNS", zones: ".", type: "success" })).toBe(1);
    expect(valueOf(m, "coredns_cache_misses_total", { server: "vnetDNS", zones: "." })).toBe(2);
    expect(valueOf(m, "coredns_cache_misses_total", { server: "vnetDNS", zones: "cluster.local" })).toBe(1);
    expect(valueOf(m, "coredns_cache_misses_total", { server: "kubeDNS", zones: "cluster.local" })).toBe(1);
    expect(valueOf(m, "coredns_cache_entries", { server: "vnetDNS", zones: ".", type: "all" })).toBe(2);
  });

  test("process_* as Prometheus's process collector has them (file descriptors where /proc/self can be read: not on Deno)", () => {
    const now = Date.now() / 1000;
    const start = valueOf(m, "process_start_time_seconds")!;
    expect(start).toBeGreaterThanOrEqual(testStart - 1); // started by this test
    expect(start).toBeLessThanOrEqual(now);
    expect(valueOf(m, "process_cpu_seconds_total")!).toBeGreaterThan(0);
    expect(valueOf(m, "process_resident_memory_bytes")!).toBeGreaterThan(1 << 20);
    const runtime = m.find((f) => f.name === "localdns_build_info")!.samples[0].labels.runtime;
    const names = m.map((f) => f.name);
    if (runtime.startsWith("deno")) {
      expect([names.includes("process_open_fds"), names.includes("process_max_fds")]).toEqual([false, false]);
      return;
    }
    const fds = valueOf(m, "process_open_fds")!;
    const max = valueOf(m, "process_max_fds")!;
    expect(fds).toBeGreaterThanOrEqual(3); // stdio at least, plus sockets
    expect(max === -1 || fds <= max).toBe(true);
  });

  test("local answers are timed: health checks and cache hits add to _sum, not only to the first bucket", async () => {
    const before = await scrape();
    const count0 = valueOf(before, "coredns_dns_request_duration_seconds_count", { server: "vnetDNS" })!;
    const sum0 = valueOf(before, "coredns_dns_request_duration_seconds_sum", { server: "vnetDNS" })!;
    for (let i = 0; i < 20; i++) await query("127.0.0.1", port, i % 2 ? "one.example" : "health-check.localdns.local");
    const after = await scrape();
    expect(valueOf(after, "coredns_dns_request_duration_seconds_count", { server: "vnetDNS" })! - count0).toBe(20);
    const added = valueOf(after, "coredns_dns_request_duration_seconds_sum", { server: "vnetDNS" })! - sum0;
    expect(added).toBeGreaterThan(0);
    expect(added).toBeLessThan(20 * 0.25); // each well under a quarter second
  });
});

test("GET /config is a config file `localdns validate` accepts as it is, the token replaced", async () => {
  const r = await admin("/config");
  expect(r.status).toBe(200);
  const text = await r.text();
  expect(text.includes(TOKEN)).toBe(false);
  const path = join(bin.dir, "served.json");
  writeFileSync(path, text);
  const v = spawnSync(BINARY, ["validate", "--config", path], { encoding: "utf8" });
  expect({ code: v.status, stderr: v.stderr }).toEqual({ code: 0, stderr: "" });
  const c = JSON.parse(text);
  expect(c.listeners).toEqual({ vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${port + 1}`] });
  expect(c.admin.metricsListen).toBe(`127.0.0.1:${metricsPort}`);
});

test("GET /status: uptime, the last reload (after SIGHUP), the recent query rate", async () => {
  const before = await (await admin("/status")).json();
  expect(before.reloads).toEqual({ ok: 0, failed: 0, last: null });
  const sent = Date.now();
  bin.proc.kill("SIGHUP");
  let s = before;
  for (let i = 0; i < 100 && s.reloads.ok === 0; i++) { await sleep(50); s = await (await admin("/status")).json(); }
  expect(s.reloads.ok).toBe(1);
  expect(s.reloads.last.ok).toBe(true);
  const at = Date.parse(s.reloads.last.at);
  expect(at).toBeGreaterThanOrEqual(sent - 5);
  expect(at).toBeLessThanOrEqual(Date.now());
  expect(s.uptimeSeconds).toBeGreaterThanOrEqual(0);
  // the rate needs a second since the first sample (taken at start)
  for (let i = 0; i < 40 && s.queriesPerSecond === null; i++) { await sleep(50); s = await (await admin("/status")).json(); }
  expect(s.queriesPerSecond).toBeGreaterThan(0);
  expect(s.rateWindowSeconds).toBeGreaterThanOrEqual(1);
});

test("a metrics port already in use: start fails naming admin.metricsListen and the address", async () => {
  const taken: Server = createServer();
  const p = freePort();
  await new Promise<void>((r) => taken.listen(p, "127.0.0.1", () => r()));
  const q = freePort();
  try {
    const b = await runBinary({
      listeners: { vnetDNS: [`127.0.0.1:${q}`], kubeDNS: [`127.0.0.1:${q + 1}`] },
      upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] },
      admin: { listen: null, metricsListen: `127.0.0.1:${p}` }, cache: { snapshotPath: null },
    });
    const code = await new Promise<number | null>((r) => b.proc.once("exit", (c) => r(c)));
    const out = b.stdout() + b.stderr();
    await b.stop();
    expect(code).toBe(1);
    expect(out).toContain(`admin.metricsListen 127.0.0.1:${p}: cannot listen: address already in use`);
  } finally { taken.close(); }
});
