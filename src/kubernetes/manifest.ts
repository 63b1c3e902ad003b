// Everything to apply, in the order it must be created: the Service before the pods that read its
// address from their environment.
import { createHash } from "node:crypto";
import { loadConfigText } from "../config/effective";
import { toYamlDocuments, type YamlValue } from "./yaml";
import { configMap } from "./config-map";
import { configText, defaultConfig } from "./config";
import { daemonSet } from "./daemonset";
import { podMonitor } from "./pod-monitor";
import { adminSecret } from "./secret";
import { serviceAccount } from "./service-account";
import { upstreamService } from "./upstream-service";
import { CLUSTER_DNS_NAMESPACE, TOKEN_ENV, imageProblem, namespaceProblem, type ManifestOptions } from "./options";

export type Rendered = { ok: true; objects: YamlValue[]; yaml: string; config: string } | { ok: false; errors: string[] };

/** Checks a config as the pod will load it, without this machine's files or a cluster: every
 * "service:NAME" gets a documentation address (192.0.2.x), every resolv.conf one nameserver.
 * Returns the problems and the Services the config refers to. */
export function checkPodConfig(text: string): { errors: string[]; services: string[] } {
  const services: string[] = [];
  const env = (name: string) => {
    if (name === TOKEN_ENV) return "a-token-from-the-secret";
    const m = /^(.*)_SERVICE_HOST$/.exec(name);
    if (!m) return undefined;
    if (!services.includes(m[1])) services.push(m[1]);
    return `192.0.2.${1 + services.indexOf(m[1])}`;
  };
  const r = loadConfigText(text, () => "nameserver 192.0.2.53\n", { env });
  return { errors: r.ok ? [] : r.errors, services };
}

function parsed(text: string): any {
  try { return JSON.parse(text) ?? {}; } catch { return {}; }
}

function serviceListeners(json: any): string[] {
  const l = json?.listeners ?? {};
  return [...(l.vnetDNS ?? []), ...(l.kubeDNS ?? [])].filter((x: unknown) => typeof x === "string" && x.startsWith("service:"));
}

export function renderManifest(o: ManifestOptions): Rendered {
  const errors = [namespaceProblem(o.namespace), imageProblem(o.image)].filter((e): e is string => e !== null);
  const text = o.configText === null ? configText(defaultConfig(o.mode)) : o.configText.endsWith("\n") ? o.configText : o.configText + "\n";
  const checked = checkPodConfig(text);
  errors.push(...checked.errors.map((e) => `config: ${e}`));
  if (checked.services.length && o.namespace !== CLUSTER_DNS_NAMESPACE)
    errors.push(`config: "service:" addresses (${checked.services.join(", ")}) are only known in the Service's own namespace (${CLUSTER_DNS_NAMESPACE}); use --namespace ${CLUSTER_DNS_NAMESPACE} or give the addresses as ip:port`);
  const json = parsed(text);
  const intercepted = serviceListeners(json);
  if (o.mode === "linklocal" && intercepted.length)
    errors.push(`config: listeners ${intercepted.join(", ")} take a Service's address over, which must be given back when localdns stops: use --mode intercept`);
  const token = json?.admin?.token;
  if (typeof token === "string" && token.startsWith("env:") && token !== `env:${TOKEN_ENV}`)
    errors.push(`config: admin.token: the pods get the Secret's token as ${TOKEN_ENV}; write "env:${TOKEN_ENV}"`);
  if (errors.length) return { ok: false, errors };

  const hash = createHash("sha256").update(text).digest("hex").slice(0, 16);
  // the Secret and the variable only where the config reads the token from them
  const withToken = { ...o, tokenFromSecret: token === `env:${TOKEN_ENV}` };
  const objects: YamlValue[] = [serviceAccount(o), ...(o.secret && withToken.tokenFromSecret ? [adminSecret(o)] : []), configMap(o, text)];
  if (o.mode === "intercept") objects.push(upstreamService());
  objects.push(daemonSet(withToken, hash));
  if (o.podMonitor) objects.push(podMonitor(o));
  return { ok: true, objects, yaml: toYamlDocuments(objects), config: text };
}
