// Responses built from the parsed query alone: errors, NXDOMAIN for blocked names, special-use names,
// the health answer, and the query we send upstream.
import { put16, put32 } from "./bytes";
import {
  OUT, KEY, res, R_ID, R_FLAGS, R_QEND, R_QOK, R_EDNS, R_DO, R_QNAME_END, R_NAME_LEN, R_QTYPE, R_UDP,
} from "./layout";
import { TYPE_OPT, KEY_NAME_OFF } from "./query";
import { LOCALHOST, SPECIAL_LOCALHOST, SPECIAL_PTR4, SPECIAL_PTR6, SPECIAL_NXDOMAIN, specialApexLen } from "./special";

export const OUR_UDP_SIZE: i32 = 1232; // the DNS-flag-day size we advertise and use upstream
export const OPT_LEN: i32 = 11;

export const RCODE_NOERROR: i32 = 0;
export const RCODE_FORMERR: i32 = 1;
export const RCODE_SERVFAIL: i32 = 2;
export const RCODE_NXDOMAIN: i32 = 3;
export const RCODE_NOTIMP: i32 = 4;
export const RCODE_REFUSED: i32 = 5;
export const RCODE_BADVERS: i32 = 16;

// Writes the response header: ID, QR, opcode, RD and CD echoed from the query, RA set.
function header(dst: usize, rcode: i32, qd: i32, an: i32, ns: i32, ar: i32): void {
  const qf = res(R_FLAGS);
  put16(dst, res(R_ID));
  const opcode = (qf >> 11) & 0xf;
  store<u8>(dst + 2, <u8>(0x80 | (opcode << 3) | ((qf >> 8) & 0x01)));
  store<u8>(dst + 3, <u8>(0x80 | (qf & 0x10) | (rcode & 0xf)));
  put16(dst + 4, qd);
  put16(dst + 6, an);
  put16(dst + 8, ns);
  put16(dst + 10, ar);
}

// Appends our OPT record at dst+pos; returns the new length. Inlined: a call of its own cost an EDNS
// hit ~2 ns.
@inline export function appendOpt(dst: usize, pos: i32, rcode: i32, doBit: i32): i32 {
  const p = dst + <usize>pos;
  // octets 0-7 as one little-endian word: root name, TYPE (2), CLASS = our UDP size (2), extended
  // rcode (its upper 8 bits), version 0, the flags' first octet (DO); then the flags' second octet
  // and RDLENGTH 0
  store<u64>(p, (<u64>TYPE_OPT << 16) | (<u64>(OUR_UDP_SIZE >> 8) << 24) | (<u64>(OUR_UDP_SIZE & 0xff) << 32)
    | (<u64>((rcode >> 4) & 0xff) << 40) | (doBit != 0 ? <u64>0x80 << 56 : 0));
  store<u16>(p + 8, 0);
  store<u8>(p + 10, 0);
  return pos + OPT_LEN;
}

// Copies header-less question of the query at q into OUT; returns the offset after it (12 if none).
function question(q: usize): i32 {
  if (res(R_QOK) == 0) return 12;
  const qend = res(R_QEND);
  memory.copy(OUT + 12, q + 12, <usize>(qend - 12));
  return qend;
}

// An answer carrying only an rcode (FORMERR, SERVFAIL, NOTIMP, REFUSED, BADVERS, or an upstream's
// error), echoing the question when it parsed and carrying an OPT when the query had one.
export function buildError(q: usize, rcode: i32): i32 {
  const edns = res(R_EDNS);
  let pos = question(q);
  header(OUT, rcode, res(R_QOK), 0, 0, edns);
  if (edns != 0) pos = appendOpt(OUT, pos, rcode, res(R_DO));
  return pos;
}

// Writes an uncompressed wire name; returns the new offset.
function putName(dst: usize, pos: i32, name: usize, n: i32): i32 {
  memory.copy(dst + <usize>pos, name, <usize>n);
  return pos + n;
}

