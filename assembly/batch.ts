// handleBatch: up to BATCH_MAX UDP queries in one call, each in its slot of this instance's batch
// area. What needs no JS work (cache hits, error answers, blocked names, hosts and special names) is
// answered in place: the answer overwrites the slot's query and its length goes to BATCH_OUT. The rest
// keeps its query bytes, with a status naming the slow path (the caller runs handle() for it).
//
// Per slot i (the caller writes the query at BATCH + i*BATCH_SLOT, and in its meta record at
// BATCH_META + i*BATCH_META_RECORD the query length and flags, BATCH_TRUNCATED when the datagram did
// not fit):
//   meta out-length  answer length (> 0), or 0 when nothing is to be sent from the slot
//   BATCH_INFO[i]    result word: qtype (bits 0-15), zone id (16-23, 255 = none), the answer's rcode
//                    (24-27, header rcode), status B_* (28-31)
import {
  BATCH, BATCH_META, BATCH_INFO, BATCH_MAX, BATCH_SLOT, BATCH_META_RECORD, BATCH_META_IN_LEN, BATCH_META_OUT_LEN,
  BATCH_META_FLAGS, BATCH_TRUNCATED, OUT, res, R_STATUS, R_ZONE, R_QTYPE,
  R_PREFETCH, R_NEGATIVE, S_HIT, S_ERROR, S_BLOCKED, S_HOSTS, S_LOCAL, S_DROP, S_MISS, S_STALE, S_HEALTH,
} from "./layout";
import { decide } from "./handle";

// answered: the slot holds the answer
export const B_HIT: i32 = 1;
export const B_HIT_REFRESH: i32 = 2; // a hit whose entry should be refreshed now (prefetch): the query follows the answer in the slot; see recall()
export const B_HIT_NEGATIVE: i32 = 3; // a cached denial (NXDOMAIN/NODATA)
export const B_HIT_NEGATIVE_REFRESH: i32 = 4;
export const B_ERROR: i32 = 5; // FORMERR, NOTIMP, BADVERS, REFUSED built from the query
export const B_BLOCKED: i32 = 6;
export const B_HOSTS: i32 = 7;
export const B_LOCAL: i32 = 8;
export const B_ANSWERED_MAX: i32 = 8;
// not answered
export const B_DROP: i32 = 9; // send nothing (not a query, or no header)
export const B_SLOW_MIN: i32 = 10; // from here on: the query is in the slot, run handle() for it
export const B_MISS: i32 = 10; // forward
export const B_STALE: i32 = 11; // only an expired entry: handle() serves or refreshes it per the zone
export const B_HEALTH: i32 = 12; // the health name: its answer needs the client's address
export const B_DEFER: i32 = 13; // the zone (or, before a zone matched, the listener set) logs every query
export const B_TOO_BIG: i32 = 14; // the query (truncated on receipt) or its answer is longer than a slot

export const BATCH_QTYPE_MASK: i32 = 65535;
export const BATCH_ZONE_SHIFT: i32 = 16;
export const BATCH_RCODE_SHIFT: i32 = 24;
export const BATCH_STATUS_SHIFT: i32 = 28;

function batchStatus(status: i32): i32 {
  if (status == S_HIT) return (res(R_NEGATIVE) != 0 ? B_HIT_NEGATIVE : B_HIT) + res(R_PREFETCH);
  if (status == S_ERROR) return B_ERROR;
  if (status == S_BLOCKED) return B_BLOCKED;
  if (status == S_HOSTS) return B_HOSTS;
  if (status == S_LOCAL) return B_LOCAL;
  if (status == S_DROP) return B_DROP;
  if (status == S_MISS) return B_MISS;
  if (status == S_STALE) return B_STALE;
  if (status == S_HEALTH) return B_HEALTH;
  return B_DEFER; // S_DEFER
}

@inline function word(status: i32, rcode: i32): i32 {
  return (status << BATCH_STATUS_SHIFT) | ((rcode & 15) << BATCH_RCODE_SHIFT)
    | ((res(R_ZONE) & 255) << BATCH_ZONE_SHIFT) | (res(R_QTYPE) & BATCH_QTYPE_MASK);
}

// Handles slots [0, n) as UDP queries of listener set `set`. Returns how many were answered.
export function handleBatch(n: i32, now: u32, set: i32): i32 {
  if (n > BATCH_MAX) n = BATCH_MAX;
  let answered = 0;
  for (let i = 0; i < n; i++) {
    const slot = BATCH + <usize>i * <usize>BATCH_SLOT;
    const meta = BATCH_META + <usize>i * <usize>BATCH_META_RECORD;
    const len = load<i32>(meta + <usize>BATCH_META_IN_LEN);
    let out = 0;
    let info: i32;
    if (len < 0 || len > BATCH_SLOT || (load<i32>(meta + <usize>BATCH_META_FLAGS) & BATCH_TRUNCATED) != 0) {
      info = B_TOO_BIG << BATCH_STATUS_SHIFT | (255 << BATCH_ZONE_SHIFT);
    } else {
      const r = decide(slot, len, now, set, 0, true);
      if (r > BATCH_SLOT) {
        info = word(B_TOO_BIG, 0);
      } else if (r > 0) {
        const rcode = <i32>load<u8>(OUT + 3) & 15;
        let status = batchStatus(res(R_STATUS));
        if (status == B_HIT_REFRESH || status == B_HIT_NEGATIVE_REFRESH) {
          // the refresh needs the query, which the answer is about to overwrite: it moves to just
          // past the answer (the caller hands it off from there). Where both do not fit, no refresh
          // this time; the entry is fetched again when it expires.
          if (r + len <= BATCH_SLOT) memory.copy(slot + <usize>r, slot, <usize>len);
          else status -= 1;
        }
        memory.copy(slot, OUT, <usize>r);
        out = r;
        answered++;
        info = word(status, rcode);
      } else {
        info = word(batchStatus(res(R_STATUS)), 0);
      }
    }
    store<i32>(meta + <usize>BATCH_META_OUT_LEN, out);
    store<i32>(BATCH_INFO + (<usize>i << 2), info);
  }
  return answered;
}
