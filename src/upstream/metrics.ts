// The forwarder's families, one series per upstream per destination. An address serving both
// destinations is two upstreams (each has its own health, counters and connections), told apart by
// the destination label, so no two series share their labels.
import type { Exposition } from "../metrics/exposition";
import { BUCKETS } from "../metrics/histogram";
import type { Upstream } from "./upstream";

export type UpstreamView = Pick<Upstream, "name" | "down" | "counters" | "durations"> & {
  readonly udp: Pick<Upstream["udp"], "connHits" | "connMisses">;
  readonly tcp: Pick<Upstream["tcp"], "connHits" | "connMisses" | "openConnections" | "recycled">;
};

export function renderUpstreamMetrics(o: Exposition, upstreams: ReadonlyMap<string, readonly UpstreamView[]>): void {
  const ups = [...upstreams].flatMap(([destination, list]) => list.map((u) => ({ labels: { to: u.name, destination }, u })));
  const each = (name: string, value: (u: UpstreamView) => number) => { for (const { labels, u } of ups) o.sample(name, labels, value(u)); };
  const total = (value: (u: UpstreamView) => number) => ups.reduce((n, { u }) => n + value(u), 0);

  o.family("coredns_proxy_request_duration_seconds", "histogram", "Histogram of the time each upstream request took.");
  for (const { labels, u } of ups) for (const [rcode, h] of u.durations) o.histogram("coredns_proxy_request_duration_seconds", { ...labels, rcode }, h, BUCKETS);
  o.family("coredns_proxy_healthcheck_failures_total", "counter", "Count of failed health checks per upstream.");
  each("coredns_proxy_healthcheck_failures_total", (u) => u.counters.healthcheckFailures);
  o.family("coredns_proxy_conn_cache_hits_total", "counter", "Upstream queries that reused an open connection or socket.");
  o.sample("coredns_proxy_conn_cache_hits_total", { proto: "udp" }, total((u) => u.udp.connHits));
  o.sample("coredns_proxy_conn_cache_hits_total", { proto: "tcp" }, total((u) => u.tcp.connHits));
  o.family("coredns_proxy_conn_cache_misses_total", "counter", "Upstream queries that needed a new connection or socket.");
  o.sample("coredns_proxy_conn_cache_misses_total", { proto: "udp" }, total((u) => u.udp.connMisses));
  o.sample("coredns_proxy_conn_cache_misses_total", { proto: "tcp" }, total((u) => u.tcp.connMisses));
  o.family("localdns_upstream_up", "gauge", "1 while the upstream is considered healthy.");
  each("localdns_upstream_up", (u) => (u.down ? 0 : 1));
  o.family("localdns_upstream_queries_total", "counter", "Queries sent to each upstream.");
  each("localdns_upstream_queries_total", (u) => u.counters.queries);
  o.family("localdns_upstream_failures_total", "counter", "Failed upstream attempts: timeouts and transport errors (an error answer is not one).");
  each("localdns_upstream_failures_total", (u) => u.counters.failures);
  o.family("localdns_upstream_open_connections", "gauge", "Open TCP connections per upstream.");
  each("localdns_upstream_open_connections", (u) => u.tcp.openConnections);
  o.family("localdns_upstream_connections_recycled_total", "counter", "TCP connections drained and replaced after their maximum age or query count.");
  each("localdns_upstream_connections_recycled_total", (u) => u.tcp.recycled);
}
