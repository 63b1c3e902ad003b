// The node set-up's decisions against a scripted stand-in for ip/iptables (no root needed): dummy
// or lo, -C before -A, teardown by comment and label, the resolver's guards, dry-run output.
import { describe, test, expect, beforeEach, afterEach } from "bun:test";
import * as dgram from "node:dgram";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildConfig, type EffectiveConfig } from "../src/config/effective";
import { createLogger } from "../src/log";
import type { CommandResult, Runner } from "../src/node/commands";
import { dryRunner, formatCommand } from "../src/node/commands";
import { runNetworkStep } from "../src/node/network";
import { COMMENT, notrackRules, splitRuleLine } from "../src/node/notrack";
import { encodeQuery, isGoodReply, waitForAnswer } from "../src/node/probe";
import { dnsValue, dropInText, findOurDropIns, removeDropIns, waitForResolvConf } from "../src/node/resolver";
import { nodeSettings, type NodeSettings } from "../src/node/settings";
import { readState } from "../src/node/state";

function config(listeners: { vnetDNS: string[]; kubeDNS: string[] }, extra: Record<string, unknown> = {}): EffectiveConfig {
  const r = buildConfig({ mode: "Required", listeners, upstreams: { ClusterCoreDNS: ["127.0.0.1:5300"], VnetDNS: ["127.0.0.1:5300"] }, admin: { listen: null }, ...extra }, () => { throw new Error("no files"); });
  if (!r.ok) throw new Error(r.errors.join("; "));
  return r.config;
}
const AKS = () => config({ vnetDNS: ["169.254.10.10:53"], kubeDNS: ["169.254.10.11:53"] });

type Script = (cmd: string, args: string[]) => Partial<CommandResult> | undefined;
interface Fake extends Runner { changes: string[]; queries: string[] }
function fakeRunner(script: Script = () => undefined, tools = ["ip", "iptables", "ip6tables", "networkctl"]): Fake {
  const answer = (cmd: string, args: string[]): CommandResult => ({ status: 0, stdout: "", stderr: "", ...script(cmd, args) });
  const f: Fake = {
    dryRun: false, changes: [], queries: [],
    query(cmd, args) { f.queries.push(formatCommand(cmd, args)); return answer(cmd, args); },
    change(cmd, args) { f.changes.push(formatCommand(cmd, args)); return answer(cmd, args); },
    has: (cmd) => tools.includes(cmd),
    writeFile(path, text) { mkdirSync(join(path, ".."), { recursive: true }); writeFileSync(path, text); f.changes.push(`write ${path}`); },
    removeFile(path) { rmSync(path, { force: true }); f.changes.push(`rm ${path}`); },
  };
  return f;
}
const noLink = (cmd: string, args: string[]) => (cmd === "ip" && args.includes("show") ? { status: 1, stderr: 'Device "x" does not exist.' } : undefined);
const ruleMissing = (cmd: string, args: string[]) => (cmd.endsWith("tables") && args.includes("-C") ? { status: 1 } : undefined);

let dir: string;
let logs: any[];
let settings: NodeSettings;
const log = () => createLogger((l) => { logs.push(JSON.parse(l)); }, "debug");
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ldns-plan-"));
  logs = [];
  settings = { statePath: join(dir, "state.json"), dropInPath: join(dir, "dropin.conf"), networkctl: "networkctl", probeTimeoutMs: 300 };
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));
const step = (action: "up" | "down" | "resolver" | "release", cfg: EffectiveConfig | null, run: Runner) => runNetworkStep(action, cfg, { dryRun: run.dryRun, log: log(), runner: run, settings });

