// The hand-off ring between a loop Worker and its owner: its bounds (records and bytes), order across
// many wrap-arounds, refresh offsets and flags, and what a stop does with records still in it. Real
// loopback sockets and a real loop Worker (test/helpers/net-handlers.ts), plus the ring's own
// position arithmetic where it wraps at 2^32 (which traffic would take hours to reach).
import { describe, test, expect, beforeAll, afterEach } from "bun:test";
import { openFfiNet } from "../src/net/ffi-net";
import type { LibcNet } from "../src/net/libc-net";
import type { NetLayout } from "../src/net/layout";
import { createUdpSocket, type OwnedUdpSocket } from "../src/net/udp-socket";
import { planSlotRegion, slotRegionBytes } from "../src/net/slots";
import { UdpLoopHandle } from "../src/net/udp-loop-handle";
import type { HandedOff } from "../src/net/udp-loop";
import { MAX_PENDING_HANDOFFS } from "../src/net/loop-control";
import { HandOffRingReader, HandOffRingWriter, RING_BYTES, RING_HEADER_BYTES, createHandOffRing } from "../src/net/handoff-ring";
import { testClient, until, type TestClient } from "./helpers/net-clients";

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
  for (const s of sockets.splice(0)) lib.close(s.fd);
});

async function startLoop(options: unknown, slotSize = 2048) {
  const sock = createUdpSocket(lib, { host: "127.0.0.1", port: 0 }, { receiveBuffer: 16 << 20 });
  sockets.push(sock);
  const count = 32;
  const slots = planSlotRegion(new SharedArrayBuffer(slotRegionBytes(count, slotSize) + 64), count, slotSize, 64);
  const loop = await UdpLoopHandle.start(lib, layout, { fds: [sock.fd], slots, handler: { module: HANDLERS, export: "createEchoHandler", options } });
  loops.push(loop);
  const c = await testClient();
  clients.push(c);
  return { sock, loop, c };
}

const M = 0x4d; // 'M': the echo handler hands it off
const busy = (ms: number) => { const end = Date.now() + ms; while (Date.now() < end) { /* the owner serves nothing */ } };
/** A miss datagram of `size` octets numbered `seq`: M, the number (u32), then a pattern of the number. */
function miss(seq: number, size: number): Uint8Array {
  const d = new Uint8Array(size);
  d[0] = M;
  new DataView(d.buffer).setUint32(1, seq, true);
  for (let k = 5; k < size; k++) d[k] = (seq + k) & 0xff;
  return d;
}

describe("bounds", () => {
  test("large datagrams: the byte budget bounds what waits; the rest are dropped and counted, and the loop serves on", async () => {
    const { sock, loop, c } = await startLoop({ missByte: M });
    const got: HandedOff[] = [];
    loop.onHandOff = (d) => got.push(d);
    const sent = 1000, size = 1000;
    const rssBefore = process.memoryUsage().rss;
    for (let i = 0; i < sent; i++) c.send(miss(i, size), sock.port, "127.0.0.1");
    busy(1000); // every datagram reaches the loop while the owner serves nothing
    expect(await until(() => loop.stats().received === sent && got.length + loop.stats().handOffsDropped === sent)).toBe(true);
    // a record is 16 octets of header, 32 of address and the data, rounded up to 16: 1,056 here
    const fit = Math.floor(RING_BYTES / 1056);
    expect(got.length).toBe(fit);
    expect(loop.stats().handOffsDropped).toBe(sent - fit);
    expect(loop.stats().handedOff).toBe(fit);
    // the first ones, in order, intact
    got.forEach((d, i) => expect(d.data).toEqual(miss(i, size)));
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 << 20);
    // the ring is empty again: the next miss is served, a hit answered
    loop.onHandOff = (d) => { got.push(d); loop.sendTo(d.socket, d.address, new TextEncoder().encode("late")); };
    c.send(miss(5000, 20), sock.port, "127.0.0.1");
    c.send(new TextEncoder().encode("hit"), sock.port, "127.0.0.1");
    expect(await until(() => c.replies.length === 2)).toBe(true);
    expect(c.replies.map((r) => new TextDecoder().decode(r.data)).sort()).toEqual(["hit", "late"]);
    expect(loop.handOffsWaiting).toBe(0);
  });

  test(`small datagrams: at most ${MAX_PENDING_HANDOFFS} records wait (the smallest record, 64 octets, fills the ring with as many)`, async () => {
    const { sock, loop, c } = await startLoop({ missByte: M });
    let served = 0;
    loop.onHandOff = () => { served++; };
    const sent = 6000;
    for (let i = 0; i < sent; i++) c.send(miss(i, 12), sock.port, "127.0.0.1"); // 64-octet records: 4,096 fill the ring
    expect(MAX_PENDING_HANDOFFS * 64).toBe(RING_BYTES);
    busy(1000);
    expect(await until(() => loop.stats().received === sent && served + loop.stats().handOffsDropped === sent)).toBe(true);
    expect(served).toBe(MAX_PENDING_HANDOFFS);
    expect(loop.stats().handOffsDropped).toBe(sent - MAX_PENDING_HANDOFFS);
  });

  test("a miss flood served as it comes: the process's memory stays flat (no per-packet garbage on the loop thread)", async () => {
    const { sock, loop, c } = await startLoop({ missByte: M });
    let served = 0;
    loop.onHandOff = () => { served++; };
    let asked = 0;
    const round = async (n: number) => {
      for (let i = 0; i < n; i += 200) { // paced: 200 at a time, each batch served before the next
        for (let k = 0; k < 200; k++) c.send(miss(i + k, 60), sock.port, "127.0.0.1");
        asked += 200;
        expect(await until(() => served + loop.stats().handOffsDropped === asked, 10_000)).toBe(true);
      }
    };
    await round(20_000); // warm: code compiled, pools filled
    Bun.gc(true);
    const before = process.memoryUsage().rss;
    await round(100_000);
    Bun.gc(true);
    const grown = process.memoryUsage().rss - before;
    console.log(`hand-off flood: 100,000 hand-offs, RSS grew ${(grown / 1048576).toFixed(1)} MiB, ${loop.stats().handOffsDropped} dropped`);
    expect(grown).toBeLessThan(24 << 20);
  }, 60_000);
});

