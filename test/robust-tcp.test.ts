// TCP abuse against the compiled binary: more idle connections than server.maxTcpConnections,
// clients that pipeline thousands of queries for a large answer and never read, a client that
// half-closes after its queries, slowloris partial frames and trickles, and listeners that must answer
// on their configured addresses only.
import { describe, test, expect, beforeAll, afterAll } from "bun:test";
import * as net from "node:net";
import * as dgram from "node:dgram";
import { startFastUpstream, addressFor, type FastUpstream } from "./helpers/fast-upstream";
import { runBinaryOn, rssKiB, fdCount, framed, TcpClient, waitFor, type BinaryOn } from "./helpers/robust";
import { query, makeQuery, sleep, packet } from "./helpers/dns";

const CAP = 20;
const IDLE_MS = 600; // the slowloris binary's server.tcpIdleTimeoutMs

let up: FastUpstream;
let main: BinaryOn; // maxTcpConnections CAP, default idle timeout (10 s)
let slow: BinaryOn; // short idle timeout
const open: { destroy(): void }[] = [];

beforeAll(async () => {
  up = await startFastUpstream("127.0.10.9", 0, { hotSuffix: "robust.test", hotTtl: 3600, bigBytes: 16000 });
  main = await runBinaryOn({ host: "127.0.10.1", upstream: up, extra: { cache: { snapshotPath: null }, server: { maxTcpConnections: CAP } } });
  slow = await runBinaryOn({ host: "127.0.10.5", upstream: up, extra: { cache: { snapshotPath: null }, server: { tcpIdleTimeoutMs: IDLE_MS } } });
});
afterAll(async () => {
  for (const c of open) c.destroy();
  await main?.bin.stop();
  await slow?.bin.stop();
  await up?.stop();
});

async function connect(b: BinaryOn): Promise<TcpClient> {
  const c = await TcpClient.connect(b.host, b.port);
  open.push(c);
  return c;
}

/** One query on an open connection; resolves with the decoded answer or null after ms. */
async function ask(c: TcpClient, name: string, id: number, ms = 2000): Promise<any | null> {
  const before = c.answers.length;
  c.send(framed(makeQuery(name, "A", { id })));
  const got = await c.until(() => c.answers.slice(before).some((a) => a.readUInt16BE(0) === id) || c.closed, ms);
  const a = c.answers.slice(before).find((x) => x.readUInt16BE(0) === id);
  return got && a ? packet.decode(a) : null;
}

async function stillServes(b: BinaryOn, name: string): Promise<void> {
  const u = await query(b.host, b.port, name, "A", { timeoutMs: 2000 });
  expect(u.answers[0]?.data).toBe(addressFor(name));
  const t = await query(b.host, b.port, name, "A", { tcp: true, timeoutMs: 2000 });
  expect(t.answers[0]?.data).toBe(addressFor(name));
}

describe("connection cap", () => {
  test(`beyond maxTcpConnections (${CAP}) the longest-idle connection is closed and new ones are served`, async () => {
    const fdBase = fdCount(main.pid);
    const conns: TcpClient[] = [];
    for (let i = 0; i < CAP; i++) { conns.push(await connect(main)); await sleep(15); }
    await sleep(50);
    expect(conns.every((c) => !c.closed)).toBe(true);
    // the oldest one becomes the most recently active: the next-oldest is now the longest idle
    expect((await ask(conns[0], "c0.cap.robust.test", 1))?.answers[0].data).toBe(addressFor("c0.cap.robust.test"));
    const extra = await connect(main);
    expect(await waitFor(() => conns[1].closed, 2000)).toBe(true);
    expect(conns[0].closed).toBe(false);
    expect((await ask(extra, "extra.cap.robust.test", 2))?.answers[0].data).toBe(addressFor("extra.cap.robust.test"));
    // five more: the five longest idle go, in order; every newcomer is served
    const more: TcpClient[] = [];
    for (let i = 0; i < 5; i++) {
      more.push(await connect(main));
      expect(await waitFor(() => conns[2 + i].closed, 2000)).toBe(true);
    }
    await sleep(100);
    expect(conns.slice(7).every((c) => !c.closed)).toBe(true);
    for (const [i, c] of more.entries()) expect((await ask(c, `m${i}.cap.robust.test`, 10 + i))?.rcode).toBe("NOERROR");
    expect((await ask(conns[0], "c0-again.cap.robust.test", 3))?.rcode).toBe("NOERROR");
    // a flood of 200 connections: the process keeps at most about CAP of them
    const flood: net.Socket[] = [];
    for (let i = 0; i < 200; i++) {
      const s = net.connect({ host: main.host, port: main.port });
      s.on("error", () => {});
      flood.push(s);
      open.push(s);
    }
    await sleep(500);
    expect(fdCount(main.pid)).toBeLessThanOrEqual(fdBase + CAP + 5);
    for (const s of flood) s.destroy();
    for (const c of [...conns, extra, ...more]) c.destroy();
    await stillServes(main, "after-cap.robust.test");
  }, 20_000);
});

