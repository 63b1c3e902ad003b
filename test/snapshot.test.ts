// Warm-restart snapshots: round trip, zone remapping, and records from a crafted file re-validated.
import { test, expect } from "bun:test";
import { loadCore, prime, clientQuery, Rng } from "./helpers/core";
import { encodeSnapshot, loadSnapshot } from "../src/cache/snapshot";
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
