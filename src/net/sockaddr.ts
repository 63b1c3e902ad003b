// sockaddr_in / sockaddr_in6 bytes for an endpoint, and back. Source addresses on the data path stay
// in this binary form; these functions are for set-up, errors and the miss path's log lines.
import { isIP } from "node:net";
import { ip6Bytes } from "../addr";
import { AF_INET, AF_INET6 } from "./constants";

export interface Endpoint { readonly host: string; readonly port: number }

/** 16 bytes for an IPv4 literal, 28 for IPv6; throws on anything else (a name is not an address). */
export function encodeSockaddr(host: string, port: number): Uint8Array {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`port ${port} is not 0..65535`);
  const family = isIP(host);
  if (family === 4) {
    // family u16 (host order) | port u16 (network order) | address | 8 zero bytes
    const sa = new Uint8Array(16);
    const view = new DataView(sa.buffer);
    view.setUint16(0, AF_INET, true);
    view.setUint16(2, port, false);
    sa.set(host.split(".").map(Number), 4);
    return sa;
  }
  if (family === 6) {
    // family | port | flowinfo u32 | address[16] | scope_id u32
    const sa = new Uint8Array(28);
    const view = new DataView(sa.buffer);
    view.setUint16(0, AF_INET6, true);
    view.setUint16(2, port, false);
    sa.set(ip6Bytes(host), 8);
    return sa;
  }
  throw new Error(`"${host}" is not an IPv4 or IPv6 address`);
}

export interface DecodedSockaddr { readonly family: 4 | 6; readonly host: string; readonly port: number }

/** The endpoint in a sockaddr the kernel wrote, or null for a family other than IPv4/IPv6. */
export function decodeSockaddr(sa: Uint8Array): DecodedSockaddr | null {
  if (sa.length < 2) return null;
  const view = new DataView(sa.buffer, sa.byteOffset, sa.byteLength);
  const family = view.getUint16(0, true);
  if (family === AF_INET && sa.length >= 16) {
    return { family: 4, host: `${sa[4]}.${sa[5]}.${sa[6]}.${sa[7]}`, port: view.getUint16(2, false) };
  }
  if (family === AF_INET6 && sa.length >= 24) {
    const words = Array.from({ length: 8 }, (_, i) => view.getUint16(8 + 2 * i, false).toString(16));
    return { family: 6, host: compressIp6(words), port: view.getUint16(2, false) };
  }
  return null;
}

/** RFC 5952 form: the longest run (2 or more) of zero words becomes "::". */
function compressIp6(words: string[]): string {
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (words[i] !== "0") { i++; continue; }
    let j = i;
    while (j < 8 && words[j] === "0") j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return words.join(":");
  return `${words.slice(0, best).join(":")}::${words.slice(best + bestLen).join(":")}`;
}

/** "1.2.3.4:53" / "[::1]:53" for messages. */
export function formatSockaddr(sa: Uint8Array): string {
  const d = decodeSockaddr(sa);
  if (!d) return `(address family ${sa.length >= 2 ? sa[0] | (sa[1] << 8) : "?"})`;
  return d.family === 6 ? `[${d.host}]:${d.port}` : `${d.host}:${d.port}`;
}

/** Whether a bound socket's address is the endpoint (same family, address and port). */
export function sockaddrMatches(sa: Uint8Array, endpoint: Endpoint): boolean {
  const d = decodeSockaddr(sa);
  if (!d || d.port !== endpoint.port) return false;
  let want: Uint8Array;
  try { want = encodeSockaddr(endpoint.host, endpoint.port); } catch { return false; }
  if (want.length !== (d.family === 4 ? 16 : 28)) return false;
  const at = d.family === 4 ? 4 : 8, len = d.family === 4 ? 4 : 16;
  for (let i = 0; i < len; i++) if (sa[at + i] !== want[at + i]) return false;
  return true;
}