describe("a client that never reads its answers", () => {
  test("buffering per connection is bounded, the server closes it, and keeps answering everyone else", async () => {
    // prime a ~16 KB answer (TXT, fetched upstream over TCP after a truncated UDP reply)
    const big = await query(main.host, main.port, "big0.robust.test", "TXT", { tcp: true });
    expect(packet.encode(big).length).toBeGreaterThan(15_000);
    await sleep(200);
    const rssBefore = rssKiB(main.pid);
    const fdBefore = fdCount(main.pid);
    const q = framed(makeQuery("big0.robust.test", "TXT", { id: 7 }));
    const socks: { s: net.Socket; gone: boolean }[] = [];
    // 10 clients, each pipelining 4,000 queries (64 MB of answers each) and never reading
    for (let i = 0; i < 10; i++) {
      const s = net.connect({ host: main.host, port: main.port });
      const e = { s, gone: false };
      s.pause();
      s.on("error", () => { e.gone = true; });
      s.on("end", () => { e.gone = true; });
      s.on("close", () => { e.gone = true; });
      await new Promise((r) => s.once("connect", r));
      s.write(Buffer.concat(Array.from({ length: 4000 }, () => q)));
      socks.push(e);
      open.push(s);
    }
    // meanwhile everyone else is answered promptly
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await stillServes(main, `bystander${i}.robust.test`);
      expect(performance.now() - t0).toBeLessThan(1500);
      await sleep(100);
    }
    // the server gives up on each of them (reset or end), without the client doing anything: it stops
    // reading their queries once the kernel takes no more answers, and closes them after the idle
    // timeout (10 s)
    expect(await waitFor(() => socks.every((x) => x.gone), 15_000)).toBe(true);
    const rssAfter = rssKiB(main.pid);
    // at most ~1 MiB of queued answers per connection, not 64 MB
    expect(rssAfter - rssBefore).toBeLessThan(10 * 1024 * 3);
    // and their sockets are gone from the process even though the clients never closed theirs
    expect(await waitFor(() => fdCount(main.pid) <= fdBefore + 1, 5000)).toBe(true);
    for (const x of socks) x.s.destroy();
    await stillServes(main, "after-noread.robust.test");
  }, 30_000);
});

describe("half-close", () => {
  test("a client that half-closes (FIN) after its last query still gets every answer, misses included", async () => {
    const s = net.connect({ host: main.host, port: main.port, allowHalfOpen: true });
    open.push(s);
    await new Promise((r) => s.once("connect", r));
    let buf = Buffer.alloc(0);
    let ended = false;
    s.on("data", (d: Buffer) => { buf = Buffer.concat([buf, d]); });
    s.on("end", () => { ended = true; s.end(); });
    s.on("error", () => {});
    const names = Array.from({ length: 5 }, (_, i) => `half-${i}-${Date.now()}.robust.test`); // not cached: upstream round trips
    s.write(Buffer.concat(names.map((n, i) => framed(makeQuery(n, "A", { id: 100 + i })))));
    s.end(); // no more queries; still reading (RFC 7766 leaves the connection to the server to close)
    await waitFor(() => ended, 3000);
    const answers: number[] = [];
    for (let p = 0; p + 2 <= buf.length && p + 2 + buf.readUInt16BE(p) <= buf.length; p += 2 + buf.readUInt16BE(p)) answers.push(buf.readUInt16BE(p + 2));
    expect(answers.sort()).toEqual([100, 101, 102, 103, 104]);
    s.destroy();
  });
});

