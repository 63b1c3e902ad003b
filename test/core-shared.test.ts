// Several core instances on one shared memory: one cache, zone table, hosts overlay and set of
// counters seen alike by all (the owner from Core.load, others from Core.attach, in this thread or a
// Worker); the bound on instances; and handleBatch giving what handle() gives, slot by slot.
import { describe, test, expect } from "bun:test";
import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import packet from "dns-packet";
import { Core, R, Status, RuleAction, ANY_ZONE, Batch, BatchStatus, MAX_THREADS } from "../src/core";
import { MEMORY_MAX_PAGES } from "../src/core-abi";
import { CACHE_MAX_BYTES } from "../src/config/limits";
import { loadCore, prime, clientQuery, wasmBytes } from "./helpers/core";
import { sharedName, sharedAddress } from "./helpers/core-shared-names";

const a = (name: string, ttl: number, ip = "192.0.2.1") => ({ name, type: "A", ttl, data: ip });
const NOW = 10_000;

describe("two instances on one memory in one thread", () => {
  test("a name stored through one is a hit through the other; a flush through one is a miss on both; counters agree", async () => {
    const owner = await loadCore(4 << 20);
    const other = await Core.attach(owner.share());
    prime(owner, "www.example.com", { now: NOW, answers: [a("www.example.com", 300)] });
    const q = clientQuery("www.example.com");
    const n = other.handle(q, NOW + 10, 0, false);
    expect([n > 0, other.res[R.STATUS], other.res[R.TTL]]).toEqual([true, Status.HIT, 290]);
    const msg: any = packet.decode(Buffer.from(other.copyOut(n)));
    expect(msg.answers.map((r: any) => [r.name, r.data, r.ttl])).toEqual([["www.example.com", "192.0.2.1", 290]]);
    // stored by the second, hit by the first
    prime(other, "two.example", { now: NOW, answers: [a("two.example", 60, "192.0.2.2")] });
    expect(owner.handle(clientQuery("two.example"), NOW, 0, false)).toBeGreaterThan(0);
    expect(owner.res[R.STATUS]).toBe(Status.HIT);
    expect(owner.stats()).toEqual(other.stats());
    expect(owner.stats()).toMatchObject({ entries: 2, hits: 2, misses: 2 });
    expect(other.flushName("www.example.com")).toBe(1);
    expect(owner.handle(q, NOW + 10, 0, false)).toBe(-1);
    expect(owner.res[R.STATUS]).toBe(Status.MISS);
    expect(owner.flushAll()).toBe(1);
    expect(other.handle(clientQuery("two.example"), NOW, 0, false)).toBe(-1);
    expect(owner.stats()).toEqual(other.stats());
    expect(other.stats()).toMatchObject({ entries: 0, hits: 2, misses: 4 });
  });

  test("zones, rules, hosts and knobs set through the owner apply to the other instance", async () => {
    const owner = await loadCore(4 << 20, ["cluster.local"]);
    const other = await Core.attach(owner.share());
    const rcodeOf = (core: Core, name: string, type = "A") => {
      const n = core.handle(clientQuery(name, type), NOW, 0, false);
      return n > 0 ? (packet.decode(Buffer.from(core.copyOut(n))) as any).rcode : `status ${core.res[R.STATUS]}`;
    };
    expect(rcodeOf(other, "www.example.com")).toBe("REFUSED"); // no zone for it
    owner.addZone(0, ".");
    owner.addRule(0, ANY_ZONE, RuleAction.NXDOMAIN, "blocked.example", 0, false);
    expect(rcodeOf(other, "x.blocked.example")).toBe("NXDOMAIN");
    expect(rcodeOf(other, "www.example.com")).toBe(`status ${Status.MISS}`);
    expect(owner.setHosts([{ name: "pinned.example", qtype: 1, rdata: [Uint8Array.of(10, 0, 0, 7)] }], 60)).toBe(true);
    const n = other.handle(clientQuery("pinned.example"), NOW, 0, false);
    expect([other.res[R.STATUS], (packet.decode(Buffer.from(other.copyOut(n))) as any).answers[0].data]).toEqual([Status.HOSTS, "10.0.0.7"]);
    owner.configure(30, 2, 45, 1232);
    const denial = other.handle(clientQuery("y.blocked.example"), NOW, 0, false);
    expect((packet.decode(Buffer.from(other.copyOut(denial))) as any).authorities[0].ttl).toBe(45);
  });
});

