// Seconds clock for cache ages. Injectable so tests control time.
export interface Clock { nowSeconds(): number }
export const systemClock: Clock = { nowSeconds: () => Math.floor(Date.now() / 1000) };

export class ManualClock implements Clock {
  constructor(public seconds = 1_000_000) {}
  nowSeconds(): number { return this.seconds; }
  advance(s: number): void { this.seconds += s; }
}
