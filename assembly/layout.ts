// Fixed memory map. Every buffer the hot path touches lives at an address fixed by initLayout(), so
// the JS side keeps one view and exports take and return plain integers.

export const MSG_MAX: i32 = 65535;
export const SNAP_RECORD_MAX: i32 = 66559; // MSG_MAX + 1024: a stored message and its record header
const BUF_SIZE: usize = 65536 + 1024; // one DNS message plus slack for an appended OPT record
const KEY_SIZE: usize = 512;
const RR_META_SIZE: usize = 65536; // (ttl offset u16, end offset u16) per record of a prepared reply
const RES_WORDS: usize = 64;
export const ZONE_AREA: usize = 64 * 1024; // one zone/rule table; two of them (live and being built)
export const RR_MAX: i32 = 5958; // records one message can hold (65535 / 11, the smallest record)
export const RR_INFO_SIZE: usize = 24; // per-record facts of a reply under inspection (see scrub.ts)
const RR_INFO_AREA: usize = <usize>RR_MAX * RR_INFO_SIZE;
const REF_AREA: usize = <usize>RR_MAX * 8; // (hash, length) of names referenced from kept rdata
export const HOSTS_SLOTS: usize = 4096;
export const HOSTS_AREA: usize = 1024 * 1024; // table + records of one hosts overlay; two of them
export const BUF_BYTES: i32 = <i32>BUF_SIZE;

export let RES: usize = 0; // i32 result words, indexed by the R_* constants
export let IN: usize = 0; // client query / upstream reply in
export let AUX: usize = 0; // the upstream query a reply is matched against
export let OUT: usize = 0; // response out
export let PREP: usize = 0; // an upstream reply normalised for the cache (OPT stripped, TTLs capped)
export let PREP_RR: usize = 0;
export let KEY: usize = 0; // cache key of the last parsed query
export let RR_INFO: usize = 0;
export let REFS: usize = 0;
export let NAME_A: usize = 0; // two scratch names (256 octets each) for comparisons
export let NAME_B: usize = 0;
export let ZONES: usize = 0; // two zone/rule tables, ZONE_AREA apart
export let HOSTS: usize = 0; // two hosts overlays, HOSTS_AREA apart
export let HEAP: usize = 0; // first free byte after the fixed buffers; the cache starts here

@inline function align(p: usize, a: usize): usize { return (p + a - 1) & ~(a - 1); }

export function initLayout(): void {
  if (RES != 0) return;
  let p = align(__heap_base, 64);
  RES = p; p += RES_WORDS << 2;
  IN = align(p, 64); p = IN + BUF_SIZE;
  AUX = align(p, 64); p = AUX + BUF_SIZE;
  OUT = align(p, 64); p = OUT + BUF_SIZE;
  PREP = align(p, 64); p = PREP + BUF_SIZE;
  PREP_RR = align(p, 64); p = PREP_RR + RR_META_SIZE;
  KEY = align(p, 64); p = KEY + KEY_SIZE;
  RR_INFO = align(p, 64); p = RR_INFO + RR_INFO_AREA;
  REFS = align(p, 64); p = REFS + REF_AREA;
  NAME_A = align(p, 64); p = NAME_A + 256;
  NAME_B = align(p, 64); p = NAME_B + 256;
  ZONES = align(p, 64); p = ZONES + 2 * ZONE_AREA;
  HOSTS = align(p, 64); p = HOSTS + 2 * HOSTS_AREA;
  HEAP = align(p, 64);
  ensureMemory(HEAP);
}

// Grows linear memory so that [0, end) is addressable. Returns false when the host refuses.
export function ensureMemory(end: usize): bool {
  const have = <usize>memory.size() << 16;
  if (end <= have) return true;
  const pages = <i32>((end - have + 0xffff) >> 16);
  return memory.grow(pages) >= 0;
}

// Result word indices (RES + 4*i).
export const R_STATUS: i32 = 0; // what handle() did: S_* below
export const R_ID: i32 = 1;
export const R_FLAGS: i32 = 2; // the query's 16-bit flags word
export const R_QNAME_END: i32 = 3; // offset just past the question name
export const R_QEND: i32 = 4; // offset just past the question
export const R_QTYPE: i32 = 5;
export const R_QCLASS: i32 = 6;
export const R_EDNS: i32 = 7; // 1 when the query carried a valid OPT record
export const R_UDP: i32 = 8; // the client's advertised UDP payload size (512 without EDNS)
export const R_DO: i32 = 9;
export const R_EDNS_VERSION: i32 = 10;
export const R_NAME_LEN: i32 = 11; // wire length of the question name
export const R_QOK: i32 = 13; // 1 when the question itself parsed (so an error answer may echo it)
export const R_ERROR: i32 = 14; // the parse error code (E_*), 0 when none
export const R_ZONE: i32 = 15; // index of the longest matching zone, -1 when none
export const R_KEY_LEN: i32 = 16;
export const R_HASH: i32 = 17;
export const R_PREFETCH: i32 = 18; // 1 when a hit asks the runtime to refresh this entry now
export const R_TTL: i32 = 19; // remaining TTL of a hit / TTL to cache of a prepared reply
export const R_RCODE: i32 = 20;
export const R_TC: i32 = 21;
export const R_CACHEABLE: i32 = 22;
export const R_NEGATIVE: i32 = 23;
export const R_PREP_LEN: i32 = 24;
export const R_PREP_RRS: i32 = 25;
export const R_PREP_QEND: i32 = 26;
export const R_OUT_LEN: i32 = 27; // length of a response left in OUT by a non-positive return

@inline export function res(i: i32): i32 { return load<i32>(RES + (<usize>i << 2)); }
@inline export function setRes(i: i32, v: i32): void { store<i32>(RES + (<usize>i << 2), v); }

// handle() statuses (R_STATUS)
export const S_HIT: i32 = 1;
export const S_ERROR: i32 = 2; // an error response built from the query (FORMERR, NOTIMP, BADVERS, REFUSED)
export const S_BLOCKED: i32 = 3;
export const S_MISS: i32 = 5;
export const S_STALE: i32 = 6;
export const S_HEALTH: i32 = 7;
export const S_DROP: i32 = 8;
export const S_HOSTS: i32 = 9;
export const S_LOCAL: i32 = 10; // a special-use name (localhost., loopback reverse) answered by us
