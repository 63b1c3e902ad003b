// Wires one running localdns from an effective config: the packet core and its zones, upstreams and
// per-zone forwarders, UDP and TCP listeners for both listener sets, the admin HTTP server, the cache
// snapshot. reload() applies a new config in place, all or nothing: everything new (zone and rule
// tables, hosts overlay, upstreams, sockets) is built beside the running parts and switched in one
// synchronous step, or the running config stays. Unchanged listeners keep their sockets, the cache is
// kept (entries of removed zones dropped), upstreams keep their connections and health.
import type { Runtime, UdpSocket } from "./runtime/types";
import { Core } from "./core";
import { systemClock, type Clock } from "./clock";
import type { Logger } from "./log";
import { formatEndpoint, type Endpoint } from "./config/endpoint";
import { LISTENER_SETS, type EffectiveConfig, type Destination } from "./config/effective";
import { planZones, type ZonePlan } from "./config/zone-plan";
import { SNAPSHOT_MAX_BYTES } from "./config/limits";
import { QueryHandler, type HandlerOptions } from "./server/handler";
import { listenUdp } from "./server/udp";
import { TcpListener } from "./server/tcp";
import { TcpBudget, type TcpBudgetLimits } from "./server/tcp-budget";
import { TcpTurns } from "./server/tcp-turns";
import type { ZoneRuntime } from "./server/zone-runtime";
import { Upstream } from "./upstream/upstream";
import { Forwarder } from "./upstream/forwarder";
import { createAdminApp, createReadyApp } from "./admin/app";
import { HttpServers, type HttpWant } from "./admin/servers";
import { restoreFromFile, saveToFile, type ZoneRef, type SnapshotIO } from "./cache/snapshot";
import { HostsOverlay, type HostsLoad } from "./cache/hosts-overlay";

export { HEALTH_NAME } from "./config/zone-plan";
const DESTINATIONS: Destination[] = ["ClusterCoreDNS", "VnetDNS"];

export interface ApplianceOptions {
  runtime: Runtime;
  config: EffectiveConfig;
  log: Logger;
  clock?: Clock;
  wasm?: Uint8Array;
  version?: string;
  /** Re-reads the config source for SIGHUP / POST /reload. */
  reloadSource?: () => { ok: true; config: EffectiveConfig } | { ok: false; errors: string[] };
}

function handlerOptions(c: EffectiveConfig): HandlerOptions {
  return {
    negativeTtlWithoutSoa: c.cache.negativeTtlWithoutSoa,
    failureCacheMs: c.cache.failureCacheSeconds * 1000,
    staleRecheckMs: c.cache.staleRecheckSeconds * 1000,
    randomizeCase: c.forward.randomizeCase,
  };
}

export interface BoundListener { set: number; ep: Endpoint; udp: UdpSocket; tcp: TcpListener }

const listenerKey = (set: number, ep: Endpoint) => `${set}|${formatEndpoint(ep)}`;
const tcpBudgetLimits = (c: EffectiveConfig): TcpBudgetLimits => ({ maxConnections: c.server.maxTcpConnections, maxBytes: c.server.maxTcpBufferedBytes });

/** A config's parts built beside the running ones: nothing live has changed yet. */
interface Plan {
  config: EffectiveConfig;
  zones: ZonePlan;
  upstreams: Map<Destination, Upstream[]>;
  created: Upstream[]; // new in this plan: closed again if the plan is dropped
  removed: Upstream[]; // running ones this plan no longer uses
  hosts: HostsLoad;
}

/** Sockets bound for a plan: switched in by commit(), closed by rollback(). */
interface BoundChange { commit(): void; rollback(): void }

type ReloadResult = { ok: true; summary: ReturnType<Appliance["summary"]> } | { ok: false; errors: string[] };

export class Appliance {
  listeners: BoundListener[] = [];
  upstreams = new Map<Destination, Upstream[]>();
  private readonly http: HttpServers;
  private stopping = false;
  readonly startedAt = Date.now();
  reloads = { ok: 0, failed: 0 };
  zoneRefs: ZoneRef[] = [];
  readonly adminApp: ReturnType<typeof createAdminApp>;
  private readonly hosts: HostsOverlay;
  private memoryKeeper: ReturnType<typeof setInterval> | null = null;
  /** One connection cap and memory budget, and one share of the event loop, for every TCP listener. */
  readonly tcpBudget: TcpBudget;
  readonly tcpTurns = new TcpTurns();

