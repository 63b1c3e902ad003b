// Wires one running localdns from an effective config: the packet core and its zones, upstreams and
// per-zone forwarders, UDP and TCP listeners for both listener sets, the admin HTTP server, the cache
// snapshot. reload() applies a new config in place: unchanged listeners keep their sockets, the cache
// is kept (entries of removed zones dropped), upstreams keep their connections and health.
import type { Runtime, UdpSocket, HttpServer } from "./runtime/types";
import { Core, RuleAction, ANY_ZONE } from "./core";
import { systemClock, type Clock } from "./clock";
import type { Logger } from "./log";
import { formatEndpoint, type Endpoint } from "./config/endpoint";
import { LISTENER_SETS, type EffectiveConfig, type Destination } from "./config/effective";
import { QueryHandler, type HandlerOptions } from "./server/handler";
import { listenUdp } from "./server/udp";
import { TcpListener } from "./server/tcp";
import type { ZoneRuntime } from "./server/zone-runtime";
import { Upstream } from "./upstream/upstream";
import { Forwarder } from "./upstream/forwarder";
import { createAdminApp, createReadyApp } from "./admin/app";
import { restoreFromFile, saveToFile, type ZoneRef } from "./cache/snapshot";
import { parseHosts, HOSTS_TTL } from "./cache/hosts";

export const HEALTH_NAME = "health-check.localdns.local";
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

export class Appliance {
  listeners: BoundListener[] = [];
  upstreams = new Map<Destination, Upstream[]>();
  admin: HttpServer | null = null;
  metricsServer: HttpServer | null = null;
  readyServers: HttpServer[] = [];
  private stopping = false;
  readonly startedAt = Date.now();
  reloads = { ok: 0, failed: 0 };
  private readonly zoneIds = new Map<string, number>();
  zoneRefs: ZoneRef[] = [];
  readonly adminApp: ReturnType<typeof createAdminApp>;
  private hostsText: string | null = null;
  private hostsTimer: ReturnType<typeof setInterval> | null = null;
  private memoryKeeper: ReturnType<typeof setInterval> | null = null;

  private constructor(readonly rt: Runtime, public config: EffectiveConfig, readonly core: Core,
    readonly handler: QueryHandler, readonly log: Logger, readonly version: string, readonly clock: Clock,
    private readonly reloadSource?: ApplianceOptions["reloadSource"]) {
    this.adminApp = createAdminApp(this);
  }

