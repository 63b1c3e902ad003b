// Upstream query IDs: each transport (the UDP socket set, the TCP pool) keeps at most MAX_IN_FLIGHT
// queries waiting, below the 65,536 IDs, so finding a free ID always ends; a query over the cap fails
// at once through onError, and the forwarder moves on as after any transport failure. Real sockets:
// a UDP and a TCP sink on loopback that take queries and never answer.
import { describe, test, expect, beforeAll, afterAll } from "bun:test";
import * as dgram from "node:dgram";
import * as net from "node:net";
import { bunRuntime } from "../src/runtime/bun";
import { UdpTransport } from "../src/upstream/udp-transport";
import { TcpPool } from "../src/upstream/tcp-pool";
import { Upstream } from "../src/upstream/upstream";
import { Forwarder, ReplyClass, type ForwardTask } from "../src/upstream/forwarder";
import { MAX_IN_FLIGHT, freeId } from "../src/upstream/id-space";
import type { PendingQuery } from "../src/upstream/pending";
import { silentLogger } from "../src/log";
import { startFakeUpstream, type FakeUpstream } from "./helpers/fake-upstream";
import { makeQuery, sleep } from "./helpers/dns";

const HOST = "127.0.41.21";
let udpSink: dgram.Socket;
let tcpSink: net.Server;
const tcpSockets = new Set<net.Socket>();
let port = 0;

beforeAll(async () => {
  udpSink = dgram.createSocket("udp4");
  await new Promise<void>((r) => udpSink.bind(0, HOST, () => r()));
  port = udpSink.address().port;
  udpSink.on("message", () => {}); // takes every query, answers none
  tcpSink = net.createServer((s) => { tcpSockets.add(s); s.on("data", () => {}); s.on("error", () => {}); });
  await new Promise<void>((r) => tcpSink.listen(port, HOST, () => r()));
});
afterAll(async () => {
  udpSink?.close();
  for (const s of tcpSockets) s.destroy();
  await new Promise((r) => tcpSink?.close(() => r(null)));
});

const ep = () => ({ host: HOST, port, family: 4 as const });

/** A pending query that records what happened to it. */
function pending() {
  const p = { errors: [] as string[], onReply: () => false, onError(e: Error) { p.errors.push(e.message); } };
  return p as PendingQuery & { errors: string[] };
}

/** Fills a transport to its cap with distinct IDs; returns the IDs and their withdraw functions. */
function fill(t: { allocateId(): number; send(q: Uint8Array, p: PendingQuery): () => void }) {
  const q = makeQuery("fill.ids.test", "A");
  const ids = new Set<number>();
  const withdraws: (() => void)[] = [];
  const ps: ReturnType<typeof pending>[] = [];
  for (let i = 0; i < MAX_IN_FLIGHT; i++) {
    const id = t.allocateId();
    ids.add(id);
    q[0] = id >> 8;
    q[1] = id & 0xff;
    const p = pending();
    ps.push(p);
    withdraws.push(t.send(q, p));
  }
  return { ids, withdraws, ps };
}

