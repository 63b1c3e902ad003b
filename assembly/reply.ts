// Upstream reply inspection: match it to the outstanding query, validate every record, work out what
// to cache and for how long (RFC 2181 / 2308), and normalise it into PREP: the OPT record stripped (it
// is hop-by-hop), TTLs capped, and each record's TTL and end offsets noted for later rewriting.
import { u8at, be16, be32, put16, put32 } from "./bytes";
import { walkName, copyName, pointerReach, namesEqualFold } from "./name";
import { hashBytes } from "./hash";
import { scrub, info, rdataNameAt, I_START, I_DATA, I_END, I_TYPE, I_SECTION, I_KEEP, I_MAXPTR, I_HASH, I_OWNLEN, T_A, T_AAAA, T_SOA } from "./scrub";
import { recordData, recordType, recordEnd, TYPE_OPT } from "./query";
import {
  PREP, PREP_RR, RR_MAX, NAME_B, MSG_MAX, res, setRes, R_RCODE, R_TC, R_CACHEABLE, R_NEGATIVE, R_TTL, R_PREP_LEN, R_PREP_RRS,
  R_PREP_QEND,
} from "./layout";
import {
  E_HEADER, E_TRUNC, E_QDCOUNT, E_OPT_SECTION, E_OPT_DUP, E_OPT_NAME, E_TRAILING, E_ID_MISMATCH,
  E_QUESTION_MISMATCH, E_NOT_RESPONSE, E_OPCODE, E_PTR_FORWARD, E_RDATA, E_TOO_BIG,
} from "./errors";

const TYPE_NS: i32 = 2;
const TYPE_CNAME: i32 = 5;
const TYPE_SOA: i32 = 6;
const TYPE_PTR: i32 = 12;
const TYPE_MX: i32 = 15;
const TYPE_SRV: i32 = 33;
const TYPE_DNAME: i32 = 39;

// Validates the names inside rdata of the types that may carry compressed names, so a reply with a
// forward or looping pointer there is rejected rather than cached. Returns the highest compression
// target those names follow (-1: none, or a type without names), or a code below -1.
function checkRdata(msg: usize, len: i32, type: i32, start: i32, end: i32): i32 {
  let p = start;
  if (type == TYPE_MX) p += 2;
  else if (type == TYPE_SRV) p += 6;
  else if (type != TYPE_NS && type != TYPE_CNAME && type != TYPE_PTR && type != TYPE_DNAME && type != TYPE_SOA) return -1;
  if (p > end) return E_TRUNC;
  const first = p;
  p = walkName(msg, end, first, 0);
  if (p < 0) return p;
  let reach = pointerReach(msg, end, first);
  if (type == TYPE_SOA) {
    const second = p; // RNAME; then five 32-bit numbers
    p = walkName(msg, end, second, 0);
    if (p < 0) return p;
    if (p + 20 != end) return E_TRUNC;
    const r = pointerReach(msg, end, second);
    return r > reach ? r : reach;
  }
  return p == end ? reach : E_TRUNC;
}

// prepareReply's results besides the negative E_* codes
export const PREPARED_OK: i32 = 0; // PREP holds the reply
export const PREPARED_RCODE_ONLY: i32 = 1; // an error rcode without a question: pass on the rcode only

@inline function clampTtl(t: u32): u32 { return t > 0x7fffffff ? 0 : t; } // RFC 2181 8

