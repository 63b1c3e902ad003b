// The request flow (CoreDNS's handler role): one wasm call per packet decides; this file only acts on
// what it decided: send, serve stale, coalesce into an in-flight upstream query, or refuse.
import { Core, R, Status, Rcode, Prepared } from "../core";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import type { UdpSocket } from "../runtime/types";
import type { ZoneRuntime } from "./zone-runtime";
import type { Upstream } from "../upstream/upstream";
import { ReplyClass, type ForwardTask } from "../upstream/forwarder";
import { FailureCache } from "./failure-cache";
import { randomU32 } from "../upstream/ids";
import { ipBytes } from "../addr";
import { DataPathStats } from "./stats";
import { frame } from "./framing";
import { rcodeName, typeName } from "../dns/names";

export type Send = (answer: Uint8Array) => void;

const SLAB_BYTES = 1 << 20; // answers waiting for this turn's sendMany
const MAX_BATCH = 1024;

// A client waiting for an upstream answer. `query` is the compact form (core.compactQuery): what the
// answer needs, never the query as the client sent it.
interface Waiter {
  query: Uint8Array;
  size: number; // octets of the query as the client sent it (query log)
  tcp: boolean;
  send: Send;
  stale: boolean; // serve-stale Verify: a stale answer was in the cache when this client asked
  remote: string;
  port: number;
  started: number;
}

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

class Inflight implements ForwardTask {
  readonly waiters: Waiter[] = [];
  rcodeOnly = false;
  sentLen = 0;
  constructor(
    private readonly h: QueryHandler,
    readonly key: string,
    readonly zone: ZoneRuntime,
    readonly query: Uint8Array,
    readonly exactCase: boolean,
  ) {}

  classify(reply: Uint8Array, sent: Uint8Array, via: Upstream, tcp: boolean): { cls: ReplyClass; rcode: number } {
    return this.h.classify(this, reply, sent, via, tcp);
  }

  accept(): void { this.h.complete(this); }

  onFailure(reason: string): void {
    this.h.fail(this, reason);
  }
}

export class QueryHandler {
  readonly stats = new DataPathStats();
  readonly inflight = new Map<string, Inflight>();
  readonly failures = new FailureCache();
  /** Misses and refreshes so far: each leaves garbage behind (see Appliance's memory keeper). */
  garbageEvents = 0;
  zones: ZoneRuntime[] = [];

  constructor(
    readonly core: Core,
    private readonly clock: Clock,
    private readonly log: Logger,
    public opts: HandlerOptions,
  ) {}

  /** The UDP data callback for a listener of set `set`. The cache-hit path makes no promise, closure
   * or object: the answer is copied into a slab and sent with the rest of its batch by one sendMany
   * (sendmmsg) when the event loop turns (setImmediate: a microtask would flush after every packet). */
  udp(set: number, v6: boolean): (sock: UdpSocket, buf: Uint8Array, port: number, addr: string) => void {
    const core = this.core;
    const res = core.res;
    const stats = this.stats;
    const fam = v6 ? 1 : 0;
    const slab = new Uint8Array(SLAB_BYTES);
    const batch: (Uint8Array | number | string)[] = [];
    let used = 0;
    let scheduled = false;
    let target: UdpSocket | null = null;
    let thisTurn = 0; // answers queued in this event-loop turn
    let lastTurn = 0; // ... and in the previous one
    const flush = () => {
      scheduled = false;
      lastTurn = thisTurn;
      thisTurn = 0;
      if (batch.length > 0) {
        target!.sendMany(batch);
        batch.length = 0;
      }
      used = 0;
    };
    // Hits now and upstream answers later both leave through here. Under load a turn's answers share
    // one sendMany at the end of the turn. At light load (the last turn carried at most one answer) the
    // first answer of a turn goes out at once instead: no wait for the turn to end, and a batch of one
    // would cost the same syscall anyway.
    const queue = (sock: UdpSocket, answer: Uint8Array, port: number, addr: string) => {
      thisTurn++;
      if (!scheduled && lastTurn <= 1) {
        scheduled = true;
        target = sock;
        setImmediate(flush);
        sock.send(answer, port, addr);
        return;
      }
      const n = answer.length;
      if (used + n > SLAB_BYTES || batch.length >= MAX_BATCH * 3) flush();
      slab.set(answer, used);
      batch.push(slab.subarray(used, used + n), port, addr);
      used += n;
      target = sock;
      if (!scheduled) { scheduled = true; setImmediate(flush); }
    };
    return (sock, buf, port, addr) => {
      const n = core.handle(buf, this.clock.nowSeconds(), set, false);
      stats.request(res[R.ZONE], 0, fam, res[R.QTYPE]);
      if (n > 0) {
        queue(sock, core.out(n), port, addr);
        this.answered(set, buf, false, addr, port, n);
        return;
      }
      if (n === 0) { stats.dropped++; return; }
      this.slow(set, buf, false, (a) => queue(sock, a, port, addr), addr, port);
    };
  }

