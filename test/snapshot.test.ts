// Warm-restart snapshots: round trip, zone remapping, and records from a crafted file re-validated.
import { test, expect, describe } from "bun:test";
import { loadCore, prime, clientQuery, Rng } from "./helpers/core";
import { writeFileSync, readFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { encodeSnapshot, loadSnapshot, restoreFromFile, saveToFile, type SnapshotIO } from "../src/cache/snapshot";
import { bunRuntime } from "../src/runtime/bun";
import { silentLogger, createLogger } from "../src/log";
import { packet } from "./helpers/dns";

const zones = [{ id: 0, set: 0, zone: "." }];
const a = (name: string, ip: string) => [{ name, type: "A", ttl: 300, data: ip }];

function fnv1a(d: Uint8Array, end: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < end; i++) { h ^= d[i]; h = Math.imul(h, 0x01000193); }
  return h >>> 0;
}

test("a snapshot round-trips: entries keep their remaining TTL", async () => {
  const src = await loadCore();
  for (let i = 0; i < 50; i++) prime(src, `n${i}.example.org`, { answers: a(`n${i}.example.org`, `10.0.0.${i}`), now: 1000, stale: 60 });
  const { data, records } = encodeSnapshot(src, zones);
  expect(records).toBe(50);
  const dst = await loadCore();
  const r = loadSnapshot(dst, data, zones, 1100);
  expect(r).toEqual({ restored: 50, skipped: 0 });
  const n = dst.handle(clientQuery("N7.example.org"), 1100, 0, false);
  const ans = packet.decode(Buffer.from(dst.copyOut(n))) as any;
  expect(ans.answers[0]).toMatchObject({ data: "10.0.0.7", ttl: 200 });
  expect(ans.questions[0].name).toBe("N7.example.org");
});

test("records of zones that no longer exist are skipped", async () => {
  const src = await loadCore(4 << 20, [".", "cluster.local"]);
  prime(src, "a.cluster.local", { answers: a("a.cluster.local", "10.1.1.1"), zone: 1 });
  prime(src, "b.example.org", { answers: a("b.example.org", "10.1.1.2"), zone: 0 });
  const { data } = encodeSnapshot(src, [{ id: 0, set: 0, zone: "." }, { id: 1, set: 0, zone: "cluster.local" }]);
  const dst = await loadCore();
  expect(loadSnapshot(dst, data, [{ id: 5, set: 0, zone: "." }], 1000)).toEqual({ restored: 1, skipped: 1 });
});

test("a crafted snapshot (valid checksum, damaged records) never yields a malformed answer", async () => {
  const rng = new Rng(7);
  const src = await loadCore();
  const names = Array.from({ length: 40 }, (_, i) => `c${i}.example.org`);
  names.forEach((nm, i) => prime(src, nm, { answers: a(nm, `10.2.0.${i}`), authorities: [{ name: "example.org", type: "NS", ttl: 300, data: "ns.example.org" }] }));
  const { data } = encodeSnapshot(src, zones);
  let served = 0;
  for (let trial = 0; trial < 200; trial++) {
    const d = data.slice();
    const tableLen = new DataView(d.buffer).getUint32(12);
    const start = 16 + tableLen;
    const pos = start + 4 + rng.range(0, d.length - start - 16);
    d[pos] ^= 1 << rng.range(0, 7);
    new DataView(d.buffer).setUint32(d.length - 4, fnv1a(d, d.length - 4));
    const dst = await loadCore();
    const r = loadSnapshot(dst, d, zones, 1000);
    if ("error" in r) continue;
    for (const nm of names) {
      const n = dst.handle(clientQuery(nm), 1000, 0, false);
      if (n <= 0) continue;
      served++;
      const ans = packet.decode(Buffer.from(dst.copyOut(n))) as any; // throws on a malformed message
      expect(ans.questions[0].name).toBe(nm);
    }
  }
  expect(served).toBeGreaterThan(1000);
});

