// The packet core's exports. Every export takes and returns integers; buffers are at fixed addresses
// (see layout.ts) that the runtime reads once.
// The packet core's exports. Every export takes and returns integers; buffers are at fixed addresses
// (see layout.ts) that the runtime reads once. Several instances may share one memory (shared.ts):
// every export that touches shared state holds the lock for its own duration, never across calls.
import {
  sharedLayout, useScratch, batchOf, batchMetaOf, ensureMemory, HEAP, RES, IN, AUX, OUT, PREP, PREP_RR, KEY, BUF_BYTES,
  SNAP_RECORD_MAX, SHARED, BATCH, BATCH_META, BATCH_INFO, SNAP_WALK, ADMIN_WALK, res, setRes,
  R_ZONE, R_NAME_LEN, R_KEY_LEN, R_HASH, R_QNAME_END, R_PREP_LEN, R_PREP_RRS, R_PREP_QEND, R_NEGATIVE, R_CACHEABLE, R_TTL,
} from "./layout";
import { hostsBegin as hostsBeginTable, hostsCommit as hostsCommitTable, hostsAdd } from "./hosts";
import { parseQuery } from "./query";
import { buildError, buildAddressAnswer, buildUpstreamQuery, buildCompactQuery, RCODE_FORMERR, RCODE_SERVFAIL, OUR_UDP_SIZE } from "./respond";
import { render } from "./render";
import { prepareReply } from "./reply";
import { setHashSeed } from "./hash";
import {
  cacheInit, cacheAttach, cacheFlush as cacheFlushAll, cacheBytes as cacheBytesUsed, cacheInsert, findSlot,
  recordAt, recStored, recTtl, recNegative, recZone, liveCount, negCount, evictions, cacheFlushSuffix,
  cacheFlushZone as cacheFlushZoneIndex, ringFirst, ringNext, RingWalk, cacheImport, recLength,
} from "./cache";
import { zonesBegin as zonesBeginTable, zonesCommit as zonesCommitTable, zoneAdd, ruleAdd, matchZone } from "./zones";
import {
  sget, sset, lock, unlock, markInitialised, isInitialised, startSharing, sharingStarted, lockAsShared,
  claimScratch, releaseScratch, scratchClaimed, changed, fresh, SH_SEED, SH_STALE_TTL, SH_PREFETCH_HITS, SH_BLOCKED_TTL, SH_UDP_MAX,
  SH_HITS, SH_MISSES, SH_LOG_ZONE, SH_LOG_SET, ATTACH_NOT_SHARED, ATTACH_FULL, ATTACH_NOT_RESERVED,
} from "./shared";
import { decide, finishKey, limitFor } from "./handle";
import { handleBatch as batch } from "./batch";

let scratchIndex: i32 = -1; // the scratch set this instance claimed

// The first instance on a memory: lays out the shared area, claims scratch set 0, sizes the cache.
export function init(cacheBytesMax: i32, seed: u32): i32 {
  if (scratchIndex >= 0) return -1;
  sharedLayout();
  if (!ensureMemory(HEAP)) return -1;
  const i = claimScratch();
  if (i < 0) return -1;
  scratchIndex = i;
  useScratch(i);
  sset(SH_SEED, <i32>seed);
  setHashSeed(seed);
  sset(SH_STALE_TTL, 30);
  sset(SH_PREFETCH_HITS, 2);
  sset(SH_BLOCKED_TTL, 30);
  sset(SH_UDP_MAX, OUR_UDP_SIZE);
  changed();
  const r = cacheInit(cacheBytesMax);
  if (r == 0) markInitialised();
  return r;
}

// The owner allows other instances onto its memory (attach); every instance locks from then on.
// Call it from the owner between calls, before the memory is handed to another thread.
export function enableSharing(): void { startSharing(); }

// A further instance on a memory an owner initialised and shared: claims a free scratch set and
// returns its index, or ATTACH_NOT_SHARED / ATTACH_FULL.
export function attach(): i32 {
  if (scratchIndex >= 0) return scratchIndex;
  sharedLayout();
  if (!isInitialised() || !sharingStarted()) return ATTACH_NOT_SHARED;
  const i = claimScratch();
  if (i < 0) return ATTACH_FULL;
  adopt(i);
  return i;
}

