// "localdns kubernetes manifest ..." flags. No runtime access here.
import { DEFAULT_IMAGE, DEFAULT_NAMESPACE, MODES, type KubernetesMode } from "./options";

export const KUBERNETES_USAGE = `Usage: localdns kubernetes manifest [--mode linklocal|intercept] [--image REF]
                                    [--config FILE] [--namespace NS] [--pod-monitor] [--no-secret]

Prints the YAML to apply (kubectl apply -f -): ServiceAccount, ConfigMap with the config, the
kube-dns-upstream Service (intercept), the DaemonSet and, with --pod-monitor, a PodMonitor; and
when the config reads admin.token from "env:LOCALDNS_ADMIN_TOKEN", the admin token Secret (a new
random token each time).
  --mode linklocal   listen on 169.254.10.10/.11; point the kubelet's clusterDNS at 169.254.10.11
  --mode intercept   (default) also answer on the cluster DNS Service address on each node, so pods
                     need no change; removed again when localdns stops
  --image REF        the image (default ${DEFAULT_IMAGE}, what "npm run image" builds)
  --config FILE      embed this config instead of the mode's default (checked first)
  --namespace NS     where localdns runs (default ${DEFAULT_NAMESPACE})
  --pod-monitor      add a Prometheus Operator PodMonitor
  --no-secret        leave the Secret localdns-admin (key "token") out: you create and keep it
`;

export interface KubernetesArgs {
  kind: "kubernetes";
  action: "manifest";
  mode: KubernetesMode;
  image: string;
  namespace: string;
  config: string | null;
  podMonitor: boolean;
  secret: boolean;
}

type Result = KubernetesArgs | { kind: "help"; text: string } | { kind: "error"; message: string; usage: string };

export function parseKubernetesArgs(rest: string[]): Result {
  const usage = KUBERNETES_USAGE;
  if (rest.includes("--help") || rest.includes("-h")) return { kind: "help", text: usage };
  const [action, ...flags] = rest;
  if (action !== "manifest") return { kind: "error", message: `kubernetes needs manifest, got ${action ?? "nothing"}`, usage };
  const out: KubernetesArgs = { kind: "kubernetes", action, mode: "intercept", image: DEFAULT_IMAGE, namespace: DEFAULT_NAMESPACE, config: null, podMonitor: false, secret: true };
  for (let i = 0; i < flags.length; i++) {
    const a = flags[i];
    if (a === "--pod-monitor") { out.podMonitor = true; continue; }
    if (a === "--no-secret") { out.secret = false; continue; }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (!["--mode", "--image", "--config", "-c", "--namespace", "-n"].includes(name)) return { kind: "error", message: `unknown flag for kubernetes manifest: ${a}`, usage };
    const value = eq > 0 ? a.slice(eq + 1) : flags[++i];
    if (value === undefined || value === "" || (eq < 0 && value.startsWith("-"))) return { kind: "error", message: `${name} needs a value`, usage };
    if (name === "--mode") {
      if (!MODES.includes(value as KubernetesMode)) return { kind: "error", message: `--mode must be ${MODES.join(" or ")}, got ${value}`, usage };
      out.mode = value as KubernetesMode;
    } else if (name === "--image") out.image = value;
    else if (name === "--namespace" || name === "-n") out.namespace = value;
    else out.config = value;
  }
  return out;
}
