// Network fuzzing of a running localdns: generates valid, targeted-malformed and randomly mutated
// queries, sends them over UDP (several sockets, a window of outstanding queries each) and over TCP
// (pipelined frames written whole, in random chunks, byte by byte, with zero-length and 65,535-octet
// frames), and checks every answer. Shared by test/robust-fuzz.test.ts and scripts/fuzz-long.ts.
//
// Every generated packet carries an expectation:
//   drop     no answer may come (shorter than a header, or QR set)
//   FORMERR / NOTIMP / BADVERS / REFUSED   exactly that rcode, the question echoed or not as RFC 1035
//            and RFC 6891 say for that defect, an OPT in the answer exactly when the query's OPT was valid
//   answer   a real answer (NOERROR / NXDOMAIN as the name implies), question echoed octet for octet
//   any      (random mutations) some answer with the query's ID, QR set, opcode echoed, a defined
//            rcode, and NOTIMP exactly when the opcode is not QUERY
// Answers are decoded with dns-packet (the independent oracle); any answer it cannot decode is a
// violation too.
import * as dgram from "node:dgram";
import packet from "dns-packet";
import { Rng } from "./core";
import { addressFor } from "./fast-upstream";
import { TcpClient, framed } from "./robust";
import { sleep } from "./dns";

export type Expect = "drop" | "FORMERR" | "NOTIMP" | "BADVERS" | "REFUSED" | "answer" | "any";
export interface Case {
  kind: string;
  bytes: Buffer;
  expect: Expect;
  /** for answer: the rcode expected */
  rcode?: number;
  /** an answer that, on a cache miss, is REFUSED instead (a query too large to forward) */
  refusedOnMiss?: boolean;
  /** whether the answer must carry the question (undefined: not checked) */
  echo?: boolean;
  /** whether the answer must carry an OPT (undefined: not checked) */
  opt?: boolean;
  /** for answer to an A query of a hot name: the address */
  address?: string;
  /** the query's EDNS payload size (answer size limit over UDP) or 0 without EDNS */
  edns?: number;
}

const RC = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5, BADVERS: 16 } as const;
export const HOT_SUFFIX = "hot.fuzz.test";
export const HOT_NAMES = 200;

// ---------------------------------------------------------------- building queries

interface Opt { size: number; version?: number; do?: boolean; options?: [number, Buffer][]; owner?: number[] }
interface Spec {
  id?: number; flags?: number; qd?: number; an?: number; ns?: number; ar?: number;
  name: number[]; qtype: number; qclass: number;
  /** records before the OPT (raw) */
  records?: Buffer[];
  opt?: Opt | null;
  /** records after the OPT (raw) */
  after?: Buffer[];
  /** where the OPT goes: "additional" (default) or "answer" */
  optIn?: "additional" | "answer";
  extraOpt?: boolean;
}

export function wireName(name: string): number[] {
  const out: number[] = [];
  for (const l of name.replace(/\.$/, "").split(".")) {
    if (!l) continue;
    out.push(l.length);
    for (const c of l) out.push(c.charCodeAt(0));
  }
  out.push(0);
  return out;
}