describe("the instance bound", () => {
  test(`an owner and ${MAX_THREADS - 1} attached instances fit; one more is refused until one detaches`, async () => {
    const owner = await loadCore(1 << 20);
    await expect(Core.attach({ module: await WebAssembly.compile(wasmBytes()), memory: new WebAssembly.Memory({ initial: 300, maximum: 1280, shared: true }) })).rejects.toThrow("holds no shared core");
    const share = owner.share();
    const attached: Core[] = [];
    for (let i = 1; i < MAX_THREADS; i++) attached.push(await Core.attach(share));
    expect(new Set([owner, ...attached].map((c) => c.IN)).size).toBe(MAX_THREADS); // each its own scratch set
    await expect(Core.attach(share)).rejects.toThrow(`all ${MAX_THREADS} instances`);
    attached.pop()!.detach();
    const again = await Core.attach(share);
    prime(owner, "bound.example", { now: NOW, answers: [a("bound.example", 60)] });
    expect(again.handle(clientQuery("bound.example"), NOW, 0, false)).toBeGreaterThan(0);
    await expect(Core.attach(share)).rejects.toThrow(`all ${MAX_THREADS} instances`);
  });

  test("a cache the memory's maximum cannot hold is refused at load, not half made", async () => {
    await expect(Core.load(wasmBytes(), MEMORY_MAX_PAGES * 65536)).rejects.toThrow("too small or memory could not grow");
    const ok = await Core.load(wasmBytes(), CACHE_MAX_BYTES); // the largest the config allows fits
    expect(ok.stats().entries).toBe(0);
  });

  test("a reserved instance: its batch area is known before it exists, and only it may take the set", async () => {
    const owner = await loadCore(1 << 20);
    const r = owner.reserveInstance();
    const other = await Core.attach(r.share);
    expect([other.BATCH, other.BATCH_META]).toEqual([r.BATCH, r.BATCH_META]);
    expect(r.BATCH).not.toBe(owner.BATCH);
    await expect(Core.attach({ ...r.share, instance: r.index + 1 })).rejects.toThrow("was not reserved");
    other.detach();
    owner.unreserveInstance(r.index);
    for (let i = 1; i < MAX_THREADS; i++) owner.reserveInstance();
    expect(() => owner.reserveInstance()).toThrow(`all ${MAX_THREADS} instances`);
  });

  test("the views cover the whole grown memory, on the owner and on an attached instance", async () => {
    const owner = await loadCore(16 << 20);
    const other = await Core.attach(owner.share());
    expect(owner.mem.byteLength).toBe(owner.x.memory.buffer.byteLength);
    expect(other.mem.byteLength).toBe(owner.mem.byteLength);
    expect(owner.mem.byteLength).toBeGreaterThan(16 << 20);
  });
});

// Two cores filled alike: one answers with handle(), the other with handleBatch().
async function twin(): Promise<Core> {
  const core = await loadCore(4 << 20, [".", "cluster.local"]);
  core.addRule(0, ANY_ZONE, RuleAction.NXDOMAIN, "blocked.example", 0, false);
  core.addRule(0, ANY_ZONE, RuleAction.HEALTH, "health.localdns.local", 0, true);
  core.setHosts([{ name: "pinned.example", qtype: 1, rdata: [Uint8Array.of(10, 0, 0, 7)] }], 60);
  prime(core, "www.example.com", { now: NOW, answers: [a("www.example.com", 300)] });
  prime(core, "www.example.com", { now: NOW, do: true, answers: [a("www.example.com", 300)] });
  prime(core, "svc.ns.svc.cluster.local", { now: NOW, answers: [a("svc.ns.svc.cluster.local", 30, "10.96.0.10")], zone: 1 });
  prime(core, "nx.example", { now: NOW, rcode: 3, authorities: [{ name: "example", type: "SOA", ttl: 60, data: { mname: "ns.example", rname: "h.example", serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 60 } }] });
  prime(core, "stale.example", { now: NOW - 100, stale: 600, answers: [a("stale.example", 30)] });
  prime(core, "soon.example", { now: NOW - 95, answers: [a("soon.example", 100)] });
  return core;
}
const withFlags = (q: Buffer, f: (b: Buffer) => void) => { const b = Buffer.from(q); f(b); return b; };

