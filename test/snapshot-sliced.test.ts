// Restoring the snapshot while the cache serves (restoreInSlices): the event loop keeps its turns,
// the whole file is checked before any record goes in, entries learned meanwhile stay, and a
// cancelled restore leaves the file as it was.
import { test, expect, afterEach } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadCore, prime, clientQuery } from "./helpers/core";
import { encodeSnapshot, restoreInSlices, type SnapshotIO } from "../src/cache/snapshot";
import { saveSnapshot } from "../src/appliance/warm-restart";
import { bunRuntime } from "../src/runtime/bun";
import { silentLogger, createLogger } from "../src/log";

const zones = [{ id: 0, set: 0, zone: "." }];
const a = (name: string, ip: string) => [{ name, type: "A", ttl: 300, data: ip }];
const io: SnapshotIO = { open: (p) => bunRuntime.openChunks(p, 1 << 30), create: (p) => bunRuntime.createAtomic(p) };
const dirs: string[] = [];
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }); });

async function snapshotFile(n: number): Promise<string> {
  const src = await loadCore(16 << 20);
  for (let i = 0; i < n; i++) prime(src, `s${i}.example.org`, { answers: a(`s${i}.example.org`, `10.3.${i >> 8}.${i & 255}`), now: 1000, stale: 60 });
  const dir = mkdtempSync(join(tmpdir(), "ldns-sliced-"));
  dirs.push(dir);
  const path = join(dir, "cache.snapshot");
  writeFileSync(path, encodeSnapshot(src, zones).data);
  return path;
}

test("a restore in slices gives the event loop turns and ends with every entry in", async () => {
  const path = await snapshotFile(20000);
  const dst = await loadCore(16 << 20);
  let turns = 0;
  const ticker = setInterval(() => { turns++; }, 0);
  const r = restoreInSlices(dst, io, path, zones, () => 1100, silentLogger, 1);
  expect(r.finished).toBe(false);
  const restored = await r.done;
  clearInterval(ticker);
  expect(restored).toBe(20000);
  expect(r.finished).toBe(true);
  expect(turns).toBeGreaterThan(1); // the timer ran while the restore was under way
  expect(dst.stats().entries).toBe(20000);
  expect(dst.peek(clientQuery("s123.example.org"), 1100, 0)).toBe(200);
});

test("an entry the cache learned while the restore ran is newer and stays", async () => {
  const path = await snapshotFile(300);
  const dst = await loadCore(16 << 20);
  prime(dst, "s7.example.org", { answers: a("s7.example.org", "192.0.2.77"), now: 1090 });
  expect(await restoreInSlices(dst, io, path, zones, () => 1100, silentLogger).done).toBe(299);
  expect(dst.peek(clientQuery("s7.example.org"), 1100, 0)).toBe(290); // the live entry's TTL, not the snapshot's 200
  expect(dst.peek(clientQuery("s8.example.org"), 1100, 0)).toBe(200);
});

test("a damaged file is found out before any record goes in; what the cache holds stays", async () => {
  const path = await snapshotFile(2000);
  const d = readFileSync(path);
  d[d.length - 100] ^= 0x40; // a record byte near the end: only the checksum tells
  writeFileSync(path, d);
  const dst = await loadCore(16 << 20);
  prime(dst, "live.example.org", { answers: a("live.example.org", "192.0.2.1"), now: 1090 });
  const lines: string[] = [];
  const log = createLogger((l) => { lines.push(l); }, "info");
  expect(await restoreInSlices(dst, io, path, zones, () => 1100, log, 1).done).toBe(0);
  expect(dst.stats().entries).toBe(1);
  expect(dst.peek(clientQuery("live.example.org"), 1100, 0)).toBe(290);
  expect(lines.join("\n")).toContain("checksum mismatch");
});

test("stop during a restore: the restore is cancelled and the file is kept as it was", async () => {
  const path = await snapshotFile(20000);
  const before = readFileSync(path);
  const dst = await loadCore(16 << 20);
  const r = restoreInSlices(dst, io, path, zones, () => 1100, silentLogger, 1);
  await new Promise((res) => setTimeout(res, 0));
  await saveSnapshot(bunRuntime, dst, path, zones, silentLogger, r);
  expect(r.finished).toBe(true);
  expect(await r.done).toBe(0);
  expect(dst.stats().entries).toBeLessThan(20000);
  expect(readFileSync(path).equals(before)).toBe(true);
});

test("no snapshot file: nothing to restore, no warning", async () => {
  const dir = mkdtempSync(join(tmpdir(), "ldns-sliced-"));
  dirs.push(dir);
  const lines: string[] = [];
  const log = createLogger((l) => { lines.push(l); }, "info");
  expect(await restoreInSlices(await loadCore(), io, join(dir, "none"), zones, () => 1100, log).done).toBe(0);
  expect(lines).toEqual([]);
});
