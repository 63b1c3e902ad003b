// The pieces behind the TCP limits, exactly: the framer's pull API and what a partial message may
// hold, the shared budget (who is shed, and the count), and the per-turn share of the event loop.
import { describe, test, expect } from "bun:test";
import { Framer, INVALID_FRAME, WriteQueue, releaseSpareFrames, spareFrameCount } from "../src/dns/framing";
import { TcpBudget, type BudgetMember, type CloseReason } from "../src/server/tcp-budget";
import { TcpTurns } from "../src/server/tcp-turns";

const frameOf = (n: number, fill = 7) => { const b = new Uint8Array(2 + n).fill(fill); b[0] = n >> 8; b[1] = n & 0xff; return b; };

describe("Framer", () => {
  test("pipelined messages come out one at a time; the rest waits until pulled", () => {
    const f = new Framer();
    f.push(new Uint8Array([...frameOf(3, 1), ...frameOf(2, 2), ...frameOf(5, 3).subarray(0, 4)]));
    expect(f.ready).toBe(true);
    expect([...f.next()!]).toEqual([1, 1, 1]);
    expect(f.buffered).toBe(4 + 4);
    expect([...f.next()!]).toEqual([2, 2]);
    expect(f.ready).toBe(false);
    expect(f.next()).toBeNull();
    f.push(new Uint8Array([3, 3, 3]));
    expect([...f.next()!]).toEqual([3, 3, 3, 3, 3]);
    expect(f.buffered).toBe(0);
  });

  test("a zero-length frame is INVALID_FRAME", () => {
    const f = new Framer();
    f.push(new Uint8Array([0, 0, 0, 1, 9]));
    expect(f.next()).toBe(INVALID_FRAME);
    expect(f.feed(new Uint8Array([0, 0]), () => {})).toBe(false);
  });

  test("the chunk is copied: the caller may reuse it", () => {
    const f = new Framer();
    const chunk = frameOf(4, 5).subarray(0, 4);
    f.push(chunk);
    chunk.fill(0);
    f.push(new Uint8Array([5, 5]));
    expect([...f.next()!]).toEqual([5, 5, 5, 5]);
  });

  test("a 65,535-octet message less one octet, in 1-octet to 4 KiB chunks, holds at most 65,537 octets", () => {
    for (const size of [1, 100, 4096]) {
      const f = new Framer();
      const whole = frameOf(65_535);
      let maxHeld = 0;
      for (let off = 0; off < whole.length - 1; off += size) {
        f.push(whole.subarray(off, Math.min(off + size, whole.length - 1)));
        maxHeld = Math.max(maxHeld, f.held);
      }
      expect(maxHeld).toBeLessThanOrEqual(65_537);
      expect(f.buffered).toBe(65_536);
      f.push(whole.subarray(whole.length - 1));
      expect(f.next()!.length).toBe(65_535);
      // an emptied large buffer is let go
      expect(f.held).toBe(0);
    }
  });

  test("whole-frame buffers of closed connections are reused (at most 64 kept) and let go when unused", () => {
    releaseSpareFrames();
    releaseSpareFrames();
    expect(spareFrameCount()).toBe(0);
    const partial = frameOf(65_535, 1).subarray(0, 65_536);
    const closed = Array.from({ length: 100 }, () => { const f = new Framer(); f.push(partial); return f; });
    for (const f of closed) f.clear();
    expect(spareFrameCount()).toBe(64);
    const f = new Framer();
    f.push(frameOf(40_000, 9).subarray(0, 30_000));
    f.push(frameOf(40_000, 9).subarray(30_000));
    expect(spareFrameCount()).toBe(63);
    const msg = f.next()!;
    expect({ length: msg.length, all9: msg.every((b) => b === 9) }).toEqual({ length: 40_000, all9: true });
    releaseSpareFrames(); // one was taken since the last call: kept
    expect(spareFrameCount()).toBe(63);
    releaseSpareFrames(); // none taken since: let go
    expect(spareFrameCount()).toBe(0);
  });

  test("feed() delivers every complete message (the upstream side)", () => {
    const f = new Framer();
    const got: number[] = [];
    expect(f.feed(new Uint8Array([...frameOf(1, 1), ...frameOf(1, 2), 0]), (m) => got.push(m[0]))).toBe(true);
    expect(f.feed(new Uint8Array([1, 3]), (m) => got.push(m[0]))).toBe(true);
    expect(got).toEqual([1, 2, 3]);
  });
});

