// The running config in the shape of a config file: what GET /config serves. Defaults are filled in
// and the result is a file `localdns validate` accepts as it is; the admin token is replaced by a
// placeholder (it is a secret, and the API never echoes it).
import { formatEndpoint, type Endpoint } from "../config/endpoint";
import { LISTENER_SETS, type EffectiveConfig, type ZoneSettings } from "../config/effective";

/** Stands for a configured token: a valid token by the schema's rules, and plainly not the real one. */
export const REDACTED_TOKEN = "redacted-the-admin-token-is-set";

const text = (e: Endpoint | null) => (e === null ? null : formatEndpoint(e));

function overrides(zones: ZoneSettings[]): Record<string, Omit<ZoneSettings, "zone">> {
  return Object.fromEntries(zones.map(({ zone, ...settings }) => [zone, settings]));
}

export function configFileOf(c: EffectiveConfig): Record<string, unknown> {
  const upstreams = Object.fromEntries((["ClusterCoreDNS", "VnetDNS"] as const).map((d) => {
    const source = c.upstreamSources[d];
    // read from a resolv.conf: name the file, so the servers follow it as they do now
    return [d, source.startsWith("/") ? source : c.upstreams[d].map(formatEndpoint)];
  }));
  const { token, listen, metricsListen, ...admin } = c.admin;
  return {
    mode: c.mode,
    vnetDNSOverrides: overrides(c.zones.vnetDNS),
    kubeDNSOverrides: overrides(c.zones.kubeDNS),
    listeners: Object.fromEntries(LISTENER_SETS.map((s) => [s, c.listeners[s].map(formatEndpoint)])),
    upstreams,
    admin: { listen: text(listen), metricsListen: text(metricsListen), ...admin, ...(token ? { token: REDACTED_TOKEN } : {}) },
    cache: c.cache,
    forward: c.forward,
    server: c.server,
  };
}
