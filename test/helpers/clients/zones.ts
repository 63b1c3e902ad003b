// The cluster DNS data the real-client suite serves from knotd: Services of a pod's own namespace
// ("default") and of another ("prod"), SRV, PTR, a headless Service whose A answer never fits in one
// UDP datagram, a CNAME whose target does not exist, and example.com for names outside the cluster.
// Two zones change during the run (CHANGES): what the cache keeps must follow the TTLs of every record
// it used. stuffed.example is reached through an upstream that adds records off the CNAME chain.
import { EXAMPLE_ZONE, REVERSE_ZONE } from "../knot";

export const HEADLESS_PODS = Array.from({ length: 100 }, (_, i) => `10.244.${1 + (i >> 6)}.${1 + (i & 63)}`);

/** cluster.local; `later` is an ExternalName (CNAME, TTL 5) whose target Service is created later. */
export const clusterZone = (changed: boolean) => `$ORIGIN cluster.local.
$TTL 30
@ IN SOA ns.cluster.local. hostmaster.cluster.local. ${changed ? 2 : 1} 3600 600 86400 30
@ IN NS ns.cluster.local.
ns IN A 127.0.0.53
kubernetes.default.svc IN A 10.0.0.1
web.default.svc IN A 10.96.1.10
web.default.svc IN AAAA fd00:10:96::1:10
_http._tcp.web.default.svc IN SRV 0 100 80 web.default.svc.cluster.local.
v6only.default.svc IN AAAA fd00:10:96::2:1
alias.default.svc IN CNAME web.default.svc.cluster.local.
dangling.default.svc 5 IN CNAME gone.default.svc.cluster.local.
db.prod.svc IN A 10.96.2.20
*.wild.default.svc IN A 10.96.5.5
later.default.svc 5 IN CNAME created-later.default.svc.cluster.local.
${changed ? "created-later.default.svc IN A 10.96.4.4" : ""}
${HEADLESS_PODS.map((ip) => `headless.default.svc IN A ${ip}`).join("\n")}
`;

export const REVERSE4_ZONE = `$ORIGIN 96.10.in-addr.arpa.
$TTL 30
@ IN SOA ns.cluster.local. hostmaster.cluster.local. 1 3600 600 86400 30
@ IN NS ns.cluster.local.
10.1 IN PTR web.default.svc.cluster.local.
`;

// fd00:10:96::/48, nibble-reversed
export const REVERSE6_ORIGIN = "6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa";
export const REVERSE6_ZONE = `$ORIGIN ${REVERSE6_ORIGIN}.
$TTL 30
@ IN SOA ns.cluster.local. hostmaster.cluster.local. 1 3600 600 86400 30
@ IN NS ns.cluster.local.
0.1.0.0.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0 IN PTR web.default.svc.cluster.local.
`;

/** late.example: negative answers live 2 s (SOA minimum), the CNAME 30 s; host gets an AAAA later. */
export const lateZone = (changed: boolean) => `$ORIGIN late.example.
$TTL 30
@ IN SOA ns.cluster.local. hostmaster.cluster.local. ${changed ? 2 : 1} 3600 600 86400 2
@ IN NS ns.cluster.local.
www IN CNAME host.late.example.
host IN A 192.0.2.90
${changed ? "host IN AAAA 2001:db8::90" : ""}
`;

export const CHANGES = { "cluster.local": clusterZone(true), "late.example": lateZone(true) };

/** Served as it is by knotd; the stuffing upstream adds records off the chain to every answer. */
export const STUFFED_ZONE = `$ORIGIN stuffed.example.
$TTL 30
@ IN SOA ns.cluster.local. hostmaster.cluster.local. 1 3600 600 86400 30
@ IN NS ns.cluster.local.
www IN CNAME real.stuffed.example.
real IN A 192.0.2.80
real IN AAAA 2001:db8::80
`;

/** A zone knotd cannot load: it answers SERVFAIL for every name in it (a broken stub domain). */
export const BROKEN_ZONE = "this is not a zone file\n";

// The cluster DNS forwards names outside its zones; here knotd serves a root zone so that such names
// (the last step of a search-path walk) end in NXDOMAIN as they would on the internet.
export const ROOT_ZONE = `$ORIGIN .
$TTL 60
@ IN SOA ns.cluster.local. hostmaster.cluster.local. 1 1800 900 604800 60
@ IN NS ns.cluster.local.
`;

export const POD_ZONES: Record<string, string> = {
  ".": ROOT_ZONE,
  "cluster.local": clusterZone(false),
  "late.example": lateZone(false),
  "stuffed.example": STUFFED_ZONE,
  "broken.example": BROKEN_ZONE,
  "96.10.in-addr.arpa": REVERSE4_ZONE,
  [REVERSE6_ORIGIN]: REVERSE6_ZONE,
  "example.com": EXAMPLE_ZONE,
  "2.0.192.in-addr.arpa": REVERSE_ZONE,
};

/** What a pod's resolv.conf says under ClusterFirst (kubelet writes exactly this shape). */
export function podResolvConf(nameserver: string, options: string[] = []): string {
  return `nameserver ${nameserver}
search default.svc.cluster.local svc.cluster.local cluster.local
options ${["ndots:5", ...options].join(" ")}
`;
}

/** The node's own resolv.conf once it points at the vnet listener: no search list. */
export function nodeResolvConf(nameserver: string): string {
  return `nameserver ${nameserver}\n`;
}
