// Which DNS servers the side-by-side benchmark runs, and how each one is started. Two roles: "hits"
// (the long-running instances that take turns in the hit phases) and "memory" (a fresh instance per
// system, filled with FILL distinct names). Every instance listens on 127.0.0.1 and forwards to knotd.
//
// localdns can run with extra arguments and environment, so a later data path (e.g. FFI sockets) is
// measured by the same harness without edits:
//   LOCALDNS_BENCH_ARGS="--x --y"   appended to `localdns run --config FILE`
//   LOCALDNS_BENCH_ENV="K=V K2=V2"  added to its environment
// and a second localdns column ("localdns-b") appears when any of LOCALDNS_B_BINARY, LOCALDNS_B_ARGS,
// LOCALDNS_B_ENV is set: both variants then take turns in the same rounds.
import { resolve } from "node:path";
import { unboundConf, dnsmasqArgs, dnsdistConf, dnsdistArgs, localdnsConf, type Addrs } from "./setup";

export interface Launch { name: string; port: number; cmd: string[]; env: Record<string, string> }
export interface LocaldnsVariant { binary: string; args: string[]; env: Record<string, string> }

export const PEER_NAMES = ["localdns", "localdns-b", "unbound", "dnsmasq", "dnsdist"] as const;

const words = (s: string | undefined) => (s ?? "").trim().split(/\s+/).filter((w) => w !== "");

/** "K=V K2=V2" → { K: "V", K2: "V2" }; a word without "=" is an error (a typo must not pass silently). */
export function parseEnvList(s: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words(s)) {
    const i = w.indexOf("=");
    if (i <= 0) throw new Error(`not K=V: ${JSON.stringify(w)}`);
    out[w.slice(0, i)] = w.slice(i + 1);
  }
  return out;
}

export function localdnsVariants(root: string, env: NodeJS.ProcessEnv): Record<string, LocaldnsVariant> {
  const a: LocaldnsVariant = {
    binary: resolve(root, env.LOCALDNS_BINARY || "dist/localdns"), args: words(env.LOCALDNS_BENCH_ARGS), env: parseEnvList(env.LOCALDNS_BENCH_ENV),
  };
  const out: Record<string, LocaldnsVariant> = { localdns: a };
  if (env.LOCALDNS_B_BINARY || env.LOCALDNS_B_ARGS || env.LOCALDNS_B_ENV) {
    out["localdns-b"] = { binary: resolve(root, env.LOCALDNS_B_BINARY || a.binary), args: words(env.LOCALDNS_B_ARGS), env: parseEnvList(env.LOCALDNS_B_ENV) };
  }
  return out;
}

/** The systems to run: PEERS (comma-separated, default all) in the fixed order, localdns-b only if configured. */
export function chosenSystems(env: NodeJS.ProcessEnv, variants: Record<string, LocaldnsVariant>): string[] {
  const asked = env.PEERS ? env.PEERS.split(",").map((x) => x.trim()) : [...PEER_NAMES];
  for (const x of asked) if (!(PEER_NAMES as readonly string[]).includes(x)) throw new Error(`unknown peer ${x} (PEERS: ${PEER_NAMES.join(",")})`);
  return PEER_NAMES.filter((n) => asked.includes(n) && (n !== "localdns-b" || variants["localdns-b"]));
}

// port = the port dnsperf asks; localdns's vnet listener is the port below it
const PORTS: Record<"hits" | "memory", Record<string, number>> = {
  hits: { localdns: 5454, "localdns-b": 5456, unbound: 5401, dnsmasq: 5402, dnsdist: 5403 },
  memory: { localdns: 5474, "localdns-b": 5476, unbound: 5411, dnsmasq: 5412, dnsdist: 5413 },
};
export const allPorts = (): number[] => Object.values(PORTS).flatMap((m) => Object.entries(m).flatMap(([n, p]) => (n.startsWith("localdns") ? [p - 1, p] : [p])));

/** How to start `name` in `role`; cacheEntries sizes the caches that need a size (memory role: ≥ FILL). */
export function launch(name: string, role: "hits" | "memory", dir: string, a: Addrs, variants: Record<string, LocaldnsVariant>, cacheEntries: number): Launch {
  const port = PORTS[role][name];
  const tag = `${name}-${role}`;
  switch (name) {
    case "localdns":
    case "localdns-b": {
      const v = variants[name];
      const conf = localdnsConf(dir, tag, a, port - 1, port, `${a.up}:${a.upPort}`);
      return { name, port, cmd: [v.binary, "run", "--config", conf, ...v.args], env: v.env };
    }
    case "unbound": return { name, port, cmd: ["unbound", "-d", "-c", unboundConf(dir, a, port, tag)], env: {} };
    // dnsmasq's hit-phase cache (10,000) holds the 2,000 names; the memory instance is sized like the others
    case "dnsmasq": return { name, port, cmd: dnsmasqArgs(a, port, role === "hits" ? 10000 : cacheEntries), env: {} };
    case "dnsdist": return { name, port, cmd: dnsdistArgs(dnsdistConf(dir, a, port, cacheEntries, tag)), env: {} };
  }
  throw new Error(`unknown system ${name}`);
}
