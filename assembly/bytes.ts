// Big-endian reads and writes on raw addresses. Callers check bounds before calling.

@inline export function u8at(p: usize): i32 { return <i32>load<u8>(p); }
@inline export function be16(p: usize): i32 { return (<i32>load<u8>(p) << 8) | <i32>load<u8>(p + 1); }
@inline export function be32(p: usize): u32 { return bswap<u32>(load<u32>(p)); }
@inline export function put16(p: usize, v: i32): void { store<u8>(p, <u8>(v >> 8)); store<u8>(p + 1, <u8>v); }
@inline export function put32(p: usize, v: u32): void { store<u32>(p, bswap<u32>(v)); }

@inline export function lower(c: i32): i32 { return <u32>(c - 65) < 26 ? c | 0x20 : c; }
