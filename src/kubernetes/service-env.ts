// "service:NAME" in a listener or upstream list: the address of a Kubernetes Service, read from the
// environment variables the kubelet gives every pod for the Services of its namespace
// (NAME_SERVICE_HOST, NAME_SERVICE_PORT_DNS), so one config works on every cluster whatever its
// Service addresses are. The variables are set only in pods created after the Service.
import { parseEndpoint, type Endpoint } from "../config/endpoint";

export const SERVICE_PREFIX = "service:";

export type EnvReader = (name: string) => string | undefined;

/** The kubelet's variable prefix for a Service name: "kube-dns-upstream" -> "KUBE_DNS_UPSTREAM". */
export function serviceEnvPrefix(name: string): string {
  return name.toUpperCase().replace(/-/g, "_");
}

// a Service name is a DNS-1035 label
const SERVICE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function isServiceRef(text: string): boolean {
  return text.startsWith(SERVICE_PREFIX);
}

/** Resolves "service:NAME" to an endpoint, or returns an error message. The port is the Service's
 * port named "dns" when it has one, else 53. */
export function resolveServiceRef(text: string, env: EnvReader): Endpoint | string {
  const name = text.slice(SERVICE_PREFIX.length);
  if (!SERVICE_NAME.test(name)) return `${JSON.stringify(text)}: "${name}" is not a Service name (lowercase letters, digits and "-", at most 63)`;
  const prefix = serviceEnvPrefix(name);
  const host = env(`${prefix}_SERVICE_HOST`)?.trim();
  if (!host) return `${text}: ${prefix}_SERVICE_HOST is not set (the kubelet sets it only in pods of the Service's namespace that were created after the Service)`;
  const portText = env(`${prefix}_SERVICE_PORT_DNS`)?.trim() || "53";
  const e = parseEndpoint(host.includes(":") ? `[${host}]:${portText}` : `${host}:${portText}`, 53);
  if (typeof e === "string") return `${text}: ${prefix}_SERVICE_HOST / ${prefix}_SERVICE_PORT_DNS: ${e}`;
  return e;
}

/** An endpoint from the config: "ip:port" as always, or a Service reference. */
export function parseConfigEndpoint(text: string, defaultPort: number, env: EnvReader): Endpoint | string {
  return isServiceRef(text) ? resolveServiceRef(text, env) : parseEndpoint(text, defaultPort);
}

/** A secret given as "env:NAME" (a variable the pod gets from a Kubernetes Secret) resolved to its
 * value; any other string is the secret itself. At least 16 characters, like a literal one. */
export function resolveSecretRef(value: string | null, env: EnvReader): string | null | { error: string } {
  if (value === null || !value.startsWith("env:")) return value;
  const name = value.slice(4);
  const secret = env(name);
  if (secret === undefined || secret === "") return { error: `${name} is not set (from env:${name})` };
  if (secret.length < 16) return { error: `${name} is shorter than 16 characters` };
  return secret;
}