// RR header at dst+pos: NAME as a pointer, TYPE, CLASS IN, TTL, RDLENGTH. Returns rdata offset.
function rrHeader(dst: usize, pos: i32, ptr: i32, type: i32, ttl: u32, rdlen: i32): i32 {
  const p = dst + <usize>pos;
  put16(p, 0xc000 | ptr);
  put16(p + 2, type);
  put16(p + 4, 1);
  put32(p + 6, ttl);
  put16(p + 10, rdlen);
  return pos + 12;
}

const LOCALDNS_NAME: StaticArray<u8> = [8, 108, 111, 99, 97, 108, 100, 110, 115, 0]; // "localdns."
const HOSTMASTER: StaticArray<u8> = [10, 104, 111, 115, 116, 109, 97, 115, 116, 101, 114]; // "hostmaster", then a pointer

// A denial we are the source of: NXDOMAIN (a blocked name) or NODATA (rcode 0). With soaLen > 0, the
// authority section carries a SOA owned by the denying suffix (the last soaLen octets of the question
// name) so clients cache the denial.
export function buildDenial(q: usize, rcode: i32, soaLen: i32, ttl: u32): i32 {
  const edns = res(R_EDNS);
  let pos = question(q);
  const withSoa = soaLen > 0 ? 1 : 0;
  header(OUT, rcode, 1, 0, withSoa, edns);
  store<u8>(OUT + 2, load<u8>(OUT + 2) | 0x04); // AA: we are the source of this denial
  if (withSoa) {
    const ownerPtr = 12 + res(R_NAME_LEN) - soaLen;
    const rdlenAt = pos + 10;
    pos = rrHeader(OUT, pos, ownerPtr, 6, ttl, 0);
    const rdStart = pos;
    const mnameAt = pos;
    pos = putName(OUT, pos, changetype<usize>(LOCALDNS_NAME), 10);
    memory.copy(OUT + <usize>pos, changetype<usize>(HOSTMASTER), 11);
    pos += 11;
    put16(OUT + <usize>pos, 0xc000 | mnameAt); // "hostmaster.localdns."
    pos += 2;
    const p = OUT + <usize>pos;
    put32(p, 1); // serial
    put32(p + 4, 3600); // refresh
    put32(p + 8, 600); // retry
    put32(p + 12, 86400); // expire
    put32(p + 16, ttl); // minimum
    pos += 20;
    put16(OUT + <usize>rdlenAt, pos - rdStart);
  }
  if (edns != 0) pos = appendOpt(OUT, pos, 0, res(R_DO));
  return pos;
}

// One record we are the source of, owned by the question name: AA set.
function buildLocalRecord(q: usize, type: i32, rdata: usize, rdlen: i32, ttl: u32): i32 {
  const edns = res(R_EDNS);
  let pos = question(q);
  header(OUT, 0, 1, 1, 0, edns);
  store<u8>(OUT + 2, load<u8>(OUT + 2) | 0x04);
  pos = rrHeader(OUT, pos, 12, type, ttl, rdlen);
  memory.copy(OUT + <usize>pos, rdata, <usize>rdlen);
  pos += rdlen;
  if (edns != 0) pos = appendOpt(OUT, pos, 0, res(R_DO));
  return pos;
}

const LOOPBACK4: StaticArray<u8> = [127, 0, 0, 1];
const LOOPBACK6: StaticArray<u8> = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
const SPECIAL_TTL: u32 = 3600;

// The answer to a special-use name (see special.ts for the kinds). ANY gets the one record there is.
export function buildSpecialAnswer(q: usize, kind: i32): i32 {
  const qtype = res(R_QTYPE);
  const apex = specialApexLen(kind);
  if (kind == SPECIAL_NXDOMAIN) return buildDenial(q, RCODE_NXDOMAIN, apex, SPECIAL_TTL);
  if (kind == SPECIAL_LOCALHOST) {
    if (qtype == 1 || qtype == 255) return buildLocalRecord(q, 1, changetype<usize>(LOOPBACK4), 4, SPECIAL_TTL);
    if (qtype == 28) return buildLocalRecord(q, 28, changetype<usize>(LOOPBACK6), 16, SPECIAL_TTL);
  } else if ((kind == SPECIAL_PTR4 || kind == SPECIAL_PTR6) && (qtype == 12 || qtype == 255)) {
    return buildLocalRecord(q, 12, changetype<usize>(LOCALHOST), LOCALHOST.length, SPECIAL_TTL);
  }
  return buildDenial(q, 0, apex, SPECIAL_TTL);
}

