// murmur3-style 32-bit hash over raw bytes, 4 octets a step. The seed is chosen at random at start
// (init), so which names share a probe sequence differs per process and cannot be read off the code.
// Each instance keeps a copy (set from the shared header by attach).
let hashSeed: u32 = 0x9747b28c;
export function setHashSeed(seed: u32): void { hashSeed = seed; }

export function hashBytes(p: usize, n: i32): u32 {
  let h: u32 = hashSeed ^ <u32>n;
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    let k = load<u32>(p + <usize>i);
    k *= 0xcc9e2d51;
    k = rotl<u32>(k, 15);
    k *= 0x1b873593;
    h ^= k;
    h = rotl<u32>(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  let k: u32 = 0;
  for (let s: u32 = 0; i < n; i++, s += 8) k |= <u32>load<u8>(p + <usize>i) << s;
  k *= 0xcc9e2d51;
  k = rotl<u32>(k, 15);
  k *= 0x1b873593;
  h ^= k;
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return h;
}
