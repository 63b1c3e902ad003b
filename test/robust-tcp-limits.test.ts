// TCP limits of the compiled binary across all its listeners: one memory budget for partial messages
// and unsent answers (connections holding the most are shed when it is hit), one connection cap over
// every listener, and pipelined queries handled a few at a time per connection so that clients which
// pipeline large cached answers and never read cannot stall the other listeners.
import { describe, test, expect, beforeAll, afterAll } from "bun:test";
import * as net from "node:net";
import { startFastUpstream, addressFor, type FastUpstream } from "./helpers/fast-upstream";
import { runBinaryOn, rssKiB, framed, waitFor, metric, UdpMux, type BinaryOn } from "./helpers/robust";
import { query, makeQuery, sleep, packet } from "./helpers/dns";

let up: FastUpstream;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  up = await startFastUpstream("127.0.41.9", 0, { hotSuffix: "limits.test", hotTtl: 3600, bigBytes: 64000 });
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await up?.stop();
});

/** A raw client connection that notes when the server closed it; `read: false`: it never reads (its
 * receive window fills, and the server's FIN is not seen either). */
async function rawConnect(host: string, port: number, read = true): Promise<{ s: net.Socket; gone: () => boolean }> {
  const s = net.connect({ host, port });
  let gone = false;
  if (read) s.on("data", () => {}); else s.pause();
  s.on("error", () => { gone = true; });
  s.on("end", () => { gone = true; });
  s.on("close", () => { gone = true; });
  sockets.push(s);
  await new Promise<void>((resolve, reject) => { s.once("connect", () => resolve()); s.once("error", reject); });
  return { s, gone: () => gone };
}

async function answersBoth(b: BinaryOn, name: string): Promise<void> {
  for (const [host, port] of [[b.host, b.port], [b.kubeHost, b.kubePort]] as const) {
    const u = await query(host, port, name, "A", { timeoutMs: 2000 });
    expect(u.answers[0]?.data).toBe(addressFor(name));
    const t = await query(host, port, name, "A", { tcp: true, timeoutMs: 2000 });
    expect(t.answers[0]?.data).toBe(addressFor(name));
  }
}

/** Probes a cached name over UDP every `everyMs` until stop() and returns each wait (ms; lost = Infinity). */
function probeLoop(host: string, port: number, name: string, everyMs = 10) {
  const waits: number[] = [];
  let running = true;
  const done = (async () => {
    const mux = await UdpMux.open();
    const pending: Promise<void>[] = [];
    while (running) {
      const t0 = performance.now();
      const q = makeQuery(name, "A", { id: mux.id() });
      pending.push(mux.ask(q, host, port, 3000).then((a) => { waits.push(a ? performance.now() - t0 : Infinity); }));
      await sleep(everyMs);
    }
    await Promise.all(pending);
    mux.close();
  })();
  return { waits, async stop() { running = false; await done; return waits; } };
}

describe("memory budget across listeners", () => {
  let b: BinaryOn;
  beforeAll(async () => {
    b = await runBinaryOn({ host: "127.0.41.1", upstream: up, admin: true });
  });
  afterAll(async () => { await b?.bin.stop(); });

  test("700 connections over two listeners, each holding a 65,535-octet message less one octet: memory stays bounded", async () => {
    const names = ["one.budget.limits.test", "two.budget.limits.test"];
    for (const n of names) await answersBoth(b, n);
    await sleep(300);
    const rssBefore = rssKiB(b.pid);
    // a length prefix of 65,535 and 65,534 octets of it: the message never completes
    const partial = Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(65_534, 0x41)]);
    const conns: { s: net.Socket; gone: () => boolean }[] = [];
    for (let i = 0; i < 700; i++) {
      const c = await rawConnect(i % 2 ? b.kubeHost : b.host, i % 2 ? b.kubePort : b.port);
      c.s.write(partial);
      conns.push(c);
      if (i % 50 === 49) await sleep(20);
    }
    await sleep(1500);
    const rssPeak = rssKiB(b.pid);
    const held = await metric(b.admin!, "localdns_tcp_buffered_bytes");
    const budget = await metric(b.admin!, "localdns_tcp_buffered_bytes_limit");
    const shed = await metric(b.admin!, 'localdns_tcp_connections_closed_total{reason="memory"}');
    // the budget is counted and kept; connections over it were shed
    expect(budget).toBe(16 * 1024 * 1024);
    expect(held!).toBeLessThanOrEqual(budget!);
    expect(shed!).toBeGreaterThan(400);
    expect(conns.filter((c) => c.gone()).length).toBeGreaterThan(400);
    // without the budget 700 × 64 KiB is 45 MiB and more; the budget is 16 MiB
    expect(rssPeak - rssBefore).toBeLessThan(28 * 1024);
    // the cached names still answer on both listeners, over UDP and TCP
    for (const n of names) await answersBoth(b, n);
    for (const c of conns) c.s.destroy();
  }, 60_000);
});

