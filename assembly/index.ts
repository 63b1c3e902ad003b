// The packet core's exports. Every export takes and returns integers; buffers are at fixed addresses
// (see layout.ts) that the runtime reads once.
import {
  initLayout, RES, IN, AUX, OUT, PREP, PREP_RR, KEY, MSG_MAX, BUF_BYTES, SNAP_RECORD_MAX, res, setRes,
  R_STATUS, R_ZONE, R_PREFETCH, R_TTL, R_OUT_LEN, R_KEY_LEN, R_HASH, R_QTYPE, R_QCLASS, R_QNAME_END,
  R_NAME_LEN, R_FLAGS, R_UDP, R_DO, R_PREP_LEN, R_PREP_RRS, R_PREP_QEND, R_NEGATIVE, R_CACHEABLE,
  S_HIT, S_ERROR, S_BLOCKED, S_MISS, S_STALE, S_HEALTH, S_DROP, S_HOSTS, S_LOCAL,
} from "./layout";
import { hostsBegin, hostsCommit, hostsAdd, hostsFind, hostsCount, hostsNrr, hostsQend, hostsMeta, hostsMsg } from "./hosts";
import { E_HEADER, E_NOT_QUERY, E_OPCODE, E_BADVERS } from "./errors";
import { parseQuery, KEY_NAME_OFF } from "./query";
import {
  buildError, buildDenial, buildSpecialAnswer, buildAddressAnswer, buildUpstreamQuery, buildCompactQuery,
  RCODE_FORMERR, RCODE_SERVFAIL, RCODE_NXDOMAIN, RCODE_NOTIMP, RCODE_REFUSED, RCODE_BADVERS, OUR_UDP_SIZE,
} from "./respond";
import { render } from "./render";
import { specialKind, SPECIAL_NONE } from "./special";
import { prepareReply } from "./reply";
import { hashBytes, setHashSeed } from "./hash";
import {
  cacheInit, cacheFlush, cacheBytes, cacheInsert, findSlot, recordAt, killSlot, recStored, recTtl,
  recStale, recNrr, recMeta, recMsg, recQend, recTouch, recZone, recNegative, liveCount, negCount,
  evictions, cacheFlushSuffix, cacheFlushZone, ringFirst, ringNext, cacheImport, recLength,
} from "./cache";
import { zonesBegin, zonesCommit, zoneAdd, ruleAdd, matchZone, matchRule, ruleAction, ruleNameLen, ACTION_NXDOMAIN, ACTION_HEALTH } from "./zones";

export { zonesBegin, zonesCommit, hostsBegin, hostsCommit, cacheFlush, cacheBytes, cacheFlushZone };

let staleTtl: i32 = 30;
let prefetchMinHits: i32 = 2;
let blockedTtl: u32 = 30;
let udpMax: i32 = OUR_UDP_SIZE;
export let hits: u32 = 0;
export let misses: u32 = 0;

export function init(cacheBytesMax: i32, seed: u32): i32 {
  initLayout();
  setHashSeed(seed);
  return cacheInit(cacheBytesMax);
}

export function resPtr(): usize { return RES; }
export function inPtr(): usize { return IN; }
export function auxPtr(): usize { return AUX; }
export function outPtr(): usize { return OUT; }
export function keyPtr(): usize { return KEY; }

// Runtime knobs: TTL of stale answers, hits before a prefetch (0 = off), TTL of blocked-name
// denials, and the largest UDP answer we send.
export function configure(stale: i32, prefetchHits: i32, blocked: i32, maxUdp: i32): void {
  staleTtl = stale;
  prefetchMinHits = prefetchHits;
  blockedTtl = <u32>blocked;
  udpMax = maxUdp < 512 ? 512 : maxUdp;
}

@inline function limitFor(tcp: i32): i32 {
  if (tcp != 0) return MSG_MAX;
  const u = res(R_UDP);
  return u < udpMax ? u : udpMax;
}

// Meta-types (RFC 6895 3.1: OPT, TKEY, TSIG, MAILB/MAILA and the rest of 128-255) are not data a
// resolver can be asked for; ANY (255) is forwarded, AXFR/IXFR get NOTIMP above. Unbound: FORMERR.
@inline function isMetaQtype(t: i32): bool {
  return t == 41 || (t >= 128 && t <= 254);
}

function errorCode(e: i32): i32 {
  if (e == E_OPCODE) return RCODE_NOTIMP;
  if (e == E_BADVERS) return RCODE_BADVERS;
  return RCODE_FORMERR;
}