// The owner reserves a scratch set for an instance another thread will make (attachReserved), so it
// knows that instance's batch area before the thread starts (a socket loop receives into it).
// Returns the set's index, ATTACH_NOT_SHARED or ATTACH_FULL.
export function reserve(): i32 {
  if (!sharingStarted()) return ATTACH_NOT_SHARED;
  const i = claimScratch();
  return i < 0 ? ATTACH_FULL : i;
}
export function reservedBatchPtr(i: i32): usize { return batchOf(i); }
export function reservedBatchMetaPtr(i: i32): usize { return batchMetaOf(i); }
export function unreserve(i: i32): void { if (i != scratchIndex) releaseScratch(i); }

// attach() onto the scratch set the owner reserved: index i.
export function attachReserved(i: i32): i32 {
  if (scratchIndex >= 0) return scratchIndex == i ? i : ATTACH_NOT_RESERVED;
  sharedLayout();
  if (!isInitialised() || !sharingStarted()) return ATTACH_NOT_SHARED;
  if (!scratchClaimed(i)) return ATTACH_NOT_RESERVED;
  adopt(i);
  return i;
}

function adopt(i: i32): void {
  scratchIndex = i;
  useScratch(i);
  setHashSeed(<u32>sget(SH_SEED));
  cacheAttach();
  lockAsShared();
}

// Gives this instance's scratch set back (the instance must not be called again).
export function detach(): void {
  releaseScratch(scratchIndex);
  scratchIndex = -1;
}

export function resPtr(): usize { return RES; }
export function inPtr(): usize { return IN; }
export function auxPtr(): usize { return AUX; }
export function outPtr(): usize { return OUT; }
export function keyPtr(): usize { return KEY; }
export function batchPtr(): usize { return BATCH; }
export function batchMetaPtr(): usize { return BATCH_META; }
export function batchInfoPtr(): usize { return BATCH_INFO; }

// Runtime knobs: TTL of stale answers, hits before a prefetch (0 = off), TTL of blocked-name
// denials, and the largest UDP answer we send. Shared: one call configures every instance.
export function configure(stale: i32, prefetchHits: i32, blocked: i32, maxUdp: i32): void {
  lock();
  sset(SH_STALE_TTL, stale);
  sset(SH_PREFETCH_HITS, prefetchHits);
  sset(SH_BLOCKED_TTL, blocked);
  sset(SH_UDP_MAX, maxUdp < 512 ? 512 : maxUdp);
  changed();
  unlock();
}

// Which answers handleBatch leaves to handle() because they are logged: zone id `zone` (0..254) or,
// for answers given before a zone matched, listener set `set`; `on` 0 or 1. logClear() resets all.
export function logZone(zone: i32, on: i32): void { store<u8>(SHARED() + SH_LOG_ZONE + <usize>(zone & 255), <u8>(on != 0 ? 1 : 0)); }
export function logSet(set: i32, on: i32): void { store<u8>(SHARED() + SH_LOG_SET + <usize>(set & 255), <u8>(on != 0 ? 1 : 0)); }
export function logClear(): void { memory.fill(SHARED() + SH_LOG_ZONE, 0, 512); }

// The whole per-packet path for the query in IN (see decide in handle.ts for the results).
export function handle(len: i32, now: u32, set: i32, tcp: i32): i32 {
  return decide(IN, len, now, set, tcp, false);
}

// The batch entry point: see batch.ts for the slot layout and result words.
export function handleBatch(n: i32, now: u32, set: i32): i32 {
  return batch(n, now, set);
}

// For a query another instance answered with B_HIT_REFRESH (or any the runtime must refresh): parses
// the query in IN into RES and KEY as handle() would, without looking it up or counting it, so
// upstreamQuery and the key are ready. Returns the zone id, or -1 (no zone, or not a valid query).
export function recall(len: i32, set: i32): i32 {
  setRes(R_ZONE, -1);
  if (parseQuery(IN, len) != 0) return -1;
  lock();
  fresh();
  const zone = matchZone(set, res(R_NAME_LEN));
  unlock();
  setRes(R_ZONE, zone);
  if (zone >= 0) finishKey(set);
  return zone;
}

