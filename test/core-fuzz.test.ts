// Property tests: 100,000 random mutations of valid queries and replies (bit flips, truncation,
// splices, lying counts, pointer games, flag games) through every entry point, and random cache churn
// under a tiny budget. Nothing may trap, every answer the core emits must be a structurally sound DNS
// message that echoes the ID and fits the client's size, and afterwards the core must still work.
import { describe, test, expect } from "bun:test";
import packet from "dns-packet";
import { Core, R, Status, Prepared } from "../src/core";
import { loadCore, prime, clientQuery, Rng, randomLabel, udpLimit } from "./helpers/core";
import { SCENARIOS, randomQuery, randomReply, encodeQuery, optRecord, scenarioQtype } from "./helpers/gen";
import { encodeMessage, wellFormed } from "./helpers/wire";

const T0 = 1_000_000;

/** One to three random edits. Positional edits land at or after `from` (to get past the question). */
function mutate(r: Rng, src: Buffer, pool: Buffer[], from = 0): Buffer {
  let b: Buffer = Buffer.from(src);
  const pos = () => (b.length > from ? from + r.int(b.length - from) : r.int(Math.max(1, b.length)));
  for (let k = r.range(1, 3); k > 0; k--) {
    if (b.length === 0) { b = r.bytes(r.int(16)); continue; }
    switch (r.int(10)) {
      case 0: b[pos()] ^= 1 << r.int(8); break; // bit flip
      case 1: b[pos()] = r.int(256); break; // random octet
      case 2: b = b.subarray(0, pos()); break; // truncation
      case 3: { // splice in a piece of another packet
        const o = r.pick(pool);
        const s = r.int(o.length);
        const at = pos();
        b = Buffer.concat([b.subarray(0, at), o.subarray(s, s + r.int(64)), b.subarray(at)]);
        break;
      }
      case 4: { const s = pos(); b = Buffer.concat([b.subarray(0, s), b.subarray(s + r.range(1, 16))]); break; } // cut out
      case 5: if (b.length >= 12) b.writeUInt16BE(r.pick([0, 1, 2, 3, 0xffff, r.int(65536)]), 4 + 2 * r.int(4)); break; // counts
      case 6: { // a compression pointer: to itself, forward, into the header, to the question, or back
        const at = Math.min(pos(), b.length - 2);
        if (at < 0) break;
        const target = r.pick([at, at + 2 + r.int(8), r.int(12), 12, r.int(Math.max(1, at)), 0x3fff]);
        b.writeUInt16BE(0xc000 | (target & 0x3fff), at);
        break;
      }
      case 7: b[pos()] = r.pick([0, 0x3f, 0x40, 0x80, 0xbf, 0xff]); break; // label lengths and types
      case 8: if (b.length >= 4) { b[2] ^= r.pick([0x80, 0x78, 0x02, 0x01, 0x04]); b[3] ^= r.int(256); } break; // QR, opcode, TC, RD, AA, rcode
      case 9: b = Buffer.concat([b, r.bytes(r.range(1, 8))]); break; // trailing octets
    }
  }
  return b;
}

interface Pair { cq: Buffer; sent: Buffer; reply: Buffer; qend: number }

