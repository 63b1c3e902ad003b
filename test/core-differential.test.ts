// The packet core against dns-packet, the independent oracle: generated queries, upstream replies of
// many record types (compressed the way real servers do, or plain as dns-packet writes them) and error
// answers. Everything random comes from fixed seeds, so a failure names a case that reproduces.
import { describe, test, expect, beforeAll } from "bun:test";
import packet from "dns-packet";
import { Core, R, Status, Rcode } from "../src/core";
import { loadCore, keyName, Rng, mixCase, randomLabel, udpLimit, E } from "./helpers/core";
import {
  QTYPES, QCLASSES, SCENARIOS, randomQuery, randomReply, randomOptions, encodeQuery, optRecord,
  scenarioQtype, type QuerySpec, type Scenario,
} from "./helpers/gen";
import { encodeMessage, recordEnds } from "./helpers/wire";

let core: Core;
beforeAll(async () => { core = await loadCore(16 << 20); });

const decode = (b: Uint8Array): any => packet.decode(Buffer.from(b));
const clamp = (t: number) => (t > 0x7fffffff ? 0 : t); // RFC 2181 8: a TTL with the top bit set is 0

/** A record as compared: owner and names inside data case-insensitively, everything else exactly. */
function norm(rr: any, ttl: number = rr.ttl): any {
  let data = rr.data;
  if (typeof data === "string") data = data.toLowerCase();
  else if (rr.type === "MX") data = { ...data, exchange: data.exchange.toLowerCase() };
  else if (rr.type === "SRV") data = { ...data, target: data.target.toLowerCase() };
  else if (rr.type === "SOA") data = { ...data, mname: data.mname.toLowerCase(), rname: data.rname.toLowerCase() };
  return { name: rr.name.toLowerCase(), type: rr.type, class: rr.class, ttl, data };
}
const noOpt = (rrs: any[]) => rrs.filter((rr) => rr.type !== "OPT");

describe("queries: what the core reads equals what dns-packet decodes", () => {
  test("400 generated queries (types, classes, IDs, EDNS sizes, DO, options, letter case)", () => {
    const r = new Rng(0x5eed0001);
    for (let i = 0; i < 400; i++) {
      const q = randomQuery(r);
      const msg = encodeQuery(q);
      const d = decode(msg);
      const opt = d.additionals.find((a: any) => a.type === "OPT");
      const n = core.handle(msg, 1000, r.int(2), r.bool());
      const res = core.res;
      const got = {
        i, id: res[R.ID], qtype: res[R.QTYPE], qclass: res[R.QCLASS], edns: res[R.EDNS], udp: res[R.UDP],
        do: res[R.DO], version: res[R.EDNS_VERSION], name: keyName(core), error: res[R.ERROR],
      };
      const want = {
        i, id: d.id, qtype: QTYPES[d.questions[0].type], qclass: QCLASSES[d.questions[0].class],
        edns: opt ? 1 : 0, udp: opt ? Math.max(512, opt.udpPayloadSize) : 512, do: opt?.flag_do ? 1 : 0,
        version: 0, name: d.questions[0].name.toLowerCase(), error: 0,
      };
      expect(got).toEqual(want);
      // and what it decided from that: REFUSED outside IN/ANY, NOTIMP for zone transfers, FORMERR for
      // the other meta-types, else forward (ANY included)
      const meta = want.qtype === 41 || (want.qtype >= 128 && want.qtype <= 254);
      const status = want.qclass !== 1 && want.qclass !== 255 ? Status.ERROR : meta ? Status.ERROR : Status.MISS;
      expect({ i, status: res[R.STATUS], answered: n > 0 }).toEqual({ i, status, answered: status !== Status.MISS });
    }
  });
});

let truncated = 0; // answers that had to drop records (so the size rule was really exercised)

interface Expectation { up: any; ttl: (t: number) => number; client: QuerySpec; upAd: boolean }

/** The answer `out` for `client` must carry exactly the records of the upstream reply (OPT removed),
 *  TTLs as expected, the client's ID, flags and spelling, our OPT iff it sent one, and – over UDP –
 *  the longest prefix of whole records that fits (`full` is the same answer rendered for TCP). */