function optRecord(o: Opt): Buffer {
  const opts = (o.options ?? []).map(([code, data]) => {
    const b = Buffer.alloc(4 + data.length);
    b.writeUInt16BE(code);
    b.writeUInt16BE(data.length & 0xffff, 2);
    b.set(data, 4);
    return b;
  });
  const rdata = Buffer.concat(opts);
  const owner = Buffer.from(o.owner ?? [0]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(41, 0);
  fixed.writeUInt16BE(o.size, 2);
  fixed[4] = 0; // extended rcode
  fixed[5] = o.version ?? 0;
  fixed.writeUInt16BE(o.do ? 0x8000 : 0, 6);
  fixed.writeUInt16BE(rdata.length & 0xffff, 8);
  return Buffer.concat([owner, fixed, rdata]);
}

/** A raw resource record: owner (wire, may be a pointer), type, class IN, ttl, rdata. */
function rr(owner: number[], type: number, rdata: number[] | Buffer): Buffer {
  const b = Buffer.alloc(owner.length + 10 + rdata.length);
  b.set(owner, 0);
  b.writeUInt16BE(type, owner.length);
  b.writeUInt16BE(1, owner.length + 2);
  b.writeUInt32BE(60, owner.length + 4);
  b.writeUInt16BE(rdata.length, owner.length + 8);
  b.set(rdata, owner.length + 10);
  return b;
}

function build(s: Spec): Buffer {
  const q = Buffer.alloc(4);
  q.writeUInt16BE(s.qtype & 0xffff, 0);
  q.writeUInt16BE(s.qclass & 0xffff, 2);
  const opt = s.opt ? optRecord(s.opt) : null;
  const recs = s.records ?? [];
  const after = s.after ?? [];
  let an = 0, ar = recs.length + after.length + (opt ? 1 : 0) + (s.extraOpt && opt ? 1 : 0);
  let body: Buffer[];
  if (opt && s.optIn === "answer") { an = 1; ar -= 1; body = [opt, ...recs, ...after]; }
  else body = [...recs, ...(opt ? [opt] : []), ...(s.extraOpt && opt ? [opt] : []), ...after];
  const h = Buffer.alloc(12);
  h.writeUInt16BE(s.id ?? 0, 0);
  h.writeUInt16BE(s.flags ?? 0x0100, 2);
  h.writeUInt16BE(s.qd ?? 1, 4);
  h.writeUInt16BE(s.an ?? an, 6);
  h.writeUInt16BE(s.ns ?? 0, 8);
  h.writeUInt16BE(s.ar ?? ar, 10);
  return Buffer.concat([h, Buffer.from(s.name), q, ...body]);
}

// ---------------------------------------------------------------- generating cases

const LETTERS = "abcdefghijklmnopqrstuvwxyz0123456789-";
function label(r: Rng, min = 1, max = 12): string {
  let s = "";
  for (let i = r.range(min, max); i > 0; i--) s += LETTERS[r.int(LETTERS.length)];
  return s;
}
function mixCase(r: Rng, s: string): string {
  let o = "";
  for (const c of s) o += r.bool(0.3) ? c.toUpperCase() : c;
  return o;
}
export const hotName = (i: number) => `h${i}.${HOT_SUFFIX}`;

function randomOptions(r: Rng): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  for (let i = r.int(4); i > 0; i--) {
    switch (r.int(6)) {
      case 0: out.push([10, r.bytes(r.bool() ? 8 : 24)]); break; // COOKIE
      case 1: out.push([12, Buffer.alloc(r.int(200))]); break; // PADDING
      case 2: out.push([8, Buffer.from([0, 1, 24, 0, 192, 0, 2])]); break; // ECS
      case 3: out.push([15, r.bytes(r.int(8))]); break; // EDE in a query: odd but legal to carry
      case 4: out.push([r.int(65536), r.bytes(r.int(32))]); break; // anything
      case 5: out.push([11, Buffer.from([0, 100])]); break; // TCP keepalive
    }
  }
  return out;
}

function randomOpt(r: Rng): Opt | null {
  if (r.bool(0.35)) return null;
  return { size: r.pick([0, 1, 100, 511, 512, 513, 1232, 1400, 4096, 65535]), do: r.bool(), options: randomOptions(r) };
}

function ednsOf(o: Opt | null | undefined): number { return o ? Math.max(512, o.size) : 0; }

function flags(r: Rng, opcode = 0, qr = false): number {
  return (qr ? 0x8000 : 0) | (opcode << 11) | (r.bool(0.8) ? 0x0100 : 0) | (r.bool(0.2) ? 0x0010 : 0) | (r.bool(0.1) ? 0x0020 : 0);
}

/** A valid query for a hot name (cached after its first miss). */
function hotSpec(r: Rng, qtype?: number): { spec: Spec; name: string } {
  const name = mixCase(r, hotName(r.int(HOT_NAMES)));
  return { name, spec: { flags: flags(r), name: wireName(name), qtype: qtype ?? r.pick([1, 1, 1, 28]), qclass: 1, opt: randomOpt(r) } };
}

/** One to three random edits (bit flips, truncation, splices, counts, pointers, label bytes, flags). */
export function mutate(r: Rng, src: Buffer, pool: Buffer[]): Buffer {
  let b: Buffer = Buffer.from(src);
  const pos = () => r.int(Math.max(1, b.length));
  for (let k = r.range(1, 3); k > 0; k--) {
    if (b.length === 0) { b = r.bytes(r.int(16)); continue; }
    switch (r.int(10)) {
      case 0: b[pos()] ^= 1 << r.int(8); break;
      case 1: b[pos()] = r.int(256); break;
      case 2: b = b.subarray(0, pos()); break;
      case 3: { const o = r.pick(pool); const s = r.int(o.length); const at = pos(); b = Buffer.concat([b.subarray(0, at), o.subarray(s, s + r.int(64)), b.subarray(at)]); break; }
      case 4: { const s = pos(); b = Buffer.concat([b.subarray(0, s), b.subarray(s + r.range(1, 16))]); break; }
      case 5: if (b.length >= 12) b.writeUInt16BE(r.pick([0, 1, 2, 3, 0xffff, r.int(65536)]), 4 + 2 * r.int(4)); break;
      case 6: { const at = Math.min(pos(), b.length - 2); if (at < 0) break; const t = r.pick([at, at + 2 + r.int(8), r.int(12), 12, r.int(Math.max(1, at)), 0x3fff]); b.writeUInt16BE(0xc000 | (t & 0x3fff), at); break; }
      case 7: b[pos()] = r.pick([0, 0x3f, 0x40, 0x80, 0xbf, 0xff]); break;
      case 8: if (b.length >= 4) { b[2] ^= r.pick([0x80, 0x78, 0x02, 0x01, 0x04]); b[3] ^= r.int(256); } break;
      case 9: b = Buffer.concat([b, r.bytes(r.range(1, 8))]); break;
    }
  }
  return b;
}