// After handle() asked to forward: the query to send upstream into OUT. Returns its length.
export function upstreamQuery(id: i32, caseSeed: u32): i32 {
  return buildUpstreamQuery(IN, id, caseSeed);
}

// After handle() asked to forward: the client's query cut down to what its answer needs, into AUX
// (OUT may hold a stale answer still to be sent).
export function compactQuery(): i32 {
  return buildCompactQuery(IN, AUX);
}

// An upstream reply in IN against the query we sent in AUX. See prepareReply for the result codes.
export function prepare(rlen: i32, qlen: i32, exactCase: i32, capTtl: i32, negNoSoaTtl: i32): i32 {
  return prepareReply(IN, rlen, AUX, qlen, exactCase, <u32>capTtl, <u32>negNoSoaTtl);
}

// Caches the prepared reply under the key of the upstream query in AUX. Returns 0, or -1 if not cached.
export function storePrepared(qlen: i32, now: u32, set: i32, zone: i32, staleWindow: i32): i32 {
  if (res(R_CACHEABLE) == 0) return -1;
  const ttl = res(R_TTL);
  const negative = res(R_NEGATIVE) != 0;
  const plen = res(R_PREP_LEN);
  const nrr = res(R_PREP_RRS);
  const qend = res(R_PREP_QEND);
  if (parseQuery(AUX, qlen) != 0) return -1;
  finishKey(set);
  lock();
  const r = cacheInsert(KEY, res(R_KEY_LEN), <u32>res(R_HASH), PREP, plen, PREP_RR, nrr, qend, now, <u32>ttl, <u32>staleWindow, negative, zone);
  unlock();
  return r;
}

// The prepared reply rendered for the client query in IN. Returns the answer length in OUT.
export function answerPrepared(qlen: i32, tcp: i32): i32 {
  const plen = res(R_PREP_LEN);
  const nrr = res(R_PREP_RRS);
  const qend = res(R_PREP_QEND);
  if (parseQuery(IN, qlen) != 0) return buildError(IN, RCODE_FORMERR);
  // render copies the client's spelling over the stored question: only sound for the same name length
  if (plen == 0 || res(R_QNAME_END) + 4 != qend) return buildError(IN, RCODE_SERVFAIL);
  fresh(); // for udpMax alone: no lock needed
  return render(IN, PREP, nrr, PREP_RR, qend, 0, -1, limitFor(tcp));
}

// An error answer (any rcode) for the client query in IN.
export function answerError(qlen: i32, rcode: i32): i32 {
  parseQuery(IN, qlen);
  return buildError(IN, rcode);
}

// The health answer for the client query in IN; the client's address (4 or 16 octets) is in AUX.
export function answerHealth(qlen: i32, addrLen: i32): i32 {
  if (parseQuery(IN, qlen) != 0) return buildError(IN, RCODE_FORMERR);
  return buildAddressAnswer(IN, AUX, addrLen);
}

// Zones and rules, into the table being built (zonesBegin … zonesCommit): the lowercased wire name
// is in IN.
export function zonesBegin(): void { lock(); zonesBeginTable(); unlock(); }
export function zonesCommit(): void { lock(); zonesCommitTable(); unlock(); }
export function addZone(set: i32, n: i32, id: i32): i32 { lock(); const r = zoneAdd(set, IN, n, id); unlock(); return r; }
export function addRule(set: i32, zone: i32, action: i32, minLabels: i32, exact: i32, n: i32): i32 {
  lock();
  const r = ruleAdd(set, zone, action, minLabels, exact, IN, n);
  unlock();
  return r;
}

