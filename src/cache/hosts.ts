// The hosts overlay: a hosts(5) file whose names are answered locally (A, AAAA, and PTR for their
// addresses) ahead of the cache, re-read when it changes. For pinning critical names.
import { isIP } from "node:net";
import { encodeName } from "../core";
import { ipBytes } from "../addr";

export const HOSTS_TTL = 60;
const A = 1, AAAA = 28, PTR = 12;

export interface HostsEntry { name: string; qtype: number; rdata: Uint8Array[] }

function reverseName(ip: string): string {
  const b = ipBytes(ip);
  if (b.length === 4) return `${b[3]}.${b[2]}.${b[1]}.${b[0]}.in-addr.arpa`;
  const nibbles: string[] = [];
  for (let i = 15; i >= 0; i--) nibbles.push((b[i] & 0xf).toString(16), (b[i] >> 4).toString(16));
  return `${nibbles.join(".")}.ip6.arpa`;
}

/** Parses hosts(5) text. A name with addresses of one family only answers the other with NODATA. */
export function parseHosts(text: string): { entries: HostsEntry[]; names: number; problems: string[] } {
  const v4 = new Map<string, Uint8Array[]>();
  const v6 = new Map<string, Uint8Array[]>();
  const ptr = new Map<string, string>();
  const problems: string[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*/, "").trim();
    if (!line) return;
    const [ip, ...names] = line.split(/\s+/);
    const fam = isIP(ip.replace(/%.*$/, ""));
    if (fam === 0 || names.length === 0) { problems.push(`line ${i + 1}: expected "address name [aliases...]"`); return; }
    const addr = ipBytes(ip.replace(/%.*$/, ""));
    for (const n of names) {
      const name = n.toLowerCase().replace(/\.$/, "");
      try { encodeName(name); } catch { problems.push(`line ${i + 1}: invalid name ${n}`); continue; }
      const m = fam === 4 ? v4 : v6;
      if (!m.has(name)) m.set(name, []);
      if (!m.get(name)!.some((x) => x.every((b, k) => b === addr[k]))) m.get(name)!.push(addr);
      if (!v4.has(name)) v4.set(name, []);
      if (!v6.has(name)) v6.set(name, []);
    }
    const canonical = names[0].toLowerCase().replace(/\.$/, "");
    const rev = reverseName(ip.replace(/%.*$/, ""));
    if (!ptr.has(rev)) ptr.set(rev, canonical);
  });
  const entries: HostsEntry[] = [];
  for (const [name, list] of v4) entries.push({ name, qtype: A, rdata: list });
  for (const [name, list] of v6) entries.push({ name, qtype: AAAA, rdata: list });
  for (const [rev, name] of ptr) { try { entries.push({ name: rev, qtype: PTR, rdata: [encodeName(name)] }); } catch { /* checked above */ } }
  return { entries, names: v4.size, problems };
}