  private constructor(readonly rt: Runtime, public config: EffectiveConfig, readonly core: Core,
    readonly handler: QueryHandler, readonly log: Logger, readonly version: string, readonly clock: Clock,
    private readonly reloadSource?: ApplianceOptions["reloadSource"]) {
    this.adminApp = createAdminApp(this);
    this.http = new HttpServers(rt);
    this.hosts = new HostsOverlay(rt, core, log);
    this.tcpBudget = new TcpBudget(tcpBudgetLimits(config));
  }

  static async start(o: ApplianceOptions): Promise<Appliance> {
    const wasm = o.wasm ?? (await o.runtime.loadCoreWasm());
    const c = o.config;
    const core = await Core.load(wasm, c.cache.maxBytes);
    const clock = o.clock ?? systemClock;
    const handler = new QueryHandler(core, clock, o.log, handlerOptions(c));
    const app = new Appliance(o.runtime, c, core, handler, o.log, o.version ?? "dev", clock, o.reloadSource);
    // the same steps as a reload, with the snapshot restored before any socket is bound
    const plan = app.plan(c);
    app.core.stageZones(plan.zones.zones, plan.zones.rules);
    plan.hosts = app.hosts.stageOrEmpty(plan.hosts); // no overlay beats no DNS: the watcher retries
    app.commit(plan, null);
    if (c.cache.snapshotPath) {
      // a warm restart needs somewhere to write: made now, so a problem shows at start, not at shutdown
      try { o.runtime.makeParentDir(c.cache.snapshotPath); } catch (e) {
        o.log.warn("snapshot directory cannot be created; the cache will not survive a restart", { path: c.cache.snapshotPath, error: (e as Error).message });
      }
    }
    if (c.cache.snapshotPath) restoreFromFile(core, app.snapshotIO(), c.cache.snapshotPath, app.zoneRefs, clock.nowSeconds(), o.log);
    try {
      await app.bindFor(c).then((b) => b.commit());
    } catch (e) {
      app.closeAll();
      throw e;
    }
    app.keepMemoryFlat();
    o.log.info("localdns started", { version: app.version, runtime: `${o.runtime.name} ${o.runtime.version}`, ...app.summary() });
    return app;
  }

  summary() {
    return {
      listeners: this.listeners.map((l) => `${LISTENER_SETS[l.set]} ${formatEndpoint(l.ep)}`),
      upstreams: Object.fromEntries([...this.upstreams].map(([d, list]) => [d, list.map((u) => u.name)])),
      zones: Object.fromEntries(LISTENER_SETS.map((s) => [s, this.config.zones[s].map((z) => z.zone)])),
      admin: this.config.admin.listen ? `${formatEndpoint(this.config.admin.listen)}` : null,
      cacheMaxBytes: this.config.cache.maxBytes,
    };
  }

  private snapshotIO(): SnapshotIO {
    return { open: (p) => this.rt.openChunks(p, SNAPSHOT_MAX_BYTES), create: (p) => this.rt.createAtomic(p) };
  }

  private configureCore(c: EffectiveConfig): void {
    this.handler.opts = handlerOptions(c);
    this.core.configure(c.cache.staleAnswerTtl, c.cache.prefetch ? 2 : 0, 30, c.server.maxUdpSize);
  }

