// Upstream reply inspection: match it to the outstanding query, validate every record, work out what
// to cache and for how long (RFC 2181 / 2308), and normalise it into PREP: the OPT record stripped (it
// is hop-by-hop), TTLs capped, and each record's TTL and end offsets noted for later rewriting.
import { u8at, be16, be32, put16, put32 } from "./bytes";
import { walkName, nameMaxPtr, namesEqualFold } from "./name";
import { skipRecord, rrType, rrStart, rrDataStart, TYPE_OPT } from "./query";
import {
  PREP, PREP_RR, setRes, R_RCODE, R_TC, R_CACHEABLE, R_NEGATIVE, R_TTL, R_PREP_LEN, R_PREP_RRS,
  R_PREP_QEND,
} from "./layout";
import {
  E_HEADER, E_TRUNC, E_QDCOUNT, E_OPT_SECTION, E_OPT_DUP, E_OPT_NAME, E_TRAILING, E_ID_MISMATCH,
  E_QUESTION_MISMATCH, E_NOT_RESPONSE, E_OPCODE, E_PTR_FORWARD,
} from "./errors";

const TYPE_NS: i32 = 2;
const TYPE_CNAME: i32 = 5;
const TYPE_SOA: i32 = 6;
const TYPE_PTR: i32 = 12;
const TYPE_MX: i32 = 15;
const TYPE_SRV: i32 = 33;
const TYPE_DNAME: i32 = 39;

// Validates the names inside rdata of the types that may carry compressed names, so a reply with a
// forward or looping pointer there is rejected rather than cached. Returns 0 or a negative code.
let soaMinimum: u32 = 0;
function checkRdata(msg: usize, len: i32, type: i32, start: i32, end: i32): i32 {
  let p = start;
  if (type == TYPE_MX) p += 2;
  else if (type == TYPE_SRV) p += 6;
  else if (type != TYPE_NS && type != TYPE_CNAME && type != TYPE_PTR && type != TYPE_DNAME && type != TYPE_SOA) return 0;
  if (p > end) return E_TRUNC;
  p = walkName(msg, end, p, 0);
  if (p < 0) return p;
  if (type == TYPE_SOA) {
    const mnameMaxPtr = nameMaxPtr; // walking RNAME resets it; the OPT-shift check needs both names
    p = walkName(msg, end, p, 0);
    if (p < 0) return p;
    if (mnameMaxPtr > nameMaxPtr) nameMaxPtr = mnameMaxPtr;
    if (p + 20 != end) return E_TRUNC;
    soaMinimum = be32(msg + <usize>p + 16);
    return 0;
  }
  return p == end ? 0 : E_TRUNC;
}

@inline function clampTtl(t: u32): u32 { return t > 0x7fffffff ? 0 : t; } // RFC 2181 8

// Returns 0 (PREP holds the reply), 1 (an error rcode without a question: pass on the rcode only) or a
// negative code (drop the reply). r: the reply, q: the query we sent. exactCase: require the reply to echo our 0x20 letter case.
// capTtl: the zone's cacheDurationInSeconds. negNoSoaTtl: how long to keep a denial without a SOA.
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
  const rcode = flags & 0xf;
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
    return 1;
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

  // walk every record
  let off = qend;
  const total = an + ns + ar;
  let optStart = -1;
  let optEnd = -1;
  let minTtl: u32 = 0xffffffff;
  let soaTtl: u32 = 0xffffffff;
  let soaMin: u32 = 0xffffffff;
  let nrr = 0;
  let ptrAfterOpt = -1;
  for (let i = 0; i < total; i++) {
    const next = skipRecord(r, rlen, off);
    if (next < 0) return next;
    const ownerMaxPtr = nameMaxPtr;
    const type = rrType;
    const start = rrStart;
    const dataStart = rrDataStart;
    if (type == TYPE_OPT) {
      if (i < an + ns) return E_OPT_SECTION;
      if (optStart >= 0) return E_OPT_DUP;
      if (u8at(r + <usize>start) != 0) return E_OPT_NAME;
      optStart = start;
      optEnd = next;
    } else {
      const c = checkRdata(r, next, type, dataStart, next);
      if (c < 0) return c;
      if (optStart >= 0) {
        if (ownerMaxPtr > ptrAfterOpt) ptrAfterOpt = ownerMaxPtr;
        if (nameMaxPtr > ptrAfterOpt) ptrAfterOpt = nameMaxPtr;
      }
      const ttl = clampTtl(be32(r + <usize>dataStart - 6));
      if (i < an + ns) {
        if (ttl < minTtl) minTtl = ttl;
        if (type == TYPE_SOA && i >= an) {
          if (ttl < soaTtl) soaTtl = ttl;
          if (clampTtl(soaMinimum) < soaMin) soaMin = clampTtl(soaMinimum);
        }
      }
      // offsets as they will be once the OPT is removed
      const shift = optStart >= 0 ? optEnd - optStart : 0;
      const meta = <u32>(dataStart - 6 - shift) | (<u32>(next - shift) << 16);
      store<u32>(PREP_RR + (<usize>nrr << 2), meta);
      nrr++;
    }
    off = next;
  }
  if (off != rlen) return E_TRAILING;
  // records after the OPT must not point at or past it, or removing it would break their names
  if (optStart >= 0 && ptrAfterOpt >= optStart) return E_PTR_FORWARD;

  // the normalised copy
  let plen = rlen;
  if (optStart >= 0) {
    memory.copy(PREP, r, <usize>optStart);
    memory.copy(PREP + <usize>optStart, r + <usize>optEnd, <usize>(rlen - optEnd));
    plen = rlen - (optEnd - optStart);
    put16(PREP + 10, ar - 1);
  } else {
    memory.copy(PREP, r, <usize>rlen);
  }
  // the answer we pass on is never marked truncated by us unless the upstream truncated it
  setRes(R_PREP_LEN, plen);
  setRes(R_PREP_RRS, nrr);
  setRes(R_PREP_QEND, qend);

  // how long to cache
  let ttl: u32 = 0;
  let cacheable = 0;
  let negative = 0;
  if (tc == 0 && (rcode == 0 || rcode == 3)) {
    if (rcode == 0 && an > 0) {
      ttl = minTtl;
      cacheable = 1;
    } else {
      negative = 1;
      cacheable = 1;
      if (soaTtl != 0xffffffff) ttl = soaTtl < soaMin ? soaTtl : soaMin; // RFC 2308 5
      else ttl = negNoSoaTtl;
    }
  }
  if (ttl > capTtl) ttl = capTtl;
  if (ttl == 0) cacheable = 0;
  // cap every record's TTL: at the zone cap, and for a denial the SOA at the negative TTL
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
  return 0;
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
    const next = skipRecord(msg, msgLen, off);
    if (next < 0 || rrType == TYPE_OPT) return false;
    if (checkRdata(msg, next, rrType, rrDataStart, next) < 0) return false;
    const m = load<u32>(meta + (<usize>i << 2));
    if (<i32>(m & 0xffff) != rrDataStart - 6 || <i32>(m >> 16) != next) return false;
    off = next;
  }
  return off == msgLen;
}
