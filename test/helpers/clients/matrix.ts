// Which real clients the suite runs, how each is invoked, what each can do, and the lookups every one
// of them makes. Every client prints one JSON line per lookup (see lookup.c); getent is adapted here.
import { join } from "node:path";
import type { Clients } from "./build";
import type { Pod } from "./pod";
import { HEADLESS_PODS } from "./zones";

export interface Lookup { op: string; name: string; ok: boolean; result?: string[]; error?: string; ms: number }

export interface Client {
  label: string;
  needs: keyof Omit<Clients, "dir">;
  /** resolv.conf "options" beyond ndots:5 */
  options?: string[];
  env?: Record<string, string>;
  ops: string[];
  /** Applies the search list to short names (c-ares' resolve* do not). */
  searches: boolean;
  /** res_search applies the search list too (musl's is res_query). */
  searchesSrv: boolean;
  /** Retries over TCP after TC=1 (musl 1.2.3 uses the truncated answer as it is). */
  tcpFallback: boolean;
  run(pod: Pod, resolv: string, clients: Clients, args: string[]): Promise<Lookup[]>;
}

const HERE = import.meta.dir;
const path = (clients: Clients, k: keyof Omit<Clients, "dir">) => {
  const b = clients[k];
  if ("missing" in b) throw new Error(b.missing);
  return b.path;
};

/** The JSON lines a client printed; a client that printed none failed, and its stderr says why. */
export function parseLines(stdout: string, stderr: string, status: number): Lookup[] {
  const lines = stdout.split("\n").filter((l) => l.startsWith("{"));
  if (lines.length === 0) throw new Error(`client printed nothing (exit ${status}): ${stderr.slice(0, 1000)}`);
  return lines.map((l) => JSON.parse(l));
}

/** One process makes every lookup in turn, as a long-running program would. */
function processClient(cmd: (c: Clients) => [string, string[]]) {
  return async (pod: Pod, resolv: string, clients: Clients, args: string[], env?: Record<string, string>) => {
    const [bin, pre] = cmd(clients);
    const r = await pod.run(resolv, bin, [...pre, ...args], { env, timeoutMs: 90_000 });
    return parseLines(r.stdout, r.stderr, r.status);
  };
}

const libc = (needs: "glibc" | "musl", label: string, options?: string[], env?: Record<string, string>): Client => {
  const run = processClient((c) => [path(c, needs), []]);
  return {
    label, needs, options, env, ops: ["host", "host4", "host6", "ptr", "srv"], searches: true, searchesSrv: needs === "glibc", tcpFallback: needs === "glibc",
    run: (pod, resolv, c, args) => run(pod, resolv, c, args, env),
  };
};

/** getent ahosts: glibc's own front end, one process per name; prints "ADDR STREAM|DGRAM|RAW [NAME]". */
const getent: Client = {
  label: "glibc getent ahosts", needs: "glibc", ops: ["host"], searches: true, searchesSrv: true, tcpFallback: true,
  async run(pod, resolv, _c, args) {
    const out: Lookup[] = [];
    for (let i = 0; i + 1 < args.length; i += 2) {
      const name = args[i + 1];
      const r = await pod.run(resolv, "getent", ["ahosts", name], { timeoutMs: 30_000 });
      const addrs = [...new Set(r.stdout.split("\n").filter(Boolean).map((l) => l.split(/\s+/)[0]))].sort();
      // getent's exit status 2: not found; the time includes entering the namespaces (a few ms)
      out.push(r.status === 0 ? { op: "host", name, ok: true, result: addrs, ms: r.ms } : { op: "host", name, ok: false, error: `exit ${r.status}`, ms: r.ms });
    }
    return out;
  },
};

const go = (mode: "go" | "cgo"): Client => {
  const env = { GODEBUG: `netdns=${mode}` };
  const run = processClient((c) => [path(c, "go"), []]);
  return {
    label: `Go resolver (netdns=${mode})`, needs: "go", env, ops: ["host", "host4", "host6", "ptr", "srv"], searches: true, searchesSrv: true, tcpFallback: true,
    run: (pod, resolv, c, args) => run(pod, resolv, c, args, env),
  };
};

const nodeLookup = processClient((c) => [path(c, "node"), [join(HERE, "lookup.mjs"), "lookup"]]);
const nodeCares = processClient((c) => [path(c, "node"), [join(HERE, "lookup.mjs"), "cares"]]);
const python = processClient((c) => [path(c, "python"), [join(HERE, "lookup.py")]]);

export const CLIENTS: Client[] = [
  libc("glibc", "glibc getaddrinfo"),
  libc("glibc", "glibc getaddrinfo (single-request-reopen)", ["single-request-reopen"]),
  libc("glibc", "glibc getaddrinfo (single-request)", ["single-request"]),
  libc("glibc", "glibc getaddrinfo (use-vc)", ["use-vc"]),
  libc("glibc", "glibc getaddrinfo (edns0)", ["edns0"]),
  libc("glibc", "glibc getaddrinfo (trust-ad)", ["trust-ad"]),
  getent,
  libc("musl", "musl getaddrinfo (static)"),
  go("go"),
  go("cgo"),
  { label: "Node dns.lookup", needs: "node", ops: ["host", "host4", "host6", "ptr"], searches: true, searchesSrv: true, tcpFallback: true, run: (p, r, c, a) => nodeLookup(p, r, c, a) },
  { label: "Node dns.Resolver (c-ares)", needs: "node", ops: ["host", "host4", "host6", "ptr", "srv"], searches: false, searchesSrv: false, tcpFallback: true, run: (p, r, c, a) => nodeCares(p, r, c, a) },
  { label: "dnspython", needs: "python", ops: ["host", "host4", "host6", "ptr", "srv"], searches: true, searchesSrv: true, tcpFallback: true, run: (p, r, c, a) => python(p, r, c, a) },
];

