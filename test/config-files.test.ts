// The binary (Bun or Deno build) against operator mistakes: files that are not regular files or are
// too large are errors in `validate` and `run`, never read until memory runs out; a config over the
// core's limits is refused by validate and by both kinds of reload while the old one keeps serving;
// a second instance cannot share the admin port.
import { test, expect, beforeAll, afterAll, describe } from "bun:test";
import { spawnSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, runBinary, freePort } from "./helpers/binary";
import { startFakeUpstream, type FakeUpstream } from "./helpers/fake-upstream";
import { query, sleep } from "./helpers/dns";

let dir: string;
let fifo: string;
let up: FakeUpstream;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ldns-files-"));
  fifo = join(dir, "fifo");
  expect(spawnSync("mkfifo", [fifo]).status).toBe(0);
  up = await startFakeUpstream("127.0.0.3");
});
afterAll(async () => { await up.stop(); rmSync(dir, { recursive: true, force: true }); });

const write = (name: string, json: unknown) => { const p = join(dir, name); writeFileSync(p, JSON.stringify(json)); return p; };
// --check-upstreams: validate reads the files a config names (resolv.conf, hosts) only when asked
const validate = (path: string) => {
  const r = spawnSync(BINARY, ["validate", "--config", path, "--check-upstreams"], { env: { PATH: "/usr/bin:/bin" }, timeout: 10000 });
  return { status: r.status, err: r.stderr.toString() };
};
const upstreams = () => ({ ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] });

describe("files that must not be read", () => {
  test("validate: the config itself as /dev/zero or a FIFO", () => {
    expect(validate("/dev/zero")).toEqual({ status: 1, err: "/dev/zero: /dev/zero: cannot read: not a regular file\n" });
    expect(validate(fifo)).toEqual({ status: 1, err: `${fifo}: ${fifo}: cannot read: not a regular file\n` });
  });

  test("validate: resolv.conf or the hosts file as /dev/zero, a FIFO or too large", () => {
    const big = join(dir, "big");
    writeFileSync(big, "#".repeat((1 << 20) + 1));
    const cases: [unknown, string][] = [
      [{ upstreams: { VnetDNS: "/dev/zero" } }, "upstreams.VnetDNS: /dev/zero: not a regular file"],
      [{ upstreams: { VnetDNS: ["127.0.0.9"], ClusterCoreDNS: fifo } }, `upstreams.ClusterCoreDNS: ${fifo}: not a regular file`],
      [{ upstreams: { VnetDNS: big } }, `upstreams.VnetDNS: ${big}: ${(1 << 20) + 1} bytes, more than the 65536 read at most`],
      [{ upstreams: { VnetDNS: ["127.0.0.9"] }, cache: { hostsFile: "/dev/zero" } }, "cache.hostsFile: /dev/zero: not a regular file"],
      [{ upstreams: { VnetDNS: ["127.0.0.9"] }, cache: { hostsFile: fifo } }, `cache.hostsFile: ${fifo}: not a regular file`],
      [{ upstreams: { VnetDNS: ["127.0.0.9"] }, cache: { hostsFile: big } }, `cache.hostsFile: ${big}: ${(1 << 20) + 1} bytes, more than the 1048576 read at most`],
    ];
    for (const [json, problem] of cases) {
      const p = write("c.json", json);
      expect(validate(p)).toEqual({ status: 1, err: `${p}: ${problem}\n` });
    }
  });

  test("run: a FIFO as resolv.conf is a config error at once", () => {
    const p = write("run.json", { listeners: { vnetDNS: ["127.0.0.1:0"], kubeDNS: ["127.0.0.1:0"] }, upstreams: { VnetDNS: fifo }, admin: { listen: null } });
    const r = spawnSync(BINARY, ["run", "--config", p], { env: { PATH: "/usr/bin:/bin" }, timeout: 10000 });
    expect(r.status).toBe(1);
    expect(r.stdout.toString()).toContain(`"problem":"upstreams.VnetDNS: ${fifo}: not a regular file"`);
  });
});

test("validate refuses more zones than the core holds", () => {
  const zones = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`z${i}.example`, {}]));
  const p = write("zones.json", { upstreams: { VnetDNS: ["127.0.0.9"] }, vnetDNSOverrides: zones });
  expect(validate(p)).toEqual({ status: 1, err: `${p}: vnetDNSOverrides, kubeDNSOverrides: 74 zones over both listener sets (the "." and cluster.local of each included); at most 64 fit\n` });
});

test("POST /reload and SIGHUP with a file over the limits: rejected, the old config keeps serving", async () => {
  const port = freePort();
  const admin = freePort();
  const good = { listeners: { vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${port + 1}`] }, upstreams: upstreams(), admin: { listen: `127.0.0.1:${admin}` }, cache: { snapshotPath: null } };
  const bin = await runBinary(good, { probe: { host: "127.0.0.1", port } });
  try {
    const ask = async () => [
      (await query("127.0.0.1", port, "x.reddog.microsoft.com")).rcode, (await query("127.0.0.1", port, "www.example.org")).answers[0].data,
      (await query("127.0.0.1", port + 1, "svc.cluster.local")).answers[0].data, (await query("127.0.0.1", port + 1, "x.reddog.microsoft.com")).rcode,
    ];
    const before = await ask();
    expect(before).toEqual(["NXDOMAIN", "10.1.2.3", "10.1.2.3", "NXDOMAIN"]);
    writeFileSync(bin.configPath, JSON.stringify({ ...good, kubeDNSOverrides: { ".": { nxdomainRules: Array.from({ length: 5000 }, (_, i) => ({ suffix: `b${i}.example` })) } } }));
    const r = await fetch(`http://127.0.0.1:${admin}/reload`, { method: "POST" });
    expect(r.status).toBe(400);
    expect((await r.json()).errors).toEqual(["nxdomainRules: 5002 rules over all zones (the default ones of \".\" included); at most 126 fit"]);
    expect(await ask()).toEqual(before);
    bin.proc.kill("SIGHUP");
    const rejections = () => bin.stdout().match(/config reload rejected/g)?.length ?? 0;
    for (let i = 0; i < 100 && rejections() < 2; i++) await sleep(50);
    expect(rejections()).toBe(2);
    expect(await ask()).toEqual(before);
    const metrics = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    expect(metrics).toContain('localdns_config_reloads_total{result="failure"} 2');
  } finally { await bin.stop(); }
});

test("a second instance cannot share the admin port: it exits naming the admin listener", async () => {
  const admin = freePort();
  const cfg = (port: number) => ({ listeners: { vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${port + 1}`] }, upstreams: upstreams(), admin: { listen: `127.0.0.1:${admin}` }, cache: { snapshotPath: null } });
  const p1 = freePort();
  const first = await runBinary(cfg(p1), { probe: { host: "127.0.0.1", port: p1 } });
  try {
    const p2 = freePort();
    const second = spawn(BINARY, ["run", "--config", write("second.json", cfg(p2))], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    second.stdout!.on("data", (d) => { out += d; });
    const code = await new Promise<number | null>((res) => {
      const t = setTimeout(() => { second.kill("SIGKILL"); res(null); }, 10000);
      second.once("exit", (c) => { clearTimeout(t); res(c); });
    });
    expect(code).toBe(1);
    expect(out).toContain(`"msg":"start failed","error":"admin.listen 127.0.0.1:${admin}: cannot listen: address already in use (is another localdns running?)"`);
    for (let i = 0; i < 20; i++) expect((await fetch(`http://127.0.0.1:${admin}/health`)).status).toBe(200);
  } finally { await first.stop(); }
});
