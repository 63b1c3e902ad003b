// The request flow (CoreDNS's handler role): one wasm call per packet decides; this file only acts on
// what it decided: send, serve stale, coalesce into an in-flight upstream query, or refuse.
import { Core, R, Status, Rcode, type Decision } from "../core";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import type { UdpSocket } from "../runtime/types";
import type { ZoneRuntime } from "./zone-runtime";
import { FailureCache } from "./failure-cache";
import { Inflight, answerFailure, type InflightContext, type Waiter, type Send } from "./inflight";
import { randomU32 } from "../upstream/ids";
import { ipBytes } from "../addr";
import { DataPathStats } from "./stats";
import { frame } from "../dns/framing";
import { QueryLog } from "./query-log";
import { RestoreGate } from "./restore-gate";

export type { Send };

/** Sends one UDP answer (copied before it returns: `answer` may be a view of the core's memory). */
export type UdpAnswerSender = (sock: UdpSocket, answer: Uint8Array, port: number, addr: string) => void;

export interface HandlerOptions {
  negativeTtlWithoutSoa: number;
  randomizeCase: boolean;
  /** How long a failed resolution is remembered per key (0: not at all). */
  failureCacheMs: number;
  /** While an entry is served stale, how often its refresh may ask the upstream again. */
  staleRecheckMs: number;
}

/** Waiters one in-flight query may collect; more clients for the same key are refused. */
export const MAX_WAITERS_PER_KEY = 256;
/** A query longer than this is refused rather than forwarded (answers from the cache still go out). */
export const MAX_FORWARDED_QUERY = 4096;

export class QueryHandler implements InflightContext {
  readonly stats = new DataPathStats();
  readonly inflight = new Map<string, Inflight>();
  readonly failures = new FailureCache();
  readonly queryLog: QueryLog;
  /** Misses and refreshes so far: each leaves garbage behind (see Appliance's memory keeper). */
  garbageEvents = 0;
  zones: ZoneRuntime[] = [];
  /** Counters kept elsewhere (the FFI loop Workers'), summed with ours for metrics. */
  otherStats: () => DataPathStats[] = () => [];
  /** Every data path's counters together (a fresh sum when Workers count too: scrape time only). */
  allStats(): DataPathStats { const o = this.otherStats(); return o.length ? DataPathStats.total([this.stats, ...o]) : this.stats; }
  /** False while shutting down: new queries are dropped, answers to those in flight still go out. */
  receiving = true;
  /** Holds misses for a moment while the snapshot is restored. */
  readonly restoreGate = new RestoreGate();

  constructor(
    readonly core: Core,
    readonly clock: Clock,
    readonly log: Logger,
    public opts: HandlerOptions,
  ) {
    this.queryLog = new QueryLog(core, log);
  }

  /** The UDP data callback for a listener of set `set`; answers leave through `queue` (the
   * listener's batching sender, see udp.ts). The cache-hit path makes no promise, closure or object. */
  udp(set: number, v6: boolean, queue: UdpAnswerSender): (sock: UdpSocket, buf: Uint8Array, port: number, addr: string) => void {
    const core = this.core;
    const res = core.res;
    const stats = this.stats;
    const fam = v6 ? 1 : 0;
    return (sock, buf, port, addr) => {
      if (!this.receiving) return;
      const started = performance.now();
      const n = core.handle(buf, this.clock.nowSeconds(), set, false);
      stats.request(res[R.ZONE], 0, fam, res[R.QTYPE]);
      if (n > 0) {
        queue(sock, core.out(n), port, addr);
        this.answered(set, buf, false, addr, port, n, started);
        return;
      }
      if (n === 0) { stats.dropped++; return; }
      this.slow(set, buf, false, (a) => queue(sock, a, port, addr), addr, port, started);
    };
  }

  /** A datagram the FFI loop handed off (its core left it to the request flow: a miss, a stale entry,
   * the health name, a logged query): the whole flow on this thread, answers through `send`. */
  handOff(set: number, v6: boolean, buf: Uint8Array, send: Send, addr: string, port: number): void {
    if (!this.receiving) return;
    const core = this.core;
    const started = performance.now();
    const n = core.handle(buf, this.clock.nowSeconds(), set, false);
    this.stats.request(core.res[R.ZONE], 0, v6 ? 1 : 0, core.res[R.QTYPE]);
    if (n > 0) {
      send(core.out(n));
      this.answered(set, buf, false, addr, port, n, started);
      return;
    }
    if (n === 0) { this.stats.dropped++; return; }
    this.slow(set, buf, false, send, addr, port, started);
  }