describe("up", () => {
  test("with dummy support the addresses go on the localdns interface", async () => {
    const run = fakeRunner((c, a) => noLink(c, a) ?? ruleMissing(c, a));
    expect(await step("up", AKS(), run)).toBe(0);
    expect(run.changes.slice(0, 4)).toEqual([
      "ip link add localdns type dummy",
      "ip link set localdns up",
      "ip addr add 169.254.10.10/32 dev localdns",
      "ip addr add 169.254.10.11/32 dev localdns",
    ]);
    expect(readState(settings.statePath).device).toBe("localdns");
  });

  test("without dummy support they go on lo, labelled, and that is logged", async () => {
    const run = fakeRunner((c, a) => (a[0] === "link" && a[1] === "add" ? { status: 2, stderr: "Error: Unknown device type." } : noLink(c, a) ?? ruleMissing(c, a)));
    expect(await step("up", AKS(), run)).toBe(0);
    expect(run.changes).toContain("ip addr add 169.254.10.10/32 dev lo label lo:localdns");
    expect(run.changes).not.toContain("ip link set localdns up");
    expect(logs.some((l) => l.level === "warn" && /no dummy interface support/.test(l.msg))).toBe(true);
    expect(readState(settings.statePath)).toMatchObject({ device: "lo", addresses: [{ host: "169.254.10.10", family: 4 }, { host: "169.254.10.11", family: 4 }] });
  });

  test("IPv6 listeners get /128, nodad on the dummy, and ip6tables rules", async () => {
    const run = fakeRunner((c, a) => noLink(c, a) ?? ruleMissing(c, a));
    expect(await step("up", config({ vnetDNS: ["[fd00::10]:53"], kubeDNS: ["169.254.10.11:53"] }), run)).toBe(0);
    expect(run.changes).toContain("ip addr add fd00::10/128 dev localdns nodad");
    expect(run.changes.filter((c) => c.startsWith("ip6tables ")).length).toBe(6);
    expect(run.changes.filter((c) => c.startsWith("iptables ")).length).toBe(6);
  });

  test("addresses and rules already there are left alone (-C before -A)", async () => {
    const present = JSON.stringify([{ ifname: "localdns", addr_info: [{ family: "inet", local: "169.254.10.10", prefixlen: 32 }, { family: "inet", local: "169.254.10.11", prefixlen: 32 }] }]);
    const run = fakeRunner((c, a) => {
      if (c === "ip" && a.join(" ") === "-j -d link show dev localdns") return { stdout: JSON.stringify([{ linkinfo: { info_kind: "dummy" } }]) };
      if (c === "ip" && a.join(" ") === "-j addr show dev localdns") return { stdout: present };
      return undefined; // every -C succeeds
    });
    expect(await step("up", AKS(), run)).toBe(0);
    expect(run.changes).toEqual(["ip link set localdns up"]);
    expect(run.queries.filter((q) => q.includes(" -C ")).length).toBe(12);
  });

  test("loopback and wildcard listeners need no address, and a wildcard gets no rule", async () => {
    const run = fakeRunner((c, a) => noLink(c, a) ?? ruleMissing(c, a));
    expect(await step("up", config({ vnetDNS: ["127.0.0.1:5553"], kubeDNS: ["0.0.0.0:5554"] }), run)).toBe(0);
    expect(run.changes.filter((c) => c.startsWith("ip addr"))).toEqual([]);
    expect(run.changes.filter((c) => c.startsWith("iptables")).every((c) => c.includes("127.0.0.1/32"))).toBe(true);
  });

  test("a missing iptables is a warning, not a failed start", async () => {
    const run = fakeRunner(noLink, ["ip"]);
    expect(await step("up", AKS(), run)).toBe(0);
    expect(logs.some((l) => l.level === "warn" && /iptables not found/.test(l.msg))).toBe(true);
  });

  test("an address that cannot be added fails the step", async () => {
    const run = fakeRunner((c, a) => (a[0] === "addr" && a[1] === "add" ? { status: 2, stderr: "RTNETLINK answers: Operation not permitted" } : noLink(c, a) ?? ruleMissing(c, a)));
    expect(await step("up", AKS(), run)).toBe(1);
  });

  test("mode Disabled changes nothing", async () => {
    const run = fakeRunner();
    const cfg = AKS();
    cfg.mode = "Disabled";
    expect(await step("up", cfg, run)).toBe(0);
    expect(run.changes).toEqual([]);
  });

  test("the rule set is the original's 8 destination rules plus 4 reply rules", () => {
    const rules = notrackRules(AKS().listeners.vnetDNS.concat(AKS().listeners.kubeDNS));
    expect(rules.filter((r) => r.spec.includes("--dport")).length).toBe(8);
    expect(rules.filter((r) => r.spec.includes("--sport")).map((r) => r.chain)).toEqual(["OUTPUT", "OUTPUT", "OUTPUT", "OUTPUT"]);
    for (const r of rules) expect(r.spec.slice(-6)).toEqual(["-m", "comment", "--comment", COMMENT, "-j", "NOTRACK"]);
  });
});

