// What a rendering of the Kubernetes manifests depends on: the mode, the image, the namespace and the
// config, plus the names and paths the objects share.
import { VERSION } from "../version";

export type KubernetesMode = "linklocal" | "intercept";
export const MODES: KubernetesMode[] = ["linklocal", "intercept"];

export interface ManifestOptions {
  mode: KubernetesMode;
  image: string;
  namespace: string;
  /** The config file's text, or null for the mode's default config. */
  configText: string | null;
  podMonitor: boolean;
  /** Emit the admin token Secret (with a new random token) when the config reads one; false: the
   * user creates it. */
  secret: boolean;
  /** Set by the rendering: the config reads admin.token from the Secret (env:LOCALDNS_ADMIN_TOKEN). */
  tokenFromSecret?: boolean;
}

/** The name `npm run image` gives the image (what `podman load` shows); push it and pass --image. */
export const DEFAULT_IMAGE = `localhost/localdns:${VERSION.replace(/-dev$/, "")}`;
export const DEFAULT_NAMESPACE = "kube-system";
/** CoreDNS lives here on every distribution; the kubelet sets Service variables per namespace. */
export const CLUSTER_DNS_NAMESPACE = "kube-system";

export const NAME = "localdns";
export const LABELS = { "k8s-app": NAME, "app.kubernetes.io/name": NAME };
export const SELECTOR = { "k8s-app": NAME };
/** NodeLocal DNSCache's pods (its DaemonSet's label, in kube-system). */
export const NODE_LOCAL_DNS_SELECTOR = { "k8s-app": "node-local-dns" };

export const CONFIG_KEY = "localdns.json";
export const CONFIG_DIR = "/etc/localdns";
export const CONFIG_PATH = `${CONFIG_DIR}/${CONFIG_KEY}`;
export const CACHE_DIR = "/var/lib/localdns";
export const STATE_DIR = "/run/localdns";
/** iptables' lock file, shared with kube-proxy on the node. */
export const XTABLES_LOCK = "/run/xtables.lock";

/** The admin token, for a config that exposes the admin API beyond the pod (admin.listen on a node
 * address with admin.allowNonLoopback): its mutating calls then need it. The default config keeps the
 * admin API on loopback and has none. */
export const ADMIN_SECRET = "localdns-admin";
export const TOKEN_ENV = "LOCALDNS_ADMIN_TOKEN";

export const ADMIN_PORT = 8181;
export const METRICS_PORT = 9253;
/** The unprivileged user of the image (the linklocal server runs as it). */
export const NONROOT_UID = 65532;

// a namespace is a DNS-1123 label
export function namespaceProblem(ns: string): string | null {
  return /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(ns) ? null : `--namespace: ${JSON.stringify(ns)} is not a namespace name (lowercase letters, digits and "-", at most 63)`;
}

export function imageProblem(ref: string): string | null {
  return ref !== "" && !/\s/.test(ref) && ref.length <= 1024 ? null : `--image: ${JSON.stringify(ref)} is not an image reference`;
}