// Returns 0 (PREP holds the reply), 1 (an error rcode without a question: pass on the rcode only) or a
// negative code (drop the reply). r: the reply, q: the query we sent. exactCase: require the reply to echo our 0x20 letter case.
// capTtl: the zone's cacheDurationInSeconds. negNoSoaTtl: how long to keep a denial without a SOA.
// R_RCODE is the full rcode: the header's four bits and the upper eight from the reply's OPT.
export function prepareReply(r: usize, rlen: i32, q: usize, qlen: i32, exactCase: i32, capTtl: u32, negNoSoaTtl: u32): i32 {
  setRes(R_CACHEABLE, 0);
  setRes(R_NEGATIVE, 0);
  setRes(R_TTL, 0);
  setRes(R_PREP_LEN, 0);
  if (rlen < 12 || qlen < 12) return E_HEADER;
  if (be16(r) != be16(q)) return E_ID_MISMATCH;
  const flags = be16(r + 2);
  if ((flags & 0x8000) == 0) return E_NOT_RESPONSE;
  if (((flags >> 11) & 0xf) != 0) return E_OPCODE;
  let rcode = flags & 0xf;
  const tc = (flags >> 9) & 1;
  setRes(R_RCODE, rcode);
  setRes(R_TC, tc);
  const qd = be16(r + 4);
  const an = be16(r + 6);
  const ns = be16(r + 8);
  const ar = be16(r + 10);
  if (qd == 0 && rcode != 0 && rcode != 3) {
    // some servers drop the question from an error answer; the rcode is all there is to pass on
    setRes(R_PREP_QEND, 12);
    return PREPARED_RCODE_ONLY;
  }
  if (qd != 1) return E_QDCOUNT;

  // the question must be ours: same name (case-insensitive unless 0x20 checking), type and class
  const qnameEnd = walkName(q, qlen, 12, 0);
  if (qnameEnd < 0 || qnameEnd + 4 > qlen) return E_HEADER;
  const n = qnameEnd - 12;
  const rnameEnd = walkName(r, rlen, 12, 0);
  if (rnameEnd < 0) return rnameEnd;
  if (rnameEnd != qnameEnd || rnameEnd + 4 > rlen) return E_QUESTION_MISMATCH;
  if (exactCase != 0) {
    if (memory.compare(r + 12, q + 12, <usize>n) != 0) return E_QUESTION_MISMATCH;
  } else if (!namesEqualFold(r + 12, q + 12, n)) return E_QUESTION_MISMATCH;
  if (load<u32>(r + <usize>rnameEnd) != load<u32>(q + <usize>qnameEnd)) return E_QUESTION_MISMATCH;
  const qend = rnameEnd + 4;
  const qtype = be16(r + <usize>rnameEnd);

  // walk every record: validate it and note its facts for the scrubber
  const total = an + ns + ar;
  if (total > RR_MAX) return E_TRUNC;
  let off = qend;
  let sawOpt = false;
  for (let i = 0; i < total; i++) {
    const start = off;
    const dataStart = recordData(r, rlen, start);
    if (dataStart < 0) return dataStart;
    const next = recordEnd(r, dataStart);
    const type = recordType(r, dataStart);
    const p = info(i);
    let maxPtr = pointerReach(r, rlen, start);
    if (type == TYPE_OPT) {
      if (i < an + ns) return E_OPT_SECTION;
      if (sawOpt) return E_OPT_DUP;
      if (u8at(r + <usize>start) != 0) return E_OPT_NAME;
      sawOpt = true;
      rcode |= u8at(r + <usize>start + 5) << 4; // extended rcode (RFC 6891 6.1.3)
    } else {
      const reach = checkRdata(r, next, type, dataStart, next);
      if (reach < -1) return reach;
      if (reach > maxPtr) maxPtr = reach;
      const rdlen = next - dataStart;
      if (be16(r + <usize>dataStart - 8) == 1 && ((type == T_A && rdlen != 4) || (type == T_AAAA && rdlen != 16))) return E_RDATA;
    }
    store<u16>(p + I_START, <u16>start);
    store<u16>(p + I_DATA, <u16>dataStart);
    store<u32>(p + I_END, <u32>next);
    store<u16>(p + I_TYPE, <u16>type);
    store<u8>(p + I_SECTION, <u8>(i < an ? 0 : i < an + ns ? 1 : 2));
    store<i32>(p + I_MAXPTR, maxPtr);
    const ownerLen = copyName(r, rlen, start, NAME_B);
    store<u32>(p + I_HASH, hashBytes(NAME_B, ownerLen));
    store<u16>(p + I_OWNLEN, <u16>ownerLen);
    off = next;
  }
  if (off != rlen) return E_TRAILING;
  setRes(R_RCODE, rcode);

  const answered = scrub(r, rlen, an, ns, total, qtype);
  const plen = writePrepared(r, rlen, qend, total);
  if (plen < 0) return plen;
  setRes(R_PREP_QEND, qend);

  // how long to cache: the minimum over every record used (RFC 2181 5.2 / 2308 5); a denial (NXDOMAIN,
  // or NODATA: NOERROR without an answer at the chain's end) at most the SOA's TTL and MINIMUM
  const nrr = res(R_PREP_RRS);
  const panCount = be16(PREP + 6);
  const pnsCount = be16(PREP + 8);
  let minTtl: u32 = 0xffffffff;
  let soaPart: u32 = 0xffffffff;
  for (let i = 0; i < panCount + pnsCount; i++) {
    const m = load<u32>(PREP_RR + (<usize>i << 2));
    const ttlAt = PREP + <usize>(m & 0xffff);
    const t = clampTtl(be32(ttlAt));
    if (i < panCount) { if (t < minTtl) minTtl = t; continue; }
    if (be16(ttlAt - 4) == T_SOA) {
      const end = <i32>(m >> 16);
      const minimum = clampTtl(be32(PREP + <usize>end - 4));
      const s = t < minimum ? t : minimum;
      if (s < soaPart) soaPart = s;
    } else if (t < minTtl) minTtl = t;
  }
  let ttl: u32 = 0;
  let cacheable = 0;
  let negative = 0;
  if (tc == 0 && (rcode == 0 || rcode == 3)) {
    cacheable = 1;
    if (rcode == 0 && answered) ttl = minTtl;
    else {
      negative = 1;
      ttl = soaPart != 0xffffffff ? soaPart : negNoSoaTtl;
      if (minTtl < ttl) ttl = minTtl; // a CNAME on the way may expire first
    }
  }
  if (ttl > capTtl) ttl = capTtl;
  if (ttl == 0) cacheable = 0;
  // cap every record's TTL: at the zone cap, and for a denial at the negative TTL
  for (let i = 0; i < nrr; i++) {
    const p = PREP + <usize>(load<u32>(PREP_RR + (<usize>i << 2)) & 0xffff);
    let t = clampTtl(be32(p));
    if (t > capTtl) t = capTtl;
    if (negative != 0 && t > ttl) t = ttl;
    put32(p, t);
  }
  setRes(R_TTL, <i32>ttl);
  setRes(R_CACHEABLE, cacheable);
  setRes(R_NEGATIVE, negative);
  return PREPARED_OK;
}

