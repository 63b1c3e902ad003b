// The cache in linear memory, with the clock passed in: TTL countdown, expiry, the stale window,
// eviction under a tiny byte budget (CLOCK second chance), flushes, 0x20 case, DO/CD separation,
// truncation, negative caching (RFC 2308) and TTL caps.
import { describe, test, expect, beforeAll, beforeEach } from "bun:test";
import packet from "dns-packet";
import { Core, R, Status, Prepared } from "../src/core";
import { loadCore, prime, clientQuery } from "./helpers/core";
import { recordEnds } from "./helpers/wire";

let core: Core;
beforeAll(async () => { core = await loadCore(4 << 20); });
beforeEach(() => { core.flushAll(); core.configure(30, 2, 30, 1232); });

const T0 = 50_000;
const a = (name: string, ttl: number, ip = "192.0.2.1") => ({ name, type: "A", ttl, data: ip });
const soa = (zone: string, ttl: number, minimum: number) => ({
  name: zone, type: "SOA", ttl,
  data: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum },
});
const decode = (n: number): any => packet.decode(Buffer.from(core.copyOut(n)));
/** handle() the query at `now`; returns the status and, for answers, the decoded message. */
function ask(q: Buffer, now: number, o: { set?: number; tcp?: boolean } = {}) {
  const n = core.handle(q, now, o.set ?? 0, o.tcp ?? false);
  const status = core.res[R.STATUS];
  const len = n > 0 ? n : status === Status.STALE ? core.res[R.OUT_LEN] : 0;
  return { status, n: len, msg: len > 0 ? decode(len) : null };
}
const ttls = (m: any) => [...m.answers, ...m.authorities].map((rr: any) => rr.ttl);

describe("TTLs and expiry follow the injected clock", () => {
  test("each hit shows the TTL left; the entry is a miss once the TTL has run out", () => {
    prime(core, "www.example.com", { now: T0, answers: [a("www.example.com", 300), a("www.example.com", 600, "192.0.2.2")] });
    const q = clientQuery("www.example.com");
    for (const [dt, left] of [[0, 300], [1, 299], [120, 180], [299, 1]]) {
      const r = ask(q, T0 + dt);
      expect({ dt, status: r.status, ttl: core.res[R.TTL], records: ttls(r.msg) }).toEqual({ dt, status: Status.HIT, ttl: left, records: [left, 600 - dt] });
    }
    expect(ask(q, T0 + 300).status).toBe(Status.MISS);
    expect(core.stats().entries).toBe(0); // the expired entry went at that lookup
  });

  test("a clock that goes backwards serves the stored TTL rather than a larger one", () => {
    prime(core, "back.example.com", { now: T0, answers: [a("back.example.com", 100)] });
    expect(ttls(ask(clientQuery("back.example.com"), T0 - 50).msg)).toEqual([100]);
  });
});

describe("serve-stale window", () => {
  test("inside the window: STALE with the stale TTL, after it: MISS", () => {
    prime(core, "stale.example.com", { now: T0, stale: 3600, answers: [a("stale.example.com", 60), a("stale.example.com", 20, "192.0.2.9")] });
    const q = clientQuery("stale.example.com", "A", { id: 0x7777 });
    expect(ask(q, T0 + 19).status).toBe(Status.HIT);
    for (const dt of [20, 21, 20 + 3599]) {
      const r = ask(q, T0 + dt);
      expect({ dt, status: r.status, id: r.msg.id, ttls: ttls(r.msg) }).toEqual({ dt, status: Status.STALE, id: 0x7777, ttls: [30, 20] }); // min(stored TTL, stale TTL 30)
    }
    expect(ask(q, T0 + 20 + 3600).status).toBe(Status.MISS);
  });

  test("without a window an expired entry is a plain miss", () => {
    prime(core, "nostale.example.com", { now: T0, answers: [a("nostale.example.com", 60)] });
    expect(ask(clientQuery("nostale.example.com"), T0 + 60).status).toBe(Status.MISS);
  });
});