describe("down", () => {
  const listing = [
    "-P OUTPUT ACCEPT",
    `-A OUTPUT -d 169.254.10.10/32 -p udp -m udp --dport 53 -m comment --comment "${COMMENT}" -j NOTRACK`,
    '-A OUTPUT -d 10.0.0.1/32 -p udp -m udp --dport 53 -m comment --comment "someone else" -j NOTRACK',
    `-A OUTPUT -s 169.254.10.10/32 -p tcp -m tcp --sport 53 -m comment --comment "${COMMENT}" -j NOTRACK`,
  ].join("\n");
  const loAddrs = JSON.stringify([{ ifname: "lo", addr_info: [
    { family: "inet", local: "127.0.0.1", prefixlen: 8, label: "lo" },
    { family: "inet", local: "169.254.10.10", prefixlen: 32, label: "lo:localdns" },
    { family: "inet", local: "10.9.9.9", prefixlen: 32, label: "lo" },
    { family: "inet6", local: "fd00::10", prefixlen: 128 },
    { family: "inet6", local: "::1", prefixlen: 128 },
  ] }]);
  const node = (c: string, a: string[]) => {
    if (c === "iptables" && a.includes("-S") && a.includes("OUTPUT")) return { stdout: listing };
    if (c === "ip" && a.join(" ") === "-j addr show dev lo") return { stdout: loAddrs };
    return noLink(c, a);
  };

  test("without a config it removes only rules with our comment and addresses with our label or state", async () => {
    writeFileSync(settings.statePath, JSON.stringify({ device: "lo", addresses: [{ host: "fd00::10", family: 6 }], dropIns: [] }));
    const run = fakeRunner(node);
    expect(await step("down", null, run)).toBe(0);
    expect(run.changes).toEqual([
      `iptables -w 5 -t raw -D OUTPUT -d 169.254.10.10/32 -p udp -m udp --dport 53 -m comment --comment '${COMMENT}' -j NOTRACK`,
      `iptables -w 5 -t raw -D OUTPUT -s 169.254.10.10/32 -p tcp -m tcp --sport 53 -m comment --comment '${COMMENT}' -j NOTRACK`,
      "ip addr del 169.254.10.10/32 dev lo",
      "ip addr del fd00::10/128 dev lo",
    ]);
    expect(existsSync(settings.statePath)).toBe(false);
  });

  test("release (ExecStop on a clean stop) removes the resolver drop-in and nothing else", async () => {
    writeFileSync(settings.dropInPath as string, dropInText(AKS().listeners.vnetDNS));
    const run = fakeRunner(node);
    expect(await step("release", AKS(), run)).toBe(0);
    expect(run.changes).toEqual([`rm ${settings.dropInPath}`, "networkctl reload"]);
    expect(existsSync(settings.dropInPath as string)).toBe(false);
    expect(await step("release", null, run)).toBe(0); // idempotent, and needs no config
  });

  test("the resolver drop-in goes first, then rules, then the dummy interface", async () => {
    writeFileSync(settings.dropInPath as string, dropInText(AKS().listeners.vnetDNS));
    const run = fakeRunner((c, a) => (c === "ip" && a.join(" ") === "-j -d link show dev localdns" ? { stdout: JSON.stringify([{ linkinfo: { info_kind: "dummy" } }]) } : node(c, a)));
    expect(await step("down", AKS(), run)).toBe(0);
    expect(run.changes[0]).toBe(`rm ${settings.dropInPath}`);
    expect(run.changes[1]).toBe("networkctl reload");
    expect(run.changes[2]).toStartWith("iptables -w 5 -t raw -D");
    expect(run.changes).toContain("ip link del localdns");
  });

  test("a drop-in localdns did not write is never removed", async () => {
    writeFileSync(settings.dropInPath as string, "[Network]\nDNS=1.1.1.1\n");
    const run = fakeRunner(noLink);
    expect(await step("down", AKS(), run)).toBe(0);
    expect(existsSync(settings.dropInPath as string)).toBe(true);
    expect(run.changes).toEqual([]);
  });

  test("nothing there: exit 0, nothing changed", async () => {
    const run = fakeRunner(noLink);
    expect(await step("down", AKS(), run)).toBe(0);
    expect(run.changes).toEqual([]);
  });

  test("a rule that exists but cannot be deleted makes the step fail (after trying the rest)", async () => {
    const run = fakeRunner((c, a) => (a.includes("-D") ? { status: 1, stderr: "nope" } : node(c, a)));
    expect(await step("down", AKS(), run)).toBe(1);
    expect(run.changes).toContain("ip addr del 169.254.10.10/32 dev lo");
  });
});

