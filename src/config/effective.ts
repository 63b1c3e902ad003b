// Turns a validated config file into the effective configuration: AKS defaults filled in, the
// original's cross-field rules checked, endpoints parsed and resolv.conf upstreams read.
import { checkConfigFile, type ConfigFileT, type ZoneOverrideT } from "./schema";
import { parseEndpoint, formatEndpoint, isUnspecified, loopsToListener, type Endpoint } from "./endpoint";
import { parseResolvConf } from "./resolv";
import { parseConfigJson } from "./json-text";
import { CORE_MAX_ZONES, CORE_MAX_RULES, HEALTH_RULES, RESOLV_CONF_MAX_BYTES, HOSTS_FILE_MAX_BYTES } from "./limits";
import { isServiceRef, parseConfigEndpoint, resolveSecretRef, type EnvReader } from "../kubernetes/service-env";

export type ListenerSet = "vnetDNS" | "kubeDNS";
export const LISTENER_SETS: ListenerSet[] = ["vnetDNS", "kubeDNS"];
export type Destination = "ClusterCoreDNS" | "VnetDNS";

export interface ZoneSettings {
  zone: string; // "." or "cluster.local" (lowercase, no trailing dot)
  queryLogging: "Error" | "Log";
  protocol: "PreferUDP" | "ForceTCP";
  forwardDestination: Destination;
  forwardPolicy: "Sequential" | "RoundRobin" | "Random";
  maxConcurrent: number;
  cacheDurationInSeconds: number;
  serveStaleDurationInSeconds: number;
  serveStale: "Immediate" | "Verify" | "Disable";
  healthCheck: boolean;
  failfastAllUnhealthyUpstreams: boolean;
  nxdomainRules: { suffix: string; minLabels: number }[];
}

export interface EffectiveConfig {
  mode: "Required" | "Preferred" | "Disabled";
  listeners: Record<ListenerSet, Endpoint[]>;
  upstreams: Record<Destination, Endpoint[]>;
  upstreamSources: Record<Destination, string>; // "list" or the resolv.conf path used
  zones: Record<ListenerSet, ZoneSettings[]>;
  admin: { listen: Endpoint | null; metricsListen: Endpoint | null; allowNonLoopback: boolean; token: string | null; readyOnListeners: boolean };
  cache: { maxBytes: number; prefetch: boolean; staleAnswerTtl: number; negativeTtlWithoutSoa: number; failureCacheSeconds: number; staleRecheckSeconds: number; snapshotPath: string | null; hostsFile: string | null };
  forward: {
    attemptTimeoutMs: number; deadlineMs: number; maxFails: number; healthCheckIntervalMs: number; tcpIdleTimeoutMs: number;
    tcpPoolSize: number; tcpPoolMax: number; tcpMaxAgeMs: number; tcpMaxQueries: number; randomizeCase: boolean;
  };
  server: { maxUdpSize: number; tcpIdleTimeoutMs: number; maxTcpConnections: number; maxTcpBufferedBytes: number; shutdownGraceMs: number; receiveBufferBytes: number; workers: number };
}

export const DEFAULT_NXDOMAIN_RULES = [
  { suffix: "reddog.microsoft.com", minLabels: 1 },
  { suffix: "internal.cloudapp.net", minLabels: 4 },
];
export const DEFAULT_VNET_RESOLV = ["/run/systemd/resolve/resolv.conf", "/etc/resolv.conf"];

export function normaliseZone(name: string): string | null {
  const n = name.trim().toLowerCase().replace(/\.$/, "");
  if (n === "") return ".";
  if (n.length > 253) return null;
  for (const l of n.split(".")) if (!/^[a-z0-9_*-]([a-z0-9_-]{0,62})?$/.test(l) || l.length > 63) return null;
  return n;
}

