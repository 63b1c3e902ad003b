// The admin HTTP API as a value (Hono): health, readiness, metrics, cache control, config.
import { Hono } from "hono";
import type { Appliance } from "../appliance";
import { renderMetrics } from "./metrics";
import { normaliseZone } from "../config/effective";

const TYPES: Record<string, number> = { A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, HTTPS: 65, SVCB: 64 };

export function createAdminApp(app: Appliance) {
  const token = app.config.admin.token;
  const admin = new Hono();
  admin.onError((err, c) => c.json({ error: err.message }, 500));
  admin.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  // mutating endpoints need the bearer token when one is configured
  admin.use("*", async (c, next) => {
    if (c.req.method !== "GET" && c.req.method !== "HEAD" && token && c.req.header("authorization") !== `Bearer ${token}`) {
      return c.json({ error: "unauthorized" }, 401);
    }
    await next();
  });
  return admin
    .get("/health", (c) => c.text("OK"))
    .get("/ready", (c) => {
      const r = app.readiness();
      return r.ready ? c.text("OK") : c.json({ ready: false, reasons: r.reasons }, 503);
    })
    .get("/metrics", (c) => c.body(renderMetrics(app), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }))
    .get("/cache/stats", (c) => {
      const s = app.core.stats();
      const d = app.handler.stats;
      return c.json({ ...s, hits: d.hits, misses: d.misses, staleServed: d.staleServed, prefetches: d.prefetches, maxBytes: app.config.cache.maxBytes });
    })
    .post("/cache/flush", (c) => {
      const zone = c.req.query("zone");
      const name = c.req.query("name");
      const type = c.req.query("type");
      if (zone !== undefined && name !== undefined) return c.json({ error: "give zone or name, not both" }, 400);
      if (zone !== undefined) {
        const z = normaliseZone(zone);
        if (z === null) return c.json({ error: `invalid zone ${JSON.stringify(zone)}` }, 400);
        return c.json({ flushed: z === "." ? app.core.flushAll() : app.core.flushZone(z) });
      }
      if (name !== undefined) {
        const n = normaliseZone(name);
        if (n === null || n === ".") return c.json({ error: `invalid name ${JSON.stringify(name)}` }, 400);
        let qtype = -1;
        if (type !== undefined) {
          const t = TYPES[type.toUpperCase()] ?? (/^TYPE\d+$/i.test(type) ? Number(type.slice(4)) : /^\d+$/.test(type) ? Number(type) : NaN);
          if (!Number.isInteger(t) || t < 1 || t > 65535) return c.json({ error: `invalid type ${JSON.stringify(type)}` }, 400);
          qtype = t;
        }
        return c.json({ flushed: app.core.flushName(n, -1, qtype) });
      }
      if (type !== undefined) return c.json({ error: "type needs name" }, 400);
      return c.json({ flushed: app.core.flushAll() });
    })
    .get("/config", (c) => c.json(app.config))
    .post("/reload", async (c) => {
      const r = await app.reloadFromSource();
      return r.ok ? c.json({ reloaded: true, ...r.summary }) : c.json({ reloaded: false, errors: r.errors }, 400);
    });
}
