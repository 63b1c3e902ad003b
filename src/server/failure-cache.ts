// Resolution failures remembered per cache key for a short time (RFC 9520: at least 1 s, at most
// 5 min), so a name whose upstreams all fail costs one upstream query per interval however many clients
// ask. It is a marker beside the cache, never a cached SERVFAIL answer. Bounded: at the cap the oldest
// marker goes first (Map keeps insertion order, and every marker lives about as long as the others).
export class FailureCache {
  private readonly until = new Map<string, number>();
  hits = 0;

  constructor(private readonly maxEntries = 10_000) {}

  /** Marks `key` failed until `nowMs + forMs`. */
  add(key: string, nowMs: number, forMs: number): void {
    if (forMs <= 0) return;
    this.until.delete(key);
    if (this.until.size >= this.maxEntries) this.until.delete(this.until.keys().next().value as string);
    this.until.set(key, nowMs + forMs);
  }

  /** True while `key` is marked failed (counts a hit). */
  has(key: string, nowMs: number): boolean {
    const t = this.until.get(key);
    if (t === undefined) return false;
    if (t <= nowMs) { this.until.delete(key); return false; }
    this.hits++;
    return true;
  }

  delete(key: string): void { this.until.delete(key); }
  clear(): void { this.until.clear(); }
  get size(): number { return this.until.size; }
}