function zoneDefaults(set: ListenerSet, zone: string, o: ZoneOverrideT): ZoneSettings {
  const isCluster = zone === "cluster.local";
  return {
    zone,
    queryLogging: o.queryLogging ?? "Error",
    protocol: o.protocol ?? (isCluster ? "ForceTCP" : "PreferUDP"),
    forwardDestination: o.forwardDestination ?? (isCluster || set === "kubeDNS" ? "ClusterCoreDNS" : "VnetDNS"),
    forwardPolicy: o.forwardPolicy ?? "Sequential",
    maxConcurrent: o.maxConcurrent ?? 1000,
    cacheDurationInSeconds: o.cacheDurationInSeconds ?? 3600,
    serveStaleDurationInSeconds: o.serveStaleDurationInSeconds ?? 3600,
    serveStale: o.serveStale === "Disabled" ? "Disable" : (o.serveStale ?? "Immediate"),
    healthCheck: o.healthCheck ?? true,
    failfastAllUnhealthyUpstreams: o.failfastAllUnhealthyUpstreams ?? false,
    nxdomainRules: o.nxdomainRules?.map((r) => ({ suffix: r.suffix, minLabels: r.minLabels ?? 1 })) ?? (zone === "." ? DEFAULT_NXDOMAIN_RULES : []),
  };
}

/** Reads a text file of at most maxBytes; throws (code ENOENT when absent, EREFUSED when not a regular
 * file or too large). */
export interface FileReader { (path: string, maxBytes: number): string }

/** A file that is there but must not be read (a device, a FIFO, too large): always a config error,
 * where an absent or unreadable one is skipped like before. */
const refused = (e: unknown) => (e as { code?: string })?.code === "EREFUSED";

/** What is at a path: the snapshot directory is checked with it (no file is created here). */
export type PathKind = "directory" | "missing" | "other";

/** env: where "service:NAME" endpoints are looked up (Kubernetes Service variables); none by default.
 * readMachine false: the config alone is checked, nothing of this machine is read (resolv.conf, the
 * hosts file, the snapshot directory): what `validate` does unless asked, so an image build host
 * whose resolv.conf holds only a systemd-resolved stub does not fail a good config.
 * pathKind: where the snapshot directory is looked at (when reading the machine). */
export interface BuildOptions { resolveUpstreams?: boolean; readMachine?: boolean; env?: EnvReader; pathKind?: (path: string) => PathKind }

export type BuildResult = { ok: true; config: EffectiveConfig; warnings: string[] } | { ok: false; errors: string[] };

/** Parses, validates and completes a config; `readFile` reads resolv.conf and hosts files. Everything
 * `run` cannot apply in full is an error here (the core's zone and rule capacity included). */
/** opts.resolveUpstreams false: leave resolv.conf alone and upstream lists empty (node network steps
 * need the listeners only, and must work even while our own drop-in hides the node's real resolvers). */