// Whoami-style health answer: the client's address (4 or 16 bytes at addr) as A or AAAA. It goes in
// the answer section when the question asks for that type, else in the additional section.
export function buildAddressAnswer(q: usize, addr: usize, addrLen: i32): i32 {
  const edns = res(R_EDNS);
  const type = addrLen == 16 ? 28 : 1;
  const inAnswer = res(R_QTYPE) == type ? 1 : 0;
  let pos = question(q);
  header(OUT, 0, 1, inAnswer, 0, (1 - inAnswer) + edns);
  store<u8>(OUT + 2, load<u8>(OUT + 2) | 0x04);
  pos = rrHeader(OUT, pos, 12, type, 0, addrLen);
  memory.copy(OUT + <usize>pos, addr, <usize>addrLen);
  pos += addrLen;
  if (edns != 0) pos = appendOpt(OUT, pos, 0, res(R_DO));
  return pos;
}

// The query we send upstream for the parsed query at q: new ID, RD set, CD copied, the question
// (letter case optionally randomised for 0x20 hardening, one bit per octet from `caseBits`), and an
// OPT with our size and the client's DO bit so the cache key (which includes DO) stays honest.
export function buildUpstreamQuery(q: usize, id: i32, caseSeed: u32): i32 {
  put16(OUT, id);
  const qf = res(R_FLAGS);
  store<u8>(OUT + 2, 0x01);
  store<u8>(OUT + 3, <u8>(qf & 0x10));
  put16(OUT + 4, 1);
  put16(OUT + 6, 0);
  put16(OUT + 8, 0);
  put16(OUT + 10, 1);
  // the lowercased name from the key, then the type and class from the query
  const n = res(R_NAME_LEN);
  memory.copy(OUT + 12, KEY + KEY_NAME_OFF, <usize>n);
  if (caseSeed != 0) randomiseCase(OUT + 12, n, caseSeed);
  const qnameEnd = res(R_QNAME_END);
  memory.copy(OUT + 12 + <usize>n, q + <usize>qnameEnd, 4);
  const pos = 12 + n + 4;
  return appendOpt(OUT, pos, 0, res(R_DO));
}

function randomiseCase(name: usize, n: i32, seed: u32): void {
  let s = seed;
  for (let i: usize = 0; i < <usize>n; i++) {
    const c = <i32>load<u8>(name + i);
    if (<u32>(c - 97) < 26) {
      s ^= s << 13; s ^= s >> 17; s ^= s << 5; // xorshift32
      if (s & 1) store<u8>(name + i, <u8>(c & ~0x20));
    }
  }
}

// The parsed query at q cut down to what its answer needs: header (ID, flags), the question in the
// client's spelling, and an OPT with its size and DO bit. A client waiting on an upstream keeps this
// (at most 12 + 255 + 4 + 11 octets), never the query as sent, which may be padded to 64 KB.
// Written at dst (not OUT: an answer waiting there, a stale one, must survive it).
export function buildCompactQuery(q: usize, dst: usize): i32 {
  const edns = res(R_EDNS);
  put16(dst, res(R_ID));
  put16(dst + 2, res(R_FLAGS));
  put16(dst + 4, 1);
  put16(dst + 6, 0);
  put16(dst + 8, 0);
  put16(dst + 10, edns);
  const qend = res(R_QEND);
  memory.copy(dst + 12, q + 12, <usize>(qend - 12));
  if (edns == 0) return qend;
  const pos = appendOpt(dst, qend, 0, res(R_DO));
  put16(dst + <usize>qend + 3, res(R_UDP));
  return pos;
}
