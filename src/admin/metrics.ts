// GET /metrics: the exposition assembled from each component's own families. Names follow CoreDNS
// so existing dashboards keep working.
import { Exposition } from "../metrics/exposition";
import { renderServerMetrics } from "../server/metrics";
import { renderCacheMetrics } from "../cache/metrics";
import { renderUpstreamMetrics } from "../upstream/metrics";
import { renderProcessMetrics } from "./process-metrics";
import type { AdminDeps } from "./deps";

export function renderMetrics(d: AdminDeps): string {
  const o = new Exposition();
  const h = d.handler;
  const stats = h.allStats();
  renderServerMetrics(o, { stats, zones: h.zones, failures: h.failures, tcpBudget: d.tcpBudget, listeners: d.listeners });
  renderCacheMetrics(o, { core: d.core, stats, zones: h.zones, maxBytes: d.config.cache.maxBytes });
  renderUpstreamMetrics(o, d.upstreams);
  renderProcessMetrics(o, d);
  return o.text();
}
