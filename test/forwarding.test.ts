// Forwarding behaviour of the in-process runtime against the scriptable fake upstream.
import { describe, test, expect, afterEach } from "bun:test";
import { startFakeUpstream, answerFor, type FakeUpstream } from "./helpers/fake-upstream";
import { startInProcess, type Started } from "./helpers/appliance";
import { query, sleep, packet, udpRaw, tcpRaw } from "./helpers/dns";

// A query for a numeric qtype that dns-packet has no name for.
function rawQuery(name: string, qtype: number): Buffer {
  const q = packet.encode({ type: "query", id: 9, flags: packet.RECURSION_DESIRED, questions: [{ name, type: "A", class: "IN" }] });
  q.writeUInt16BE(qtype, q.length - 4);
  return q;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

async function upstream(host: string, behaviour?: Parameters<typeof startFakeUpstream>[1]): Promise<FakeUpstream> {
  const f = await startFakeUpstream(host, behaviour);
  cleanups.push(() => f.stop());
  return f;
}
async function localdns(file: Record<string, unknown>): Promise<Started> {
  const s = await startInProcess(file);
  cleanups.push(() => s.stop());
  return s;
}
const ups = (...f: FakeUpstream[]) => f.map((u) => `${u.host}:${u.port}`);

describe("protocols", () => {
  test("ForceTCP carries many queries on one persistent upstream connection", async () => {
    const up = await upstream("127.0.0.3");
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) }, forward: { tcpPoolSize: 1, tcpPoolMax: 1 } });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => query(s.kube.host, s.kube.port, `svc-${i}.ns.svc.cluster.local`)));
    expect(answers.every((a) => a.rcode === "NOERROR" && a.answers[0].data === "10.1.2.3")).toBe(true);
    for (let i = 40; i < 60; i++) await query(s.kube.host, s.kube.port, `svc-${i}.ns.svc.cluster.local`);
    expect(up.seen.length).toBe(60);
    expect(up.seen.every((q) => q.proto === "tcp")).toBe(true);
    expect(up.tcpConnections).toBe(1);
  });

  test("the default TCP pool spreads queries over four persistent connections", async () => {
    const up = await upstream("127.0.0.3");
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) } });
    for (let round = 0; round < 3; round++) {
      await Promise.all(Array.from({ length: 20 }, (_, i) => query(s.kube.host, s.kube.port, `r${round}-${i}.svc.cluster.local`)));
    }
    expect(up.seen.length).toBe(60);
    expect(up.tcpConnections).toBe(4);
    const perConn = new Map<number, number>();
    for (const q of up.seen) perConn.set(q.remotePort, (perConn.get(q.remotePort) ?? 0) + 1);
    expect(perConn.size).toBe(4);
    expect(Math.min(...perConn.values())).toBeGreaterThanOrEqual(5);
  });

  test("connections are recycled after their maximum age without losing a query", async () => {
    const up = await upstream("127.0.0.3", () => ({ kind: "answer", delayMs: 30 }));
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) }, forward: { tcpPoolSize: 2, tcpMaxAgeMs: 150 } });
    const answers: any[] = [];
    for (let round = 0; round < 8; round++) {
      answers.push(...await Promise.all(Array.from({ length: 10 }, (_, i) => query(s.kube.host, s.kube.port, `age${round}-${i}.svc.cluster.local`))));
      await sleep(60);
    }
    expect(answers.every((a) => a.rcode === "NOERROR")).toBe(true);
    expect(up.seen.length).toBe(80); // nothing was retried
    expect(up.tcpConnections).toBeGreaterThan(4);
    expect(s.app.upstreams.get("ClusterCoreDNS")![0].tcp.recycled).toBeGreaterThan(0);
  });

  test("a connection that drops under in-flight queries costs a retry on another connection, not a failure", async () => {
    let dropped = 0;
    const up = await upstream("127.0.0.3", () => (dropped++ < 1 ? { kind: "close" } : undefined));
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) }, forward: { tcpPoolSize: 1 } });
    const r = await query(s.kube.host, s.kube.port, "reset.svc.cluster.local");
    expect(r.rcode).toBe("NOERROR");
    expect(up.seen.length).toBe(2);
    expect(up.tcpConnections).toBe(2);
  });

  test("PreferUDP asks over UDP and retries over TCP when the reply is truncated", async () => {
    const up = await upstream("127.0.0.3", (q, proto) => (proto === "udp" ? { kind: "answer", msg: answerFor(q, { tc: true, answers: [] }) } : undefined));
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) } });
    const a = await query(s.vnet.host, s.vnet.port, "www.example.org");
    expect(a.answers[0].data).toBe("10.1.2.3");
    expect(up.seen.map((q) => q.proto)).toEqual(["udp", "tcp"]);
  });

  test("upstream query IDs are random and differ from the client's", async () => {
    const up = await upstream("127.0.0.3");
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) } });
    for (let i = 0; i < 20; i++) await query(s.vnet.host, s.vnet.port, `n${i}.example.org`, "A", { id: 4242 });
    const ids = new Set(up.seen.map((q) => q.id));
    expect(ids.has(4242)).toBe(false);
    expect(ids.size).toBeGreaterThan(15);
    expect(new Set(up.seen.map((q) => q.remotePort)).size).toBeGreaterThan(1);
  });
});

