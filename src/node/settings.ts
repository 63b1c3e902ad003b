// Knobs of the node set-up that are not part of the DNS config: where its files go and which tools
// it calls. Environment variables, so the unit (or a test) can set them without a new config key.
export interface NodeSettings {
  /** What "up" added and "resolver" wrote, so "down" can undo it even after the config changed. */
  statePath: string;
  /** The networkd drop-in file; null = next to the default-route interface's .network file; "off" = never. */
  dropInPath: string | null | "off";
  networkctl: string;
  /** How long "resolver" waits for every listener to answer the health name. */
  probeTimeoutMs: number;
}

export function nodeSettings(env: Record<string, string | undefined> = process.env): NodeSettings {
  const dropIn = env.LOCALDNS_RESOLVER_DROPIN?.trim();
  const timeout = Number(env.LOCALDNS_PROBE_TIMEOUT_MS);
  return {
    statePath: env.LOCALDNS_NETWORK_STATE || "/run/localdns/network.json",
    dropInPath: !dropIn ? null : ["off", "none", "no", "false"].includes(dropIn.toLowerCase()) ? "off" : dropIn,
    networkctl: env.LOCALDNS_NETWORKCTL || "networkctl",
    probeTimeoutMs: Number.isFinite(timeout) && timeout > 0 ? Math.min(timeout, 120_000) : 10_000,
  };
}
