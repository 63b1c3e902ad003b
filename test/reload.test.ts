// Reload is all or nothing: a config the running process cannot apply in full (too many zones or
// rules, a hosts file that does not fit, a listener that cannot bind) is rejected, logged and
// counted, and every table keeps answering exactly as before on both listeners.
import { test, expect, beforeAll, afterAll, describe } from "bun:test";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { createSocket } from "node:dgram";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeUpstream, type FakeUpstream } from "./helpers/fake-upstream";
import { startInProcess, type Started } from "./helpers/appliance";
import { query } from "./helpers/dns";
import type { EffectiveConfig, ZoneSettings } from "../src/config/effective";

let up: FakeUpstream;
let s: Started;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ldns-reload-"));
  writeFileSync(join(dir, "hosts"), "10.70.0.1 pinned.example\n");
  up = await startFakeUpstream("127.0.0.3");
  s = await startInProcess({
    upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] },
    vnetDNSOverrides: { "corp.example": { nxdomainRules: [{ suffix: "blocked.corp.example" }] } },
    cache: { snapshotPath: null, hostsFile: join(dir, "hosts") },
  });
});
afterAll(async () => { await s.stop(); await up.stop(); rmSync(dir, { recursive: true, force: true }); });

/** What both listeners answer for a fixed set of names, as comparable text. (Listeners on port 0
 * are bound afresh by every reload that applies: their ports are looked up each time.) */
async function answers(): Promise<string[]> {
  const port = (set: number) => s.app.listeners.find((l) => l.set === set)!.udp.port;
  const ask = async (set: number, name: string) => {
    const r = await query("127.0.0.1", port(set), name, "A", { timeoutMs: 2000 });
    return `${name} ${r.rcode} ${r.answers.map((a: any) => a.data).join(",")}`;
  };
  return [
    await ask(0, "www.example.org"), await ask(0, "x.blocked.corp.example"), await ask(0, "pinned.example"),
    await ask(0, "health-check.localdns.local"), await ask(1, "svc.cluster.local"), await ask(1, "x.blocked.corp.example"),
    await ask(1, "health-check.localdns.local"),
  ];
}

const EXPECTED = [
  "www.example.org NOERROR 10.1.2.3", "x.blocked.corp.example NXDOMAIN ", "pinned.example NOERROR 10.70.0.1",
  "health-check.localdns.local NOERROR 127.0.0.1", "svc.cluster.local NOERROR 10.1.2.3", "x.blocked.corp.example NOERROR 10.1.2.3",
  "health-check.localdns.local NOERROR 127.0.0.1",
];

const failures = async () => {
  const text = await (await s.app.adminApp.request("/metrics")).text();
  return Number(text.split("\n").find((l) => l.startsWith('localdns_config_reloads_total{result="failure"}'))!.split(" ")[1]);
};
// /config shows zones as the file's overrides: { vnetDNSOverrides: { zone: settings } }
const shownZones = async () => {
  const c = await (await s.app.adminApp.request("/config")).json();
  return { vnetDNS: Object.keys(c.vnetDNSOverrides), kubeDNS: Object.keys(c.kubeDNSOverrides), settings: [c.vnetDNSOverrides, c.kubeDNSOverrides] };
};
const zoneLike = (z: ZoneSettings, name: string): ZoneSettings => ({ ...z, zone: name, nxdomainRules: [] });

/** A config `validate` would refuse, applied anyway: the last line of defence must hold. */
async function expectRejected(change: (c: EffectiveConfig) => void, problem: RegExp) {
  expect(await answers()).toEqual(EXPECTED);
  const zonesBefore = await shownZones();
  const failed = await failures();
  const bad = structuredClone(s.app.config);
  change(bad);
  const logged = s.logs.length;
  const r = await s.app.reload(bad);
  expect(r.ok).toBe(false);
  expect(!r.ok && r.errors.join(" ")).toMatch(problem);
  const line = s.logs.slice(logged).find((l) => l.msg === "config reload rejected; the running config stays");
  expect(line?.problems.join(" ")).toMatch(problem);
  expect(await failures()).toBe(failed + 1);
  expect(await shownZones()).toEqual(zonesBefore);
  expect(await answers()).toEqual(EXPECTED);
}

describe("a reload that cannot be applied in full changes nothing", () => {
  test("70 zones on the vnet listener", async () => {
    await expectRejected((c) => {
      const root = c.zones.vnetDNS[0];
      for (let i = 0; i < 70; i++) c.zones.vnetDNS.push(zoneLike(root, `z${i}.example`));
    }, /70|zones/);
  });

  test("5,000 nxdomainRules on the kube listener", async () => {
    await expectRejected((c) => {
      c.zones.kubeDNS[0].nxdomainRules = Array.from({ length: 5000 }, (_, i) => ({ suffix: `b${i}.example`, minLabels: 1 }));
    }, /name rules/);
  });

  test("a hosts file with more answers than the overlay holds", async () => {
    const big = join(dir, "hosts-big");
    writeFileSync(big, Array.from({ length: 3000 }, (_, i) => `10.71.${i >> 8}.${i & 255} n${i}.pinned.example`).join("\n"));
    await expectRejected((c) => {
      c.cache.hostsFile = big;
      c.zones.vnetDNS = c.zones.vnetDNS.filter((z) => z.zone !== "corp.example"); // would unblock, if applied
    }, /does not fit the overlay: more than its 2048 answers/);
  });

  test("a hosts file that is not a regular file", async () => {
    await expectRejected((c) => { c.cache.hostsFile = "/dev/zero"; }, /not a regular file/);
  });

  test("a listener address already in use", async () => {
    const taken = createSocket("udp4");
    await new Promise<void>((r) => taken.bind(0, "127.0.0.1", () => r()));
    try {
      await expectRejected((c) => {
        c.listeners.vnetDNS.push({ host: "127.0.0.1", port: taken.address().port, family: 4 });
        c.zones.vnetDNS = c.zones.vnetDNS.filter((z) => z.zone !== "corp.example");
      }, /in use|EADDRINUSE/i);
    } finally { taken.close(); }
  });
});

test("a reload that fits switches zones, rules and hosts together", async () => {
  expect(await answers()).toEqual(EXPECTED);
  const c = structuredClone(s.app.config);
  c.zones.vnetDNS = c.zones.vnetDNS.filter((z) => z.zone !== "corp.example");
  c.zones.kubeDNS[0].nxdomainRules = [{ suffix: "blocked.corp.example", minLabels: 1 }];
  writeFileSync(join(dir, "hosts2"), "10.70.0.2 pinned.example\n");
  c.cache.hostsFile = join(dir, "hosts2");
  const r = await s.app.reload(c);
  expect(r.ok).toBe(true);
  const now = await answers();
  expect(now[1]).toBe("x.blocked.corp.example NOERROR 10.1.2.3");
  expect(now[2]).toBe("pinned.example NOERROR 10.70.0.2");
  expect(now[5]).toBe("x.blocked.corp.example NXDOMAIN ");
  expect((await shownZones()).vnetDNS).toEqual([".", "cluster.local"]);
});