describe("local answers", () => {
  test("blocked names are answered NXDOMAIN and never reach the upstream", async () => {
    const up = await upstream("127.0.0.3");
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) } });
    for (const name of ["x.reddog.microsoft.com", "a.b.c.d.internal.cloudapp.net", "pod.ns.svc.cluster.local.internal.cloudapp.net"]) {
      const a = await query(s.vnet.host, s.vnet.port, name);
      expect(a.rcode).toBe("NXDOMAIN");
    }
    // fewer than four labels before internal.cloudapp.net is forwarded
    await query(s.vnet.host, s.vnet.port, "vm1.internal.cloudapp.net");
    expect(up.seen.map((q) => q.name)).toEqual(["vm1.internal.cloudapp.net"]);
  });

  test("the health name answers with the client's address on both listeners, never forwarded", async () => {
    const up = await upstream("127.0.0.3");
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) } });
    for (const ep of [s.vnet, s.kube]) {
      for (const tcp of [false, true]) {
        const a = await query(ep.host, ep.port, "health-check.localdns.local", "A", { tcp });
        expect(a.answers[0]).toMatchObject({ type: "A", data: "127.0.0.1" });
      }
    }
    expect(up.seen.length).toBe(0);
  });

  test("ANY is forwarded: NXDOMAIN stays NXDOMAIN, a CNAME owner gets its CNAME, the answer is cached", async () => {
    const soa = { name: "example.org", type: "SOA", ttl: 60, data: { mname: "ns.example.org", rname: "h.example.org", serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 60 } };
    const up = await upstream("127.0.0.3", (q) => {
      const name = q.questions[0].name;
      if (name === "gone.example.org") return { kind: "answer", msg: answerFor(q, { rcode: "NXDOMAIN", authorities: [soa] }) };
      if (name === "alias.example.org") return { kind: "answer", msg: answerFor(q, { answers: [{ name, type: "CNAME", ttl: 60, data: "target.example.org" }] }) };
      return undefined;
    });
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) } });
    const gone = await query(s.vnet.host, s.vnet.port, "gone.example.org", "ANY");
    expect({ rcode: gone.rcode, answers: gone.answers.length }).toEqual({ rcode: "NXDOMAIN", answers: 0 });
    const alias = await query(s.vnet.host, s.vnet.port, "alias.example.org", "ANY");
    expect(alias.answers.map((r: any) => [r.type, r.data])).toEqual([["CNAME", "target.example.org"]]);
    await query(s.vnet.host, s.vnet.port, "alias.example.org", "ANY");
    expect(up.seen.map((q) => [q.name, q.type])).toEqual([["gone.example.org", "ANY"], ["alias.example.org", "ANY"]]);
  });

  test("localhost. and the loopback reverse names are answered locally (RFC 6761 6.3), on both listeners", async () => {
    const up = await upstream("127.0.0.3");
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) } });
    const ask = async (ep: { host: string; port: number }, name: string, type: string) => {
      const a = await query(ep.host, ep.port, name, type);
      return [a.rcode, a.flag_aa, a.answers.map((r: any) => `${r.name} ${r.type} ${r.data}`), a.authorities.map((r: any) => `${r.name} ${r.type}`)];
    };
    for (const ep of [s.vnet, s.kube]) {
      expect(await ask(ep, "localhost", "A")).toEqual(["NOERROR", true, ["localhost A 127.0.0.1"], []]);
      expect(await ask(ep, "LocalHost", "AAAA")).toEqual(["NOERROR", true, ["LocalHost AAAA ::1"], []]);
      expect(await ask(ep, "foo.bar.localhost", "A")).toEqual(["NOERROR", true, ["foo.bar.localhost A 127.0.0.1"], []]);
      expect(await ask(ep, "localhost", "MX")).toEqual(["NOERROR", true, [], ["localhost SOA"]]);
      expect(await ask(ep, "1.0.0.127.in-addr.arpa", "PTR")).toEqual(["NOERROR", true, ["1.0.0.127.in-addr.arpa PTR localhost"], []]);
      expect(await ask(ep, "9.8.7.127.in-addr.arpa", "PTR")).toEqual(["NOERROR", true, ["9.8.7.127.in-addr.arpa PTR localhost"], []]);
      expect(await ask(ep, "0.127.in-addr.arpa", "PTR")).toEqual(["NOERROR", true, [], ["127.in-addr.arpa SOA"]]);
      expect(await ask(ep, "x.1.0.0.127.in-addr.arpa", "PTR")).toEqual(["NXDOMAIN", true, [], ["127.in-addr.arpa SOA"]]);
      const v6 = "1." + "0.".repeat(31) + "ip6.arpa";
      expect(await ask(ep, v6, "PTR")).toEqual(["NOERROR", true, [`${v6} PTR localhost`], []]);
    }
    // look-alikes are ordinary names
    await query(s.vnet.host, s.vnet.port, "notlocalhost", "A");
    await query(s.vnet.host, s.vnet.port, "2." + "0.".repeat(31) + "ip6.arpa", "PTR");
    await query(s.vnet.host, s.vnet.port, "1.0.0.128.in-addr.arpa", "PTR");
    expect(up.seen.map((q) => q.name)).toEqual(["notlocalhost", "2." + "0.".repeat(31) + "ip6.arpa", "1.0.0.128.in-addr.arpa"]);
  });

  test("meta-types are refused with FORMERR and never forwarded; AXFR/IXFR get NOTIMP", async () => {
    const up = await upstream("127.0.0.3");
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) } });
    const rcodes: Record<string, string> = {};
    for (const t of ["OPT", "TKEY", "TSIG", "AXFR", "IXFR"]) rcodes[t] = (await query(s.vnet.host, s.vnet.port, "example.org", t)).rcode;
    for (const [t, n] of [["MAILB", 253], ["MAILA", 254], ["TYPE128", 128]] as const) rcodes[t] = (packet.decode(await udpRaw(s.vnet.host, s.vnet.port, rawQuery("example.org", n))) as any).rcode;
    expect(rcodes).toEqual({ OPT: "FORMERR", TKEY: "FORMERR", TSIG: "FORMERR", MAILB: "FORMERR", MAILA: "FORMERR", AXFR: "NOTIMP", IXFR: "NOTIMP", TYPE128: "FORMERR" });
    expect(up.seen.length).toBe(0);
  });
});

