// For clusters running the Prometheus Operator (which ignores the prometheus.io annotations).
import type { YamlValue } from "./yaml";
import { LABELS, NAME, SELECTOR, type ManifestOptions } from "./options";

export function podMonitor(o: ManifestOptions): YamlValue {
  return {
    apiVersion: "monitoring.coreos.com/v1",
    kind: "PodMonitor",
    metadata: { name: NAME, namespace: o.namespace, labels: LABELS },
    spec: {
      selector: { matchLabels: SELECTOR },
      podMetricsEndpoints: [{ port: "metrics", path: "/metrics", interval: "30s" }],
    },
  };
}
