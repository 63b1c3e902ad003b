// The admin HTTP API as a value (Hono): health, readiness, metrics, cache control, config, reload.
// Tests call app.request() with no socket.
import { Hono, type Context } from "hono";
import { createHash, timingSafeEqual } from "node:crypto";
import type { Appliance } from "../appliance";
import { renderMetrics } from "./metrics";
import { normaliseZone } from "../config/effective";
import { typeCode } from "../dns/names";

/** 400 unless every query parameter is one of `allowed`. */
function onlyParams(c: Context, allowed: string[]): Response | null {
  const bad = Object.keys(c.req.queries()).filter((k) => !allowed.includes(k));
  return bad.length ? c.json({ error: `unknown query parameter(s): ${bad.join(", ")}`, allowed }, 400) : null;
}

const sha256 = (s: string) => createHash("sha256").update(s).digest();

/** Is `header` "Bearer <token>"? Both sides are hashed to 32 octets and compared in constant time,
 * so the timing shows neither how much of a guess was right nor how long the token is. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  return header !== undefined && timingSafeEqual(sha256(header), sha256(`Bearer ${token}`));
}

export function createAdminApp(app: Appliance) {
  const admin = new Hono();
  admin.onError((err, c) => c.json({ error: err.message }, 500));
  admin.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  // mutating endpoints need the bearer token when one is configured
  admin.use("*", async (c, next) => {
    const token = app.config.admin.token;
    if (c.req.method !== "GET" && c.req.method !== "HEAD" && token && !bearerMatches(c.req.header("authorization"), token)) {
      return c.json({ error: "unauthorized: mutating endpoints need the admin bearer token" }, 401);
    }
    await next();
  });
  const readOnly = (path: string) => admin.on(["POST", "PUT", "DELETE", "PATCH"], path, (c) => c.json({ error: `${c.req.method} not allowed on ${path}; use GET` }, 405));
  const writeOnly = (path: string) => admin.on(["GET", "PUT", "DELETE", "PATCH"], path, (c) => c.json({ error: `${c.req.method} not allowed on ${path}; use POST` }, 405));
  ["/health", "/ready", "/metrics", "/cache/stats", "/config"].forEach(readOnly);
  ["/cache/flush", "/reload"].forEach(writeOnly);

  return admin
    .get("/health", (c) => c.text("OK"))
    .get("/ready", (c) => {
      const r = app.readiness();
      return r.ready ? c.text("OK") : c.json({ ready: false, reasons: r.reasons }, 503);
    })
    .get("/metrics", (c) => c.body(renderMetrics(app), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }))
    .get("/cache/stats", (c) => {
      const bad = onlyParams(c, []);
      if (bad) return bad;
      const s = app.core.stats();
      const d = app.handler.stats;
      const byZone = app.core.entriesByZone();
      const zones = app.zoneRefs.map((z) => ({ listener: z.set === 0 ? "vnetDNS" : "kubeDNS", zone: z.zone, entries: byZone[z.id] }));
      return c.json({
        entries: s.entries, negativeEntries: s.negativeEntries, bytes: s.bytes, maxBytes: app.config.cache.maxBytes,
        hits: d.hits, misses: d.misses, staleServed: d.staleServed, prefetches: d.prefetches, evictions: s.evictions,
        coalesced: d.coalesced, zones,
      });
    })
    .post("/cache/flush", (c) => {
      const bad = onlyParams(c, ["zone", "name", "type"]);
      if (bad) return bad;
      const { zone, name, type } = c.req.query();
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
          const t = typeCode(type);
          if (t === null) return c.json({ error: `invalid type ${JSON.stringify(type)}` }, 400);
          qtype = t;
        }
        return c.json({ flushed: app.core.flushName(n, -1, qtype) });
      }
      if (type !== undefined) return c.json({ error: "type needs name" }, 400);
      return c.json({ flushed: app.core.flushAll() });
    })
    // the admin token is a secret: shown as set or not, never echoed
    .get("/config", (c) => c.json({ ...app.config, admin: { ...app.config.admin, token: app.config.admin.token ? "(set)" : null } }))
    .post("/reload", async (c) => {
      const r = await app.reloadFromSource();
      return r.ok ? c.json({ reloaded: true, ...r.summary }) : c.json({ reloaded: false, errors: r.errors }, 400);
    });
}

/** /ready alone, for serving on each listener address like the original's <listen-ip>:8181/ready. */
export function createReadyApp(app: Appliance) {
  return new Hono()
    .get("/ready", (c) => {
      const r = app.readiness();
      return r.ready ? c.text("OK") : c.json({ ready: false, reasons: r.reasons }, 503);
    })
    .all("*", (c) => c.json({ error: "only /ready is served here" }, 404));
}
