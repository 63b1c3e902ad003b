// The pod's identity. localdns never calls the Kubernetes API, so its token is not mounted.
import type { YamlValue } from "./yaml";
import { LABELS, NAME, type ManifestOptions } from "./options";

export function serviceAccount(o: ManifestOptions): YamlValue {
  return {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: NAME, namespace: o.namespace, labels: LABELS },
    automountServiceAccountToken: false,
  };
}