/** The generic expectation of an arbitrary packet: header readable and QR clear → some answer. */
function anyCase(kind: string, bytes: Buffer): Case {
  if (bytes.length < 12 || bytes[2] & 0x80) return { kind, bytes, expect: "drop" };
  return { kind, bytes, expect: "any" };
}

export interface GenOptions { tcp: boolean }

/** One generated packet. `pool` holds valid queries to mutate and splice. */
export function generate(r: Rng, pool: Buffer[], o: GenOptions): Case {
  const roll = r.int(1000);
  // --- valid traffic
  if (roll < 250) {
    const { spec, name } = hotSpec(r);
    return { kind: "hot", bytes: build(spec), expect: "answer", rcode: 0, echo: true, opt: !!spec.opt, edns: ednsOf(spec.opt), address: spec.qtype === 1 ? addressFor(name) : undefined };
  }
  if (roll < 270) {
    const spec: Spec = { flags: flags(r), name: wireName(`nx${label(r)}.fuzz.test`), qtype: 1, qclass: 1, opt: randomOpt(r) };
    return { kind: "nxdomain", bytes: build(spec), expect: "answer", rcode: 3, echo: true, opt: !!spec.opt, edns: ednsOf(spec.opt) };
  }
  if (roll < 285) {
    const spec: Spec = { flags: flags(r), name: wireName(`${label(r)}.reddog.microsoft.com`), qtype: 1, qclass: 1, opt: randomOpt(r) };
    return { kind: "blocked", bytes: build(spec), expect: "answer", rcode: 3, echo: true, opt: !!spec.opt, edns: ednsOf(spec.opt) };
  }
  if (roll < 335) { // random types
    const t = r.bool(0.2) ? r.pick([0, 41, 251, 252, 253, 254, 255, 65535, 65, 64, 16]) : r.int(65536);
    const { spec } = hotSpec(r, t);
    const bytes = build(spec);
    if (t === 251 || t === 252) return { kind: "type-notimp", bytes, expect: "NOTIMP", echo: true, opt: !!spec.opt };
    if (t === 41 || (t >= 128 && t <= 254)) return { kind: "type-meta", bytes, expect: "FORMERR", echo: true, opt: !!spec.opt };
    return { kind: "type", bytes, expect: "answer", rcode: 0, echo: true, opt: !!spec.opt, edns: ednsOf(spec.opt) };
  }
  if (roll < 365) { // random classes
    const c = r.bool(0.2) ? r.pick([0, 2, 3, 4, 254, 255, 65535]) : r.int(65536);
    const { spec } = hotSpec(r);
    spec.qclass = c;
    const bytes = build(spec);
    if (c === 1 || c === 255) return { kind: "class-ok", bytes, expect: "answer", rcode: 0, echo: true, opt: !!spec.opt, edns: ednsOf(spec.opt) };
    return { kind: "class", bytes, expect: "REFUSED", echo: true, opt: !!spec.opt };
  }
  if (roll < 395) { // EDNS variety, including option lengths that lie inside the OPT rdata
    const { spec, name } = hotSpec(r);
    spec.opt = { size: r.int(65536), do: r.bool(), options: randomOptions(r) };
    let bytes = build(spec);
    if (r.bool(0.3) && spec.opt.options!.length > 0) {
      // make the first option's length lie (the OPT rdata length stays right): still a valid message
      const optAt = bytes.length - spec.opt.options!.reduce((n, [, d]) => n + 4 + d.length, 0);
      bytes.writeUInt16BE(r.int(65536), optAt + 2);
    }
    return { kind: "edns", bytes, expect: "answer", rcode: 0, echo: true, opt: true, edns: ednsOf(spec.opt), address: spec.qtype === 1 ? addressFor(name) : undefined };
  }
  if (roll < 410) { // a valid extra record that points back at the question name
    const { spec } = hotSpec(r);
    spec.records = [rr([0xc0, 12], 1, [192, 0, 2, 1])];
    return { kind: "extra-rr", bytes: build(spec), expect: "answer", rcode: 0, echo: true, opt: !!spec.opt, edns: ednsOf(spec.opt) };
  }
  if (roll < 420) { // the longest legal name: 255 octets
    const labels = [63, 63, 63, 61].map((n) => "a" + label(r, n - 1, n - 1));
    const spec: Spec = { flags: flags(r), name: wireName(labels.join(".")), qtype: 1, qclass: 1, opt: randomOpt(r) };
    return { kind: "name-255", bytes: build(spec), expect: "answer", rcode: 0, echo: true, opt: !!spec.opt, edns: ednsOf(spec.opt) };
  }
  // --- must be dropped
  if (roll < 440) return { kind: "short", bytes: r.bytes(r.int(12)), expect: "drop" };
  if (roll < 460) {
    const { spec } = hotSpec(r);
    spec.flags = flags(r, r.bool(0.8) ? 0 : r.int(16), true);
    return { kind: "qr-set", bytes: r.bool(0.8) ? build(spec) : Buffer.concat([build(spec).subarray(0, 12), r.bytes(r.int(300))]), expect: "drop" };
  }
  // --- targeted malformations with exact expectations
  if (roll < 490) {
    const { spec } = hotSpec(r);
    spec.flags = flags(r, r.range(1, 15));
    // NOTIMP wins over whatever else is wrong with it
    const bytes = r.bool(0.7) ? build(spec) : mutate(r, build(spec), pool);
    if (bytes.length < 12) return { kind: "opcode", bytes, expect: "drop" };
    bytes[2] = (bytes[2] & 0x87) | (r.range(1, 15) << 3);
    if (bytes[2] & 0x80) return { kind: "opcode", bytes, expect: "drop" };
    return { kind: "opcode", bytes, expect: "NOTIMP" };
  }
  if (roll < 510) {
    const { spec } = hotSpec(r);
    spec.qd = r.pick([0, 2, 3, 0xffff, r.int(65536) || 2]);
    if (spec.qd === 1) spec.qd = 0;
    return { kind: "qdcount", bytes: build(spec), expect: "FORMERR", echo: false, opt: false };
  }
  if (roll < 540) {
    const { spec } = hotSpec(r);
    const full = build(spec);
    const qend = 12 + spec.name.length + 4;
    return { kind: "truncated-question", bytes: full.subarray(0, r.range(12, qend - 1)), expect: "FORMERR", echo: false, opt: false };
  }
  if (roll < 570) { // a compression pointer in the question: never legal there
    const labels = [label(r), label(r), "fuzz", "test"];
    const name: number[] = [];
    const cut = r.int(labels.length);
    for (let i = 0; i < cut; i++) name.push(...wireName(labels[i]).slice(0, -1));
    const here = 12 + name.length;
    const target = r.pick([0, 5, 11, 12, here, here + 2, 0x3fff, r.int(0x4000)]);
    name.push(0xc0 | (target >> 8), target & 0xff);
    const spec: Spec = { flags: flags(r), name, qtype: 1, qclass: 1, opt: randomOpt(r) };
    return { kind: "question-pointer", bytes: build(spec), expect: "FORMERR", echo: false, opt: false };
  }
  if (roll < 590) { // over 255 octets
    const n = r.range(5, 12);
    const name = wireName(Array.from({ length: n }, () => label(r, 50, 63)).join("."));
    const spec: Spec = { flags: flags(r), name, qtype: 1, qclass: 1, opt: randomOpt(r) };
    return { kind: "name-too-long", bytes: build(spec), expect: "FORMERR", echo: false, opt: false };
  }
  if (roll < 605) { // a name one octet too long: 256
    const labels = [63, 63, 63, 62].map((n) => "a" + label(r, n - 1, n - 1));
    const spec: Spec = { flags: flags(r), name: wireName(labels.join(".")), qtype: 1, qclass: 1, opt: randomOpt(r) };
    return { kind: "name-256", bytes: build(spec), expect: "FORMERR", echo: false, opt: false };
  }
  if (roll < 620) { // reserved label types 0x40 / 0x80
    const name = [...wireName(label(r)).slice(0, -1), r.range(0x40, 0xbf), ...wireName(`${label(r)}.test`)];
    const spec: Spec = { flags: flags(r), name, qtype: 1, qclass: 1, opt: randomOpt(r) };
    return { kind: "label-type", bytes: build(spec), expect: "FORMERR", echo: false, opt: false };
  }
  if (roll < 650) { // lying counts: records announced that are not there
    const { spec } = hotSpec(r);
    spec.opt = null;
    const which = r.int(3);
    const big = r.pick([1, 2, 100, 0x7fff, 0xffff]);
    if (which === 0) spec.an = big; else if (which === 1) spec.ns = big; else spec.ar = big;
    return { kind: "huge-counts", bytes: build(spec), expect: "FORMERR", echo: true, opt: false };
  }
  if (roll < 670) {
    const { spec } = hotSpec(r);
    return { kind: "trailing", bytes: Buffer.concat([build(spec), r.bytes(r.range(1, 20))]), expect: "FORMERR", echo: true, opt: !!spec.opt };
  }
  if (roll < 690) {
    const { spec } = hotSpec(r);
    spec.opt = { size: r.pick([512, 1232, 4096]), version: r.range(1, 255), do: r.bool(), options: randomOptions(r) };
    return { kind: "badvers", bytes: build(spec), expect: "BADVERS", echo: true, opt: true };
  }
  if (roll < 700) {
    const { spec } = hotSpec(r);
    spec.opt = { size: 1232, options: randomOptions(r) };
    spec.extraOpt = true;
    return { kind: "opt-twice", bytes: build(spec), expect: "FORMERR", echo: true, opt: false };
  }
  if (roll < 710) {
    const { spec } = hotSpec(r);
    spec.opt = { size: 1232 };
    spec.optIn = "answer";
    return { kind: "opt-in-answer", bytes: build(spec), expect: "FORMERR", echo: true, opt: false };
  }
  if (roll < 720) {
    const { spec } = hotSpec(r);
    spec.opt = { size: 1232, owner: r.bool() ? [0xc0, 12] : wireName(label(r)) };
    return { kind: "opt-owner", bytes: build(spec), expect: "FORMERR", echo: true, opt: false };
  }
  if (roll < 745) { // pointer games in an additional record (placed before any OPT)
    const { spec } = hotSpec(r);
    const qend = 12 + spec.name.length + 4;
    let owner: number[];
    switch (r.int(4)) {
      case 0: owner = [0xc0 | (qend >> 8), qend & 0xff]; break; // to itself
      case 1: owner = [0xc0 | ((qend + 4) >> 8), (qend + 4) & 0xff]; break; // forward
      case 2: { const t = r.int(12); owner = [0xc0, t]; break; } // into the header
      default: { // a chain of 200 pointers, each to the one before it: too many hops
        // the pointers sit in the rdata of a NULL record; the next record's owner points at the last one
        const rdataAt = qend + 12;
        const ptrs = Buffer.alloc(400);
        for (let i = 0; i < 200; i++) ptrs.writeUInt16BE(0xc000 | (i === 0 ? 12 : rdataAt + 2 * (i - 1)), 2 * i);
        const last = rdataAt + 2 * 199;
        spec.records = [rr([0xc0, 12], 10, ptrs), rr([0xc0 | (last >> 8), last & 0xff], 1, [192, 0, 2, 2])];
        return { kind: "pointer-hops", bytes: build(spec), expect: "FORMERR", echo: true, opt: false };
      }
    }
    spec.records = [rr(owner, 1, [192, 0, 2, 1])];
    return { kind: "rr-pointer", bytes: build(spec), expect: "FORMERR", echo: true, opt: false };
  }
  if (roll < 760 && o.tcp) { // 65,535-octet frames
    const { spec, name } = hotSpec(r);
    const base = build({ ...spec, opt: null });
    const pad = 65535 - base.length - 11 - 4;
    const kind = r.int(3);
    if (kind === 0) {
      spec.opt = { size: 1232, options: [[12, Buffer.alloc(pad)]] };
      const bytes = build(spec);
      return { kind: "frame-65535", bytes, expect: "answer", rcode: 0, refusedOnMiss: true, echo: true, opt: true, address: spec.qtype === 1 ? addressFor(name) : undefined };
    }
    if (kind === 1) return { kind: "frame-65535-trailing", bytes: Buffer.concat([base, r.bytes(65535 - base.length)]), expect: "FORMERR", echo: true, opt: false };
    const rand = r.bytes(65535);
    rand[2] &= 0x7f;
    return { ...anyCase("frame-65535-random", rand) };
  }
  if (roll < 775) { // big answers (TC over UDP, whole over TCP)
    const name = mixCase(r, `big${r.int(5)}.${HOT_SUFFIX}`);
    const spec: Spec = { flags: flags(r), name: wireName(name), qtype: 16, qclass: 1, opt: randomOpt(r) };
    return { kind: "big-answer", bytes: build(spec), expect: "answer", rcode: 0, echo: true, opt: !!spec.opt, edns: ednsOf(spec.opt) };
  }
  if (roll < 785 && !o.tcp) { // large UDP queries (valid, padded)
    const { spec, name } = hotSpec(r);
    // padded, but under the 4096 octets beyond which a query is refused rather than forwarded
    spec.opt = { size: 1232, options: [[12, Buffer.alloc(r.range(500, 3900))]] };
    return { kind: "large-udp-query", bytes: build(spec), expect: "answer", rcode: 0, echo: true, opt: true, edns: 1232, address: spec.qtype === 1 ? addressFor(name) : undefined };
  }
  // --- random mutations and plain noise
  if (roll < 970) return anyCase("mutated", mutate(r, r.pick(pool), pool));
  const noise = r.bytes(r.range(12, 600));
  if (r.bool(0.7)) noise[2] &= 0x7f;
  return anyCase("noise", noise);
}

