// Domain-name walking with every check miekg/dns makes: bounds before each read, a 255-octet budget,
// compression pointers strictly backwards (so loops are impossible) and never into the header,
// reserved label types rejected.
import { u8at } from "./bytes";
import { E_TRUNC, E_LABEL_TYPE, E_PTR_FORWARD, E_PTR_HEADER, E_NAME_LONG, E_PTR_HOPS } from "./errors";

const MAX_HOPS: i32 = 127;

// What walk() returns besides a negative E_* code (the three walks below are one loop).
const WANT_END: i32 = 0; // the offset just past the name as it sits in the message
const WANT_LENGTH: i32 = 1; // its uncompressed wire length, root octet included
const WANT_REACH: i32 = 2; // the highest compression-pointer target it follows, -1 when none

// Walks the name at `off` in msg[0, len); when dst != 0 the lowercased uncompressed name is written
// there. `want` (a constant at every call site, so each wrapper compiles to its own loop) picks the
// result.
@inline function walk(msg: usize, len: i32, off: i32, dst: usize, want: i32): i32 {
  let pos = off;
  let end = -1;
  let segStart = off;
  let hops = 0;
  let total = 0;
  let reach = -1;
  while (true) {
    if (pos >= len) return E_TRUNC;
    const b = u8at(msg + <usize>pos);
    if (b == 0) {
      if (dst != 0) store<u8>(dst + <usize>total, 0);
      total += 1;
      if (end < 0) end = pos + 1;
      break;
    }
    const kind = b & 0xc0;
    if (kind == 0xc0) {
      if (pos + 1 >= len) return E_TRUNC;
      const target = ((b & 0x3f) << 8) | u8at(msg + <usize>pos + 1);
      if (target < 12) return E_PTR_HEADER;
      if (target >= segStart) return E_PTR_FORWARD;
      if (++hops > MAX_HOPS) return E_PTR_HOPS;
      if (end < 0) end = pos + 2;
      if (target > reach) reach = target;
      segStart = target;
      pos = target;
      continue;
    }
    if (kind != 0) return E_LABEL_TYPE;
    if (pos + 1 + b > len) return E_TRUNC;
    if (total + b + 2 > 255) return E_NAME_LONG; // this label plus the root byte
    if (dst != 0) {
      const d = dst + <usize>total;
      store<u8>(d, <u8>b);
      const s = msg + <usize>pos + 1;
      for (let i: usize = 0; i < <usize>b; i++) {
        const c = <i32>load<u8>(s + i);
        store<u8>(d + 1 + i, <u8>(<u32>(c - 65) < 26 ? c | 0x20 : c));
      }
    }
    total += b + 1;
    pos += b + 1;
  }
  return want == WANT_END ? end : want == WANT_LENGTH ? total : reach;
}

// The offset just past the name at `off` as it sits in msg[0, len), or a negative E_* code. When
// dst != 0 the lowercased uncompressed name is written there. A name starting at offset 12 (a
// question) can hold no pointer (it would point into the header), so its length is end - 12.
export function walkName(msg: usize, len: i32, off: i32, dst: usize): i32 {
  return walk(msg, len, off, dst, WANT_END);
}

// The name at `off` written out lowercased and uncompressed at dst: its length, or a negative code.
export function copyName(msg: usize, len: i32, off: i32, dst: usize): i32 {
  return walk(msg, len, off, dst, WANT_LENGTH);
}

// The highest compression-pointer target the name at `off` follows: -1 when none, < -1 when it does
// not parse. (-1 is E_HEADER's value, which a walk never returns.)
export function pointerReach(msg: usize, len: i32, off: i32): i32 {
  return walk(msg, len, off, 0, WANT_REACH);
}

// Case-insensitive equality of two uncompressed wire names of equal length n.
export function namesEqualFold(a: usize, b: usize, n: i32): bool {
  for (let i: usize = 0; i < <usize>n; i++) {
    let x = <i32>load<u8>(a + i);
    let y = <i32>load<u8>(b + i);
    if (x == y) continue;
    if (<u32>(x - 65) < 26) x |= 0x20;
    if (<u32>(y - 65) < 26) y |= 0x20;
    if (x != y) return false;
  }
  return true;
}

// The number of labels in name[0, n) before a suffix of `slen` octets, or -1 when the suffix does
// not start on a label boundary.
export function labelsBefore(name: usize, n: i32, slen: i32): i32 {
  const want = n - slen;
  if (want < 0) return -1;
  let p = 0;
  let count = 0;
  while (p < want) {
    p += u8at(name + <usize>p) + 1;
    count++;
  }
  return p == want ? count : -1;
}
