// Special-use names answered by us without asking anyone (RFC 6761 6.3, as unbound's default local
// zones): "localhost." and every name under it resolve to the loopback addresses, and the loopback
// reverse names (d.c.b.127.in-addr.arpa., the ::1 nibble name) point back at "localhost.".
import { suffixStart, labelsBefore } from "./name";

export const SPECIAL_NONE: i32 = 0;
export const SPECIAL_LOCALHOST: i32 = 1; // under localhost.: A 127.0.0.1, AAAA ::1, else NODATA
export const SPECIAL_PTR: i32 = 2; // a loopback reverse name: PTR localhost., else NODATA
export const SPECIAL_NODATA: i32 = 3; // inside 127.in-addr.arpa. but not an address: no data
export const SPECIAL_NXDOMAIN: i32 = 4; // below an address in 127.in-addr.arpa.: no such name

export const LOCALHOST: StaticArray<u8> = [9, 108, 111, 99, 97, 108, 104, 111, 115, 116, 0];
// "127.in-addr.arpa."
const REV4: StaticArray<u8> = [3, 49, 50, 55, 7, 105, 110, 45, 97, 100, 100, 114, 4, 97, 114, 112, 97, 0];
const IP6_ARPA: StaticArray<u8> = [3, 105, 112, 54, 4, 97, 114, 112, 97, 0];
const REV6_LEN: i32 = 64 + 10; // 32 one-nibble labels, then ip6.arpa.

/** Octets of the zone apex the last special match fell under (the owner of its SOA). */
export let specialApexLen: i32 = 0;

// Labels in name[0, n) before a suffix of sfx octets, or -1 when the suffix does not start on a label.
@inline function labelsAbove(name: usize, n: i32, sfx: i32): i32 {
  return suffixStart(name, n, sfx) >= 0 ? labelsBefore : -1;
}

@inline function endsWith(name: usize, n: i32, sfx: usize, m: i32): bool {
  return n >= m && memory.compare(name + <usize>(n - m), sfx, <usize>m) == 0;
}

// A lowercased, uncompressed wire name of n octets: which special name it is, if any.
export function specialKind(name: usize, n: i32): i32 {
  const lh = LOCALHOST.length;
  if (endsWith(name, n, changetype<usize>(LOCALHOST), lh) && labelsAbove(name, n, lh) >= 0) {
    specialApexLen = lh;
    return SPECIAL_LOCALHOST;
  }
  const r4 = REV4.length;
  if (endsWith(name, n, changetype<usize>(REV4), r4)) {
    const labels = labelsAbove(name, n, r4);
    if (labels < 0) return SPECIAL_NONE;
    specialApexLen = r4;
    if (labels > 3) return SPECIAL_NXDOMAIN;
    return labels == 3 && octetLabels(name, n - r4) ? SPECIAL_PTR : SPECIAL_NODATA;
  }
  if (n == REV6_LEN && endsWith(name, n, changetype<usize>(IP6_ARPA), IP6_ARPA.length) && isLoopback6(name)) {
    specialApexLen = n;
    return SPECIAL_PTR;
  }
  return SPECIAL_NONE;
}

// Three labels each a decimal octet 0-255 (the name's first `end` octets).
function octetLabels(name: usize, end: i32): bool {
  let p = 0;
  while (p < end) {
    const len = <i32>load<u8>(name + <usize>p);
    if (len < 1 || len > 3) return false;
    let v = 0;
    for (let i = 1; i <= len; i++) {
      const d = <i32>load<u8>(name + <usize>(p + i)) - 48;
      if (<u32>d > 9) return false;
      v = v * 10 + d;
    }
    if (v > 255) return false;
    p += 1 + len;
  }
  return true;
}

// "1.0.0.(...).0.ip6.arpa.": the first nibble label is 1, the other 31 are 0.
function isLoopback6(name: usize): bool {
  for (let i = 0; i < 32; i++) {
    const p = name + <usize>(i << 1);
    if (load<u8>(p) != 1 || load<u8>(p + 1) != (i == 0 ? 49 : 48)) return false;
  }
  return true;
}
