// What the start-up and reload log lines say about the running config.
import { formatEndpoint } from "../config/endpoint";
import { LISTENER_SETS, type EffectiveConfig, type Destination } from "../config/effective";
import type { Upstream } from "../upstream/upstream";
import type { BoundListener } from "./dns-listeners";

export function summarize(c: EffectiveConfig, listeners: BoundListener[], upstreams: Map<Destination, Upstream[]>, udpDataPath: string) {
  return {
    listeners: listeners.map((l) => `${LISTENER_SETS[l.set]} ${formatEndpoint(l.ep)}`),
    upstreams: Object.fromEntries([...upstreams].map(([d, list]) => [d, list.map((u) => u.name)])),
    zones: Object.fromEntries(LISTENER_SETS.map((s) => [s, c.zones[s].map((z) => z.zone)])),
    admin: c.admin.listen ? `${formatEndpoint(c.admin.listen)}` : null,
    cacheMaxBytes: c.cache.maxBytes,
    udpDataPath,
  };
}
