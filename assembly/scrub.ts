// The scrubber (unbound's scrub.c is the model): of an upstream reply keep only what answers the
// question. Answer: the CNAME chain from the question name and the records of the asked type at each
// name on it (RRSIGs beside them). Authority: SOA, NS, DS, NSEC, NSEC3 and RRSIG only. Additional:
// A/AAAA (and RRSIG) only for names that a kept record points at (NS, MX, SRV targets); the OPT is
// always removed (hop-by-hop). Facts of each record are in RR_INFO (filled by prepareReply).
import { copyName } from "./name";
import { hashBytes } from "./hash";
import { be16 } from "./bytes";
import { RR_INFO, RR_INFO_SIZE, REFS, NAME_A, NAME_B } from "./layout";

export const T_A: i32 = 1, T_NS: i32 = 2, T_CNAME: i32 = 5, T_SOA: i32 = 6, T_PTR: i32 = 12, T_MX: i32 = 15;
export const T_AAAA: i32 = 28, T_SRV: i32 = 33, T_DNAME: i32 = 39, T_OPT: i32 = 41, T_DS: i32 = 43;
export const T_RRSIG: i32 = 46, T_NSEC: i32 = 47, T_NSEC3: i32 = 50, T_ANY: i32 = 255;
const MAX_CHAIN: i32 = 16; // CNAME hops followed (unbound: 11 restarts)

// RR_INFO record layout
export const I_START = 0; // u16 owner offset
export const I_DATA = 2; // u16 rdata offset
export const I_END = 4; // u32 end offset
export const I_TYPE = 8; // u16
export const I_SECTION = 10; // u8: 0 answer, 1 authority, 2 additional
export const I_KEEP = 11; // u8
export const I_MAXPTR = 12; // i32: highest compression target in owner and (known) rdata names, -1 none
export const I_HASH = 16; // u32 hash of the lowercased owner
export const I_OWNLEN = 20; // u16 its length

@inline export function info(i: i32): usize { return RR_INFO + <usize>i * RR_INFO_SIZE; }

function ownerIs(msg: usize, len: i32, i: i32, name: usize, n: i32, h: u32): bool {
  const p = info(i);
  if (load<u32>(p + I_HASH) != h || <i32>load<u16>(p + I_OWNLEN) != n) return false;
  copyName(msg, len, <i32>load<u16>(p + I_START), NAME_B);
  return memory.compare(NAME_B, name, <usize>n) == 0;
}

// Is the owner of record i an ancestor of (or equal to) name[0, n)? (DNAME owners, SOA owners)
function ownerAbove(msg: usize, len: i32, i: i32, name: usize, n: i32): bool {
  const m = copyName(msg, len, <i32>load<u16>(info(i) + I_START), NAME_B);
  if (m > n || memory.compare(NAME_B, name + <usize>(n - m), <usize>m) != 0) return false;
  let p = 0; // the suffix must start on a label boundary of name
  while (p < n - m) p += 1 + <i32>load<u8>(name + <usize>p);
  return p == n - m;
}

// Decides I_KEEP for every record. qname is at q+12 (in NAME_A after this call: the chain's last name).
// Returns whether the chain walk answered the question (else the reply is a denial: NXDOMAIN or NODATA).
export function scrub(msg: usize, len: i32, an: i32, ns: i32, total: i32, qtype: i32): bool {
  let chainAnswered = false;
  for (let i = 0; i < total; i++) store<u8>(info(i) + I_KEEP, 0);
  let n = copyName(msg, len, 12, NAME_A);
  let h = hashBytes(NAME_A, n);
  for (let hop = 0; hop <= MAX_CHAIN; hop++) {
    let next = -1;
    for (let i = 0; i < an; i++) {
      const p = info(i);
      const t = <i32>load<u16>(p + I_TYPE);
      if (t == T_DNAME) { if (ownerAbove(msg, len, i, NAME_A, n)) store<u8>(p + I_KEEP, 1); continue; }
      if (!ownerIs(msg, len, i, NAME_A, n, h)) continue;
      if (t == T_CNAME && qtype != T_CNAME && qtype != T_ANY) {
        store<u8>(p + I_KEEP, 1);
        if (next < 0) next = i;
      } else if (t == qtype || qtype == T_ANY || t == T_RRSIG) {
        store<u8>(p + I_KEEP, 1);
        if (t != T_RRSIG) chainAnswered = true;
      }
    }
    if (chainAnswered || next < 0) break;
    // follow the CNAME to its target
    n = copyName(msg, len, <i32>load<u16>(info(next) + I_DATA), NAME_A);
    h = hashBytes(NAME_A, n);
  }
  // names the kept records point at, for the additional section
  let refs = 0;
  for (let i = 0; i < total; i++) {
    const p = info(i);
    const section = load<u8>(p + I_SECTION);
    const t = <i32>load<u16>(p + I_TYPE);
    if (section == 1) {
      const keep = t == T_SOA || t == T_NS || t == T_DS || t == T_NSEC || t == T_NSEC3 || t == T_RRSIG;
      // a SOA must belong to the chain's last name (it sets the negative TTL)
      if (keep && (t != T_SOA || ownerAbove(msg, len, i, NAME_A, n))) store<u8>(p + I_KEEP, 1);
    }
    if (section == 2 || load<u8>(p + I_KEEP) == 0) continue;
    let target = -1;
    const d = <i32>load<u16>(p + I_DATA);
    if (t == T_NS) target = d;
    else if (t == T_MX) target = d + 2;
    else if (t == T_SRV) target = d + 6;
    if (target < 0) continue;
    const tn = copyName(msg, len, target, NAME_B);
    const r = REFS + (<usize>refs << 3);
    store<u32>(r, hashBytes(NAME_B, tn));
    store<u32>(r + 4, <u32>tn);
    refs++;
  }
  for (let i = an + ns; i < total; i++) {
    const p = info(i);
    const t = <i32>load<u16>(p + I_TYPE);
    if (t != T_A && t != T_AAAA && t != T_RRSIG) continue;
    const oh = load<u32>(p + I_HASH);
    const ol = <u32>load<u16>(p + I_OWNLEN);
    for (let k = 0; k < refs; k++) {
      const r = REFS + (<usize>k << 3);
      if (load<u32>(r) == oh && load<u32>(r + 4) == ol) { store<u8>(p + I_KEEP, 1); break; }
    }
  }
  return chainAnswered;
}

// Offset of the first name inside the rdata of a type that holds compressed names, relative to the
// rdata start, or -1 for types whose rdata is copied as it is (RFC 3597: no compression there).
export function rdataNameAt(t: i32): i32 {
  if (t == T_NS || t == T_CNAME || t == T_PTR || t == T_DNAME || t == T_SOA) return 0;
  if (t == T_MX) return 2;
  if (t == T_SRV) return 6;
  return -1;
}

@inline export function rdlenAt(msg: usize, dataStart: i32): i32 { return be16(msg + <usize>dataStart - 2); }