function checkAnswer(tag: string, out: Uint8Array, full: Uint8Array, tcp: boolean, x: Expectation): void {
  const { up, client } = x;
  const d = decode(out);
  const an = up.answers.length, ns = up.authorities.length;
  const want = [...up.answers, ...up.authorities, ...noOpt(up.additionals)].map((rr: any) => norm(rr, x.ttl(rr.ttl)));
  const limit = tcp ? 65535 : udpLimit(Math.max(512, client.edns ? client.edns.udpPayloadSize : 512));
  const room = limit - (client.edns ? 11 : 0);
  const k = tcp ? want.length : recordEnds(full).slice(0, want.length).filter((e) => e <= room).length;
  const kept = want.slice(0, k);
  if (k < want.length) truncated++;
  const opt = d.additionals.filter((a: any) => a.type === "OPT");
  expect({
    tag, id: d.id, qr: d.flag_qr, aa: d.flag_aa, tc: d.flag_tc, rd: d.flag_rd, ra: d.flag_ra, cd: d.flag_cd,
    ad: d.flag_ad, rcode: d.rcode, questions: d.questions,
    answers: d.answers.map((rr: any) => norm(rr)), authorities: d.authorities.map((rr: any) => norm(rr)),
    additionals: noOpt(d.additionals).map((rr: any) => norm(rr)),
    opt: opt.map((o: any) => [o.udpPayloadSize, o.ednsVersion, o.extendedRcode, o.flag_do, o.options.length]),
    fits: out.length <= limit,
  }).toEqual({
    tag, id: client.id, qr: true, aa: false, tc: k < an + ns, rd: client.rd, ra: true, cd: client.cd,
    ad: x.upAd && (client.ad || !!client.edns?.do), rcode: up.rcode,
    questions: [{ name: client.name, type: client.type, class: client.class }],
    answers: kept.slice(0, an), authorities: kept.slice(an, an + ns), additionals: kept.slice(an + ns),
    opt: client.edns ? [[1232, 0, 0, client.edns.do, 0]] : [],
    fits: true,
  });
  if (client.edns) expect(d.additionals[d.additionals.length - 1].type).toBe("OPT"); // ours goes last
}

/** The same question asked again: new ID, other letter case, maybe other EDNS size; same DO and CD (the key). */
function askAgain(r: Rng, q: QuerySpec): QuerySpec {
  const edns = q.edns?.do || r.bool(0.5) ? { udpPayloadSize: r.pick([512, 1232, 4096]), do: !!q.edns?.do, options: randomOptions(r) } : null;
  return { ...q, id: r.int(65536), name: mixCase(r, q.name), rd: r.bool(), ad: r.bool(0.2), edns };
}

