// Fixed memory map. Every buffer the hot path touches lives at an address fixed by sharedLayout() and
// useScratch(), so the JS side keeps one view and exports take and return plain integers.

export const MSG_MAX: i32 = 65535;
export const SNAP_RECORD_MAX: i32 = 66559; // MSG_MAX + 1024: a stored message and its record header
const BUF_SIZE: usize = 65536 + 1024; // one DNS message plus slack for an appended OPT record
const KEY_SIZE: usize = 512;
const RR_META_SIZE: usize = 65536; // (ttl offset u16, end offset u16) per record of a prepared reply
const RES_WORDS: usize = 64;
const WALK_SIZE: usize = 16; // a ring walk's cursor (cache.ts RingWalk)
export const ZONE_AREA: usize = 64 * 1024; // one zone/rule table; two of them (live and being built)
export const RR_MAX: i32 = 5958; // records one message can hold (65535 / 11, the smallest record)
export const RR_INFO_SIZE: usize = 24; // per-record facts of a reply under inspection (see scrub.ts)
const RR_INFO_AREA: usize = <usize>RR_MAX * RR_INFO_SIZE;
const REF_AREA: usize = <usize>RR_MAX * 8; // (hash, length) of names referenced from kept rdata
export const HOSTS_SLOTS: usize = 4096;
export const HOSTS_AREA: usize = 1024 * 1024; // table + records of one hosts overlay; two of them
export const BUF_BYTES: i32 = <i32>BUF_SIZE;

// Instances of the core on one shared memory (the main thread and up to 8 loop Workers): each claims
// one scratch set (RES … BATCH_INFO below); everything else in the map is shared.
export const MAX_THREADS: i32 = 9;
// The most the memory may grow to, in 64 KiB pages (build/build.ts passes it to asc, src/core.ts to
// WebAssembly.Memory): the fixed area (~9.5 MiB with MAX_THREADS scratch sets) plus a 64 MiB cache,
// above CACHE_MAX_BYTES (48 MiB). Reserved address space only: pages count once touched.
export const MEMORY_MAX_PAGES: i32 = 1280;
// The batch area of each scratch set (handleBatch in batch.ts): BATCH_MAX slots of BATCH_SLOT octets,
// a meta table of one 16-octet record per slot in the layout of the socket loop's (src/net/slots.ts:
// i32 query length in, i32 answer length out, i32 flags in, i32 socket index, not read), so the loop
// can receive into the slots and send from them with this table as its own, and one i32 result word
// per slot.
export const BATCH_MAX: i32 = 64;
export const BATCH_SLOT: i32 = 4096;
export const BATCH_META_RECORD: i32 = 16;
export const BATCH_META_IN_LEN: i32 = 0;
export const BATCH_META_OUT_LEN: i32 = 4;
export const BATCH_META_FLAGS: i32 = 8;
export const BATCH_TRUNCATED: i32 = 1; // in the flags: the datagram was longer than its slot
// The shared header (shared.ts) sits right past the static data, at the same address in every
// instance (the same module), so its words are loads at constant addresses once binaryen has folded
// __heap_base. Not below the static data (asc --memoryBase): with a memory base, asc tells binaryen
// that low memory is in use, and binaryen then no longer folds a constant added to a pointer into
// the load's offset, which cost every field access an add (about 4 ns per cache hit).
@inline export function SHARED(): usize { return align(__heap_base, 64); }
const SHARED_SIZE: usize = 1024;

