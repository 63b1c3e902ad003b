// Wires one running localdns from an effective config: the packet core and its zones, upstreams and
// per-zone forwarders, UDP and TCP listeners for both listener sets, the admin HTTP servers, the cache
// snapshot. reload() applies a new config in place, all or nothing: everything new (zone and rule
// tables, hosts overlay, upstreams, sockets) is built beside the running parts and switched in one
// synchronous step, or the running config stays. Unchanged listeners keep their sockets, the cache is
// kept (entries of removed zones dropped), upstreams keep their connections and health.
// The parts live in src/appliance/: upstream and zone planning, listener diffing, the HTTP servers a
// config wants, readiness, the memory keeper, the warm-restart snapshot, each component's options.
import type { Runtime } from "./runtime/types";
import { Core } from "./core";
import { systemClock, type Clock } from "./clock";
import type { Logger } from "./log";
import { formatEndpoint } from "./config/endpoint";
import { LISTENER_SETS, type EffectiveConfig, type Destination } from "./config/effective";
import { planZones, type ZonePlan } from "./config/zone-plan";
import { QueryHandler } from "./server/handler";
import { TcpBudget } from "./server/tcp-budget";
import { TcpTurns } from "./server/tcp-turns";
import type { Upstream } from "./upstream/upstream";
import { createAdminApp, createMetricsApp, createReadyApp } from "./admin/app";
import type { AdminDeps } from "./admin/deps";
import { RequestRate } from "./server/request-rate";
import { HttpServers } from "./admin/servers";
import type { ZoneRef } from "./cache/snapshot";
import { HostsOverlay, type HostsLoad } from "./cache/hosts-overlay";
import { planUpstreams, type UpstreamPlan } from "./appliance/upstream-plan";
import { buildZoneRuntimes } from "./appliance/zone-runtimes";
import { DnsListeners, type BoundChange, type BoundListener } from "./appliance/dns-listeners";
import { httpWanted } from "./appliance/http-plan";
import { readiness, type Readiness } from "./appliance/readiness";
import { startMemoryKeeper } from "./appliance/memory-keeper";
import { openUdpDataPath, type UdpDataPath } from "./appliance/udp-data-path";
import { evictRunning } from "./appliance/takeover";
import { summarize } from "./appliance/summary";
import { handlerOptions, tcpBudgetLimits } from "./appliance/component-options";
import { prepareWarmRestart, restoreSnapshot, saveSnapshot, type SlicedRestore } from "./appliance/warm-restart";
import { warnRestartOnly } from "./appliance/restart-only";
import type { ApplianceOptions } from "./appliance/options";
export { HEALTH_NAME } from "./config/zone-plan";
export type { BoundListener, ApplianceOptions };

/** A config's parts built beside the running ones: nothing live has changed yet. */
interface Plan extends UpstreamPlan { config: EffectiveConfig; zones: ZonePlan; hosts: HostsLoad }
type ReloadResult = { ok: true; summary: ReturnType<Appliance["summary"]> } | { ok: false; errors: string[] };

export class Appliance implements AdminDeps {
  upstreams = new Map<Destination, Upstream[]>();
  private readonly http: HttpServers;
  private readonly dns: DnsListeners;
  private stopping = false;
  readonly startedAt = Date.now();
  reloads = { ok: 0, failed: 0, lastAt: null as number | null, lastOk: null as boolean | null };
  zoneRefs: ZoneRef[] = [];
  readonly adminApp: ReturnType<typeof createAdminApp>;
  private readonly readyApp: ReturnType<typeof createReadyApp>;
  private readonly metricsApp = createMetricsApp(this);
  readonly requestRate: RequestRate;
  private readonly hosts: HostsOverlay;
  private memoryKeeper: { stop(): void } | null = null;
  restoring: SlicedRestore | null = null; // the snapshot restore, run while the listeners serve
  /** One connection cap and memory budget, and one share of the event loop, for every TCP listener. */
  readonly tcpBudget: TcpBudget;
  readonly tcpTurns = new TcpTurns();

  private constructor(readonly rt: Runtime, public config: EffectiveConfig, readonly core: Core,
    readonly handler: QueryHandler, readonly log: Logger, readonly version: string, readonly clock: Clock,
    private readonly udpPath: UdpDataPath, private readonly reloadSource?: ApplianceOptions["reloadSource"]) {
    this.adminApp = createAdminApp(this);
    this.readyApp = createReadyApp(this);
    this.requestRate = new RequestRate(() => handler.allStats().requestsTotal);
    this.http = new HttpServers(rt);
    this.hosts = new HostsOverlay(rt, core, log);
    this.tcpBudget = new TcpBudget(tcpBudgetLimits(config));
    this.dns = new DnsListeners(rt, handler, this.tcpBudget, this.tcpTurns, udpPath.ffi, udpPath.inherited, udpPath.takeover, udpPath.net);
  }

