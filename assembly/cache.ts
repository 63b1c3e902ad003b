// The response cache, in linear memory and allocation-free: an open-addressed table (linear probing,
// backward-shift deletion) pointing into a byte-bounded ring of records. New records go at the head;
// room is made at the tail, where a record hit since it was written gets one second chance (CLOCK):
// it is moved to the head instead of being dropped. Table plus ring never exceed the byte budget.
// The ring's positions and counters live in the shared header (shared.ts): every instance on the
// memory works on the one cache. Callers hold the lock (index.ts).
import { HEAP, ensureMemory } from "./layout";
import {
  sget, sset, sadd, SH_TABLE, SH_MASK, SH_MAX_LIVE, SH_RING, SH_STORE_SIZE, SH_BUDGET, SH_EPOCH, SH_HEAD,
  SH_TAIL, SH_WRAP_AT, SH_WRAPPED, SH_RING_RECS, SH_USED_BYTES, SH_LIVE, SH_NEG, SH_EVICTIONS,
} from "./shared";
import { labelsBefore } from "./name";
import { KEY_NAME_OFF } from "./query";
import { hashBytes } from "./hash";
import { validateStored } from "./reply";
import { OUT, ADMIN_WALK } from "./layout";

// record header
const H_LEN: usize = 0; // u32 total record length (8-aligned)
const H_HASH: usize = 4; // u32
const H_STORED: usize = 8; // u32 seconds
const H_TTL: usize = 12; // u32 seconds
const H_STALE: usize = 16; // u32 seconds past expiry it may still be served
const H_KEYLEN: usize = 20; // u16
const H_NRR: usize = 22; // u16
const H_MSGLEN: usize = 24; // u16 (a 65535-octet message still fits: lengths are stored minus 0)
const H_QEND: usize = 26; // u16
const H_FLAGS: usize = 28; // u8
const H_HITS: usize = 29; // u8, saturating
const H_ZONE: usize = 30; // u16
const HDR: usize = 32;

const F_LIVE: u8 = 1;
const F_NEG: u8 = 2;
const F_REF: u8 = 4; // hit since written or last given its second chance
const F_PREFETCHING: u8 = 8; // a refresh was requested; don't ask again

const SLOT: usize = 8; // u32 hash, u32 record offset + 1 (0 = empty)

// fixed once cacheInit ran: each instance keeps a copy (cacheAttach)
let table: usize = 0;
let mask: u32 = 0;
let maxLive: i32 = 0;
let ring: usize = 0;
let storeSize: i32 = 0;
export let budget: i32 = 0;

export function liveCount(): i32 { return sget(SH_LIVE); }
export function negCount(): i32 { return sget(SH_NEG); }
export function evictions(): u32 { return <u32>sget(SH_EVICTIONS); }
@inline function ringRecs(): i32 { return sget(SH_RING_RECS); }
@inline function wrapped(): bool { return sget(SH_WRAPPED) != 0; }
// the ring back to empty
@inline function ringReset(): void {
  sset(SH_HEAD, 0); sset(SH_TAIL, 0); sset(SH_WRAPPED, 0); sset(SH_WRAP_AT, storeSize);
}

@inline function align(v: i32, a: i32): i32 { return (v + a - 1) & ~(a - 1); }
@inline function slotAddr(i: u32): usize { return table + (<usize>i << 3); }
@inline function slotOff(i: u32): u32 { return load<u32>(slotAddr(i) + 4); }

// Sizes the table and ring inside maxBytes. Returns 0, or -1 when memory cannot grow.
export function cacheInit(maxBytes: i32): i32 {
  let slots: u32 = 256;
  while (<i64>slots * 128 < <i64>maxBytes && slots < (1 << 24)) slots <<= 1;
  const tableBytes = <i32>(slots * <u32>SLOT);
  if (maxBytes < tableBytes + 16384) return -1;
  table = HEAP;
  mask = slots - 1;
  maxLive = <i32>(slots - (slots >> 2));
  ring = table + <usize>tableBytes;
  storeSize = (maxBytes - tableBytes) & ~7;
  if (!ensureMemory(ring + <usize>storeSize)) return -1;
  budget = maxBytes;
  sset(SH_TABLE, <i32>table); sset(SH_MASK, <i32>mask); sset(SH_MAX_LIVE, maxLive);
  sset(SH_RING, <i32>ring); sset(SH_STORE_SIZE, storeSize); sset(SH_BUDGET, budget);
  cacheFlush();
  return 0;
}

