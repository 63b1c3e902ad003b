// The admin apps built from a small real AdminDeps (a real core and query handler, no sockets), in
// the Hono style: app.request(). Methods and their 405s, the bearer token through Hono's middleware,
// the metrics-only app, GET /config round-tripping through the config builder, the request rate.
import { test, expect, describe } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Core } from "../src/core";
import { systemClock } from "../src/clock";
import { silentLogger } from "../src/log";
import { buildConfig, type EffectiveConfig } from "../src/config/effective";
import { QueryHandler } from "../src/server/handler";
import { TcpBudget } from "../src/server/tcp-budget";
import { RequestRate } from "../src/server/request-rate";
import { createAdminApp, createMetricsApp, createReadyApp } from "../src/admin/app";
import { configFileOf, REDACTED_TOKEN } from "../src/admin/config-file";
import type { AdminDeps } from "../src/admin/deps";
import { readExposition } from "./helpers/exposition";

const wasm = new Uint8Array(readFileSync(join(import.meta.dir, "../build/core.wasm")));
const TOKEN = "0123456789abcdef0123";
const FILE = {
  listeners: { vnetDNS: ["127.0.0.1:5300"], kubeDNS: ["127.0.0.1:5301"] },
  upstreams: { ClusterCoreDNS: ["127.0.0.4:53"], VnetDNS: ["127.0.0.3:5353"] },
  kubeDNSOverrides: { "cluster.local": { maxConcurrent: 50 } },
  cache: { snapshotPath: null },
};
const noFiles = () => { throw Object.assign(new Error("no files here"), { code: "ENOENT" }); };

function configOf(file: Record<string, unknown>): EffectiveConfig {
  const r = buildConfig(file, noFiles);
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r.config;
}

async function deps(config: EffectiveConfig, ready = true): Promise<AdminDeps> {
  const core = await Core.load(wasm, config.cache.maxBytes);
  const handler = new QueryHandler(core, systemClock, silentLogger, { negativeTtlWithoutSoa: 30, randomizeCase: false, failureCacheMs: 0, staleRecheckMs: 30000 });
  return {
    config, version: "9.9.9", startedAt: Date.now() - 5000, rt: { name: "bun", version: "test", rss: () => 12345678 },
    core, handler, upstreams: new Map(), listeners: [], tcpBudget: new TcpBudget({ maxConnections: 10, maxBytes: 1 << 20 }),
    log: silentLogger, reloads: { ok: 2, failed: 1, lastAt: Date.parse("2026-12-01T10:00:00Z"), lastOk: false }, zoneRefs: [],
    requestRate: new RequestRate(() => handler.stats.requestsTotal),
    readiness: () => (ready ? { ready: true, reasons: [] } : { ready: false, reasons: ["VnetDNS: every upstream is down (127.0.0.3:5353)"] }),
    reloadFromSource: async () => ({ ok: false, errors: ["no config source to reload from"] }),
    leave: () => { leaveCalls++; return canLeave; },
  };
}
let leaveCalls = 0;
let canLeave = true;

describe("methods", () => {
  test("a 405 names the methods the path takes in Allow", async () => {
    const app = createAdminApp(await deps(configOf(FILE)));
    for (const path of ["/health", "/ready", "/metrics", "/cache/stats", "/config", "/status"]) {
      const r = await app.request(path, { method: "POST" });
      expect({ path, status: r.status, allow: r.headers.get("allow") }).toEqual({ path, status: 405, allow: "GET, HEAD" });
    }
    for (const path of ["/cache/flush", "/reload"]) {
      const r = await app.request(path, { method: "GET" });
      expect({ path, status: r.status, allow: r.headers.get("allow"), error: (await r.json()).error }).toEqual({ path, status: 405, allow: "POST", error: `GET not allowed on ${path}; use POST` });
    }
  });

  test("/ready is one route, answering OK or 503 with the reasons", async () => {
    const app = createAdminApp(await deps(configOf(FILE), false));
    expect(app.routes.filter((r) => r.path === "/ready" && r.method === "GET").length).toBe(1);
    const r = await app.request("/ready");
    expect([r.status, await r.json()]).toEqual([503, { ready: false, reasons: ["VnetDNS: every upstream is down (127.0.0.3:5353)"] }]);
    const ok = createReadyApp(await deps(configOf(FILE)));
    expect([(await ok.request("/ready")).status, (await ok.request("/metrics")).status]).toEqual([200, 404]);
  });
});

