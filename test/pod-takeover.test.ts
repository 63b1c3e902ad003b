// The DaemonSet's rollout on one node, with the compiled binary inside a network namespace this test
// creates: pod A serves in pod mode (run --network: addresses, NOTRACK rules) under a steady load; pod
// B starts beside it as the surge pod does (run --network --takeover --stay-after-leave), takes the
// listeners over and asks A to leave. A drains and then stays, holding nothing, until its SIGTERM
// (a container that exits is restarted by the kubelet), and exits 0 without taking down the node
// set-up B now serves behind. No query is lost; the last one out (B) takes the set-up down.
import { test, expect, beforeAll, afterAll } from "bun:test";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, netnsUnavailable, type Netns } from "./helpers/netns";
import { BINARY } from "./helpers/binary";
import { sleep } from "./helpers/dns";
import { COMMENT } from "../src/node/notrack";
import { FFI_OFF } from "./helpers/data-path";

const why = netnsUnavailable() ?? (existsSync(BINARY) ? null : `${BINARY} is not built`);
if (why) console.log(`skipping the pod takeover test: ${why}`);

const VNET = "169.254.10.10";
const KUBE = "169.254.10.11";
const UPSTREAM = "127.0.0.2";
const NAMES = 50;
const POD_ARGS = ["run", "--network", "--takeover", "--stay-after-leave"];

let ns: Netns;
let dir: string;
let config: string;
let env: Record<string, string>;
type Proc = ReturnType<Netns["start"]>;
const bun = process.execPath;
const helper = (f: string) => join(import.meta.dir, "helpers", f);

const ourRules = () => ns.exec("iptables", ["-w", "5", "-t", "raw", "-S"]).stdout.split("\n").filter((l) => l.includes(COMMENT));
/** The namespace's addresses (on the dummy "localdns", or on lo where the kernel has no dummy links). */
const addresses = (): string[] => JSON.parse(ns.exec("ip", ["-j", "addr", "show"]).stdout || "[]").flatMap((l: any) => (l.addr_info ?? []).map((a: any) => a.local as string));
/** The processes holding a UDP socket on the vnet listener. */
const udpHolders = (): number[] => [...ns.exec("ss", ["-Hulnp", "src", `${VNET}:53`]).stdout.matchAll(/pid=(\d+),/g)].map((m) => Number(m[1])).sort();
const exited = (p: Proc) => new Promise<number | null>((r) => (p.exitCode !== null || p.signalCode !== null ? r(p.exitCode) : p.once("exit", (code) => r(code))));
/** The kubelet's readiness probe: an HTTP GET to the admin API on the node's loopback. */
const ready = () => Number(ns.exec(bun, ["-e", `fetch("http://127.0.0.1:8181/ready").then((r) => console.log(r.status), () => console.log(0))`]).stdout.trim());
const answers = (server: string) => /status: NOERROR/.test(ns.exec("dig", [`@${server}`, "n1.surge.example", "A", "+tries=1", "+time=2"], { timeoutMs: 10_000 }).stdout);

async function until(what: string, ok: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (ok()) return; await sleep(50); }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  if (why) return;
  dir = mkdtempSync(join(tmpdir(), "ldns-surge-"));
  ns = createNetns("ldns-surge");
  env = { LOCALDNS_NETWORK_STATE: join(dir, "network.json") };
  config = join(dir, "localdns.json");
  writeFileSync(config, JSON.stringify({
    mode: "Required",
    listeners: { vnetDNS: [`${VNET}:53`], kubeDNS: [`${KUBE}:53`] },
    upstreams: { VnetDNS: [`${UPSTREAM}:53`], ClusterCoreDNS: [`${UPSTREAM}:53`] },
    admin: { listen: "127.0.0.1:8181" },
    cache: { snapshotPath: join(dir, "cache.snapshot") },
  }));
  const upstream = ns.start(bun, [helper("counting-dns.ts"), UPSTREAM, "53"]);
  await until("the upstream", () => upstream.output().includes("READY"));
});