describe("policies", () => {
  const names = (n: number) => Array.from({ length: n }, (_, i) => `p${i}.example.org`);
  test("Sequential sends everything to the first healthy upstream", async () => {
    const a = await upstream("127.0.0.3");
    const b = await upstream("127.0.0.4");
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(a), VnetDNS: ups(a, b) } });
    for (const n of names(20)) await query(s.vnet.host, s.vnet.port, n);
    expect([a.seen.length, b.seen.length]).toEqual([20, 0]);
  });
  test("RoundRobin alternates", async () => {
    const a = await upstream("127.0.0.3");
    const b = await upstream("127.0.0.4");
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(a), VnetDNS: ups(a, b) }, vnetDNSOverrides: { ".": { forwardPolicy: "RoundRobin" } } });
    for (const n of names(20)) await query(s.vnet.host, s.vnet.port, n);
    expect([a.seen.length, b.seen.length]).toEqual([10, 10]);
  });
  test("Random uses both", async () => {
    const a = await upstream("127.0.0.3");
    const b = await upstream("127.0.0.4");
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(a), VnetDNS: ups(a, b) }, vnetDNSOverrides: { ".": { forwardPolicy: "Random" } } });
    for (const n of names(60)) await query(s.vnet.host, s.vnet.port, n);
    expect(a.seen.length + b.seen.length).toBe(60);
    expect(Math.min(a.seen.length, b.seen.length)).toBeGreaterThan(10);
  });
});

