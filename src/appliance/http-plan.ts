// The HTTP servers a config asks for: admin, metrics, and /ready on each listener address.
import { LISTENER_SETS, type EffectiveConfig } from "../config/effective";
import type { HttpWant } from "../admin/servers";

type Fetch = HttpWant["fetch"];

export function httpWanted(c: EffectiveConfig, apps: { admin: Fetch; metrics: Fetch; ready: Fetch }): HttpWant[] {
  const a = c.admin;
  const out: HttpWant[] = [];
  if (a.listen) out.push({ what: "admin.listen", host: a.listen.host, port: a.listen.port, fetch: apps.admin });
  if (a.metricsListen) out.push({ what: "admin.metricsListen", host: a.metricsListen.host, port: a.metricsListen.port, fetch: apps.metrics });
  if (a.readyOnListeners) {
    const port = a.listen?.port ?? 8181;
    const hosts = new Set(LISTENER_SETS.flatMap((s) => c.listeners[s].map((e) => e.host)));
    // where the admin server already listens on that address and port, it serves /ready itself
    for (const h of hosts) if (!(a.listen && a.listen.host === h && a.listen.port === port)) out.push({ what: `admin.readyOnListeners (${h})`, host: h, port, fetch: apps.ready });
  }
  return out;
}