describe("eviction under a 1 MiB budget", () => {
  const BUDGET = 1 << 20;
  const present = (c: Core, name: string, type: string, now: number) => c.peek(clientQuery(name, type), now, 0) >= 0;

  // hot and cold entries are written interleaved (same age); only the hot ones are hit. Then a flood
  // of new names runs until every cold entry is gone: the hot ones must all still be there.
  async function secondChance(type: string, rdata: (name: string) => any[]) {
    const c = await loadCore(BUDGET);
    const hot: string[] = [], cold: string[] = [];
    for (let i = 0; i < 50; i++) {
      for (const [list, name] of [[hot, `hot-${i}.example.com`], [cold, `cold-${i}.example.com`]] as const) {
        prime(c, name, { type, now: T0, answers: rdata(name) });
        list.push(name);
      }
    }
    for (const h of hot) { c.handle(clientQuery(h, type), T0 + 1, 0, false); expect(c.res[R.STATUS]).toBe(Status.HIT); }
    let flood = 0, maxBytes = 0;
    while (cold.some((n) => present(c, n, type, T0 + 2))) {
      const name = `flood-${flood++}.example.com`;
      prime(c, name, { type, now: T0 + 2, answers: rdata(name) });
      maxBytes = Math.max(maxBytes, c.stats().bytes);
      if (flood > 100_000) throw new Error("cold entries never evicted");
    }
    const hotLeft = hot.filter((n) => present(c, n, type, T0 + 2));
    // the records that were moved to the head still answer with their own data
    for (const h of hotLeft) expect((packet.decode(Buffer.from(c.copyOut(c.handle(clientQuery(h, type), T0 + 2, 0, true)))) as any).answers[0].name).toBe(h);
    const entries = c.stats().entries;
    expect(c.flushZone(".")).toBe(entries); // the table and the ring agree on what is live
    return { hotLeft: hotLeft.length, flood, maxBytes };
  }

  test("a flood of distinct names never takes the cache over budget and evicts the oldest", async () => {
    const c = await loadCore(BUDGET);
    let maxBytes = 0;
    for (let i = 0; i < 20_000; i++) {
      const name = `n${i}.flood.example.com`;
      prime(c, name, { now: T0, answers: [a(name, 3600)] });
      maxBytes = Math.max(maxBytes, c.stats().bytes);
    }
    const s = c.stats();
    expect(maxBytes).toBeLessThanOrEqual(BUDGET);
    expect(s.evictions).toBeGreaterThan(10_000);
    expect(s.entries).toBe(20_000 - s.evictions);
    expect(present(c, "n19999.flood.example.com", "A", T0 + 1)).toBe(true);
    expect(present(c, "n0.flood.example.com", "A", T0 + 1)).toBe(false);
  });

  test("entries hit since they were written survive the sweep that evicts their peers (large answers: the byte budget binds)", async () => {
    const r = await secondChance("TXT", (n) => [{ name: n, type: "TXT", ttl: 3600, data: [Buffer.alloc(250, 120), Buffer.alloc(250, 121)] }]);
    expect(r.maxBytes).toBeLessThanOrEqual(BUDGET);
    expect(r.hotLeft).toBe(50);
  });

  test("entries hit since they were written survive the sweep that evicts their peers (small A answers: the entry count binds)", async () => {
    const r = await secondChance("A", (n) => [a(n, 3600)]);
    expect(r.maxBytes).toBeLessThanOrEqual(BUDGET);
    expect(r.hotLeft).toBe(50);
  });
});

