// A small DNS wire writer for the core suites. dns-packet never compresses names, but real upstream
// replies do, so this writes the same message objects dns-packet takes, with RFC 1035 compression of
// owner names and of the names inside NS, CNAME, PTR, MX, SRV and SOA data. It also writes the raw,
// deliberately broken shapes the malformed-packet fixtures need.

export const TYPE: Record<string, number> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, OPT: 41, NULL: 10,
};
const CLASS: Record<string, number> = { IN: 1, CH: 3, HS: 4, ANY: 255 };

export class Writer {
  readonly b: number[] = [];
  private readonly seen = new Map<string, number>();
  constructor(readonly compress = false) {}

  get pos(): number { return this.b.length; }
  u8(v: number): this { this.b.push(v & 0xff); return this; }
  u16(v: number): this { return this.u8(v >> 8).u8(v); }
  u32(v: number): this { return this.u16(v >>> 16).u16(v & 0xffff); }
  bytes(a: ArrayLike<number>): this { for (let i = 0; i < a.length; i++) this.b.push(a[i] & 0xff); return this; }
  set16(at: number, v: number): this { this.b[at] = (v >> 8) & 0xff; this.b[at + 1] = v & 0xff; return this; }
  /** Labels as written (no escapes); "" and "." are the root. */
  label(s: string): this { this.u8(s.length); for (const c of s) this.u8(c.charCodeAt(0)); return this; }
  ptr(target: number): this { return this.u16(0xc000 | target); }

  /** A name, replacing its longest already-written suffix with a pointer when compressing. */
  name(n: string, compress = this.compress): this {
    const labels = n.replace(/^\.|\.$/g, "").split(".").filter((l) => l.length > 0);
    for (let i = 0; i < labels.length; i++) {
      const suffix = labels.slice(i).join(".").toLowerCase();
      const at = this.seen.get(suffix);
      if (compress && at !== undefined) return this.ptr(at);
      if (this.pos < 0x3fff && !this.seen.has(suffix)) this.seen.set(suffix, this.pos);
      this.label(labels[i]);
    }
    return this.u8(0);
  }
  done(): Buffer { return Buffer.from(this.b); }
}

export interface Header { id: number; flags?: number; qr?: boolean; qd?: number; an?: number; ns?: number; ar?: number }
/** A header with explicit counts (for packets whose counts lie). */
export function header(w: Writer, h: Header): Writer {
  return w.u16(h.id).u16((h.qr ? 0x8000 : 0) | (h.flags ?? 0x0100)).u16(h.qd ?? 1).u16(h.an ?? 0).u16(h.ns ?? 0).u16(h.ar ?? 0);
}

function ipv6(s: string): number[] {
  const [head, tail] = s.includes("::") ? s.split("::") : [s, undefined];
  const hs = head ? head.split(":") : [];
  const ts = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = [...hs, ...Array(8 - hs.length - ts.length).fill("0"), ...ts].map((g) => parseInt(g, 16));
  return groups.flatMap((g) => [g >> 8, g & 0xff]);
}

/** One resource record in dns-packet's object shape. */
export function record(w: Writer, r: any): void {
  w.name(r.name);
  const type = typeof r.type === "number" ? r.type : TYPE[r.type];
  if (type === undefined) throw new Error(`wire.ts: type ${r.type}`);
  w.u16(type);
  if (type === 41) {
    w.u16(r.udpPayloadSize ?? 4096).u8(r.extendedRcode ?? 0).u8(r.ednsVersion ?? 0).u16(r.flags ?? 0);
  } else {
    w.u16(typeof r.class === "number" ? r.class : CLASS[r.class ?? "IN"]).u32(r.ttl ?? 0);
  }
  const lenAt = w.pos;
  w.u16(0);
  const d = r.data;
  switch (r.type) {
    case "A": w.bytes(d.split(".").map(Number)); break;
    case "AAAA": w.bytes(ipv6(d)); break;
    case "NS": case "CNAME": case "PTR": w.name(d); break;
    case "MX": w.u16(d.preference).name(d.exchange); break;
    case "SRV": w.u16(d.priority).u16(d.weight).u16(d.port).name(d.target); break;
    case "SOA":
      w.name(d.mname).name(d.rname).u32(d.serial).u32(d.refresh).u32(d.retry).u32(d.expire).u32(d.minimum);
      break;
    case "TXT": for (const s of d as Buffer[]) { w.u8(s.length); w.bytes(s); } break;
    case "OPT": for (const o of r.options ?? []) { w.u16(o.code).u16(o.data.length).bytes(o.data); } break;
    default: w.bytes(d as Buffer); // raw rdata for numeric types
  }
  w.set16(lenAt, w.pos - lenAt - 2);
}

/** A whole message in dns-packet's object shape, names compressed when `compress`. */
export function encodeMessage(m: any, compress: boolean): Buffer {
  const w = new Writer(compress);
  const qs = m.questions ?? [];
  const an = m.answers ?? [], ns = m.authorities ?? [], ar = m.additionals ?? [];
  header(w, { id: m.id ?? 0, flags: m.flags ?? 0, qr: m.type === "response", qd: qs.length, an: an.length, ns: ns.length, ar: ar.length });
  for (const q of qs) w.name(q.name).u16(TYPE[q.type] ?? q.type).u16(CLASS[q.class ?? "IN"]);
  for (const r of [...an, ...ns, ...ar]) record(w, r);
  return w.done();
}

/** End offsets of every record of a well-formed message (what "whole records" means on the wire). */
export function recordEnds(m: Uint8Array): number[] {
  const skipName = (p: number): number => {
    while (m[p] !== 0) {
      if ((m[p] & 0xc0) === 0xc0) return p + 2;
      p += m[p] + 1;
    }
    return p + 1;
  };
  const count = (i: number) => (m[i] << 8) | m[i + 1];
  let p = 12;
  for (let q = count(4); q > 0; q--) p = skipName(p) + 4;
  const ends: number[] = [];
  for (let n = count(6) + count(8) + count(10); n > 0; n--) {
    p = skipName(p);
    p += 10 + ((m[p + 8] << 8) | m[p + 9]);
    ends.push(p);
  }
  return ends;
}

/** Whether m is structurally a DNS message: the header's counts of questions and records walk
 *  exactly to its end (names by labels or a final pointer, rdata by its length). Never throws. */
export function wellFormed(m: Uint8Array): boolean {
  const n = m.length;
  if (n < 12) return false;
  const skipName = (p: number): number => {
    while (p < n) {
      const b = m[p];
      if (b === 0) return p + 1;
      if ((b & 0xc0) === 0xc0) return p + 2 <= n ? p + 2 : -1;
      if ((b & 0xc0) !== 0) return -1;
      p += b + 1;
    }
    return -1;
  };
  const count = (i: number) => (m[i] << 8) | m[i + 1];
  let p = 12;
  for (let q = count(4); q > 0; q--) { p = skipName(p); if (p < 0 || p + 4 > n) return false; p += 4; }
  for (let r = count(6) + count(8) + count(10); r > 0; r--) {
    p = skipName(p);
    if (p < 0 || p + 10 > n) return false;
    p += 10 + ((m[p + 8] << 8) | m[p + 9]);
    if (p > n) return false;
  }
  return p === n;
}