// per instance: the scratch set this instance claimed (wasm globals are per instance)
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
export let SNAP_WALK: usize = 0; // the cursor of the snapshot walk (snapFirst/snapNext), kept across calls
export let ADMIN_WALK: usize = 0; // the cursor of a walk that ends inside one export (flushes, counts)
export let BATCH: usize = 0; // BATCH_MAX slots of BATCH_SLOT octets
export let BATCH_META: usize = 0; // BATCH_MAX records of BATCH_META_RECORD octets
export let BATCH_INFO: usize = 0; // i32 result word per slot (batch.ts)
// shared by every instance (the same addresses in each: the same module computes them)
export let ZONES: usize = 0; // two zone/rule tables, ZONE_AREA apart
export let HOSTS: usize = 0; // two hosts overlays, HOSTS_AREA apart
export let SCRATCH: usize = 0; // MAX_THREADS scratch sets, SCRATCH_SIZE apart
export let SCRATCH_SIZE: usize = 0;
export let HEAP: usize = 0; // first free byte after the fixed buffers; the cache starts here

@inline function align(p: usize, a: usize): usize { return (p + a - 1) & ~(a - 1); }

// The shared part of the map. Pure arithmetic on __heap_base: every instance gets the same answer.
export function sharedLayout(): void {
  let p = SHARED() + SHARED_SIZE;
  ZONES = align(p, 64); p = ZONES + 2 * ZONE_AREA;
  HOSTS = align(p, 64); p = HOSTS + 2 * HOSTS_AREA;
  SCRATCH = align(p, 64);
  SCRATCH_SIZE = align(scratchSet(0, false), 4096);
  HEAP = align(SCRATCH + SCRATCH_SIZE * <usize>MAX_THREADS, 64);
}

// Lays out scratch set `at` (its base); with `use`, this instance's pointers are set to it. Returns
// the set's size.
function scratchSet(at: usize, use: bool): usize {
  let p = at;
  const res = p; p += RES_WORDS << 2;
  const inp = align(p, 64); p = inp + BUF_SIZE;
  const aux = align(p, 64); p = aux + BUF_SIZE;
  const out = align(p, 64); p = out + BUF_SIZE;
  const prep = align(p, 64); p = prep + BUF_SIZE;
  const prepRr = align(p, 64); p = prepRr + RR_META_SIZE;
  const key = align(p, 64); p = key + KEY_SIZE;
  const rrInfo = align(p, 64); p = rrInfo + RR_INFO_AREA;
  const refs = align(p, 64); p = refs + REF_AREA;
  const nameA = align(p, 64); p = nameA + 256;
  const nameB = align(p, 64); p = nameB + 256;
  const walks = p; p += 2 * WALK_SIZE;
  const batch = align(p, 4096); p = batch + <usize>BATCH_MAX * <usize>BATCH_SLOT;
  const bMeta = align(p, 64); p = bMeta + <usize>BATCH_MAX * <usize>BATCH_META_RECORD;
  const bInfo = p; p += <usize>BATCH_MAX << 2;
  if (use) {
    RES = res; IN = inp; AUX = aux; OUT = out; PREP = prep; PREP_RR = prepRr; KEY = key;
    RR_INFO = rrInfo; REFS = refs; NAME_A = nameA; NAME_B = nameB;
    SNAP_WALK = walks; ADMIN_WALK = walks + WALK_SIZE;
    BATCH = batch; BATCH_META = bMeta; BATCH_INFO = bInfo;
  }
  batchOffset = batch - at;
  batchMetaOffset = bMeta - at;
  return p - at;
}

// Points this instance's scratch pointers at set i (0 ≤ i < MAX_THREADS).
export function useScratch(i: i32): void {
  scratchSet(SCRATCH + <usize>i * SCRATCH_SIZE, true);
}

// Where set i's batch slots and meta table are (for an owner handing set i to another thread).
export function batchOf(i: i32): usize { return SCRATCH + <usize>i * SCRATCH_SIZE + batchOffset; }
export function batchMetaOf(i: i32): usize { return SCRATCH + <usize>i * SCRATCH_SIZE + batchMetaOffset; }
let batchOffset: usize = 0;
let batchMetaOffset: usize = 0;

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
export const S_DEFER: i32 = 11; // handleBatch only: left to handle() (the zone logs every query)