/** Valid queries to seed mutations with. */
export function seedPool(r: Rng, n = 300): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const { spec } = hotSpec(r, r.bool(0.8) ? undefined : r.pick([16, 15, 33, 12, 2, 6]));
    if (r.bool(0.2)) spec.records = [rr([0xc0, 12], 1, [192, 0, 2, 1])];
    out.push(build(spec));
  }
  return out;
}

// ---------------------------------------------------------------- checking answers

function qend(b: Buffer): number {
  let p = 12;
  for (let i = 0; i < 130 && p < b.length; i++) {
    const n = b[p];
    if (n === 0) return p + 5;
    if (n & 0xc0) return -1;
    p += n + 1;
  }
  return -1;
}

/** Checks one answer against its case; returns a problem description or null. */
export function check(c: Case, a: Buffer, tcp: boolean): string | null {
  const q = c.bytes;
  if (c.expect === "drop") return "answered a packet that must be dropped";
  if (a.length < 12) return `answer shorter than a header (${a.length})`;
  let d: any;
  try { d = packet.decode(a); } catch (e) { return `answer does not decode: ${(e as Error).message}`; }
  if (d.id !== q.readUInt16BE(0)) return `ID ${d.id} != ${q.readUInt16BE(0)}`;
  if (!(a[2] & 0x80)) return "QR clear in the answer";
  const opcode = (a[2] >> 3) & 0xf;
  if (opcode !== ((q[2] >> 3) & 0xf)) return `opcode ${opcode} not echoed`;
  if ((a[2] & 1) !== (q[2] & 1)) return "RD not echoed";
  const opts = (d.additionals ?? []).filter((x: any) => x.type === "OPT");
  const rcode = (opts.length ? (opts[0].extendedRcode ?? 0) << 4 : 0) | (a[3] & 0xf);
  if (!tcp && a.length > Math.max(512, Math.min(c.edns ?? 512, 1232))) {
    if (c.expect === "answer" || c.expect === "any") return `UDP answer of ${a.length} octets over the client's limit ${c.edns}`;
  }
  const qd = a.readUInt16BE(4);
  if (qd > 1) return `answer with ${qd} questions`;
  if (qd === 1) {
    const e = qend(a);
    if (e < 0 || e > q.length || !a.subarray(12, e).equals(q.subarray(12, e))) return "question not echoed octet for octet";
  }
  if (c.echo !== undefined && (qd === 1) !== c.echo) return `question ${c.echo ? "missing" : "echoed"}`;
  if (c.opt !== undefined && (opts.length === 1) !== c.opt) return `OPT ${c.opt ? "missing" : "present"}`;
  if (opts.length > 1) return "answer with two OPT records";
  const isError = c.expect !== "answer" && c.expect !== "any";
  if (isError) {
    if (rcode !== RC[c.expect as keyof typeof RC]) return `rcode ${rcode}, expected ${c.expect}`;
    if (d.answers.length + d.authorities.length !== 0) return "records in an error answer";
    return null;
  }
  if (c.expect === "answer") {
    if (c.refusedOnMiss && rcode === RC.REFUSED && d.answers.length + d.authorities.length === 0) return null;
    if (rcode !== c.rcode) return `rcode ${rcode}, expected ${c.rcode}`;
    if (c.address && !(a[2] & 0x02)) {
      const got = d.answers.filter((x: any) => x.type === "A").map((x: any) => x.data);
      if (!got.includes(c.address)) return `A answer ${JSON.stringify(got)}, expected ${c.address}`;
    }
    return null;
  }
  // any
  if (opcode !== 0) return rcode === RC.NOTIMP ? null : `rcode ${rcode} for opcode ${opcode}, expected NOTIMP`;
  if (![0, 1, 2, 3, 4, 5, 16].includes(rcode)) return `undefined rcode ${rcode}`;
  return null;
}

