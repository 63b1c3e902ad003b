// The containers of the DaemonSet's pod, per mode, each with only the capabilities its job needs.
//   linklocal  init "network-up" (root, NET_ADMIN; NET_BIND_SERVICE see below): listener addresses
//              + NOTRACK rules; then the server as the image's unprivileged user with NET_BIND_SERVICE
//              alone. The addresses stay when it stops (pods' resolv.conf points at them; the next
//              pod reuses them).
//   intercept  one container (root, NET_ADMIN + NET_BIND_SERVICE): "run --network" puts the addresses
//              up, serves, adds the NOTRACK rules only once it listens, and removes them (then the
//              addresses) when it stops, so pods fall back to CoreDNS.
// Both serve with --takeover --stay-after-leave: a new pod starts beside the old one on its node
// (maxSurge 1), takes the listeners over without losing a query, and the old one, asked to leave,
// drains and then idles until its pod is deleted (exiting would have the kubelet restart it into a
// fight for the listeners). The node set-up stays with whichever process serves the listeners.
import type { YamlValue } from "./yaml";
import { SERVER_CONTAINER } from "./pod-monitor";
import { ADMIN_PORT, ADMIN_SECRET, CACHE_DIR, CONFIG_DIR, CONFIG_PATH, NONROOT_UID, STATE_DIR, TOKEN_ENV, XTABLES_LOCK, type ManifestOptions } from "./options";

// From BENCHMARKS.md: ~47 MiB idle, 71-81 MiB with 100,000 answers cached, ~90 MiB with the default
// 32 MiB cache full; 128 MiB is the systemd unit's MemoryMax. CPU: ~30 % of a core at 10,000 QPS of
// hits, so 100m covers ~3,000 QPS; no CPU limit, since throttling stalls every query on the node.
export const SERVER_RESOURCES = { requests: { cpu: "100m", memory: "80Mi" }, limits: { memory: "128Mi" } };
const SET_UP_RESOURCES = { requests: { cpu: "10m", memory: "48Mi" }, limits: { memory: "128Mi" } };

// Readiness waits this long after the container starts: until the new process has joined the
// listeners, the probe (the node's loopback, shared by both pods) reaches the old instance, which
// would report the new pod ready. Joining takes well under a second (config, core, bind).
export const READINESS_DELAY_SECONDS = 5;

function probe(path: string, timing: Record<string, number>): YamlValue {
  // the admin API listens on the node's loopback (hostNetwork): the kubelet probes it there
  return { httpGet: { host: "127.0.0.1", port: ADMIN_PORT, path }, ...timing };
}

function rootWith(caps: string[]): YamlValue {
  return {
    runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"], add: caps },
  };
}

const UNPRIVILEGED: YamlValue = {
  runAsUser: NONROOT_UID, runAsGroup: NONROOT_UID, runAsNonRoot: true, readOnlyRootFilesystem: true,
  // the binary carries the file capability cap_net_bind_service; no_new_privs would void it
  allowPrivilegeEscalation: true,
  capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] },
};

// every container loads the config: where the config names the token, each gets it from the Secret
const tokenEnv = (o: ManifestOptions) => (o.tokenFromSecret ? [{ name: TOKEN_ENV, valueFrom: { secretKeyRef: { name: ADMIN_SECRET, key: "token" } } }] : undefined);
const configMount = { name: "config", mountPath: CONFIG_DIR, readOnly: true };
const networkMounts = [{ name: "state", mountPath: STATE_DIR }, { name: "xtables-lock", mountPath: XTABLES_LOCK }];

export function setUpContainer(o: ManifestOptions): YamlValue {
  return {
    name: "network-up",
    image: o.image,
    imagePullPolicy: "IfNotPresent",
    args: ["network", "up", "--config", CONFIG_PATH],
    env: tokenEnv(o),
    resources: SET_UP_RESOURCES,
    // NET_BIND_SERVICE only because the binary carries it as a file capability: the kernel refuses to
    // exec such a binary when the bounding set lacks it (EPERM), even for root
    securityContext: rootWith(["NET_ADMIN", "NET_BIND_SERVICE"]),
    volumeMounts: [configMount, ...networkMounts],
  };
}

export function serverContainer(o: ManifestOptions): YamlValue {
  const intercept = o.mode === "intercept";
  return {
    name: SERVER_CONTAINER,
    image: o.image,
    imagePullPolicy: "IfNotPresent",
    args: ["run", ...(intercept ? ["--network"] : []), "--takeover", "--stay-after-leave", "--config", CONFIG_PATH],
    env: tokenEnv(o),
    // No declared ports: with hostNetwork each would be a host port, and the scheduler refuses the
    // surge pod on a node whose old pod holds it (the PodMonitor names the metrics port itself).
    resources: SERVER_RESOURCES,
    startupProbe: probe("/health", { periodSeconds: 1, failureThreshold: 30, timeoutSeconds: 1 }),
    livenessProbe: probe("/health", { periodSeconds: 10, failureThreshold: 3, timeoutSeconds: 2 }),
    readinessProbe: probe("/ready", { initialDelaySeconds: READINESS_DELAY_SECONDS, periodSeconds: 5, failureThreshold: 2, timeoutSeconds: 2 }),
    securityContext: intercept ? rootWith(["NET_ADMIN", "NET_BIND_SERVICE"]) : UNPRIVILEGED,
    volumeMounts: [configMount, { name: "cache", mountPath: CACHE_DIR }, ...(intercept ? networkMounts : [])],
  };
}
