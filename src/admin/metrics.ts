// Prometheus text exposition (version 0.0.4) rendered on scrape from the data path's counters.
// Names follow CoreDNS so existing dashboards keep working.
import type { Appliance } from "../appliance";
import { LISTENER_SETS } from "../config/effective";
import { rcodeName } from "../dns/names";
import { BUCKETS, NT, TYPE_LABELS, ZONE_SLOTS, type Histogram } from "../server/stats";
import { CLOSE_REASONS } from "../server/tcp-budget";

type Labels = Record<string, string | number>;
const esc = (v: string | number) => String(v).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
const fmt = (l: Labels) => { const s = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`).join(","); return s ? `{${s}}` : ""; };

class Out {
  lines: string[] = [];
  family(name: string, type: "counter" | "gauge" | "histogram", help: string): this {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    return this;
  }
  sample(name: string, labels: Labels, value: number): this {
    this.lines.push(`${name}${fmt(labels)} ${Number.isFinite(value) ? value : 0}`);
    return this;
  }
  histogram(name: string, labels: Labels, h: Histogram): this {
    let cum = 0;
    BUCKETS.forEach((b, i) => { cum += h.counts[i]; this.sample(`${name}_bucket`, { ...labels, le: b }, cum); });
    cum += h.counts[BUCKETS.length];
    this.sample(`${name}_bucket`, { ...labels, le: "+Inf" }, cum);
    this.sample(`${name}_sum`, labels, h.sum);
    this.sample(`${name}_count`, labels, cum);
    return this;
  }
}

export function renderMetrics(app: Appliance): string {
  const o = new Out();
  const s = app.handler.stats;
  const c = app.core.stats();
  const zoneName = (zi: number) => (zi < 0 ? "" : app.handler.zones[zi]?.settings.zone ?? `zone-${zi}`);
  const zoneSet = (zi: number) => (zi < 0 ? null : app.handler.zones[zi]?.setName ?? null);

  o.family("coredns_dns_requests_total", "counter", "Counter of DNS requests made per server, zone, protocol, family and type.");
  for (let z = 0; z < ZONE_SLOTS; z++) for (let tcp = 0; tcp < 2; tcp++) for (let v6 = 0; v6 < 2; v6++) for (let t = 0; t < NT; t++) {
    const v = s.requests[((z * 2 + tcp) * 2 + v6) * NT + t];
    if (v > 0) o.sample("coredns_dns_requests_total", { server: zoneSet(z - 1) ?? "any", zone: zoneName(z - 1), proto: tcp ? "tcp" : "udp", family: v6 ? 2 : 1, type: TYPE_LABELS[t] }, v);
  }
  o.family("coredns_dns_responses_total", "counter", "Counter of response status codes.");
  for (let set = 0; set < 2; set++) for (let z = 0; z < ZONE_SLOTS; z++) for (let rc = 0; rc < 16; rc++) {
    const v = s.responses[(set * ZONE_SLOTS + z) * 16 + rc];
    if (v > 0) o.sample("coredns_dns_responses_total", { server: LISTENER_SETS[set], zone: zoneName(z - 1), rcode: rcodeName(rc) }, v);
  }
  o.family("coredns_dns_request_duration_seconds", "histogram", "Histogram of the time (in seconds) each request took.");
  LISTENER_SETS.forEach((set, i) => o.histogram("coredns_dns_request_duration_seconds", { server: set }, s.duration[i]));

  o.family("coredns_cache_entries", "gauge", "The number of elements in the cache.");
  o.sample("coredns_cache_entries", { type: "success" }, c.entries - c.negativeEntries);
  o.sample("coredns_cache_entries", { type: "denial" }, c.negativeEntries);
  o.family("coredns_cache_hits_total", "counter", "The count of cache hits.");
  o.sample("coredns_cache_hits_total", { type: "success" }, s.hits - s.hitsDenial);
  o.sample("coredns_cache_hits_total", { type: "denial" }, s.hitsDenial);
  o.family("coredns_cache_misses_total", "counter", "The count of cache misses.");
  o.sample("coredns_cache_misses_total", {}, s.misses);
  o.family("coredns_cache_served_stale_total", "counter", "The number of requests served from stale cache entries.");
  o.sample("coredns_cache_served_stale_total", {}, s.staleServed);
  o.family("coredns_cache_evictions_total", "counter", "The count of cache evictions.");
  o.sample("coredns_cache_evictions_total", {}, c.evictions);
  o.family("coredns_cache_prefetch_total", "counter", "The number of times the cache has prefetched a cached item.");
  o.sample("coredns_cache_prefetch_total", {}, s.prefetches);

  const ups = [...app.upstreams].flatMap(([dest, list]) => list.map((u) => ({ dest, u })));
  o.family("coredns_proxy_request_duration_seconds", "histogram", "Histogram of the time each upstream request took.");
  for (const { u } of ups) for (const [rcode, h] of u.durations) o.histogram("coredns_proxy_request_duration_seconds", { to: u.name, rcode }, h);
  o.family("coredns_proxy_healthcheck_failures_total", "counter", "Count of failed health checks per upstream.");
  for (const { u } of ups) o.sample("coredns_proxy_healthcheck_failures_total", { to: u.name }, u.counters.healthcheckFailures);
  o.family("coredns_proxy_conn_cache_hits_total", "counter", "Upstream queries that reused an open connection or socket.");
  o.sample("coredns_proxy_conn_cache_hits_total", { proto: "udp" }, ups.reduce((n, { u }) => n + u.udp.connHits, 0));
  o.sample("coredns_proxy_conn_cache_hits_total", { proto: "tcp" }, ups.reduce((n, { u }) => n + u.tcp.connHits, 0));
  o.family("coredns_proxy_conn_cache_misses_total", "counter", "Upstream queries that needed a new connection or socket.");
  o.sample("coredns_proxy_conn_cache_misses_total", { proto: "udp" }, ups.reduce((n, { u }) => n + u.udp.connMisses, 0));
  o.sample("coredns_proxy_conn_cache_misses_total", { proto: "tcp" }, ups.reduce((n, { u }) => n + u.tcp.connMisses, 0));
  o.family("coredns_forward_max_concurrent_rejects_total", "counter", "Queries refused because maxConcurrent was reached.");
  o.sample("coredns_forward_max_concurrent_rejects_total", {}, s.refused);

  o.family("localdns_upstream_up", "gauge", "1 while the upstream is considered healthy.");
  for (const { dest, u } of ups) o.sample("localdns_upstream_up", { to: u.name, destination: dest }, u.down ? 0 : 1);
  o.family("localdns_upstream_queries_total", "counter", "Queries sent to each upstream.");
  for (const { u } of ups) o.sample("localdns_upstream_queries_total", { to: u.name }, u.counters.queries);
  o.family("localdns_upstream_failures_total", "counter", "Failed upstream attempts: timeouts and transport errors (an error answer is not one).");
  for (const { u } of ups) o.sample("localdns_upstream_failures_total", { to: u.name }, u.counters.failures);
  o.family("localdns_upstream_open_connections", "gauge", "Open TCP connections per upstream.");
  for (const { u } of ups) o.sample("localdns_upstream_open_connections", { to: u.name }, u.tcp.openConnections);
  o.family("localdns_upstream_connections_recycled_total", "counter", "TCP connections drained and replaced after their maximum age or query count.");
  for (const { u } of ups) o.sample("localdns_upstream_connections_recycled_total", { to: u.name }, u.tcp.recycled);
  o.family("localdns_cache_bytes", "gauge", "Bytes of cache memory in use (table plus records).");
  o.sample("localdns_cache_bytes", {}, c.bytes);
  o.family("localdns_cache_max_bytes", "gauge", "The configured cache memory cap.");
  o.sample("localdns_cache_max_bytes", {}, app.config.cache.maxBytes);
  o.family("localdns_process_resident_memory_bytes", "gauge", "Resident set size of the process.");
  o.sample("localdns_process_resident_memory_bytes", {}, app.rt.rss());
  o.family("localdns_build_info", "gauge", "Build information.");
  o.sample("localdns_build_info", { version: app.version, runtime: `${app.rt.name} ${app.rt.version}` }, 1);
  o.family("localdns_config_reloads_total", "counter", "Config reloads by result.");
  o.sample("localdns_config_reloads_total", { result: "success" }, app.reloads.ok);
  o.sample("localdns_config_reloads_total", { result: "failure" }, app.reloads.failed);
  const tcp = app.tcpBudget;
  o.family("localdns_tcp_connections", "gauge", "Open client TCP connections over all listeners.");
  o.sample("localdns_tcp_connections", {}, tcp.connections);
  o.family("localdns_tcp_connections_limit", "gauge", "The cap on client TCP connections over all listeners (server.maxTcpConnections).");
  o.sample("localdns_tcp_connections_limit", {}, tcp.limits.maxConnections);
  o.family("localdns_tcp_buffered_bytes", "gauge", "Bytes client TCP connections hold: partial queries and answers not yet taken by the kernel.");
  o.sample("localdns_tcp_buffered_bytes", {}, tcp.bytes);
  o.family("localdns_tcp_buffered_bytes_limit", "gauge", "The budget for those bytes over all listeners (server.maxTcpBufferedBytes).");
  o.sample("localdns_tcp_buffered_bytes_limit", {}, tcp.limits.maxBytes);
  o.family("localdns_tcp_connections_closed_total", "counter", "Client TCP connections closed by localdns: idle, over the connection cap, shed by the memory budget, or over the unsent-answer cap.");
  for (const r of CLOSE_REASONS) o.sample("localdns_tcp_connections_closed_total", { reason: r }, tcp.closed[r]);
  o.family("localdns_log_lines_dropped_total", "counter", "Log lines dropped because stdout was not taking them (journald slow, a stuck pipe).");
  o.sample("localdns_log_lines_dropped_total", {}, app.log.stats.dropped);
  o.family("localdns_log_lines_consolidated_total", "counter", "Repeated log lines (failed queries) counted into a per-interval summary line instead of being written.");
  o.sample("localdns_log_lines_consolidated_total", {}, app.log.stats.consolidated);
  o.family("localdns_dropped_packets_total", "counter", "Packets dropped without an answer (shorter than a header, or not a query).");
  o.sample("localdns_dropped_packets_total", {}, s.dropped);
  o.family("localdns_failure_cache_hits_total", "counter", "Queries answered from the failure cache (a recent resolution failure) without asking upstream.");
  o.sample("localdns_failure_cache_hits_total", {}, app.handler.failures.hits);
  o.family("localdns_failure_cache_entries", "gauge", "Names whose resolution failed recently (held for cache.failureCacheSeconds).");
  o.sample("localdns_failure_cache_entries", {}, app.handler.failures.size);
  o.family("localdns_udp_send_failures_total", "counter", "UDP answers that could not be sent (the client's port was gone), per listener set.");
  LISTENER_SETS.forEach((set, i) => o.sample("localdns_udp_send_failures_total", { server: set }, app.listeners.filter((l) => l.set === i).reduce((n, l) => n + l.udp.sendFailures, 0)));
  o.family("localdns_upstream_replies_dropped_total", "counter", "Upstream replies dropped: wrong question, malformed, or unexpected.");
  o.sample("localdns_upstream_replies_dropped_total", {}, s.upstreamDrops);
  return o.lines.join("\n") + "\n";
}