// Writes the kept records into PREP with the header's counts fixed; notes each record's (TTL offset,
// end) in PREP_RR. A record is copied as it is when every compression pointer in it targets bytes that
// did not move (before the first removed record); otherwise its names are written out in full.
// Returns PREP's length or E_TOO_BIG.
function writePrepared(r: usize, rlen: i32, qend: i32, total: i32): i32 {
  let firstGone = rlen;
  for (let i = 0; i < total; i++) {
    const p = info(i);
    if (load<u8>(p + I_KEEP) == 0) { firstGone = <i32>load<u16>(p + I_START); break; }
  }
  memory.copy(PREP, r, <usize>qend);
  let pos = qend;
  let nrr = 0;
  let counts0 = 0, counts1 = 0, counts2 = 0;
  for (let i = 0; i < total; i++) {
    const p = info(i);
    if (load<u8>(p + I_KEEP) == 0) continue;
    const start = <i32>load<u16>(p + I_START);
    const dataStart = <i32>load<u16>(p + I_DATA);
    const end = <i32>load<u32>(p + I_END);
    const type = <i32>load<u16>(p + I_TYPE);
    const recStart = pos;
    let ttlAt: i32;
    if (start < firstGone || load<i32>(p + I_MAXPTR) < firstGone) {
      if (pos + (end - start) > MSG_MAX) return E_TOO_BIG;
      memory.copy(PREP + <usize>pos, r + <usize>start, <usize>(end - start));
      ttlAt = recStart + (dataStart - 6 - start);
      pos += end - start;
    } else {
      if (pos + 255 + 10 > MSG_MAX) return E_TOO_BIG;
      pos += copyName(r, rlen, start, PREP + <usize>pos);
      memory.copy(PREP + <usize>pos, r + <usize>dataStart - 10, 8); // type, class, TTL
      ttlAt = pos + 4;
      const rdlenAt = pos + 8;
      pos += 10;
      const rdStart = pos;
      const at = rdataNameAt(type);
      if (at < 0) {
        if (pos + (end - dataStart) > MSG_MAX) return E_TOO_BIG;
        memory.copy(PREP + <usize>pos, r + <usize>dataStart, <usize>(end - dataStart));
        pos += end - dataStart;
      } else {
        if (pos + at + 2 * 255 + 20 > MSG_MAX) return E_TOO_BIG;
        memory.copy(PREP + <usize>pos, r + <usize>dataStart, <usize>at);
        pos += at;
        const nameOff = dataStart + at;
        pos += copyName(r, rlen, nameOff, PREP + <usize>pos);
        if (type == T_SOA) {
          const second = walkName(r, rlen, nameOff, 0);
          pos += copyName(r, rlen, second, PREP + <usize>pos);
          memory.copy(PREP + <usize>pos, r + <usize>end - 20, 20);
          pos += 20;
        }
      }
      put16(PREP + <usize>rdlenAt, pos - rdStart);
    }
    store<u32>(PREP_RR + (<usize>nrr << 2), <u32>ttlAt | (<u32>pos << 16));
    nrr++;
    const section = load<u8>(p + I_SECTION);
    if (section == 0) counts0++; else if (section == 1) counts1++; else counts2++;
  }
  put16(PREP + 6, counts0);
  put16(PREP + 8, counts1);
  put16(PREP + 10, counts2);
  setRes(R_PREP_LEN, pos);
  setRes(R_PREP_RRS, nrr);
  return pos;
}