  /** One framed TCP message. Returns false when no answer will ever be sent (dropped); otherwise
   * `send` is called exactly once, now or when the upstream answers. */
  tcp(set: number, msg: Uint8Array, send: Send, addr: string, port: number): boolean {
    const core = this.core;
    const n = core.handle(msg, this.clock.nowSeconds(), set, true);
    this.stats.request(core.res[R.ZONE], 1, addr.includes(":") && !addr.startsWith("::ffff:") ? 1 : 0, core.res[R.QTYPE]);
    if (n > 0) {
      send(core.framedOut(n));
      this.answered(set, msg, true, addr, port, n);
      return true;
    }
    if (n === 0) { this.stats.dropped++; return false; }
    this.slow(set, msg, true, (a) => send(frame(a)), addr, port);
    return true;
  }

  // Book-keeping after an answer left OUT: counters, query log, prefetch. The log line is taken from
  // OUT before a prefetch builds its upstream query there.
  private answered(set: number, query: Uint8Array, tcp: boolean, addr: string, port: number, n: number): void {
    const core = this.core;
    const res = core.res;
    const status = res[R.STATUS];
    const stats = this.stats;
    const zi = res[R.ZONE];
    const rcode = core.mem[core.OUT + 3] & 0xf;
    stats.response(set, zi, rcode);
    stats.duration[set].fast();
    const prefetch = status === Status.HIT && res[R.PREFETCH] === 1;
    if (status === Status.HIT) {
      stats.hits++;
      if (res[R.NEGATIVE] === 1) stats.hitsDenial++;
    } else if (status === Status.BLOCKED) stats.blocked++;
    else if (status === Status.HOSTS) stats.hostsAnswered++;
    else if (status === Status.LOCAL) stats.localAnswered++;
    else if (status === Status.ERROR) stats.errorsAnswered++;
    const zone = zi >= 0 ? this.zones[zi] : null;
    if (zone ? zone.logAll : this.logsAll(set)) {
      const key = prefetch ? core.keyString() : "";
      this.logQuery(zone ? zone.settings.zone : "", query, query.length, tcp, addr, port, core.out(n), 0);
      // the log line parsed the query again: the same query, so the core's state for a refresh is too
      if (prefetch && core.keyString() === key) this.refresh(zone!, true);
      return;
    }
    if (prefetch) this.refresh(zone!, true);
  }

  // Answers given before a zone matched (FORMERR, NOTIMP, REFUSED, special names) are logged when any
  // zone of the listener set logs every query.
  private logsAll(set: number): boolean {
    for (const z of this.zones) if (z.set === set && z.logAll) return true;
    return false;
  }

  private slow(set: number, msg: Uint8Array, tcp: boolean, send: Send, addr: string, port: number): void {
    const core = this.core;
    const res = core.res;
    const status = res[R.STATUS];
    if (status === Status.HEALTH) {
      this.stats.health++;
      const n = core.answerHealth(msg, ipBytes(addr));
      this.stats.response(set, res[R.ZONE], 0);
      this.stats.duration[set].fast();
      send(core.out(n));
      return;
    }
    const zone = this.zones[res[R.ZONE]];
    if (status === Status.STALE) {
      const staleLen = res[R.OUT_LEN];
      if (zone.settings.serveStale === "Immediate") {
        this.stats.staleServed++;
        this.stats.response(set, zone.index, core.mem[core.OUT + 3] & 0xf);
        this.stats.duration[set].fast();
        send(core.out(staleLen));
        if (zone.logAll) this.logQuery(zone.settings.zone, msg, msg.length, tcp, addr, port, core.out(staleLen), 0, true);
        this.refresh(zone, false);
        return;
      }
      this.miss(set, zone, msg, tcp, send, zone.settings.serveStale === "Verify", addr, port);
      return;
    }
    this.stats.misses++;
    this.miss(set, zone, msg, tcp, send, false, addr, port);
  }