describe("order and fields", () => {
  test("thousands of records of mixed sizes arrive in order and intact while the ring wraps many times", async () => {
    const { sock, loop, c } = await startLoop({ missByte: M });
    const got: HandedOff[] = [];
    loop.onHandOff = (d) => got.push(d);
    const total = 4000;
    const sizeOf = (i: number) => 5 + ((i * 7919) % 1500);
    let bytes = 0;
    for (let i = 0; i < total; i += 100) {
      for (let k = i; k < i + 100; k++) { c.send(miss(k, sizeOf(k)), sock.port, "127.0.0.1"); bytes += 48 + sizeOf(k); }
      expect(await until(() => got.length === i + 100)).toBe(true); // paced: nothing is dropped
    }
    expect(bytes).toBeGreaterThan(8 * RING_BYTES); // wrapped at least 8 times
    expect(loop.stats().handOffsDropped).toBe(0);
    for (let i = 0; i < total; i++) {
      if (got[i].data.length !== sizeOf(i) || new DataView(got[i].data.buffer).getUint32(1, true) !== i) throw new Error(`record ${i}: ${got[i].data.length} octets, number ${new DataView(got[i].data.buffer).getUint32(1, true)}`);
      expect(got[i].data).toEqual(miss(i, sizeOf(i)));
    }
    expect(got.every((d) => d.socket === 0 && d.kind === 0 && !d.truncated && d.address.length === 16)).toBe(true);
    expect(new DataView(got[0].address.buffer).getUint16(2, false)).toBe(c.port);
  });

  test("a refresh carries its kind and the query from its offset; a truncated miss is flagged with the slot's bytes", async () => {
    const R = 0x52;
    const { sock, loop, c } = await startLoop({ missByte: M, refreshByte: R }, 512);
    const got: HandedOff[] = [];
    loop.onHandOff = (d) => got.push(d);
    const q = new Uint8Array([R, 1, 2, 3, 4, 5]);
    c.send(q, sock.port, "127.0.0.1");
    expect(await until(() => got.length === 1 && c.replies.length === 1)).toBe(true);
    expect(c.replies[0].data).toEqual(new Uint8Array([R, ...q])); // answered from the loop
    expect(got[0].kind).toBe(2);
    expect(got[0].data).toEqual(q);
    expect(got[0].truncated).toBe(false);
    c.send(miss(7, 900), sock.port, "127.0.0.1");
    expect(await until(() => got.length === 2)).toBe(true);
    expect(got[1].truncated).toBe(true);
    expect(got[1].data).toEqual(miss(7, 900).subarray(0, 512));
  });
});

describe("stop", () => {
  for (const how of ["stop", "drainAndStop"] as const) {
    test(`${how}: records still in the ring are served before it resolves`, async () => {
      const { sock, loop, c } = await startLoop({ missByte: M });
      const got: HandedOff[] = [];
      loop.onHandOff = (d) => got.push(d);
      for (let i = 0; i < 300; i++) c.send(miss(i, 40), sock.port, "127.0.0.1");
      busy(500); // the loop hands them off; the owner has not woken yet
      expect(loop.handOffsWaiting).toBe(300);
      const report = await loop[how]();
      loops.splice(loops.indexOf(loop), 1);
      expect(report.end).toBe("stopped");
      expect(got.length).toBe(300);
      got.forEach((d, i) => expect(new DataView(d.data.buffer).getUint32(1, true)).toBe(i));
      expect(report.stats.handedOff).toBe(300);
      expect(loop.handOffsWaiting).toBe(0);
    });
  }
});

describe("ring positions", () => {
  test("HEAD and TAIL wrapping past 2^32 keep order and the bound", () => {
    const sab = createHandOffRing();
    const ctrl = new Int32Array(sab, 0, RING_HEADER_BYTES / 4);
    const start = (2 ** 32 - 3 * 1024) | 0; // 3 KiB before the u32 positions wrap
    Atomics.store(ctrl, 0, start); Atomics.store(ctrl, 1, start);
    const w = new HandOffRingWriter(sab), r = new HandOffRingReader(sab);
    const addr = new Uint8Array([2, 0, 0, 53, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    const src = new Uint8Array(4096).map((_, k) => k & 0xff);
    const seen: number[] = [];
    let next = 0;
    for (let round = 0; round < 200; round++) {
      // fill until refused, then drain everything: each round wraps the byte ring or the u32 positions
      let wrote = 0;
      while (w.write(src, next % 200, 100 + (next % 900), addr, 0, 16, next & 0xffff, (next & 1) === 1, next % 3)) { next++; wrote++; }
      expect(wrote).toBeGreaterThan(0);
      r.drain((socket, kind, truncated, address, data) => {
        const i = seen.length;
        seen.push(kind);
        if (socket !== i % 3 || truncated !== ((i & 1) === 1) || data.length !== 100 + (i % 900) || data[0] !== (i % 200) || address[3] !== 53) throw new Error(`record ${i} differs`);
      });
      expect(r.waiting).toBe(0);
    }
    expect(seen.length).toBe(next);
    expect(seen.every((k, i) => k === (i & 0xffff))).toBe(true);
    expect((Atomics.load(ctrl, 0) >>> 0) < (start >>> 0)).toBe(true); // the u32 position did wrap
  });
});
