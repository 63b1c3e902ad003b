// The binary's life cycle: warm restart from a snapshot, SIGHUP reload, systemd notify protocol.
import { test, expect, beforeAll, afterAll } from "bun:test";
import { spawn } from "node:child_process";
import { writeFileSync, readFileSync, mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startFakeUpstream, type FakeUpstream } from "./helpers/fake-upstream";
import { runBinary, freePort } from "./helpers/binary";
import { query, sleep } from "./helpers/dns";
import { loadCore, prime } from "./helpers/core";
import { encodeSnapshot } from "../src/cache/snapshot";

let a: FakeUpstream;
let b: FakeUpstream;
let dir: string;
beforeAll(async () => {
  a = await startFakeUpstream("127.0.0.3");
  b = await startFakeUpstream("127.0.0.4", (q) => ({ kind: "answer", msg: { type: "response", id: q.id, flags: 0x8180, questions: q.questions, answers: [{ name: q.questions[0].name, type: "A", ttl: 60, data: "10.9.9.9" }] } }));
  dir = mkdtempSync(join(tmpdir(), "ldns-life-"));
});
afterAll(async () => { await a.stop(); await b.stop(); rmSync(dir, { recursive: true, force: true }); });

function config(port: number, upstream: FakeUpstream, extra: Record<string, unknown> = {}) {
  return {
    listeners: { vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${port + 1}`] },
    upstreams: { ClusterCoreDNS: [`${upstream.host}:${upstream.port}`], VnetDNS: [`${upstream.host}:${upstream.port}`] },
    admin: { listen: null },
    ...extra,
  };
}

test("restart with a snapshot: the first query after restart is a hit", async () => {
  const port = freePort();
  const snap = join(dir, "cache.snapshot");
  const cfg = config(port, a, { cache: { snapshotPath: snap } });
  const first = await runBinary(cfg, { probe: { host: "127.0.0.1", port } });
  await query("127.0.0.1", port, "warm.example.org");
  await query("127.0.0.1", port + 1, "warm2.cluster.local");
  expect(await first.stop("SIGTERM")).toBe(0);
  expect(existsSync(snap)).toBe(true);
  const seenBefore = a.seen.length;
  const second = await runBinary(cfg, { probe: { host: "127.0.0.1", port } });
  try {
    const r = await query("127.0.0.1", port, "warm.example.org");
    expect(r.answers[0].data).toBe("10.1.2.3");
    expect(r.answers[0].ttl).toBeLessThanOrEqual(60);
    await query("127.0.0.1", port + 1, "warm2.cluster.local");
    expect(a.seen.length).toBe(seenBefore); // both answered from the restored cache
    for (let i = 0; i < 80 && !second.stdout().includes("cache snapshot restored"); i++) await sleep(25);
    expect(second.stdout()).toContain("cache snapshot restored");
  } finally { await second.stop(); }
});

test("a big snapshot is restored while the listeners serve: the start-up line comes first, then every entry is a hit", async () => {
  const now = Math.floor(Date.now() / 1000);
  const src = await loadCore(32 << 20);
  const N = 60000;
  for (let i = 0; i < N; i++) prime(src, `big${i}.example.org`, { answers: [{ name: `big${i}.example.org`, type: "A", ttl: 3600, data: `10.7.${i >> 8}.${i & 255}` }], now });
  const snap = join(dir, "big.snapshot");
  writeFileSync(snap, encodeSnapshot(src, [{ id: 0, set: 0, zone: "." }]).data);
  const port = freePort();
  const bin = await runBinary(config(port, a, { cache: { snapshotPath: snap } }), { probe: { host: "127.0.0.1", port } });
  try {
    for (let i = 0; i < 200 && !bin.stdout().includes("cache snapshot restored"); i++) await sleep(25);
    const out = bin.stdout();
    const restoredLine = JSON.parse(out.split("\n").find((l) => l.includes("cache snapshot restored"))!);
    expect(restoredLine.entries).toBe(N);
    expect(out.indexOf('"localdns started"')).toBeGreaterThan(-1);
    expect(out.indexOf('"localdns started"')).toBeLessThan(out.indexOf("cache snapshot restored"));
    const seen = a.seen.length;
    const r = await query("127.0.0.1", port, `big${N - 1}.example.org`);
    expect(r.answers[0].data).toBe(`10.7.${(N - 1) >> 8}.${(N - 1) & 255}`);
    expect(a.seen.length).toBe(seen);
  } finally { await bin.stop(); }
}, 30_000);

test("a snapshot directory that does not exist yet is created at start", async () => {
  const port = freePort();
  const snap = join(dir, "not", "there", "cache.snapshot");
  const bin = await runBinary(config(port, a, { cache: { snapshotPath: snap } }), { probe: { host: "127.0.0.1", port } });
  try {
    expect(existsSync(join(dir, "not", "there"))).toBe(true);
    await query("127.0.0.1", port, "dir.example.org");
  } catch (e) { await bin.stop(); throw e; } // a failed expectation must not leave the process running
  expect(await bin.stop("SIGTERM")).toBe(0);
  expect(existsSync(snap)).toBe(true);
});

test("a corrupt snapshot is ignored with a warning: clean start", async () => {
  const port = freePort();
  const snap = join(dir, "corrupt.snapshot");
  const cfg = config(port, a, { cache: { snapshotPath: snap } });
  const writer = await runBinary(cfg, { probe: { host: "127.0.0.1", port } });
  await query("127.0.0.1", port, "soon-corrupt.example.org");
  await writer.stop("SIGTERM");
  const data = readFileSync(snap);
  data[Math.floor(data.length / 2)] ^= 0x5a; // one flipped byte inside a record
  writeFileSync(snap, data);
  const bin = await runBinary(cfg, { probe: { host: "127.0.0.1", port } });
  try {
    expect((await query("127.0.0.1", port, "fresh.example.org")).rcode).toBe("NOERROR");
    // the restore runs once the listeners serve, and Deno writes stdout a moment later
    for (let i = 0; i < 80 && !/cache snapshot ignored/.test(bin.stdout()); i++) await sleep(25);
    expect(bin.stdout()).toMatch(/cache snapshot ignored.*checksum/);
  } finally { await bin.stop(); }
  writeFileSync(snap, "garbage that is not a snapshot");
  const again = await runBinary(cfg, { probe: { host: "127.0.0.1", port } });
  try {
    expect((await query("127.0.0.1", port, "fresh.example.org")).rcode).toBe("NOERROR");
    for (let i = 0; i < 80 && !/cache snapshot ignored/.test(again.stdout()); i++) await sleep(25);
    expect(again.stdout()).toMatch(/cache snapshot ignored/);
  } finally { await again.stop(); }
});

test("SIGHUP with a changed upstream list takes effect; a broken file keeps the old config", async () => {
  const port = freePort();
  const bin = await runBinary(config(port, a, { cache: { snapshotPath: null } }), { probe: { host: "127.0.0.1", port } });
  try {
    expect((await query("127.0.0.1", port, "before.example.org")).answers[0].data).toBe("10.1.2.3");
    // a slow query in flight while we reload must still be answered
    a.behaviour = () => ({ kind: "answer", delayMs: 300 });
    const inflight = query("127.0.0.1", port, "inflight.example.org");
    await sleep(50);
    writeFileSync(bin.configPath, JSON.stringify(config(port, b, { cache: { snapshotPath: null } })));
    bin.proc.kill("SIGHUP");
    await sleep(300);
    expect((await inflight).answers[0].data).toBe("10.1.2.3");
    a.behaviour = () => undefined;
    expect((await query("127.0.0.1", port, "after.example.org")).answers[0].data).toBe("10.9.9.9");
    expect((await query("127.0.0.1", port, "before.example.org")).answers[0].data).toBe("10.1.2.3"); // cache kept
    writeFileSync(bin.configPath, JSON.stringify({ ...config(port, a), mode: "Sometimes" }));
    bin.proc.kill("SIGHUP");
    await sleep(300);
    expect(bin.stdout()).toMatch(/config reload rejected.*mode/);
    expect((await query("127.0.0.1", port, "still.example.org")).answers[0].data).toBe("10.9.9.9");
  } finally { await bin.stop(); }
});

test("systemd notify: READY=1, WATCHDOG=1 while healthy, RELOADING=1 and STOPPING=1", async () => {
  const sock = join(dir, "notify.sock");
  const recv = spawn("python3", ["-c", `
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); s.settimeout(8)
print("LISTENING", flush=True)
try:
    while True: print(repr(s.recv(4096).decode()), flush=True)
except socket.timeout: pass
`, sock]);
  let out = "";
  recv.stdout.on("data", (d) => { out += d; });
  for (let i = 0; i < 50 && !out.includes("LISTENING"); i++) await sleep(50);
  const port = freePort();
  const bin = await runBinary(config(port, a, { cache: { snapshotPath: null } }), { probe: { host: "127.0.0.1", port }, env: { NOTIFY_SOCKET: sock, WATCHDOG_USEC: "400000" } });
  await sleep(700);
  bin.proc.kill("SIGHUP");
  await sleep(300);
  await bin.stop("SIGTERM");
  await sleep(200);
  recv.kill();
  const msgs = out.split("\n").filter((l) => l.startsWith("'"));
  expect(msgs[0]).toMatch(/^'READY=1\\nSTATUS=/);
  expect(msgs.filter((m) => m === "'WATCHDOG=1'").length).toBeGreaterThanOrEqual(2);
  expect(msgs.some((m) => m.startsWith("'RELOADING=1"))).toBe(true);
  expect(msgs.at(-1)).toBe("'STOPPING=1'");
});
