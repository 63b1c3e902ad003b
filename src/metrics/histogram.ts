// A latency histogram with CoreDNS's request-duration buckets, shared by the server and upstream
// metrics. Counting allocates nothing.
// CoreDNS's request-duration buckets: 0.25 ms doubling up to ~8 s.
export const BUCKETS = Array.from({ length: 16 }, (_, i) => 0.00025 * 2 ** i);

/** Words a Histogram takes in a backing array: one count per bucket, +Inf, then the sum. */
export const HISTOGRAM_WORDS = BUCKETS.length + 2;

export class Histogram {
  readonly counts: Float64Array;
  private readonly words: Float64Array;
  /** `words`: HISTOGRAM_WORDS slots to count in (a view of shared counters); a fresh array by default. */
  constructor(words: Float64Array = new Float64Array(HISTOGRAM_WORDS)) {
    this.words = words;
    this.counts = words.subarray(0, BUCKETS.length + 1);
  }
  get sum(): number { return this.words[BUCKETS.length + 1]; }
  observe(seconds: number): void {
    let i = 0;
    while (i < BUCKETS.length && seconds > BUCKETS[i]) i++;
    this.counts[i]++;
    this.words[BUCKETS.length + 1] += seconds;
  }
  get count(): number { let n = 0; for (const c of this.counts) n += c; return n; }
}