const MIX: [string, Buffer][] = [
  ["hit, no EDNS", clientQuery("www.example.com")],
  ["hit, EDNS DO, mixed case", clientQuery("WWW.Example.com", "A", { do: true, id: 7 })],
  ["hit in the second zone", clientQuery("svc.ns.svc.cluster.local")],
  ["negative hit", clientQuery("nx.example")],
  ["soon expiring hit (first)", clientQuery("soon.example")],
  ["soon expiring hit (second: refresh due)", clientQuery("soon.example", "A", { id: 9 })],
  ["miss", clientQuery("other.example")],
  ["stale", clientQuery("stale.example")],
  ["FORMERR: two questions", withFlags(clientQuery("www.example.com"), (b) => { b[5] = 2; })],
  ["FORMERR: meta qtype OPT", clientQuery("www.example.com", "OPT")],
  ["NOTIMP: opcode STATUS", withFlags(clientQuery("www.example.com"), (b) => { b[2] |= 2 << 3; })],
  ["NOTIMP: AXFR", clientQuery("example.com", "AXFR")],
  ["REFUSED: class CH", withFlags(clientQuery("www.example.com"), (b) => { b[b.length - 1] = 3; })],
  ["blocked", clientQuery("ads.blocked.example", "AAAA")],
  ["localhost", clientQuery("localhost")],
  ["hosts", clientQuery("pinned.example")],
  ["health", clientQuery("health.localdns.local")],
  ["truncated header", clientQuery("www.example.com").subarray(0, 11)],
  ["truncated question", clientQuery("www.example.com").subarray(0, 20)],
  ["a response, not a query", withFlags(clientQuery("www.example.com"), (b) => { b[2] |= 0x80; })],
];
const EXPECT: Record<number, number> = {
  [Status.ERROR]: BatchStatus.ERROR, [Status.BLOCKED]: BatchStatus.BLOCKED, [Status.HOSTS]: BatchStatus.HOSTS,
  [Status.LOCAL]: BatchStatus.LOCAL, [Status.DROP]: BatchStatus.DROP, [Status.MISS]: BatchStatus.MISS,
  [Status.STALE]: BatchStatus.STALE, [Status.HEALTH]: BatchStatus.HEALTH,
};
const hitStatus = (negative: boolean, refresh: boolean) =>
  negative ? (refresh ? BatchStatus.HIT_NEGATIVE_REFRESH : BatchStatus.HIT_NEGATIVE) : refresh ? BatchStatus.HIT_REFRESH : BatchStatus.HIT;

