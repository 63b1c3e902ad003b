// The unit's privileged steps for real, inside a network namespace the test creates: "network up"
// puts 169.254.10.10/.11 on the node and adds the NOTRACK rules, the real binary serves on them with
// knotd (also inside the namespace) upstream, "network resolver" writes the drop-in, kill -9, and
// "network down" leaves nothing behind.
import { describe, test, expect, beforeAll, afterAll } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, netnsUnavailable, type Netns } from "./helpers/netns";
import { BINARY } from "./helpers/binary";
import { KNOTD, EXAMPLE_ZONE, CLUSTER_ZONE } from "./helpers/knot";
import { COMMENT } from "../src/node/notrack";

const DIG = ["dig", "kdig"].find((t) => spawnSync("sh", ["-c", `command -v ${t}`]).status === 0) ?? null;
const why = netnsUnavailable() ?? (KNOTD ? null : "knotd is not installed (apt-get install knot)") ?? (DIG ? null : "neither dig nor kdig is installed")
  ?? (existsSync(BINARY) ? null : "dist/localdns is not built");
if (why) console.log(`skipping node network tests: ${why}`);

const KNOT_PORT = 5300;
const VNET = "169.254.10.10";
const KUBE = "169.254.10.11";

let ns: Netns;
let dir: string;
let env: Record<string, string>;

function writeConfig(name: string, listeners: { vnetDNS: string[]; kubeDNS: string[] }): string {
  const up = [`127.0.0.1:${KNOT_PORT}`];
  const path = join(dir, name);
  writeFileSync(path, JSON.stringify({
    mode: "Required", listeners, upstreams: { ClusterCoreDNS: up, VnetDNS: up },
    admin: { listen: null }, cache: { snapshotPath: null },
  }));
  return path;
}

function step(action: string, config: string, extraEnv: Record<string, string> = {}) {
  return ns.exec(BINARY, ["network", action, "--config", config], { env: { ...env, ...extraEnv }, timeoutMs: 30_000 });
}

function dig(server: string, name: string, type: string, tcp = false): string {
  const args = [`@${server}`, name, type, "+short", "+tries=1", "+time=2", ...(tcp ? ["+tcp"] : [])];
  return ns.exec(DIG!, args, { timeoutMs: 10_000 }).stdout.trim();
}

const ourRules = (tool = "iptables") => ns.exec(tool, ["-w", "5", "-t", "raw", "-S"]).stdout.split("\n").filter((l) => l.includes(COMMENT));
function addressesIn(): { dev: string; local: string; prefixlen: number }[] {
  const links = JSON.parse(ns.exec("ip", ["-j", "addr", "show"]).stdout || "[]");
  return links.flatMap((l: any) => (l.addr_info ?? []).map((a: any) => ({ dev: l.ifname, local: a.local, prefixlen: a.prefixlen })));
}
const linkExists = (name: string) => ns.exec("ip", ["link", "show", "dev", name]).status === 0;
const networkctlCalls = () => (existsSync(join(dir, "networkctl.log")) ? readFileSync(join(dir, "networkctl.log"), "utf8").trim().split("\n") : []);

