// "ip:port" / "[v6]:port" / "ip" parsing for listeners and upstreams.
import { isIP } from "node:net";

export interface Endpoint {
  host: string; // IP literal, IPv6 without brackets
  port: number;
  family: 4 | 6;
}

export function formatEndpoint(e: Endpoint): string {
  return e.family === 6 ? `[${e.host}]:${e.port}` : `${e.host}:${e.port}`;
}

/** Parses an endpoint; returns an error message instead of throwing. */
export function parseEndpoint(text: string, defaultPort: number | null): Endpoint | string {
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6) {
    host = v6[1];
    portText = v6[2];
  } else if (isIP(text) === 6) {
    host = text;
  } else {
    const i = text.lastIndexOf(":");
    if (i >= 0) { host = text.slice(0, i); portText = text.slice(i + 1); } else host = text;
  }
  const family = isIP(host);
  if (family === 0) return `expected an IP address with an optional port (e.g. 169.254.10.10:53 or [fd00::10]:53), got ${JSON.stringify(text)}`;
  let port: number;
  if (portText === undefined) {
    if (defaultPort === null) return `expected ip:port, got ${JSON.stringify(text)} (no port)`;
    port = defaultPort;
  } else {
    if (!/^\d{1,5}$/.test(portText)) return `invalid port in ${JSON.stringify(text)}`;
    port = Number(portText);
  }
  if (port < 0 || port > 65535) return `port out of range in ${JSON.stringify(text)}`;
  return { host, port, family: family as 4 | 6 };
}

export const isUnspecified = (e: Endpoint) => e.host === "0.0.0.0" || e.host === "::";
export const isLoopback = (e: Endpoint) => (e.family === 4 ? e.host.startsWith("127.") : e.host === "::1");

/** The listener a query sent to `e` would reach, if any: one with the same address and port (exact),
 * or one on 0.0.0.0 (or [::], which takes IPv4 too) with that port, which always receives a loopback
 * address (other local addresses may land there too, but which those are depends on the machine). */
export function loopsToListener(e: Endpoint, listeners: Endpoint[]): { listener: Endpoint; exact: boolean } | null {
  const same = listeners.find((l) => l.host === e.host && l.port === e.port);
  if (same) return { listener: same, exact: true };
  if (!isLoopback(e)) return null;
  const wild = listeners.find((l) => l.port === e.port && ((l.family === e.family && isUnspecified(l)) || (l.host === "::" && e.family === 4)));
  return wild ? { listener: wild, exact: false } : null;
}
