// Ready: every listener bound and at least one usable upstream per destination in use.
import { LISTENER_SETS, type EffectiveConfig, type Destination } from "../config/effective";
import type { Upstream } from "../upstream/upstream";
import type { Readiness } from "../admin/deps";

export type { Readiness };

export function readiness(s: { stopping: boolean; config: EffectiveConfig; listenersBound: number; upstreams: Map<Destination, Upstream[]> }): Readiness {
  const reasons: string[] = [];
  if (s.stopping) reasons.push("shutting down");
  const expected = LISTENER_SETS.reduce((n, set) => n + s.config.listeners[set].length, 0);
  if (s.listenersBound !== expected) reasons.push("not every listener is bound");
  const used = new Set<Destination>();
  for (const set of LISTENER_SETS) for (const z of s.config.zones[set]) used.add(z.forwardDestination);
  for (const d of used) {
    const list = s.upstreams.get(d) ?? [];
    if (list.length === 0) reasons.push(`${d}: no upstreams configured`);
    else if (list.every((u) => u.down)) reasons.push(`${d}: every upstream is down (${list.map((u) => u.name).join(", ")})`);
  }
  return { ready: reasons.length === 0, reasons };
}
