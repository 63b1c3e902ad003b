// The hosts overlay's bounds: every write into the core's memory is checked (a name with thousands of
// addresses can no longer run over the zone tables), addresses per name and the file's size are
// capped, duplicates go in linear time, and IPv4-mapped IPv6 stays a 16-octet AAAA.
import { test, expect, describe } from "bun:test";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import packet from "dns-packet";
import { Core, Status, RuleAction, ANY_ZONE } from "../src/core";
import { parseHosts, HOSTS_TTL } from "../src/cache/hosts";
import { HostsOverlay } from "../src/cache/hosts-overlay";
import { HOSTS_FILE_MAX_BYTES, HOSTS_MAX_ADDRESSES_PER_NAME } from "../src/config/limits";
import { bunRuntime } from "../src/runtime/bun";
import { buildConfig } from "../src/config/effective";
import { createLogger } from "../src/log";
import { wasmBytes, clientQuery } from "./helpers/core";

const AAAA = 28;
const v6 = (i: number) => { const b = new Uint8Array(16); b[0] = 0xfd; b[14] = i >> 8; b[15] = i & 0xff; return b; };

async function coreWithZones(): Promise<Core> {
  const core = await Core.load(wasmBytes(), 4 << 20);
  core.loadZones([{ set: 0, name: ".", id: 0 }, { set: 1, name: "cluster.local", id: 1 }],
    [{ set: 0, zone: ANY_ZONE, action: RuleAction.HEALTH, name: "health-check.localdns.local", minLabels: 0, exact: true }]);
  return core;
}
const statusOf = (core: Core, name: string, set = 0, type = "A") => { core.handle(clientQuery(name, type), 1000, set, false); return core.res[0]; };
const tablesIntact = (core: Core) => [statusOf(core, "a.example.org"), statusOf(core, "health-check.localdns.local"), statusOf(core, "svc.cluster.local", 1), statusOf(core, "a.example.org", 1)];
const INTACT = [Status.MISS, Status.HEALTH, Status.MISS, Status.ERROR];

describe("writes into the core's memory are bounds-checked", () => {
  test("20,000 IPv6 addresses for one name are refused, and the zone tables are untouched", async () => {
    const core = await coreWithZones();
    expect(tablesIntact(core)).toEqual(INTACT);
    const rdata = Array.from({ length: 20000 }, (_, i) => v6(i));
    expect(core.setHosts([{ name: "many.example", qtype: AAAA, rdata }], HOSTS_TTL)).toBe(false);
    expect(tablesIntact(core)).toEqual(INTACT);
    expect(statusOf(core, "many.example", 0, "AAAA")).toBe(Status.MISS);
  });

  test("an overlay that does not fit leaves the running one answering", async () => {
    const core = await coreWithZones();
    expect(core.setHosts([{ name: "pinned.example", qtype: 1, rdata: [Uint8Array.of(10, 0, 0, 1)] }], HOSTS_TTL)).toBe(true);
    const many = Array.from({ length: 3000 }, (_, i) => ({ name: `n${i}.example`, qtype: 1, rdata: [Uint8Array.of(10, 0, i >> 8, i & 255)] }));
    expect(core.setHosts(many, HOSTS_TTL)).toBe(false);
    const n = core.handle(clientQuery("pinned.example"), 1000, 0, false);
    expect(core.res[0]).toBe(Status.HOSTS);
    expect((packet.decode(Buffer.from(core.copyOut(n))) as any).answers.map((a: any) => a.data)).toEqual(["10.0.0.1"]);
    expect(statusOf(core, "n1.example")).toBe(Status.MISS);
  });

  test("the core refuses rdata blocks that run past the bytes it was given", async () => {
    const core = await coreWithZones();
    const name = Uint8Array.of(1, 0x61, 0); // "a."
    core.mem.set(name, core.IN);
    core.mem.set(Uint8Array.of(4, 0, 10, 0, 0, 1), core.IN + 3); // one 4-octet block
    core.x.hostsBegin();
    expect(core.x.hostsPut(3, 1, 1, 60, 3 + 6)).toBe(0);
    expect(core.x.hostsPut(3, 1, 2, 60, 3 + 6)).toBe(-1); // claims a second block it was not given
    expect(core.x.hostsPut(3, 1, 1, 60, 3 + 5)).toBe(-1); // the block is longer than what is left
    expect(core.x.hostsPut(3, 1, 1, 60, 1 << 20)).toBe(-1); // more than IN holds
    expect(core.x.hostsPut(300, 1, 0, 60, 300)).toBe(-1); // a name longer than 255
    expect(tablesIntact(core)).toEqual(INTACT);
  });
});

