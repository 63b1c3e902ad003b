// While the cache snapshot is being restored (in slices, with the listeners already serving), a query
// the cache cannot answer yet waits a moment instead of going upstream: its name is probably in the
// part of the snapshot not yet read. Bounded in time, count and bytes; past any bound it goes
// upstream at once, as without a snapshot.
export const MAX_HOLD_MS = 300;
export const MAX_PARKED = 2048;
export const MAX_PARKED_BYTES = 1 << 20;

export class RestoreGate {
  private parked: (() => void)[] = [];
  private bytes = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;

  get holding(): boolean { return this.timer !== null; }

  /** From now until open() (or maxMs), misses are held. */
  arm(maxMs = MAX_HOLD_MS): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.open(), maxMs);
  }

  /** The restore is done (or given up on): every held query is served again, in arrival order. */
  open(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const list = this.parked;
    this.parked = [];
    this.bytes = 0;
    for (const replay of list) {
      try { replay(); } catch { /* one query's failure is its own */ }
    }
  }

  /** Holds a copy of `msg` for `replay` (which gets the copy); false when not holding or full. */
  park(msg: Uint8Array, replay: (copy: Uint8Array) => void): boolean {
    if (!this.timer) return false;
    if (this.parked.length >= MAX_PARKED || this.bytes + msg.length > MAX_PARKED_BYTES) return false;
    const copy = msg.slice();
    this.bytes += copy.length;
    this.parked.push(() => replay(copy));
    return true;
  }
}