describe("failure handling", () => {
  test("queries beyond maxConcurrent get REFUSED", async () => {
    const up = await upstream("127.0.0.3", () => ({ kind: "answer", delayMs: 400 }));
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) }, vnetDNSOverrides: { ".": { maxConcurrent: 2 } } });
    const answers = await Promise.all(Array.from({ length: 6 }, (_, i) => query(s.vnet.host, s.vnet.port, `c${i}.example.org`)));
    const rcodes = answers.map((a) => a.rcode).sort();
    expect(rcodes.filter((r) => r === "NOERROR").length).toBe(2);
    expect(rcodes.filter((r) => r === "REFUSED").length).toBe(4);
    await sleep(50);
    expect(s.app.handler.zones.every((z) => z.forwarder.inflight === 0)).toBe(true);
  });

  test("SERVFAIL within 2 s when every upstream is dead", async () => {
    const a = await upstream("127.0.0.3", () => ({ kind: "drop" }));
    const b = await upstream("127.0.0.4", () => ({ kind: "drop" }));
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(a, b), VnetDNS: ups(a, b) } });
    for (const ep of [s.vnet, s.kube]) {
      const t0 = performance.now();
      const r = await query(ep.host, ep.port, `dead-${ep.port}.cluster.local`, "A", { timeoutMs: 4000 });
      expect(r.rcode).toBe("SERVFAIL");
      expect(performance.now() - t0).toBeLessThan(2000);
    }
    expect(a.seen.length).toBeGreaterThan(0);
    expect(b.seen.length).toBeGreaterThan(0);
  });

  test("a dead upstream fails over to the next and is marked down after two failures", async () => {
    const a = await upstream("127.0.0.3", () => ({ kind: "drop" }));
    const b = await upstream("127.0.0.4");
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(b), VnetDNS: ups(a, b) }, forward: { attemptTimeoutMs: 200 } });
    for (let i = 0; i < 3; i++) {
      const r = await query(s.vnet.host, s.vnet.port, `f${i}.example.org`);
      expect(r.answers[0].data).toBe("10.1.2.3");
    }
    const upA = s.app.upstreams.get("VnetDNS")![0];
    expect(upA.down).toBe(true);
    // once down it is tried last: the next query goes straight to b
    const before = a.seen.length;
    await query(s.vnet.host, s.vnet.port, "after-down.example.org");
    expect(a.seen.filter((q) => q.name === "after-down.example.org").length).toBe(0);
    expect(a.seen.length - before).toBeLessThanOrEqual(1); // at most a background probe
  });

  test("a reply with the wrong ID or the wrong question is dropped; the right one is used and cached", async () => {
    const up = await upstream("127.0.0.3", (q) => {
      const wrongId = packet.encode({ ...answerFor(q), id: (q.id + 1) & 0xffff, answers: [{ name: q.questions[0].name, type: "A", ttl: 60, data: "6.6.6.6" }] } as any);
      const wrongName = packet.encode({ ...answerFor(q), questions: [{ name: "evil.example.net", type: "A", class: "IN" }], answers: [{ name: "evil.example.net", type: "A", ttl: 60, data: "6.6.6.7" }] } as any);
      const garbage = Buffer.from([q.id >> 8, q.id & 0xff, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0, 0xc0, 0x20]);
      const right = packet.encode(answerFor(q) as any);
      return { kind: "raw", bytes: [wrongId, wrongName, garbage, right] };
    });
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) } });
    const r = await query(s.vnet.host, s.vnet.port, "victim.example.org");
    expect(r.answers.map((x: any) => x.data)).toEqual(["10.1.2.3"]);
    const again = await query(s.vnet.host, s.vnet.port, "victim.example.org");
    expect(again.answers.map((x: any) => x.data)).toEqual(["10.1.2.3"]);
    expect(up.seen.length).toBe(1);
    // the wrong-ID reply never gets past the transport; the other two are rejected by the core
    expect(s.app.handler.stats.upstreamDrops).toBe(2);
  });

  test("an upstream SERVFAIL is not cached as an answer", async () => {
    let fail = true;
    const up = await upstream("127.0.0.3", (q) => (fail ? { kind: "answer", msg: answerFor(q, { rcode: "SERVFAIL" }) } : undefined));
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) }, cache: { failureCacheSeconds: 0 } });
    expect((await query(s.vnet.host, s.vnet.port, "sf.example.org")).rcode).toBe("SERVFAIL");
    fail = false;
    expect((await query(s.vnet.host, s.vnet.port, "sf.example.org")).rcode).toBe("NOERROR");
  });

  test("a name the upstream refuses costs one upstream query per failure interval however many ask, and never marks it down", async () => {
    let refuse = true;
    const up = await upstream("127.0.0.3", (q) => (refuse && q.questions[0].name === "bad.example.org" ? { kind: "answer", msg: answerFor(q, { rcode: "REFUSED" }) } : undefined));
    const s = await localdns({
      upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) }, cache: { failureCacheSeconds: 1 },
      vnetDNSOverrides: { ".": { failfastAllUnhealthyUpstreams: true } },
    });
    const first = await query(s.vnet.host, s.vnet.port, "bad.example.org");
    const burst = await Promise.all(Array.from({ length: 50 }, () => query(s.vnet.host, s.vnet.port, "bad.example.org")));
    expect([first, ...burst].map((a) => a.rcode)).toEqual(Array(51).fill("SERVFAIL"));
    expect(up.seen.filter((q) => q.name === "bad.example.org").length).toBe(1);
    expect(s.app.upstreams.get("VnetDNS")![0].down).toBe(false);
    expect((await query(s.vnet.host, s.vnet.port, "good.example.org")).rcode).toBe("NOERROR");
    await sleep(1100); // the failure interval is over: asked again, once
    refuse = false;
    expect((await query(s.vnet.host, s.vnet.port, "bad.example.org")).rcode).toBe("NOERROR");
    expect(up.seen.filter((q) => q.name === "bad.example.org").length).toBe(2);
  });

  test("each upstream is tried at most once per query; an error answer moves on to the next", async () => {
    const a = await upstream("127.0.0.3", (q) => ({ kind: "answer", msg: answerFor(q, { rcode: "SERVFAIL" }) }));
    const b = await upstream("127.0.0.4", (q) => ({ kind: "answer", msg: answerFor(q, { rcode: "REFUSED" }) }));
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(a, b), VnetDNS: ups(a, b) }, cache: { failureCacheSeconds: 0 } });
    expect((await query(s.vnet.host, s.vnet.port, "x.example.org")).rcode).toBe("SERVFAIL");
    expect([a.seen.filter((q) => q.name === "x.example.org").length, b.seen.filter((q) => q.name === "x.example.org").length]).toEqual([1, 1]);
    const c = await upstream("127.0.0.5", (q) => ({ kind: "answer", msg: answerFor(q, { rcode: "FORMERR" }) }));
    const d = await upstream("127.0.0.6");
    const s2 = await localdns({ upstreams: { ClusterCoreDNS: ups(c, d), VnetDNS: ups(c, d) } });
    const got = await query(s2.vnet.host, s2.vnet.port, "y.example.org");
    expect([got.rcode, got.answers[0]?.data]).toEqual(["NOERROR", "10.1.2.3"]);
    // FORMERR to our EDNS query: asked once more without EDNS (RFC 6891 6.2.2), then the next upstream
    expect(c.seen.map((q) => packet.decode(q.raw).additionals?.length ?? 0)).toEqual([1, 0]);
    expect(d.seen.length).toBe(1);
  });

  test("an extended rcode in the reply's OPT (BADVERS) is an error, never cached as NOERROR", async () => {
    const a = await upstream("127.0.0.3", (q) => {
      const msg: any = answerFor(q);
      msg.additionals = [{ type: "OPT", name: ".", udpPayloadSize: 1232, extendedRcode: 1, flags: 0 }];
      return { kind: "answer", msg };
    });
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(a), VnetDNS: ups(a) }, cache: { failureCacheSeconds: 0 } });
    expect((await query(s.vnet.host, s.vnet.port, "bv.example.org")).rcode).toBe("SERVFAIL");
    expect(s.app.core.stats().entries).toBe(0);
  });

  test("answers are scrubbed to the CNAME chain; a NODATA behind a CNAME is a denial that lives no longer than the CNAME", async () => {
    const soa = { name: "example.org", type: "SOA", ttl: 300, data: { mname: "ns.example.org", rname: "h.example.org", serial: 1, refresh: 60, retry: 60, expire: 60, minimum: 300 } };
    const up = await upstream("127.0.0.3", (q) => {
      const name = q.questions[0].name;
      if (name === "www.example.org") return { kind: "answer", msg: answerFor(q, { answers: [
        { name, type: "CNAME", ttl: 60, data: "edge.example.org" },
        { name: "evil.example.com", type: "A", ttl: 60, data: "6.6.6.6" }, // not on the chain
        { name: "edge.example.org", type: "A", ttl: 60, data: "192.0.2.80" },
      ] }) };
      if (name === "nodata.example.org") return { kind: "answer", msg: answerFor(q, { answers: [{ name, type: "CNAME", ttl: 7, data: "edge.example.org" }], authorities: [soa] }) };
      return undefined;
    });
    const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) } });
    const a = await query(s.vnet.host, s.vnet.port, "www.example.org");
    expect(a.answers.map((r: any) => `${r.name} ${r.type} ${r.data}`)).toEqual(["www.example.org CNAME edge.example.org", "edge.example.org A 192.0.2.80"]);
    const nd = await query(s.vnet.host, s.vnet.port, "nodata.example.org");
    expect(nd.answers.map((r: any) => r.type)).toEqual(["CNAME"]);
    expect(s.app.core.stats().negativeEntries).toBe(1);
    expect(nd.authorities.map((r: any) => [r.type, r.ttl])).toEqual([["SOA", 7]]);
  });
});