  /** Builds everything of `c` that needs no socket, beside the running parts. Throws when `c` cannot
   * be applied (nothing to undo then). */
  private plan(c: EffectiveConfig): Plan {
    const zones = planZones(c, this.zoneRefs);
    const hosts = this.hosts.read(c.cache.hostsFile);
    const f = c.forward;
    const old = new Map<string, Upstream>();
    for (const [d, list] of this.upstreams) for (const u of list) old.set(`${d}|${u.name}`, u);
    const upstreams = new Map<Destination, Upstream[]>();
    const created: Upstream[] = [];
    for (const dest of DESTINATIONS) {
      const healthCheck = LISTENER_SETS.some((s) => c.zones[s].some((z) => z.forwardDestination === dest && z.healthCheck));
      upstreams.set(dest, c.upstreams[dest].map((ep) => {
        const key = `${dest}|${formatEndpoint(ep)}`;
        const existing = old.get(key);
        if (existing) { old.delete(key); return existing; }
        const u = new Upstream(this.rt, ep, {
          maxFails: f.maxFails, healthCheckIntervalMs: f.healthCheckIntervalMs, healthCheck, udpLingerMs: f.attemptTimeoutMs + 100,
          tcp: { size: f.tcpPoolSize, max: f.tcpPoolMax, maxAgeMs: f.tcpMaxAgeMs, maxQueries: f.tcpMaxQueries, idleMs: f.tcpIdleTimeoutMs },
        }, this.log);
        created.push(u);
        return u;
      }));
    }
    return { config: c, zones, upstreams, created, removed: [...old.values()], hosts };
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
    const zones: ZoneRuntime[] = [];
    LISTENER_SETS.forEach((setName, set) => {
      for (const z of c.zones[setName]) {
        const id = p.zones.refs.find((r) => r.set === set && r.zone === z.zone)!.id;
        zones[id] = {
          index: id, set, setName, settings: z, logAll: z.queryLogging === "Log",
          staleWindow: z.serveStale === "Disable" ? 0 : z.serveStaleDurationInSeconds,
          forwarder: new Forwarder(p.upstreams.get(z.forwardDestination)!, {
            policy: z.forwardPolicy, forceTcp: z.protocol === "ForceTCP", maxConcurrent: z.maxConcurrent,
            attemptTimeoutMs: c.forward.attemptTimeoutMs, deadlineMs: c.forward.deadlineMs, failfastAllUnhealthy: z.failfastAllUnhealthyUpstreams,
          }),
        };
      }
    });
    this.handler.zones = zones;
    this.zoneRefs = p.zones.refs;
    // entries of zones that went away carry those zones' ids: drop them (their names now fall in
    // another zone, with its settings)
    for (const z of p.zones.removed) this.core.flushZoneIndex(z.id);
    bound?.commit();
    this.configureCore(c);
    this.tcpBudget.limits = tcpBudgetLimits(c);
    this.config = c;
    // removed upstreams finish what they carry before they close
    if (p.removed.length) setTimeout(() => { for (const u of p.removed) u.close(); }, c.forward.deadlineMs + 100);
  }

  /** Every upstream query leaves a few kilobytes of short-lived objects (timers, closures, copies).
   * Under a flood of misses the JS engine lets its heap, and the process RSS, grow far past what is
   * live before collecting, and never gives the pages back. A full collection (a few ms) four times a
   * second while misses are flowing keeps RSS flat; a pure cache-hit load never triggers it. */
  /** One-off bursts (a hosts file or config reloaded, TCP buffers of closed connections) leave garbage
   * without misses: when RSS has grown a tenth over what it was after the last collection and none ran
   * for 2 s, one more runs, so memory returns to its level once the burst is over. */
  private keepMemoryFlat(): void {
    let seen = 0;
    let seenTcp = 0;
    let seenLines = 0;
    let lastGc = Date.now();
    let rssAfterGc = this.rt.rss();
    const collect = () => { this.rt.collectGarbage(); lastGc = Date.now(); rssAfterGc = this.rt.rss(); };
    this.memoryKeeper = setInterval(() => {
      const now = this.handler.garbageEvents;
      // every TCP chunk read is a fresh buffer: megabytes of them (large or partial queries) are garbage;
      // so is every log line (its fields, its text), which query logging writes for cache hits too
      const tcp = this.tcpBudget.received;
      const lines = this.log.stats.lines;
      if (now - seen >= 256 || tcp - seenTcp >= 4 << 20 || lines - seenLines >= 256) collect();
      else if (Date.now() - lastGc >= 2000 && this.rt.rss() > rssAfterGc * 1.1) collect();
      seen = now;
      seenTcp = tcp;
      seenLines = lines;
    }, 250);
  }

  private async bind(set: number, ep: Endpoint, c: EffectiveConfig): Promise<BoundListener> {
    // port 0 (tests): TCP takes the port UDP got; if that TCP port is busy, try another
    for (let attempt = 0; ; attempt++) {
      const udp = await listenUdp(this.rt, ep, set, this.handler);
      const tcpEp = ep.port === 0 ? { ...ep, port: udp.port } : ep;
      const tcp = new TcpListener(this.rt, tcpEp, set, this.handler, {
        idleTimeoutMs: c.server.tcpIdleTimeoutMs, maxBufferedBytes: 1 << 20,
      }, this.tcpBudget, this.tcpTurns);
      try {
        tcp.start();
        return { set, ep, udp, tcp };
      } catch (e) {
        udp.close();
        if (ep.port !== 0 || attempt >= 20) throw e;
      }
    }
  }