describe("resolver", () => {
  test("switched off: no probe, no file", async () => {
    settings.dropInPath = "off";
    const run = fakeRunner();
    expect(await step("resolver", AKS(), run)).toBe(0);
    expect(run.changes).toEqual([]);
  });

  test("no networkctl: logged, exit 0, no file", async () => {
    const run = fakeRunner(undefined, ["ip", "iptables"]);
    expect(await step("resolver", AKS(), run)).toBe(0);
    expect(logs.some((l) => /networkctl not found/.test(l.msg))).toBe(true);
    expect(existsSync(settings.dropInPath as string)).toBe(false);
  });

  test("a listener that does not answer: exit 1, no file", async () => {
    const run = fakeRunner();
    expect(await step("resolver", config({ vnetDNS: ["127.0.0.1:9"], kubeDNS: ["127.0.0.1:10"] }), run)).toBe(1);
    expect(existsSync(settings.dropInPath as string)).toBe(false);
  });

  test("listeners that answer: drop-in written, recorded in the state, networkd reloaded", async () => {
    const fake = await healthResponder();
    try {
      const run = fakeRunner();
      expect(await step("resolver", config({ vnetDNS: [`127.0.0.1:${fake.port}`], kubeDNS: [`127.0.0.2:${fake.port}`] }), run)).toBe(0);
      expect(readFileSync(settings.dropInPath as string, "utf8")).toContain(`DNS=127.0.0.1:${fake.port}\n`);
      expect(run.changes).toEqual([`write ${settings.dropInPath}`, "networkctl reload"]);
      expect(readState(settings.statePath).dropIns).toEqual([settings.dropInPath as string]);
    } finally { fake.close(); }
  });

  test("the default drop-in path sits beside the default-route interface's .network file", async () => {
    const fake = await healthResponder();
    try {
      settings.dropInPath = null;
      const run = fakeRunner((c, a) => {
        if (c === "ip" && a.join(" ") === "-j route show default") return { stdout: JSON.stringify([{ dst: "default", dev: "eth0" }]) };
        if (c === "networkctl" && a.includes("--json=short")) return { stdout: JSON.stringify({ NetworkFile: "/run/systemd/network/10-netplan-eth0.network" }) };
        return undefined;
      });
      // write through a runner whose file writes are printed, so nothing lands in the real /run
      const printed: string[] = [];
      const dry = dryRunner((l) => printed.push(l));
      run.writeFile = dry.writeFile;
      expect(await step("resolver", config({ vnetDNS: [`127.0.0.1:${fake.port}`], kubeDNS: [`127.0.0.2:${fake.port}`] }), run)).toBe(0);
      expect(printed[0]).toStartWith("cat > /run/systemd/network/10-netplan-eth0.network.d/70-localdns.conf <<'EOF'");
    } finally { fake.close(); }
  });
});

describe("dry run", () => {
  test("up prints the commands a clean node would get", async () => {
    const printed: string[] = [];
    expect(await step("up", AKS(), dryRunner((l) => printed.push(l)))).toBe(0);
    expect(printed[0]).toBe("ip link add localdns type dummy");
    expect(printed.filter((l) => l.startsWith("iptables -w 5 -t raw -A")).length).toBe(12);
    expect(printed).toContain(`iptables -w 5 -t raw -A PREROUTING -d 169.254.10.11/32 -p tcp -m tcp --dport 53 -m comment --comment 'localdns: skip conntrack' -j NOTRACK`);
    expect(existsSync(settings.statePath)).toBe(false);
  });

  test("down prints the removal, drop-in first", async () => {
    const printed: string[] = [];
    expect(await step("down", AKS(), dryRunner((l) => printed.push(l)))).toBe(0);
    expect(printed[0]).toStartWith("rm -f ");
    expect(printed.at(-1)).toBe("ip link del localdns");
  });

  test("its log says what it would do, never that something is in place or removed", async () => {
    for (const action of ["up", "down"] as const) await step(action, AKS(), dryRunner(() => {}));
    const msgs = logs.map((l) => l.msg as string);
    expect(msgs).toEqual([
      "dry run: would add the listener addresses",
      "dry run: would add the NOTRACK rules",
      "dry run: would remove the node set-up",
    ]);
  });
});

