// The hosts overlay: pinned names answered locally ahead of the cache, reloaded when the file changes.
import { test, expect, afterAll, beforeAll } from "bun:test";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeUpstream, type FakeUpstream } from "./helpers/fake-upstream";
import { startInProcess, type Started } from "./helpers/appliance";
import { query, sleep } from "./helpers/dns";

let up: FakeUpstream;
let s: Started;
let dir: string;
let hosts: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ldns-hosts-"));
  hosts = join(dir, "hosts");
  writeFileSync(hosts, "# pinned\n10.50.0.1 api.critical.example  api-alias\n10.50.0.2 api.critical.example\nfd00::50 api.critical.example\n10.50.0.9 v4only.example\nbogus line\n");
  up = await startFakeUpstream("127.0.0.3");
  s = await startInProcess({ upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] }, cache: { snapshotPath: null, hostsFile: hosts } });
});
afterAll(async () => { await s.stop(); await up.stop(); rmSync(dir, { recursive: true, force: true }); });

test("A, AAAA and aliases come from the file, in the client's letter case, never forwarded", async () => {
  const a = await query(s.vnet.host, s.vnet.port, "API.Critical.Example");
  expect(a.answers.map((r: any) => r.data).sort()).toEqual(["10.50.0.1", "10.50.0.2"]);
  expect(a.questions[0].name).toBe("API.Critical.Example");
  const aaaa = await query(s.kube.host, s.kube.port, "api.critical.example", "AAAA");
  expect(aaaa.answers.map((r: any) => r.data)).toEqual(["fd00::50"]);
  expect((await query(s.vnet.host, s.vnet.port, "api-alias")).answers[0].data).toBe("10.50.0.1");
  expect(up.seen.length).toBe(0);
});

test("a family the file lacks is NODATA; PTR answers the canonical name", async () => {
  const none = await query(s.vnet.host, s.vnet.port, "v4only.example", "AAAA");
  expect(none.rcode).toBe("NOERROR");
  expect(none.answers).toHaveLength(0);
  const ptr = await query(s.vnet.host, s.vnet.port, "2.0.50.10.in-addr.arpa", "PTR");
  expect(ptr.answers[0].data).toBe("api.critical.example");
  expect(up.seen.length).toBe(0);
  expect(s.logs.some((l) => l.msg === "hosts file line ignored")).toBe(true);
});

test("a changed file takes effect without a restart", async () => {
  writeFileSync(hosts, "10.60.0.1 api.critical.example\n");
  await sleep(2300);
  const a = await query(s.vnet.host, s.vnet.port, "api.critical.example");
  expect(a.answers.map((r: any) => r.data)).toEqual(["10.60.0.1"]);
  await query(s.vnet.host, s.vnet.port, "v4only.example");
  expect(up.seen.map((q) => q.name)).toEqual(["v4only.example"]); // no longer pinned: forwarded
});
