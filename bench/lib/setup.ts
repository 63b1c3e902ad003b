// Zones, query files and server configs for the side-by-side benchmark. Every address is in
// 127.0.0.0/8; every forwarder forwards only to the local upstream (knotd) or the local relay.
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

export interface Addrs {
  listen: string; // caches and localdns listeners
  up: string; upPort: number; // knotd
  relay: string; relayPort: number; relayControl: number; // the delaying relay
}

export const CLUSTER = (i: number) => `svc-${i}.ns.svc.cluster.local`;
export const EXTERNAL = (i: number) => `host-${i}.example.com`;
export const WILD_ZONE = "wild.example";

// A fixed pseudo-random order (mulberry32), so every run sends the same sequence.
function shuffle<T>(xs: T[], seed = 7): T[] {
  let a = seed >>> 0;
  const rnd = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  for (let i = xs.length - 1; i > 0; i--) { const j = Math.floor(rnd() * (i + 1)); [xs[i], xs[j]] = [xs[j], xs[i]]; }
  return xs;
}

export function writeZones(dir: string, a: Addrs, names: number): void {
  mkdirSync(join(dir, "zones"), { recursive: true });
  const cl = ["$ORIGIN cluster.local.", "$TTL 30", "@ IN SOA ns.cluster.local. hostmaster.cluster.local. 1 3600 600 86400 30", "@ IN NS ns.cluster.local.", `ns IN A ${a.up}`];
  const ex = ["$ORIGIN example.com.", "$TTL 300", "@ IN SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 300", "@ IN NS ns.example.com.", `ns IN A ${a.up}`];
  for (let i = 0; i < names; i++) {
    cl.push(`svc-${i}.ns.svc IN A 10.96.${(i / 250) | 0}.${(i % 250) + 1}`);
    ex.push(`host-${i} IN A 192.0.2.${(i % 250) + 1}`);
  }
  // every name under the wildcard zone exists: a new name is always a cache miss with a NOERROR answer
  const wild = [`$ORIGIN ${WILD_ZONE}.`, "$TTL 300", `@ IN SOA ns.${WILD_ZONE}. hostmaster.${WILD_ZONE}. 1 3600 600 86400 300`, `@ IN NS ns.${WILD_ZONE}.`, `ns IN A ${a.up}`, "* IN A 198.51.100.7"];
  writeFileSync(join(dir, "zones/cluster.local.zone"), cl.join("\n") + "\n");
  writeFileSync(join(dir, "zones/example.com.zone"), ex.join("\n") + "\n");
  writeFileSync(join(dir, `zones/${WILD_ZONE}.zone`), wild.join("\n") + "\n");
}

export function writeQueryFiles(dir: string, names: number): { hits: string; cluster: string; external: string } {
  const both: string[] = [];
  for (let i = 0; i < names; i++) both.push(`${CLUSTER(i)} A`, `${EXTERNAL(i)} A`);
  const f = { hits: join(dir, "q-hits.txt"), cluster: join(dir, "q-cluster.txt"), external: join(dir, "q-external.txt") };
  writeFileSync(f.hits, shuffle(both).join("\n") + "\n");
  writeFileSync(f.cluster, shuffle(Array.from({ length: names }, (_, i) => `${CLUSTER(i)} A`)).join("\n") + "\n");
  writeFileSync(f.external, shuffle(Array.from({ length: names }, (_, i) => `${EXTERNAL(i)} A`)).join("\n") + "\n");
  return f;
}

/** `count` names never asked before (prefix makes them unique per run). */
export function writeUniqueNames(path: string, prefix: string, count: number): string {
  const lines = new Array<string>(count);
  for (let i = 0; i < count; i++) lines[i] = `${prefix}-${i}.${WILD_ZONE} A`;
  writeFileSync(path, lines.join("\n") + "\n");
  return path;
}

export function knotConf(dir: string, a: Addrs): string {
  mkdirSync(join(dir, "knot"), { recursive: true });
  const p = join(dir, "knot.conf");
  writeFileSync(p, `server:
    rundir: "${dir}/knot"
    listen: ${a.up}@${a.upPort}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "${dir}/knot/knot.sock"
database:
    storage: "${dir}/knot/db"
log:
  - target: stderr
    any: warning
mod-stats:
  - id: default
    request-protocol: on
    server-operation: off
    request-bytes: off
    response-bytes: off
    edns-presence: off
    flag-presence: off
    response-code: off
    request-edns-option: off
    response-edns-option: off
    reply-nodata: off
    query-type: off
    query-size: off
    reply-size: off
template:
  - id: default
    storage: "${dir}/zones"
    file: "%s.zone"
    journal-content: none
    zonefile-sync: -1
    global-module: mod-stats/default
zone:
  - domain: cluster.local
  - domain: example.com
  - domain: ${WILD_ZONE}
`);
  return p;
}

