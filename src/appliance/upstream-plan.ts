// Which upstreams a config needs, reusing the running ones that stay (they keep their connections and
// health) and creating the rest. Nothing is closed here: the caller closes `created` if it drops the
// plan and `removed` once the plan is live.
import type { Runtime } from "../runtime/types";
import type { Logger } from "../log";
import { formatEndpoint } from "../config/endpoint";
import { LISTENER_SETS, type EffectiveConfig, type Destination } from "../config/effective";
import { Upstream } from "../upstream/upstream";

export const DESTINATIONS: Destination[] = ["ClusterCoreDNS", "VnetDNS"];

export interface UpstreamPlan {
  upstreams: Map<Destination, Upstream[]>;
  created: Upstream[]; // new in this plan
  removed: Upstream[]; // running ones this plan no longer uses
}

export function planUpstreams(rt: Runtime, log: Logger, c: EffectiveConfig, running: Map<Destination, Upstream[]>): UpstreamPlan {
  const f = c.forward;
  const old = new Map<string, Upstream>();
  for (const [d, list] of running) for (const u of list) old.set(`${d}|${u.name}`, u);
  const upstreams = new Map<Destination, Upstream[]>();
  const created: Upstream[] = [];
  for (const dest of DESTINATIONS) {
    const healthCheck = LISTENER_SETS.some((s) => c.zones[s].some((z) => z.forwardDestination === dest && z.healthCheck));
    upstreams.set(dest, c.upstreams[dest].map((ep) => {
      const key = `${dest}|${formatEndpoint(ep)}`;
      const existing = old.get(key);
      if (existing) { old.delete(key); return existing; }
      const u = new Upstream(rt, ep, {
        maxFails: f.maxFails, healthCheckIntervalMs: f.healthCheckIntervalMs, healthCheck, udpLingerMs: f.attemptTimeoutMs + 100,
        tcp: { size: f.tcpPoolSize, max: f.tcpPoolMax, maxAgeMs: f.tcpMaxAgeMs, maxQueries: f.tcpMaxQueries, idleMs: f.tcpIdleTimeoutMs },
      }, log);
      created.push(u);
      return u;
    }));
  }
  return { upstreams, created, removed: [...old.values()] };
}
