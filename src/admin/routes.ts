// Pieces every admin app shares: JSON errors, 405 with an Allow header, the /ready answer.
import { Hono, type Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { AdminDeps } from "./deps";

/** A Hono app whose errors and unknown routes are JSON. */
export function jsonApp(): Hono {
  const app = new Hono();
  app.onError((err, c) => (err instanceof HTTPException ? err.getResponse() : c.json({ error: err.message }, 500)));
  app.notFound((c) => c.json({ error: `no route for ${c.req.method} ${c.req.path}` }, 404));
  return app;
}

/** Registers, after a path's own routes, the 405 for every other method; Allow names what it takes. */
export function otherMethods(app: Hono, path: string, allowed: "GET" | "POST"): void {
  const allow = allowed === "GET" ? "GET, HEAD" : "POST";
  app.all(path, (c) => c.json({ error: `${c.req.method} not allowed on ${path}; use ${allowed}` }, 405, { allow }));
}

export function readyResponse(c: Context, d: Pick<AdminDeps, "readiness">): Response {
  const r = d.readiness();
  return r.ready ? c.text("OK") : c.json({ ready: false, reasons: r.reasons }, 503);
}

/** 400 unless every query parameter is one of `allowed`. */
export function onlyParams(c: Context, allowed: string[]): Response | null {
  const bad = Object.keys(c.req.queries()).filter((k) => !allowed.includes(k));
  return bad.length ? c.json({ error: `unknown query parameter(s): ${bad.join(", ")}`, allowed }, 400) : null;
}