describe("the bearer token (Hono's bearerAuth)", () => {
  test("refusals are 401 with a JSON error and a WWW-Authenticate challenge; the whole header must match", async () => {
    const app = createAdminApp(await deps(configOf({ ...FILE, admin: { listen: null, token: TOKEN } })));
    const cases: [string | undefined, string][] = [
      [undefined, 'Bearer realm=""'], [`Bearer ${TOKEN}x`, 'Bearer error="invalid_token"'], [`Bearer  ${TOKEN}`, 'Bearer error="invalid_token"'],
      [`bearer ${TOKEN}`, 'Bearer error="invalid_token"'], [`Basic ${TOKEN}`, 'Bearer error="invalid_request"'], [TOKEN, 'Bearer error="invalid_request"'],
    ];
    for (const [auth, challenge] of cases) {
      const r = await app.request("/cache/flush", { method: "POST", headers: auth === undefined ? {} : { authorization: auth } });
      const body = await r.json();
      expect({ auth, status: r.status, body, challenge: r.headers.get("www-authenticate") ?? "" })
        .toEqual({ auth, status: 401, body: { error: "unauthorized: mutating endpoints need the admin bearer token" }, challenge });
    }
    expect((await app.request("/cache/flush", { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await app.request("/metrics")).status).toBe(200);
  });
});

test("the metrics app serves /metrics and /health, and nothing else", async () => {
  const app = createMetricsApp(await deps(configOf(FILE)));
  expect((await app.request("/health")).status).toBe(200);
  const m = await app.request("/metrics");
  expect(m.status).toBe(200);
  const families = await readExposition(await m.text());
  expect(families.find((f) => f.name === "process_resident_memory_bytes")!.samples[0].value).toBe(12345678);
  for (const [path, method] of [["/config", "GET"], ["/ready", "GET"], ["/status", "GET"], ["/cache/stats", "GET"], ["/cache/flush", "POST"], ["/reload", "POST"]]) {
    expect({ path, status: (await app.request(path, { method })).status }).toEqual({ path, status: 404 });
  }
});

describe("POST /leave (a takeover)", () => {
  test("202 when this instance leaves, 409 when it cannot be taken over, 401 without the token; GET is a 405", async () => {
    const app = createAdminApp(await deps(configOf({ ...FILE, admin: { token: TOKEN } })));
    const auth = { authorization: `Bearer ${TOKEN}` };
    leaveCalls = 0;
    expect((await app.request("/leave", { method: "POST" })).status).toBe(401);
    expect(leaveCalls).toBe(0);
    canLeave = true;
    const ok = await app.request("/leave", { method: "POST", headers: auth });
    expect([ok.status, await ok.json()]).toEqual([202, { leaving: true }]);
    canLeave = false;
    const no = await app.request("/leave", { method: "POST", headers: auth });
    expect(no.status).toBe(409);
    expect(leaveCalls).toBe(2);
    const get = await app.request("/leave");
    expect([get.status, get.headers.get("allow")]).toEqual([405, "POST"]);
    canLeave = true;
  });
});

describe("GET /config", () => {
  test("is a config file that builds the same effective config, the token a placeholder", async () => {
    const config = configOf({ ...FILE, admin: { listen: "127.0.0.1:8181", token: TOKEN } });
    const served = await (await createAdminApp(await deps(config)).request("/config")).json();
    expect(served.admin).toEqual({ listen: "127.0.0.1:8181", metricsListen: null, allowNonLoopback: false, readyOnListeners: false, token: REDACTED_TOKEN });
    const again = configOf(served);
    expect(again).toEqual({ ...config, admin: { ...config.admin, token: REDACTED_TOKEN } });
  });

  test("upstreams read from a resolv.conf are served as that file's path", () => {
    const c = configOf(FILE);
    const fromFile = { ...c, upstreamSources: { ...c.upstreamSources, VnetDNS: "/run/systemd/resolve/resolv.conf" } };
    expect((configFileOf(fromFile).upstreams as Record<string, unknown>).VnetDNS).toBe("/run/systemd/resolve/resolv.conf");
    expect((configFileOf(fromFile).upstreams as Record<string, unknown>).ClusterCoreDNS).toEqual(["127.0.0.4:53"]);
  });
});

test("GET /status: version, uptime, the last reload, the rate", async () => {
  const s = await (await createAdminApp(await deps(configOf(FILE))).request("/status")).json();
  expect(s).toEqual({
    version: "9.9.9", runtime: "bun test", startedAt: s.startedAt, uptimeSeconds: 5,
    reloads: { ok: 2, failed: 1, last: { at: "2026-12-01T10:00:00.000Z", ok: false } },
    queriesPerSecond: null, rateWindowSeconds: 0,
  });
});

describe("RequestRate", () => {
  test("the rate over the last minute from samples every 5 s; null before a second has passed", () => {
    let now = 0;
    let total = 0;
    const rate = new RequestRate(() => total, () => now);
    now = 500;
    expect(rate.perSecond()).toBeNull();
    // 10 queries a second for two minutes, sampled every 5 s
    for (let t = 5000; t <= 120_000; t += 5000) { now = t; total = t / 100; rate.sample(); }
    now = 122_000;
    total = 1220;
    // the oldest sample within the minute is at 65 s (57 s back would be too short, 60 s is kept)
    expect(rate.perSecond()).toEqual({ perSecond: (1220 - 650) / 57, seconds: 57 });
    now = 125_000;
    total = 1250;
    expect(rate.perSecond()).toEqual({ perSecond: (1250 - 650) / 60, seconds: 60 });
  });

  test("bounded: however long it runs, it keeps 13 samples", () => {
    let now = 0;
    const rate = new RequestRate(() => now / 1000, () => now);
    for (let i = 0; i < 10_000; i++) { now += 5000; rate.sample(); }
    expect(rate.perSecond()).toEqual({ perSecond: 1, seconds: 60 });
  });
});

test("HEAD is answered wherever GET is, without a body", async () => {
  const app = createAdminApp(await deps(configOf(FILE)));
  for (const path of ["/health", "/metrics", "/config", "/status"]) {
    const r = await app.request(path, { method: "HEAD" });
    expect({ path, status: r.status, body: await r.text() }).toEqual({ path, status: 200, body: "" });
  }
});

test("a token Hono's bearerAuth could never accept (outside RFC 6750's token68) is a config error", () => {
  const r = buildConfig({ ...FILE, admin: { token: "has spaces in it, 0123456789" } }, noFiles);
  expect(r.ok).toBe(false);
  expect(!r.ok && r.errors).toEqual(["admin.token: expected letters, digits and -._~+/ (then = padding), as a bearer token is written"]);
  expect(buildConfig({ ...FILE, admin: { token: "abcDEF0123456789-._~+/==" } }, noFiles).ok).toBe(true);
});