describe("upstream replies: prepare → store → answer, and the later cache hit, decode to the same records", () => {
  const CAPS = [60, 300, 3600, 86400, 0x7fffffff];
  test("400 generated replies of every scenario", () => {
    const r = new Rng(0x5eed0002);
    const seen: Record<string, number> = {};
    for (let i = 0; i < 400; i++) {
      const s: Scenario = SCENARIOS[i % SCENARIOS.length];
      const set = r.int(2);
      const now = 10_000 + i * 7;
      const client = randomQuery(r, { type: scenarioQtype(s), class: "IN", name: mixCase(r, `${randomLabel(r)}-${i}.${r.pick(["example.com", "cluster.local", "Corp.Example.NET"])}`) });
      const cq = encodeQuery(client);
      expect(core.handle(cq, now, set, false)).toBe(-1);
      expect(core.res[R.STATUS]).toBe(Status.MISS);

      // the query we send: our ID, RD, the client's CD and DO, our EDNS size, the name maybe 0x20-cased
      const seed = r.bool() ? (r.int(2 ** 32) | 1) >>> 0 : 0;
      const upId = r.int(65536);
      const sent = core.upstreamQuery(upId, seed);
      const sd = decode(sent);
      expect({ id: sd.id, rd: sd.flag_rd, cd: sd.flag_cd, qr: sd.flag_qr, name: sd.questions[0].name.toLowerCase(), type: sd.questions[0].type, opt: sd.additionals.map((a: any) => [a.type, a.udpPayloadSize, a.flag_do]) })
        .toEqual({ id: upId, rd: true, cd: client.cd, qr: false, name: client.name.toLowerCase(), type: client.type, opt: [["OPT", 1232, !!client.edns?.do]] });

      // the upstream's reply: echoes our spelling (or, without 0x20 checking, any spelling)
      const q = { ...sd.questions[0] };
      if (seed === 0 && r.bool()) q.name = mixCase(r, q.name);
      const obj = randomReply(r, upId, q, s);
      const compress = r.bool();
      if (r.bool(0.7)) {
        const opt = optRecord({ udpPayloadSize: 1232, do: !!client.edns?.do, options: randomOptions(r) });
        // OPT need not be last; in a compressed reply a record after it may point past it, and removing
        // the OPT then makes the core write that record's names out in full
        obj.additionals.splice(r.int(obj.additionals.length + 1), 0, opt);
      }
      const reply = compress ? encodeMessage(obj, true) : packet.encode(obj);
      const up = decode(reply);
      up.additionals = noOpt(up.additionals);

      const cap = r.pick(CAPS);
      const negNoSoa = r.pick([0, 5, 30]);
      const positive = up.rcode === "NOERROR" && up.answers.length > 0;
      const soas = up.authorities.filter((rr: any) => rr.type === "SOA");
      // RFC 2308 5: a denial lives no longer than its SOA allows, nor than a CNAME on the way to it
      let entryTtl = positive ? Math.min(...[...up.answers, ...up.authorities].map((rr: any) => clamp(rr.ttl)))
        : Math.min(soas.length > 0 ? Math.min(...soas.map((rr: any) => Math.min(clamp(rr.ttl), clamp(rr.data.minimum)))) : negNoSoa,
          ...up.answers.map((rr: any) => clamp(rr.ttl)));
      entryTtl = Math.min(entryTtl, cap);
      const recTtl = (t: number) => Math.min(clamp(t), cap, positive ? Infinity : entryTtl);

      const tag = `case ${i} ${s} compress=${compress}`;
      expect({ tag, code: core.prepare(reply, sent, seed !== 0, cap, negNoSoa) }).toEqual({ tag, code: 0 });
      expect({ tag, ttl: core.res[R.TTL], cacheable: core.res[R.CACHEABLE], negative: core.res[R.NEGATIVE] })
        .toEqual({ tag, ttl: entryTtl, cacheable: entryTtl > 0 ? 1 : 0, negative: positive ? 0 : 1 });
      const stored = core.storePrepared(sent.length, now, set, 0, 0);
      expect(stored).toBe(entryTtl > 0);
      seen[`${s} ${stored ? "cached" : "not cached"}`] = (seen[`${s} ${stored ? "cached" : "not cached"}`] ?? 0) + 1;

      const upAd = (obj.flags & 0x20) !== 0;
      const tcp = r.bool(0.3);
      const full = core.copyOut(core.answerPrepared(cq, true));
      const first = core.copyOut(core.answerPrepared(cq, tcp));
      checkAnswer(`${tag} prepared`, first, full, tcp, { up, client, upAd, ttl: recTtl });

      // a later hit: TTLs aged by the time passed; the second client's ID, spelling and EDNS
      const again = askAgain(r, client);
      const aq = encodeQuery(again);
      if (!stored) {
        expect(core.handle(aq, now + 1, set, false)).toBe(-1);
        expect(core.res[R.STATUS]).toBe(Status.MISS);
        continue;
      }
      const age = r.int(entryTtl);
      const tcp2 = r.bool(0.3);
      const fullHit = core.copyOut(core.handle(aq, now + age, set, true));
      const n = core.handle(aq, now + age, set, tcp2);
      expect({ tag, n: n > 0, status: core.res[R.STATUS], ttl: core.res[R.TTL] }).toEqual({ tag, n: true, status: Status.HIT, ttl: entryTtl - age });
      checkAnswer(`${tag} hit after ${age}s`, core.copyOut(n), fullHit, tcp2, { up, client: again, upAd, ttl: (t) => Math.max(0, recTtl(t) - age) });
      // and gone once the TTL has run out (no stale window here)
      expect(core.handle(aq, now + entryTtl, set, false)).toBe(-1);
      expect(core.res[R.STATUS]).toBe(Status.MISS);
    }
    // every scenario was exercised, cached and (for zero TTLs) not cached
    for (const s of SCENARIOS) expect(seen[`${s} cached`] ?? 0).toBeGreaterThan(5);
    expect(Object.entries(seen).filter(([k]) => k.endsWith("not cached")).length).toBeGreaterThan(0);
    expect(truncated).toBeGreaterThan(10);
  });
});