describe("100,000 mutated packets", () => {
  test("never trap, always answer soundly, and leave the core working", async () => {
    const started = performance.now();
    // CORE_FUZZ_SEED / CORE_FUZZ_N allow longer exploratory runs; the suite uses the fixed defaults
    const r = new Rng(Number(process.env.CORE_FUZZ_SEED ?? 0xf022_0001));
    const core = await loadCore(8 << 20);
    core.configure(30, 2, 30, 1232);

    // the seeds: valid queries, and client query / upstream query / reply triples the core built
    const queries = Array.from({ length: 300 }, () => encodeQuery(randomQuery(r)));
    const pairs: Pair[] = [];
    for (let i = 0; i < 300; i++) {
      const s = SCENARIOS[i % SCENARIOS.length];
      const cq = encodeQuery(randomQuery(r, { type: scenarioQtype(s), class: "IN", name: `${randomLabel(r)}-${i}.example.com` }));
      expect(core.handle(cq, T0, 0, false)).toBe(-1);
      const id = r.int(65536);
      const sent = Buffer.from(core.upstreamQuery(id, 0));
      const obj = randomReply(r, id, packet.decode(sent).questions![0] as any, s);
      if (r.bool(0.7)) obj.additionals.push(optRecord({ udpPayloadSize: 1232, do: false, options: [] }));
      const reply = r.bool() ? encodeMessage(obj, true) : packet.encode(obj);
      pairs.push({ cq, sent, reply, qend: sent.length - 11 }); // our upstream query ends with an 11-octet OPT
    }
    const pool = [...queries, ...pairs.map((p) => p.reply)];

    const bad: string[] = [];
    const seen = { handle: new Map<number, number>(), prepare: new Map<number, number>() };
    const bump = (m: Map<number, number>, k: number) => m.set(k, (m.get(k) ?? 0) + 1);
    // every answer in OUT: sound structure, the asker's ID, QR, and within its size over UDP
    const check = (what: string, n: number, msg: Buffer, tcp: boolean, sameName = true) => {
      if (n <= 0) return;
      const out = core.out(n);
      const ok = out[2] & 0x80 && (msg.length < 12 || (out[0] === msg[0] && out[1] === msg[1])) &&
        (tcp || n <= udpLimit(core.res[R.UDP])) && (!sameName || wellFormed(out));
      if (!ok && bad.length < 5) bad.push(`${what} n=${n} tcp=${tcp} in=${msg.toString("hex")} out=${Buffer.from(out).toString("hex")}`);
    };

    const N = Number(process.env.CORE_FUZZ_N ?? 100_000);
    for (let i = 0; i < N; i++) {
      const now = T0 + (i >> 5); // time passes: entries expire, go stale, die
      const set = i & 1;
      if (r.bool(0.5)) {
        const base = r.bool(0.8) ? r.pick(queries) : r.pick(pairs).cq;
        const msg = r.bool(0.05) ? base : mutate(r, base, pool);
        for (const tcp of [false, true]) {
          const n = core.handle(msg, now, set, tcp);
          bump(seen.handle, n > 0 ? core.res[R.STATUS] : n === 0 ? Status.DROP : core.res[R.STATUS]);
          check("handle", n, msg, tcp);
          if (n === -1 && core.res[R.STATUS] === Status.STALE) check("stale", core.res[R.OUT_LEN], msg, tcp);
        }
        if (core.res[R.STATUS] === Status.MISS && r.bool(0.3)) {
          const up = core.upstreamQuery(r.int(65536), r.int(2 ** 32));
          if (!wellFormed(up) && bad.length < 5) bad.push(`upstreamQuery for ${msg.toString("hex")}`);
        }
      } else {
        const p = r.pick(pairs);
        const reply = r.bool(0.05) ? p.reply : mutate(r, r.bool(0.95) ? p.reply : r.pick(pool), pool, r.bool(0.6) ? p.qend : 0);
        const sent = r.bool(0.05) ? mutate(r, p.sent, pool) : p.sent;
        const code = core.prepare(reply, sent, r.bool(0.2), r.pick([0, 30, 3600, 0x7fffffff]), r.pick([0, 30]));
        bump(seen.prepare, code);
        if (code < 0) continue;
        core.storePrepared(sent.length, now, set, 0, r.pick([0, 0, 60]));
        // waiters share the key, so their names have the same length; a mutated one must merely not trap
        const mutated = r.bool(0.1);
        const cq = mutated ? mutate(r, p.cq, pool) : p.cq;
        const tcp = r.bool(0.3);
        const n = code === Prepared.RCODE_ONLY ? core.answerError(cq, core.res[R.RCODE]) : core.answerPrepared(cq, tcp);
        check(code === Prepared.RCODE_ONLY ? "answerError" : "answerPrepared", n, cq, tcp, !mutated);
      }
    }
    expect(bad).toEqual([]);

    // the run reached deep: answers from cache, stale answers, accepted mutated replies, many error kinds
    const prepOk = (seen.prepare.get(Prepared.OK) ?? 0);
    expect(seen.handle.get(Status.HIT) ?? 0).toBeGreaterThan(100);
    expect(seen.handle.get(Status.STALE) ?? 0).toBeGreaterThan(10);
    expect(prepOk).toBeGreaterThan(5000);
    expect([...seen.prepare.keys()].filter((k) => k < 0).length).toBeGreaterThanOrEqual(12);

    // the cache's table and ring still agree, and a normal query still works end to end
    const s = core.stats();
    expect(s.bytes).toBeLessThanOrEqual(8 << 20);
    expect(core.flushZone(".")).toBe(s.entries);
    expect(core.stats().entries).toBe(0);
    const end = T0 + N;
    prime(core, "after.fuzz.example.com", { now: end, answers: [{ name: "after.fuzz.example.com", type: "A", ttl: 300, data: "192.0.2.77" }] });
    const n = core.handle(clientQuery("After.Fuzz.example.com", "A", { id: 4242 }), end + 5, 0, false);
    const d = packet.decode(Buffer.from(core.copyOut(n))) as any;
    expect({ id: d.id, q: d.questions[0].name, a: d.answers.map((x: any) => [x.data, x.ttl]) }).toEqual({ id: 4242, q: "After.Fuzz.example.com", a: [["192.0.2.77", 295]] });

    const secs = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`fuzz: ${N} mutations in ${secs} s; handle statuses ${JSON.stringify([...seen.handle])}; prepare codes ${JSON.stringify([...seen.prepare].sort((x, y) => x[0] - y[0]))}`);
  });
});