afterAll(() => {
  ns?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// takeover is the FFI path's (skipped in the run on the runtime's sockets)
test.skipIf(why !== null || FFI_OFF)("a surge pod takes over from the running pod under load: 0 queries lost, the old one idles until SIGTERM, the node set-up stays with the new one", async () => {
  const a = ns.start(BINARY, [...POD_ARGS, "--config", config], { env });
  await until("pod A serving", () => a.output().includes("NOTRACK rules in place") && answers(VNET));
  const rules = ourRules();
  expect(rules.length).toBeGreaterThan(0);
  expect(addresses()).toEqual(expect.arrayContaining([VNET, KUBE]));
  expect(udpHolders()).toEqual([a.pid!]);

  // a mistaken second start (no --takeover) is refused and leaves A's set-up alone
  const mistaken = ns.start(BINARY, ["run", "--network", "--config", config], { env });
  expect(await exited(mistaken)).toBe(1);
  expect(mistaken.output()).toContain("address already in use");
  expect(mistaken.output()).toContain("a running localdns holds the listeners: its node set-up stays as it is");
  expect(ourRules()).toEqual(rules);
  expect(addresses()).toEqual(expect.arrayContaining([VNET, KUBE]));

  const load = ns.start(bun, [helper("steady-load-runner.ts"), VNET, "53", String(NAMES)]);
  await until("the load", () => load.output().includes("READY"));
  await sleep(1000);

  const b = ns.start(BINARY, [...POD_ARGS, "--config", config], { env });
  await until("B's takeover", () => b.output().includes("takeover: the running localdns has left"));
  expect(b.output()).toContain("a running localdns holds the listeners: its node set-up stays as it is");
  expect(a.output()).toContain("taken over by a newer localdns, leaving");
  await until("A idle", () => a.output().includes("left: idle until SIGTERM (--stay-after-leave)"));
  await until("B ready", () => ready() === 200);
  await sleep(1500); // the kubelet would restart an exited container: A must still be there
  expect({ aRunning: a.exitCode === null && a.signalCode === null, holders: udpHolders() }).toEqual({ aRunning: true, holders: [b.pid!] });
  expect(ourRules()).toEqual(rules);

  // the old pod is deleted once the new one is ready: SIGTERM, exit 0, B's set-up untouched
  a.kill("SIGTERM");
  expect(await exited(a)).toBe(0);
  expect(a.output()).toContain("signal received after leaving, exiting");
  const afterLeave = a.output().slice(a.output().indexOf("taken over by a newer localdns, leaving"));
  for (const teardown of ["NOTRACK rules removed", "ip addr del", "ip link del", "-D PREROUTING", "-D OUTPUT"]) expect(afterLeave).not.toContain(teardown);
  expect(ourRules()).toEqual(rules);
  expect(addresses()).toEqual(expect.arrayContaining([VNET, KUBE]));
  expect(existsSync(env.LOCALDNS_NETWORK_STATE)).toBe(true);
  expect(answers(VNET) && answers(KUBE)).toBe(true);
  await sleep(1000);

  load.kill("SIGINT");
  expect(await exited(load)).toBe(0);
  const result = JSON.parse(load.output().trim().split("\n").pop()!);
  console.log(`pod takeover: ${result.sent} UDP queries sent, ${result.answered} answered, ${result.lost} lost (client socket drops ${result.clientDrops}); ${result.tcp} TCP queries, ${result.tcpFailed.length} failed`);
  expect({ lost: result.lost, lostIds: result.lostIds, tcpFailed: result.tcpFailed }).toEqual({ lost: 0, lostIds: [], tcpFailed: [] });
  expect(result.sent).toBeGreaterThan(4000);

  // the last one out takes the node set-up down
  b.kill("SIGTERM");
  expect(await exited(b)).toBe(0);
  expect(ourRules()).toEqual([]);
  expect(addresses().filter((x) => x.includes("169.254.10."))).toEqual([]);
}, 120_000);

test.skipIf(why !== null)("mode Disabled in pod mode idles until SIGTERM (a container that exits is restarted, again and again)", async () => {
  const disabled = join(dir, "disabled.json");
  writeFileSync(disabled, JSON.stringify({ mode: "Disabled" }));
  const p = ns.start(BINARY, ["run", "--network", "--config", disabled], { env });
  await until("the Disabled start", () => p.output().includes("mode is Disabled: not serving"));
  await sleep(1500);
  expect(p.exitCode === null && p.signalCode === null).toBe(true);
  p.kill("SIGTERM");
  expect(await exited(p)).toBe(0);
}, 30_000);
