// Counters the data path bumps; rendered on scrape. Plain numeric fields: incrementing costs nothing
// measurable on the hit path.
export class DataPathStats {
  requests = [[0, 0], [0, 0]]; // [set][udp=0|tcp=1]
  hits = 0;
  misses = 0;
  staleServed = 0;
  prefetches = 0;
  coalesced = 0;
  refused = 0; // maxConcurrent rejections
  servfail = 0;
  errorsAnswered = 0; // FORMERR/NOTIMP/BADVERS/REFUSED built from the query
  blocked = 0;
  health = 0;
  dropped = 0;
  upstreamDrops = 0; // replies dropped: wrong ID/question/malformed
  rcodes = new Float64Array(24); // responses by rcode
}