  get listeners(): BoundListener[] { return this.dns.bound; }

  static async start(o: ApplianceOptions): Promise<Appliance> {
    const wasm = o.wasm ?? (await o.runtime.loadCoreWasm());
    const c = o.config;
    const core = await Core.load(wasm, c.cache.maxBytes);
    const clock = o.clock ?? systemClock;
    const handler = new QueryHandler(core, clock, o.log, handlerOptions(c));
    const udpPath = await openUdpDataPath(o.runtime, core, handler, o.log, c, clock === systemClock, o.takeover === true);
    const app = new Appliance(o.runtime, c, core, handler, o.log, o.version ?? "dev", clock, udpPath, o.reloadSource);
    // the same steps as a reload; the snapshot is restored once the listeners serve
    const plan = app.plan(c);
    app.core.stageZones(plan.zones.zones, plan.zones.rules);
    plan.hosts = app.hosts.stageOrEmpty(plan.hosts); // no overlay beats no DNS: the watcher retries
    app.commit(plan, null);
    if (c.cache.snapshotPath) prepareWarmRestart(o.runtime, c.cache.snapshotPath, o.log, handler.restoreGate, udpPath.takeover);
    try {
      await app.bindFor(c, async () => { if (udpPath.ffi?.tookOver) await evictRunning(c, c.server.workers, o.log); }).then((b) => b.commit());
      app.dns.releaseTakeovers();
      if (c.cache.snapshotPath) app.restoring = restoreSnapshot(o.runtime, core, c.cache.snapshotPath, app.zoneRefs, () => clock.nowSeconds(), o.log, handler.restoreGate);
    } catch (e) {
      app.closeAll();
      throw e;
    }
    app.requestRate.start();
    app.memoryKeeper = startMemoryKeeper(o.runtime, {
      upstreamEvents: () => handler.garbageEvents,
      tcpBytesReceived: () => app.tcpBudget.received,
      logLines: () => o.log.stats.lines,
    });
    o.log.info("localdns started", { version: app.version, runtime: `${o.runtime.name} ${o.runtime.version}`, ...app.summary() });
    return app;
  }

  summary() { return summarize(this.config, this.listeners, this.upstreams, this.udpPath.description); }

  /** Builds everything of `c` that needs no socket, beside the running parts. Throws when `c` cannot
   * be applied (nothing to undo then). */
  private plan(c: EffectiveConfig): Plan {
    const zones = planZones(c, this.zoneRefs);
    const hosts = this.hosts.read(c.cache.hostsFile);
    return { config: c, zones, hosts, ...planUpstreams(this.rt, this.log, c, this.upstreams) };
  }

  /** Writes the plan's zone tables and hosts overlay into the core's spare areas (the live ones keep
   * answering). Throws when they do not fit. Synchronous, and run right before commit(), so the
   * hosts file watcher cannot write the spare overlay in between. */
  private stage(p: Plan): void {
    this.core.stageZones(p.zones.zones, p.zones.rules);
    this.hosts.stage(p.hosts);
  }

  /** Switches to a staged plan in one synchronous step. Cannot fail. */
  private commit(p: Plan, bound: BoundChange | null): void {
    const c = p.config;
    this.core.commitZones();
    this.hosts.commit(p.hosts);
    this.upstreams = p.upstreams;
    this.handler.zones = buildZoneRuntimes(c, p.zones, p.upstreams);
    // the FFI loop leaves queries the log records to this thread's request flow
    const logged = this.handler.zones.filter((z) => z?.logAll);
    this.core.setLoggedQueries(logged.map((z) => z.index), [...new Set(logged.map((z) => z.set))]);
    this.zoneRefs = p.zones.refs;
    // entries of zones that went away carry those zones' ids: drop them (their names now fall in
    // another zone, with its settings)
    for (const z of p.zones.removed) this.core.flushZoneIndex(z.id);
    bound?.commit();
    this.handler.opts = handlerOptions(c);
    this.core.configure(c.cache.staleAnswerTtl, c.cache.prefetch ? 2 : 0, 30, c.server.maxUdpSize);
    this.tcpBudget.limits = tcpBudgetLimits(c);
    this.config = c;
    // removed upstreams finish what they carry before they close
    if (p.removed.length) setTimeout(() => { for (const u of p.removed) u.close(); }, c.forward.deadlineMs + 100);
  }

