// The server's families (CoreDNS's dnsserver metrics and localdns's own listener counters): requests,
// responses and their duration per listener set and zone, client TCP limits, dropped packets.
import type { Exposition } from "../metrics/exposition";
import { LISTENER_SETS } from "../config/effective";
import { rcodeName } from "../dns/names";
import { BUCKETS, NT, TYPE_LABELS, ZONE_SLOTS, type DataPathStats } from "./stats";
import { CLOSE_REASONS, type TcpBudget } from "./tcp-budget";
import type { ZoneRuntime } from "./zone-runtime";

export interface ServerMetricsView {
  readonly stats: DataPathStats;
  readonly zones: readonly (ZoneRuntime | undefined)[];
  readonly failures: { readonly hits: number; readonly size: number };
  readonly tcpBudget: Pick<TcpBudget, "connections" | "bytes" | "limits" | "closed">;
  readonly listeners: readonly { readonly set: number; readonly udp: { readonly sendFailures: number } }[];
}

export function renderServerMetrics(o: Exposition, v: ServerMetricsView): void {
  const s = v.stats;
  const zoneName = (zi: number) => (zi < 0 ? "" : v.zones[zi]?.settings.zone ?? `zone-${zi}`);
  const zoneSet = (zi: number) => (zi < 0 ? null : v.zones[zi]?.setName ?? null);

  o.family("coredns_dns_requests_total", "counter", "Counter of DNS requests made per server, zone, protocol, family and type.");
  for (let z = 0; z < ZONE_SLOTS; z++) for (let tcp = 0; tcp < 2; tcp++) for (let v6 = 0; v6 < 2; v6++) for (let t = 0; t < NT; t++) {
    const n = s.requests[((z * 2 + tcp) * 2 + v6) * NT + t];
    if (n > 0) o.sample("coredns_dns_requests_total", { server: zoneSet(z - 1) ?? "any", zone: zoneName(z - 1), proto: tcp ? "tcp" : "udp", family: v6 ? 2 : 1, type: TYPE_LABELS[t] }, n);
  }
  o.family("coredns_dns_responses_total", "counter", "Counter of response status codes.");
  for (let set = 0; set < 2; set++) for (let z = 0; z < ZONE_SLOTS; z++) for (let rc = 0; rc < 16; rc++) {
    const n = s.responses[(set * ZONE_SLOTS + z) * 16 + rc];
    if (n > 0) o.sample("coredns_dns_responses_total", { server: LISTENER_SETS[set], zone: zoneName(z - 1), rcode: rcodeName(rc) }, n);
  }
  o.family("coredns_dns_request_duration_seconds", "histogram", "Histogram of the time (in seconds) each request took.");
  LISTENER_SETS.forEach((set, i) => o.histogram("coredns_dns_request_duration_seconds", { server: set }, s.duration[i], BUCKETS));
  o.family("coredns_forward_max_concurrent_rejects_total", "counter", "Queries refused because maxConcurrent was reached.");
  o.sample("coredns_forward_max_concurrent_rejects_total", {}, s.refused);

  const tcp = v.tcpBudget;
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
  o.family("localdns_dropped_packets_total", "counter", "Packets dropped without an answer (shorter than a header, or not a query).");
  o.sample("localdns_dropped_packets_total", {}, s.dropped);
  o.family("localdns_udp_handoffs_dropped_total", "counter", "Queries the FFI loop dropped because its hand-off ring to the main thread's request flow was full (4,096 queries or 256 KiB).");
  o.sample("localdns_udp_handoffs_dropped_total", {}, s.handOffsDropped);
  o.family("localdns_failure_cache_hits_total", "counter", "Queries answered from the failure cache (a recent resolution failure) without asking upstream.");
  o.sample("localdns_failure_cache_hits_total", {}, v.failures.hits);
  o.family("localdns_failure_cache_entries", "gauge", "Names whose resolution failed recently (held for cache.failureCacheSeconds).");
  o.sample("localdns_failure_cache_entries", {}, v.failures.size);
  o.family("localdns_udp_send_failures_total", "counter", "UDP answers that could not be sent (the client's port was gone), per listener set.");
  LISTENER_SETS.forEach((set, i) => o.sample("localdns_udp_send_failures_total", { server: set }, v.listeners.filter((l) => l.set === i).reduce((n, l) => n + l.udp.sendFailures, 0)));
  o.family("localdns_upstream_replies_dropped_total", "counter", "Upstream replies dropped: wrong question, malformed, or unexpected.");
  o.sample("localdns_upstream_replies_dropped_total", {}, s.upstreamDrops);
}
