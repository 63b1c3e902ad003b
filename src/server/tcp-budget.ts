// One budget shared by every TCP listener of the process: a cap on client connections in all, and a
// cap on the bytes they hold in user space (partial messages being reassembled, answers the kernel has
// not taken yet). Over the connection cap the longest-idle connection goes; over the byte cap the
// connection holding the most goes (the oldest of equals): a client that fills buffers is shed before
// clients that only ask.

export interface TcpBudgetLimits { maxConnections: number; maxBytes: number }

export type CloseReason = "idle" | "connection_cap" | "memory" | "write_backlog";
export const CLOSE_REASONS: CloseReason[] = ["idle", "connection_cap", "memory", "write_backlog"];

/** A connection as the budget sees it. `held` is owned by the budget: change it through resize(). */
export interface BudgetMember {
  held: number;
  readonly opened: number;
  lastActive: number;
  /** Closes the connection; must call leave(). */
  shed(reason: CloseReason): void;
}

export class TcpBudget {
  private readonly members = new Set<BudgetMember>();
  /** Bytes held by all members. */
  bytes = 0;
  /** Bytes read from clients so far (each chunk a buffer that is garbage once handled). */
  received = 0;
  readonly closed: Record<CloseReason, number> = { idle: 0, connection_cap: 0, memory: 0, write_backlog: 0 };

  constructor(public limits: TcpBudgetLimits) {}

  get connections(): number { return this.members.size; }

  /** Admits a new connection; over the cap, the longest-idle other one is closed. */
  join(m: BudgetMember): void {
    this.members.add(m);
    while (this.members.size > this.limits.maxConnections) {
      let idlest: BudgetMember | null = null;
      for (const x of this.members) if (x !== m && (!idlest || x.lastActive < idlest.lastActive)) idlest = x;
      if (!idlest) break;
      this.shed(idlest, "connection_cap");
    }
  }

  leave(m: BudgetMember): void {
    if (!this.members.delete(m)) return;
    this.bytes -= m.held;
    m.held = 0;
  }

  /** m now holds `held` bytes. Over the byte cap, the largest holders are closed (m among them if it
   * is the largest): the caller checks whether m is still open. */
  resize(m: BudgetMember, held: number): void {
    if (!this.members.has(m)) return;
    this.bytes += held - m.held;
    m.held = held;
    while (this.bytes > this.limits.maxBytes) {
      let largest: BudgetMember | null = null;
      for (const x of this.members) if (!largest || x.held > largest.held || (x.held === largest.held && x.opened < largest.opened)) largest = x;
      if (!largest || largest.held === 0) break;
      this.shed(largest, "memory");
    }
  }

  /** Counts a close for a reason decided elsewhere (idle timeout, write backlog). */
  count(reason: CloseReason): void { this.closed[reason]++; }

  private shed(m: BudgetMember, reason: CloseReason): void {
    this.closed[reason]++;
    m.shed(reason);
    this.leave(m); // in case shed() did not
  }
}
