// The per-zone state the query handler routes by: each configured zone with its settings and a
// forwarder over its destination's upstreams, indexed by the zone id the core reports.
import { LISTENER_SETS, type EffectiveConfig, type Destination } from "../config/effective";
import type { ZonePlan } from "../config/zone-plan";
import type { ZoneRuntime } from "../server/zone-runtime";
import { Forwarder } from "../upstream/forwarder";
import type { Upstream } from "../upstream/upstream";

export function buildZoneRuntimes(c: EffectiveConfig, zones: ZonePlan, upstreams: Map<Destination, Upstream[]>): ZoneRuntime[] {
  const out: ZoneRuntime[] = [];
  LISTENER_SETS.forEach((setName, set) => {
    for (const z of c.zones[setName]) {
      const id = zones.refs.find((r) => r.set === set && r.zone === z.zone)!.id;
      out[id] = {
        index: id, set, setName, settings: z, logAll: z.queryLogging === "Log",
        staleWindow: z.serveStale === "Disable" ? 0 : z.serveStaleDurationInSeconds,
        forwarder: new Forwarder(upstreams.get(z.forwardDestination)!, {
          policy: z.forwardPolicy, forceTcp: z.protocol === "ForceTCP", maxConcurrent: z.maxConcurrent,
          attemptTimeoutMs: c.forward.attemptTimeoutMs, deadlineMs: c.forward.deadlineMs, failfastAllUnhealthy: z.failfastAllUnhealthyUpstreams,
        }),
      };
    }
  });
  return out;
}