describe("handleBatch", () => {
  test("gives, slot by slot, what handle() gives for a mix of queries; answers in place, the rest left as they came", async () => {
    const single = await twin();
    const batched = await twin();
    const now = NOW + 1;
    const expected = MIX.map(([label, q]) => {
      const n = single.handle(q, now, 0, false);
      const r = single.res;
      const status = r[R.STATUS];
      return {
        label, out: n > 0 ? [...single.copyOut(n)] : [],
        status: status === Status.HIT ? hitStatus(r[R.NEGATIVE] === 1, r[R.PREFETCH] === 1) : EXPECT[status],
        zone: r[R.ZONE] & 255, qtype: r[R.QTYPE], rcode: n > 0 ? single.copyOut(n)[3] & 15 : 0,
        query: n > 0 ? [] : [...q],
      };
    });
    MIX.forEach(([, q], i) => batched.putBatchQuery(i, q));
    const answered = batched.handleBatch(MIX.length, now, 0);
    const got = MIX.map(([label, q], i) => {
      const out = batched.batchAnswerLength(i);
      const info = batched.batchInfo[i];
      return {
        label, out: out > 0 ? [...batched.batchSlot(i, out)] : [],
        status: info >>> Batch.STATUS_SHIFT, zone: (info >>> Batch.ZONE_SHIFT) & 255, qtype: info & 0xffff,
        rcode: (info >>> Batch.RCODE_SHIFT) & 15, query: out > 0 ? [] : [...batched.batchSlot(i, q.length)],
      };
    });
    expect(got).toEqual(expected);
    expect(answered).toBe(expected.filter((e) => e.out.length > 0).length);
    // the statuses this mix is meant to cover, each at least once
    expect(new Set(got.map((g) => g.status))).toEqual(new Set([1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12]));
    // hits count, misses are left to the handle() that the slow path runs
    expect(batched.stats().hits).toBe(single.stats().hits);
    expect(batched.stats().misses).toBe(single.stats().misses - 1);
  });

  test("a refresh due after a batch hit: recall() sets the key and zone up as handle() would", async () => {
    const single = await twin();
    const batched = await twin();
    const q = clientQuery("soon.example");
    for (let k = 0; k < 2; k++) single.handle(q, NOW + 1, 0, false);
    expect(single.res[R.PREFETCH]).toBe(1);
    const key = single.keyString();
    const upstream = [...single.upstreamQuery(0x1111, 0)];
    batched.putBatchQuery(0, q);
    batched.putBatchQuery(1, q);
    expect(batched.handleBatch(2, NOW + 1, 0)).toBe(2);
    expect(batched.batchInfo[1] >>> Batch.STATUS_SHIFT).toBe(BatchStatus.HIT_REFRESH);
    expect(batched.recall(q, 0)).toBe(0);
    expect(batched.keyString()).toBe(key);
    expect([...batched.upstreamQuery(0x1111, 0)]).toEqual(upstream);
    expect(batched.recall(q.subarray(0, 11), 0)).toBe(-1);
  });

  test("a query longer than a slot is left alone; logged zones and listener sets are left to handle()", async () => {
    const core = await twin();
    const meta = (i: number, field: number) => (i * Batch.META_RECORD + field) >> 2;
    core.batchMeta[meta(0, Batch.META_IN_LEN)] = Batch.SLOT + 1;
    core.batchMeta[meta(1, Batch.META_IN_LEN)] = -1;
    const truncated = clientQuery("www.example.com");
    core.putBatchQuery(5, truncated, Batch.TRUNCATED); // the loop saw MSG_TRUNC
    const q = clientQuery("www.example.com");
    const formerr = withFlags(q, (b) => { b[5] = 2; });
    core.setLoggedQueries([0], []);
    core.putBatchQuery(2, q);
    core.putBatchQuery(3, formerr);
    const svc = clientQuery("svc.ns.svc.cluster.local");
    core.putBatchQuery(4, svc);
    expect(core.handleBatch(6, NOW, 0)).toBe(2);
    const status = (i: number) => core.batchInfo[i] >>> Batch.STATUS_SHIFT;
    expect([0, 1, 2, 3, 4, 5].map(status)).toEqual([BatchStatus.TOO_BIG, BatchStatus.TOO_BIG, BatchStatus.DEFER, BatchStatus.ERROR, BatchStatus.HIT, BatchStatus.TOO_BIG]);
    expect([0, 1, 2, 5].map((i) => core.batchAnswerLength(i))).toEqual([0, 0, 0, 0]);
    expect(core.batchMeta[meta(5, Batch.META_FLAGS)]).toBe(Batch.TRUNCATED); // the caller's fields stay
    expect(Buffer.from(core.batchSlot(2, q.length)).equals(q)).toBe(true);
    core.setLoggedQueries([], [0]);
    core.putBatchQuery(0, formerr);
    core.putBatchQuery(1, q);
    expect(core.handleBatch(2, NOW, 0)).toBe(1);
    expect([status(0), status(1)]).toEqual([BatchStatus.DEFER, BatchStatus.HIT]);
    core.setLoggedQueries([], []);
    core.putBatchQuery(0, formerr);
    expect(core.handleBatch(1, NOW, 0)).toBe(1);
    expect(status(0)).toBe(BatchStatus.ERROR);
    expect(core.handleBatch(Batch.MAX + 5, NOW, 0)).toBeLessThanOrEqual(Batch.MAX); // bounded to the area
  });
});

