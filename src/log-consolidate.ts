// Repeated log lines consolidated, after CoreDNS's `errors { consolidate }`: of the lines of one kind
// (the message and a few of its fields, e.g. every "query failed" of one zone, rcode, reason and
// protocol) the first in an interval is written as it is, the others are only counted, and when the
// interval ends one line of that kind says how many there were: `"consolidated": N`. A flood of one
// kind then writes one line per interval, however many queries fail.
import type { Level } from "./log";

export interface ConsolidateRule {
  msg: string;
  /** The fields that, with msg, make a kind. The summary line carries them. */
  by: string[];
}

export const DEFAULT_RULES: ConsolidateRule[] = [
  { msg: "query failed", by: ["zone", "rcode", "reason", "proto"] },
  { msg: "hosts file line ignored", by: ["path"] },
];
export const DEFAULT_INTERVAL_MS = 10_000;
// Kinds tracked at once: reasons carry upstream names and error texts, so they are many but not
// unbounded; past this, lines of new kinds are written as they come.
const MAX_KINDS = 1000;

interface Kind { level: Level; msg: string; fields: Record<string, unknown>; until: number; count: number }

export type Emit = (level: Level, msg: string, fields: Record<string, unknown>) => void;

export class Consolidator {
  private readonly rules = new Map<string, string[]>();
  private readonly kinds = new Map<string, Kind>();
  private nextDue = Infinity;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** Lines counted into a summary instead of being written. */
  consolidated = 0;

  /** schedule: how tick() gets called when no lines come (tests pass one that does nothing and call
   * tick() themselves). */
  constructor(rules: ConsolidateRule[], private readonly intervalMs: number, private readonly now: () => number,
    private readonly emit: Emit, private readonly schedule: (fn: () => void, ms: number) => unknown = unrefTimeout) {
    for (const r of rules) this.rules.set(r.msg, r.by);
  }

  /** true: write this line now; false: it was counted into its kind's next summary. */
  admit(level: Level, msg: string, fields: Record<string, unknown> | undefined): boolean {
    const by = this.rules.get(msg);
    if (!by) return true;
    const now = this.now();
    if (now >= this.nextDue) this.tick();
    const picked: Record<string, unknown> = {};
    for (const f of by) picked[f] = fields?.[f];
    const key = `${level}\u0000${msg}\u0000${JSON.stringify(picked)}`;
    const k = this.kinds.get(key);
    if (k) {
      k.count++;
      this.consolidated++;
      return false;
    }
    if (this.kinds.size >= MAX_KINDS) return true;
    this.kinds.set(key, { level, msg, fields: picked, until: now + this.intervalMs, count: 0 });
    this.due(now + this.intervalMs);
    return true;
  }

  /** Writes the summary of every kind whose interval has ended. A kind with lines in its interval
   * starts another; one without is forgotten (its next line is written in full). */
  tick(): void {
    const now = this.now();
    this.nextDue = Infinity;
    for (const [key, k] of this.kinds) {
      if (k.until > now) { this.due(k.until); continue; }
      if (k.count === 0) { this.kinds.delete(key); continue; }
      this.emit(k.level, k.msg, { ...k.fields, consolidated: k.count, intervalSeconds: this.intervalMs / 1000 });
      k.count = 0;
      k.until = now + this.intervalMs;
      this.due(k.until);
    }
  }

  private due(at: number): void {
    if (at >= this.nextDue) return;
    this.nextDue = at;
    if (this.timer !== null) clearTimeout(this.timer as ReturnType<typeof setTimeout>);
    this.timer = this.schedule(() => { this.timer = null; this.tick(); }, Math.max(0, at - this.now())) as ReturnType<typeof setTimeout>;
  }
}

// A timer that does not keep the process alive (Bun and Node return an object with unref()).
function unrefTimeout(fn: () => void, ms: number): unknown {
  const t = setTimeout(fn, ms) as unknown as { unref?: () => void };
  t.unref?.();
  return t;
}