describe("flushes", () => {
  test("by zone: the name and everything under it, on label boundaries only, optionally one listener set", () => {
    const names = ["example.com", "www.example.com", "a.b.example.com", "notexample.com", "example.org"];
    for (const n of names) for (const set of [0, 1]) prime(core, n, { set, answers: [a(n, 300)] });
    expect(core.flushZone("Example.COM", 1)).toBe(3);
    expect(core.flushZone("example.com")).toBe(3);
    const left = names.filter((n) => core.peek(clientQuery(n), 1000, 0) >= 0 || core.peek(clientQuery(n), 1000, 1) >= 0);
    expect(left).toEqual(["notexample.com", "example.org"]);
    expect(core.stats().entries).toBe(4);
  });

  test("by zone index: what a removed zone had cached goes", () => {
    prime(core, "x.example.com", { zone: 3, answers: [a("x.example.com", 300)] });
    prime(core, "y.example.com", { zone: 4, answers: [a("y.example.com", 300)] });
    expect(core.flushZoneIndex(3)).toBe(1);
    expect(core.peek(clientQuery("y.example.com"), 1000, 0)).toBe(300);
  });

  test("by name and type: only that exact name, and only that type when given", () => {
    prime(core, "www.example.com", { answers: [a("www.example.com", 300)] });
    prime(core, "www.example.com", { type: "AAAA", answers: [{ name: "www.example.com", type: "AAAA", ttl: 300, data: "2001:db8::1" }] });
    prime(core, "sub.www.example.com", { answers: [a("sub.www.example.com", 300)] });
    expect(core.flushName("www.example.com", -1, 1)).toBe(1);
    expect(core.peek(clientQuery("www.example.com", "A"), 1000, 0)).toBe(-1);
    expect(core.peek(clientQuery("www.example.com", "AAAA"), 1000, 0)).toBe(300);
    expect(core.flushName("www.example.com")).toBe(1);
    expect(core.peek(clientQuery("sub.www.example.com"), 1000, 0)).toBe(300);
  });
});

describe("cache keys", () => {
  test("hits are case-insensitive and answer in the asker's spelling (0x20)", () => {
    prime(core, "www.example.com", { answers: [a("www.example.com", 300)] });
    const r = ask(clientQuery("WwW.eXaMpLe.CoM"), 1000);
    expect(r.status).toBe(Status.HIT);
    expect(r.msg.questions[0].name).toBe("WwW.eXaMpLe.CoM");
  });

  test("DO and non-DO queries are cached apart, and so are CD and the two listener sets", () => {
    prime(core, "k.example.com", { do: true, answers: [a("k.example.com", 300, "192.0.2.1")] });
    expect(ask(clientQuery("k.example.com"), 1000).status).toBe(Status.MISS);
    expect(ask(clientQuery("k.example.com", "A", { cd: true, do: true }), 1000).status).toBe(Status.MISS);
    expect(ask(clientQuery("k.example.com", "A", { do: true }), 1000, { set: 1 }).status).toBe(Status.MISS);
    prime(core, "k.example.com", { answers: [a("k.example.com", 300, "192.0.2.2")] });
    expect(ask(clientQuery("k.example.com", "A", { do: true }), 1000).msg.answers[0].data).toBe("192.0.2.1");
    expect(ask(clientQuery("k.example.com"), 1000).msg.answers[0].data).toBe("192.0.2.2");
    expect(core.stats().entries).toBe(2);
  });
});