describe("error answers decode correctly and echo ID, question, RD and CD, with an OPT iff the query had a valid one", () => {
  const RCODE_NAME: Record<number, string> = { 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED" };
  function checkError(tag: string, out: Uint8Array, q: QuerySpec, rcode: number, opt: boolean): void {
    const d = decode(out);
    expect({
      tag, id: d.id, qr: d.flag_qr, opcode: d.opcode, aa: d.flag_aa, tc: d.flag_tc, rd: d.flag_rd, ra: d.flag_ra,
      cd: d.flag_cd, ad: d.flag_ad, rcode: d.rcode, questions: d.questions, records: d.answers.length + d.authorities.length,
      opt: d.additionals.map((a: any) => [a.type, a.udpPayloadSize, a.ednsVersion, a.extendedRcode, a.flag_do]),
    }).toEqual({
      tag, id: q.id, qr: true, opcode: (packet.decode(encodeQuery(q)) as any).opcode, aa: false, tc: false, rd: q.rd, ra: true,
      cd: q.cd, ad: false, rcode: RCODE_NAME[rcode & 0xf] ?? "NOERROR", questions: [{ name: q.name, type: q.type, class: q.class }],
      records: 0, opt: opt ? [["OPT", 1232, 0, rcode >> 4, !!q.edns?.do]] : [],
    });
  }

  // each kind: how to make the query, and who answers it with which rcode (40 generated queries each)
  const kinds: [string, (r: Rng, q: QuerySpec) => { msg: Buffer; by: Core; answer: (m: Buffer) => number; rcode: number; error?: string; opt?: boolean }][] = [
    ["FORMERR for trailing octets after a good query", (r, q) => ({ msg: Buffer.concat([encodeQuery(q), r.bytes(r.range(1, 6))]), by: core, answer: (m) => core.handle(m, 1, 0, false), rcode: Rcode.FORMERR, error: "E_TRAILING" })],
    ["SERVFAIL built by answerError", (_r, q) => ({ msg: encodeQuery(q), by: core, answer: (m) => core.answerError(m, Rcode.SERVFAIL), rcode: Rcode.SERVFAIL })],
    ["NXDOMAIN built by answerError", (_r, q) => ({ msg: encodeQuery(q), by: core, answer: (m) => core.answerError(m, Rcode.NXDOMAIN), rcode: Rcode.NXDOMAIN })],
    ["REFUSED built by answerError (maxConcurrent)", (_r, q) => ({ msg: encodeQuery(q), by: core, answer: (m) => core.answerError(m, Rcode.REFUSED), rcode: Rcode.REFUSED })],
    ["REFUSED for a class other than IN", (r, q) => { q.class = r.pick(["CH", "HS"]); return { msg: encodeQuery(q), by: core, answer: (m) => core.handle(m, 1, 0, r.bool()), rcode: Rcode.REFUSED }; }],
    ["REFUSED for a name outside every zone of the listener set", (r, q) => { q.name = `${randomLabel(r)}.example.com`; return { msg: encodeQuery(q), by: clusterOnly, answer: (m) => clusterOnly.handle(m, 1, r.int(2), false), rcode: Rcode.REFUSED }; }],
    ["NOTIMP for an opcode other than QUERY", (r, q) => { q.opcode = r.pick([1, 2, 3, 4, 5, 6, 15]); return { msg: encodeQuery(q), by: core, answer: (m) => core.handle(m, 1, 0, false), rcode: Rcode.NOTIMP, error: "E_OPCODE" }; }],
    ["NOTIMP for zone transfers", (r, q) => { q.type = r.pick(["AXFR", "IXFR"]); return { msg: encodeQuery(q), by: core, answer: (m) => core.handle(m, 1, 0, true), rcode: Rcode.NOTIMP }; }],
    ["BADVERS (extended rcode 16) for EDNS version above 0", (r, q) => {
      q.edns = { udpPayloadSize: r.pick([512, 1232, 4096]), do: r.bool(), version: r.range(1, 255), options: randomOptions(r) };
      return { msg: encodeQuery(q), by: core, answer: (m) => core.handle(m, 1, 0, false), rcode: 16, error: "E_BADVERS", opt: true };
    }],
  ];
  let clusterOnly: Core;
  beforeAll(async () => { clusterOnly = await loadCore(1 << 20, ["cluster.local"]); });
  kinds.forEach(([title, make], k) => {
    test(title, () => {
      const r = new Rng(0x5eed0100 + k);
      for (let i = 0; i < 40; i++) {
        const q = randomQuery(r, { type: r.pick(["A", "AAAA", "MX", "TXT"]), class: "IN" });
        const c = make(r, q);
        const n = c.answer(c.msg);
        if (c.error) expect(c.by.res[R.ERROR]).toBe(E[c.error]);
        checkError(`case ${i}`, c.by.copyOut(n), q, c.rcode, c.opt ?? !!q.edns);
      }
    });
  });
});
