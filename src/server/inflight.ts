// One upstream query in flight for a cache key, and the clients waiting for it (CoreDNS's cache item
// role on the miss side): the verdict on each upstream reply, then caching it and answering every
// waiter, or answering them all when resolution failed.
import { R, Rcode, Prepared, type Core } from "../core";
import type { Clock } from "../clock";
import type { Logger } from "../log";
import type { ZoneRuntime } from "./zone-runtime";
import type { Upstream } from "../upstream/upstream";
import { ReplyClass, type ForwardTask } from "../upstream/forwarder";
import type { FailureCache } from "./failure-cache";
import type { DataPathStats } from "./stats";
import type { QueryLog } from "./query-log";

export type Send = (answer: Uint8Array) => void;

// A client waiting for an upstream answer. `query` is the compact form (core.compactQuery): what the
// answer needs, never the query as the client sent it.
export interface Waiter {
  query: Uint8Array;
  size: number; // octets of the query as the client sent it (query log)
  tcp: boolean;
  send: Send;
  stale: boolean; // serve-stale Verify: a stale answer was in the cache when this client asked
  remote: string;
  port: number;
  started: number;
}

/** What an in-flight query shares with the handler that started it. */
export interface InflightContext {
  readonly core: Core;
  readonly clock: Clock;
  readonly log: Logger;
  readonly stats: DataPathStats;
  readonly queryLog: QueryLog;
  readonly failures: FailureCache;
  readonly inflight: Map<string, Inflight>;
  readonly opts: { negativeTtlWithoutSoa: number; failureCacheMs: number; staleRecheckMs: number };
}

export class Inflight implements ForwardTask {
  readonly waiters: Waiter[] = [];
  private rcodeOnly = false;
  private rcode = 0;
  private sentLen = 0;

  constructor(
    private readonly ctx: InflightContext,
    readonly key: string,
    readonly zone: ZoneRuntime,
    readonly query: Uint8Array,
    private readonly exactCase: boolean,
  ) {}

  /** The verdict on an upstream reply's bytes (see ReplyClass); the forwarder decides what follows. */
  classify(reply: Uint8Array, sent: Uint8Array, via: Upstream, tcp: boolean): { cls: ReplyClass; rcode: number } {
    const { core, stats, log, opts } = this.ctx;
    const code = core.prepare(reply, sent, this.exactCase, this.zone.settings.cacheDurationInSeconds, opts.negativeTtlWithoutSoa);
    if (code < 0) {
      stats.upstreamDrops++;
      log.debug("upstream reply dropped", { upstream: via.name, code });
      return { cls: ReplyClass.Drop, rcode: 0 };
    }
    // the result words, read once right after prepare()
    const rcode = core.res[R.RCODE];
    const truncated = core.res[R.TC] === 1;
    if (rcode === Rcode.SERVFAIL || rcode === Rcode.REFUSED) return { cls: ReplyClass.ServerFailure, rcode };
    if (rcode === Rcode.FORMERR || rcode === Rcode.NOTIMP || rcode > 15) return { cls: ReplyClass.Rejected, rcode };
    if (code !== Prepared.RCODE_ONLY && truncated && !tcp) return { cls: ReplyClass.Truncated, rcode };
    this.rcodeOnly = code === Prepared.RCODE_ONLY;
    this.rcode = rcode;
    this.sentLen = sent.length;
    return { cls: ReplyClass.Answer, rcode };
  }

  /** The reply just classified as an Answer: cache it and answer every waiter. */
  accept(): void {
    const { core, clock, failures } = this.ctx;
    const zone = this.zone;
    const rcode = this.rcode;
    this.finish();
    failures.delete(this.key);
    if (this.rcodeOnly) {
      for (const w of this.waiters) this.answer(w, core.answerError(w.query, rcode), rcode);
      return;
    }
    core.storePrepared(this.sentLen, clock.nowSeconds(), zone.set, zone.index, zone.staleWindow);
    for (const w of this.waiters) this.answer(w, core.answerPrepared(w.query, w.tcp), rcode);
  }

  onFailure(reason: string): void {
    const { failures, opts, log } = this.ctx;
    this.finish();
    // a refresh of a stale entry waits the recheck interval; a failed client query the failure TTL
    const hold = this.waiters.length === 0 ? opts.staleRecheckMs : opts.failureCacheMs;
    failures.add(this.key, performance.now(), hold);
    for (const w of this.waiters) answerFailure(this.ctx, this.zone, w, reason);
    if (this.waiters.length === 0) log.debug("background refresh failed", { zone: this.zone.settings.zone, reason });
  }

  private finish(): void {
    if (this.ctx.inflight.get(this.key) === this) this.ctx.inflight.delete(this.key);
    this.zone.forwarder.unwait(this.waiters.length);
  }

  private answer(w: Waiter, n: number, rcode: number): void {
    answerWaiter(this.ctx, this.zone, w, this.ctx.core.out(n), rcode);
  }
}

/** One client's answer when resolution failed: the stale entry rendered for it, if it had one and the
 * cache still holds it (rendered now, so waiting clients never hold copies of big answers), else
 * SERVFAIL. */
export function answerFailure(ctx: InflightContext, zone: ZoneRuntime, w: Waiter, reason: string): void {
  const { core, clock, stats } = ctx;
  if (w.stale) {
    const n = core.handle(w.query, clock.nowSeconds(), zone.set, w.tcp);
    const len = n > 0 ? n : n < 0 ? core.decision().staleLength : 0;
    if (len > 0) {
      stats.stale(zone.index);
      stats.response(zone.set, zone.index, core.mem[core.OUT + 3] & 0xf);
      stats.duration[zone.set].observe((performance.now() - w.started) / 1000);
      safeSend(w, core.out(len));
      return;
    }
  }
  stats.servfail++;
  answerWaiter(ctx, zone, w, core.out(core.answerError(w.query, Rcode.SERVFAIL)), Rcode.SERVFAIL);
  ctx.queryLog.failed(zone.settings.zone, w, Rcode.SERVFAIL, reason, performance.now() - w.started);
}

function answerWaiter(ctx: InflightContext, zone: ZoneRuntime, w: Waiter, out: Uint8Array, rcode: number): void {
  ctx.stats.response(zone.set, zone.index, rcode);
  ctx.stats.duration[zone.set].observe((performance.now() - w.started) / 1000);
  safeSend(w, out);
  if (zone.logAll) ctx.queryLog.answered(zone.settings.zone, w, w.size, out, performance.now() - w.started);
}

// A client's socket may be gone by the time its upstream answer arrives (listener closed on
// shutdown or reload): that must not disturb the other waiters or the upstream transport.
function safeSend(w: Waiter, answer: Uint8Array): void {
  try { w.send(answer); } catch { /* the client is gone */ }
}