// Finishes the cache key for listener set `set` (DO, CD and set in the first octet) and hashes it.
function finishKey(set: i32): void {
  const flags = res(R_FLAGS);
  store<u8>(KEY, <u8>(res(R_DO) | ((flags >> 3) & 0x02) | (set << 2)));
  setRes(R_HASH, <i32>hashBytes(KEY, res(R_KEY_LEN)));
}

// The whole per-packet path: parse and validate the query in IN, apply zone rules, look it up.
// Returns the length of a ready answer in OUT, 0 to drop the packet, or -1 when the runtime must act:
// R_STATUS says what (S_MISS: forward; S_STALE: an expired answer is in OUT, R_OUT_LEN long;
// S_HEALTH: build the health answer). R_ZONE names the zone.
export function handle(len: i32, now: u32, set: i32, tcp: i32): i32 {
  setRes(R_PREFETCH, 0);
  setRes(R_ZONE, -1);
  if (len > MSG_MAX) { setRes(R_STATUS, S_DROP); return 0; }
  const e = parseQuery(IN, len);
  if (e != 0) {
    if (e == E_HEADER || e == E_NOT_QUERY) { setRes(R_STATUS, S_DROP); return 0; }
    setRes(R_STATUS, S_ERROR);
    return buildError(IN, errorCode(e));
  }
  const qtype = res(R_QTYPE);
  const qclass = res(R_QCLASS);
  if (qclass != 1 && qclass != 255) { setRes(R_STATUS, S_ERROR); return buildError(IN, RCODE_REFUSED); }
  if (qtype == 251 || qtype == 252) { setRes(R_STATUS, S_ERROR); return buildError(IN, RCODE_NOTIMP); } // zone transfers
  if (isMetaQtype(qtype)) { setRes(R_STATUS, S_ERROR); return buildError(IN, RCODE_FORMERR); }
  const n = res(R_NAME_LEN);
  const special = specialKind(KEY + KEY_NAME_OFF, n);
  if (special != SPECIAL_NONE) { setRes(R_STATUS, S_LOCAL); return buildSpecialAnswer(IN, special); }
  const zone = matchZone(set, n);
  setRes(R_ZONE, zone);
  if (zone < 0) { setRes(R_STATUS, S_ERROR); return buildError(IN, RCODE_REFUSED); }
  const rule = matchRule(set, zone, n);
  if (rule >= 0) {
    const action = ruleAction(rule);
    if (action == ACTION_HEALTH) { setRes(R_STATUS, S_HEALTH); return -1; }
    if (action == ACTION_NXDOMAIN) { setRes(R_STATUS, S_BLOCKED); return buildDenial(IN, RCODE_NXDOMAIN, ruleNameLen(rule), blockedTtl); }
  }
  if (hostsCount > 0) {
    const h = hostsFind(KEY + 1, res(R_KEY_LEN) - 1);
    if (h != 0) {
      setRes(R_STATUS, S_HOSTS);
      return render(IN, hostsMsg(h), hostsNrr(h), hostsMeta(h), hostsQend(h), 0, -1, limitFor(tcp));
    }
  }
  finishKey(set);
  const slot = findSlot(<u32>res(R_HASH), KEY, res(R_KEY_LEN));
  if (slot < 0) { misses++; setRes(R_STATUS, S_MISS); return -1; }
  const rec = recordAt(slot);
  const ttl = recTtl(rec);
  const stored = recStored(rec);
  const age = now > stored ? now - stored : 0;
  setRes(R_NEGATIVE, recNegative(rec) ? 1 : 0);
  if (age < ttl) {
    hits++;
    setRes(R_STATUS, S_HIT);
    setRes(R_TTL, <i32>(ttl - age));
    if (recTouch(rec, ttl - age, prefetchMinHits)) setRes(R_PREFETCH, 1);
    return render(IN, recMsg(rec), recNrr(rec), recMeta(rec), recQend(rec), age, -1, limitFor(tcp));
  }
  if (age - ttl < recStale(rec)) {
    setRes(R_STATUS, S_STALE);
    setRes(R_OUT_LEN, render(IN, recMsg(rec), recNrr(rec), recMeta(rec), recQend(rec), age, staleTtl, limitFor(tcp)));
    return -1;
  }
  killSlot(slot);
  misses++;
  setRes(R_STATUS, S_MISS);
  return -1;
}