export interface Case {
  title: string;
  op: string;
  /** what a pod program writes */
  name: string;
  /** the same lookup for a client without a search list */
  fqdn: string;
  /** the exact result, or null: the name does not exist (the error must be the one knotd's answer gives) */
  want: string[] | null;
  /** the answer does not fit in a UDP reply: TC=1, then TCP */
  big?: boolean;
  /** a short name that only a searching client can resolve */
  short?: boolean;
}

const WEB = ["10.96.1.10", "fd00:10:96::1:10"];
const C = "default.svc.cluster.local";
export const CASES: Case[] = [
  // FRESH becomes a name of this client's own, so localdns has to forward it (a cache miss)
  { title: "a Service name nobody asked before (cache miss; A and AAAA answered separately)", op: "host", name: "FRESH.wild", fqdn: `FRESH.wild.${C}`, want: ["10.96.5.5"], short: true },
  { title: "short Service name, A+AAAA", op: "host", name: "web", fqdn: `web.${C}`, want: WEB, short: true },
  { title: "name.namespace through the svc.cluster.local search entry", op: "host4", name: "db.prod", fqdn: "db.prod.svc.cluster.local", want: ["10.96.2.20"], short: true },
  { title: "kubernetes.default", op: "host4", name: "kubernetes.default", fqdn: "kubernetes.default.svc.cluster.local", want: ["10.0.0.1"], short: true },
  { title: "AAAA only", op: "host6", name: "v6only", fqdn: `v6only.${C}`, want: ["fd00:10:96::2:1"], short: true },
  { title: "CNAME (ExternalName) to a Service", op: "host", name: "alias", fqdn: `alias.${C}`, want: WEB, short: true },
  { title: "external name after three search-list NXDOMAINs", op: "host", name: "www.example.com", fqdn: "www.example.com", want: ["192.0.2.1", "2001:db8::1"] },
  { title: "CNAME answer with records off the chain added by the upstream: none of them used", op: "host", name: "www.stuffed.example", fqdn: "www.stuffed.example", want: ["192.0.2.80", "2001:db8::80"] },
  { title: "big answer (100 A): TC then TCP", op: "host4", name: "headless", fqdn: `headless.${C}`, want: HEADLESS_PODS.slice().sort(), big: true, short: true },
  { title: "big answer with A+AAAA", op: "host", name: "headless", fqdn: `headless.${C}`, want: HEADLESS_PODS.slice().sort(), big: true, short: true },
  { title: "NXDOMAIN through the whole search list", op: "host", name: "nosuch", fqdn: `nosuch.${C}`, want: null, short: true },
  { title: "CNAME to a name that does not exist", op: "host", name: "dangling", fqdn: `dangling.${C}`, want: null, short: true },
  { title: "PTR of a Service IPv4", op: "ptr", name: "10.96.1.10", fqdn: "10.96.1.10", want: [`web.${C}`] },
  { title: "PTR of a Service IPv6", op: "ptr", name: "fd00:10:96::1:10", fqdn: "fd00:10:96::1:10", want: [`web.${C}`] },
  { title: "SRV by full name", op: "srv", name: `_http._tcp.web.${C}`, fqdn: `_http._tcp.web.${C}`, want: [`0 100 80 web.${C}`] },
  { title: "SRV by short name through the search list", op: "srv", name: "_http._tcp.web", fqdn: `_http._tcp.web.${C}`, want: [`0 100 80 web.${C}`], short: true },
];

/** The node itself through the vnet listener (no search list). */
export const NODE_CASES: Case[] = [
  { title: "external name", op: "host", name: "www.example.com", fqdn: "www.example.com", want: ["192.0.2.1", "2001:db8::1"] },
  { title: "CNAME chain", op: "host", name: "alias.example.com", fqdn: "alias.example.com", want: ["192.0.2.1", "2001:db8::1"] },
  { title: "cluster name through the vnet cluster.local zone", op: "host", name: `web.${C}`, fqdn: `web.${C}`, want: WEB },
  { title: "NXDOMAIN", op: "host", name: "nosuch.example.com", fqdn: "nosuch.example.com", want: null },
  { title: "PTR", op: "ptr", name: "192.0.2.1", fqdn: "192.0.2.1", want: ["www.example.com"] },
];

/** The lookups CLIENT makes for CASES, as OP NAME argument pairs (cases it cannot make are left out). */
export function casesFor(client: Client, cases: Case[]): Case[] {
  return cases.filter((k) => client.ops.includes(k.op) && !(k.short && k.op === "srv" && !client.searchesSrv));
}
export const argsFor = (client: Client, cases: Case[]) => {
  const fresh = client.label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  return cases.flatMap((k) => [k.op, (client.searches ? k.name : k.fqdn).replace("FRESH", fresh)]);
};
