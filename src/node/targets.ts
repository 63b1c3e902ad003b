// Which addresses the node set-up manages, derived from the listeners in the config.
import type { EffectiveConfig } from "../config/effective";
import type { Endpoint } from "../config/endpoint";

export interface NodeAddress { host: string; family: 4 | 6 }

const isUnspecified = (e: Endpoint) => e.host === "0.0.0.0" || e.host === "::";
const isLoopback = (e: Endpoint) => (e.family === 4 ? e.host.startsWith("127.") : e.host === "::1");

export function allListeners(config: EffectiveConfig): Endpoint[] {
  return [...config.listeners.vnetDNS, ...config.listeners.kubeDNS];
}

/** Addresses to put on the interface: every listener host except wildcard and loopback ones, which
 * are already local. */
export function listenerAddresses(config: EffectiveConfig): NodeAddress[] {
  const out: NodeAddress[] = [];
  for (const e of allListeners(config)) {
    if (isUnspecified(e) || isLoopback(e)) continue;
    if (!out.some((a) => a.host === e.host)) out.push({ host: e.host, family: e.family });
  }
  return out;
}

/** Listeners that get NOTRACK rules (a rule for a wildcard address would match nothing useful). */
export function notrackTargets(config: EffectiveConfig): Endpoint[] {
  const out: Endpoint[] = [];
  for (const e of allListeners(config)) {
    if (isUnspecified(e)) continue;
    if (!out.some((o) => o.host === e.host && o.port === e.port)) out.push(e);
  }
  return out;
}

/** Where to send a health query for a listener (a wildcard listener answers on loopback). */
export function probeAddress(e: Endpoint): Endpoint {
  if (e.host === "0.0.0.0") return { ...e, host: "127.0.0.1" };
  if (e.host === "::") return { ...e, host: "::1" };
  return e;
}

export function prefixLength(a: NodeAddress): number { return a.family === 6 ? 128 : 32; }
export function cidr(a: NodeAddress): string { return `${a.host}/${prefixLength(a)}`; }
