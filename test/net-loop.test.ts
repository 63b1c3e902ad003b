// The FFI UDP loop on real loopback sockets: a Worker serving a test handler (test/helpers/net-handlers.ts).
import { describe, test, expect, beforeAll, afterEach } from "bun:test";
import { readdirSync } from "node:fs";
import { openFfiNet } from "../src/net/ffi-net";
import type { LibcNet } from "../src/net/libc-net";
import type { NetLayout } from "../src/net/layout";
import { createUdpSocket, type OwnedUdpSocket } from "../src/net/udp-socket";
import { planSlotRegion, slotRegionBytes } from "../src/net/slots";
import { UdpLoopHandle } from "../src/net/udp-loop-handle";
import { steerReuseportGroup, boundUdpSocketCount } from "../src/net/reuseport-steer";
import { joinAndSteer, releaseTakeover } from "../src/net/takeover";
import { MAX_PENDING_HANDOFFS } from "../src/net/loop-control";
import { testClient, until, sleep, type TestClient } from "./helpers/net-clients";

const HANDLERS = new URL("./helpers/net-handlers.ts", import.meta.url).href;
let lib: LibcNet, layout: NetLayout;
const loops: UdpLoopHandle[] = [];
const clients: TestClient[] = [];
const sockets: OwnedUdpSocket[] = [];

beforeAll(async () => {
  const net = await openFfiNet(() => undefined, []);
  if (!net.ok) throw new Error(`FFI unavailable here: ${net.reason}`);
  ({ lib, layout } = net);
});

afterEach(async () => {
  for (const l of loops.splice(0)) await l.stop().catch(() => {});
  for (const c of clients.splice(0)) c.close();
  for (const s of sockets.splice(0)) lib.close(s.fd); // EBADF for the ones a loop closed: harmless
});

function region(count = 32, slotSize = 512) {
  return planSlotRegion(new SharedArrayBuffer(slotRegionBytes(count, slotSize) + 64), count, slotSize, 64);
}

async function startLoop(fds: number[], options: unknown = {}, count = 32, slotSize = 512) {
  const loop = await UdpLoopHandle.start(lib, layout, { fds, slots: region(count, slotSize), handler: { module: HANDLERS, export: "createEchoHandler", options } });
  loops.push(loop);
  return loop;
}

function open(host: string, port = 0, reusePort = false, receiveBuffer?: number): OwnedUdpSocket {
  const s = createUdpSocket(lib, { host, port }, { reusePort, receiveBuffer });
  sockets.push(s);
  return s;
}

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("echo loop", () => {
  for (const host of ["127.0.0.1", "::1"]) {
    test(`answers every datagram of 20 clients on ${host}, each to its own source`, async () => {
      const sock = open(host);
      await startLoop([sock.fd]);
      const cs = await Promise.all(Array.from({ length: 20 }, () => testClient(host)));
      clients.push(...cs);
      const PER = 50;
      for (let k = 0; k < PER; k++) cs.forEach((c, j) => c.send(new TextEncoder().encode(`c${j} q${k}`), sock.port, host));
      expect(await until(() => cs.every((c) => c.replies.length === PER))).toBe(true);
      cs.forEach((c, j) => {
        const got = c.replies.map((r) => text(r.data)).sort();
        expect(got).toEqual(Array.from({ length: PER }, (_, k) => `c${j} q${k}`).sort());
        expect(c.replies.every((r) => r.port === sock.port)).toBe(true);
      });
      const st = loops[0].stats();
      expect(st.received).toBe(20 * PER);
      expect(st.answered).toBe(20 * PER);
      expect(st.sendErrors).toBe(0);
    });
  }

  test("a datagram longer than its slot is marked truncated for the handler", async () => {
    const sock = open("127.0.0.1");
    await startLoop([sock.fd], {}, 4, 64);
    const c = await testClient();
    clients.push(c);
    c.send(new Uint8Array(200).fill(7), sock.port, "127.0.0.1");
    c.send(new Uint8Array(64).fill(8), sock.port, "127.0.0.1"); // exactly a slot: not truncated
    expect(await until(() => c.replies.length === 2)).toBe(true);
    const [a, b] = c.replies.map((r) => r.data);
    expect(text(a)).toBe("TRUNC 64");
    expect(b).toEqual(new Uint8Array(64).fill(8));
    expect(loops[0].stats().truncated).toBe(1);
  });

  test("one loop serves an IPv4 and an IPv6 socket", async () => {
    const v4 = open("127.0.0.1"), v6 = open("::1");
    await startLoop([v4.fd, v6.fd]);
    const c4 = await testClient("127.0.0.1"), c6 = await testClient("::1");
    clients.push(c4, c6);
    c4.send(new TextEncoder().encode("four"), v4.port, "127.0.0.1");
    c6.send(new TextEncoder().encode("six"), v6.port, "::1");
    expect(await until(() => c4.replies.length === 1 && c6.replies.length === 1)).toBe(true);
    expect(text(c4.replies[0].data)).toBe("four");
    expect(text(c6.replies[0].data)).toBe("six");
  });
});