// After handle() asked to forward: the query to send upstream into OUT. Returns its length.
export function upstreamQuery(id: i32, caseSeed: u32): i32 {
  return buildUpstreamQuery(IN, id, caseSeed);
}

// After handle() asked to forward: the client's query cut down to what its answer needs, into OUT.
export function compactQuery(): i32 {
  return buildCompactQuery(IN);
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
  return cacheInsert(KEY, res(R_KEY_LEN), <u32>res(R_HASH), PREP, plen, PREP_RR, nrr, qend, now, <u32>ttl, <u32>staleWindow, negative, zone);
}

// The prepared reply rendered for the client query in IN. Returns the answer length in OUT.
export function answerPrepared(qlen: i32, tcp: i32): i32 {
  const plen = res(R_PREP_LEN);
  const nrr = res(R_PREP_RRS);
  const qend = res(R_PREP_QEND);
  if (parseQuery(IN, qlen) != 0) return buildError(IN, RCODE_FORMERR);
  // render copies the client's spelling over the stored question: only sound for the same name length
  if (plen == 0 || res(R_QNAME_END) + 4 != qend) return buildError(IN, RCODE_SERVFAIL);
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
export function addZone(set: i32, n: i32, id: i32): i32 { return zoneAdd(set, IN, n, id); }
export function addRule(set: i32, zone: i32, action: i32, minLabels: i32, exact: i32, n: i32): i32 {
  return ruleAdd(set, zone, action, minLabels, exact, IN, n);
}

// Cache administration. Names are lowercased wire names in IN; set -1 = every listener set.
export function flushName(n: i32, set: i32, qtype: i32): i32 { return cacheFlushSuffix(IN, n, set, true, qtype); }
export function flushSuffix(n: i32, set: i32): i32 { return cacheFlushSuffix(IN, n, set, false, -1); }
export function cacheCount(): i32 { return liveCount; }
export function cacheNegativeCount(): i32 { return negCount; }
export function cacheEvictions(): u32 { return evictions; }
export function cacheHits(): u32 { return hits; }
export function cacheMisses(): u32 { return misses; }

// Direct cache lookup for the parsed query in IN without rendering (tests, snapshot tools): returns
// the remaining TTL, or -1 when absent or expired. Keeps the prior parse in RES.
export function peek(len: i32, now: u32, set: i32): i32 {
  if (parseQuery(IN, len) != 0) return -1;
  finishKey(set);
  const slot = findSlot(<u32>res(R_HASH), KEY, res(R_KEY_LEN));
  if (slot < 0) return -1;
  const rec = recordAt(slot);
  const age = now - recStored(rec);
  setRes(R_NEGATIVE, recNegative(rec) ? 1 : 0);
  setRes(R_ZONE, recZone(rec));
  return age < recTtl(rec) ? <i32>(recTtl(rec) - age) : -1;
}

// Warm-restart snapshots: walk live records oldest first (pointer and length of each, 0 at the end),
// and import one record copied into IN under the zone id it has in this run.
export function snapFirst(): usize { return ringFirst(); }
export function snapNext(): usize { return ringNext(); }
export function snapRecordLength(rec: usize): i32 { return recLength(rec); }
export function snapImport(len: i32, now: u32, zone: i32): i32 {
  if (len > SNAP_RECORD_MAX) return -1;
  return cacheImport(IN, len, now, zone);
}

// Live entries per zone id, written as 256 i32 counts into AUX (admin statistics).
export function zoneCounts(): usize {
  memory.fill(AUX, 0, 256 << 2);
  let rec = ringFirst();
  while (rec != 0) {
    const z = recZone(rec);
    if (z < 256) store<i32>(AUX + (<usize>z << 2), load<i32>(AUX + (<usize>z << 2)) + 1);
    rec = ringNext();
  }
  return AUX;
}

// Hosts overlay, into the one being built (hostsBegin … hostsCommit): `len` octets in IN hold the
// lowercased wire name (n octets) then `count` rdata blocks (u16 length + bytes).
export function hostsPut(n: i32, qtype: i32, count: i32, ttl: i32, len: i32): i32 {
  if (n < 1 || n > 255 || len < n || len > BUF_BYTES) return -1;
  return hostsAdd(IN, n, qtype, IN + <usize>n, len - n, count, <u32>ttl);
}

// Parses the query in IN into RES and KEY without answering it (log lines, admin tools).
export function inspectQuery(len: i32): i32 { return parseQuery(IN, len); }