  /** Binds the DNS listeners and admin servers `c` has and the running config lacks. Throws, having
   * closed what it bound, when one cannot be bound. */
  private async bindFor(c: EffectiveConfig): Promise<BoundChange> {
    const existing = new Map(this.listeners.map((l) => [listenerKey(l.set, l.ep), l]));
    const wanted: BoundListener[] = [];
    const added: BoundListener[] = [];
    const closeAdded = () => { for (const b of added) { b.udp.close(); b.tcp.stop(); } };
    try {
      for (const [set, setName] of LISTENER_SETS.entries()) {
        for (const ep of c.listeners[setName]) {
          const old = existing.get(listenerKey(set, ep));
          if (old && ep.port !== 0) { existing.delete(listenerKey(set, ep)); wanted.push(old); continue; }
          const b = await this.bind(set, ep, c);
          added.push(b);
          wanted.push(b);
        }
      }
    } catch (e) {
      closeAdded();
      throw e;
    }
    let http;
    try { http = this.http.prepare(this.httpWanted(c)); } catch (e) {
      closeAdded();
      throw e;
    }
    return {
      commit: () => {
        for (const l of existing.values()) { l.udp.close(); l.tcp.stop(); }
        this.listeners = wanted;
        http.commit();
      },
      rollback: () => { closeAdded(); http.rollback(); },
    };
  }

  /** The HTTP servers `c` asks for: admin, metrics, and /ready on each listener address. */
  private httpWanted(c: EffectiveConfig): HttpWant[] {
    const a = c.admin;
    const out: HttpWant[] = [];
    if (a.listen) out.push({ what: "admin.listen", host: a.listen.host, port: a.listen.port, fetch: this.adminApp.fetch });
    if (a.metricsListen) out.push({ what: "admin.metricsListen", host: a.metricsListen.host, port: a.metricsListen.port, fetch: this.adminApp.fetch });
    if (a.readyOnListeners) {
      const ready = createReadyApp(this);
      const port = a.listen?.port ?? 8181;
      const hosts = new Set(LISTENER_SETS.flatMap((s) => c.listeners[s].map((e) => e.host)));
      // where the admin server already listens on that address and port, it serves /ready itself
      for (const h of hosts) if (!(a.listen && a.listen.host === h && a.listen.port === port)) out.push({ what: `admin.readyOnListeners (${h})`, host: h, port, fetch: ready.fetch });
    }
    return out;
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
    if (c.cache.maxBytes !== prev.cache.maxBytes) this.log.warn("cache.maxBytes changes take effect at the next restart", { running: prev.cache.maxBytes });
    this.reloads.ok++;
    this.log.info("config reloaded", this.summary());
    return { ok: true, summary: this.summary() };
  }

  private rejected(errors: string[]): ReloadResult {
    this.reloads.failed++;
    this.log.error("config reload rejected; the running config stays", { problems: errors });
    return { ok: false, errors };
  }

  /** Ready: every listener bound and at least one usable upstream per destination in use. */
  readiness(): { ready: boolean; reasons: string[] } {
    const reasons: string[] = [];
    if (this.stopping) reasons.push("shutting down");
    const expected = LISTENER_SETS.reduce((n, s) => n + this.config.listeners[s].length, 0);
    if (this.listeners.length !== expected) reasons.push("not every listener is bound");
    const used = new Set<Destination>();
    for (const s of LISTENER_SETS) for (const z of this.config.zones[s]) used.add(z.forwardDestination);
    for (const d of used) {
      const list = this.upstreams.get(d) ?? [];
      if (list.length === 0) reasons.push(`${d}: no upstreams configured`);
      else if (list.every((u) => u.down)) reasons.push(`${d}: every upstream is down (${list.map((u) => u.name).join(", ")})`);
    }
    return { ready: reasons.length === 0, reasons };
  }

  /** Stops accepting, lets in-flight upstream queries finish (bounded), saves the cache, closes. */
  async stop(graceMs = this.config.server.shutdownGraceMs): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const l of this.listeners) { l.udp.close(); l.tcp.stop(); }
    const until = Date.now() + graceMs;
    while (this.handler.inflight.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    if (this.config.cache.snapshotPath) saveToFile(this.core, this.snapshotIO(), this.config.cache.snapshotPath, this.zoneRefs, this.log);
    this.closeAll();
    this.log.info("localdns stopped", { unfinished: this.handler.inflight.size });
  }

  private closeAll(): void {
    this.hosts.stop();
    if (this.memoryKeeper) clearInterval(this.memoryKeeper);
    for (const l of this.listeners) { try { l.udp.close(); l.tcp.stop(); } catch { /* closed */ } }
    for (const list of this.upstreams.values()) for (const u of list) u.close();
    this.http.stopAll();
  }
}