async function waitForAnswer(server: string): Promise<void> {
  for (let i = 0; i < 60; i++) {
    // the health answer is whoami-style (for an IPv6 client the address sits in ADDITIONAL): check the rcode
    const out = ns.exec(DIG!, [`@${server}`, "health-check.localdns.local", "A", "+tries=1", "+time=1"], { timeoutMs: 5000 }).stdout;
    if (/status: NOERROR/.test(out)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`localdns did not answer on ${server}`);
}

async function startKnotIn(): Promise<void> {
  const kd = join(dir, "knot");
  mkdirSync(join(kd, "zones"), { recursive: true });
  mkdirSync(join(kd, "run"));
  writeFileSync(join(kd, "zones", "example.com.zone"), EXAMPLE_ZONE);
  writeFileSync(join(kd, "zones", "cluster.local.zone"), CLUSTER_ZONE);
  writeFileSync(join(kd, "knot.conf"), `server:
    rundir: "${kd}/run"
    listen: 127.0.0.1@${KNOT_PORT}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "${kd}/run"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "${kd}/zones"
    file: "%s.zone"
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: example.com
  - domain: cluster.local
`);
  const knot = ns.start(KNOTD!, ["-c", join(kd, "knot.conf")]);
  for (let i = 0; i < 50; i++) {
    if (ns.exec(DIG!, ["@127.0.0.1", "-p", String(KNOT_PORT), "example.com", "SOA", "+short", "+tries=1", "+time=1"]).stdout.trim() !== "") return;
    if (knot.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`knotd did not start in the namespace: ${knot.output()}`);
}

describe.skipIf(why !== null)("network up / resolver / down in a namespace", () => {
  let config: string;
  let server: ReturnType<Netns["start"]> | null = null;
  let conntrackOn = false;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ldns-node-"));
    ns = createNetns();
    // A fake networkctl that records its calls: the real one would talk to the host's networkd.
    writeFileSync(join(dir, "networkctl"), `#!/bin/sh\necho "$*" >> '${join(dir, "networkctl.log")}'\n`);
    chmodSync(join(dir, "networkctl"), 0o755);
    env = {
      LOCALDNS_NETWORK_STATE: join(dir, "state", "network.json"),
      LOCALDNS_RESOLVER_DROPIN: join(dir, "network", "10-eth0.network.d", "70-localdns.conf"),
      LOCALDNS_NETWORKCTL: join(dir, "networkctl"),
      LOCALDNS_PROBE_TIMEOUT_MS: "5000",
    };
    // Like a real node, where kube-proxy and firewalls keep conntrack busy (a fresh namespace tracks
    // nothing until some rule asks for it).
    conntrackOn = ns.exec("iptables", ["-w", "5", "-A", "INPUT", "-m", "conntrack", "--ctstate", "INVALID", "-j", "DROP"]).status === 0;
    await startKnotIn();
    config = writeConfig("localdns.json", { vnetDNS: [`${VNET}:53`], kubeDNS: [`${KUBE}:53`] });
  }, 30_000);

  afterAll(() => {
    ns?.destroy();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("up puts both listener addresses on the node as /32 and adds the NOTRACK rules", () => {
    const r = step("up", config);
    expect(r.status).toBe(0);
    const mine = addressesIn().filter((a) => a.local === VNET || a.local === KUBE);
    expect(mine.map((a) => `${a.local}/${a.prefixlen}`).sort()).toEqual([`${VNET}/32`, `${KUBE}/32`]);
    const dev = linkExists("localdns") ? "localdns" : "lo";
    if (dev === "lo") expect(r.stdout).toContain("no dummy interface support");
    for (const a of mine) expect(a.dev).toBe(dev);

    const rules = ourRules();
    // the 8 the original has: PREROUTING and OUTPUT x udp and tcp x destination listener:53
    for (const ip of [VNET, KUBE])
      for (const chain of ["PREROUTING", "OUTPUT"])
        for (const p of ["udp", "tcp"])
          expect(rules).toContain(`-A ${chain} -d ${ip}/32 -p ${p} -m ${p} --dport 53 -m comment --comment "${COMMENT}" -j NOTRACK`);
    // plus our replies (source port 53) in OUTPUT
    for (const ip of [VNET, KUBE])
      for (const p of ["udp", "tcp"])
        expect(rules).toContain(`-A OUTPUT -s ${ip}/32 -p ${p} -m ${p} --sport 53 -m comment --comment "${COMMENT}" -j NOTRACK`);
    expect(rules.length).toBe(12);
  });

  test("up again (a restart) changes nothing: no duplicate rules or addresses", () => {
    const before = { rules: ourRules(), addrs: addressesIn() };
    const r = step("up", config);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('"msg":"ran"');
    expect(ourRules()).toEqual(before.rules);
    expect(addressesIn()).toEqual(before.addrs);
  });

  test("resolver refuses to point the node at a listener that does not answer", () => {
    const r = step("resolver", config, { LOCALDNS_PROBE_TIMEOUT_MS: "700" });
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("does not answer");
    expect(existsSync(env.LOCALDNS_RESOLVER_DROPIN)).toBe(false);
    expect(networkctlCalls()).toEqual([]);
  });

  test("the real binary serves on both link-local listeners, over UDP and TCP", async () => {
    server = ns.start(BINARY, ["run", "--config", config]);
    await waitForAnswer(VNET);
    await waitForAnswer(KUBE);
    for (const tcp of [false, true]) {
      expect(dig(VNET, "www.example.com", "A", tcp)).toBe("192.0.2.1");
      expect(dig(KUBE, "svc-3.ns.svc.cluster.local", "A", tcp)).toBe("10.96.0.4");
      expect(dig(KUBE, "www.example.com", "AAAA", tcp)).toBe("2001:db8::1");
    }
  }, 30_000);

  test("queries to and answers from the listeners leave no conntrack entries", () => {
    if (!conntrackOn) { console.log("skipped: cannot turn conntrack on in the namespace"); return; }
    for (const tcp of [false, true]) expect(dig(VNET, "mail.example.com", "A", tcp)).toBe("192.0.2.25");
    const table = ns.exec("cat", ["/proc/net/nf_conntrack"]);
    if (table.status !== 0) { console.log("skipped: no /proc/net/nf_conntrack"); return; }
    expect(table.stdout.split("\n").filter((l) => l.includes("169.254.10."))).toEqual([]);

    // Why the reply rules exist: without the one for UDP answers, each answer becomes a tracked flow.
    const reply = ["-s", `${VNET}/32`, "-p", "udp", "-m", "udp", "--sport", "53", "-m", "comment", "--comment", COMMENT, "-j", "NOTRACK"];
    expect(ns.exec("iptables", ["-w", "5", "-t", "raw", "-D", "OUTPUT", ...reply]).status).toBe(0);
    expect(dig(VNET, "sip.example.com", "A")).toBe("192.0.2.26");
    const tracked = ns.exec("cat", ["/proc/net/nf_conntrack"]).stdout.split("\n").filter((l) => l.includes(`src=${VNET}`) && l.includes("sport=53 "));
    expect(tracked.length).toBe(1);
    expect(tracked[0]).toContain("UNREPLIED");
    // and "up" puts a missing rule back
    expect(step("up", config).status).toBe(0);
    expect(ourRules().length).toBe(12);
  });

  test("resolver, once the listeners answer, writes the networkd drop-in and reloads", () => {
    const r = step("resolver", config);
    expect(r.status).toBe(0);
    const text = readFileSync(env.LOCALDNS_RESOLVER_DROPIN, "utf8");
    expect(text).toContain(`[Network]\nDNS=${VNET}\n`);
    expect(text).toContain("[DHCP]\nUseDNS=false\n");
    expect(networkctlCalls()).toEqual(["reload"]);
    expect(step("resolver", config).status).toBe(0); // unchanged: no second reload
    expect(networkctlCalls()).toEqual(["reload"]);
  });

  test("after kill -9 of the server, down removes the drop-in, every rule and both addresses", () => {
    server!.kill("SIGKILL");
    const r = step("down", config);
    expect(r.status).toBe(0);
    expect(existsSync(env.LOCALDNS_RESOLVER_DROPIN)).toBe(false);
    expect(networkctlCalls()).toEqual(["reload", "reload"]);
    expect(ourRules()).toEqual([]);
    expect(ourRules("ip6tables")).toEqual([]);
    expect(addressesIn().filter((a) => a.local.startsWith("169.254."))).toEqual([]);
    expect(linkExists("localdns")).toBe(false);
    expect(existsSync(env.LOCALDNS_NETWORK_STATE)).toBe(false);
    // the drop-in went first: the node falls back to its own DNS before anything else changes
    const order = r.stdout.split("\n").filter((l) => /"msg":"(removed|ran)"/.test(l)).map((l) => JSON.parse(l));
    expect(order[0].file).toBe(env.LOCALDNS_RESOLVER_DROPIN);
  });

  test("down again, with everything already gone, succeeds and does nothing", () => {
    const r = step("down", config);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain('"msg":"ran"');
    expect(networkctlCalls()).toEqual(["reload", "reload"]);
  });

  test("down finds rules and addresses by their marks even after the config changed", () => {
    expect(step("up", config).status).toBe(0);
    const other = writeConfig("other.json", { vnetDNS: ["169.254.20.10:53"], kubeDNS: ["169.254.20.11:53"] });
    expect(step("down", other).status).toBe(0);
    expect(ourRules()).toEqual([]);
    expect(addressesIn().filter((a) => a.local.startsWith("169.254."))).toEqual([]);
  });

  test("an IPv6 listener gets a /128 address and ip6tables rules, serves, and is removed", async () => {
    const v6 = "fd00:10::10";
    const dual = writeConfig("dual.json", { vnetDNS: [`[${v6}]:53`], kubeDNS: [`${KUBE}:53`] });
    expect(step("up", dual).status).toBe(0);
    expect(addressesIn().some((a) => a.local === v6 && a.prefixlen === 128)).toBe(true);
    const rules6 = ourRules("ip6tables");
    expect(rules6).toContain(`-A PREROUTING -d ${v6}/128 -p udp -m udp --dport 53 -m comment --comment "${COMMENT}" -j NOTRACK`);
    expect(rules6).toContain(`-A OUTPUT -s ${v6}/128 -p tcp -m tcp --sport 53 -m comment --comment "${COMMENT}" -j NOTRACK`);
    expect(rules6.length).toBe(6);
    expect(ourRules().length).toBe(6);
    const s = ns.start(BINARY, ["run", "--config", dual]);
    try {
      await waitForAnswer(v6);
      expect(dig(v6, "www.example.com", "A")).toBe("192.0.2.1");
      expect(dig(v6, "www.example.com", "A", true)).toBe("192.0.2.1");
    } finally {
      s.kill("SIGKILL");
    }
    expect(step("down", dual).status).toBe(0);
    expect(ourRules("ip6tables")).toEqual([]);
    expect(ourRules()).toEqual([]);
    expect(addressesIn().filter((a) => a.local === v6 || a.local.startsWith("169.254."))).toEqual([]);
  }, 30_000);
});
