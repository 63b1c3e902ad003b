// `localdns status` against the real binary: the summary of a running instance from its admin API
// (human and --json), an unreachable admin address, and a listener that never answers or answers
// too much (bounded by a timeout and a size cap).
import { test, expect, describe, beforeAll, afterAll } from "bun:test";
import { spawn } from "node:child_process";
import * as net from "node:net";
import { BINARY, freePort, runBinary, type RunningBinary } from "./helpers/binary";
import { startFakeUpstream, type FakeUpstream } from "./helpers/fake-upstream";
import { query } from "./helpers/dns";
import { STATUS_MAX_BODY_BYTES, STATUS_TIMEOUT_MS } from "../src/status";

function status(args: string[]): Promise<{ code: number | null; out: string; err: string; ms: number }> {
  const t0 = performance.now();
  const p = spawn(BINARY, ["status", ...args], { env: { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  p.stdout!.on("data", (d) => { out += d; });
  p.stderr!.on("data", (d) => { err += d; });
  return new Promise((resolve) => p.once("exit", (code) => resolve({ code, out, err, ms: performance.now() - t0 })));
}

describe("a running localdns", () => {
  let up: FakeUpstream;
  let cluster: FakeUpstream;
  let app: RunningBinary;
  let port: number;
  let adminPort: number;
  beforeAll(async () => {
    up = await startFakeUpstream("127.0.0.3");
    cluster = await startFakeUpstream("127.0.0.4");
    port = freePort();
    adminPort = freePort();
    app = await runBinary({
      listeners: { vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${port + 1}`] },
      upstreams: { VnetDNS: [`127.0.0.3:${up.port}`], ClusterCoreDNS: [`127.0.0.4:${cluster.port}`] },
      admin: { listen: `127.0.0.1:${adminPort}` },
      cache: { snapshotPath: null },
    }, { probe: { host: "127.0.0.1", port } });
    // 3 names asked twice each: 3 misses then 3 hits
    for (const round of [1, 2]) for (const n of ["a", "b", "c"]) await query("127.0.0.1", port, `${n}.status.example`, "A");
  });
  afterAll(async () => { await app?.stop(); await up?.stop(); await cluster?.stop(); });

  test("--json: listeners, upstreams and their health, cache, queries, reloads", async () => {
    const r = await status(["--admin", `127.0.0.1:${adminPort}`, "--json", "--window", "1"]);
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    const to = `127.0.0.3:${up.port}`;
    const toCluster = `127.0.0.4:${cluster.port}`;
    expect(s).toMatchObject({
      admin: `127.0.0.1:${adminPort}`, ready: true, notReadyReasons: [], mode: "Preferred",
      listeners: { vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${port + 1}`] },
      upstreams: [
        { destination: "ClusterCoreDNS", to: toCluster, up: true, queries: 0, failures: 0 },
        { destination: "VnetDNS", to, up: true, queries: 3, failures: 0 },
      ],
      cache: { entries: 3, maxBytes: 32 * 1024 * 1024, hits: 3, misses: 3, hitRatio: 0.5 },
      reloads: { ok: 0, failed: 0, last: null },
    });
    expect(s.lastMinute.seconds).toBeGreaterThanOrEqual(1);
    expect(s.lastMinute.perSecond).toBeGreaterThan(0); // the queries above, within the first minute
    expect(s.uptimeSeconds).toBeGreaterThanOrEqual(1);
    expect(s.queriesTotal).toBeGreaterThanOrEqual(6); // and the readiness probe's health-check queries
    expect(s.queriesPerSecond).toBeGreaterThanOrEqual(0);
    expect(s.windowSeconds).toBeGreaterThanOrEqual(1);
    expect(s.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("the human summary, one line per item", async () => {
    const r = await status([`--admin=127.0.0.1:${adminPort}`, "--window", "0"]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^localdns \\d+\\.\\d+\\.\\d+ \\((bun|deno) [^)]+\\) at 127\\.0\\.0\\.1:${adminPort}: ready$`));
    const to = `127.0.0.3:${up.port}`;
    const toCluster = `127.0.0.4:${cluster.port}`;
    const w = Math.max(to.length, toCluster.length); // the address column is as wide as the longest
    expect(lines.slice(1, 5)).toEqual([
      "mode        Preferred",
      `listeners   vnetDNS 127.0.0.1:${port}; kubeDNS 127.0.0.1:${port + 1}`,
      `upstreams   ClusterCoreDNS  ${toCluster.padEnd(w)}  up    0 queries, 0 failures`,
      `            VnetDNS         ${to.padEnd(w)}  up    3 queries, 0 failures`,
    ]);
    expect(lines[5]).toMatch(/^cache       3 entries, \d+\.\d MiB of 32\.0 MiB, hit ratio 50\.0% \(3 hits, 3 misses\)$/);
    expect(lines[6]).toMatch(/^queries     \d+\.\d\/s over the last (\d+ s|minute) \(\d+ since start\)$/);
    expect(lines[7]).toBe("reloads     0 ok, 0 failed");
    expect(lines).toHaveLength(8);
  });
});

test("no localdns at the address: exit 1 and a message that names it", async () => {
  const p = freePort();
  const r = await status(["--admin", `127.0.0.1:${p}`]);
  expect(r.code).toBe(1);
  expect(r.out).toBe("");
  expect(r.err).toBe(`localdns status: cannot read the admin API at 127.0.0.1:${p}: connection refused\n(is localdns running, and is admin.listen 127.0.0.1:${p}? --admin ADDR names another)\n`);
});

test("bad flags are usage errors", async () => {
  for (const [args, message] of [
    [["--admin", "nowhere"], "--admin: expected an IP address"],
    [["--window", "61"], "--window: expected 0 to 60 seconds, got 61"],
    [["--frob"], "unknown flag for status: --frob"],
  ] as const) {
    const r = await status([...args]);
    expect(r.code).toBe(2);
    expect(r.err).toContain(message);
    expect(r.err).toContain("Usage: localdns status");
  }
});

describe("a listener that is not a well-behaved localdns", () => {
  test(`one that accepts and never answers: given up after ${STATUS_TIMEOUT_MS} ms`, async () => {
    const held: net.Socket[] = [];
    const server = net.createServer((s) => { held.push(s); });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const p = (server.address() as net.AddressInfo).port;
    try {
      const r = await status(["--admin", `127.0.0.1:${p}`]);
      expect(r.code).toBe(1);
      expect(r.err).toStartWith(`localdns status: cannot read the admin API at 127.0.0.1:${p}: no answer within ${STATUS_TIMEOUT_MS} ms\n`);
      expect(r.ms).toBeLessThan(STATUS_TIMEOUT_MS + 5000);
    } finally { for (const s of held) s.destroy(); server.close(); }
  }, 15000);

  test(`one that answers without end: cut off at ${STATUS_MAX_BODY_BYTES} bytes`, async () => {
    const chunk = Buffer.alloc(64 * 1024, "x");
    const server = net.createServer((s) => {
      s.once("data", () => {
        s.write("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n");
        const pump = () => { while (!s.destroyed && s.write(chunk)); };
        s.on("drain", pump);
        s.on("error", () => {});
        pump();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const p = (server.address() as net.AddressInfo).port;
    try {
      const r = await status(["--admin", `127.0.0.1:${p}`]);
      expect(r.code).toBe(1);
      expect(r.err).toStartWith(`localdns status: cannot read the admin API at 127.0.0.1:${p}: /health: the answer is larger than ${STATUS_MAX_BODY_BYTES} bytes\n`);
    } finally { server.close(); }
  }, 15000);
});
