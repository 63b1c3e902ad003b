// Generators for the differential and fuzz suites: random client queries and random upstream
// replies of many record types, as dns-packet message objects. All randomness comes from a seeded Rng.
import packet from "dns-packet";
import { Rng, randomName, randomLabel } from "./core";

/** Query types dns-packet can name, with their numbers (the oracle's names → what the core should read). */
export const QTYPES: Record<string, number> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, NAPTR: 35, DS: 43,
  TLSA: 52, CAA: 257, UNKNOWN_65: 65, ANY: 255, AXFR: 252, IXFR: 251,
};
export const QCLASSES: Record<string, number> = { IN: 1, CH: 3, HS: 4, ANY: 255 };
const SUFFIXES = ["example.com", "Example.ORG", "cluster.local", "svc.CLUSTER.local", "in-addr.arpa", "co.uk"];

export interface Edns { udpPayloadSize: number; do: boolean; version?: number; options?: { code: number; data: Buffer }[] }
export interface QuerySpec { id: number; name: string; type: string; class: string; rd: boolean; cd: boolean; ad: boolean; opcode?: number; edns: Edns | null }

export function randomOptions(r: Rng): { code: number; data: Buffer }[] {
  const out: { code: number; data: Buffer }[] = [];
  for (let i = r.int(4); i > 0; i--) {
    const kind = r.int(4);
    if (kind === 0) out.push({ code: 10, data: r.bytes(r.bool() ? 8 : 24) }); // COOKIE
    else if (kind === 1) out.push({ code: 12, data: Buffer.alloc(r.int(64)) }); // PADDING
    else if (kind === 2) out.push({ code: 8, data: Buffer.from([0, 1, 24, 0, 192, 0, 2]) }); // ECS
    else out.push({ code: 65001, data: r.bytes(r.int(16)) }); // private use
  }
  return out;
}

export function randomEdns(r: Rng): Edns {
  // (no 0: dns-packet writes a size of 0 as 4096)
  return { udpPayloadSize: r.pick([1, 100, 511, 512, 513, 1232, 1400, 4096, 65535]), do: r.bool(), options: randomOptions(r) };
}

export function randomQuery(r: Rng, over: Partial<QuerySpec> = {}): QuerySpec {
  return {
    id: r.int(65536),
    name: randomName(r, r.pick(SUFFIXES)),
    type: r.pick(Object.keys(QTYPES)),
    class: r.bool(0.85) ? "IN" : r.pick(Object.keys(QCLASSES)),
    rd: r.bool(0.8), cd: r.bool(0.2), ad: r.bool(0.2),
    edns: r.bool(0.6) ? randomEdns(r) : null,
    ...over,
  };
}

export function optRecord(e: Edns): any {
  return { type: "OPT", name: ".", udpPayloadSize: e.udpPayloadSize, ednsVersion: e.version ?? 0, flags: e.do ? packet.DNSSEC_OK : 0, options: e.options ?? [] };
}

export function encodeQuery(q: QuerySpec): Buffer {
  let flags = (q.rd ? packet.RECURSION_DESIRED : 0) | (q.cd ? packet.CHECKING_DISABLED : 0) | (q.ad ? packet.AUTHENTIC_DATA : 0);
  flags |= (q.opcode ?? 0) << 11;
  return packet.encode({
    type: "query", id: q.id, flags,
    questions: [{ name: q.name, type: q.type as any, class: q.class as any }],
    additionals: q.edns ? [optRecord(q.edns)] : [],
  } as any);
}

// ---- upstream replies ----

const TTLS = [1, 30, 59, 300, 3600, 86400, 604800, 0x7fffffff, 0x80000000, 0xffffffff, 0];
export const randomTtl = (r: Rng): number => (r.bool(0.85) ? r.range(1, 7200) : r.pick(TTLS));
const ipv4 = (r: Rng) => `${r.int(256)}.${r.int(256)}.${r.int(256)}.${r.int(256)}`;
const ipv6 = (r: Rng) => Array.from({ length: 8 }, () => r.int(65536).toString(16)).join(":");
const txt = (r: Rng) => Array.from({ length: r.range(1, 24) }, () => r.bytes(r.int(48)));

export type Scenario = "A" | "AAAA" | "MX" | "SRV" | "TXT" | "PTR" | "NS" | "SOA" | "NXDOMAIN" | "NODATA" | "NXDOMAIN_NO_SOA";
export const SCENARIOS: Scenario[] = ["A", "AAAA", "MX", "SRV", "TXT", "PTR", "NS", "SOA", "NXDOMAIN", "NODATA", "NXDOMAIN_NO_SOA"];
export const scenarioQtype = (s: Scenario): string => (s.startsWith("NX") || s === "NODATA" ? "A" : s);