test("clients waiting for one name are capped per name and per zone (maxConcurrent); oversized queries are not forwarded", async () => {
  const up = await upstream("127.0.0.3", () => ({ kind: "drop" }));
  const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) }, forward: { attemptTimeoutMs: 400, deadlineMs: 500 }, cache: { failureCacheSeconds: 0 } });
  const rcodes = (list: any[]) => list.reduce((m: Record<string, number>, a) => ({ ...m, [a.rcode]: (m[a.rcode] ?? 0) + 1 }), {});
  // sent in bursts of 50: 300 datagrams at once would overflow the listener's default receive buffer
  const pending: Promise<any>[] = [];
  for (let i = 0; i < 300; i++) {
    pending.push(query(s.vnet.host, s.vnet.port, "stuck.example.org", "A", { id: i }));
    if (i % 50 === 49) await sleep(5);
  }
  const same = await Promise.all(pending);
  expect(rcodes(same)).toEqual({ SERVFAIL: 256, REFUSED: 44 });
  const s2 = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) }, forward: { attemptTimeoutMs: 400, deadlineMs: 500 }, vnetDNSOverrides: { ".": { maxConcurrent: 10 } } });
  const spread = await Promise.all(Array.from({ length: 30 }, (_, i) => query(s2.vnet.host, s2.vnet.port, `n${i % 5}.example.org`)));
  expect(rcodes(spread)).toEqual({ SERVFAIL: 10, REFUSED: 20 });
  // a query padded past 4096 octets (EDNS padding) is refused before it reaches an upstream
  const before = up.seen.length;
  const padded = packet.encode({ type: "query", id: 5, flags: packet.RECURSION_DESIRED, questions: [{ name: "pad.example.org", type: "A", class: "IN" }],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232, options: [{ code: 12, data: Buffer.alloc(5000) }] } as any] });
  const big = packet.decode(await tcpRaw(s.vnet.host, s.vnet.port, padded)) as any;
  expect(big.rcode).toBe("REFUSED");
  expect(up.seen.length).toBe(before);
});

