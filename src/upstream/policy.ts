// The order in which a query tries the upstreams: Sequential, RoundRobin or Random, with upstreams
// marked down moved behind the healthy ones (they are still tried when nothing else is left).
import type { Upstream } from "./upstream";

export type PolicyName = "Sequential" | "RoundRobin" | "Random";

export class Policy {
  private rr = 0;
  constructor(readonly name: PolicyName) {}

  order(list: Upstream[]): Upstream[] {
    const n = list.length;
    let base: Upstream[];
    if (this.name === "Sequential" || n < 2) base = list.slice();
    else if (this.name === "RoundRobin") {
      const start = this.rr++ % n;
      base = [...list.slice(start), ...list.slice(0, start)];
    } else {
      base = list.slice();
      for (let i = n - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [base[i], base[j]] = [base[j], base[i]];
      }
    }
    const healthy = base.filter((u) => !u.down);
    if (healthy.length === n) return base;
    return [...healthy, ...base.filter((u) => u.down)];
  }
}