describe("snapshots stream through a bounded buffer", () => {
  const CHUNK = 256 * 1024;
  const many = async (n: number) => {
    const src = await loadCore(16 << 20);
    for (let i = 0; i < n; i++) prime(src, `s${i}.example.org`, { answers: a(`s${i}.example.org`, `10.3.${i >> 8}.${i & 255}`), now: 1000, stale: 60 });
    return src;
  };

  test("save writes and restore reads at most 256 KiB at a time, and the cache round-trips", async () => {
    const src = await many(20000);
    const dir = mkdtempSync(join(tmpdir(), "ldns-snap-"));
    const path = join(dir, "cache.snapshot");
    const writes: number[] = [];
    const reads: number[] = [];
    const io: SnapshotIO = {
      create: (p) => {
        const w = bunRuntime.createAtomic(p);
        return { ...w, write: (d) => { writes.push(d.length); w.write(d); } };
      },
      open: (p) => {
        const r = bunRuntime.openChunks(p, 1 << 30);
        return { size: r.size, close: r.close, read: (into) => { const n = r.read(into); reads.push(into.length); return n; } };
      },
    };
    saveToFile(src, io, path, zones, silentLogger);
    const size = readFileSync(path).length;
    expect(size).toBeGreaterThan(2 * 1024 * 1024);
    expect(Math.max(...writes)).toBeLessThanOrEqual(CHUNK);
    expect(writes.reduce((x, y) => x + y, 0)).toBe(size);
    const dst = await loadCore(16 << 20);
    expect(restoreFromFile(dst, io, path, zones, 1100, silentLogger)).toBe(20000);
    expect(Math.max(...reads)).toBeLessThanOrEqual(CHUNK);
    expect(dst.stats().entries).toBe(20000);
    expect(dst.peek(clientQuery("s19999.example.org"), 1100, 0)).toBe(200);
    rmSync(dir, { recursive: true, force: true });
  });

  test("read in pieces of 1 to 7 bytes, a snapshot restores the same", async () => {
    const src = await many(300);
    const { data } = encodeSnapshot(src, zones);
    const rng = new Rng(3);
    let p = 0;
    const dst = await loadCore();
    const r = loadSnapshot(dst, (into) => { const n = Math.min(rng.range(1, 7), into.length, data.length - p); into.set(data.subarray(p, p + n)); p += n; return n; }, zones, 1000);
    expect(r).toEqual({ restored: 300, skipped: 0 });
  });

  test("a bad checksum, found only at the end, leaves the cache empty; so do trailing bytes", async () => {
    const src = await many(300);
    const { data } = encodeSnapshot(src, zones);
    const bad = data.slice();
    bad[bad.length - 1] ^= 1;
    const dst = await loadCore();
    expect(loadSnapshot(dst, bad, zones, 1000)).toEqual({ error: "checksum mismatch (corrupt or truncated)" });
    expect(dst.stats().entries).toBe(0);
    const longer = new Uint8Array(data.length + 1);
    longer.set(data);
    expect(loadSnapshot(dst, longer, zones, 1000)).toEqual({ error: "checksum mismatch (corrupt or truncated)" });
    expect(dst.stats().entries).toBe(0);
    expect(loadSnapshot(dst, data.subarray(0, data.length - 10), zones, 1000)).toMatchObject({ error: expect.stringMatching(/truncated/) });
    expect(dst.stats().entries).toBe(0);
  });

  test("a snapshot file that is not a regular file is not read", async () => {
    const dst = await loadCore();
    const logs: any[] = [];
    const io: SnapshotIO = { open: (p) => bunRuntime.openChunks(p, 1 << 20), create: (p) => bunRuntime.createAtomic(p) };
    const log = createLogger((l) => { logs.push(JSON.parse(l)); }, "debug");
    expect(restoreFromFile(dst, io, "/dev/zero", zones, 1000, log)).toBe(0);
    expect(logs.map(({ msg, path, error }) => ({ msg, path, error }))).toEqual([{ msg: "cache snapshot unreadable, starting cold", path: "/dev/zero", error: "not a regular file" }]);
  });
});