test("concurrent identical misses are coalesced into one upstream query, each answer with its own ID and case", async () => {
  const up = await upstream("127.0.0.3", () => ({ kind: "answer", delayMs: 100 }));
  const s = await localdns({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) } });
  const names = Array.from({ length: 100 }, (_, i) => (i % 2 ? "Hot.Example.ORG" : "hot.example.org"));
  const answers = await Promise.all(names.map((n, i) => query(s.vnet.host, s.vnet.port, n, "A", { id: 1000 + i })));
  expect(up.seen.length).toBe(1);
  answers.forEach((a, i) => {
    expect(a.id).toBe(1000 + i);
    expect(a.questions[0].name).toBe(names[i]);
    expect(a.answers[0].data).toBe("10.1.2.3");
  });
});

test("queryLogging Log writes one JSON line per query with the CoreDNS fields", async () => {
  const up = await upstream("127.0.0.3");
  const s = await startInProcess({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) }, vnetDNSOverrides: { ".": { queryLogging: "Log" } } });
  cleanups.push(() => s.stop());
  await query(s.vnet.host, s.vnet.port, "logged.example.org");
  await query(s.vnet.host, s.vnet.port, "logged.example.org");
  const lines = s.logs.filter((l) => l.msg === "query");
  expect(lines).toHaveLength(2);
  for (const l of lines) {
    expect(typeof l.time).toBe("string");
    expect(l).toMatchObject({ level: "info", name: "logged.example.org.", type: "A", proto: "udp", rcode: "NOERROR", remote: "127.0.0.1" });
    for (const k of ["port", "id", "class", "size", "do", "bufsize", "rflags", "rsize", "duration"]) expect(l).toHaveProperty(k);
  }
});