describe("control", () => {
  test("stop wakes a loop blocked in epoll_wait promptly and leaves the socket open", async () => {
    const sock = open("127.0.0.1");
    const loop = await startLoop([sock.fd]);
    await sleep(50); // the loop is idle in epoll_wait now
    const t0 = performance.now();
    const report = await loop.stop();
    const ms = performance.now() - t0;
    loops.splice(loops.indexOf(loop), 1);
    expect(report.end).toBe("stopped");
    expect(ms).toBeLessThan(1000);
    expect(loop.socketsClosed).toBe(false);
    // still ours: a new loop serves it
    await startLoop([sock.fd]);
    const c = await testClient();
    clients.push(c);
    c.send(new TextEncoder().encode("again"), sock.port, "127.0.0.1");
    expect(await until(() => c.replies.length === 1)).toBe(true);
  });

  test("a handler module without the factory fails start-up with the reason", async () => {
    const sock = open("127.0.0.1");
    const before = readdirSync("/proc/self/fd").length;
    const start = UdpLoopHandle.start(lib, layout, { fds: [sock.fd], slots: region(), handler: { module: HANDLERS, export: "noSuchFactory" } });
    await expect(start).rejects.toThrow(/exports no function noSuchFactory/);
    const failing = UdpLoopHandle.start(lib, layout, { fds: [sock.fd], slots: region(), handler: { module: HANDLERS, export: "createFailingHandler" } });
    await expect(failing).rejects.toThrow(/handler factory refused/);
    // the eventfds and the Workers' epoll fds are released
    expect(await until(() => readdirSync("/proc/self/fd").length === before)).toBe(true);
  });

  test("bad slot regions are refused before a Worker starts", async () => {
    const sock = open("127.0.0.1");
    const tiny = { memory: new SharedArrayBuffer(1024), dataOffset: 0, metaOffset: 512, count: 32, slotSize: 512 };
    await expect(UdpLoopHandle.start(lib, layout, { fds: [sock.fd], slots: tiny, handler: { module: HANDLERS } })).rejects.toThrow(/past the memory/);
    const plain = { ...tiny, memory: new ArrayBuffer(1 << 20) as unknown as SharedArrayBuffer };
    await expect(UdpLoopHandle.start(lib, layout, { fds: [sock.fd], slots: plain, handler: { module: HANDLERS } })).rejects.toThrow(/SharedArrayBuffer/);
    await expect(UdpLoopHandle.start(lib, layout, { fds: [], slots: region(), handler: { module: HANDLERS } })).rejects.toThrow(/at least one socket/);
  });
});

describe("miss path", () => {
  test("a handed-off datagram reaches the owner with its binary source and is answered later by sendTo", async () => {
    const sock = open("::1");
    const loop = await startLoop([sock.fd], { missByte: 0x4d /* M */ });
    const got: { socket: number; address: Uint8Array; data: Uint8Array }[] = [];
    loop.onHandOff = (d) => got.push(d);
    const c = await testClient("::1");
    clients.push(c);
    c.send(new TextEncoder().encode("Miss me"), sock.port, "::1");
    c.send(new TextEncoder().encode("hit"), sock.port, "::1");
    expect(await until(() => got.length === 1 && c.replies.length === 1)).toBe(true);
    expect(text(c.replies[0].data)).toBe("hit");
    expect(text(got[0].data)).toBe("Miss me");
    expect(got[0].address.length).toBe(28);
    expect(new DataView(got[0].address.buffer).getUint16(2, false)).toBe(c.port);
    expect(loop.sendTo(got[0].socket, got[0].address, new TextEncoder().encode("late answer"))).toBe(true);
    expect(await until(() => c.replies.length === 2)).toBe(true);
    expect(text(c.replies[1].data)).toBe("late answer");
    expect(loop.stats().handedOff).toBe(1);
    expect(loop.sendTo(5, got[0].address, new Uint8Array(1))).toBe(false); // no such socket
  });
});

