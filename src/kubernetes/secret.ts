// The admin API's bearer token. The metrics listener serves the admin API on every node address, so
// its mutating calls (cache flush, reload) need the token; scraping /metrics does not. A new random
// token per rendering; pods read it at start.
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