describe("a Worker serving from the cache the main thread fills", () => {
  test("concurrent stores and evictions on the main thread while the Worker runs handleBatch: every answer is right, the cache stays consistent", async () => {
    const NAMES = 20_000;
    const owner = await loadCore(1 << 20); // small: the main thread evicts all the time
    const share = owner.share();
    let mainHits = 0;
    const store = (i: number) => {
      const q = clientQuery(sharedName(i), "A", { id: i & 0xffff });
      if (owner.handle(q, NOW, 0, false) !== -1) { mainHits++; return false; }
      const sent = owner.upstreamQuery(0x4000, 0);
      const reply = packet.encode({ type: "response", id: 0x4000, flags: 0x0180, questions: [{ name: sharedName(i), type: "A", class: "IN" }], answers: [a(sharedName(i), 3600, sharedAddress(i))] } as any);
      return owner.prepare(reply, sent, false, 86400, 30) === 0 && owner.storePrepared(sent.length, NOW, 0, 0, 0);
    };
    for (let i = 0; i < 3000; i++) store(i);
    expect(mainHits).toBe(0);
    const worker = new Worker(new URL("./helpers/core-shared-worker.ts", import.meta.url).href);
    const result = new Promise<any>((resolve, reject) => { worker.onmessage = (e) => resolve(e.data); worker.onerror = (e) => reject(e); });
    worker.postMessage({ share, names: NAMES, durationMs: 1500, now: NOW });
    let stored = 0, flushed = 0, done = false;
    result.then(() => { done = true; }, () => { done = true; });
    for (let k = 0; !done; k++) {
      if (store((k * 7919) % NAMES)) stored++;
      if (k % 1000 === 999) flushed += owner.flushName(sharedName(((k - 1) * 7919) % NAMES)); // just stored or hit
      if (k % 200 === 0) await Bun.sleep(0);
    }
    const r = await result;
    worker.terminate();
    expect(r.problems).toEqual([]);
    expect(r.other).toBe(0);
    expect(r.answered).toBeGreaterThan(0);
    expect(r.missed).toBeGreaterThan(0);
    expect(stored).toBeGreaterThan(1000);
    const s = owner.stats();
    let walked = 0;
    owner.forEachRecord(() => { walked++; });
    expect(walked).toBe(s.entries);
    expect(s.evictions).toBeGreaterThan(0);
    expect(s.hits).toBe(r.answered + mainHits); // every hit counted once, by whoever answered it
    expect(flushed).toBeGreaterThan(0);
    // after the storm every cached name still answers right, through a further instance
    const other = await Core.attach(share);
    let hits = 0;
    for (let i = 0; i < NAMES; i += 7) {
      const n = other.handle(clientQuery(sharedName(i)), NOW, 0, false);
      if (n > 0) { hits++; expect((packet.decode(Buffer.from(other.copyOut(n))) as any).answers[0].data).toBe(sharedAddress(i)); }
    }
    expect(hits).toBeGreaterThan(0);
  }, 30_000);
});

const DENO = new URL("../node_modules/.bin/deno", import.meta.url).pathname;
describe("on Deno", () => {
  test.skipIf(!existsSync(DENO))("a Worker attaches to the shared memory and batch-answers from the owner's cache", () => {
    const r = spawnSync(DENO, ["run", "--no-check", "--unstable-sloppy-imports", "--node-modules-dir=manual", "--no-lock", "--allow-read", "test/helpers/deno-core-shared.ts"], {
      cwd: new URL("..", import.meta.url).pathname, encoding: "utf8", timeout: 60_000,
    });
    expect(r.status).toBe(0);
    const line = r.stdout.trim().split("\n").at(-1)!;
    expect(JSON.parse(line)).toEqual({ answered: 4, status: BatchStatus.HIT, tail: [10, 1, 2, 3], mainStats: { entries: 1, negativeEntries: 0, bytes: expect.any(Number), evictions: 0, hits: 4, misses: 1 } });
  }, 60_000);
});
