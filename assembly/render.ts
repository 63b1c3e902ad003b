// Turns a stored response (OPT stripped, per-record TTL and end offsets alongside) into the answer for
// one client: its ID, RD and CD bits, its letter case in the question (0x20), TTLs aged, our OPT when it
// asked with EDNS, and whole records dropped to fit its size limit (TC when answers had to go).
import { be16, be32, put16, put32 } from "./bytes";
import { OUT, res, R_ID, R_FLAGS, R_QNAME_END, R_EDNS, R_DO } from "./layout";
import { appendOpt, OPT_LEN } from "./respond";

// meta: one u32 per record, (ttl offset) | (end offset << 16). fixedTtl < 0: age each TTL instead.
export function render(q: usize, m: usize, nrr: i32, meta: usize, qend: i32, age: u32, fixedTtl: i32, limit: i32): i32 {
  const edns = res(R_EDNS);
  const room = limit - (edns != 0 ? OPT_LEN : 0);
  let k = nrr;
  let end = k > 0 ? <i32>(load<u32>(meta + (<usize>(k - 1) << 2)) >> 16) : qend;
  if (end > room) {
    k = 0;
    end = qend;
    while (k < nrr) {
      const e = <i32>(load<u32>(meta + (<usize>k << 2)) >> 16);
      if (e > room) break;
      end = e;
      k++;
    }
  }
  memory.copy(OUT, m, <usize>end);
  const an = be16(m + 6);
  const ns = be16(m + 8);
  const ar = be16(m + 10);
  setCounts(k, an, ns, ar);
  const qf = res(R_FLAGS);
  const doBit = res(R_DO);
  put16(OUT, res(R_ID));
  let f2 = (qf >> 8) & 0x01; // RD from the query; never AA: this answer comes from a cache
  if (k < an + ns) f2 |= 0x02; // TC: part of the answer or authority did not fit
  f2 |= load<u8>(m + 2) & 0x02; // or the upstream truncated it (such replies are passed on, never cached)
  store<u8>(OUT + 2, <u8>(0x80 | f2));
  let f3 = 0x80 | (qf & 0x10) | (load<u8>(m + 3) & 0x0f); // RA, CD from the query, rcode
  if ((doBit != 0 || (qf & 0x20) != 0) && (load<u8>(m + 3) & 0x20) != 0) f3 |= 0x20; // AD (RFC 6840 5.8)
  store<u8>(OUT + 3, <u8>f3);
  // the client's own spelling of the name
  memory.copy(OUT + 12, q + 12, <usize>(res(R_QNAME_END) - 12));
  for (let i = 0; i < k; i++) {
    const p = OUT + <usize>(load<u32>(meta + (<usize>i << 2)) & 0xffff);
    if (fixedTtl >= 0) {
      const t = be32(p);
      put32(p, t < <u32>fixedTtl ? t : <u32>fixedTtl);
    } else {
      const t = be32(p);
      put32(p, t > age ? t - age : 0);
    }
  }
  if (edns != 0) {
    put16(OUT + 10, be16(OUT + 10) + 1);
    return appendOpt(OUT, end, 0, doBit);
  }
  return end;
}

function setCounts(k: i32, an: i32, ns: i32, ar: i32): void {
  let left = k;
  const a = left < an ? left : an;
  left -= a;
  const n = left < ns ? left : ns;
  left -= n;
  const r = left < ar ? left : ar;
  put16(OUT + 6, a);
  put16(OUT + 8, n);
  put16(OUT + 10, r);
}

