// Domain-name walking with every check miekg/dns makes: bounds before each read, a 255-octet budget,
// compression pointers strictly backwards (so loops are impossible) and never into the header,
// reserved label types rejected.
import { u8at } from "./bytes";
import { E_TRUNC, E_LABEL_TYPE, E_PTR_FORWARD, E_PTR_HEADER, E_NAME_LONG, E_PTR_HOPS } from "./errors";

const MAX_HOPS: i32 = 127;

export let nameLen: i32 = 0; // uncompressed wire length of the last walked name, root byte included
export let nameLabels: i32 = 0;
export let nameMaxPtr: i32 = -1; // highest compression-pointer target followed (-1: none)

// Walks the name at `off` in msg[0, len). Returns the offset just past the name as it sits in the
// message, or a negative E_* code. When dst != 0 the lowercased uncompressed name is written there.
export function walkName(msg: usize, len: i32, off: i32, dst: usize): i32 {
  let pos = off;
  let end = -1;
  let segStart = off;
  let hops = 0;
  let total = 0;
  let labels = 0;
  nameMaxPtr = -1;
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
      if (target > nameMaxPtr) nameMaxPtr = target;
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
    labels++;
    pos += b + 1;
  }
  nameLen = total;
  nameLabels = labels;
  return end;
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

// Offset of the label boundary in name[0, n) where a suffix of `slen` octets begins, or -1 when the
// suffix does not start on a label boundary. `labelsBefore` receives the number of labels before it.
export let labelsBefore: i32 = 0;
export function suffixStart(name: usize, n: i32, slen: i32): i32 {
  const want = n - slen;
  if (want < 0) return -1;
  let p = 0;
  let count = 0;
  while (p < want) {
    p += u8at(name + <usize>p) + 1;
    count++;
  }
  if (p != want) return -1;
  labelsBefore = count;
  return p;
}
