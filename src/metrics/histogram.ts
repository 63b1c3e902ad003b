// A latency histogram with CoreDNS's request-duration buckets, shared by the server and upstream
// metrics. Counting allocates nothing.
// CoreDNS's request-duration buckets: 0.25 ms doubling up to ~8 s.
export const BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);

export class Histogram {
  readonly counts = new Float64Array(BUCKETS.length + 1);
  sum = 0;
  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
  }
  get count(): number { let n = 0; for (const c of this.counts) n += c; return n; }
}