// ---------------------------------------------------------------- running

export interface FuzzStats {
  udpSent: number; tcpFrames: number; tcpConnections: number; answered: number; dropped: number;
  violations: string[]; violationCount: number; byKind: Record<string, { sent: number; answered: number }>;
  rcodes: Record<number, number>;
}

export interface FuzzTarget { host: string; port: number }

function record(stats: FuzzStats, what: string): void {
  stats.violationCount++;
  if (stats.violations.length < 25) stats.violations.push(what);
}
const hex = (b: Buffer, n = 80) => b.subarray(0, n).toString("hex") + (b.length > n ? `…(${b.length})` : "");

/** Sends `udp` datagrams over `sockets` sockets with `window` outstanding each, and runs TCP
 * connections `tcpParallel` at a time until `tcpFrames` frames went out; checks every answer. */
export async function runFuzz(t: FuzzTarget, o: { seed: number; udp: number; tcpFrames: number; sockets?: number; window?: number; tcpParallel?: number; timeoutMs?: number; stats?: FuzzStats; log?: (s: string) => void }): Promise<FuzzStats> {
  const stats: FuzzStats = o.stats ?? { udpSent: 0, tcpFrames: 0, tcpConnections: 0, answered: 0, dropped: 0, violations: [], violationCount: 0, byKind: {}, rcodes: {} };
  const r = new Rng(o.seed);
  const pool = seedPool(r);
  const timeoutMs = o.timeoutMs ?? 3000;
  const kind = (k: string) => (stats.byKind[k] ??= { sent: 0, answered: 0 });
  const [udpDone, tcpDone] = [runUdp(), runTcp()];
  await Promise.all([udpDone, tcpDone]);
  return stats;

  async function runUdp(): Promise<void> {
    const sockets = o.sockets ?? 4;
    const window = o.window ?? 24;
    let sent = 0;
    let finished = 0;
    let resolveAll!: () => void;
    const all = new Promise<void>((res) => { resolveAll = res; });
    if (o.udp <= 0) return;
    const lanes = await Promise.all(Array.from({ length: sockets }, async () => {
      const sock = dgram.createSocket("udp4");
      sock.on("error", () => {});
      await new Promise<void>((res) => sock.bind(0, "127.0.0.1", res));
      return { sock, out: new Map<number, { c: Case; at: number }>(), next: 1, dropId: 0 };
    }));
    type Lane = (typeof lanes)[number];
    const pump = (lane: Lane) => {
      let guard = 0;
      while (lane.out.size < window && sent < o.udp && guard++ < 64) {
        const c = generate(r, pool, { tcp: false });
        sent++;
        stats.udpSent++;
        kind(c.kind).sent++;
        if (c.expect === "drop") {
          if (c.bytes.length >= 2) c.bytes.writeUInt16BE(0x8000 | (lane.dropId++ & 0x7fff));
          stats.dropped++;
          lane.sock.send(c.bytes, t.port, t.host);
          continue;
        }
        let id = lane.next;
        while (lane.out.has(id)) id = (id % 0x7fff) + 1;
        lane.next = (id % 0x7fff) + 1;
        c.bytes.writeUInt16BE(id);
        lane.out.set(id, { c, at: Date.now() });
        lane.sock.send(c.bytes, t.port, t.host);
      }
      if (sent >= o.udp && lanes.every((l) => l.out.size === 0) && finished++ === 0) resolveAll();
    };
    for (const lane of lanes) {
      lane.sock.on("message", (m) => {
        if (m.length < 2) { record(stats, `udp: ${m.length}-octet answer`); return; }
        const id = m.readUInt16BE(0);
        if (id & 0x8000) { record(stats, `udp: answer to a packet that must be dropped: ${hex(m)}`); return; }
        const w = lane.out.get(id);
        if (!w) { record(stats, `udp: unexpected or duplicate answer id ${id}: ${hex(m)}`); return; }
        lane.out.delete(id);
        stats.answered++;
        kind(w.c.kind).answered++;
        stats.rcodes[m[3] & 0xf] = (stats.rcodes[m[3] & 0xf] ?? 0) + 1;
        const p = check(w.c, m, false);
        if (p) record(stats, `udp ${w.c.kind}: ${p}; query ${hex(w.c.bytes)} answer ${hex(m)}`);
        pump(lane);
      });
    }
    const sweeper = setInterval(() => {
      const now = Date.now();
      for (const lane of lanes) {
        for (const [id, w] of lane.out) {
          if (now - w.at > timeoutMs) { lane.out.delete(id); record(stats, `udp ${w.c.kind}: no answer within ${timeoutMs} ms; query ${hex(w.c.bytes)}`); }
        }
        pump(lane);
      }
    }, 200);
    for (const lane of lanes) pump(lane);
    await all;
    await sleep(300); // stray or duplicate answers arrive now or never
    clearInterval(sweeper);
    for (const lane of lanes) lane.sock.close();
  }

  async function runTcp(): Promise<void> {
    let frames = 0;
    const parallel = o.tcpParallel ?? 4;
    const worker = async () => {
      while (frames < o.tcpFrames) {
        const n = r.range(1, 40);
        frames += n;
        try { await tcpConnection(n); } catch (e) { record(stats, `tcp: ${(e as Error).message}`); }
      }
    };
    await Promise.all(Array.from({ length: parallel }, worker));
  }

  async function tcpConnection(n: number): Promise<void> {
    const mode = r.pick(["whole", "whole", "chunks", "chunks", "slow", "zero", "huge"] as const);
    const cases: Case[] = [];
    for (let i = 0; i < n; i++) {
      // (an empty message would be a zero-length frame: only the "zero" mode sends one, on purpose)
      let c = generate(r, pool, { tcp: true });
      if (mode === "huge" && i === 0) { while (!c.kind.startsWith("frame-65535")) c = generate(r, pool, { tcp: true }); }
      else while ((c.kind.startsWith("frame-65535") && mode !== "huge") || c.bytes.length === 0) c = generate(r, pool, { tcp: true });
      if (c.bytes.length >= 2) c.bytes.writeUInt16BE(c.expect === "drop" ? 0x8000 | i : i + 1);
      cases.push(c);
      kind(c.kind).sent++;
      if (c.expect === "drop") stats.dropped++;
    }
    stats.tcpFrames += n;
    stats.tcpConnections++;
    const expected = cases.filter((c) => c.expect !== "drop").length;
    const conn = await TcpClient.connect(t.host, t.port);
    try {
      let data = Buffer.concat(cases.map((c) => framed(c.bytes)));
      if (mode === "zero") data = Buffer.concat([data, Buffer.from([0, 0]), framed(cases[0].bytes)]);
      if (mode === "whole" || mode === "zero" || mode === "huge") conn.send(data);
      else if (mode === "chunks") {
        for (let p = 0; p < data.length && !conn.closed;) {
          const k = r.range(1, 300);
          conn.send(data.subarray(p, p + k));
          p += k;
          if (r.bool(0.3)) await sleep(r.int(3));
        }
      } else { // slow: the first 60 octets one at a time, then the rest
        const slow = Math.min(60, data.length);
        for (let p = 0; p < slow && !conn.closed; p++) { conn.send(data.subarray(p, p + 1)); await sleep(1); }
        conn.send(data.subarray(slow));
      }
      if (mode === "zero") {
        // a zero-length frame is invalid: the server closes the connection (answers before it may come)
        const closed = await conn.until(() => conn.closed, timeoutMs);
        if (!closed) record(stats, "tcp: a zero-length frame did not close the connection");
      } else {
        await conn.until(() => conn.answers.length >= expected || conn.closed, timeoutMs + 2000);
        await sleep(5);
        if (conn.answers.length < expected) record(stats, `tcp ${mode}: ${conn.answers.length} of ${expected} answers${conn.closed ? " (closed by the server)" : ""}; kinds ${cases.map((c) => c.kind).join(",")}`);
      }
      const seen = new Set<number>();
      for (const a of conn.answers) {
        if (a.length < 2) { record(stats, "tcp: tiny answer"); continue; }
        const id = a.readUInt16BE(0);
        if (id & 0x8000) { record(stats, `tcp: answer to a frame that must be dropped (${cases[id & 0x7fff]?.kind})`); continue; }
        const c = cases[id - 1];
        if (!c || seen.has(id)) { record(stats, `tcp: unexpected or duplicate answer id ${id}`); continue; }
        seen.add(id);
        stats.answered++;
        kind(c.kind).answered++;
        stats.rcodes[a[3] & 0xf] = (stats.rcodes[a[3] & 0xf] ?? 0) + 1;
        const p = check(c, a, true);
        if (p) record(stats, `tcp ${c.kind}: ${p}; query ${hex(c.bytes)} answer ${hex(a)}`);
      }
    } finally { conn.destroy(); }
  }
}

/** Every hot name once (A), so later hot queries are cache hits. */
export async function warmHotNames(t: FuzzTarget): Promise<void> {
  const sock = dgram.createSocket("udp4");
  await new Promise<void>((res) => sock.bind(0, "127.0.0.1", res));
  let got = 0;
  sock.on("message", () => { got++; });
  for (let i = 0; i < HOT_NAMES; i++) {
    for (const qtype of [1, 28]) sock.send(build({ id: i, name: wireName(hotName(i)), qtype, qclass: 1 }), t.port, t.host);
    if (i % 20 === 19) await sleep(5);
  }
  for (let i = 0; i < 100 && got < HOT_NAMES * 2; i++) await sleep(20);
  sock.close();
}