describe("slowloris", () => {
  test(`a connection holding a partial frame is closed after tcpIdleTimeoutMs (${IDLE_MS} ms)`, async () => {
    const half = await connect(slow); // one octet of the length prefix
    const body = await connect(slow); // the prefix and part of the message
    const q = framed(makeQuery("partial.robust.test", "A", { id: 5 }));
    const t0 = Date.now();
    half.send(q.subarray(0, 1));
    body.send(q.subarray(0, 10));
    expect(await waitFor(() => half.closed && body.closed, IDLE_MS * 3 + 1500)).toBe(true);
    expect(half.closedAt! - t0).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(body.closedAt! - t0).toBeGreaterThanOrEqual(IDLE_MS - 50);
    expect(half.answers.length + body.answers.length).toBe(0);
    await stillServes(slow, "after-partial.robust.test");
  }, 15_000);

  test("an idle connection after a complete query is closed after tcpIdleTimeoutMs too", async () => {
    const c = await connect(slow);
    expect((await ask(c, "idle.robust.test", 9))?.rcode).toBe("NOERROR");
    const t0 = Date.now();
    expect(await waitFor(() => c.closed, IDLE_MS * 3 + 1500)).toBe(true);
    expect(c.closedAt! - t0).toBeGreaterThanOrEqual(IDLE_MS - 50);
  }, 15_000);

  test("a client trickling one octet of a frame at a time, each within the idle timeout, is still closed", async () => {
    // the length prefix announces 300 octets; one octet arrives every IDLE_MS/2: the frame would take
    // 90 s to complete. A per-message deadline (miekg/dns: readTimeout per message) closes it; a timer
    // reset by every chunk never does.
    const c = await connect(slow);
    const msg = Buffer.concat([Buffer.from([0x01, 0x2c]), Buffer.alloc(300, 0x41)]);
    const t0 = Date.now();
    const limit = IDLE_MS * 6;
    for (let i = 0; i < msg.length && !c.closed && Date.now() - t0 < limit + 1000; i++) {
      c.send(msg.subarray(i, i + 1));
      await sleep(IDLE_MS / 2);
    }
    const closedAfter = c.closed ? c.closedAt! - t0 : null;
    expect({ closed: c.closed, withinMs: closedAfter !== null && closedAfter <= limit + 500 }).toEqual({ closed: true, withinMs: true });
  }, 15_000);

  test("100 slowloris connections do not stop the listener from answering", async () => {
    const conns: TcpClient[] = [];
    for (let i = 0; i < 100; i++) {
      const c = await connect(slow);
      c.send(Buffer.from([0x00])); // half a length prefix, forever
      conns.push(c);
    }
    for (let i = 0; i < 5; i++) await stillServes(slow, `busy${i}.robust.test`);
    expect(await waitFor(() => conns.every((c) => c.closed), IDLE_MS * 3 + 3000)).toBe(true);
    await stillServes(slow, "after-100.robust.test");
  }, 20_000);
});

describe("listener addresses", () => {
  test("answers come only from the configured addresses; other loopback addresses on the same port get nothing", async () => {
    // configured: vnet 127.0.10.1:P and kube 127.0.10.2:P; answers come from exactly those addresses
    for (const host of [main.host, main.kubeHost]) {
      const from = await udpFrom(host, main.port, makeQuery("addr.robust.test", "A", { id: 77 }));
      expect(from?.address).toBe(host);
    }
    for (const host of ["127.0.10.3", "127.0.0.1", "127.1.2.3"]) {
      expect(await udpFrom(host, main.port, makeQuery("other.robust.test", "A", { id: 78 }), 600)).toBeNull();
      const err = await new Promise<string>((resolve) => {
        const s = net.connect({ host, port: main.port });
        s.on("connect", () => { s.destroy(); resolve("connected"); });
        s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      });
      expect(err).toBe("ECONNREFUSED");
    }
    // IPv6 loopback too, when the host has it
    const v6 = await udpFrom("::1", main.port, makeQuery("other6.robust.test", "A", { id: 79 }), 600).catch(() => null);
    expect(v6).toBeNull();
  });
});

/** One UDP exchange; resolves with the answer's source address, or null after ms (or on an error). */
function udpFrom(host: string, port: number, msg: Uint8Array, ms = 2000): Promise<{ address: string; port: number } | null> {
  return new Promise((resolve) => {
    const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    const done = (v: { address: string; port: number } | null) => { clearTimeout(t); try { s.close(); } catch { /* closed */ } resolve(v); };
    const t = setTimeout(() => done(null), ms);
    s.on("error", () => done(null));
    s.on("message", (_m, r) => done({ address: r.address, port: r.port }));
    s.send(msg, port, host);
  });
}
