// The hosts overlay: names pinned by the operator (hosts(5) file), answered ahead of the cache. A small
// open-addressed table of pre-built answers keyed by (qtype, qclass, name) — the cache key without its
// flags octet — rendered by the same code as cache hits (client's ID, case, OPT, truncation).
// Two overlays: queries read the live one while a new file fills the other (hostsBegin, hostsAdd)
// and hostsCommit switches them, so a file that does not fit leaves the running overlay as it was.
import { HOSTS, HOSTS_SLOTS, HOSTS_AREA } from "./layout";
import { hashBytes } from "./hash";
import { put16, put32 } from "./bytes";
import { sget, sset, changed, cHostsLive, cHostsCount, SH_HOSTS_LIVE, SH_HOSTS_COUNT, SH_HOSTS_BUILD_USED, SH_HOSTS_BUILD_COUNT } from "./shared";

const SLOT: usize = 8; // u32 hash, u32 record offset + 1
// record: u32 len, u16 keyLen, u16 nrr, u16 msgLen, u16 qend, key, pad, meta (u32 per RR), msg
const R_HDR: usize = 12;

// which overlay is live, its entry count, and the fill of the one being built: in the shared header;
// queries read this instance's copy (cHostsLive, cHostsCount: see fresh() in shared.ts)
@inline function live(): usize { return <usize>sget(SH_HOSTS_LIVE); }
@inline export function hostsCount(): i32 { return cHostsCount; } // entries of the live overlay

@inline function table(t: usize): usize { return HOSTS + t * HOSTS_AREA; }
@inline function records(t: usize): usize { return table(t) + HOSTS_SLOTS * SLOT; }
@inline function align4(v: usize): usize { return (v + 3) & ~3; }

// Starts filling the overlay that is not live.
export function hostsBegin(): void {
  memory.fill(table(1 - live()), 0, HOSTS_SLOTS * SLOT);
  sset(SH_HOSTS_BUILD_USED, 0);
  sset(SH_HOSTS_BUILD_COUNT, 0);
}

// Makes the overlay built since hostsBegin live.
export function hostsCommit(): void {
  sset(SH_HOSTS_LIVE, 1 - <i32>live());
  sset(SH_HOSTS_COUNT, sget(SH_HOSTS_BUILD_COUNT));
  sset(SH_HOSTS_BUILD_USED, 0);
  sset(SH_HOSTS_BUILD_COUNT, 0);
  changed();
}

// Adds the answer for (name, qtype) to the overlay being built: `name` is a lowercased wire name of n
// octets; the `rdLen` octets at `rdata` hold `count` blocks of u16 length + bytes. Returns 0, or -1
// when the blocks overrun rdLen or the overlay is full.
export function hostsAdd(name: usize, n: i32, qtype: i32, rdata: usize, rdLen: i32, count: i32, ttl: u32): i32 {
  const buildCount = sget(SH_HOSTS_BUILD_COUNT);
  const buildUsed = <usize>sget(SH_HOSTS_BUILD_USED);
  if (<usize>buildCount * 2 >= HOSTS_SLOTS || n < 1 || n > 255 || count < 0 || count > 65535 || rdLen < 0) return -1;
  const rdEnd = rdata + <usize>rdLen;
  let rdTotal: usize = 0;
  let p = rdata;
  for (let i = 0; i < count; i++) {
    if (p + 2 > rdEnd) return -1;
    const l = <usize>load<u16>(p);
    if (p + 2 + l > rdEnd) return -1;
    rdTotal += l;
    p += 2 + l;
  }
  const t: usize = 1 - live();
  const keyLen = 4 + n;
  const qend = 12 + n + 4;
  const msgLen = <usize>qend + <usize>count * 12 + rdTotal;
  const recLen = align4(R_HDR + align4(<usize>keyLen) + <usize>count * 4 + msgLen);
  if (msgLen > 65535 || records(t) + buildUsed + recLen > table(t) + HOSTS_AREA) return -1;
  const rec = records(t) + buildUsed;
  store<u32>(rec, <u32>recLen);
  store<u16>(rec + 4, <u16>keyLen);
  store<u16>(rec + 6, <u16>count);
  store<u16>(rec + 8, <u16>msgLen);
  store<u16>(rec + 10, <u16>qend);
  const key = rec + R_HDR;
  put16(key, qtype);
  put16(key + 2, 1);
  memory.copy(key + 4, name, <usize>n);
  const meta = key + align4(<usize>keyLen);
  const msg = meta + <usize>count * 4;
  // header: QR AA RD RA, one question, `count` answers
  put16(msg, 0);
  put16(msg + 2, 0x8580);
  put16(msg + 4, 1);
  put16(msg + 6, count);
  put16(msg + 8, 0);
  put16(msg + 10, 0);
  memory.copy(msg + 12, name, <usize>n);
  put16(msg + 12 + <usize>n, qtype);
  put16(msg + 14 + <usize>n, 1);
  let off = qend;
  p = rdata;
  for (let i = 0; i < count; i++) {
    const l = <i32>load<u16>(p);
    const rr = msg + <usize>off;
    put16(rr, 0xc00c);
    put16(rr + 2, qtype);
    put16(rr + 4, 1);
    put32(rr + 6, ttl);
    put16(rr + 10, l);
    memory.copy(rr + 12, p + 2, <usize>l);
    store<u32>(meta + (<usize>i << 2), <u32>(off + 6) | (<u32>(off + 12 + l) << 16));
    off += 12 + l;
    p += 2 + <usize>l;
  }
  const h = hashBytes(key, keyLen);
  let i = h & <u32>(HOSTS_SLOTS - 1);
  while (load<u32>(table(t) + (<usize>i << 3) + 4) != 0) i = (i + 1) & <u32>(HOSTS_SLOTS - 1);
  store<u32>(table(t) + (<usize>i << 3), h);
  store<u32>(table(t) + (<usize>i << 3) + 4, <u32>(rec - records(t) + 1));
  sset(SH_HOSTS_BUILD_USED, <i32>(buildUsed + recLen));
  sset(SH_HOSTS_BUILD_COUNT, buildCount + 1);
  return 0;
}

// The live overlay's record for key (qtype, qclass, name) or 0.
export function hostsFind(key: usize, keyLen: i32): usize {
  const t = cHostsLive;
  const h = hashBytes(key, keyLen);
  let i = h & <u32>(HOSTS_SLOTS - 1);
  while (true) {
    const off = load<u32>(table(t) + (<usize>i << 3) + 4);
    if (off == 0) return 0;
    const rec = records(t) + <usize>(off - 1);
    if (load<u32>(table(t) + (<usize>i << 3)) == h && <i32>load<u16>(rec + 4) == keyLen && memory.compare(rec + R_HDR, key, <usize>keyLen) == 0) return rec;
    i = (i + 1) & <u32>(HOSTS_SLOTS - 1);
  }
}

@inline export function hostsNrr(rec: usize): i32 { return <i32>load<u16>(rec + 6); }
@inline export function hostsQend(rec: usize): i32 { return <i32>load<u16>(rec + 10); }
@inline export function hostsMeta(rec: usize): usize { return rec + R_HDR + align4(<usize>load<u16>(rec + 4)); }
@inline export function hostsMsg(rec: usize): usize { return hostsMeta(rec) + (<usize>hostsNrr(rec) << 2); }