// A second instance on the same memory takes the sizes the first one's cacheInit chose.
export function cacheAttach(): void {
  table = <usize>sget(SH_TABLE); mask = <u32>sget(SH_MASK); maxLive = sget(SH_MAX_LIVE);
  ring = <usize>sget(SH_RING); storeSize = sget(SH_STORE_SIZE); budget = sget(SH_BUDGET);
}

export function cacheFlush(): i32 {
  const n = sget(SH_LIVE);
  memory.fill(table, 0, (<usize>mask + 1) * SLOT);
  ringReset();
  sset(SH_RING_RECS, 0); sset(SH_USED_BYTES, 0); sset(SH_LIVE, 0); sset(SH_NEG, 0);
  sadd(SH_EPOCH, 1);
  return n;
}

export function cacheBytes(): i32 { return <i32>((<usize>mask + 1) * SLOT) + sget(SH_USED_BYTES); }

function keyMatches(rec: usize, key: usize, keyLen: i32): bool {
  if (<i32>load<u16>(rec + H_KEYLEN) != keyLen) return false;
  return memory.compare(rec + HDR, key, <usize>keyLen) == 0;
}

// Slot index holding the key, or -1.
export function findSlot(hash: u32, key: usize, keyLen: i32): i32 {
  let i = hash & mask;
  while (true) {
    const off = slotOff(i);
    if (off == 0) return -1;
    if (load<u32>(slotAddr(i)) == hash && keyMatches(ring + <usize>(off - 1), key, keyLen)) return <i32>i;
    i = (i + 1) & mask;
  }
}

function slotOfRecord(hash: u32, off: i32): u32 {
  let i = hash & mask;
  while (slotOff(i) != <u32>(off + 1)) i = (i + 1) & mask;
  return i;
}

function removeSlot(start: u32): void {
  let i = start;
  let j = start;
  while (true) {
    j = (j + 1) & mask;
    if (slotOff(j) == 0) break;
    const k = load<u32>(slotAddr(j)) & mask;
    const stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (stays) continue;
    store<u64>(slotAddr(i), load<u64>(slotAddr(j)));
    i = j;
  }
  store<u64>(slotAddr(i), 0);
}

@inline export function recordAt(slot: i32): usize { return ring + <usize>(slotOff(<u32>slot) - 1); }

// Drops a live record from the table; its bytes stay in the ring until the tail passes them.
export function killSlot(slot: i32): void {
  const rec = recordAt(slot);
  const f = load<u8>(rec + H_FLAGS);
  store<u8>(rec + H_FLAGS, f & ~F_LIVE);
  if (f & F_NEG) sadd(SH_NEG, -1);
  sadd(SH_LIVE, -1);
  removeSlot(<u32>slot);
}

function killRecordAt(off: i32): void {
  const rec = ring + <usize>off;
  killSlot(<i32>slotOfRecord(load<u32>(rec + H_HASH), off));
}