export function buildConfig(json: unknown, readFile: FileReader, opts: BuildOptions = {}): BuildResult {
  if (json === null || typeof json !== "object" || Array.isArray(json)) return { ok: false, errors: ["(top level): the config must be a JSON object"] };
  const checked = checkConfigFile(json);
  if (!checked.ok) return { ok: false, errors: checked.errors };
  const f: ConfigFileT = checked.value;
  const errors: string[] = [];
  const warnings: string[] = [];
  const env: EnvReader = opts.env ?? (() => undefined);

  // listeners
  const listeners = {} as Record<ListenerSet, Endpoint[]>;
  const defaultListeners: Record<ListenerSet, string[]> = { vnetDNS: ["169.254.10.10:53"], kubeDNS: ["169.254.10.11:53"] };
  for (const set of LISTENER_SETS) {
    const list = f.listeners?.[set] ?? defaultListeners[set];
    listeners[set] = [];
    list.forEach((text, i) => {
      const e = parseConfigEndpoint(text, 53, env);
      if (typeof e === "string") errors.push(`listeners.${set}[${i}]: ${e}`);
      else listeners[set].push(e);
    });
  }
  // port 0 (an ephemeral port, used by tests) can never collide
  const all = [...listeners.vnetDNS, ...listeners.kubeDNS].filter((e) => e.port !== 0).map(formatEndpoint);
  const dup = all.find((a, i) => all.indexOf(a) !== i);
  if (dup) errors.push(`listeners: ${dup} is listed twice`);
  if (listeners.vnetDNS.length + listeners.kubeDNS.length === 0) errors.push("listeners: at least one listener address is required");

  // zones
  const zones = {} as Record<ListenerSet, ZoneSettings[]>;
  for (const set of LISTENER_SETS) {
    const key = set === "vnetDNS" ? "vnetDNSOverrides" : "kubeDNSOverrides";
    const given = f[key] ?? {};
    const list: ZoneSettings[] = [];
    for (const [name, o] of Object.entries(given)) {
      const z = normaliseZone(name);
      if (z === null) { errors.push(`${key}[${JSON.stringify(name)}]: not a valid zone name`); continue; }
      if (list.some((x) => x.zone === z)) { errors.push(`${key}[${JSON.stringify(name)}]: zone ${z} is given twice`); continue; }
      const s = zoneDefaults(set, z, o);
      const where = `${key}[${JSON.stringify(name)}]`;
      if (set === "vnetDNS" && z === "." && s.forwardDestination === "ClusterCoreDNS")
        errors.push(`${where}.forwardDestination: the "." zone of vnetDNSOverrides may not forward to ClusterCoreDNS`);
      if (z === "cluster.local" && s.forwardDestination === "VnetDNS")
        errors.push(`${where}.forwardDestination: cluster.local may not forward to VnetDNS`);
      if (s.protocol === "ForceTCP" && s.serveStale === "Verify")
        errors.push(`${where}.serveStale: Verify may not be combined with protocol ForceTCP`);
      s.nxdomainRules.forEach((r, i) => {
        if (normaliseZone(r.suffix) === null) errors.push(`${where}.nxdomainRules[${i}].suffix: not a valid DNS name`);
      });
      list.push(s);
    }
    for (const z of [".", "cluster.local"]) if (!list.some((x) => x.zone === z)) list.push(zoneDefaults(set, z, {}));
    zones[set] = list;
  }
  const zoneCount = zones.vnetDNS.length + zones.kubeDNS.length;
  if (zoneCount > CORE_MAX_ZONES)
    errors.push(`vnetDNSOverrides, kubeDNSOverrides: ${zoneCount} zones over both listener sets (the "." and cluster.local of each included); at most ${CORE_MAX_ZONES} fit`);
  const ruleCount = [...zones.vnetDNS, ...zones.kubeDNS].reduce((n, z) => n + z.nxdomainRules.length, 0);
  if (ruleCount > CORE_MAX_RULES - HEALTH_RULES)
    errors.push(`nxdomainRules: ${ruleCount} rules over all zones (the default ones of "." included); at most ${CORE_MAX_RULES - HEALTH_RULES} fit`);

  // upstreams
  const upstreams = {} as Record<Destination, Endpoint[]>;
  const upstreamSources = {} as Record<Destination, string>;
  const listenerEndpoints = [...listeners.vnetDNS, ...listeners.kubeDNS];
  const readMachine = opts.readMachine !== false;
  for (const dest of ["ClusterCoreDNS", "VnetDNS"] as Destination[]) {
    const raw = f.upstreams?.[dest];
    const given = typeof raw === "string" && isServiceRef(raw) ? [raw] : raw; // a Service, not a resolv.conf path
    if (opts.resolveUpstreams === false) { upstreams[dest] = []; upstreamSources[dest] = "not resolved"; continue; }
    const where = `upstreams.${dest}`;
    if (Array.isArray(given)) {
      upstreams[dest] = [];
      upstreamSources[dest] = "list";
      given.forEach((text, i) => {
        const e = parseConfigEndpoint(text, 53, env);
        if (typeof e === "string") { errors.push(`${where}[${i}]: ${e}`); return; }
        const loop = loopsToListener(e, listenerEndpoints);
        if (isUnspecified(e)) errors.push(`${where}[${i}]: ${text} is the unspecified address (any interface), not a server; give the server's own address`);
        else if (loop) errors.push(`${where}[${i}]: ${text} is one of our own listeners${loop.exact ? "" : ` (the listener on ${formatEndpoint(loop.listener)} receives it: queries would loop back to localdns)`}`);
        else upstreams[dest].push(e);
      });
    } else {
      const paths = typeof given === "string" ? [given] : dest === "VnetDNS" ? DEFAULT_VNET_RESOLV : [];
      if (paths.length === 0) {
        upstreams[dest] = [{ host: "10.0.0.10", port: 53, family: 4 }]; // the AKS default cluster DNS service IP
        upstreamSources[dest] = "default";
        continue;
      }
      if (!readMachine) { upstreams[dest] = []; upstreamSources[dest] = `not read: ${paths.join(" or ")}`; continue; }
      let problem: string | null = `no usable nameserver in ${paths.join(" or ")} (local stubs such as 127.0.0.53 and our own listeners are skipped); set ${where} to a list of server addresses, e.g. ["10.0.0.10"]`;
      for (const p of paths) {
        let text: string;
        try { text = readFile(p, RESOLV_CONF_MAX_BYTES); } catch (e) {
          if (!refused(e)) continue;
          problem = `${p}: ${(e as Error).message}`;
          break;
        }
        const list = parseResolvConf(text, listenerEndpoints);
        if (list.length === 0) { warnings.push(`${where}: ${p} has no usable nameserver lines`); continue; }
        upstreams[dest] = list;
        upstreamSources[dest] = p;
        problem = null;
        break;
      }
      if (problem !== null) errors.push(`${where}: ${problem}`);
    }
  }

  // admin
  const adminListen = f.admin?.listen === undefined ? "127.0.0.1:8181" : f.admin.listen;
  const metricsListen = f.admin?.metricsListen ?? null;
  const allowNonLoopback = f.admin?.allowNonLoopback ?? false;
  const token = resolveSecretRef(f.admin?.token ?? null, env); // "env:NAME": from a (Kubernetes Secret) variable
  if (typeof token === "object" && token !== null) errors.push(`admin.token: ${token.error}`);
  // RFC 6750's token68, what a bearer token can be written as (Hono's bearerAuth refuses the rest)
  else if (typeof token === "string" && !/^[A-Za-z0-9._~+/-]+=*$/.test(token))
    errors.push(`admin.token: expected letters, digits and -._~+/ (then = padding), as a bearer token is written${f.admin?.token?.startsWith("env:") ? ` (from ${f.admin.token})` : ""}`);
  const admin = { listen: null as Endpoint | null, metricsListen: null as Endpoint | null, allowNonLoopback, token: typeof token === "string" ? token : null, readyOnListeners: f.admin?.readyOnListeners ?? false };
  // whoever reaches a non-loopback admin listener could flush the cache and reload: only with a token
  if (allowNonLoopback && token === null) errors.push("admin.allowNonLoopback: needs admin.token (mutating endpoints would be open to anyone who can reach the listener)");
  for (const [k, text] of [["listen", adminListen], ["metricsListen", metricsListen]] as const) {
    if (text === null) continue;
    const e = parseEndpoint(text, null);
    if (typeof e === "string") { errors.push(`admin.${k}: ${e}`); continue; }
    const loopback = e.family === 4 ? e.host.startsWith("127.") : e.host === "::1";
    // the metrics listener serves /metrics and /health only: any address may have it
    if (!loopback && !allowNonLoopback && k === "listen") errors.push(`admin.${k}: ${text} is not a loopback address; set admin.allowNonLoopback (and admin.token) to expose it`);
    admin[k] = e;
  }

  const c = f.cache ?? {};
  // the hosts file is re-read while running: here it must be a regular file within its cap (an absent
  // or unreadable one is allowed: the overlay stays empty until it can be read)
  if (c.hostsFile && opts.resolveUpstreams !== false && readMachine) {
    try { readFile(c.hostsFile, HOSTS_FILE_MAX_BYTES); } catch (e) {
      if (refused(e)) errors.push(`cache.hostsFile: ${c.hostsFile}: ${(e as Error).message}`);
      else warnings.push(`cache.hostsFile: ${c.hostsFile} cannot be read (${(e as Error).message}); the overlay stays empty until it can`);
    }
  }
  if (c.snapshotPath) checkSnapshotPath(c.snapshotPath, readMachine && opts.resolveUpstreams !== false ? opts.pathKind : undefined, errors, warnings);
  const fw = f.forward ?? {};
  const sv = f.server ?? {};
  const attemptTimeoutMs = fw.attemptTimeoutMs ?? 1000;
  const deadlineMs = fw.deadlineMs ?? 1800;
  // one attempt longer than the whole deadline: the attempt timeout would never apply
  if (attemptTimeoutMs > deadlineMs)
    errors.push(`forward.attemptTimeoutMs: ${attemptTimeoutMs}${fw.attemptTimeoutMs === undefined ? " (the default)" : ""} is more than forward.deadlineMs ${deadlineMs}${fw.deadlineMs === undefined ? " (the default)" : ""}; an attempt must fit in the deadline`);
  // without tcpPoolMax the cap follows tcpPoolSize; a cap given below the size is a mistake
  if (fw.tcpPoolMax !== undefined && fw.tcpPoolSize !== undefined && fw.tcpPoolSize > fw.tcpPoolMax)
    errors.push(`forward.tcpPoolSize: ${fw.tcpPoolSize} is more than forward.tcpPoolMax ${fw.tcpPoolMax}; the pool's size must fit under its cap`);
  if (fw.tcpPoolMax !== undefined && fw.tcpPoolSize === undefined && fw.tcpPoolMax < 4)
    errors.push(`forward.tcpPoolMax: ${fw.tcpPoolMax} is less than forward.tcpPoolSize 4 (the default); set tcpPoolSize too`);
  const config: EffectiveConfig = {
    mode: f.mode ?? "Preferred",
    listeners,
    upstreams,
    upstreamSources,
    zones,
    admin,
    cache: {
      // 32 MiB holds ~200,000 typical answers and keeps a full cache well inside the unit's MemoryMax=128M
      maxBytes: c.maxBytes ?? 32 * 1024 * 1024,
      prefetch: c.prefetch ?? true,
      staleAnswerTtl: c.staleAnswerTtl ?? 30,
      negativeTtlWithoutSoa: c.negativeTtlWithoutSoa ?? 5,
      // RFC 9520: resolution failures held at least 1 s, at most 5 min; RFC 8767: recheck every 30 s
      failureCacheSeconds: c.failureCacheSeconds ?? 5,
      staleRecheckSeconds: c.staleRecheckSeconds ?? 30,
      snapshotPath: c.snapshotPath === undefined ? "/var/lib/localdns/cache.snapshot" : c.snapshotPath,
      hostsFile: c.hostsFile ?? null,
    },
    forward: {
      attemptTimeoutMs,
      deadlineMs,
      maxFails: fw.maxFails ?? 2,
      healthCheckIntervalMs: fw.healthCheckIntervalMs ?? 500,
      tcpIdleTimeoutMs: fw.tcpIdleTimeoutMs ?? 10000,
      tcpPoolSize: fw.tcpPoolSize ?? 4,
      tcpPoolMax: Math.max(fw.tcpPoolMax ?? 16, fw.tcpPoolSize ?? 4),
      tcpMaxAgeMs: fw.tcpMaxAgeMs ?? 30000,
      tcpMaxQueries: fw.tcpMaxQueries ?? 20000,
      randomizeCase: fw.randomizeCase ?? false,
    },
    server: {
      maxUdpSize: sv.maxUdpSize ?? 1232,
      tcpIdleTimeoutMs: sv.tcpIdleTimeoutMs ?? 10000,
      // both over all listeners together. Sized for MemoryMax=128M: see RELIABILITY.md (TCP limits)
      maxTcpConnections: sv.maxTcpConnections ?? 1000,
      maxTcpBufferedBytes: sv.maxTcpBufferedBytes ?? 16 * 1024 * 1024,
      shutdownGraceMs: sv.shutdownGraceMs ?? 2000,
      // per UDP listener socket (FFI data path): ~4,500 queued queries of a burst instead of ~240 in
      // the kernel's 208 KiB default; 0 keeps the kernel's
      receiveBufferBytes: sv.receiveBufferBytes ?? 4 * 1024 * 1024,
      // UDP loop threads on the FFI data path, each with its own SO_REUSEPORT socket per listener
      workers: sv.workers ?? 1,
    },
  };
  if (errors.length) return { ok: false, errors };
  return { ok: true, config, warnings };
}

