// Wires one running localdns from an effective config: the packet core and its zones, upstreams and
// per-zone forwarders, UDP and TCP listeners for both listener sets, and the admin HTTP server.
import type { Runtime, UdpSocket, HttpServer } from "./runtime/types";
import { Core, RuleAction, ANY_ZONE } from "./core";
import { systemClock, type Clock } from "./clock";
import type { Logger } from "./log";
import { formatEndpoint, type Endpoint } from "./config/endpoint";
import { LISTENER_SETS, type EffectiveConfig, type Destination } from "./config/effective";
import { QueryHandler } from "./server/handler";
import { listenUdp } from "./server/udp";
import { TcpListener } from "./server/tcp";
import type { ZoneRuntime } from "./server/zone-runtime";
import { Upstream } from "./upstream/upstream";
import { Forwarder } from "./upstream/forwarder";
import { createAdminApp } from "./admin/app";

export const HEALTH_NAME = "health-check.localdns.local";

export interface ApplianceOptions {
  runtime: Runtime;
  config: EffectiveConfig;
  log: Logger;
  clock?: Clock;
  wasm?: Uint8Array;
  version?: string;
}

export interface BoundListener { set: number; ep: Endpoint; udp: UdpSocket; tcp: TcpListener }

export class Appliance {
  readonly listeners: BoundListener[] = [];
  readonly upstreams = new Map<Destination, Upstream[]>();
  admin: HttpServer | null = null;
  metricsServer: HttpServer | null = null;
  private stopping = false;
  readonly startedAt = Date.now();
  reloads = { ok: 0, failed: 0 };

  private constructor(readonly rt: Runtime, public config: EffectiveConfig, readonly core: Core,
    readonly handler: QueryHandler, readonly log: Logger, readonly version: string) {}

  static async start(o: ApplianceOptions): Promise<Appliance> {
    const wasm = o.wasm ?? (await o.runtime.loadCoreWasm());
    const core = await Core.load(wasm, o.config.cache.maxBytes);
    const c = o.config;
    core.configure(c.cache.staleAnswerTtl, c.cache.prefetch ? 2 : 0, 30, c.server.maxUdpSize);
    const handler = new QueryHandler(core, o.clock ?? systemClock, o.log, {
      negativeTtlWithoutSoa: c.cache.negativeTtlWithoutSoa,
      randomizeCase: c.forward.randomizeCase,
    });
    const app = new Appliance(o.runtime, c, core, handler, o.log, o.version ?? "dev");
    app.buildUpstreams();
    app.buildZones();
    try {
      await app.bindListeners();
      app.startAdmin();
    } catch (e) {
      app.closeAll();
      throw e;
    }
    o.log.info("localdns started", {
      version: app.version,
      runtime: `${o.runtime.name} ${o.runtime.version}`,
      listeners: app.listeners.map((l) => `${LISTENER_SETS[l.set]} ${formatEndpoint(l.ep)} udp:${l.udp.port} tcp:${l.tcp.port}`),
      upstreams: Object.fromEntries([...app.upstreams].map(([d, list]) => [d, list.map((u) => u.name)])),
      admin: c.admin.listen ? `${c.admin.listen.host}:${app.admin?.port}` : null,
      cacheMaxBytes: c.cache.maxBytes,
    });
    return app;
  }

  private buildUpstreams(): void {
    const f = this.config.forward;
    for (const dest of ["ClusterCoreDNS", "VnetDNS"] as Destination[]) {
      const healthCheck = LISTENER_SETS.some((s) => this.config.zones[s].some((z) => z.forwardDestination === dest && z.healthCheck));
      this.upstreams.set(dest, this.config.upstreams[dest].map((ep) => new Upstream(this.rt, ep, {
        maxFails: f.maxFails, healthCheckIntervalMs: f.healthCheckIntervalMs, tcpIdleTimeoutMs: f.tcpIdleTimeoutMs, healthCheck,
      }, this.log)));
    }
  }

  private buildZones(): void {
    const core = this.core;
    core.resetZones();
    const zones: ZoneRuntime[] = [];
    LISTENER_SETS.forEach((setName, set) => {
      core.addRule(set, ANY_ZONE, RuleAction.HEALTH, HEALTH_NAME, 0, true);
      for (const z of this.config.zones[setName]) {
        const index = core.addZone(set, z.zone);
        for (const r of z.nxdomainRules) core.addRule(set, index, RuleAction.NXDOMAIN, r.suffix, r.minLabels, false);
        const f = this.config.forward;
        zones[index] = {
          index, set, setName, settings: z, logAll: z.queryLogging === "Log",
          staleWindow: z.serveStale === "Disable" ? 0 : z.serveStaleDurationInSeconds,
          forwarder: new Forwarder(this.upstreams.get(z.forwardDestination)!, {
            policy: z.forwardPolicy, forceTcp: z.protocol === "ForceTCP", maxConcurrent: z.maxConcurrent,
            attemptTimeoutMs: f.attemptTimeoutMs, deadlineMs: f.deadlineMs, failfastAllUnhealthy: z.failfastAllUnhealthyUpstreams,
          }),
        };
      }
    });
    this.handler.zones = zones;
  }

  private async bindListeners(): Promise<void> {
    const s = this.config.server;
    for (const [set, setName] of LISTENER_SETS.entries()) {
      for (const ep of this.config.listeners[setName]) {
        const udp = await listenUdp(this.rt, ep, set, this.handler);
        // port 0 (tests): TCP takes the port UDP got
        const tcpEp = ep.port === 0 ? { ...ep, port: udp.port } : ep;
        const tcp = new TcpListener(this.rt, tcpEp, set, this.handler, {
          idleTimeoutMs: s.tcpIdleTimeoutMs, maxConnections: s.maxTcpConnections, maxBufferedBytes: 1 << 20,
        });
        try { tcp.start(); } catch (e) { udp.close(); throw e; }
        this.listeners.push({ set, ep: tcpEp, udp, tcp });
      }
    }
  }

  private startAdmin(): void {
    const a = this.config.admin;
    const app = createAdminApp(this);
    if (a.listen) this.admin = this.rt.serveHttp(a.listen.host, a.listen.port, app.fetch);
    if (a.metricsListen) this.metricsServer = this.rt.serveHttp(a.metricsListen.host, a.metricsListen.port, app.fetch);
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

  /** Stops accepting, lets in-flight upstream queries finish (bounded), closes everything. */
  async stop(graceMs = this.config.server.shutdownGraceMs): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    for (const l of this.listeners) { l.udp.close(); l.tcp.stop(); }
    const until = Date.now() + graceMs;
    while (this.handler.inflight.size > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    this.closeAll();
    this.log.info("localdns stopped", { unfinished: this.handler.inflight.size });
  }

  private closeAll(): void {
    for (const l of this.listeners) { try { l.udp.close(); l.tcp.stop(); } catch { /* closed */ } }
    for (const list of this.upstreams.values()) for (const u of list) u.close();
    void this.admin?.stop();
    void this.metricsServer?.stop();
  }
}