// Removes (or, given a second chance, moves to the head) the record at the tail.
function advanceTail(secondChance: bool, now: u32): void {
  let tail = sget(SH_TAIL);
  const rec = ring + <usize>tail;
  const len = <i32>load<u32>(rec + H_LEN);
  const f = load<u8>(rec + H_FLAGS);
  sadd(SH_EPOCH, 1);
  if (f & F_LIVE) {
    const dead = <i32>(now - load<u32>(rec + H_STORED)) >= <i32>(load<u32>(rec + H_TTL) + load<u32>(rec + H_STALE));
    if (secondChance && (f & F_REF) && !dead) {
      // move it to the head. Wrapped, the free space [head, tail) sits right before it: slide it
      // down. Unwrapped, copy it to [head, end) or, when that is too short, wrap and slide to 0.
      let head = sget(SH_HEAD);
      if (!wrapped() && storeSize - head < len) { sset(SH_WRAP_AT, head); head = 0; sset(SH_WRAPPED, 1); }
      const slot = slotOfRecord(load<u32>(rec + H_HASH), tail);
      memory.copy(ring + <usize>head, rec, <usize>len);
      store<u8>(ring + <usize>head + H_FLAGS, f & ~F_REF);
      store<u32>(slotAddr(slot) + 4, <u32>(head + 1));
      sset(SH_HEAD, head + len);
      tail += len;
      sset(SH_TAIL, tail);
      if (wrapped() && tail == sget(SH_WRAP_AT)) { sset(SH_TAIL, 0); sset(SH_WRAPPED, 0); sset(SH_WRAP_AT, storeSize); }
      return;
    }
    killRecordAt(tail);
    sadd(SH_EVICTIONS, 1);
  }
  tail += len;
  sset(SH_TAIL, tail);
  sadd(SH_RING_RECS, -1);
  sadd(SH_USED_BYTES, -len);
  if (wrapped() && tail == sget(SH_WRAP_AT)) { sset(SH_TAIL, 0); sset(SH_WRAPPED, 0); sset(SH_WRAP_AT, storeSize); }
  if (ringRecs() == 0) ringReset();
}

// Finds room for len bytes at the head, evicting from the tail. Returns the offset.
function reserve(len: i32, now: u32): i32 {
  while (true) {
    if (ringRecs() == 0) ringReset();
    if (!wrapped()) {
      const head = sget(SH_HEAD);
      if (storeSize - head >= len) return head;
      sset(SH_WRAP_AT, head);
      sset(SH_HEAD, 0);
      sset(SH_WRAPPED, 1);
      if (ringRecs() == 0) continue;
    }
    const head = sget(SH_HEAD);
    if (sget(SH_TAIL) - head >= len) return head;
    advanceTail(true, now);
  }
}

// Stores msg (with its record meta) under the key. Returns 0, or -1 when it can never fit.
export function cacheInsert(
  key: usize, keyLen: i32, hash: u32, msg: usize, msgLen: i32, meta: usize, nrr: i32, qend: i32,
  now: u32, ttl: u32, stale: u32, negative: bool, zone: i32,
): i32 {
  const keyPad = align(keyLen, 4);
  const recLen = align(<i32>HDR + keyPad + (nrr << 2) + msgLen, 8);
  if (recLen > (storeSize >> 1) || msgLen > 65535) return -1;
  const old = findSlot(hash, key, keyLen);
  if (old >= 0) killSlot(old);
  while (sget(SH_LIVE) >= maxLive) { // the entry count binds before the bytes for small answers
    if (ringRecs() == 0) break;
    advanceTail(true, now);
  }
  const off = reserve(recLen, now);
  const rec = ring + <usize>off;
  store<u32>(rec + H_LEN, <u32>recLen);
  store<u32>(rec + H_HASH, hash);
  store<u32>(rec + H_STORED, now);
  store<u32>(rec + H_TTL, ttl);
  store<u32>(rec + H_STALE, stale);
  store<u16>(rec + H_KEYLEN, <u16>keyLen);
  store<u16>(rec + H_NRR, <u16>nrr);
  store<u16>(rec + H_MSGLEN, <u16>msgLen);
  store<u16>(rec + H_QEND, <u16>qend);
  store<u8>(rec + H_FLAGS, F_LIVE | (negative ? F_NEG : 0));
  store<u8>(rec + H_HITS, 0);
  store<u16>(rec + H_ZONE, <u16>zone);
  memory.copy(rec + HDR, key, <usize>keyLen);
  const metaAt = rec + HDR + <usize>keyPad;
  memory.copy(metaAt, meta, <usize>(nrr << 2));
  memory.copy(metaAt + (<usize>nrr << 2), msg, <usize>msgLen);
  sset(SH_HEAD, off + recLen);
  sadd(SH_RING_RECS, 1);
  sadd(SH_USED_BYTES, recLen);
  let i = hash & mask;
  while (slotOff(i) != 0) i = (i + 1) & mask;
  store<u32>(slotAddr(i), hash);
  store<u32>(slotAddr(i) + 4, <u32>(off + 1));
  sadd(SH_LIVE, 1);
  if (negative) sadd(SH_NEG, 1);
  return 0;
}