  /** A hit the FFI loop answered whose entry is due for a refresh (prefetch). */
  refreshHandedOff(set: number, query: Uint8Array): void {
    const zone = this.zones[this.core.recall(query, set)];
    if (zone) this.refresh(zone, this.core.decision(), true);
  }

  /** One framed TCP message. Returns false when no answer will ever be sent (dropped); otherwise
   * `send` is called exactly once, now or when the upstream answers. */
  tcp(set: number, msg: Uint8Array, send: Send, addr: string, port: number): boolean {
    if (!this.receiving) return false;
    const core = this.core;
    const started = performance.now();
    const n = core.handle(msg, this.clock.nowSeconds(), set, true);
    this.stats.request(core.res[R.ZONE], 1, addr.includes(":") && !addr.startsWith("::ffff:") ? 1 : 0, core.res[R.QTYPE]);
    if (n > 0) {
      send(core.framedOut(n));
      this.answered(set, msg, true, addr, port, n, started);
      return true;
    }
    if (n === 0) { this.stats.dropped++; return false; }
    this.slow(set, msg, true, (a) => send(frame(a)), addr, port, started);
    return true;
  }

  // Book-keeping after an answer left OUT: counters, query log, prefetch. The hit path reads the result
  // words before anything else calls the core (allocation-free); a prefetch takes its record first.
  // `started`: performance.now() when the packet came in; local answers are timed like forwarded ones
  private answered(set: number, query: Uint8Array, tcp: boolean, addr: string, port: number, n: number, started: number): void {
    const core = this.core;
    const res = core.res;
    const status = res[R.STATUS];
    const stats = this.stats;
    const zi = res[R.ZONE];
    const refresh = status === Status.HIT && res[R.PREFETCH] === 1 ? core.decision() : null;
    const rcode = core.mem[core.OUT + 3] & 0xf;
    stats.response(set, zi, rcode);
    stats.duration[set].observe((performance.now() - started) / 1000);
    if (status === Status.HIT) stats.hit(zi, res[R.NEGATIVE] === 1);
    else if (status === Status.BLOCKED) stats.blocked++;
    else if (status === Status.HOSTS) stats.hostsAnswered++;
    else if (status === Status.LOCAL) stats.localAnswered++;
    else if (status === Status.ERROR) stats.errorsAnswered++;
    const zone = zi >= 0 ? this.zones[zi] : null;
    if (zone ? zone.logAll : this.logsAll(set)) this.queryLog.answered(zone ? zone.settings.zone : "", { query, tcp, remote: addr, port }, query.length, core.out(n), 0);
    if (refresh) this.refresh(zone!, refresh, true);
  }

  // A query held while the snapshot was restored, asked of the cache again (counted once, timed from
  // its arrival); `send` takes the bare answer (framed for TCP by the caller's wrapper).
  private again(set: number, msg: Uint8Array, tcp: boolean, send: Send, addr: string, port: number, started: number): void {
    const n = this.core.handle(msg, this.clock.nowSeconds(), set, tcp);
    if (n > 0) { send(this.core.out(n)); this.answered(set, msg, tcp, addr, port, n, started); }
    else if (n < 0) this.slow(set, msg, tcp, send, addr, port, started);
  }

  // Answers given before a zone matched (FORMERR, NOTIMP, REFUSED, special names) are logged when any
  // zone of the listener set logs every query.
  private logsAll(set: number): boolean {
    for (const z of this.zones) if (z.set === set && z.logAll) return true;
    return false;
  }

