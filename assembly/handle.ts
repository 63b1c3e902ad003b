// The per-packet decision shared by handle() and handleBatch(): parse and validate the query at q,
// apply zone rules, look it up. The shared part (zones, rules, hosts, cache) runs under the lock.
import {
  KEY, MSG_MAX, res, setRes, R_STATUS, R_ZONE, R_PREFETCH, R_TTL, R_OUT_LEN, R_KEY_LEN, R_HASH, R_QTYPE,
  R_QCLASS, R_NAME_LEN, R_FLAGS, R_UDP, R_DO, R_NEGATIVE,
  S_HIT, S_ERROR, S_BLOCKED, S_MISS, S_STALE, S_HEALTH, S_DROP, S_HOSTS, S_LOCAL, S_DEFER,
} from "./layout";
import { hostsFind, hostsCount, hostsNrr, hostsQend, hostsMeta, hostsMsg } from "./hosts";
import { E_HEADER, E_NOT_QUERY, E_OPCODE, E_BADVERS } from "./errors";
import { parseQuery, KEY_NAME_OFF } from "./query";
import { buildError, buildDenial, buildSpecialAnswer, RCODE_FORMERR, RCODE_NXDOMAIN, RCODE_NOTIMP, RCODE_REFUSED, RCODE_BADVERS } from "./respond";
import { render } from "./render";
import { specialKind, SPECIAL_NONE } from "./special";
import { hashBytes } from "./hash";
import { findSlot, recordAt, killSlot, recStored, recTtl, recStale, recNrr, recMeta, recMsg, recQend, recTouch, recNegative } from "./cache";
import { matchZone, matchRule, ruleAction, ruleNameLen, ACTION_NXDOMAIN, ACTION_HEALTH } from "./zones";
import {
  sadd, lock, unlock, fresh, cStaleTtl, cPrefetchHits, cBlockedTtl, cUdpMax, SH_HITS, SH_MISSES, SH_LOG_ZONE, SH_LOG_SET,
} from "./shared";
import { SHARED } from "./layout";