// unbound as a pure caching forwarder: iterator only, no DNSSEC, fake local root hints so that even a
// stray root query stays on loopback; 1 thread. Same settings as /work/shared/bench/peer-bench.sh.
export function unboundConf(dir: string, a: Addrs, port: number, name = "unbound"): string {
  const hints = join(dir, "root.hints");
  writeFileSync(hints, `.  3600000 NS A.ROOT-SERVERS.NET.\nA.ROOT-SERVERS.NET. 3600000 A ${a.up}\n`);
  const p = join(dir, `${name}.conf`);
  writeFileSync(p, `server:
  username: ""
  chroot: ""
  directory: "${dir}"
  pidfile: ""
  use-syslog: no
  logfile: ""
  verbosity: 0
  interface: ${a.listen}@${port}
  port: ${port}
  do-ip6: no
  num-threads: 1
  msg-cache-size: 64m
  rrset-cache-size: 128m
  msg-cache-slabs: 2
  rrset-cache-slabs: 2
  infra-cache-slabs: 2
  key-cache-slabs: 2
  outgoing-range: 4096
  num-queries-per-thread: 2048
  so-rcvbuf: 4m
  so-sndbuf: 4m
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: no
  module-config: "iterator"
  root-hints: "${hints}"
  qname-minimisation: no
  prefetch: yes
  local-zone: "local." nodefault
  domain-insecure: "cluster.local"
  domain-insecure: "example.com"
  domain-insecure: "${WILD_ZONE}"
remote-control:
  control-enable: no
forward-zone:
  name: "."
  forward-addr: ${a.up}@${a.upPort}
  forward-first: no
`);
  return p;
}

export function dnsmasqArgs(a: Addrs, port: number, cacheSize = 10000): string[] {
  return ["dnsmasq", "-k", "--conf-file=/dev/null", "--no-resolv", "--no-hosts", "--no-poll", `--server=${a.up}#${a.upPort}`,
    `--listen-address=${a.listen}`, "--bind-interfaces", `--port=${port}`, `--cache-size=${cacheSize}`, "--dns-forward-max=1000",
    "--user=root", "--pid-file=", "--log-facility=-"];
}

// dnsdist as a caching proxy in front of knotd: one UDP listener (one client thread, where cache hits
// are answered), a packet cache on the default pool, no security polling (it would send DNS queries to
// the internet), health checks off (setUp(): they would show up as upstream queries), one TCP worker
// instead of ten. Everything else is dnsdist's default.
export function dnsdistConf(dir: string, a: Addrs, port: number, cacheEntries: number, name = "dnsdist"): string {
  const p = join(dir, `${name}.conf`);
  writeFileSync(p, `setSecurityPollSuffix("")
setLocal("${a.listen}:${port}")
setACL({"127.0.0.0/8"})
setMaxTCPClientThreads(1)
local up = newServer({address="${a.up}:${a.upPort}", name="knot"})
up:setUp()
pc = newPacketCache(${cacheEntries}, {maxTTL=86400, minTTL=0})
getPool(""):setCache(pc)
`);
  return p;
}

export const dnsdistArgs = (conf: string): string[] => ["dnsdist", "--supervised", "--disable-syslog", "-C", conf];

/** localdns: both listener sets on loopback high ports, both destinations to one upstream, no snapshot, no admin. */
export function localdnsConf(dir: string, name: string, a: Addrs, vnetPort: number, kubePort: number, upstream: string): string {
  const p = join(dir, `${name}.json`);
  writeFileSync(p, JSON.stringify({
    mode: "Preferred",
    listeners: { vnetDNS: [`${a.listen}:${vnetPort}`], kubeDNS: [`${a.listen}:${kubePort}`] },
    upstreams: { ClusterCoreDNS: [upstream], VnetDNS: [upstream] },
    admin: { listen: null },
    cache: { snapshotPath: null },
  }, null, 2) + "\n");
  return p;
}
