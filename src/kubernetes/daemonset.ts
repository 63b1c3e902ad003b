// One localdns pod per node, on the node's network, first to be scheduled and last to be evicted.
import type { YamlValue } from "./yaml";
import { serverContainer, setUpContainer } from "./containers";
import { CACHE_DIR, LABELS, METRICS_PORT, NAME, SELECTOR, STATE_DIR, XTABLES_LOCK, type ManifestOptions } from "./options";

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
      // One node at a time, old pod first. maxSurge 1 would need the new pod to take the listeners
      // over while the old one holds them (SO_REUSEPORT), which localdns cannot do yet: the surge pod
      // would wait forever and the rollout with it.
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } },
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
