// Serve-stale, prefetch and negative caching through the in-process runtime, with a manual clock.
import { describe, test, expect, afterEach } from "bun:test";
import { startFakeUpstream, answerFor, type FakeUpstream } from "./helpers/fake-upstream";
import { startInProcess, type Started } from "./helpers/appliance";
import { query, sleep } from "./helpers/dns";
import { ManualClock } from "../src/clock";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

let up: FakeUpstream;
let down = false;
let answerTtl = 60;
async function setup(vnetZone: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  down = false;
  answerTtl = 60;
  up = await startFakeUpstream("127.0.0.3", (q) => (down ? { kind: "drop" } : { kind: "answer", ttl: answerTtl }));
  cleanups.push(() => up.stop());
  const clock = new ManualClock();
  const s: Started = await startInProcess({
    upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] },
    vnetDNSOverrides: { ".": vnetZone },
    forward: { attemptTimeoutMs: 300, deadlineMs: 600, healthCheckIntervalMs: 100 },
    ...extra,
  }, { clock });
  cleanups.push(() => s.stop());
  const ask = (name: string, type = "A") => query(s.vnet.host, s.vnet.port, name, type, { timeoutMs: 3000 });
  return { s, clock, ask };
}

describe("serve-stale", () => {
  test("Immediate: cached names keep answering (TTL 30) while the upstream is dead, within the window only", async () => {
    const { clock, ask } = await setup({ serveStale: "Immediate", serveStaleDurationInSeconds: 300 });
    for (const n of ["a.example.org", "b.example.org"]) expect((await ask(n)).answers[0].ttl).toBe(60);
    down = true;
    clock.advance(61);
    for (const n of ["a.example.org", "b.example.org"]) {
      const r = await ask(n);
      expect(r.rcode).toBe("NOERROR");
      expect(r.answers[0].data).toBe("10.1.2.3");
      expect(r.answers[0].ttl).toBe(30);
    }
    clock.advance(300);
    const gone = await ask("a.example.org");
    expect(gone.rcode).toBe("SERVFAIL");
  });

  test("Immediate: a stale answer triggers one background refresh that renews the entry", async () => {
    const { clock, ask } = await setup({ serveStale: "Immediate" });
    await ask("r.example.org");
    clock.advance(61);
    const before = up.seen.length;
    await Promise.all([ask("r.example.org"), ask("r.example.org"), ask("r.example.org")]);
    await sleep(50);
    expect(up.seen.length - before).toBe(1); // at most one refresh per key at a time
    const fresh = await ask("r.example.org");
    expect(fresh.answers[0].ttl).toBe(60);
  });

  test("Verify: fresh from the upstream when it is up, stale when it is not", async () => {
    const { clock, ask } = await setup({ serveStale: "Verify" });
    await ask("v.example.org");
    clock.advance(61);
    const fresh = await ask("v.example.org");
    expect(fresh.answers[0].ttl).toBe(60);
    expect(up.seen.length).toBe(2);
    clock.advance(61);
    down = true;
    const t0 = performance.now();
    const stale = await ask("v.example.org");
    expect(stale.rcode).toBe("NOERROR");
    expect(stale.answers[0].ttl).toBe(30);
    expect(performance.now() - t0).toBeLessThan(2000);
  });

  test("Disable: expired means gone", async () => {
    const { clock, ask } = await setup({ serveStale: "Disable" });
    await ask("d.example.org");
    down = true;
    clock.advance(61);
    expect((await ask("d.example.org")).rcode).toBe("SERVFAIL");
  });

  test("an upstream SERVFAIL never replaces a good cached answer", async () => {
    const { s, clock, ask } = await setup({ serveStale: "Immediate" });
    await ask("keep.example.org");
    up.behaviour = (q) => ({ kind: "answer", msg: answerFor(q, { rcode: "SERVFAIL" }) });
    clock.advance(61);
    for (let i = 0; i < 3; i++) {
      const r = await ask("keep.example.org");
      expect(r.rcode).toBe("NOERROR");
      await sleep(20);
    }
    expect(s.app.handler.stats.staleServed).toBeGreaterThanOrEqual(3);
  });
});