  private slow(set: number, msg: Uint8Array, tcp: boolean, send: Send, addr: string, port: number, started: number): void {
    const core = this.core;
    const d = core.decision();
    const status = d.status;
    if (status !== Status.HEALTH && this.restoreGate.holding && this.restoreGate.park(msg, (copy) => this.again(set, copy, tcp, send, addr, port, started))) return;
    if (status === Status.HEALTH) {
      this.stats.health++;
      const n = core.answerHealth(msg, ipBytes(addr));
      this.stats.response(set, d.zone, 0);
      this.stats.duration[set].observe((performance.now() - started) / 1000);
      send(core.out(n));
      return;
    }
    const zone = this.zones[d.zone];
    if (status === Status.STALE) {
      const staleLen = d.staleLength;
      if (zone.settings.serveStale === "Immediate") {
        this.stats.stale(zone.index);
        this.stats.response(set, zone.index, core.mem[core.OUT + 3] & 0xf);
        this.stats.duration[set].observe((performance.now() - started) / 1000);
        send(core.out(staleLen));
        if (zone.logAll) this.queryLog.answered(zone.settings.zone, { query: msg, tcp, remote: addr, port }, msg.length, core.out(staleLen), 0, true);
        this.refresh(zone, d, false);
        return;
      }
      this.miss(set, zone, d, msg, tcp, send, zone.settings.serveStale === "Verify", addr, port, started);
      return;
    }
    this.stats.miss(zone.index);
    this.miss(set, zone, d, msg, tcp, send, false, addr, port, started);
  }

  private miss(set: number, zone: ZoneRuntime, d: Decision, msg: Uint8Array, tcp: boolean, send: Send, stale: boolean, addr: string, port: number, now: number): void {
    const key = d.key;
    if (this.failures.has(key, now)) {
      // failed moments ago: answer as that failure did (stale if there is one), without asking again
      answerFailure(this, zone, { query: d.query, size: msg.length, tcp, send, stale, remote: addr, port, started: now }, "resolution failed recently (failure cache)");
      return;
    }
    const existing = this.inflight.get(key);
    const refusal = msg.length > MAX_FORWARDED_QUERY ? "query too large to forward"
      : existing && existing.waiters.length >= MAX_WAITERS_PER_KEY ? "too many clients waiting for this name"
      : !zone.forwarder.tryWait() ? "maxConcurrent reached (clients waiting)"
      : !existing && !zone.forwarder.tryAcquire() ? (zone.forwarder.unwait(1), "maxConcurrent reached") : null;
    if (refusal !== null) {
      this.refuse(set, zone, d.query, msg, tcp, send, addr, port, refusal, now);
      return;
    }
    this.garbageEvents++;
    const waiter: Waiter = { query: d.query, size: msg.length, tcp, send, stale, remote: addr, port, started: now };
    if (existing) {
      this.stats.coalesced++;
      existing.waiters.push(waiter);
      return;
    }
    const inf = this.startInflight(d, zone);
    inf.waiters.push(waiter);
    zone.forwarder.forward(inf);
  }

  private refuse(set: number, zone: ZoneRuntime, compact: Uint8Array, msg: Uint8Array, tcp: boolean, send: Send, addr: string, port: number, reason: string, started: number): void {
    this.stats.refused++;
    const w: Waiter = { query: compact, size: msg.length, tcp, send, stale: false, remote: addr, port, started };
    const n = this.core.answerError(msg, Rcode.REFUSED);
    this.stats.response(set, zone.index, Rcode.REFUSED);
    this.stats.duration[set].observe((performance.now() - started) / 1000);
    send(this.core.out(n));
    this.queryLog.failed(zone.settings.zone, w, Rcode.REFUSED, reason, 0);
  }

  // The upstream query is built from the record's compact query: whatever the core did since.
  private startInflight(d: Decision, zone: ZoneRuntime): Inflight {
    const seed = this.opts.randomizeCase ? randomU32() | 1 : 0;
    const query = this.core.upstreamQueryFor(d.query, 0, seed);
    const inf = new Inflight(this, d.key, zone, query, seed !== 0);
    this.inflight.set(d.key, inf);
    return inf;
  }

  /** Background refresh (stale-immediate or prefetch) of the query in `d`. A key that failed lately is
   * not asked again before its recheck time (RFC 8767's failure recheck timer). */
  private refresh(zone: ZoneRuntime, d: Decision, prefetch: boolean): void {
    if (this.inflight.has(d.key) || this.failures.has(d.key, performance.now())) return;
    if (!zone.forwarder.tryAcquire()) return;
    if (prefetch) this.stats.prefetch(zone.index);
    this.garbageEvents++;
    zone.forwarder.forward(this.startInflight(d, zone));
  }
}