/** The snapshot's path: absolute and a file name (always); with `pathKind` (reading the machine)
 * also that it is not a directory and that its nearest existing ancestor is one. A missing
 * directory is created at start, so it is only a warning here. */
function checkSnapshotPath(path: string, pathKind: ((p: string) => PathKind) | undefined, errors: string[], warnings: string[]): void {
  if (!path.startsWith("/") || path.endsWith("/")) { errors.push(`cache.snapshotPath: expected an absolute file path such as /var/lib/localdns/cache.snapshot, got ${JSON.stringify(path)}`); return; }
  if (!pathKind) return;
  if (pathKind(path) === "directory") { errors.push(`cache.snapshotPath: ${path} is a directory; name a file in it (e.g. ${path.replace(/\/$/, "")}/cache.snapshot)`); return; }
  const parent = path.slice(0, path.lastIndexOf("/")) || "/";
  for (let dir = parent; ; dir = dir.slice(0, dir.lastIndexOf("/")) || "/") {
    const kind = pathKind(dir);
    if (kind === "other") { errors.push(`cache.snapshotPath: ${dir} is not a directory, so ${path} cannot be written`); return; }
    if (kind === "directory") {
      if (dir !== parent) warnings.push(`cache.snapshotPath: the directory ${parent} does not exist yet; run creates it at start`);
      return;
    }
    if (dir === "/") return;
  }
}