describe("answers are cut to the client's size in whole records", () => {
  const many = (n: number, name = "big.example.com") => Array.from({ length: n }, (_, i) => a(name, 300, `10.0.${i >> 8}.${i & 255}`));
  /** The answer to q as UDP and as TCP; the UDP one must be the longest prefix of whole records that fits. */
  function check(q: Buffer, limit: number) {
    const full = core.copyOut(core.handle(q, 1000, 0, true));
    const udp = ask(q, 1000);
    const room = limit - (core.res[R.EDNS] ? 11 : 0);
    const ends = recordEnds(full).slice(0, core.res[R.EDNS] ? -1 : undefined); // not our own OPT
    const k = ends.filter((e) => e <= room).length;
    const got = [...udp.msg.answers, ...udp.msg.authorities, ...udp.msg.additionals.filter((x: any) => x.type !== "OPT")];
    expect(udp.n).toBeLessThanOrEqual(limit);
    expect(got.length).toBe(k);
    return { udp, full: packet.decode(Buffer.from(full)) as any, k };
  }

  test("to 512 octets without EDNS, with TC when answers were dropped", () => {
    prime(core, "big.example.com", { answers: many(40) });
    const { udp, full, k } = check(clientQuery("big.example.com"), 512);
    expect(full.answers.length).toBe(40);
    expect(full.flag_tc).toBe(false);
    expect(k).toBeLessThan(40);
    expect(udp.msg.flag_tc).toBe(true);
    expect(udp.msg.answers).toEqual(full.answers.slice(0, k));
  });

  test("to the EDNS size (at most our 1232 unless configured higher)", () => {
    prime(core, "big.example.com", { answers: many(60) });
    const small = check(clientQuery("big.example.com", "A", { edns: 1000 }), 1000);
    const capped = check(clientQuery("big.example.com", "A", { edns: 4096 }), 1232);
    expect(small.k).toBeLessThan(capped.k);
    expect(capped.udp.msg.flag_tc).toBe(true);
    core.configure(30, 2, 30, 4096);
    const all = check(clientQuery("big.example.com", "A", { edns: 4096 }), 4096);
    expect({ k: all.k, tc: all.udp.msg.flag_tc }).toEqual({ k: 60, tc: false });
  });

  test("dropping only additional records does not set TC; dropping authority records does", () => {
    prime(core, "glue.example.com", { type: "NS", answers: [{ name: "glue.example.com", type: "NS", ttl: 300, data: "ns.glue.example.com" }], additionals: many(30, "ns.glue.example.com") });
    const glue = check(clientQuery("glue.example.com", "NS"), 512);
    expect(glue.k).toBeGreaterThan(1);
    expect(glue.k).toBeLessThan(31);
    expect(glue.udp.msg.flag_tc).toBe(false);
    prime(core, "auth.example.com", { answers: [a("auth.example.com", 300)], authorities: Array.from({ length: 20 }, (_, i) => ({ name: "example.com", type: "NS", ttl: 300, data: `ns-${i}.nameservers.example.net` })) });
    const auth = check(clientQuery("auth.example.com"), 512);
    expect(auth.udp.msg.answers.length).toBe(1);
    expect(auth.udp.msg.flag_tc).toBe(true);
  });

  test("an upstream reply that was itself truncated keeps TC and is not cached", () => {
    const p = prime(core, "tc.example.com", { replyFlags: 0x0380, answers: [a("tc.example.com", 300)] });
    expect({ code: p.code, stored: p.stored, tc: core.res[R.TC] }).toEqual({ code: Prepared.OK, stored: false, tc: 1 });
    const d = decode(core.answerPrepared(p.query, true));
    expect(d.flag_tc).toBe(true);
  });
});

