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

export class DataPathStats {
  /** [((zone+1)*2 + tcp)*2 + ipv6] * NT + type */
  readonly requests = new Float64Array(ZONE_SLOTS * 4 * NT);
  /** [(set*ZONE_SLOTS + zone+1) * 16 + rcode] */
  readonly responses = new Float64Array(2 * ZONE_SLOTS * 16);
  readonly duration = [new Histogram(), new Histogram()]; // per listener set
  hits = 0;
  hitsDenial = 0;
  misses = 0;
  staleServed = 0;
  prefetches = 0;
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

  request(zone: number, tcp: number, v6: number, qtype: number): void {
    this.requests[(((zone + 1) * 2 + tcp) * 2 + v6) * NT + (qtype < 256 ? typeIndex[qtype] : OTHER)]++;
  }
  response(set: number, zone: number, rcode: number): void {
    this.responses[(set * ZONE_SLOTS + zone + 1) * 16 + (rcode & 15)]++;
  }
}