describe("WriteQueue", () => {
  test("what the socket does not take is queued; flush writes at most about maxBytes", () => {
    let take = 3;
    const written: number[] = [];
    const conn = { write(d: Uint8Array) { const n = Math.min(take, d.length); written.push(...d.subarray(0, n)); take -= n; return n; } };
    const q = new WriteQueue();
    q.write(conn, new Uint8Array([1, 2, 3, 4, 5]));
    expect({ bytes: q.bytes, stalled: q.stalled }).toEqual({ bytes: 2, stalled: true });
    q.hold(new Uint8Array([6, 7]));
    take = 100;
    expect(q.flush(conn, 1)).toBe(2); // stops after the first queued chunk that reaches maxBytes
    expect({ bytes: q.bytes, stalled: q.stalled }).toEqual({ bytes: 2, stalled: false });
    expect(q.flush(conn)).toBe(2);
    expect(written).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});

function member(opened: number, lastActive = opened): BudgetMember & { closedFor: CloseReason | null } {
  const m = { held: 0, opened, lastActive, closedFor: null as CloseReason | null, shed(r: CloseReason) { m.closedFor = r; } };
  return m;
}

describe("TcpBudget", () => {
  test("bytes are counted over all members; over the cap the largest goes, the oldest of equals", () => {
    const b = new TcpBudget({ maxConnections: 10, maxBytes: 1000 });
    const [a, c, d] = [member(1), member(2), member(3)];
    for (const m of [a, c, d]) b.join(m);
    b.resize(a, 400);
    b.resize(c, 400);
    b.resize(d, 100);
    expect(b.bytes).toBe(900);
    b.resize(d, 300); // 1100: a and c hold 400 each, a is older
    expect([a.closedFor, c.closedFor, d.closedFor]).toEqual(["memory", null, null]);
    expect({ bytes: b.bytes, connections: b.connections, shed: b.closed.memory }).toEqual({ bytes: 700, connections: 2, shed: 1 });
    b.resize(d, 900); // 1300: d is now the largest
    expect(d.closedFor).toBe("memory");
    expect({ bytes: b.bytes, connections: b.connections, shed: b.closed.memory }).toEqual({ bytes: 400, connections: 1, shed: 2 });
    b.leave(c);
    expect({ bytes: b.bytes, connections: b.connections }).toEqual({ bytes: 0, connections: 0 });
  });

  test("over the connection cap the longest-idle other connection goes", () => {
    const b = new TcpBudget({ maxConnections: 2, maxBytes: 1 << 20 });
    const [a, c, d] = [member(1, 50), member(2, 10), member(3)];
    b.join(a);
    b.join(c);
    b.join(d);
    expect([a.closedFor, c.closedFor, d.closedFor]).toEqual([null, "connection_cap", null]);
    expect({ connections: b.connections, capped: b.closed.connection_cap }).toEqual({ connections: 2, capped: 1 });
  });
});

describe("TcpTurns", () => {
  test("a turn takes at most queriesPerTurn queries and about bytesPerTurn bytes; queued work runs in order, later", async () => {
    const t = new TcpTurns(3, 100);
    expect([t.take(), t.take(), t.take(), t.take()]).toEqual([true, true, true, false]);
    const ran: string[] = [];
    t.later(() => ran.push("a"));
    t.later(() => ran.push("b"));
    expect(ran).toEqual([]);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(ran).toEqual(["a", "b"]);
    expect(t.take()).toBe(true);
    t.spend(100);
    expect({ room: t.room, take: t.take() }).toEqual({ room: 0, take: false });
  });
});
