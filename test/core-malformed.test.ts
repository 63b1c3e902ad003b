// Hand-made malformed packets (test/fixtures, made by make-fixtures.ts, expectations in manifest.json):
// every query gets the right error code and the right DNS answer (or is dropped), every hostile
// upstream reply is rejected with the right code and never cached, and nothing traps.
import { describe, test, expect, beforeAll } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import packet from "dns-packet";
import { Core, R, Status, Prepared } from "../src/core";
import { loadCore, E } from "./helpers/core";
import { fixtures, manifest, type QueryExpect, type ReplyExpect } from "./fixtures/make-fixtures";

const DIR = join(import.meta.dir, "fixtures");
const read = (file: string) => readFileSync(join(DIR, file));
const entries = JSON.parse(readFileSync(join(DIR, "manifest.json"), "utf8")) as { file: string; why: string; query?: QueryExpect; reply?: ReplyExpect }[];

let core: Core;
beforeAll(async () => { core = await loadCore(); });

test("the fixtures on disk are what make-fixtures.ts makes", () => {
  for (const f of fixtures()) expect({ file: f.file, hex: read(f.file).toString("hex") }).toEqual({ file: f.file, hex: f.bytes.toString("hex") });
  expect(entries).toEqual(JSON.parse(JSON.stringify(manifest())));
});

describe("malformed queries through handle()", () => {
  const RCODE: Record<string, number> = { FORMERR: 1, NOTIMP: 4, BADVERS: 16 };
  for (const { file, why, query: e } of entries.filter((x) => x.query)) {
    test(`${file.replace(/^query\/|\.bin$/g, "")}: ${why} → ${e!.outcome}${e!.error ? ` (${e!.error})` : ""}`, () => {
      const msg = read(file);
      for (const tcp of [false, true]) {
        const n = core.handle(msg, 1000, 0, tcp);
        expect(core.res[R.ERROR]).toBe(e!.error ? E[e!.error] : 0);
        if (e!.outcome === "drop") {
          expect(n).toBe(0);
          expect(core.res[R.STATUS]).toBe(Status.DROP);
          continue;
        }
        if (e!.outcome === "MISS") {
          expect(n).toBe(-1);
          expect(core.res[R.STATUS]).toBe(Status.MISS);
          continue;
        }
        expect(n).toBeGreaterThan(0);
        expect(core.res[R.STATUS]).toBe(Status.ERROR);
        const out = core.copyOut(n);
        const d = packet.decode(Buffer.from(out)) as any;
        const opt = d.additionals.filter((a: any) => a.type === "OPT");
        const rcode = (opt.length ? opt[0].extendedRcode << 4 : 0) | (out[3] & 0xf);
        expect({ id: d.id, qr: d.flag_qr, rd: d.flag_rd, rcode, qd: d.questions.length, records: d.answers.length + d.authorities.length, opt: opt.length })
          .toEqual({ id: msg.readUInt16BE(0), qr: true, rd: (msg[2] & 1) === 1, rcode: RCODE[e!.outcome], qd: e!.question ? 1 : 0, records: 0, opt: e!.opt ? 1 : 0 });
        // the question goes back octet for octet, as the client spelled it
        if (e!.question) expect(Buffer.from(out.subarray(12, core.res[R.QEND])).equals(msg.subarray(12, core.res[R.QEND]))).toBe(true);
      }
    });
  }
});

describe("hostile upstream replies through prepare(): rejected with the right code and never cached", () => {
  const sent = read("reply/sent.bin"); // also a fine client query for the same key (no DO, no CD)
  const CODE: Record<string, number> = { OK: Prepared.OK, RCODE_ONLY: Prepared.RCODE_ONLY, ...E };
  for (const { file, why, reply: e } of entries.filter((x) => x.reply)) {
    test(`${file.replace(/^reply\/|\.bin$/g, "")}: ${why} → ${e!.prepare}`, () => {
      core.flushAll();
      expect(core.prepare(read(file), sent, e!.exactCase ?? false, 3600, 30)).toBe(CODE[e!.prepare]);
      // even if the runtime tried, nothing from a rejected reply goes into the cache
      expect(core.storePrepared(sent.length, 1000, 0, 0, 0)).toBe(e!.cached);
      const n = core.handle(sent, 1001, 0, false);
      expect(core.res[R.STATUS]).toBe(e!.cached ? Status.HIT : Status.MISS);
      expect(core.stats().entries).toBe(e!.cached ? 1 : 0);
      if (e!.cached) expect((packet.decode(Buffer.from(core.copyOut(n))) as any).answers.length).toBeGreaterThan(0);
    });
  }

  const cachedAnswer = (file: string) => {
    core.flushAll();
    expect(core.prepare(read(file), sent, false, 3600, 30)).toBe(Prepared.OK);
    expect(core.storePrepared(sent.length, 1000, 0, 0, 0)).toBe(true);
    const d = packet.decode(Buffer.from(core.copyOut(core.handle(sent, 1010, 0, false)))) as any;
    const rows = (s: any[]) => s.map((a: any) => [a.name, a.type, a.ttl, a.data]);
    return { answers: rows(d.answers), authorities: rows(d.authorities), additionals: rows(d.additionals) };
  };

  test("an OPT that is not last is stripped and the records around it survive intact", () => {
    expect(cachedAnswer("reply/opt-not-last-clean.bin")).toEqual({
      answers: [["www.example.com", "A", 290, "192.0.2.1"]],
      authorities: [["example.com", "NS", 290, "ns1.example.com"]],
      additionals: [["ns1.example.com", "A", 290, "192.0.2.53"]],
    });
  });

  test("a record pointing past a removed OPT keeps its name", () => {
    expect(cachedAnswer("reply/opt-not-last-pointed-at.bin").additionals).toEqual([
      ["ns1.example.com", "A", 290, "192.0.2.53"], ["ns1.example.com", "AAAA", 290, "101:101:101:101:101:101:101:101"],
    ]);
  });

  test("a record pointing into a scrubbed record keeps its names", () => {
    const got = cachedAnswer("reply/scrubbed-pointed-at.bin");
    expect(got.answers).toEqual([["www.example.com", "A", 290, "192.0.2.1"]]);
    expect(got.authorities.map((r: any[]) => [r[0], r[1], r[3].mname, r[3].rname])).toEqual([["example.com", "SOA", "junk.example.com", "hostmaster.example.com"]]);
  });
});
