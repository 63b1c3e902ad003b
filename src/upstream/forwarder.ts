// Forwarding for one zone (CoreDNS's forward.go): one retry loop over the policy's order within an
// overall deadline; each upstream answers at most once per query. What an upstream's answer means for the
// query is decided here: truncated over UDP → the same upstream over TCP; FORMERR to our EDNS query →
// the same upstream once more without EDNS (RFC 6891 6.2.2); SERVFAIL, REFUSED, FORMERR, NOTIMP or an
// extended error → the next upstream. Only transport failures (timeouts, errors) count against an
// upstream's health; an error answer proves it reachable and only starts a health probe.
import type { Upstream } from "./upstream";
import { Policy, type PolicyName } from "./policy";
import { rcodeName } from "../dns/names";

/** What a reply means for the query it answers (the handler's verdict on the bytes alone). */
export enum ReplyClass {
  /** Not a reply to this query (wrong question, malformed): keep waiting for another. */
  Drop,
  /** A usable answer (NOERROR, NXDOMAIN, or an rcode to pass on): accept it. */
  Answer,
  /** TC set on a UDP reply. */
  Truncated,
  /** SERVFAIL or REFUSED: this server cannot answer this query now. */
  ServerFailure,
  /** FORMERR, NOTIMP or an extended rcode (e.g. BADVERS): this server rejects how we asked. */
  Rejected,
}

export interface ForwardTask {
  /** The upstream query with our OPT last; its first two octets are rewritten with each attempt's ID. */
  readonly query: Uint8Array;
  /** Classifies a reply to `sent` (the query as it went out); for Answer the reply stays prepared in
   * the core until accept() is called. */
  classify(reply: Uint8Array, sent: Uint8Array, via: Upstream, tcp: boolean): { cls: ReplyClass; rcode: number };
  /** Called right after classify() returned Answer. */
  accept(via: Upstream, tcp: boolean): void;
  /** Every upstream failed or the deadline passed. */
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

const OPT_LEN = 11;
const MAX_TRANSPORT_RETRIES = 2;
const MIN_ATTEMPT_MS = 10; // less time than this left: an attempt could not be answered anyway // our OPT record: root owner, type, class, ttl, rdlength 0

/** One query's walk through the upstreams. */
interface Walk {
  task: ForwardTask;
  order: Upstream[];
  i: number;
  deadline: number;
  lastReason: string;
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

  /** Clients waiting for an answer from this zone's upstreams: also at most maxConcurrent. */
  waiting = 0;
  tryWait(): boolean {
    if (this.waiting >= this.settings.maxConcurrent) { this.rejected++; return false; }
    this.waiting++;
    return true;
  }
  unwait(n: number): void { this.waiting = Math.max(0, this.waiting - n); }

  /** Runs the task to completion: exactly one accept() or one onFailure(). Releases the slot. */
  forward(task: ForwardTask): void {
    const order = this.policy.order(this.upstreams);
    if (order.length === 0) { this.finish(task, "no upstreams configured"); return; }
    if (this.settings.failfastAllUnhealthy && order.every((u) => u.down)) {
      this.finish(task, "all upstreams unhealthy");
      return;
    }
    const walk: Walk = { task, order, i: 0, deadline: Date.now() + this.settings.deadlineMs, lastReason: "" };
    this.attempt(walk, task.query, this.settings.forceTcp, 0);
  }

  private finish(task: ForwardTask, reason: string): void {
    this.release();
    task.onFailure(reason);
  }

  private next(w: Walk, reason: string): void {
    w.lastReason = reason;
    w.i++;
    this.attempt(w, w.task.query, this.settings.forceTcp, 0);
  }

  private transportFailed(w: Walk, query: Uint8Array, tcp: boolean, retry: number, reason: string): void {
    if (retry < MAX_TRANSPORT_RETRIES) { w.lastReason = reason; this.attempt(w, query, tcp, retry + 1); }
    else this.next(w, reason);
  }

  // One attempt on order[i]. `query` is the task's query or its EDNS-less variant. `retry` counts the
  // transport failures on this upstream under this query so far: behind a Service IP a new socket or
  // connection reaches another backend, so a timeout or a dropped connection is tried again on a fresh
  // one (at most MAX_TRANSPORT_RETRIES times, within the deadline); an answer is never asked again.
  private attempt(w: Walk, query: Uint8Array, tcp: boolean, retry: number): void {
    const freshConnection = retry > 0;
    const left = w.deadline - Date.now();
    if (w.i >= w.order.length || left < MIN_ATTEMPT_MS) {
      this.finish(w.task, w.lastReason || "deadline passed");
      return;
    }
    const up = w.order[w.i];
    const id = up.allocateId(tcp);
    query[0] = id >> 8;
    query[1] = id & 0xff;
    let settled = false;
    const sentAt = performance.now();
    const settle = () => { settled = true; clearTimeout(timer); };
    const withdraw = up.send(tcp, query, {
      onReply: (msg) => {
        if (settled) return false;
        let verdict: { cls: ReplyClass; rcode: number };
        try { verdict = w.task.classify(msg, query, up, tcp); } catch { verdict = { cls: ReplyClass.Drop, rcode: 0 }; } // never let one reply break the transport
        if (verdict.cls === ReplyClass.Drop) return false;
        settle();
        up.observe(rcodeName(verdict.rcode), (performance.now() - sentAt) / 1000);
        up.reachable();
        switch (verdict.cls) {
          case ReplyClass.Answer:
            this.release();
            w.task.accept(up, tcp);
            break;
          case ReplyClass.Truncated:
            this.attempt(w, query, true, 0);
            break;
          case ReplyClass.Rejected:
            if (verdict.rcode === 1 && query === w.task.query && hasOurOpt(query)) {
              this.attempt(w, withoutEdns(query), tcp, 0);
              break;
            }
            this.next(w, `${up.name} answered ${rcodeName(verdict.rcode)}`);
            break;
          default:
            up.checkHealth();
            this.next(w, `${up.name} answered ${rcodeName(verdict.rcode)}`);
        }
        return true;
      },
      onError: (err) => {
        if (settled) return;
        settle();
        // a TCP connection that dropped once (a backend pod went away) is not the upstream's fault
        if (!(tcp && retry === 0)) up.failed();
        this.transportFailed(w, query, tcp, retry, `${up.name}: ${err.message}`);
      },
    }, freshConnection);
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      withdraw(true);
      up.failed();
      this.transportFailed(w, query, tcp, retry, `${up.name}: timeout`);
    }, Math.min(this.settings.attemptTimeoutMs, left));
  }
}

// Our upstream queries end with our OPT (see the core's buildUpstreamQuery), so dropping EDNS is
// dropping those last octets and the additional count.
function hasOurOpt(q: Uint8Array): boolean {
  return q.length >= 12 + OPT_LEN && q[10] === 0 && q[11] === 1 && q[q.length - OPT_LEN] === 0 && q[q.length - OPT_LEN + 1] === 0 && q[q.length - OPT_LEN + 2] === 41;
}

function withoutEdns(q: Uint8Array): Uint8Array {
  const plain = q.slice(0, q.length - OPT_LEN);
  plain[11] = 0;
  return plain;
}