  /** Binds the DNS listeners and HTTP servers `c` has and the running config lacks. Throws, having
   * closed what it bound, when one cannot be bound. */
  private async bindFor(c: EffectiveConfig, beforeHttp?: () => Promise<void>): Promise<BoundChange> {
    const dns = await this.dns.prepare(c);
    if (beforeHttp) { dns.commit(); await beforeHttp(); } // a takeover: the old instance leaves the admin port
    let http;
    try {
      http = this.http.prepare(httpWanted(c, { admin: this.adminApp.fetch, metrics: this.metricsApp.fetch, ready: this.readyApp.fetch }));
    } catch (e) {
      dns.rollback();
      throw e;
    }
    return {
      commit: () => { dns.commit(); http.commit(); },
      rollback: () => { dns.rollback(); http.rollback(); },
    };
  }

  /** Re-reads the config source and applies it; on any problem the running config stays. */
  async reloadFromSource(): Promise<ReloadResult> {
    if (!this.reloadSource) return { ok: false, errors: ["no config source to reload from"] };
    const r = this.reloadSource();
    if (!r.ok) return this.rejected(r.errors);
    return this.reload(r.config);
  }

  /** Applies `c` in full or not at all. Reloads run one after another: each plans against the
   * config the one before it left. */
  reload(c: EffectiveConfig): Promise<ReloadResult> {
    const run = this.reloading.then(() => this.applyReload(c));
    this.reloading = run.then(() => undefined, () => undefined);
    return run;
  }
  private reloading: Promise<void> = Promise.resolve();

  private async applyReload(c: EffectiveConfig): Promise<ReloadResult> {
    const prev = this.config;
    let plan: Plan;
    try { plan = this.plan(c); } catch (e) { return this.rejected([(e as Error).message]); }
    const drop = () => { for (const u of plan.created) u.close(); };
    let bound: BoundChange;
    try { bound = await this.bindFor(c); } catch (e) {
      drop();
      return this.rejected([(e as Error).message]);
    }
    // from here to the switch nothing yields to the event loop
    try { this.stage(plan); } catch (e) {
      bound.rollback();
      drop();
      return this.rejected([(e as Error).message]);
    }
    this.commit(plan, bound);
    warnRestartOnly(prev, c, this.log);
    Object.assign(this.reloads, { ok: this.reloads.ok + 1, lastAt: Date.now(), lastOk: true });
    this.log.info("config reloaded", this.summary());
    return { ok: true, summary: this.summary() };
  }

  private rejected(errors: string[]): ReloadResult {
    Object.assign(this.reloads, { failed: this.reloads.failed + 1, lastAt: Date.now(), lastOk: false });
    this.log.error("config reload rejected; the running config stays", { problems: errors });
    return { ok: false, errors };
  }

  /** Set by the CLI: how POST /leave (a newer instance took over) stops this process. */
  onLeave: (() => void) | null = null;
  leave(): boolean {
    if (!this.udpPath.ffi || !this.onLeave) return false;
    if (!this.stopping) this.onLeave(); // going already (a SIGTERM): the newer one waits all the same
    return true;
  }

  readiness(): Readiness {
    return readiness({ stopping: this.stopping, config: this.config, listenersBound: this.listeners.length, upstreams: this.upstreams });
  }

  /** Stops taking queries, lets in-flight upstream queries finish and their answers go out (bounded),
   * saves the cache, closes. */
  async stop(graceMs = this.config.server.shutdownGraceMs, drain = false): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    await this.dns.stopReceiving(drain);
    const until = Date.now() + graceMs;
    while (this.handler.inflight.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    if (this.config.cache.snapshotPath) await saveSnapshot(this.rt, this.core, this.config.cache.snapshotPath, this.zoneRefs, this.log, this.restoring);
    this.closeAll();
    this.log.info("localdns stopped", { unfinished: this.handler.inflight.size });
  }

  private closeAll(): void {
    this.hosts.stop();
    this.memoryKeeper?.stop();
    this.requestRate.stop();
    this.dns.closeAll();
    for (const list of this.upstreams.values()) for (const u of list) u.close();
    this.http.stopAll();
  }
}