describe("ID allocation", () => {
  test("freeId finds the one free ID among 65,535 in use, in a bounded number of steps", () => {
    const free = 12_345;
    let looked = 0;
    const id = freeId((x) => { looked++; return x !== free; });
    expect(id).toBe(free);
    expect(looked).toBeLessThanOrEqual(16 + 65_536);
  });

  test(`UDP: ${MAX_IN_FLIGHT} queries in flight, all with distinct IDs; the next fails at once through onError; a withdrawn one makes room`, async () => {
    const t = new UdpTransport(bunRuntime, ep(), 50);
    try {
      const { ids, withdraws, ps } = fill(t);
      expect(ids.size).toBe(MAX_IN_FLIGHT);
      expect(t.inFlight).toBe(MAX_IN_FLIGHT);
      const over = pending();
      const q = makeQuery("over.ids.test", "A");
      const id = t.allocateId();
      expect(ids.has(id)).toBe(false);
      q[0] = id >> 8;
      q[1] = id & 0xff;
      t.send(q, over);
      expect(over.errors).toEqual([]); // reported after send() returns, never inside it
      await Promise.resolve();
      expect(over.errors).toEqual([`${MAX_IN_FLIGHT} queries already in flight to ${HOST}:${port}`]);
      expect(t.inFlight).toBe(MAX_IN_FLIGHT);
      withdraws[0]();
      const again = pending();
      t.send(q, again);
      await sleep(20);
      expect({ errors: again.errors, inFlight: t.inFlight }).toEqual({ errors: [], inFlight: MAX_IN_FLIGHT });
      expect(ps.every((p) => p.errors.length === 0)).toBe(true);
    } finally { t.close(); }
  }, 30_000);

  test(`TCP pool: ${MAX_IN_FLIGHT} queries in flight over its connections; the next fails at once, a fresh connection is not opened for it`, async () => {
    const pool = new TcpPool(bunRuntime, ep(), { size: 4, max: 8, maxAgeMs: 600_000, maxQueries: 1_000_000, idleMs: 600_000 });
    try {
      const { ids } = fill(pool);
      expect(ids.size).toBe(MAX_IN_FLIGHT);
      expect(pool.inFlight).toBe(MAX_IN_FLIGHT);
      const opened = pool.opened;
      const over = pending();
      const fresh = pending();
      const q = makeQuery("over.ids.test", "A");
      pool.send(q, over);
      pool.send(q, fresh, true);
      await Promise.resolve();
      expect(over.errors).toEqual([`${MAX_IN_FLIGHT} queries already in flight to ${HOST}:${port}`]);
      expect(fresh.errors).toEqual(over.errors);
      expect(pool.opened).toBe(opened);
    } finally { pool.close(); }
  }, 30_000);
});

describe("the forwarder and a full upstream", () => {
  let good: FakeUpstream;
  beforeAll(async () => { good = await startFakeUpstream("127.0.41.22"); });
  afterAll(async () => { await good?.stop(); });

  test("a query for an upstream with MAX_IN_FLIGHT waiting goes to the next upstream at once, not after the attempt timeout", async () => {
    const opts = { maxFails: 1000, healthCheckIntervalMs: 60_000, healthCheck: false, udpLingerMs: 50, tcp: { size: 1, max: 1, maxAgeMs: 600_000, maxQueries: 1_000_000, idleMs: 600_000 } };
    const full = new Upstream(bunRuntime, ep(), opts, silentLogger);
    const next = new Upstream(bunRuntime, { host: good.host, port: good.port, family: 4 }, opts, silentLogger);
    try {
      fill(full.udp);
      const fw = new Forwarder([full, next], { policy: "Sequential", forceTcp: false, maxConcurrent: 10, attemptTimeoutMs: 3000, deadlineMs: 5000, failfastAllUnhealthy: false });
      const t0 = performance.now();
      const result = await new Promise<{ via: string } | { failed: string }>((resolve) => {
        const task: ForwardTask = {
          query: makeQuery("full.ids.test", "A"),
          classify: () => ({ cls: ReplyClass.Answer, rcode: 0 }),
          accept: (via) => resolve({ via: via.name }),
          onFailure: (reason) => resolve({ failed: reason }),
        };
        expect(fw.tryAcquire()).toBe(true);
        fw.forward(task);
      });
      expect(result).toEqual({ via: next.name });
      expect(performance.now() - t0).toBeLessThan(1000);
      // the attempt and its two retries on a fresh socket (the forwarder's rule for transport errors),
      // each failing at once
      expect(full.counters.failures).toBe(3);
      expect(good.seen.map((s) => s.name)).toEqual(["full.ids.test"]);
    } finally { full.close(); next.close(); }
  }, 30_000);
});
