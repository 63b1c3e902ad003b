// The admin API's bearer token, for a config that reads it from the Secret (env:LOCALDNS_ADMIN_TOKEN):
// one that puts the admin API on a node address, whose mutating calls (cache flush, reload) then need
// it. The default config has none: its metrics listener serves only /metrics and /health. A new
// random token per rendering; pods read it at start.
import { randomBytes } from "node:crypto";
import type { YamlValue } from "./yaml";
import { ADMIN_SECRET, LABELS, type ManifestOptions } from "./options";

export function adminSecret(o: ManifestOptions): YamlValue {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: ADMIN_SECRET, namespace: o.namespace, labels: LABELS },
    type: "Opaque",
    stringData: { token: randomBytes(24).toString("base64url") },
  };
}
