// Every admin route through app.request() (no socket), with metrics checked after real queries.
import { test, expect, beforeAll, afterAll, describe } from "bun:test";
import { startFakeUpstream, type FakeUpstream } from "./helpers/fake-upstream";
import { startInProcess, type Started } from "./helpers/appliance";
import { query } from "./helpers/dns";
import { bearerMatches } from "../src/admin/app";
import { readExposition, sumOf, valueOf } from "./helpers/exposition";

let up: FakeUpstream;
let s: Started;
beforeAll(async () => {
  up = await startFakeUpstream("127.0.0.3");
  s = await startInProcess({ upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] } });
});
afterAll(async () => { await s.stop(); await up.stop(); });

const req = (path: string, init?: RequestInit) => s.app.adminApp.request(path, init);
const scrape = async () => await readExposition(await (await req("/metrics")).text());

test("GET /health is OK while the process runs", async () => {
  const r = await req("/health");
  expect(r.status).toBe(200);
  expect(await r.text()).toBe("OK");
});

test("GET /ready is 200 with listeners bound and upstreams usable, 503 with reasons otherwise", async () => {
  expect((await req("/ready")).status).toBe(200);
  for (const list of s.app.upstreams.values()) for (const u of list) u.down = true;
  const r = await req("/ready");
  expect(r.status).toBe(503);
  expect((await r.json()).reasons.join(" ")).toMatch(/every upstream is down/);
  for (const list of s.app.upstreams.values()) for (const u of list) u.down = false;
});

describe("metrics move with traffic", () => {
  test("content type and families", async () => {
    const r = await req("/metrics");
    expect(r.headers.get("content-type")).toContain("text/plain; version=0.0.4");
    const names = (await readExposition(await r.text())).map((f) => f.name);
    for (const name of ["coredns_dns_requests_total", "coredns_dns_responses_total", "coredns_dns_request_duration_seconds", "coredns_cache_entries",
      "coredns_cache_hits_total", "coredns_cache_misses_total", "coredns_cache_requests_total", "coredns_cache_served_stale_total", "coredns_cache_evictions_total",
      "coredns_cache_prefetch_total", "coredns_proxy_request_duration_seconds", "coredns_proxy_healthcheck_failures_total",
      "coredns_forward_max_concurrent_rejects_total", "coredns_proxy_conn_cache_hits_total", "coredns_proxy_conn_cache_misses_total",
      "localdns_build_info", "process_resident_memory_bytes", "process_cpu_seconds_total", "process_open_fds", "process_max_fds", // bun: /proc/self readable
      "process_start_time_seconds", "localdns_cache_bytes", "localdns_upstream_up", "localdns_config_reloads_total"]) {
      expect({ name, present: names.includes(name) }).toEqual({ name, present: true });
    }
  });

  test("a miss then a hit; a flush makes the next query a miss again; cache series carry server and zones", async () => {
    const at = { server: "vnetDNS", zones: "." };
    const hits = async () => valueOf(await scrape(), "coredns_cache_hits_total", { ...at, type: "success" }) ?? NaN;
    const misses = async () => valueOf(await scrape(), "coredns_cache_misses_total", at) ?? NaN;
    const [h0, m0] = [await hits(), await misses()];
    await query(s.vnet.host, s.vnet.port, "metric.example.org");
    expect([await hits() - h0, await misses() - m0]).toEqual([0, 1]);
    await query(s.vnet.host, s.vnet.port, "metric.example.org");
    expect([await hits() - h0, await misses() - m0]).toEqual([1, 1]);
    const f = await req("/cache/flush?name=metric.example.org", { method: "POST" });
    expect(await f.json()).toEqual({ flushed: 1 });
    await query(s.vnet.host, s.vnet.port, "metric.example.org");
    expect([await hits() - h0, await misses() - m0]).toEqual([1, 2]);
    const m = await scrape();
    expect(valueOf(m, "coredns_cache_requests_total", at)).toBe(h0 + m0 + 3);
    expect(valueOf(m, "coredns_cache_misses_total", { server: "kubeDNS", zones: "cluster.local" })).toBe(0);
    expect(valueOf(m, "coredns_dns_requests_total", { server: "vnetDNS", zone: ".", proto: "udp", family: "1", type: "A" })).toBeGreaterThanOrEqual(3);
    expect(valueOf(m, "coredns_dns_responses_total", { server: "vnetDNS", zone: ".", rcode: "NOERROR" })).toBeGreaterThanOrEqual(3);
    expect(sumOf(m, "coredns_proxy_request_duration_seconds_count", { destination: "VnetDNS", rcode: "NOERROR" })).toBe(2);
  });
});

