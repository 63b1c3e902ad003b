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
import { Histogram, HISTOGRAM_WORDS } from "../metrics/histogram";

const sum = (a: Float64Array) => { let n = 0; for (const v of a) n += v; return n; };

// Scalar counters, by index into their block (see DataPathStats's accessors).
const SCALARS = ["coalesced", "refused", "servfail", "errorsAnswered", "blocked", "hostsAnswered", "localAnswered", "health", "dropped", "upstreamDrops", "handOffsDropped"] as const;

// The layout of one block of counters, in f64 words.
const REQUESTS = ZONE_SLOTS * 4 * NT;
const RESPONSES = 2 * ZONE_SLOTS * 16;
const LAYOUT = { requests: REQUESTS, responses: RESPONSES, duration0: HISTOGRAM_WORDS, duration1: HISTOGRAM_WORDS,
  zoneHits: ZONE_SLOTS, zoneHitsDenial: ZONE_SLOTS, zoneMisses: ZONE_SLOTS, zoneStaleServed: ZONE_SLOTS, zonePrefetches: ZONE_SLOTS, scalars: SCALARS.length };
const WORDS = Object.values(LAYOUT).reduce((a, b) => a + b, 0);

/** Counters of one data path: the main thread's request flow, or an FFI loop Worker's (then over a
 * SharedArrayBuffer the main thread sums on scrape). All of them are f64 words of one array. */
export class DataPathStats {
  /** Bytes of the SharedArrayBuffer a Worker's counters live in. */
  static readonly SHARED_BYTES = WORDS * 8;
  readonly all: Float64Array;
  /** [((zone+1)*2 + tcp)*2 + ipv6] * NT + type */
  readonly requests: Float64Array;
  /** [(set*ZONE_SLOTS + zone+1) * 16 + rcode] */
  readonly responses: Float64Array;
  readonly duration: [Histogram, Histogram]; // per listener set
  /** Cache counters per zone, [zone + 1], as CoreDNS labels its cache families by server and zones. */
  readonly zoneHits: Float64Array;
  readonly zoneHitsDenial: Float64Array;
  readonly zoneMisses: Float64Array;
  readonly zoneStaleServed: Float64Array;
  readonly zonePrefetches: Float64Array;
  private readonly scalars: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer | null = null) {
    this.all = buffer ? new Float64Array(buffer, 0, WORDS) : new Float64Array(WORDS);
    let at = 0;
    const take = (n: number) => { const v = this.all.subarray(at, at + n); at += n; return v; };
    this.requests = take(LAYOUT.requests);
    this.responses = take(LAYOUT.responses);
    this.duration = [new Histogram(take(HISTOGRAM_WORDS)), new Histogram(take(HISTOGRAM_WORDS))];
    this.zoneHits = take(ZONE_SLOTS);
    this.zoneHitsDenial = take(ZONE_SLOTS);
    this.zoneMisses = take(ZONE_SLOTS);
    this.zoneStaleServed = take(ZONE_SLOTS);
    this.zonePrefetches = take(ZONE_SLOTS);
    this.scalars = take(SCALARS.length);
  }

  get coalesced(): number { return this.scalars[0]; } set coalesced(v: number) { this.scalars[0] = v; }
  /** maxConcurrent rejections */
  get refused(): number { return this.scalars[1]; } set refused(v: number) { this.scalars[1] = v; }
  get servfail(): number { return this.scalars[2]; } set servfail(v: number) { this.scalars[2] = v; }
  /** FORMERR/NOTIMP/BADVERS/REFUSED built from the query */
  get errorsAnswered(): number { return this.scalars[3]; } set errorsAnswered(v: number) { this.scalars[3] = v; }
  get blocked(): number { return this.scalars[4]; } set blocked(v: number) { this.scalars[4] = v; }
  get hostsAnswered(): number { return this.scalars[5]; } set hostsAnswered(v: number) { this.scalars[5] = v; }
  /** special-use names (localhost., loopback reverse) */
  get localAnswered(): number { return this.scalars[6]; } set localAnswered(v: number) { this.scalars[6] = v; }
  get health(): number { return this.scalars[7]; } set health(v: number) { this.scalars[7] = v; }
  get dropped(): number { return this.scalars[8]; } set dropped(v: number) { this.scalars[8] = v; }
  /** replies dropped: wrong ID/question/malformed */
  get upstreamDrops(): number { return this.scalars[9]; } set upstreamDrops(v: number) { this.scalars[9] = v; }
  /** FFI path: queries the loop dropped because 1,024 hand-offs already waited for the main thread
   * (set by the main thread from the loop's own counter; the Worker never writes it) */
  get handOffsDropped(): number { return this.scalars[10]; } set handOffsDropped(v: number) { this.scalars[10] = v; }

  /** Adds another block's counters to these (a Worker's, on scrape or when its loop leaves). */
  add(other: DataPathStats): void {
    const a = this.all, b = other.all;
    for (let i = 0; i < a.length; i++) a[i] += b[i];
  }

  /** The sum of several blocks, as a fresh one (scrape time only). */
  static total(blocks: DataPathStats[]): DataPathStats {
    const t = new DataPathStats();
    for (const b of blocks) t.add(b);
    return t;
  }

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