describe("parsing", () => {
  test(`parsing stops once a file has more answers than the overlay holds`, () => {
    const h = parseHosts(Array.from({ length: 40000 }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255} n${i}.example`).join("\n"));
    expect(h.overflow).toEqual({ line: 683 }); // 683 names: 2 × 683 + 683 PTR = 2,049 > 2,048
    expect(h.entries.length).toBe(2049);
  });

  test(`addresses per name are capped at ${HOSTS_MAX_ADDRESSES_PER_NAME}; what is over the cap is reported`, () => {
    const text = Array.from({ length: 20000 }, (_, i) => `fd00::${(i >> 16).toString(16)}:${(i & 0xffff).toString(16)} one.example`).join("\n");
    const h = parseHosts(text);
    const aaaa = h.entries.find((e) => e.name === "one.example" && e.qtype === AAAA)!;
    expect(aaaa.rdata.length).toBe(HOSTS_MAX_ADDRESSES_PER_NAME);
    expect(h.dropped).toEqual({ addresses: 20000 - HOSTS_MAX_ADDRESSES_PER_NAME, names: ["one.example"] });
  });

  test("20,000 copies of one address dedupe to one, and are not counted as dropped", () => {
    const h = parseHosts("10.0.0.1 same.example\n".repeat(20000));
    expect(h.entries.find((e) => e.name === "same.example" && e.qtype === 1)!.rdata).toEqual([Uint8Array.of(10, 0, 0, 1)]);
    expect(h.dropped.addresses).toBe(0);
  });

  test("IPv4-mapped IPv6 is an AAAA of 16 octets, with an ip6.arpa PTR", () => {
    const h = parseHosts("::ffff:1.2.3.4 mapped.example\n64:ff9b::5.6.7.8 nat64.example\n");
    const aaaa = (n: string) => h.entries.find((e) => e.name === n && e.qtype === AAAA)!.rdata;
    expect(aaaa("mapped.example")).toEqual([Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, 1, 2, 3, 4)]);
    expect(aaaa("nat64.example")).toEqual([Uint8Array.of(0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0, 5, 6, 7, 8)]);
    expect(h.entries.find((e) => e.name === "mapped.example" && e.qtype === 1)!.rdata).toEqual([]);
    expect(h.entries.some((e) => e.qtype === 12 && e.name === "4.0.3.0.2.0.1.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa")).toBe(true);
    expect(h.entries.some((e) => e.name.endsWith("in-addr.arpa"))).toBe(false);
  });

  test("problem lines are listed up to 20, then only counted", () => {
    const h = parseHosts("bogus\n".repeat(5000));
    expect(h.problems).toHaveLength(20);
    expect(h.problemCount).toBe(5000);
  });
});

describe("the file", () => {
  const dir = mkdtempSync(join(tmpdir(), "ldns-hostsb-"));
  const read = (p: string, max: number) => bunRuntime.readTextFile(p, max);
  const cfg = (hostsFile: string) => buildConfig({ upstreams: { VnetDNS: ["127.0.0.9"], ClusterCoreDNS: ["127.0.0.9"] }, cache: { hostsFile } }, read);

  test(`larger than ${HOSTS_FILE_MAX_BYTES} bytes, a device or a FIFO: a config error, and never read`, () => {
    const big = join(dir, "big");
    writeFileSync(big, "#".repeat(HOSTS_FILE_MAX_BYTES + 1));
    const fifo = join(dir, "fifo");
    expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
    expect(cfg(big)).toEqual({ ok: false, errors: [`cache.hostsFile: ${big}: ${HOSTS_FILE_MAX_BYTES + 1} bytes, more than the ${HOSTS_FILE_MAX_BYTES} read at most`] });
    expect(cfg("/dev/zero")).toEqual({ ok: false, errors: ["cache.hostsFile: /dev/zero: not a regular file"] });
    expect(cfg(fifo)).toEqual({ ok: false, errors: [`cache.hostsFile: ${fifo}: not a regular file`] });
    const absent = cfg(join(dir, "absent"));
    expect(absent.ok && absent.warnings[0]).toMatch(/cache.hostsFile: .*absent cannot be read/);
  });

  test("at run time a file that cannot be applied leaves the running overlay, logged once", async () => {
    const core = await coreWithZones();
    const logs: any[] = [];
    const overlay = new HostsOverlay(bunRuntime, core, createLogger((l) => { logs.push(JSON.parse(l)); }, "debug"));
    const path = join(dir, "hosts");
    writeFileSync(path, "10.0.0.1 pinned.example\n");
    const load = overlay.read(path);
    overlay.stage(load);
    overlay.commit(load);
    writeFileSync(path, "#".repeat(HOSTS_FILE_MAX_BYTES + 1));
    expect(() => overlay.read(path)).toThrow(/more than the 1048576 read at most/);
    const refresh = () => (overlay as unknown as { refresh(): void }).refresh(); // what the 2 s timer runs
    refresh();
    refresh();
    writeFileSync(path, Array.from({ length: 3000 }, (_, i) => `10.1.${i >> 8}.${i & 255} n${i}.example`).join("\n"));
    refresh();
    refresh();
    overlay.stop();
    expect(statusOf(core, "pinned.example")).toBe(Status.HOSTS);
    expect(statusOf(core, "n1.example")).toBe(Status.MISS);
    expect(logs.filter((l) => l.msg === "hosts file rejected; the running overlay stays").map((l) => l.problem)).toEqual([
      `hosts file ${path}: ${HOSTS_FILE_MAX_BYTES + 1} bytes, more than the ${HOSTS_FILE_MAX_BYTES} read at most`,
      `hosts file ${path} does not fit the overlay: more than its 2048 answers (an A and an AAAA per name, a PTR per address) by line 683`,
    ]);
    rmSync(dir, { recursive: true, force: true });
  });
});

test("every facade call that copies into the core bounds what it copies", async () => {
  const core = await coreWithZones();
  const huge = new Uint8Array(400_000); // longer than any DNS message: from IN it would run over AUX, OUT … and the zone tables
  huge.set(clientQuery("a.example.org"));
  expect(core.answerError(huge, 2)).toBeGreaterThan(0);
  expect(core.answerPrepared(huge, true)).toBeGreaterThan(0);
  expect(core.answerHealth(huge, new Uint8Array(400_000))).toBeGreaterThan(0);
  expect(core.peek(huge, 1000, 0)).toBe(-1);
  expect(core.importRecord(huge, 1000, 0)).toBe(false);
  expect(core.prepare(huge, huge, false, 60, 30)).toBe(-1);
  expect(core.handle(huge, 1000, 0, false)).toBe(0);
  expect(tablesIntact(core)).toEqual(INTACT);
});