// The largest answer the parsed query may get. Reads this instance's copy of udpMax: callers have
// brought it up to date (fresh()).
@inline export function limitFor(tcp: i32): i32 {
  if (tcp != 0) return MSG_MAX;
  const u = res(R_UDP);
  return u < cUdpMax ? u : cUdpMax;
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
// Inlined into the hit path (a call there costs ~1 ns).
@inline export function finishKey(set: i32): void {
  const flags = res(R_FLAGS);
  store<u8>(KEY, <u8>(res(R_DO) | ((flags >> 3) & 0x02) | (set << 2)));
  setRes(R_HASH, <i32>hashBytes(KEY, res(R_KEY_LEN)));
}

// Query-log flags: a batch leaves queries whose answer would be logged to handle().
@inline function setLogged(set: i32): bool { return load<u8>(SHARED() + SH_LOG_SET + <usize>(set & 255)) != 0; }
@inline function zoneLogged(zone: i32): bool { return load<u8>(SHARED() + SH_LOG_ZONE + <usize>(zone & 255)) != 0; }

// An answer given before a zone matched: with `batch`, deferred when the listener set logs.
@inline function early(q: usize, set: i32, batch: bool, status: i32, rcode: i32): i32 {
  if (batch && setLogged(set)) { setRes(R_STATUS, S_DEFER); return -1; }
  setRes(R_STATUS, status);
  return buildError(q, rcode);
}

// Returns the length of a ready answer in OUT, 0 to drop the packet, or -1 when the runtime must act:
// R_STATUS says what (S_MISS: forward; S_STALE: an expired answer is in OUT, R_OUT_LEN long;
// S_HEALTH: build the health answer; S_DEFER, batch only: run handle()). R_ZONE names the zone.
// `batch` (handleBatch) counts no misses: the slow path runs handle() again, which counts them.
@inline export function decide(q: usize, len: i32, now: u32, set: i32, tcp: i32, batch: bool): i32 {
  setRes(R_PREFETCH, 0);
  setRes(R_ZONE, -1);
  if (len > MSG_MAX) { setRes(R_STATUS, S_DROP); return 0; }
  const e = parseQuery(q, len);
  if (e != 0) {
    if (e == E_HEADER || e == E_NOT_QUERY) { setRes(R_STATUS, S_DROP); return 0; }
    return early(q, set, batch, S_ERROR, errorCode(e));
  }
  const qtype = res(R_QTYPE);
  const qclass = res(R_QCLASS);
  if (qclass != 1 && qclass != 255) return early(q, set, batch, S_ERROR, RCODE_REFUSED);
  if (qtype == 251 || qtype == 252) return early(q, set, batch, S_ERROR, RCODE_NOTIMP); // zone transfers
  if (isMetaQtype(qtype)) return early(q, set, batch, S_ERROR, RCODE_FORMERR);
  const n = res(R_NAME_LEN);
  const special = specialKind(KEY + KEY_NAME_OFF, n);
  if (special != SPECIAL_NONE) {
    if (batch && setLogged(set)) { setRes(R_STATUS, S_DEFER); return -1; }
    setRes(R_STATUS, S_LOCAL);
    return buildSpecialAnswer(q, special);
  }
  lock();
  fresh();
  const r = lookup(q, n, now, set, tcp, batch);
  unlock();
  return r;
}

// The shared part of decide(): zone, rules, hosts overlay, cache. Called with the lock held.
@inline function lookup(q: usize, n: i32, now: u32, set: i32, tcp: i32, batch: bool): i32 {
  const zone = matchZone(set, n);
  setRes(R_ZONE, zone);
  if (zone < 0) return early(q, set, batch, S_ERROR, RCODE_REFUSED);
  if (batch && zoneLogged(zone)) { setRes(R_STATUS, S_DEFER); return -1; }
  const rule = matchRule(set, zone, n);
  if (rule >= 0) {
    const action = ruleAction(rule);
    if (action == ACTION_HEALTH) { setRes(R_STATUS, S_HEALTH); return -1; }
    if (action == ACTION_NXDOMAIN) { setRes(R_STATUS, S_BLOCKED); return buildDenial(q, RCODE_NXDOMAIN, ruleNameLen(rule), <u32>cBlockedTtl); }
  }
  if (hostsCount() > 0) {
    const h = hostsFind(KEY + 1, res(R_KEY_LEN) - 1);
    if (h != 0) {
      setRes(R_STATUS, S_HOSTS);
      return render(q, hostsMsg(h), hostsNrr(h), hostsMeta(h), hostsQend(h), 0, -1, limitFor(tcp));
    }
  }
  finishKey(set);
  const slot = findSlot(<u32>res(R_HASH), KEY, res(R_KEY_LEN));
  if (slot < 0) { if (!batch) sadd(SH_MISSES, 1); setRes(R_STATUS, S_MISS); return -1; }
  const rec = recordAt(slot);
  const ttl = recTtl(rec);
  const stored = recStored(rec);
  const age = now > stored ? now - stored : 0;
  setRes(R_NEGATIVE, recNegative(rec) ? 1 : 0);
  if (age < ttl) {
    sadd(SH_HITS, 1);
    setRes(R_STATUS, S_HIT);
    setRes(R_TTL, <i32>(ttl - age));
    if (recTouch(rec, ttl - age, cPrefetchHits)) setRes(R_PREFETCH, 1);
    return render(q, recMsg(rec), recNrr(rec), recMeta(rec), recQend(rec), age, -1, limitFor(tcp));
  }
  if (age - ttl < recStale(rec)) {
    setRes(R_STATUS, S_STALE);
    if (!batch) setRes(R_OUT_LEN, render(q, recMsg(rec), recNrr(rec), recMeta(rec), recQend(rec), age, cStaleTtl, limitFor(tcp)));
    return -1;
  }
  killSlot(slot);
  if (!batch) sadd(SH_MISSES, 1);
  setRes(R_STATUS, S_MISS);
  return -1;
}
