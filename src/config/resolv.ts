// Reads `nameserver` lines from a resolv.conf, skipping addresses that would loop back to us.
import { isUnspecified, loopsToListener, parseEndpoint, type Endpoint } from "./endpoint";

const RESOLVED_STUBS = new Set(["127.0.0.53", "127.0.0.54"]);

export function parseResolvConf(text: string, skip: Endpoint[]): Endpoint[] {
  const out: Endpoint[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/[#;].*$/, "").trim();
    const m = /^nameserver\s+(\S+)/.exec(line);
    if (!m) continue;
    const addr = m[1].replace(/%.*$/, ""); // drop an IPv6 zone id
    const e = parseEndpoint(addr, 53);
    if (typeof e === "string") continue;
    if (RESOLVED_STUBS.has(e.host)) continue;
    if (isUnspecified(e)) continue; // "this host": the resolver library's local default, never a server
    if (loopsToListener(e, skip)) continue;
    if (!out.some((o) => o.host === e.host && o.port === e.port)) out.push(e);
  }
  return out;
}
