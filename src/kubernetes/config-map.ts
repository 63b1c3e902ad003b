// The JSON config, mounted at /etc/localdns/localdns.json.
import type { YamlValue } from "./yaml";
import { CONFIG_KEY, LABELS, NAME, type ManifestOptions } from "./options";

export function configMap(o: ManifestOptions, text: string): YamlValue {
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: NAME, namespace: o.namespace, labels: LABELS },
    data: { [CONFIG_KEY]: text },
  };
}