test("queryLogging Log also logs answers given before a zone matched (FORMERR, NOTIMP, special names)", async () => {
  const up = await upstream("127.0.0.3");
  const s = await startInProcess({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) }, vnetDNSOverrides: { ".": { queryLogging: "Log" } } });
  cleanups.push(() => s.stop());
  await query(s.vnet.host, s.vnet.port, "example.org", "AXFR");
  await query(s.vnet.host, s.vnet.port, "example.org", "TSIG");
  await query(s.vnet.host, s.vnet.port, "localhost", "A");
  const lines = s.logs.filter((l) => l.msg === "query").map((l) => [l.name, l.type, l.rcode]);
  expect(lines).toEqual([["example.org.", "AXFR", "NOTIMP"], ["example.org.", "TSIG", "FORMERR"], ["localhost.", "A", "NOERROR"]]);
});

test("the query log of a stale answer describes the answer sent, not the refresh sent upstream", async () => {
  let down = false;
  const up = await upstream("127.0.0.3", () => (down ? { kind: "drop" } : { kind: "answer", ttl: 1 }));
  const s = await startInProcess({ upstreams: { ClusterCoreDNS: ups(up), VnetDNS: ups(up) }, vnetDNSOverrides: { ".": { queryLogging: "Log", serveStale: "Immediate" } } });
  cleanups.push(() => s.stop());
  await query(s.vnet.host, s.vnet.port, "stale-log.example.org");
  down = true;
  await sleep(1100);
  const a = await query(s.vnet.host, s.vnet.port, "stale-log.example.org");
  const line = s.logs.filter((l) => l.msg === "query").at(-1);
  expect({ stale: line.stale, rflags: line.rflags, rsize: line.rsize }).toEqual({ stale: true, rflags: "qr,rd,ra", rsize: packet.encode(a).length });
});
