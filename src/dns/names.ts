// Mnemonics for DNS codes, for log lines, metrics labels and admin parameters. One table each.

const RCODES = ["NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"];
const EXTENDED_RCODES: Record<number, string> = { 16: "BADVERS", 23: "BADCOOKIE" };

export function rcodeName(rcode: number): string { return RCODES[rcode] ?? EXTENDED_RCODES[rcode] ?? String(rcode); }

export const TYPE_CODES: Record<string, number> = {
  A: 1, NS: 2, CNAME: 5, SOA: 6, PTR: 12, MX: 15, TXT: 16, AAAA: 28, SRV: 33, NAPTR: 35, DNAME: 39,
  OPT: 41, DS: 43, RRSIG: 46, NSEC: 47, DNSKEY: 48, NSEC3: 50, SVCB: 64, HTTPS: 65, TKEY: 249, TSIG: 250,
  IXFR: 251, AXFR: 252, MAILB: 253, MAILA: 254, ANY: 255, CAA: 257,
};
const TYPE_NAMES = new Map(Object.entries(TYPE_CODES).map(([name, code]) => [code, name]));

export function typeName(code: number): string { return TYPE_NAMES.get(code) ?? `TYPE${code}`; }

/** "AAAA", "TYPE65" or "65" → the type code; null when it is none of those. */
export function typeCode(text: string): number | null {
  const up = text.toUpperCase();
  const n = TYPE_CODES[up] ?? (/^TYPE\d+$/.test(up) ? Number(up.slice(4)) : /^\d+$/.test(up) ? Number(up) : NaN);
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? n : null;
}
