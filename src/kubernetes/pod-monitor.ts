// For clusters running the Prometheus Operator (which ignores the prometheus.io annotations). The
// pod declares no ports (hostNetwork would make them host ports, which keep a surge pod off its node),
// so the endpoint names none: Prometheus then finds one port-free target per container, and the
// relabelings keep the server's and give it the pod's (the node's) address with the metrics port.
import type { YamlValue } from "./yaml";
import { LABELS, METRICS_PORT, NAME, SELECTOR, type ManifestOptions } from "./options";

export const SERVER_CONTAINER = "localdns";

export function podMonitor(o: ManifestOptions): YamlValue {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name: NAME, namespace: o.namespace, labels: LABELS },
    spec: {
      selector: { matchLabels: SELECTOR },
      podMetricsEndpoints: [{
        path: "/metrics",
        interval: "30s",
        relabelings: [
          { action: "keep", sourceLabels: ["__meta_kubernetes_pod_container_name"], regex: SERVER_CONTAINER },
          { action: "replace", sourceLabels: ["__meta_kubernetes_pod_ip"], regex: "([0-9.]+)", targetLabel: "__address__", replacement: `$1:${METRICS_PORT}` },
          { action: "replace", sourceLabels: ["__meta_kubernetes_pod_ip"], regex: "(.*:.*)", targetLabel: "__address__", replacement: `[$1]:${METRICS_PORT}` },
          { action: "replace", targetLabel: "endpoint", replacement: "metrics" },
        ],
      }],
    },
  };
}