describe("negative caching (RFC 2308) and TTL caps", () => {
  test("NXDOMAIN is cached for min(SOA TTL, SOA MINIMUM), and the SOA is served with that TTL", () => {
    for (const [ttl, minimum, want] of [[300, 60, 60], [30, 600, 30]]) {
      core.flushAll();
      const p = prime(core, "nx.example.com", { rcode: 3, now: T0, authorities: [soa("example.com", ttl, minimum)] });
      expect({ stored: p.stored, ttl: core.res[R.TTL], negative: core.res[R.NEGATIVE] }).toEqual({ stored: true, ttl: want, negative: 1 });
      expect(core.stats().negativeEntries).toBe(1);
      const r = ask(clientQuery("nx.example.com"), T0 + 10);
      expect({ status: r.status, rcode: r.msg.rcode, soaTtl: r.msg.authorities[0].ttl }).toEqual({ status: Status.HIT, rcode: "NXDOMAIN", soaTtl: want - 10 });
      expect(ask(clientQuery("nx.example.com"), T0 + want).status).toBe(Status.MISS);
    }
  });

  test("NODATA the same way; the cap applies on top", () => {
    const p = prime(core, "nodata.example.com", { type: "AAAA", cap: 20, authorities: [soa("example.com", 300, 120)] });
    expect({ stored: p.stored, ttl: core.res[R.TTL], negative: core.res[R.NEGATIVE] }).toEqual({ stored: true, ttl: 20, negative: 1 });
    const r = ask(clientQuery("nodata.example.com", "AAAA"), 1000);
    expect({ rcode: r.msg.rcode, answers: r.msg.answers.length, soaTtl: r.msg.authorities[0].ttl }).toEqual({ rcode: "NOERROR", answers: 0, soaTtl: 20 });
  });

  test("a denial without a SOA is kept for the configured no-SOA TTL", () => {
    prime(core, "nosoa.example.com", { rcode: 3, negTtl: 7 });
    expect(core.res[R.TTL]).toBe(7);
    expect(core.peek(clientQuery("nosoa.example.com"), 1000, 0)).toBe(7);
  });

  test("SERVFAIL, REFUSED, FORMERR and NOTIMP from upstream are never cached", () => {
    for (const rcode of [2, 5, 1, 4]) {
      const name = `rc${rcode}.example.com`;
      const p = prime(core, name, { rcode, authorities: [soa("example.com", 300, 300)] });
      expect({ rcode, code: p.code, cacheable: core.res[R.CACHEABLE], stored: p.stored }).toEqual({ rcode, code: Prepared.OK, cacheable: 0, stored: false });
      expect(ask(clientQuery(name), 1001).status).toBe(Status.MISS);
    }
    expect(core.stats().entries).toBe(0);
  });

  test("capTtl caps the entry and every record TTL above it; lower TTLs stay", () => {
    prime(core, "cap.example.com", { cap: 300, answers: [a("cap.example.com", 86400), a("cap.example.com", 100, "192.0.2.7")] });
    expect(core.res[R.TTL]).toBe(100);
    expect(ttls(ask(clientQuery("cap.example.com"), 1000).msg)).toEqual([300, 100]);
    prime(core, "cap2.example.com", { cap: 300, answers: [a("cap2.example.com", 86400)] });
    expect(core.res[R.TTL]).toBe(300);
  });
});

describe("prefetch", () => {
  test("an entry asked for twice with under a tenth of its TTL left asks for one refresh", () => {
    prime(core, "pf.example.com", { now: T0, answers: [a("pf.example.com", 100)] });
    const q = clientQuery("pf.example.com");
    const pf = (dt: number) => { ask(q, T0 + dt); return core.res[R.PREFETCH]; };
    expect([pf(10), pf(50), pf(91), pf(95)]).toEqual([0, 0, 1, 0]);
  });
});

test("the hash seed is chosen per process: the same name hashes differently in two cores", async () => {
  const q = clientQuery("seeded.example.com", "A");
  const hashes = new Set<number>();
  for (let i = 0; i < 3; i++) {
    const c = await loadCore(1 << 20);
    c.handle(q, 1000, 0, false);
    hashes.add(c.res[R.HASH]);
  }
  expect(hashes.size).toBe(3);
});

describe("a snapshot walk and an admin flush keep their own cursors", () => {
  test("flushing a name from inside forEachRecord neither restarts nor cuts the walk", () => {
    const names = ["w1.example.com", "w2.example.com", "w3.example.com", "w4.example.com"];
    for (const n of names) prime(core, n, { now: T0, answers: [a(n, 300)] });
    let visited = 0;
    core.forEachRecord(() => {
      visited++;
      // an admin flush walks the whole ring itself; the snapshot walk must go on where it was
      if (visited === 1) expect(core.flushName("w4.example.com")).toBe(1);
    });
    expect(visited).toBe(3); // w1, w2, w3; w4 was gone before the walk reached it
    expect(core.stats().entries).toBe(3);
  });
});