  private miss(set: number, zone: ZoneRuntime, msg: Uint8Array, tcp: boolean, send: Send, stale: boolean, addr: string, port: number): void {
    const core = this.core;
    const key = core.keyString();
    const now = performance.now();
    if (this.failures.has(key, now)) {
      // failed moments ago: answer as that failure did (stale if there is one), without asking again
      this.failed(zone, { query: core.compactQuery(), size: msg.length, tcp, send, stale, remote: addr, port, started: now }, "resolution failed recently (failure cache)");
      return;
    }
    const existing = this.inflight.get(key);
    const refusal = msg.length > MAX_FORWARDED_QUERY ? "query too large to forward"
      : existing && existing.waiters.length >= MAX_WAITERS_PER_KEY ? "too many clients waiting for this name"
      : !zone.forwarder.tryWait() ? "maxConcurrent reached (clients waiting)"
      : !existing && !zone.forwarder.tryAcquire() ? (zone.forwarder.unwait(1), "maxConcurrent reached") : null;
    if (refusal !== null) {
      this.refuse(set, zone, msg, tcp, send, addr, port, refusal);
      return;
    }
    this.garbageEvents++;
    const waiter: Waiter = { query: core.compactQuery(), size: msg.length, tcp, send, stale, remote: addr, port, started: now };
    if (existing) {
      this.stats.coalesced++;
      existing.waiters.push(waiter);
      return;
    }
    const inf = this.startInflight(key, zone);
    inf.waiters.push(waiter);
    zone.forwarder.forward(inf);
  }

  private refuse(set: number, zone: ZoneRuntime, msg: Uint8Array, tcp: boolean, send: Send, addr: string, port: number, reason: string): void {
    this.stats.refused++;
    const w: Waiter = { query: this.core.compactQuery(), size: msg.length, tcp, send, stale: false, remote: addr, port, started: performance.now() };
    const n = this.core.answerError(msg, Rcode.REFUSED);
    this.stats.response(set, zone.index, Rcode.REFUSED);
    this.stats.duration[set].fast();
    send(this.core.out(n));
    this.logFailure(zone, w, reason, Rcode.REFUSED);
  }

  // Must run right after handle(): builds the upstream query from the parsed query in the core.
  private startInflight(key: string, zone: ZoneRuntime): Inflight {
    const seed = this.opts.randomizeCase ? randomU32() | 1 : 0;
    const query = this.core.upstreamQuery(0, seed);
    const inf = new Inflight(this, key, zone, query, seed !== 0);
    this.inflight.set(key, inf);
    return inf;
  }

  /** Background refresh (stale-immediate or prefetch) of the query last handled by the core. A key that
   * failed lately is not asked again before its recheck time (RFC 8767's failure recheck timer). */
  private refresh(zone: ZoneRuntime, prefetch: boolean): void {
    const key = this.core.keyString();
    if (this.inflight.has(key) || this.failures.has(key, performance.now())) return;
    if (!zone.forwarder.tryAcquire()) return;
    if (prefetch) this.stats.prefetches++;
    this.garbageEvents++;
    zone.forwarder.forward(this.startInflight(key, zone));
  }

  /** The handler's verdict on an upstream reply (see ReplyClass); the forwarder decides what follows. */
  classify(inf: Inflight, reply: Uint8Array, sent: Uint8Array, via: Upstream, tcp: boolean): { cls: ReplyClass; rcode: number } {
    const core = this.core;
    const res = core.res;
    const code = core.prepare(reply, sent, inf.exactCase, inf.zone.settings.cacheDurationInSeconds, this.opts.negativeTtlWithoutSoa);
    if (code < 0) {
      this.stats.upstreamDrops++;
      this.log.debug("upstream reply dropped", { upstream: via.name, code });
      return { cls: ReplyClass.Drop, rcode: 0 };
    }
    const rcode = res[R.RCODE];
    if (rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED) return { cls: ReplyClass.ServerFailure, rcode };
    if (rcode === Rcode.FORMERR || rcode === Rcode.NOTIMP || rcode > 15) return { cls: ReplyClass.Rejected, rcode };
    if (code !== Prepared.RCODE_ONLY && res[R.TC] === 1 && !tcp) return { cls: ReplyClass.Truncated, rcode };
    inf.rcodeOnly = code === Prepared.RCODE_ONLY;
    inf.sentLen = sent.length;
    return { cls: ReplyClass.Answer, rcode };
  }

  /** The reply just classified as an Answer: cache it and answer every waiter. */
  complete(inf: Inflight): void {
    const core = this.core;
    const zone = inf.zone;
    const rcode = core.res[R.RCODE];
    this.finish(inf);
    this.failures.delete(inf.key);
    if (inf.rcodeOnly) {
      for (const w of inf.waiters) this.reply(zone, w, core.answerError(w.query, rcode), rcode);
      return;
    }
    core.storePrepared(inf.sentLen, this.clock.nowSeconds(), zone.set, zone.index, zone.staleWindow);
    for (const w of inf.waiters) this.reply(zone, w, core.answerPrepared(w.query, w.tcp), rcode);
  }

