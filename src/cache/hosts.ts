// The hosts overlay: a hosts(5) file whose names are answered locally (A, AAAA, and PTR for their
// addresses) ahead of the cache, re-read when it changes. For pinning critical names.
import { isIP } from "node:net";
import { encodeName } from "../core";
import { ipBytes, ip6Bytes } from "../addr";
import { HOSTS_MAX_ADDRESSES_PER_NAME, HOSTS_MAX_ANSWERS } from "../config/limits";

export const HOSTS_TTL = 60;
const A = 1, AAAA = 28, PTR = 12;
/** Problems listed one by one; past this many only their number is reported (the log stays short). */
const PROBLEMS_LISTED = 20;

export interface HostsEntry { name: string; qtype: number; rdata: Uint8Array[] }

export interface ParsedHosts {
  entries: HostsEntry[];
  names: number;
  /** The first few lines that were ignored, and how many there were in all. */
  problems: string[];
  problemCount: number;
  /** Addresses over the per-name cap, dropped: how many in all, and the first few names they were for. */
  dropped: { addresses: number; names: string[] };
  /** More answers than the overlay holds: parsing stopped at the line that went over. */
  overflow: { line: number } | null;
}

/** The addresses of one name and family, in file order, each once. */
class AddressList {
  readonly list: Uint8Array[] = [];
  private readonly seen = new Set<string>();
  /** false when the address is over the cap (a duplicate is simply ignored). */
  add(addr: Uint8Array, cap: number): boolean {
    const key = addr.join(".");
    if (this.seen.has(key)) return true;
    if (this.list.length >= cap) return false;
    this.seen.add(key);
    this.list.push(addr);
    return true;
  }
}

function reverseName(b: Uint8Array): string {
  if (b.length === 4) return `${b[3]}.${b[2]}.${b[1]}.${b[0]}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) nibbles.push((b[i] & 0xf).toString(16), (b[i] >> 4).toString(16));
  return `${nibbles.join(".")}.ip6.arpa`;
}

/** Parses hosts(5) text. A name with addresses of one family only answers the other with NODATA. An
 * IPv6 address (IPv4-mapped ones too) is always an AAAA of 16 octets. Linear in the file's size, and
 * stops once there are more answers than the overlay holds. */
export function parseHosts(text: string, maxPerName = HOSTS_MAX_ADDRESSES_PER_NAME, maxAnswers = HOSTS_MAX_ANSWERS): ParsedHosts {
  const v4 = new Map<string, AddressList>();
  const v6 = new Map<string, AddressList>();
  const ptr = new Map<string, string>();
  const problems: string[] = [];
  let problemCount = 0;
  const dropped = { addresses: 0, names: [] as string[] };
  const problem = (p: string) => { if (problemCount++ < PROBLEMS_LISTED) problems.push(p); };
  const validName = new Map<string, boolean>();
  const isValid = (name: string) => {
    let ok = validName.get(name);
    if (ok === undefined) {
      try { encodeName(name); ok = true; } catch { ok = false; }
      validName.set(name, ok);
    }
    return ok;
  };
  const listOf = (m: Map<string, AddressList>, name: string) => {
    let l = m.get(name);
    if (!l) m.set(name, (l = new AddressList()));
    return l;
  };
  const lines = text.split("\n");
  let overflow: ParsedHosts["overflow"] = null;
  for (let i = 0; i < lines.length && !overflow; i++) {
    const line = lines[i].replace(/#.*/, "").trim();
    if (!line) continue;
    const [ip, ...names] = line.split(/\s+/);
    const ipText = ip.replace(/%.*$/, "");
    const fam = isIP(ipText);
    if (fam === 0 || names.length === 0) { problem(`line ${i + 1}: expected "address name [aliases...]"`); continue; }
    const addr = fam === 4 ? ipBytes(ipText) : ip6Bytes(ipText);
    let kept = false;
    for (const n of names) {
      const name = n.toLowerCase().replace(/\.$/, "");
      if (!isValid(name)) { problem(`line ${i + 1}: invalid name ${n}`); continue; }
      const own = listOf(fam === 4 ? v4 : v6, name);
      listOf(fam === 4 ? v6 : v4, name);
      if (own.add(addr, maxPerName)) { kept = true; continue; }
      dropped.addresses++;
      if (dropped.names.length < PROBLEMS_LISTED && !dropped.names.includes(name)) dropped.names.push(name);
    }
    // the PTR answers the first name the address was given (an address dropped everywhere has none)
    const canonical = names[0].toLowerCase().replace(/\.$/, "");
    if (kept && isValid(canonical)) {
      const rev = reverseName(addr);
      if (!ptr.has(rev)) ptr.set(rev, canonical);
    }
    if (v4.size + v6.size + ptr.size > maxAnswers) overflow = { line: i + 1 };
  }
  const entries: HostsEntry[] = [];
  for (const [name, l] of v4) entries.push({ name, qtype: A, rdata: l.list });
  for (const [name, l] of v6) entries.push({ name, qtype: AAAA, rdata: l.list });
  for (const [rev, name] of ptr) entries.push({ name: rev, qtype: PTR, rdata: [encodeName(name)] });
  return { entries, names: v4.size, problems, problemCount, dropped, overflow };
}