/** Reads and builds a config file; JSON syntax errors (line and column) and duplicate keys are
 * reported like validation errors. */
export function loadConfigText(text: string, readFile: FileReader, opts: BuildOptions = {}): BuildResult {
  const json = parseConfigJson(text);
  if (!json.ok) return json;
  return buildConfig(json.value, readFile, opts);
}

/** The configuration `npm start` runs with when no file is given: loopback high ports, no root needed,
 * upstreams from the machine's resolv.conf. Where systemd-resolved runs, /etc/resolv.conf names only
 * its stub (127.0.0.53) and the real servers are in /run/systemd/resolve/resolv.conf: that one is
 * used when it exists. */
export function embeddedDefault(exists: (path: string) => boolean) {
  const resolv = exists(DEFAULT_VNET_RESOLV[0]) ? DEFAULT_VNET_RESOLV[0] : "/etc/resolv.conf";
  return {
    mode: "Preferred",
    listeners: { vnetDNS: ["127.0.0.1:5553"], kubeDNS: ["127.0.0.1:5554"] },
    upstreams: { ClusterCoreDNS: resolv, VnetDNS: resolv },
    admin: { listen: "127.0.0.1:8181" },
    cache: { snapshotPath: null },
  };
}
export const EMBEDDED_DEFAULT = embeddedDefault(() => false);