/** Owner names in a zone: `zone` is the upstream's apex for SOA/NS data. */
function soa(r: Rng, zone: string): any {
  return {
    name: zone, type: "SOA", ttl: randomTtl(r),
    data: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}`, serial: r.int(2 ** 32), refresh: 3600, retry: 600, expire: 86400, minimum: randomTtl(r) },
  };
}

/** A CNAME chain from qname of 0–3 links; returns the records and the final target. */
function chain(r: Rng, qname: string, zone: string): { rrs: any[]; target: string } {
  const rrs: any[] = [];
  let at = qname;
  for (let i = r.bool(0.6) ? 0 : r.range(1, 3); i > 0; i--) {
    const next = `${randomLabel(r)}.${r.bool() ? zone : "cdn.example.net"}`;
    rrs.push({ name: at, type: "CNAME", ttl: randomTtl(r), data: next });
    at = next;
  }
  return { rrs, target: at };
}

/** A reply to the question `q` (name spelled as sent) for the scenario, as a dns-packet object. */
export function randomReply(r: Rng, id: number, q: { name: string; type: string; class: string }, s: Scenario): any {
  const zone = q.name.split(".").slice(-2).join(".");
  const answers: any[] = [];
  const authorities: any[] = [];
  const additionals: any[] = [];
  let rcode = 0;
  const { rrs, target } = chain(r, q.name, zone);
  const n = (max: number) => r.range(1, max);
  switch (s) {
    case "A": answers.push(...rrs); for (let i = n(8); i > 0; i--) answers.push({ name: target, type: "A", ttl: randomTtl(r), data: ipv4(r) }); break;
    case "AAAA": answers.push(...rrs); for (let i = n(4); i > 0; i--) answers.push({ name: target, type: "AAAA", ttl: randomTtl(r), data: ipv6(r) }); break;
    case "MX":
      for (let i = n(5); i > 0; i--) {
        const host = `mx${i}.${zone}`;
        answers.push({ name: q.name, type: "MX", ttl: randomTtl(r), data: { preference: r.int(100), exchange: host } });
        if (r.bool()) additionals.push({ name: host, type: "A", ttl: randomTtl(r), data: ipv4(r) });
      }
      break;
    case "SRV":
      for (let i = n(5); i > 0; i--) {
        const host = `node-${i}.${zone}`;
        answers.push({ name: q.name, type: "SRV", ttl: randomTtl(r), data: { priority: r.int(10), weight: r.int(100), port: r.int(65536), target: host } });
        if (r.bool()) additionals.push({ name: host, type: "AAAA", ttl: randomTtl(r), data: ipv6(r) });
      }
      break;
    case "TXT": for (let i = n(3); i > 0; i--) answers.push({ name: q.name, type: "TXT", ttl: randomTtl(r), data: txt(r) }); break;
    case "PTR": for (let i = n(2); i > 0; i--) answers.push({ name: q.name, type: "PTR", ttl: randomTtl(r), data: `host-${i}.${zone}` }); break;
    case "NS":
      for (let i = n(4); i > 0; i--) {
        answers.push({ name: q.name, type: "NS", ttl: randomTtl(r), data: `ns${i}.${zone}` });
        if (r.bool()) additionals.push({ name: `ns${i}.${zone}`, type: "A", ttl: randomTtl(r), data: ipv4(r) });
      }
      break;
    case "SOA": answers.push(soa(r, q.name)); break;
    // the denial comes from the zone of the chain's last name, so its SOA does too
    case "NXDOMAIN": rcode = 3; answers.push(...rrs); authorities.push(soa(r, target.split(".").slice(-2).join("."))); break;
    case "NODATA": authorities.push(soa(r, zone)); break;
    case "NXDOMAIN_NO_SOA": rcode = 3; break;
  }
  if (s !== "SOA" && !s.startsWith("NX") && s !== "NODATA" && r.bool(0.3)) {
    authorities.push({ name: zone, type: "NS", ttl: randomTtl(r), data: `ns1.${zone}` });
  }
  const flags = 0x0100 | 0x0080 | (r.bool(0.3) ? 0x0400 : 0) | (r.bool(0.3) ? 0x0020 : 0) | rcode; // RD RA [AA] [AD]
  return { type: "response", id, flags, questions: [{ ...q }], answers, authorities, additionals };
}
