// Counters the data path bumps, rendered on scrape. Typed arrays indexed by small integers: counting
// costs a few nanoseconds per packet and allocates nothing.
import { TYPE_CODES } from "../dns/names";

export const TYPE_LABELS = ["A", "AAAA", "CNAME", "MX", "NS", "PTR", "SOA", "SRV", "TXT", "HTTPS", "SVCB", "ANY", "other"] as const;
const OTHER = TYPE_LABELS.length - 1;
const typeIndex = new Uint8Array(256).fill(OTHER);
TYPE_LABELS.forEach((l, i) => { if (l !== "other") typeIndex[TYPE_CODES[l]] = i; });
export const NT = TYPE_LABELS.length;
export const ZONE_SLOTS = 257; // zone ids 0..254 plus "no zone", indexed zone + 1

export { BUCKETS, Histogram } from "../metrics/histogram";
import { Histogram } from "../metrics/histogram";

const sum = (a: Float64Array) => { let n = 0; for (const v of a) n += v; return n; };

export class DataPathStats {
  /** [((zone+1)*2 + tcp)*2 + ipv6] * NT + type */
  readonly requests = new Float64Array(ZONE_SLOTS * 4 * NT);
  /** [(set*ZONE_SLOTS + zone+1) * 16 + rcode] */
  readonly responses = new Float64Array(2 * ZONE_SLOTS * 16);
  readonly duration = [new Histogram(), new Histogram()]; // per listener set
  /** Cache counters per zone, [zone + 1], as CoreDNS labels its cache families by server and zones. */
  readonly zoneHits = new Float64Array(ZONE_SLOTS);
  readonly zoneHitsDenial = new Float64Array(ZONE_SLOTS);
  readonly zoneMisses = new Float64Array(ZONE_SLOTS);
  readonly zoneStaleServed = new Float64Array(ZONE_SLOTS);
  readonly zonePrefetches = new Float64Array(ZONE_SLOTS);
  coalesced = 0;
  refused = 0; // maxConcurrent rejections
  servfail = 0;
  errorsAnswered = 0; // FORMERR/NOTIMP/BADVERS/REFUSED built from the query
  blocked = 0;
  hostsAnswered = 0;
  localAnswered = 0; // special-use names (localhost., loopback reverse)
  health = 0;
  dropped = 0;
  upstreamDrops = 0; // replies dropped: wrong ID/question/malformed

  hit(zone: number, negative: boolean): void {
    this.zoneHits[zone + 1]++;
    if (negative) this.zoneHitsDenial[zone + 1]++;
  }
  miss(zone: number): void { this.zoneMisses[zone + 1]++; }
  stale(zone: number): void { this.zoneStaleServed[zone + 1]++; }
  prefetch(zone: number): void { this.zonePrefetches[zone + 1]++; }
  get hits(): number { return sum(this.zoneHits); }
  get hitsDenial(): number { return sum(this.zoneHitsDenial); }
  get misses(): number { return sum(this.zoneMisses); }
  get staleServed(): number { return sum(this.zoneStaleServed); }
  get prefetches(): number { return sum(this.zonePrefetches); }

  /** Requests counted so far over every zone, protocol and type. */
  get requestsTotal(): number { return sum(this.requests); }

  request(zone: number, tcp: number, v6: number, qtype: number): void {
    this.requests[(((zone + 1) * 2 + tcp) * 2 + v6) * NT + (qtype < 256 ? typeIndex[qtype] : OTHER)]++;
  }
  response(set: number, zone: number, rcode: number): void {
    this.responses[(set * ZONE_SLOTS + zone + 1) * 16 + (rcode & 15)]++;
  }
}
