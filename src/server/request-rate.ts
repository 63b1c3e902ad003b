// Queries per second over the last minute, for `localdns status`: the request total sampled every
// few seconds into a small ring, so a reader gets the rate without waiting a minute itself.
export const RATE_WINDOW_MS = 60_000;
const SAMPLE_MS = 5_000;
const SLOTS = RATE_WINDOW_MS / SAMPLE_MS + 1;

export class RequestRate {
  private readonly at = new Float64Array(SLOTS);
  private readonly totals = new Float64Array(SLOTS);
  private count = 0; // samples taken, the newest at (count - 1) % SLOTS
  private timer: ReturnType<typeof setInterval> | null = null;

  /** `total()`: requests so far; `now()`: milliseconds on a monotonic clock. */
  constructor(private readonly total: () => number, private readonly now: () => number = () => performance.now()) {
    this.sample();
  }

  start(): void { if (!this.timer) this.timer = setInterval(() => this.sample(), SAMPLE_MS); }
  stop(): void { if (this.timer) clearInterval(this.timer); this.timer = null; }

  sample(): void {
    const i = this.count % SLOTS;
    this.at[i] = this.now();
    this.totals[i] = this.total();
    this.count++;
  }

  /** The rate from the oldest sample within the window (at most a minute back) to now, and the
   * seconds it covers; null before a second has passed since the first sample. */
  perSecond(): { perSecond: number; seconds: number } | null {
    const now = this.now();
    const total = this.total();
    const kept = Math.min(this.count, SLOTS);
    let oldest = -1;
    for (let k = 0; k < kept; k++) {
      const i = (this.count - kept + k) % SLOTS;
      if (now - this.at[i] <= RATE_WINDOW_MS) { oldest = i; break; }
    }
    if (oldest < 0) return null;
    const seconds = (now - this.at[oldest]) / 1000;
    if (seconds < 1) return null;
    return { perSecond: Math.max(0, total - this.totals[oldest]) / seconds, seconds: Math.round(seconds) };
  }
}
