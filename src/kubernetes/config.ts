// The config each mode runs with by default (the ConfigMap's content). Cluster addresses are
// "service:NAME" references, so the same file works on every cluster: the kubelet tells the pod where
// kube-dns (and, for intercept, kube-dns-upstream) are.
import { ADMIN_PORT, CACHE_DIR, METRICS_PORT, type KubernetesMode } from "./options";

export const CLUSTER_DNS_SERVICE = "kube-dns";
export const UPSTREAM_SERVICE = "kube-dns-upstream";

export function defaultConfig(mode: KubernetesMode): Record<string, unknown> {
  const intercept = mode === "intercept";
  return {
    mode: "Required",
    listeners: {
      vnetDNS: ["169.254.10.10:53"],
      // intercept: also the cluster DNS Service address, put on the node so pods' queries stop here
      kubeDNS: intercept ? ["169.254.10.11:53", `service:${CLUSTER_DNS_SERVICE}`] : ["169.254.10.11:53"],
    },
    upstreams: {
      // intercept: the Service address is ours now, so CoreDNS is reached through a second Service
      ClusterCoreDNS: [`service:${intercept ? UPSTREAM_SERVICE : CLUSTER_DNS_SERVICE}`],
      // with dnsPolicy Default the kubelet gives the pod the node's resolv.conf
      VnetDNS: "/etc/resolv.conf",
    },
    // metrics on every node address, for Prometheus: that listener serves /metrics and /health only,
    // so it needs no token; the full admin API stays on the pod's loopback
    admin: { listen: `127.0.0.1:${ADMIN_PORT}`, metricsListen: `0.0.0.0:${METRICS_PORT}` },
    cache: { snapshotPath: `${CACHE_DIR}/cache.snapshot` },
  };
}

export function configText(json: unknown): string {
  return JSON.stringify(json, null, 2) + "\n";
}
