// One localdns pod per node, on the node's network, first to be scheduled and last to be evicted.
import type { YamlValue } from "./yaml";
import { serverContainer, setUpContainer } from "./containers";
import { CACHE_DIR, CLUSTER_DNS_NAMESPACE, LABELS, METRICS_PORT, NAME, NODE_LOCAL_DNS_SELECTOR, SELECTOR, STATE_DIR, XTABLES_LOCK, type ManifestOptions } from "./options";

function volumes(o: ManifestOptions): YamlValue[] {
  return [
    { name: "config", configMap: { name: NAME } },
    // root (intercept) keeps the snapshot on the node, so an upgrade starts warm; the unprivileged
    // linklocal server cannot write there and keeps it in the pod (warm across container restarts)
    o.mode === "intercept"
      ? { name: "cache", hostPath: { path: CACHE_DIR, type: "DirectoryOrCreate" } }
      : { name: "cache", emptyDir: {} },
    { name: "state", hostPath: { path: STATE_DIR, type: "DirectoryOrCreate" } },
    { name: "xtables-lock", hostPath: { path: XTABLES_LOCK, type: "FileOrCreate" } },
  ];
}

export function daemonSet(o: ManifestOptions, configHash: string): YamlValue {
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: NAME, namespace: o.namespace, labels: LABELS },
    spec: {
      selector: { matchLabels: SELECTOR },
      // One node at a time, new pod first: it takes the listeners over from the old one (run
      // --takeover), so the node never goes without node-local DNS; the old pod is deleted once the
      // new one is ready.
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
      template: {
        metadata: {
          labels: LABELS,
          annotations: {
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(METRICS_PORT),
            "prometheus.io/path": "/metrics",
            // a changed config changes the pod template, so applying it rolls the pods
            "localdns/config-hash": configHash,
          },
        },
        spec: {
          serviceAccountName: NAME,
          automountServiceAccountToken: false,
          hostNetwork: true,
          dnsPolicy: "Default", // the node's resolv.conf: localdns must not resolve through itself
          priorityClassName: "system-node-critical",
          tolerations: [{ operator: "Exists" }], // every node, whatever its taints
          nodeSelector: { "kubernetes.io/os": "linux" },
          // never beside NodeLocal DNSCache, which takes the same addresses and rules (declared host
          // ports used to keep us apart; they would keep the surge pod off its node too)
          affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: NODE_LOCAL_DNS_SELECTOR }, namespaces: [CLUSTER_DNS_NAMESPACE], topologyKey: "kubernetes.io/hostname" }] } },
          terminationGracePeriodSeconds: 30,
          securityContext: { seccompProfile: { type: "RuntimeDefault" } },
          initContainers: o.mode === "linklocal" ? [setUpContainer(o)] : undefined,
          containers: [serverContainer(o)],
          volumes: volumes(o),
        },
      },
    },
  };
}
