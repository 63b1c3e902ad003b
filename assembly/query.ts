// Query parsing and validation. Results go to the fixed result area; the lowercased question name
// goes straight into the cache-key buffer.
import { u8at, be16, be32 } from "./bytes";
import { walkName } from "./name";
import {
  RES, KEY, setRes, R_ID, R_FLAGS, R_QNAME_END, R_QEND, R_QTYPE, R_QCLASS, R_EDNS, R_UDP, R_DO,
  R_EDNS_VERSION, R_NAME_LEN, R_QOK, R_ERROR, R_KEY_LEN,
} from "./layout";
import {
  E_HEADER, E_TRUNC, E_QDCOUNT, E_OPT_SECTION, E_OPT_DUP, E_OPT_NAME, E_TRAILING, E_NOT_QUERY,
  E_OPCODE, E_BADVERS,
} from "./errors";

export const TYPE_OPT: i32 = 41;
export const KEY_NAME_OFF: usize = 5; // key = flags(1) qtype(2) qclass(2) name

// The resource record at `off` in msg[0, len): the offset of its rdata (past owner, type, class, TTL
// and rdlength), checked to end inside the message, or a negative code. recordType and recordEnd read
// the rest from there. Inlined, and the root owner (every OPT record's) read without walking: an EDNS
// query's parse then makes no call.
@inline export function recordData(msg: usize, len: i32, off: i32): i32 {
  const p = off < len && u8at(msg + <usize>off) == 0 ? off + 1 : walkName(msg, len, off, 0);
  if (p < 0) return p;
  if (p + 10 > len) return E_TRUNC;
  const data = p + 10;
  if (data + be16(msg + <usize>p + 8) > len) return E_TRUNC;
  return data;
}
@inline export function recordType(msg: usize, data: i32): i32 { return be16(msg + <usize>data - 10); }
@inline export function recordEnd(msg: usize, data: i32): i32 { return data + be16(msg + <usize>data - 2); }

// Parses msg[0, len) as a query. Returns 0 or a negative E_* code; R_QOK / R_EDNS tell an error
// builder how much of the query may be echoed.
export function parseQuery(msg: usize, len: i32): i32 {
  setRes(R_QOK, 0);
  setRes(R_QTYPE, 0);
  setRes(R_EDNS, 0);
  setRes(R_DO, 0);
  setRes(R_UDP, 512);
  setRes(R_EDNS_VERSION, 0);
  setRes(R_ERROR, 0);
  if (len < 12) return fail(E_HEADER);
  setRes(R_ID, be16(msg));
  const flags = be16(msg + 2);
  setRes(R_FLAGS, flags);
  if (flags & 0x8000) return fail(E_NOT_QUERY);
  const qd = be16(msg + 4);
  const an = be16(msg + 6);
  const ns = be16(msg + 8);
  const ar = be16(msg + 10);
  let opcodeErr = 0;
  if (((flags >> 11) & 0xf) != 0) opcodeErr = E_OPCODE;
  if (qd != 1) {
    // still look for an OPT past the questions, so the FORMERR carries one (RFC 6891 6.1.1)
    let off = 12;
    for (let i = 0; i < qd && off >= 0; i++) {
      off = walkName(msg, len, off, 0);
      if (off >= 0) off = off + 4 <= len ? off + 4 : E_TRUNC;
    }
    if (off >= 0) parseRecords(msg, len, off, an, ns, ar);
    return fail(opcodeErr != 0 ? opcodeErr : E_QDCOUNT);
  }

  const qnameEnd = walkName(msg, len, 12, KEY + KEY_NAME_OFF);
  if (qnameEnd < 0) return fail(opcodeErr != 0 ? opcodeErr : qnameEnd);
  if (qnameEnd + 4 > len) return fail(opcodeErr != 0 ? opcodeErr : E_TRUNC);
  const qtype = be16(msg + <usize>qnameEnd);
  const qclass = be16(msg + <usize>qnameEnd + 2);
  setRes(R_QNAME_END, qnameEnd);
  setRes(R_QEND, qnameEnd + 4);
  setRes(R_QTYPE, qtype);
  setRes(R_QCLASS, qclass);
  const nameLen = qnameEnd - 12; // a question name holds no pointer (it would point into the header)
  setRes(R_NAME_LEN, nameLen);
  setRes(R_KEY_LEN, <i32>KEY_NAME_OFF + nameLen);
  store<u8>(KEY + 1, <u8>(qtype >> 8));
  store<u8>(KEY + 2, <u8>qtype);
  store<u8>(KEY + 3, <u8>(qclass >> 8));
  store<u8>(KEY + 4, <u8>qclass);
  // Only a question sent as an uncompressed name may be echoed (a pointer in it is already an error).
  setRes(R_QOK, 1);
  // The records are read even for an unknown opcode: its NOTIMP must carry an OPT when the query had
  // a valid one (RFC 6891 7). The opcode error still wins over anything found there.
  const e = parseRecords(msg, len, qnameEnd + 4, an, ns, ar);
  return fail(opcodeErr != 0 ? opcodeErr : e);
}

// The answer, authority and additional records of a query: only the OPT record is looked into.
function parseRecords(msg: usize, len: i32, start: i32, an: i32, ns: i32, ar: i32): i32 {
  let off = start;
  const total = an + ns + ar;
  let sawOpt = false;
  let badVersion = false;
  for (let i = 0; i < total; i++) {
    const data = recordData(msg, len, off);
    if (data < 0) return data;
    if (recordType(msg, data) == TYPE_OPT) {
      if (i < an + ns) return E_OPT_SECTION;
      if (sawOpt) { setRes(R_EDNS, 0); return E_OPT_DUP; }
      if (u8at(msg + <usize>off) != 0) return E_OPT_NAME;
      sawOpt = true;
      const fixed = msg + <usize>off + 3; // class, ttl
      let udp = be16(fixed);
      if (udp < 512) udp = 512;
      const ttl = be32(fixed + 2);
      const version = <i32>((ttl >> 16) & 0xff);
      setRes(R_EDNS, 1);
      setRes(R_UDP, udp);
      setRes(R_DO, (ttl & 0x8000) != 0 ? 1 : 0);
      setRes(R_EDNS_VERSION, version);
      if (version != 0) badVersion = true;
    }
    off = recordEnd(msg, data);
  }
  if (off != len) return E_TRAILING;
  if (badVersion) return E_BADVERS;
  return 0;
}

@inline function fail(code: i32): i32 {
  setRes(R_ERROR, code);
  return code;
}