describe("cache control", () => {
  test("flush by zone, by name and type, and everything", async () => {
    for (const n of ["a.svc.cluster.local", "b.svc.cluster.local", "x.example.org"]) await query(s.kube.host, s.kube.port, n);
    await query(s.kube.host, s.kube.port, "x.example.org", "AAAA");
    expect(await (await req("/cache/flush?zone=cluster.local", { method: "POST" })).json()).toEqual({ flushed: 2 });
    expect(await (await req("/cache/flush?name=x.example.org&type=AAAA", { method: "POST" })).json()).toEqual({ flushed: 1 });
    const all = await (await req("/cache/flush", { method: "POST" })).json();
    expect(all.flushed).toBeGreaterThanOrEqual(1);
    expect((await (await req("/cache/stats")).json()).entries).toBe(0);
  });

  test("stats report entries per zone", async () => {
    await query(s.kube.host, s.kube.port, "s1.svc.cluster.local");
    const st = await (await req("/cache/stats")).json();
    expect(st.zones.find((z: any) => z.listener === "kubeDNS" && z.zone === "cluster.local").entries).toBe(1);
    for (const k of ["entries", "bytes", "hits", "misses", "staleServed", "evictions"]) expect(st).toHaveProperty(k);
  });
});

test("GET /config is the config in the file's shape with defaults filled in", async () => {
  const c = await (await req("/config")).json();
  expect(c.vnetDNSOverrides["."].maxConcurrent).toBe(1000);
  expect(c.kubeDNSOverrides["cluster.local"].protocol).toBe("ForceTCP");
  expect(c.upstreams.VnetDNS).toEqual([`${up.host}:${up.port}`]);
});

test("POST /reload without a source is a 400 with the reason", async () => {
  const r = await req("/reload", { method: "POST" });
  expect(r.status).toBe(400);
  expect((await r.json()).reloaded).toBe(false);
});

describe("bad requests get a 4xx with a JSON error", () => {
  const cases: [string, RequestInit | undefined, number][] = [
    ["/nope", undefined, 404],
    ["/cache/flush", { method: "GET" }, 405],
    ["/metrics", { method: "POST" }, 405],
    ["/cache/flush?zone=a..b", { method: "POST" }, 400],
    ["/cache/flush?name=x.example.org&type=BOGUS", { method: "POST" }, 400],
    ["/cache/flush?zone=a&name=b", { method: "POST" }, 400],
    ["/cache/flush?colour=red", { method: "POST" }, 400],
    ["/cache/flush?type=A", { method: "POST" }, 400],
  ];
  for (const [path, init, status] of cases) {
    test(`${init?.method ?? "GET"} ${path} → ${status}`, async () => {
      const r = await req(path, init);
      expect(r.status).toBe(status);
      expect(typeof (await r.json()).error).toBe("string");
    });
  }
});

test("with a token configured, mutating endpoints need it", async () => {
  const t = await startInProcess({ upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] }, admin: { listen: null, token: "0123456789abcdef0123" } });
  try {
    expect((await t.app.adminApp.request("/cache/flush", { method: "POST" })).status).toBe(401);
    expect((await t.app.adminApp.request("/cache/flush", { method: "POST", headers: { authorization: "Bearer 0123456789abcdef0123" } })).status).toBe(200);
    expect((await t.app.adminApp.request("/metrics")).status).toBe(200);
  } finally { await t.stop(); }
});

test("the bearer token is compared whole, whatever the guess's length or prefix", async () => {
  const token = "0123456789abcdef0123";
  expect(bearerMatches(`Bearer ${token}`, token)).toBe(true);
  for (const wrong of [undefined, "", "Bearer", `Bearer ${token.slice(0, -1)}`, `Bearer ${token}0`, `Bearer ${token.slice(0, -1)}4`, `bearer ${token}`, token, `Bearer  ${token}`, `Bearer ${token}\u00e9`]) {
    expect(bearerMatches(wrong, token)).toBe(false);
  }
  const t = await startInProcess({ upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] }, admin: { listen: null, token } });
  try {
    for (const auth of [`Bearer ${token.slice(0, -1)}`, `Bearer ${token}x`, `Basic ${token}`]) {
      expect((await t.app.adminApp.request("/reload", { method: "POST", headers: { authorization: auth } })).status).toBe(401);
    }
  } finally { await t.stop(); }
});
