// IP literal → raw bytes (for the health answer and the hosts overlay).
import { isIP } from "node:net";

/** 4 octets for IPv4 and for an IPv4-mapped IPv6 address (a dual-stack socket's view of an IPv4
 * client), 16 for other IPv6. */
export function ipBytes(addr: string): Uint8Array {
  const v4 = addr.startsWith("::ffff:") && isIP(addr.slice(7)) === 4 ? addr.slice(7) : addr;
  if (isIP(v4) === 4) return Uint8Array.from(v4.split(".").map(Number));
  if (isIP(addr) !== 6) return new Uint8Array(4);
  return ip6Bytes(addr);
}

/** The 16 octets of an IPv6 literal, an IPv4-mapped or otherwise embedded dotted quad included. */
export function ip6Bytes(addr: string): Uint8Array {
  const out = new Uint8Array(16);
  if (isIP(addr) !== 6) return out;
  const [headText, tailText = ""] = addr.includes("::") ? addr.split("::") : [addr, ""];
  const parse = (t: string) => (t === "" ? [] : t.split(":").flatMap((h) => {
    if (!h.includes(".")) return [parseInt(h, 16)];
    const [a, b, c, d] = h.split(".").map(Number);
    return [(a << 8) | b, (c << 8) | d];
  }));
  const head = parse(headText);
  const tail = parse(tailText);
  const words = [...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail];
  words.forEach((w, i) => { out[2 * i] = w >> 8; out[2 * i + 1] = w & 0xff; });
  return out;
}