// Accessors for a found record.
@inline export function recStored(rec: usize): u32 { return load<u32>(rec + H_STORED); }
@inline export function recTtl(rec: usize): u32 { return load<u32>(rec + H_TTL); }
@inline export function recStale(rec: usize): u32 { return load<u32>(rec + H_STALE); }
@inline export function recNrr(rec: usize): i32 { return <i32>load<u16>(rec + H_NRR); }
@inline export function recQend(rec: usize): i32 { return <i32>load<u16>(rec + H_QEND); }
@inline export function recMeta(rec: usize): usize { return rec + HDR + <usize>align(<i32>load<u16>(rec + H_KEYLEN), 4); }
@inline export function recMsg(rec: usize): usize { return recMeta(rec) + (<usize>recNrr(rec) << 2); }
@inline export function recNegative(rec: usize): bool { return (load<u8>(rec + H_FLAGS) & F_NEG) != 0; }
@inline export function recZone(rec: usize): i32 { return <i32>load<u16>(rec + H_ZONE); }

// Marks a hit; returns true when this hit should trigger a prefetch: the entry has been asked for at
// least twice since it was stored and less than a tenth of its TTL is left.
export function recTouch(rec: usize, remaining: u32, minHits: i32): bool {
  const f = load<u8>(rec + H_FLAGS);
  let hits = <i32>load<u8>(rec + H_HITS);
  if (hits < 255) hits++;
  store<u8>(rec + H_HITS, <u8>hits);
  store<u8>(rec + H_FLAGS, f | F_REF);
  if (minHits <= 0 || (f & F_PREFETCHING) != 0 || hits < minHits) return false;
  // CoreDNS: refresh once at most ceil(10 % of the original TTL) seconds remain (TTL 5: the last second)
  const ttl = load<u32>(rec + H_TTL);
  if (ttl == 0 || remaining > (ttl + 9) / 10) return false;
  store<u8>(rec + H_FLAGS, f | F_REF | F_PREFETCHING);
  return true;
}

// A walk over every live record from oldest to newest (ringFirst, then ringNext until 0): where it
// is, how many records are left, the epoch it started in. The cursor sits in memory and is passed in
// (layout.ts SNAP_WALK, ADMIN_WALK), so a flush run while a snapshot walk is under way keeps its own.
// When another instance moved the tail (or flushed) since ringFirst, the walk ends early rather than
// step into rewritten bytes.
@unmanaged export class RingWalk { pos: i32; left: i32; epoch: i32; }
export function ringFirst(w: RingWalk): usize {
  w.pos = sget(SH_TAIL);
  w.left = ringRecs();
  w.epoch = sget(SH_EPOCH);
  return ringNext(w);
}
export function ringNext(w: RingWalk): usize {
  if (sget(SH_EPOCH) != w.epoch) return 0;
  const isWrapped = wrapped();
  const wrapAt = sget(SH_WRAP_AT);
  let pos = w.pos;
  let rec: usize = 0;
  while (w.left > 0) {
    if (isWrapped && pos == wrapAt) pos = 0;
    if (!isWrapped && pos >= storeSize) break;
    const at = ring + <usize>pos;
    pos += <i32>load<u32>(at + H_LEN);
    w.left--;
    if (pos == wrapAt && isWrapped) pos = 0;
    if (load<u8>(at + H_FLAGS) & F_LIVE) { rec = at; break; }
  }
  w.pos = pos;
  return rec;
}
@inline function adminWalk(): RingWalk { return changetype<RingWalk>(ADMIN_WALK); }
@inline export function recKey(rec: usize): usize { return rec + HDR; }
@inline export function recKeyLen(rec: usize): i32 { return <i32>load<u16>(rec + H_KEYLEN); }
@inline export function recHash(rec: usize): u32 { return load<u32>(rec + H_HASH); }