describe("hand-off bound", () => {
  test("while the owner is busy, at most MAX_PENDING_HANDOFFS wait for it; the rest are dropped and counted", async () => {
    const sock = open("127.0.0.1", 0, false, 16 << 20);
    const loop = await startLoop([sock.fd], { missByte: 0x4d /* M */ });
    let served = 0;
    loop.onHandOff = () => { served++; };
    const c = await testClient();
    clients.push(c);
    const msg = new TextEncoder().encode("Miss");
    // the owner's thread is kept busy while the loop hands off 6,000 datagrams (4-octet records of 64
    // octets in the hand-off ring: the record bound and the byte budget coincide)
    const sent = 6000;
    for (let i = 0; i < sent; i++) c.send(msg, sock.port, "127.0.0.1");
    const until2 = Date.now() + 1000;
    while (Date.now() < until2) { /* busy: no hand-off is served */ }
    expect(await until(() => served + loop.stats().handOffsDropped === sent && loop.stats().received === sent)).toBe(true);
    expect(served).toBe(MAX_PENDING_HANDOFFS);
    expect(loop.stats().handOffsDropped).toBe(sent - MAX_PENDING_HANDOFFS);
  });
});

describe("SO_REUSEPORT", () => {
  test("two loops on one address both receive", async () => {
    const a = open("127.0.0.1", 0, true);
    const b = open("127.0.0.1", a.port, true);
    await startLoop([a.fd], { tag: 0x41 });
    await startLoop([b.fd], { tag: 0x42 });
    // the group hashes by source: many client sockets spread over both
    const cs = await Promise.all(Array.from({ length: 32 }, () => testClient()));
    clients.push(...cs);
    cs.forEach((c) => c.send(new TextEncoder().encode("x"), a.port, "127.0.0.1"));
    expect(await until(() => cs.every((c) => c.replies.length === 1))).toBe(true);
    const tags = new Set(cs.map((c) => c.replies[0].data[0]));
    expect([...tags].sort()).toEqual([0x41, 0x42]);
  });

  test("joining a group nobody else is bound to steers nothing", () => {
    const t = joinAndSteer(lib, layout, { host: "::1", port: 0 });
    sockets.push(t.socket);
    expect(t.steeredTo).toBeNull();
  });

  test("a cBPF steer sends every new datagram to the newest socket", async () => {
    const host = "127.0.0.1";
    const old = open(host, 0, true);
    expect(boundUdpSocketCount({ host, port: old.port })).toBe(1);
    const fresh = open(host, old.port, true); // index 1 in the group
    steerReuseportGroup(lib, layout, fresh.fd, 1);
    await startLoop([old.fd], { tag: 0x4f });
    await startLoop([fresh.fd], { tag: 0x4e });
    const cs = await Promise.all(Array.from({ length: 32 }, () => testClient()));
    clients.push(...cs);
    cs.forEach((c) => c.send(new TextEncoder().encode("x"), old.port, host));
    expect(await until(() => cs.every((c) => c.replies.length === 1))).toBe(true);
    expect(cs.every((c) => c.replies[0].data[0] === 0x4e)).toBe(true);
    expect(loops[0].stats().received).toBe(0);
  });

  test("hand-over: steer, then the old loop drains and closes; none of a steady stream is lost", async () => {
    const host = "127.0.0.1";
    const old = open(host, 0, true);
    const oldLoop = await startLoop([old.fd], { tag: 0x4f });
    const cs = await Promise.all(Array.from({ length: 8 }, () => testClient()));
    clients.push(...cs);
    let sent = 0, sending = true;
    const stream = (async () => {
      // ~2000 datagrams/s across 8 sources for the whole hand-over
      while (sending) {
        for (const c of cs) { c.send(new TextEncoder().encode(`q${sent}`), old.port, host); sent++; }
        await sleep(4);
      }
    })();
    await sleep(150);
    const takeover = joinAndSteer(lib, layout, { host, port: old.port }, { receiveBuffer: 0 });
    sockets.push(takeover.socket);
    expect(takeover.steeredTo).toBe(1);
    await startLoop([takeover.socket.fd], { tag: 0x4e });
    await sleep(150);
    const report = await oldLoop.drainAndClose();
    loops.splice(loops.indexOf(oldLoop), 1);
    expect(report.end).toBe("closed");
    expect(oldLoop.socketsClosed).toBe(true);
    await sleep(150);
    sending = false;
    await stream;
    const received = () => cs.reduce((n, c) => n + c.replies.length, 0);
    expect(await until(() => received() === sent, 3000)).toBe(true);
    const byOld = cs.reduce((n, c) => n + c.replies.filter((r) => r.data[0] === 0x4f).length, 0);
    expect(byOld).toBeGreaterThan(0);
    expect(received() - byOld).toBeGreaterThan(0);
    expect(boundUdpSocketCount({ host, port: old.port })).toBe(1); // only the new socket is left
    releaseTakeover(lib, takeover);
    const c = await testClient();
    clients.push(c);
    c.send(new TextEncoder().encode("after"), old.port, host);
    expect(await until(() => c.replies.length === 1)).toBe(true);
    expect(c.replies[0].data[0]).toBe(0x4e);
  });
});