describe("pieces", () => {
  test("iptables -S lines split like a shell would", () => {
    expect(splitRuleLine(`-A OUTPUT -m comment --comment "localdns: skip conntrack" -j NOTRACK`)).toEqual(["-A", "OUTPUT", "-m", "comment", "--comment", "localdns: skip conntrack", "-j", "NOTRACK"]);
    expect(splitRuleLine(`-A X --comment "a \\"b\\" c"`)).toEqual(["-A", "X", "--comment", 'a "b" c']);
  });

  test("networkd DNS= values", () => {
    expect(dnsValue({ host: "169.254.10.10", port: 53, family: 4 })).toBe("169.254.10.10");
    expect(dnsValue({ host: "127.0.0.1", port: 5553, family: 4 })).toBe("127.0.0.1:5553");
    expect(dnsValue({ host: "fd00::10", port: 5353, family: 6 })).toBe("[fd00::10]:5353");
    expect(dropInText([{ host: "169.254.10.10", port: 53, family: 4 }])).toEndWith("[Network]\nDNS=169.254.10.10\n\n[DHCP]\nUseDNS=false\n");
  });

  test("our drop-ins are found by their first line; others are left", () => {
    mkdirSync(join(dir, "a.network.d"));
    mkdirSync(join(dir, "b.network.d"));
    writeFileSync(join(dir, "a.network.d", "70-localdns.conf"), dropInText([{ host: "169.254.10.10", port: 53, family: 4 }]));
    writeFileSync(join(dir, "b.network.d", "70-localdns.conf"), "[Network]\nDNS=1.1.1.1\n");
    expect(findOurDropIns([dir, join(dir, "missing")])).toEqual([join(dir, "a.network.d", "70-localdns.conf")]);
    const r = removeDropIns(fakeRunner(), [join(dir, "a.network.d", "70-localdns.conf"), join(dir, "b.network.d", "70-localdns.conf")], log());
    expect(r.servers).toEqual(["169.254.10.10"]);
    expect(existsSync(join(dir, "b.network.d", "70-localdns.conf"))).toBe(true);
  });

  test("waiting for systemd-resolved to drop our address is bounded", async () => {
    const p = join(dir, "resolv.conf");
    writeFileSync(p, "nameserver 169.254.10.10\n");
    const t0 = Date.now();
    expect(await waitForResolvConf(["169.254.10.10"], 300, p)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
    writeFileSync(p, "nameserver 10.1.0.1\n");
    expect(await waitForResolvConf(["169.254.10.10"], 300, p)).toBe(true);
    expect(await waitForResolvConf(["169.254.10.10"], 300, join(dir, "absent"))).toBe(true);
  });

  test("settings from the environment", () => {
    expect(nodeSettings({})).toEqual({ statePath: "/run/localdns/network.json", dropInPath: null, networkctl: "networkctl", probeTimeoutMs: 10_000 });
    expect(nodeSettings({ LOCALDNS_RESOLVER_DROPIN: "OFF" }).dropInPath).toBe("off");
    expect(nodeSettings({ LOCALDNS_RESOLVER_DROPIN: "/x/y.conf", LOCALDNS_PROBE_TIMEOUT_MS: "999999999" })).toMatchObject({ dropInPath: "/x/y.conf", probeTimeoutMs: 120_000 });
  });

  test("a corrupt state file reads as empty", () => {
    writeFileSync(settings.statePath, "{not json");
    expect(readState(settings.statePath)).toEqual({ device: null, addresses: [], dropIns: [] });
  });

  test("the health query is a valid question and only a matching NOERROR reply counts", () => {
    const q = encodeQuery(0x1234, "health-check.localdns.local");
    expect(q.length).toBe(12 + 29 + 4);
    const reply = Uint8Array.from(q);
    reply[2] |= 0x80;
    expect(isGoodReply(reply, 0x1234)).toBe(true);
    expect(isGoodReply(reply, 0x1235)).toBe(false);
    reply[3] = 2; // SERVFAIL
    expect(isGoodReply(reply, 0x1234)).toBe(false);
    expect(isGoodReply(q, 0x1234)).toBe(false); // not a response
  });

  test("the probe gives up at its deadline", async () => {
    const t0 = Date.now();
    expect(await waitForAnswer({ host: "127.0.0.1", port: 9, family: 4 }, 400)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1500);
  });
});

/** Answers every query on 127.0.0.1 and 127.0.0.2 (same port) with NOERROR, like the health name. */
async function healthResponder(): Promise<{ port: number; close(): void }> {
  const a = dgram.createSocket("udp4");
  await new Promise<void>((r) => a.bind(0, "127.0.0.1", () => r()));
  const port = a.address().port;
  const b = dgram.createSocket("udp4");
  await new Promise<void>((r, j) => { b.once("error", j); b.bind(port, "127.0.0.2", () => r()); });
  for (const s of [a, b]) s.on("message", (m, ri) => { const out = Buffer.from(m); out[2] |= 0x80; s.send(out, ri.port, ri.address); });
  return { port, close: () => { a.close(); b.close(); } };
}