describe("one connection cap over every listener", () => {
  let b: BinaryOn;
  const CAP = 30;
  beforeAll(async () => {
    b = await runBinaryOn({ host: "127.0.41.3", upstream: up, admin: true, extra: { cache: { snapshotPath: null }, server: { maxTcpConnections: CAP } } });
  });
  afterAll(async () => { await b?.bin.stop(); });

  test(`${CAP} connections in all: ${CAP / 2 + 10} on each of two listeners close the 20 longest idle`, async () => {
    const conns: { s: net.Socket; gone: () => boolean }[] = [];
    for (let i = 0; i < CAP + 20; i++) {
      conns.push(await rawConnect(i % 2 ? b.kubeHost : b.host, i % 2 ? b.kubePort : b.port));
      await sleep(10);
    }
    expect(await waitFor(() => conns.filter((c) => c.gone()).length === 20, 3000)).toBe(true);
    expect(conns.slice(0, 20).every((c) => c.gone())).toBe(true);
    expect(conns.slice(20).some((c) => c.gone())).toBe(false);
    expect(await metric(b.admin!, "localdns_tcp_connections ")).toBe(CAP);
    expect(await metric(b.admin!, 'localdns_tcp_connections_closed_total{reason="connection_cap"}')).toBe(20);
    for (const c of conns) c.s.destroy();
    await answersBoth(b, "after-cap.limits.test");
  }, 20_000);
});

describe("pipelined queries for a large cached answer, never read", () => {
  let b: BinaryOn;
  beforeAll(async () => {
    b = await runBinaryOn({ host: "127.0.41.5", upstream: up, admin: true });
  });
  afterAll(async () => { await b?.bin.stop(); });

  test("300 connections × 40 queries for a 64 KB answer: a UDP probe for a cached name never waits 500 ms", async () => {
    // the answers are cached per listener set: prime both
    for (const [host, port] of [[b.host, b.port], [b.kubeHost, b.kubePort]] as const) {
      const big = await query(host, port, "big.pipe.limits.test", "TXT", { tcp: true, timeoutMs: 3000 });
      expect(packet.encode(big).length).toBeGreaterThan(64_000);
    }
    const probeName = "probe.pipe.limits.test";
    expect((await query(b.host, b.port, probeName, "A")).answers[0]?.data).toBe(addressFor(probeName));
    const conns: { s: net.Socket; gone: () => boolean }[] = [];
    for (let i = 0; i < 300; i++) conns.push(await rawConnect(i % 2 ? b.kubeHost : b.host, i % 2 ? b.kubePort : b.port, false));
    const q = framed(makeQuery("big.pipe.limits.test", "TXT", { id: 9 }));
    const burst = Buffer.concat(Array.from({ length: 40 }, () => q));
    const probe = probeLoop(b.host, b.port, probeName);
    await sleep(100);
    for (const c of conns) c.s.write(burst);
    await sleep(5000);
    const waits = await probe.stop();
    expect(waits.length).toBeGreaterThan(50);
    const worst = Math.max(...waits);
    expect({ lost: waits.filter((w) => w === Infinity).length, slow: waits.filter((w) => w >= 500).length }).toEqual({ lost: 0, slow: 0 });
    expect(worst).toBeLessThan(500);
    for (const c of conns) c.s.destroy();
    await answersBoth(b, probeName);
  }, 60_000);
});

describe("a client that pipelines more than it reads", () => {
  let b: BinaryOn;
  beforeAll(async () => {
    b = await runBinaryOn({ host: "127.0.41.7", upstream: up, admin: true });
  });
  afterAll(async () => { await b?.bin.stop(); });

  test("2,000 queries for a 64 KB answer, never read: only what the kernel takes is answered, the rest is not even read", async () => {
    await query(b.host, b.port, "big.read.limits.test", "TXT", { tcp: true, timeoutMs: 3000 });
    const tcpTxt = 'coredns_dns_requests_total{server="vnetDNS",zone=".",proto="tcp",family="1",type="TXT"}';
    const before = (await metric(b.admin!, tcpTxt))!;
    const c = await rawConnect(b.host, b.port, false);
    const q = framed(makeQuery("big.read.limits.test", "TXT", { id: 10 }));
    c.s.write(Buffer.concat(Array.from({ length: 2000 }, () => q)));
    await sleep(2000);
    const handled = (await metric(b.admin!, tcpTxt))! - before;
    expect(handled).toBeGreaterThan(0);
    expect(handled).toBeLessThan(500);
    c.s.destroy();
  }, 20_000);
});