test("prefetch refreshes a hot name before it expires, so clients never miss", async () => {
  const { s, clock, ask } = await setup({});
  await ask("hot.example.org");
  clock.advance(10);
  await ask("hot.example.org");
  clock.advance(45);
  await ask("hot.example.org"); // 5 s left of 60 (< 10 %), 2 hits: refresh now
  await sleep(50);
  expect(up.seen.length).toBe(2);
  expect(s.app.handler.stats.prefetches).toBe(1);
  clock.advance(10); // past the original expiry
  const r = await ask("hot.example.org");
  expect(r.answers[0].ttl).toBeGreaterThan(40);
  expect(up.seen.length).toBe(2);
  expect(s.app.handler.stats.misses).toBe(1);
});

test("negative answers are cached per SOA; NXDOMAIN and NODATA are kept apart", async () => {
  const soa = { name: "example.org", type: "SOA", ttl: 120, data: { mname: "ns.example.org", rname: "h.example.org", serial: 1, refresh: 1, retry: 1, expire: 1, minimum: 20 } };
  const { clock, ask } = await setup({});
  up.behaviour = (q) => {
    const name = q.questions[0].name;
    if (name === "nx.example.org") return { kind: "answer", msg: answerFor(q, { rcode: "NXDOMAIN", authorities: [soa] }) };
    if (q.questions[0].type === "AAAA") return { kind: "answer", msg: answerFor(q, { answers: [], authorities: [soa] }) };
    return undefined;
  };
  const nx = await ask("nx.example.org");
  expect(nx.rcode).toBe("NXDOMAIN");
  expect(nx.authorities[0].ttl).toBe(20); // min(SOA TTL, SOA minimum)
  const nodata = await ask("host.example.org", "AAAA");
  expect(nodata.rcode).toBe("NOERROR");
  expect(nodata.answers).toHaveLength(0);
  const a = await ask("host.example.org", "A");
  expect(a.answers[0].data).toBe("10.1.2.3");
  clock.advance(10);
  expect((await ask("nx.example.org")).authorities[0].ttl).toBe(10);
  expect((await ask("host.example.org", "AAAA")).answers).toHaveLength(0);
  expect(up.seen.length).toBe(3);
  clock.advance(11);
  await ask("nx.example.org"); // expired: served stale, refreshed in the background
  await sleep(50);
  expect(up.seen.length).toBe(4);
});

test("prefetch also works for short TTLs: at ceil(10 %) of TTL 5, the last second", async () => {
  const { s, clock, ask } = await setup({});
  answerTtl = 5;
  await ask("short.example.org");
  clock.advance(1);
  await ask("short.example.org"); // 4 s left: not yet
  await sleep(50);
  expect(s.app.handler.stats.prefetches).toBe(0);
  clock.advance(3);
  await ask("short.example.org"); // 1 s left: refresh now
  await sleep(50);
  expect(s.app.handler.stats.prefetches).toBe(1);
  expect(up.seen.length).toBe(2);
});

test("while an entry is served stale, its refresh asks the upstream at most once per recheck interval", async () => {
  const { s, clock, ask } = await setup({ serveStale: "Immediate" }, { cache: { staleRecheckSeconds: 30 } });
  await ask("flaky.example.org");
  down = true;
  clock.advance(61);
  await ask("flaky.example.org"); // stale answer, one refresh that times out (within the 600 ms deadline)
  await sleep(1000);
  const flaky = () => up.seen.filter((q) => q.name === "flaky.example.org").length; // not the health probes
  const asked = flaky();
  for (let i = 0; i < 5; i++) expect((await ask("flaky.example.org")).answers[0].data).toBe("10.1.2.3");
  await sleep(100);
  expect(flaky()).toBe(asked);
  expect(s.app.handler.stats.staleServed).toBe(6);
});
