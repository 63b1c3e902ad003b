// The cache's families, labelled by server (listener set) and zones as CoreDNS's cache plugin labels
// them, plus localdns's memory gauges.
import type { Exposition } from "../metrics/exposition";
import type { DataPathStats } from "../server/stats";
import type { ZoneRuntime } from "../server/zone-runtime";

export interface CacheMetricsView {
  readonly core: { stats(): { entries: number; negativeEntries: number; bytes: number; evictions: number }; entriesByZone(): Int32Array };
  readonly stats: DataPathStats;
  readonly zones: readonly (ZoneRuntime | undefined)[];
  readonly maxBytes: number;
}

export function renderCacheMetrics(o: Exposition, v: CacheMetricsView): void {
  const c = v.core.stats();
  const byZone = v.core.entriesByZone();
  const s = v.stats;
  const zones = v.zones.filter((z): z is ZoneRuntime => z !== undefined);
  const at = (z: ZoneRuntime) => ({ server: z.setName, zones: z.settings.zone });
  const perZone = (name: string, counts: Float64Array) => { for (const z of zones) o.sample(name, at(z), counts[z.index + 1]); };

  // the core counts entries per zone, and denials only in all: per zone the type is "all"
  o.family("coredns_cache_entries", "gauge", "The number of elements in the cache (type all: success and denial together).");
  for (const z of zones) o.sample("coredns_cache_entries", { ...at(z), type: "all" }, byZone[z.index] ?? 0);
  o.family("localdns_cache_denial_entries", "gauge", "Negative (NXDOMAIN, NODATA) entries over all zones.");
  o.sample("localdns_cache_denial_entries", {}, c.negativeEntries);
  o.family("coredns_cache_requests_total", "counter", "The count of cache requests (hits and misses).");
  for (const z of zones) o.sample("coredns_cache_requests_total", at(z), s.zoneHits[z.index + 1] + s.zoneMisses[z.index + 1]);
  o.family("coredns_cache_hits_total", "counter", "The count of cache hits.");
  for (const z of zones) {
    const i = z.index + 1;
    o.sample("coredns_cache_hits_total", { ...at(z), type: "success" }, s.zoneHits[i] - s.zoneHitsDenial[i]);
    o.sample("coredns_cache_hits_total", { ...at(z), type: "denial" }, s.zoneHitsDenial[i]);
  }
  o.family("coredns_cache_misses_total", "counter", "The count of cache misses.");
  perZone("coredns_cache_misses_total", s.zoneMisses);
  o.family("coredns_cache_served_stale_total", "counter", "The number of requests served from stale cache entries.");
  perZone("coredns_cache_served_stale_total", s.zoneStaleServed);
  o.family("coredns_cache_prefetch_total", "counter", "The number of times the cache has prefetched a cached item.");
  perZone("coredns_cache_prefetch_total", s.zonePrefetches);
  // one memory budget for every zone: evictions are not per zone
  o.family("coredns_cache_evictions_total", "counter", "The count of cache evictions (over all zones: one memory budget).");
  o.sample("coredns_cache_evictions_total", {}, c.evictions);
  o.family("localdns_cache_bytes", "gauge", "Bytes of cache memory in use (table plus records).");
  o.sample("localdns_cache_bytes", {}, c.bytes);
  o.family("localdns_cache_max_bytes", "gauge", "The configured cache memory cap.");
  o.sample("localdns_cache_max_bytes", {}, v.maxBytes);
}
