// Special-use names answered by us without asking anyone (RFC 6761 6.3, as unbound's default local
// zones): "localhost." and every name under it resolve to the loopback addresses, and the loopback
// reverse names (d.c.b.127.in-addr.arpa., the ::1 nibble name) point back at "localhost.".
import { labelsBefore } from "./name";

export const SPECIAL_NONE: i32 = 0;
export const SPECIAL_LOCALHOST: i32 = 1; // under localhost.: A 127.0.0.1, AAAA ::1, else NODATA
export const SPECIAL_PTR4: i32 = 2; // a loopback reverse name in 127.in-addr.arpa.: PTR localhost., else NODATA
export const SPECIAL_PTR6: i32 = 3; // the ::1 reverse name: likewise
export const SPECIAL_NODATA: i32 = 4; // inside 127.in-addr.arpa. but not an address: no data
export const SPECIAL_NXDOMAIN: i32 = 5; // below an address in 127.in-addr.arpa.: no such name

export const LOCALHOST: StaticArray<u8> = [9, 108, 111, 99, 97, 108, 104, 111, 115, 116, 0];
// "127.in-addr.arpa."
const REV4: StaticArray<u8> = [3, 49, 50, 55, 7, 105, 110, 45, 97, 100, 100, 114, 4, 97, 114, 112, 97, 0];
const IP6_ARPA: StaticArray<u8> = [3, 105, 112, 54, 4, 97, 114, 112, 97, 0];
const REV6_LEN: i32 = 64 + 10; // 32 one-nibble labels, then ip6.arpa.

@inline function endsWith(name: usize, n: i32, sfx: usize, m: i32): bool {
  return n >= m && memory.compare(name + <usize>(n - m), sfx, <usize>m) == 0;
}

// A lowercased, uncompressed wire name of n octets: which special name it is, if any.
export function specialKind(name: usize, n: i32): i32 {
  const lh = LOCALHOST.length;
  if (endsWith(name, n, changetype<usize>(LOCALHOST), lh) && labelsBefore(name, n, lh) >= 0) return SPECIAL_LOCALHOST;
  const r4 = REV4.length;
  if (endsWith(name, n, changetype<usize>(REV4), r4)) {
    const labels = labelsBefore(name, n, r4);
    if (labels < 0) return SPECIAL_NONE;
    if (labels > 3) return SPECIAL_NXDOMAIN;
    return labels == 3 && octetLabels(name, n - r4) ? SPECIAL_PTR4 : SPECIAL_NODATA;
  }
  if (n == REV6_LEN && endsWith(name, n, changetype<usize>(IP6_ARPA), IP6_ARPA.length) && isLoopback6(name)) return SPECIAL_PTR6;
  return SPECIAL_NONE;
}

// Octets of the zone apex a special name of this kind falls under (the owner of its SOA): localhost.,
// 127.in-addr.arpa., or the whole ::1 reverse name.
export function specialApexLen(kind: i32): i32 {
  if (kind == SPECIAL_LOCALHOST) return LOCALHOST.length;
  if (kind == SPECIAL_PTR6) return REV6_LEN;
  return REV4.length;
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
