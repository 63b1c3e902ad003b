// Core.decision(): the slow path's record of what handle() decided, read once right after the call,
// and upstreamQueryFor(), which builds the upstream query from the record alone: neither depends on
// what the core is asked in between.
import { describe, test, expect, beforeAll } from "bun:test";
import packet from "dns-packet";
import { Core, Status } from "../src/core";
import { loadCore, prime, clientQuery } from "./helpers/core";

const T0 = 5000;
let core: Core;
beforeAll(async () => { core = await loadCore(); });

describe("Core.decision", () => {
  test("a miss: status, zone, qtype, key and compact query survive other core calls", () => {
    const q = clientQuery("Miss.Example.COM", "AAAA", { id: 0x4242, do: true, edns: 4000 });
    expect(core.handle(q, T0, 0, false)).toBe(-1);
    const upstreamNow = core.upstreamQuery(0x0101, 0x1234567);
    const d = core.decision();
    const key = core.keyString();
    // other work through the same instance: a hit, a miss, a parse for a log line
    prime(core, "other.example.org", { now: T0, answers: [{ name: "other.example.org", type: "A", ttl: 300, data: "192.0.2.1" }] });
    expect(core.handle(clientQuery("other.example.org"), T0, 0, false)).toBeGreaterThan(0);
    core.describe(clientQuery("third.example.net", "TXT"));

    expect(d.status).toBe(Status.MISS);
    expect(d.zone).toBe(0);
    expect(d.qtype).toBe(28);
    expect(d.staleLength).toBe(0);
    expect(d.key).toBe(key);
    const compact = packet.decode(Buffer.from(d.query)) as any;
    expect(compact.id).toBe(0x4242);
    expect(compact.questions).toEqual([{ name: "Miss.Example.COM", type: "AAAA", class: "IN" }]);
    expect(compact.additionals.length).toBe(1);
    expect(compact.additionals[0].udpPayloadSize).toBe(4000);
    expect(compact.additionals[0].flags & packet.DNSSEC_OK).toBe(packet.DNSSEC_OK);
    // the same upstream query as the one built right after handle()
    expect(Buffer.from(core.upstreamQueryFor(d.query, 0x0101, 0x1234567)).equals(Buffer.from(upstreamNow))).toBe(true);
  });

  test("a stale entry: the expired answer stays in OUT while the record is taken", () => {
    prime(core, "stale.example.com", { now: T0, stale: 3600, answers: [{ name: "stale.example.com", type: "A", ttl: 60, data: "192.0.2.7" }] });
    expect(core.handle(clientQuery("stale.example.com", "A", { id: 0x7777 }), T0 + 120, 0, false)).toBe(-1);
    const d = core.decision();
    expect(d.status).toBe(Status.STALE);
    expect(d.staleLength).toBeGreaterThan(12);
    const stale = packet.decode(Buffer.from(core.out(d.staleLength))) as any;
    expect(stale.id).toBe(0x7777);
    expect(stale.answers.map((a: any) => [a.name, a.data])).toEqual([["stale.example.com", "192.0.2.7"]]);
    expect(packet.decode(Buffer.from(d.query)).id).toBe(0x7777);
  });
});