  static async start(o: ApplianceOptions): Promise<Appliance> {
    const wasm = o.wasm ?? (await o.runtime.loadCoreWasm());
    const c = o.config;
    const core = await Core.load(wasm, c.cache.maxBytes);
    const clock = o.clock ?? systemClock;
    const handler = new QueryHandler(core, clock, o.log, handlerOptions(c));
    const app = new Appliance(o.runtime, c, core, handler, o.log, o.version ?? "dev", clock, o.reloadSource);
    app.configureCore(c);
    app.applyUpstreams(c);
    app.applyZones(c);
    app.applyHosts(c);
    if (c.cache.snapshotPath) {
      // a warm restart needs somewhere to write: made now, so a problem shows at start, not at shutdown
      try { o.runtime.makeParentDir(c.cache.snapshotPath); } catch (e) {
        o.log.warn("snapshot directory cannot be created; the cache will not survive a restart", { path: c.cache.snapshotPath, error: (e as Error).message });
      }
    }
    if (c.cache.snapshotPath) restoreFromFile(core, app.snapshotIO(), c.cache.snapshotPath, app.zoneRefs, clock.nowSeconds(), o.log);
    try {
      await app.applyListeners(c);
      app.startAdmin(c);
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

  private snapshotIO() {
    return { read: (p: string) => this.rt.readFile(p), writeAtomic: (p: string, d: Uint8Array) => this.rt.writeFileAtomic(p, d) };
  }

  private configureCore(c: EffectiveConfig): void {
    this.handler.opts = handlerOptions(c);
    this.core.configure(c.cache.staleAnswerTtl, c.cache.prefetch ? 2 : 0, 30, c.server.maxUdpSize);
  }

  private applyUpstreams(c: EffectiveConfig): Upstream[] {
    const f = c.forward;
    const old = new Map<string, Upstream>();
    for (const [d, list] of this.upstreams) for (const u of list) old.set(`${d}|${u.name}`, u);
    const next = new Map<Destination, Upstream[]>();
    for (const dest of DESTINATIONS) {
      const healthCheck = LISTENER_SETS.some((s) => c.zones[s].some((z) => z.forwardDestination === dest && z.healthCheck));
      next.set(dest, c.upstreams[dest].map((ep) => {
        const key = `${dest}|${formatEndpoint(ep)}`;
        const existing = old.get(key);
        if (existing) { old.delete(key); return existing; }
        return new Upstream(this.rt, ep, {
          maxFails: f.maxFails, healthCheckIntervalMs: f.healthCheckIntervalMs, healthCheck, udpLingerMs: f.attemptTimeoutMs + 100,
          tcp: { size: f.tcpPoolSize, max: f.tcpPoolMax, maxAgeMs: f.tcpMaxAgeMs, maxQueries: f.tcpMaxQueries, idleMs: f.tcpIdleTimeoutMs },
        }, this.log);
      }));
    }
    this.upstreams = next;
    return [...old.values()];
  }

  /** Every upstream query leaves a few kilobytes of short-lived objects (timers, closures, copies).
   * Under a flood of misses the JS engine lets its heap, and the process RSS, grow far past what is
   * live before collecting, and never gives the pages back. A full collection (a few ms) four times a
   * second while misses are flowing keeps RSS flat; a pure cache-hit load never triggers it. */
  private keepMemoryFlat(): void {
    let seen = 0;
    this.memoryKeeper = setInterval(() => {
      const now = this.handler.garbageEvents;
      if (now - seen >= 256) this.rt.collectGarbage();
      seen = now;
    }, 250);
  }

  /** Loads the hosts overlay and re-reads it every 2 s; a changed file takes effect at once. */
  private applyHosts(c: EffectiveConfig): void {
    if (this.hostsTimer) { clearInterval(this.hostsTimer); this.hostsTimer = null; }
    this.hostsText = null;
    const path = c.cache.hostsFile;
    if (!path) { this.core.setHosts([], HOSTS_TTL); return; }
    const load = () => {
      let text: string;
      try { text = this.rt.readTextFile(path); } catch (e) {
        if (this.hostsText !== "") this.log.warn("hosts file unreadable; overlay empty", { path, error: (e as Error).message });
        text = "";
      }
      if (text === this.hostsText) return;
      this.hostsText = text;
      const h = parseHosts(text);
      for (const p of h.problems) this.log.warn("hosts file line ignored", { path, problem: p });
      if (!this.core.setHosts(h.entries, HOSTS_TTL)) this.log.error("hosts overlay full: some names not pinned", { path });
      this.log.info("hosts overlay loaded", { path, names: h.names });
    };
    load();
    this.hostsTimer = setInterval(load, 2000);
  }

  private zoneId(set: number, zone: string): number {
    const k = `${set}|${zone}`;
    let id = this.zoneIds.get(k);
    if (id === undefined) {
      id = this.zoneIds.size;
      if (id >= ANY_ZONE) throw new Error("too many distinct zones over this process's lifetime; restart to reset");
      this.zoneIds.set(k, id);
    }
    return id;
  }

  private applyZones(c: EffectiveConfig): void {
    const core = this.core;
    // drop cached entries of zones that are going away
    const keep = new Set(LISTENER_SETS.flatMap((s, set) => c.zones[s].map((z) => `${set}|${z.zone}`)));
    for (const z of this.zoneRefs) if (!keep.has(`${z.set}|${z.zone}`)) core.flushZone(z.zone, z.set);
    core.resetZones();
    const zones: ZoneRuntime[] = [];
    const refs: ZoneRef[] = [];
    LISTENER_SETS.forEach((setName, set) => {
      core.addRule(set, ANY_ZONE, RuleAction.HEALTH, HEALTH_NAME, 0, true);
      for (const z of c.zones[setName]) {
        const id = this.zoneId(set, z.zone);
        core.addZone(set, z.zone, id);
        for (const r of z.nxdomainRules) core.addRule(set, id, RuleAction.NXDOMAIN, r.suffix, r.minLabels, false);
        const f = c.forward;
        zones[id] = {
          index: id, set, setName, settings: z, logAll: z.queryLogging === "Log",
          staleWindow: z.serveStale === "Disable" ? 0 : z.serveStaleDurationInSeconds,
          forwarder: new Forwarder(this.upstreams.get(z.forwardDestination)!, {
            policy: z.forwardPolicy, forceTcp: z.protocol === "ForceTCP", maxConcurrent: z.maxConcurrent,
            attemptTimeoutMs: f.attemptTimeoutMs, deadlineMs: f.deadlineMs, failfastAllUnhealthy: z.failfastAllUnhealthyUpstreams,
          }),
        };
        refs.push({ id, set, zone: z.zone });
      }
    });
    this.handler.zones = zones;
    this.zoneRefs = refs;
  }

  private async bind(set: number, ep: Endpoint, c: EffectiveConfig): Promise<BoundListener> {
    // port 0 (tests): TCP takes the port UDP got; if that TCP port is busy, try another
    for (let attempt = 0; ; attempt++) {
      const udp = await listenUdp(this.rt, ep, set, this.handler);
      const tcpEp = ep.port === 0 ? { ...ep, port: udp.port } : ep;
      const tcp = new TcpListener(this.rt, tcpEp, set, this.handler, {
        idleTimeoutMs: c.server.tcpIdleTimeoutMs, maxConnections: c.server.maxTcpConnections, maxBufferedBytes: 1 << 20,
      });
      try {
        tcp.start();
        return { set, ep, udp, tcp };
      } catch (e) {
        udp.close();
        if (ep.port !== 0 || attempt >= 20) throw e;
      }
    }
  }

  private async applyListeners(c: EffectiveConfig): Promise<void> {
    const existing = new Map(this.listeners.map((l) => [listenerKey(l.set, l.ep), l]));
    const wanted: BoundListener[] = [];
    const added: BoundListener[] = [];
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
      for (const b of added) { b.udp.close(); b.tcp.stop(); }
      throw e;
    }
    for (const l of existing.values()) { l.udp.close(); l.tcp.stop(); }
    this.listeners = wanted;
  }

  private startAdmin(c: EffectiveConfig): void {
    const a = c.admin;
    if (a.listen) this.admin = this.rt.serveHttp(a.listen.host, a.listen.port, this.adminApp.fetch);
    if (a.metricsListen) this.metricsServer = this.rt.serveHttp(a.metricsListen.host, a.metricsListen.port, this.adminApp.fetch);
    if (a.readyOnListeners) {
      const ready = createReadyApp(this);
      const port = a.listen?.port ?? 8181;
      const hosts = new Set(this.listeners.map((l) => l.ep.host));
      // where the admin server already listens on that address and port, it serves /ready itself
      for (const h of hosts) if (!(a.listen && a.listen.host === h && a.listen.port === port)) this.readyServers.push(this.rt.serveHttp(h, port, ready.fetch));
    }
  }

  private stopAdmin(): void {
    void this.admin?.stop();
    void this.metricsServer?.stop();
    for (const r of this.readyServers) void r.stop();
    this.admin = this.metricsServer = null;
    this.readyServers = [];
  }

  /** Re-reads the config source and applies it; on any problem the running config stays. */
  async reloadFromSource(): Promise<{ ok: true; summary: ReturnType<Appliance["summary"]> } | { ok: false; errors: string[] }> {
    if (!this.reloadSource) return { ok: false, errors: ["no config source to reload from"] };
    const r = this.reloadSource();
    if (!r.ok) {
      this.reloads.failed++;
      this.log.error("config reload rejected; the running config stays", { problems: r.errors });
      return r;
    }
    return this.reload(r.config);
  }

  async reload(c: EffectiveConfig): Promise<{ ok: true; summary: ReturnType<Appliance["summary"]> } | { ok: false; errors: string[] }> {
    const prev = this.config;
    try {
      await this.applyListeners(c);
    } catch (e) {
      this.reloads.failed++;
      this.log.error("config reload rejected; the running config stays", { problems: [(e as Error).message] });
      return { ok: false, errors: [(e as Error).message] };
    }
    const removed = this.applyUpstreams(c);
    this.applyZones(c);
    this.applyHosts(c);
    this.configureCore(c);
    if (c.cache.maxBytes !== prev.cache.maxBytes) this.log.warn("cache.maxBytes changes take effect at the next restart", { running: prev.cache.maxBytes });
    if (JSON.stringify(c.admin) !== JSON.stringify(prev.admin) || (c.admin.readyOnListeners && JSON.stringify(c.listeners) !== JSON.stringify(prev.listeners))) {
      this.stopAdmin();
      try { this.startAdmin(c); } catch (e) { this.log.error("admin listener not restarted", { error: (e as Error).message }); }
    }
    this.config = c;
    // removed upstreams finish what they carry before they close
    setTimeout(() => { for (const u of removed) u.close(); }, c.forward.deadlineMs + 100);
    this.reloads.ok++;
    this.log.info("config reloaded", this.summary());
    return { ok: true, summary: this.summary() };
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
    if (this.hostsTimer) clearInterval(this.hostsTimer);
    if (this.memoryKeeper) clearInterval(this.memoryKeeper);
    for (const l of this.listeners) { try { l.udp.close(); l.tcp.stop(); } catch { /* closed */ } }
    for (const list of this.upstreams.values()) for (const u of list) u.close();
    this.stopAdmin();
  }
}