describe("cache churn under a 1 MiB budget", () => {
  test("30,000 random inserts, hits, flushes and clock jumps: every hit is the right name's current data", async () => {
    const r = new Rng(0xf022_0002);
    const core: Core = await loadCore(1 << 20);
    const NAMES = 8000; // the first 6000 small A answers (the entry count binds), the rest ~1 KB TXT (the bytes bind)
    const nameOf = (i: number) => `c${i}.churn.example.com`;
    const typeOf = (i: number) => (i < 6000 ? "A" : "TXT");
    const model = new Map<number, string>(); // what was last stored per name
    let now = T0, version = 0, hits = 0;
    const wrong: string[] = [];
    for (let op = 0; op < 30_000; op++) {
      now += r.int(3);
      const k = r.bool(0.7) ? r.int(600) : r.int(NAMES); // a hot set of 600, and the rest
      const name = nameOf(k), type = typeOf(k);
      const q = clientQuery(name, type);
      const choice = r.int(100);
      if (choice < 2) { core.flushName(name, -1, r.bool() ? -1 : (type === "A" ? 1 : 16)); continue; }
      if (choice < 3) { core.flushZone(`${r.int(10)}.churn.example.com`); continue; } // hardly anything: no such labels
      const n = core.handle(q, now, 0, true); // TCP: the large answers would not fit 512 octets
      if (n > 0) {
        hits++;
        const d = packet.decode(Buffer.from(core.copyOut(n))) as any;
        const got = type === "A" ? d.answers[0].data : Buffer.concat(d.answers[0].data).toString();
        if (got !== model.get(k) && wrong.length < 5) wrong.push(`${name}: got ${got}, stored ${model.get(k)}`);
        continue;
      }
      expect(core.res[R.STATUS]).toBe(Status.MISS);
      // the miss path, as in prime(): forward, and store a new version of the data
      version++;
      const data = type === "A" ? `10.${(version >> 16) & 255}.${(version >> 8) & 255}.${version & 255}` : `v${version}-${"x".repeat(r.range(200, 1000))}`;
      const sent = core.upstreamQuery(version & 0xffff, 0);
      const reply = packet.encode({
        type: "response", id: version & 0xffff, flags: 0x0180, questions: [{ name, type: type as any, class: "IN" }],
        answers: [{ name, type: type as any, ttl: r.range(1, 600), data: type === "A" ? data : (data.match(/.{1,200}/g) ?? []).map((c) => Buffer.from(c)) }],
      } as any);
      expect(core.prepare(reply, sent, false, 86400, 30)).toBe(0);
      expect(core.storePrepared(sent.length, now, 0, 0, 0)).toBe(true);
      model.set(k, data);
      if (op % 100 === 0) expect(core.stats().bytes).toBeLessThanOrEqual(1 << 20);
    }
    expect(wrong).toEqual([]);
    expect(hits).toBeGreaterThan(3000);
    const s = core.stats();
    expect(s.evictions).toBeGreaterThan(0);
    expect(core.flushZone(".")).toBe(s.entries); // table and ring agree
  });
});