  fail(inf: Inflight, reason: string): void {
    this.finish(inf);
    // a refresh of a stale entry waits the recheck interval; a failed client query the failure TTL
    const hold = inf.waiters.length === 0 ? this.opts.staleRecheckMs : this.opts.failureCacheMs;
    this.failures.add(inf.key, performance.now(), hold);
    for (const w of inf.waiters) this.failed(inf.zone, w, reason);
    if (inf.waiters.length === 0) this.log.debug("background refresh failed", { zone: inf.zone.settings.zone, reason });
  }

  // One client's answer when resolution failed: the stale entry rendered for it, if it had one and the
  // cache still holds it (rendered now, so waiting clients never hold copies of big answers), else
  // SERVFAIL.
  private failed(zone: ZoneRuntime, w: Waiter, reason: string): void {
    if (w.stale) {
      const core = this.core;
      const n = core.handle(w.query, this.clock.nowSeconds(), zone.set, w.tcp);
      const status = core.res[R.STATUS];
      const len = n > 0 ? n : status === Status.STALE ? core.res[R.OUT_LEN] : 0;
      if (len > 0) {
        this.stats.staleServed++;
        this.stats.response(zone.set, zone.index, core.mem[core.OUT + 3] & 0xf);
        this.stats.duration[zone.set].observe((performance.now() - w.started) / 1000);
        safeSend(w, core.out(len));
        return;
      }
    }
    this.stats.servfail++;
    this.reply(zone, w, this.core.answerError(w.query, Rcode.SERVFAIL), Rcode.SERVFAIL);
    this.logFailure(zone, w, reason, Rcode.SERVFAIL);
  }

  private finish(inf: Inflight): void {
    if (this.inflight.get(inf.key) === inf) this.inflight.delete(inf.key);
    inf.zone.forwarder.unwait(inf.waiters.length);
  }

  private reply(zone: ZoneRuntime, w: Waiter, n: number, rcode: number): void {
    const out = this.core.out(n);
    this.stats.response(zone.set, zone.index, rcode);
    this.stats.duration[zone.set].observe((performance.now() - w.started) / 1000);
    safeSend(w, out);
    if (zone.logAll) this.logQuery(zone.settings.zone, w.query, w.size, w.tcp, w.remote, w.port, out, performance.now() - w.started);
  }

  // Log lines only. Parsing through the core overwrites its per-query state, so callers on the hit
  // path call this last.
  private describe(query: Uint8Array) {
    const q = this.core.describe(query);
    return { ...q, type: typeName(q.qtype), class: q.qclass };
  }

  private logFailure(zone: ZoneRuntime, w: Waiter, reason: string, rcode: number): void {
    const q = this.describe(w.query);
    this.log.error("query failed", {
      zone: zone.settings.zone, remote: w.remote, port: w.port, id: q.id, type: q.type, name: q.name,
      proto: w.tcp ? "tcp" : "udp", rcode: rcodeName(rcode), reason,
      duration: round3((performance.now() - w.started) / 1000),
    });
  }

  private logQuery(zone: string, query: Uint8Array, size: number, tcp: boolean, addr: string, port: number, answer: Uint8Array, ms: number, stale = false): void {
    const q = this.describe(query);
    const rflags = answer.length >= 4 ? flagNames(answer[2], answer[3]) : "";
    this.log.info("query", {
      zone, remote: addr, port, id: q.id, type: q.type, class: q.class, name: q.name,
      proto: tcp ? "tcp" : "udp", size, do: q.do, bufsize: q.bufsize,
      rcode: rcodeName(answer[3] & 0xf), rflags, rsize: answer.length,
      duration: round3(ms / 1000), ...(stale ? { stale: true } : {}),
    });
  }
}

// A client's socket may be gone by the time its upstream answer arrives (listener closed on
// shutdown or reload): that must not disturb the other waiters or the upstream transport.
function safeSend(w: Waiter, answer: Uint8Array): void {
  try { w.send(answer); } catch { /* the client is gone */ }
}

const round3 = (x: number) => Math.round(x * 1e6) / 1e6;

function flagNames(b2: number, b3: number): string {
  const f: string[] = ["qr"];
  if (b2 & 0x04) f.push("aa");
  if (b2 & 0x02) f.push("tc");
  if (b2 & 0x01) f.push("rd");
  if (b3 & 0x80) f.push("ra");
  if (b3 & 0x20) f.push("ad");
  if (b3 & 0x10) f.push("cd");
  return f.join(",");
}
