// Forwarding for one zone: policy order, one attempt per upstream within an overall deadline, TCP
// retry on truncation (PreferUDP) or TCP only (ForceTCP), failover on timeout, transport error,
// SERVFAIL or REFUSED, and the zone's cap on in-flight upstream queries.
import type { Upstream } from "./upstream";
import { Policy, type PolicyName } from "./policy";
import { rcodeName } from "../dns/names";

export enum Verdict {
  /** Not a reply to this query (wrong question, malformed): keep waiting. */
  Drop,
  /** Accepted and answered. */
  Done,
  /** Truncated over UDP: ask the same upstream over TCP. */
  RetryTcp,
  /** The upstream answered with a failure: try the next one. */
  Failover,
}

export interface ForwardTask {
  /** The upstream query; its first two octets are rewritten with each attempt's ID. */
  readonly query: Uint8Array;
  onReply(reply: Uint8Array, via: Upstream, tcp: boolean): Verdict;
  /** Every attempt failed or the deadline passed. */
  onFailure(reason: string): void;
}

export interface ForwarderSettings {
  policy: PolicyName;
  forceTcp: boolean;
  maxConcurrent: number;
  attemptTimeoutMs: number;
  deadlineMs: number;
  failfastAllUnhealthy: boolean;
}

export class Forwarder {
  private readonly policy: Policy;
  inflight = 0;
  rejected = 0;

  constructor(readonly upstreams: Upstream[], readonly settings: ForwarderSettings) {
    this.policy = new Policy(settings.policy);
    if (settings.forceTcp) for (const u of upstreams) u.preferTcpProbe = true;
  }

  /** Takes an in-flight slot; false when the zone is at maxConcurrent (the client gets REFUSED). */
  tryAcquire(): boolean {
    if (this.inflight >= this.settings.maxConcurrent) { this.rejected++; return false; }
    this.inflight++;
    return true;
  }

  release(): void { if (this.inflight > 0) this.inflight--; }

  /** Runs the task to completion: exactly one onReply → Done, or one onFailure. Releases the slot. */
  forward(task: ForwardTask): void {
    const order = this.policy.order(this.upstreams);
    if (order.length === 0) { this.finish(task, "no upstreams configured"); return; }
    if (this.settings.failfastAllUnhealthy && order.every((u) => u.down)) {
      this.finish(task, "all upstreams unhealthy");
      return;
    }
    const deadline = Date.now() + this.settings.deadlineMs;
    this.attempt(task, order, 0, this.settings.forceTcp, deadline, "", false);
  }

  private finish(task: ForwardTask, reason: string): void {
    this.release();
    task.onFailure(reason);
  }

  // retriedHere: a TCP connection to this upstream already failed under this query once: this attempt
  // goes on a fresh connection, and another transport error moves on to the next upstream.
  private attempt(task: ForwardTask, order: Upstream[], i: number, tcp: boolean, deadline: number, lastReason: string, retriedHere: boolean): void {
    const left = deadline - Date.now();
    // With fewer than three upstreams, go round again while time is left: behind a Service IP a retry
    // on a new socket or connection reaches another backend.
    if (i >= Math.max(order.length, 3) || left <= 0) {
      this.finish(task, lastReason || "deadline passed");
      return;
    }
    const up = order[i % order.length];
    const id = up.allocateId(tcp);
    task.query[0] = id >> 8;
    task.query[1] = id & 0xff;
    let settled = false;
    const sentAt = performance.now();
    const next = (reason: string, countFailure: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (countFailure) up.failed();
      this.attempt(task, order, i + 1, this.settings.forceTcp, deadline, reason, false);
    };
    const withdraw = up.send(tcp, task.query, {
      onReply: (msg) => {
        if (settled) return false;
        let v: Verdict;
        try { v = task.onReply(msg, up, tcp); } catch { v = Verdict.Drop; } // never let one reply break the transport
        if (v === Verdict.Drop) return false;
        settled = true;
        up.observe(rcodeName(msg[3] & 0xf), (performance.now() - sentAt) / 1000);
        clearTimeout(timer);
        if (v === Verdict.Done) { up.succeeded(); this.release(); return true; }
        if (v === Verdict.RetryTcp) { up.succeeded(); this.attempt(task, order, i, true, deadline, "truncated", retriedHere); return true; }
        // Failover: the server is reachable but failing this query
        up.failed();
        this.attempt(task, order, i + 1, this.settings.forceTcp, deadline, `${up.name} answered with an error`, false);
        return true;
      },
      onError: (err) => {
        // a connection that dropped (a backend pod went away) costs one retry on another connection
        if (tcp && !retriedHere && !settled) {
          settled = true;
          clearTimeout(timer);
          this.attempt(task, order, i, tcp, deadline, `${up.name}: ${err.message}`, true);
          return;
        }
        next(`${up.name}: ${err.message}`, true);
      },
    }, retriedHere);
    const timer = setTimeout(() => { withdraw(true); next(`${up.name}: timeout`, true); }, Math.min(this.settings.attemptTimeoutMs, left));
  }
}