// Cache administration. Names are lowercased wire names in IN; set -1 = every listener set.
export function flushName(n: i32, set: i32, qtype: i32): i32 { lock(); const r = cacheFlushSuffix(IN, n, set, true, qtype); unlock(); return r; }
export function flushSuffix(n: i32, set: i32): i32 { lock(); const r = cacheFlushSuffix(IN, n, set, false, -1); unlock(); return r; }
export function cacheFlush(): i32 { lock(); const r = cacheFlushAll(); unlock(); return r; }
export function cacheFlushZone(zone: i32): i32 { lock(); const r = cacheFlushZoneIndex(zone); unlock(); return r; }
// counters: single aligned words, read as they stand
export function cacheBytes(): i32 { lock(); const r = cacheBytesUsed(); unlock(); return r; }
export function cacheCount(): i32 { return liveCount(); }
export function cacheNegativeCount(): i32 { return negCount(); }
export function cacheEvictions(): u32 { return evictions(); }
export function cacheHits(): u32 { return <u32>sget(SH_HITS); }
export function cacheMisses(): u32 { return <u32>sget(SH_MISSES); }

// Direct cache lookup for the parsed query in IN without rendering (tests, snapshot tools): returns
// the remaining TTL, or -1 when absent or expired. Keeps the prior parse in RES.
export function peek(len: i32, now: u32, set: i32): i32 {
  if (parseQuery(IN, len) != 0) return -1;
  finishKey(set);
  lock();
  const slot = findSlot(<u32>res(R_HASH), KEY, res(R_KEY_LEN));
  if (slot < 0) { unlock(); return -1; }
  const rec = recordAt(slot);
  const age = now - recStored(rec);
  const ttl = recTtl(rec);
  setRes(R_NEGATIVE, recNegative(rec) ? 1 : 0);
  setRes(R_ZONE, recZone(rec));
  unlock();
  return age < ttl ? <i32>(ttl - age) : -1;
}

// Warm-restart snapshots: walk live records oldest first (pointer and length of each, 0 at the end),
// and import one record copied into IN under the zone id it has in this run.
// With other instances running, a record may change between snapNext and reading it: snapshots are
// taken where nothing else stores (see the walk's epoch check in cache.ts).
export function snapFirst(): usize { lock(); const r = ringFirst(snapWalk()); unlock(); return r; }
export function snapNext(): usize { lock(); const r = ringNext(snapWalk()); unlock(); return r; }
@inline function snapWalk(): RingWalk { return changetype<RingWalk>(SNAP_WALK); }
export function snapRecordLength(rec: usize): i32 { return recLength(rec); }
export function snapImport(len: i32, now: u32, zone: i32): i32 {
  if (len > SNAP_RECORD_MAX) return -1;
  lock();
  const r = cacheImport(IN, len, now, zone);
  unlock();
  return r;
}

// Live entries per zone id, written as 256 i32 counts into AUX (admin statistics).
export function zoneCounts(): usize {
  memory.fill(AUX, 0, 256 << 2);
  lock();
  const w = changetype<RingWalk>(ADMIN_WALK);
  let rec = ringFirst(w);
  while (rec != 0) {
    const z = recZone(rec);
    if (z < 256) store<i32>(AUX + (<usize>z << 2), load<i32>(AUX + (<usize>z << 2)) + 1);
    rec = ringNext(w);
  }
  unlock();
  return AUX;
}

// Hosts overlay, into the one being built (hostsBegin … hostsCommit): `len` octets in IN hold the
// lowercased wire name (n octets) then `count` rdata blocks (u16 length + bytes).
export function hostsPut(n: i32, qtype: i32, count: i32, ttl: i32, len: i32): i32 {
  if (n < 1 || n > 255 || len < n || len > BUF_BYTES) return -1;
  lock();
  const r = hostsAdd(IN, n, qtype, IN + <usize>n, len - n, count, <u32>ttl);
  unlock();
  return r;
}
export function hostsBegin(): void { lock(); hostsBeginTable(); unlock(); }
export function hostsCommit(): void { lock(); hostsCommitTable(); unlock(); }

// Parses the query in IN into RES and KEY without answering it (log lines, admin tools).
export function inspectQuery(len: i32): i32 { return parseQuery(IN, len); }