export function killRecord(rec: usize): void {
  killRecordAt(<i32>(rec - ring));
}

// Deletes every live record whose name lies at or under the given lowercased wire name (and, when
// set >= 0, that belongs to that listener set). Returns how many went.
export function cacheFlushSuffix(name: usize, n: i32, set: i32, exact: bool, qtype: i32): i32 {
  let count = 0;
  const w = adminWalk();
  let rec = ringFirst(w);
  while (rec != 0) {
    const k = recKey(rec);
    const kn = recKeyLen(rec) - <i32>KEY_NAME_OFF;
    let ok = set < 0 || (<i32>load<u8>(k) >> 2) == set;
    if (ok && qtype >= 0) ok = ((<i32>load<u8>(k + 1) << 8) | <i32>load<u8>(k + 2)) == qtype;
    if (ok) {
      const nm = k + KEY_NAME_OFF;
      if (exact) ok = kn == n && memory.compare(nm, name, <usize>n) == 0;
      else ok = labelsBefore(nm, kn, n) >= 0 && memory.compare(nm + <usize>(kn - n), name, <usize>n) == 0;
    }
    if (ok) { killRecord(rec); count++; }
    rec = ringNext(w);
  }
  return count;
}

// Deletes every live record of a zone index (after a reload removed that zone).
export function cacheFlushZone(zone: i32): i32 {
  let count = 0;
  const w = adminWalk();
  let rec = ringFirst(w);
  while (rec != 0) {
    if (recZone(rec) == zone) { killRecord(rec); count++; }
    rec = ringNext(w);
  }
  return count;
}

// Re-inserts a record exported by ringFirst/ringNext (warm restart). Every field is checked: a
// corrupt or foreign record is refused (-1), never trusted. zone: the record's zone id in this run.
export function cacheImport(rec: usize, len: i32, now: u32, zone: i32): i32 {
  if (len < <i32>HDR + 8 || <i32>load<u32>(rec + H_LEN) != len) return -1;
  const keyLen = <i32>load<u16>(rec + H_KEYLEN);
  const nrr = <i32>load<u16>(rec + H_NRR);
  const msgLen = <i32>load<u16>(rec + H_MSGLEN);
  const qend = <i32>load<u16>(rec + H_QEND);
  if (keyLen < <i32>KEY_NAME_OFF + 1 || keyLen > <i32>KEY_NAME_OFF + 255) return -1;
  if (<i32>HDR + align(keyLen, 4) + (nrr << 2) + msgLen > len) return -1;
  if (msgLen < 12 || qend < 17 || qend > msgLen) return -1;
  const meta = recMeta(rec);
  let prevEnd = qend;
  for (let i = 0; i < nrr; i++) {
    const m = load<u32>(meta + (<usize>i << 2));
    const ttlOff = <i32>(m & 0xffff);
    const end = <i32>(m >> 16);
    if (ttlOff < prevEnd || ttlOff + 4 > end || end > msgLen) return -1;
    prevEnd = end;
  }
  if (!validateStored(recMsg(rec), msgLen, nrr, meta, qend, rec + HDR, keyLen, OUT)) return -1;
  const stored = load<u32>(rec + H_STORED);
  const ttl = load<u32>(rec + H_TTL);
  const stale = load<u32>(rec + H_STALE);
  if (<i64>now - <i64>stored >= <i64>ttl + <i64>stale) return -1; // no longer servable
  const negative = (load<u8>(rec + H_FLAGS) & F_NEG) != 0;
  const key = rec + HDR;
  const hash = hashBytes(key, keyLen);
  // a snapshot restored while serving: what the cache learned meanwhile is newer and stays
  const held = findSlot(hash, key, keyLen);
  if (held >= 0 && load<u32>(ring + <usize>(slotOff(<u32>held) - 1) + H_STORED) >= stored) return 1;
  return cacheInsert(key, keyLen, hash, recMsg(rec), msgLen, meta, nrr, qend, stored, ttl, stale, negative, zone);
}

export function recLength(rec: usize): i32 { return <i32>load<u32>(rec + H_LEN); }
