// The admin HTTP API as values (Hono): the full API, the metrics-only one for admin.metricsListen,
// and /ready alone for the listener addresses. Tests call app.request() with no socket.
import type { Hono } from "hono";
import type { AdminDeps } from "./deps";
import { renderMetrics } from "./metrics";
import { configFileOf } from "./config-file";
import { mutatingNeedsToken } from "./auth";
import { jsonApp, onlyParams, otherMethods, readyResponse } from "./routes";
import { normaliseZone } from "../config/effective";
import { typeCode } from "../dns/names";

export { bearerMatches } from "./auth";

const EXPOSITION = "text/plain; version=0.0.4; charset=utf-8";

function health(app: Hono): void {
  app.get("/health", (c) => c.text("OK"));
  otherMethods(app, "/health", "GET");
}

function metrics(app: Hono, d: AdminDeps): void {
  app.get("/metrics", (c) => c.body(renderMetrics(d), 200, { "content-type": EXPOSITION }));
  otherMethods(app, "/metrics", "GET");
}

export function createAdminApp(d: AdminDeps): Hono {
  const app = jsonApp();
  app.use("*", mutatingNeedsToken(() => d.config.admin.token));
  health(app);
  app.get("/ready", (c) => readyResponse(c, d));
  otherMethods(app, "/ready", "GET");
  metrics(app, d);

  app.get("/cache/stats", (c) => {
    const bad = onlyParams(c, []);
    if (bad) return bad;
    const s = d.core.stats();
    const st = d.handler.allStats();
    const byZone = d.core.entriesByZone();
    const zones = d.zoneRefs.map((z) => ({ listener: z.set === 0 ? "vnetDNS" : "kubeDNS", zone: z.zone, entries: byZone[z.id] }));
    return c.json({
      entries: s.entries, negativeEntries: s.negativeEntries, bytes: s.bytes, maxBytes: d.config.cache.maxBytes,
      hits: st.hits, misses: st.misses, staleServed: st.staleServed, prefetches: st.prefetches, evictions: s.evictions,
      coalesced: st.coalesced, zones,
    });
  });
  otherMethods(app, "/cache/stats", "GET");

  app.post("/cache/flush", (c) => {
    const bad = onlyParams(c, ["zone", "name", "type"]);
    if (bad) return bad;
    const { zone, name, type } = c.req.query();
    if (zone !== undefined && name !== undefined) return c.json({ error: "give zone or name, not both" }, 400);
    if (zone !== undefined) {
      const z = normaliseZone(zone);
      if (z === null) return c.json({ error: `invalid zone ${JSON.stringify(zone)}` }, 400);
      return c.json({ flushed: z === "." ? d.core.flushAll() : d.core.flushZone(z) });
    }
    if (name !== undefined) {
      const n = normaliseZone(name);
      if (n === null || n === ".") return c.json({ error: `invalid name ${JSON.stringify(name)}` }, 400);
      let qtype = -1;
      if (type !== undefined) {
        const t = typeCode(type);
        if (t === null) return c.json({ error: `invalid type ${JSON.stringify(type)}` }, 400);
        qtype = t;
      }
      return c.json({ flushed: d.core.flushName(n, -1, qtype) });
    }
    if (type !== undefined) return c.json({ error: "type needs name" }, 400);
    return c.json({ flushed: d.core.flushAll() });
  });
  otherMethods(app, "/cache/flush", "POST");

  // a config file `localdns validate` accepts as it is; the token is a placeholder, never echoed
  app.get("/config", (c) => c.json(configFileOf(d.config)));
  otherMethods(app, "/config", "GET");

  // what `localdns status` shows beyond the metrics: uptime, the last reload, the recent query rate
  app.get("/status", (c) => {
    const rate = d.requestRate.perSecond();
    const r = d.reloads;
    return c.json({
      version: d.version, runtime: `${d.rt.name} ${d.rt.version}`,
      startedAt: new Date(d.startedAt).toISOString(), uptimeSeconds: Math.round((Date.now() - d.startedAt) / 1000),
      reloads: { ok: r.ok, failed: r.failed, last: r.lastAt ? { at: new Date(r.lastAt).toISOString(), ok: r.lastOk === true } : null },
      queriesPerSecond: rate === null ? null : Math.round(rate.perSecond * 10) / 10, rateWindowSeconds: rate?.seconds ?? 0,
    });
  });
  otherMethods(app, "/status", "GET");

  app.post("/reload", async (c) => {
    const r = await d.reloadFromSource();
    return r.ok ? c.json({ reloaded: true, ...r.summary }) : c.json({ reloaded: false, errors: r.errors }, 400);
  });
  otherMethods(app, "/reload", "POST");

  // a newer localdns has joined our listeners and steers new datagrams to itself: drain and exit
  app.post("/leave", (c) => (d.leave() ? c.json({ leaving: true }, 202) : c.json({ leaving: false, error: "this localdns serves UDP through the runtime's sockets: it cannot be taken over" }, 409)));
  otherMethods(app, "/leave", "POST");
  return app;
}

/** admin.metricsListen: /metrics and /health only. It is reachable from the network (AKS scrapes the
 * node IP), so it serves nothing that changes state or shows the config; /ready's reasons name
 * upstream addresses and are left to the admin and listener addresses. */
export function createMetricsApp(d: AdminDeps): Hono {
  const app = jsonApp();
  health(app);
  metrics(app, d);
  app.all("*", (c) => c.json({ error: "only /metrics and /health are served on admin.metricsListen" }, 404));
  return app;
}

/** /ready alone, for serving on each listener address like the original's <listen-ip>:8181/ready. */
export function createReadyApp(d: Pick<AdminDeps, "readiness">): Hono {
  const app = jsonApp();
  app.get("/ready", (c) => readyResponse(c, d));
  otherMethods(app, "/ready", "GET");
  app.all("*", (c) => c.json({ error: "only /ready is served here" }, 404));
  return app;
}
