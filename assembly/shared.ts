// The state every instance on one shared memory must see alike (cache ring, counters, knobs, which
// zone table and hosts overlay are live), as i32 words of a header at SHARED, and the lock guarding
// it. Wasm globals are per instance: they keep only what is per instance or fixed once init ran.
import { SHARED, MAX_THREADS } from "./layout";

export const SH_LOCK: usize = 0; // 0 free, 1 held
export const SH_MAGIC: usize = 4; // written last by init: attach refuses a memory without it
export const SH_CLAIMED: usize = 8; // bitmap of scratch sets in use
export const SH_SHARING: usize = 12; // 1 once the owner allowed other instances (enableSharing)
export const SH_SEED: usize = 16;
// fixed by cacheInit (copied into each instance's globals)
export const SH_TABLE: usize = 20;
export const SH_MASK: usize = 24;
export const SH_MAX_LIVE: usize = 28;
export const SH_RING: usize = 32;
export const SH_STORE_SIZE: usize = 36;
export const SH_BUDGET: usize = 40;
// the cache ring and its counters
export const SH_EPOCH: usize = 44; // bumped whenever the tail moves or the cache is flushed
export const SH_HEAD: usize = 48;
export const SH_TAIL: usize = 52;
export const SH_WRAP_AT: usize = 56;
export const SH_WRAPPED: usize = 60;
export const SH_RING_RECS: usize = 64;
export const SH_USED_BYTES: usize = 68;
export const SH_LIVE: usize = 72;
export const SH_NEG: usize = 76;
export const SH_EVICTIONS: usize = 80;
export const SH_HITS: usize = 84;
export const SH_MISSES: usize = 88;
export const SH_GEN: usize = 92; // bumped (under the lock) whenever a value the instances cache changes
// configure()
export const SH_STALE_TTL: usize = 96;
export const SH_PREFETCH_HITS: usize = 100;
export const SH_BLOCKED_TTL: usize = 104;
export const SH_UDP_MAX: usize = 108;
// zones.ts
export const SH_ZONES_LIVE: usize = 112;
export const SH_ZONE_COUNT: usize = 116;
export const SH_RULE_COUNT: usize = 120;
export const SH_BUILD_ZONES: usize = 124;
export const SH_BUILD_RULES: usize = 128;
// hosts.ts
export const SH_HOSTS_LIVE: usize = 132;
export const SH_HOSTS_COUNT: usize = 136;
export const SH_HOSTS_BUILD_USED: usize = 140;
export const SH_HOSTS_BUILD_COUNT: usize = 144;
// query-log flags (one octet per zone id, one per listener set): handleBatch leaves those to handle()
export const SH_LOG_ZONE: usize = 256;
export const SH_LOG_SET: usize = 512;

const MAGIC: i32 = 0x6c646e73; // "ldns"

// attach() results besides a scratch set index
export const ATTACH_NOT_SHARED: i32 = -1; // no initialised core on this memory, or sharing not enabled
export const ATTACH_FULL: i32 = -2; // every one of MAX_THREADS scratch sets is taken
export const ATTACH_NOT_RESERVED: i32 = -3; // attachReserved(i) for a set nobody reserved

@inline export function sget(o: usize): i32 { return load<i32>(SHARED() + o); }
@inline export function sset(o: usize, v: i32): void { store<i32>(SHARED() + o, v); }
@inline export function sadd(o: usize, d: i32): void { store<i32>(SHARED() + o, load<i32>(SHARED() + o) + d); }

// This instance's copy of the shared values the hot path reads and that change only on reload
// (configure, zonesCommit, hostsCommit): one load of SH_GEN per packet instead of one per value.
let seenGen: i32 = -1;
export let cStaleTtl: i32 = 0;
export let cPrefetchHits: i32 = 0;
export let cBlockedTtl: i32 = 0;
export let cUdpMax: i32 = 0;
export let cZonesLive: usize = 0;
export let cZoneCount: i32 = 0;
export let cRuleCount: i32 = 0;
export let cHostsLive: usize = 0;
export let cHostsCount: i32 = 0;

// Brings this instance's copy up to date (with the lock held, or for udpMax alone without it).
@inline export function fresh(): void {
  const g = load<i32>(SHARED() + SH_GEN); // a plain load: under the lock, or alone on the memory
  if (g != seenGen) reload(g);
}
function reload(g: i32): void {
  seenGen = g;
  cStaleTtl = sget(SH_STALE_TTL);
  cPrefetchHits = sget(SH_PREFETCH_HITS);
  cBlockedTtl = sget(SH_BLOCKED_TTL);
  cUdpMax = sget(SH_UDP_MAX);
  cZonesLive = <usize>sget(SH_ZONES_LIVE);
  cZoneCount = sget(SH_ZONE_COUNT);
  cRuleCount = sget(SH_RULE_COUNT);
  cHostsLive = <usize>sget(SH_HOSTS_LIVE);
  cHostsCount = sget(SH_HOSTS_COUNT);
}
// After a change to any of those values (with the lock held): every instance reloads them.
export function changed(): void {
  atomic.add<i32>(SHARED() + SH_GEN, 1);
  fresh();
}

// Whether this instance takes the lock: off until the memory is shared, so a core alone on its memory
// pays one branch per export, not an atomic operation.
let locking: bool = false;

// A spin lock (test, then test-and-set). Held only inside one export, never across calls, so a holder
// always lets go within one packet's work (or one walk of the cache for the admin exports).
@inline export function lock(): void {
  if (!locking) return;
  while (atomic.cmpxchg<i32>(SHARED() + SH_LOCK, 0, 1) != 0) {
    while (atomic.load<i32>(SHARED() + SH_LOCK) != 0) { /* spin */ }
  }
}
@inline export function unlock(): void {
  if (locking) atomic.store<i32>(SHARED() + SH_LOCK, 0);
}

export function markInitialised(): void { atomic.store<i32>(SHARED() + SH_MAGIC, MAGIC); }
export function isInitialised(): bool { return atomic.load<i32>(SHARED() + SH_MAGIC) == MAGIC; }

// The owner allows other instances; from now on every instance locks.
export function startSharing(): void {
  atomic.store<i32>(SHARED() + SH_SHARING, 1);
  locking = true;
}
export function sharingStarted(): bool { return atomic.load<i32>(SHARED() + SH_SHARING) == 1; }
export function lockAsShared(): void { locking = true; }

// Claims a free scratch set: its index, or -1 when all MAX_THREADS are taken.
export function claimScratch(): i32 {
  while (true) {
    const used = atomic.load<i32>(SHARED() + SH_CLAIMED);
    let i = 0;
    while (i < MAX_THREADS && (used & (1 << i)) != 0) i++;
    if (i == MAX_THREADS) return -1;
    if (atomic.cmpxchg<i32>(SHARED() + SH_CLAIMED, used, used | (1 << i)) == used) return i;
  }
}
// Whether set i is claimed (an owner reserved it for the instance that adopts it).
export function scratchClaimed(i: i32): bool {
  return i >= 0 && i < MAX_THREADS && (atomic.load<i32>(SHARED() + SH_CLAIMED) & (1 << i)) != 0;
}
export function releaseScratch(i: i32): void {
  if (i >= 0 && i < MAX_THREADS) atomic.and<i32>(SHARED() + SH_CLAIMED, ~(1 << i));
}