// A stored message from outside this run (a warm-restart snapshot) is trusted only after the same
// walk a fresh reply gets: header counts, the question (which must be the key's), every record and the
// names inside known rdata, and per-record offsets exactly as prepareReply would have noted them.
export function validateStored(msg: usize, msgLen: i32, nrr: i32, meta: usize, qend: i32, key: usize, keyLen: i32, scratch: usize): bool {
  if (msgLen < 12 || be16(msg + 4) != 1) return false;
  if (be16(msg + 6) + be16(msg + 8) + be16(msg + 10) != nrr) return false;
  const qnameEnd = walkName(msg, msgLen, 12, scratch);
  if (qnameEnd < 0 || qnameEnd + 4 != qend || qend > msgLen) return false;
  const n = qnameEnd - 12;
  if (keyLen != 5 + n || memory.compare(scratch, key + 5, <usize>n) != 0) return false;
  if (load<u32>(msg + <usize>qnameEnd) != load<u32>(key + 1)) return false; // qtype and qclass, as stored in the key
  let off = qend;
  for (let i = 0; i < nrr; i++) {
    const data = recordData(msg, msgLen, off);
    if (data < 0) return false;
    const next = recordEnd(msg, data);
    const type = recordType(msg, data);
    if (type == TYPE_OPT || checkRdata(msg, next, type, data, next) < -1) return false;
    const m = load<u32>(meta + (<usize>i << 2));
    if (<i32>(m & 0xffff) != data - 6 || <i32>(m >> 16) != next) return false;
    off = next;
  }
  return off == msgLen;
}
