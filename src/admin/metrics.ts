// Prometheus text exposition (version 0.0.4) rendered on scrape from the data path's counters.
// Names follow CoreDNS so existing dashboards keep working.
import type { Appliance } from "../appliance";
import { LISTENER_SETS } from "../config/effective";
import { RCODE_NAMES } from "../server/handler";

class Out {
  lines: string[] = [];
  family(name: string, type: "counter" | "gauge" | "histogram", help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }
  sample(name: string, labels: Record<string, string | number>, value: number): this {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`).join(",");
    this.lines.push(`${name}${l ? `{${l}}` : ""} ${Number.isFinite(value) ? value : 0}`);
    return this;
  }
}

export function renderMetrics(app: Appliance): string {
  const o = new Out();
  const s = app.handler.stats;
  const c = app.core.stats();
  o.family("coredns_dns_requests_total", "counter", "Counter of DNS requests made per listener set and protocol.");
  LISTENER_SETS.forEach((set, i) => {
    o.sample("coredns_dns_requests_total", { server: set, proto: "udp" }, s.requests[i][0]);
    o.sample("coredns_dns_requests_total", { server: set, proto: "tcp" }, s.requests[i][1]);
  });
  o.family("coredns_dns_responses_total", "counter", "Counter of response status codes.");
  s.rcodes.forEach((v, rc) => { if (v > 0 || rc <= 5) o.sample("coredns_dns_responses_total", { rcode: RCODE_NAMES[rc] ?? String(rc) }, v); });
  o.family("coredns_cache_entries", "gauge", "The number of elements in the cache.");
  o.sample("coredns_cache_entries", { type: "success" }, c.entries - c.negativeEntries);
  o.sample("coredns_cache_entries", { type: "denial" }, c.negativeEntries);
  o.family("coredns_cache_hits_total", "counter", "The count of cache hits.");
  o.sample("coredns_cache_hits_total", {}, s.hits);
  o.family("coredns_cache_misses_total", "counter", "The count of cache misses.");
  o.sample("coredns_cache_misses_total", {}, s.misses);
  o.family("coredns_cache_served_stale_total", "counter", "The number of requests served from stale cache entries.");
  o.sample("coredns_cache_served_stale_total", {}, s.staleServed);
  o.family("coredns_cache_evictions_total", "counter", "The count of cache evictions.");
  o.sample("coredns_cache_evictions_total", {}, c.evictions);
  o.family("coredns_cache_prefetch_total", "counter", "The number of times the cache has prefetched a cached item.");
  o.sample("coredns_cache_prefetch_total", {}, s.prefetches);
  o.family("coredns_forward_max_concurrent_rejects_total", "counter", "Queries refused because maxConcurrent was reached.");
  o.sample("coredns_forward_max_concurrent_rejects_total", {}, s.refused);
  o.family("localdns_upstream_up", "gauge", "1 when the upstream is considered healthy.");
  for (const [dest, list] of app.upstreams) for (const u of list) o.sample("localdns_upstream_up", { to: u.name, destination: dest }, u.down ? 0 : 1);
  o.family("localdns_upstream_queries_total", "counter", "Queries sent to each upstream.");
  for (const [, list] of app.upstreams) for (const u of list) o.sample("localdns_upstream_queries_total", { to: u.name }, u.counters.queries);
  o.family("coredns_proxy_healthcheck_failures_total", "counter", "Count of failed health checks per upstream.");
  for (const [, list] of app.upstreams) for (const u of list) o.sample("coredns_proxy_healthcheck_failures_total", { to: u.name }, u.counters.healthcheckFailures);
  o.family("localdns_cache_bytes", "gauge", "Bytes of cache memory in use (table plus records).");
  o.sample("localdns_cache_bytes", {}, c.bytes);
  o.family("localdns_process_resident_memory_bytes", "gauge", "Resident set size of the process.");
  o.sample("localdns_process_resident_memory_bytes", {}, app.rt.rss());
  o.family("localdns_build_info", "gauge", "Build information.");
  o.sample("localdns_build_info", { version: app.version, runtime: app.rt.name }, 1);
  o.family("localdns_config_reloads_total", "counter", "Config reloads by result.");
  o.sample("localdns_config_reloads_total", { result: "success" }, app.reloads.ok);
  o.sample("localdns_config_reloads_total", { result: "failure" }, app.reloads.failed);
  return o.lines.join("\n") + "\n";
}
