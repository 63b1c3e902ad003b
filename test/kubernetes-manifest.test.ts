// `localdns kubernetes manifest`: every rendering validates against the Kubernetes API schema
// (strictly), its YAML reads back as the objects, its config passes `localdns validate` with the
// variables the kubelet gives the pod, and the pod spec is what each mode needs and nothing more.
import { describe, test, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import YAML from "yaml";
import { BINARY } from "./helpers/binary";
import { schemaProblems } from "./helpers/kube-schema";
import { renderManifest } from "../src/kubernetes/manifest";
import { DEFAULT_IMAGE, type KubernetesMode, type ManifestOptions } from "../src/kubernetes/options";

const ROOT = join(import.meta.dir, "..");
const built = existsSync(BINARY);
if (!built) console.log("skipping binary checks of kubernetes manifest: dist/localdns is not built");

const cli = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(BINARY, args, { env: { PATH: "/usr/bin:/bin", ...env }, timeout: 10000 });
  return { status: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
};
const withFile = <T>(content: string, fn: (path: string) => T): T => {
  const dir = mkdtempSync(join(tmpdir(), "ldns-k8s-"));
  try { writeFileSync(join(dir, "c.json"), content); return fn(join(dir, "c.json")); } finally { rmSync(dir, { recursive: true, force: true }); }
};
const opts = (o: Partial<ManifestOptions> = {}): ManifestOptions => ({ mode: "intercept", image: DEFAULT_IMAGE, namespace: "kube-system", configText: null, podMonitor: false, secret: true, ...o });
function render(o: Partial<ManifestOptions> = {}) {
  const r = renderManifest(opts(o));
  if (!r.ok) throw new Error(r.errors.join("\n"));
  return r;
}
const byKind = (objects: any[], kind: string) => objects.filter((x) => x.kind === kind);
const podSpec = (objects: any[]) => byKind(objects, "DaemonSet")[0].spec.template.spec;

// what the kubelet sets in a kube-system pod created after these Services
const KUBELET_ENV = {
  LOCALDNS_ADMIN_TOKEN: "0123456789abcdef0123456789abcdef", // from the Secret
  KUBE_DNS_SERVICE_HOST: "10.96.0.10", KUBE_DNS_SERVICE_PORT: "53", KUBE_DNS_SERVICE_PORT_DNS: "53",
  KUBE_DNS_UPSTREAM_SERVICE_HOST: "10.96.0.20", KUBE_DNS_UPSTREAM_SERVICE_PORT: "53", KUBE_DNS_UPSTREAM_SERVICE_PORT_DNS: "53",
};

const CUSTOM_CONFIG = JSON.stringify({
  listeners: { vnetDNS: ["169.254.20.10:53"], kubeDNS: ["169.254.20.11:53", "service:kube-dns"] },
  upstreams: { ClusterCoreDNS: ["service:kube-dns-upstream"], VnetDNS: ["192.0.2.53"] },
  kubeDNSOverrides: { "cluster.local": { serveStale: "Verify", protocol: "PreferUDP" } },
});
// the admin API on the node address: its mutating calls need the token, which the pods get from the Secret
const TOKEN_CONFIG = JSON.stringify({
  upstreams: { ClusterCoreDNS: ["service:kube-dns"], VnetDNS: ["192.0.2.53"] },
  admin: { listen: "0.0.0.0:8181", allowNonLoopback: true, token: "env:LOCALDNS_ADMIN_TOKEN" },
});
const EXPLICIT_CONFIG = JSON.stringify({ listeners: { vnetDNS: ["169.254.10.10:53"], kubeDNS: ["169.254.10.11:53"] }, upstreams: { ClusterCoreDNS: ["10.96.0.10"], VnetDNS: ["192.0.2.53"] } });
const RENDERINGS: [string, Partial<ManifestOptions>][] = [];
for (const mode of ["linklocal", "intercept"] as KubernetesMode[])
  for (const podMonitor of [false, true]) RENDERINGS.push([`${mode}${podMonitor ? " + PodMonitor" : ""}`, { mode, podMonitor }]);
RENDERINGS.push(["intercept, custom config, no Secret", { configText: CUSTOM_CONFIG, secret: false }]);
RENDERINGS.push(["linklocal, explicit addresses, namespace dns-cache, another image", { mode: "linklocal", configText: EXPLICIT_CONFIG, namespace: "dns-cache", image: "registry.example/dns/localdns@sha256:" + "a".repeat(64) }]);
RENDERINGS.push(["linklocal, the admin API on the node address with the token from the Secret", { mode: "linklocal", configText: TOKEN_CONFIG }]);

describe("every rendering is valid Kubernetes (v1.36 API schema, unknown fields refused)", () => {
  for (const [name, o] of RENDERINGS) {
    test(name, () => {
      const r = render(o);
      for (const obj of r.objects) expect({ kind: (obj as any).kind, problems: schemaProblems(obj as any) }).toEqual({ kind: (obj as any).kind, problems: [] });
      // and the YAML text is exactly those objects, read as YAML 1.2 and as 1.1 (Kubernetes' reader)
      for (const version of ["1.2", "1.1"] as const) {
        const docs = YAML.parseAllDocuments(r.yaml, { version });
        expect(docs.flatMap((d) => d.errors)).toEqual([]);
        expect(docs.map((d) => d.toJS())).toEqual(r.objects);
      }
    });
  }

  test("the strict check itself: a misspelt field and a wrong type are both reported", () => {
    const ds = structuredClone(byKind(render().objects, "DaemonSet")[0]);
    ds.spec.template.spec.priorityClasName = "system-node-critical";
    ds.spec.template.spec.containers[0].ports = [{ containerPort: "53" }];
    const problems = schemaProblems(ds);
    expect(problems).toContain("spec.template.spec.priorityClasName: not a field of DaemonSet in the API schema");
    expect(problems.some((p) => p.includes("containerPort must be integer"))).toBe(true);
  });
});

describe("what is rendered", () => {
  test("objects come in creation order: kube-dns-upstream (intercept only) before the DaemonSet", () => {
    const kinds = (o: Partial<ManifestOptions>) => render(o).objects.map((x: any) => `${x.kind}/${x.metadata.name}`);
    expect(kinds({ mode: "intercept", podMonitor: true })).toEqual(["ServiceAccount/localdns", "ConfigMap/localdns", "Service/kube-dns-upstream", "DaemonSet/localdns", "PodMonitor/localdns"]);
    expect(kinds({ mode: "linklocal" })).toEqual(["ServiceAccount/localdns", "ConfigMap/localdns", "DaemonSet/localdns"]);
    expect(kinds({ mode: "linklocal", configText: TOKEN_CONFIG })).toEqual(["ServiceAccount/localdns", "Secret/localdns-admin", "ConfigMap/localdns", "DaemonSet/localdns"]);
    expect(kinds({ mode: "linklocal", configText: TOKEN_CONFIG, secret: false })).toEqual(["ServiceAccount/localdns", "ConfigMap/localdns", "DaemonSet/localdns"]);
  });

  test("the default config: metrics on the node address (that listener has no mutating API), the admin API on loopback, no token, no Secret", () => {
    for (const mode of ["linklocal", "intercept"] as KubernetesMode[]) {
      const r = render({ mode });
      expect(JSON.parse(r.config).admin).toEqual({ listen: "127.0.0.1:8181", metricsListen: "0.0.0.0:9253" });
      expect(byKind(r.objects, "Secret")).toEqual([]);
      const s = podSpec(r.objects);
      for (const c of [...(s.initContainers ?? []), ...s.containers]) expect(c.env).toBeUndefined();
    }
  });

  test("a config that reads the admin token from the Secret: a new random one per rendering, given to every container from it, never in the config", () => {
    const a = render({ configText: TOKEN_CONFIG });
    const b = render({ configText: TOKEN_CONFIG });
    const token = (r: ReturnType<typeof render>) => byKind(r.objects, "Secret")[0].stringData.token as string;
    expect(token(a)).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(token(a)).not.toBe(token(b));
    expect(a.config).toBe(b.config);
    expect(a.config).not.toContain(token(a));
    expect(JSON.parse(a.config).admin).toEqual({ listen: "0.0.0.0:8181", allowNonLoopback: true, token: "env:LOCALDNS_ADMIN_TOKEN" });
    const fromSecret = [{ name: "LOCALDNS_ADMIN_TOKEN", valueFrom: { secretKeyRef: { name: "localdns-admin", key: "token" } } }];
    for (const mode of ["linklocal", "intercept"] as KubernetesMode[]) {
      const s = podSpec(render({ mode, configText: TOKEN_CONFIG }).objects);
      for (const c of [...(s.initContainers ?? []), ...s.containers]) expect(c.env).toEqual(fromSecret);
    }
  });

  test("the pod: node network, node resolver, critical priority, every node, probes on the admin API", () => {
    const s = podSpec(render().objects);
    expect(s).toMatchObject({ hostNetwork: true, dnsPolicy: "Default", priorityClassName: "system-node-critical", tolerations: [{ operator: "Exists" }], automountServiceAccountToken: false, serviceAccountName: "localdns" });
    const c = s.containers[0];
    expect(c.livenessProbe.httpGet).toEqual({ host: "127.0.0.1", port: 8181, path: "/health" });
    expect(c.readinessProbe.httpGet).toEqual({ host: "127.0.0.1", port: 8181, path: "/ready" });
    expect(c.startupProbe.httpGet).toEqual({ host: "127.0.0.1", port: 8181, path: "/health" });
    expect(c.resources).toEqual({ requests: { cpu: "100m", memory: "80Mi" }, limits: { memory: "128Mi" } });
    expect(c.readinessProbe.initialDelaySeconds).toBe(5);
    expect(c.startupProbe.initialDelaySeconds).toBeUndefined();
    const ds = byKind(render().objects, "DaemonSet")[0];
    expect(ds.spec.template.metadata.annotations).toMatchObject({ "prometheus.io/scrape": "true", "prometheus.io/port": "9253" });
  });

  test("rollout with no gap: the new pod first (maxSurge 1), serving with --takeover; no host ports to keep it off the node; never beside NodeLocal DNSCache", () => {
    for (const mode of ["linklocal", "intercept"] as KubernetesMode[]) {
      const ds = byKind(render({ mode }).objects, "DaemonSet")[0];
      expect(ds.spec.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } });
      const s = ds.spec.template.spec;
      for (const c of [...(s.initContainers ?? []), ...s.containers]) {
        expect(c.ports).toBeUndefined();
        expect(c).not.toHaveProperty("hostPort");
      }
      expect(s.containers[0].args).toEqual(["run", ...(mode === "intercept" ? ["--network"] : []), "--takeover", "--stay-after-leave", "--config", "/etc/localdns/localdns.json"]);
      expect(s.affinity).toEqual({ podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { "k8s-app": "node-local-dns" } }, namespaces: ["kube-system"], topologyKey: "kubernetes.io/hostname" }] } });
    }
  });

  test("the PodMonitor scrapes the server container at the pod's (node's) address on the metrics port, without a declared port", () => {
    const pm = byKind(render({ podMonitor: true }).objects, "PodMonitor")[0];
    const [ep] = pm.spec.podMetricsEndpoints;
    expect(ep.port).toBeUndefined();
    expect(ep.portNumber).toBeUndefined();
    expect(ep.path).toBe("/metrics");
    // the relabelings as Prometheus applies them (fully anchored RE2 regexes, "$1" replacements)
    const target = (labels: Record<string, string>): Record<string, string> | null => {
      const l = { ...labels };
      for (const r of ep.relabelings) {
        const value = (r.sourceLabels ?? []).map((n: string) => l[n] ?? "").join(";");
        const m = new RegExp(`^(?:${r.regex ?? "(.*)"})$`).exec(value);
        if (r.action === "keep") { if (!m) return null; continue; }
        if (m) l[r.targetLabel] = r.replacement.replace(/\$(\d)/g, (_: string, i: string) => m[Number(i)] ?? "");
      }
      return l;
    };
    const meta = (container: string, ip: string) => ({ __meta_kubernetes_pod_container_name: container, __meta_kubernetes_pod_ip: ip, __address__: ip });
    expect(target(meta("localdns", "10.0.0.7"))).toMatchObject({ __address__: "10.0.0.7:9253", endpoint: "metrics" });
    expect(target(meta("localdns", "fd00::7"))).toMatchObject({ __address__: "[fd00::7]:9253" });
    expect(target(meta("network-up", "10.0.0.7"))).toBeNull();
  });

  test("capabilities: intercept is root with NET_ADMIN + NET_BIND_SERVICE; linklocal serves unprivileged with NET_BIND_SERVICE", () => {
    const i = podSpec(render({ mode: "intercept" }).objects);
    expect(i.initContainers).toBeUndefined();
    expect(i.containers[0].args).toEqual(["run", "--network", "--takeover", "--stay-after-leave", "--config", "/etc/localdns/localdns.json"]);
    expect(i.containers[0].securityContext).toEqual({ runAsUser: 0, runAsGroup: 0, runAsNonRoot: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"], add: ["NET_ADMIN", "NET_BIND_SERVICE"] } });
    const l = podSpec(render({ mode: "linklocal" }).objects);
    expect(l.initContainers.map((c: any) => [c.name, c.args, c.securityContext.capabilities.add, c.securityContext.runAsUser])).toEqual([["network-up", ["network", "up", "--config", "/etc/localdns/localdns.json"], ["NET_ADMIN", "NET_BIND_SERVICE"], 0]]);
    expect(l.containers[0].args).toEqual(["run", "--takeover", "--stay-after-leave", "--config", "/etc/localdns/localdns.json"]);
    expect(l.containers[0].securityContext).toEqual({ runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: true, capabilities: { drop: ["ALL"], add: ["NET_BIND_SERVICE"] } });
  });

  test("kube-dns-upstream selects CoreDNS's pods in kube-system, with a port named dns", () => {
    const svc = byKind(render({ mode: "intercept", namespace: "kube-system" }).objects, "Service")[0];
    expect(svc.metadata).toMatchObject({ name: "kube-dns-upstream", namespace: "kube-system" });
    expect(svc.spec.selector).toEqual({ "k8s-app": "kube-dns" });
    expect(svc.spec.ports.map((p: any) => `${p.name} ${p.port}/${p.protocol}`)).toEqual(["dns 53/UDP", "dns-tcp 53/TCP"]);
  });

  test("the config hash annotation follows the config, so a changed config rolls the pods", () => {
    const hash = (o: Partial<ManifestOptions>) => byKind(render(o).objects, "DaemonSet")[0].spec.template.metadata.annotations["localdns/config-hash"];
    expect(hash({})).toMatch(/^[0-9a-f]{16}$/);
    expect(hash({})).toBe(hash({}));
    expect(hash({ configText: CUSTOM_CONFIG })).not.toBe(hash({}));
  });

  test("refused: a config with errors, Service references outside kube-system, a taken-over Service address in linklocal", () => {
    const errors = (o: Partial<ManifestOptions>) => { const r = renderManifest(opts(o)); return r.ok ? [] : r.errors; };
    expect(errors({ configText: JSON.stringify({ bogus: 1 }) })).toEqual(["config: bogus: unknown key"]);
    expect(errors({ configText: JSON.stringify({ listeners: { kubeDNS: ["nonsense"] } }) })).toEqual([
      'config: listeners.kubeDNS[0]: expected an IP address with an optional port (e.g. 169.254.10.10:53 or [fd00::10]:53), got "nonsense"',
    ]);
    expect(errors({ configText: "{ nope" })[0]).toMatch(/^config: \(file\): not valid JSON/);
    expect(errors({ namespace: "dns-cache" })).toEqual([`config: "service:" addresses (KUBE_DNS, KUBE_DNS_UPSTREAM) are only known in the Service's own namespace (kube-system); use --namespace kube-system or give the addresses as ip:port`]);
    expect(errors({ mode: "linklocal", configText: CUSTOM_CONFIG })).toEqual(["config: listeners service:kube-dns take a Service's address over, which must be given back when localdns stops: use --mode intercept"]);
    expect(errors({ namespace: "Bad_NS" })[0]).toBe('--namespace: "Bad_NS" is not a namespace name (lowercase letters, digits and "-", at most 63)');
    expect(errors({ image: "has space" })[0]).toBe('--image: "has space" is not an image reference');
    expect(errors({ configText: JSON.stringify({ admin: { metricsListen: "0.0.0.0:9253", allowNonLoopback: true, token: "env:MY_OWN_TOKEN_VAR" }, upstreams: { ClusterCoreDNS: ["service:kube-dns"], VnetDNS: ["192.0.2.53"] } }) }))
      .toEqual(["config: admin.token: MY_OWN_TOKEN_VAR is not set (from env:MY_OWN_TOKEN_VAR)", `config: admin.token: the pods get the Secret's token as LOCALDNS_ADMIN_TOKEN; write "env:LOCALDNS_ADMIN_TOKEN"`]);
    expect(errors({ configText: JSON.stringify({ listeners: { kubeDNS: ["service:kube-dns"] }, upstreams: { ClusterCoreDNS: ["service:kube-dns"] } }) }))
      .toContain("config: upstreams.ClusterCoreDNS[0]: service:kube-dns is one of our own listeners");
  });
});

describe.skipIf(!built)("the binary", () => {
  test("the embedded config of each mode passes `localdns validate` with the kubelet's Service variables, and names the missing one without them", () => {
    for (const mode of ["linklocal", "intercept"] as KubernetesMode[]) {
      const out = cli(["kubernetes", "manifest", "--mode", mode]);
      expect(out.status).toBe(0);
      const cm = YAML.parseAllDocuments(out.out).map((d) => d.toJS()).find((x) => x.kind === "ConfigMap");
      withFile(cm.data["localdns.json"], (p) => {
        const ok = cli(["validate", "--config", p], KUBELET_ENV);
        expect({ status: ok.status, out: ok.out, err: ok.err }).toEqual({ status: 0, out: "ok\n", err: "" });
        const without = cli(["validate", "--config", p]);
        expect(without.status).toBe(1);
        expect(without.err).toContain("service:kube-dns: KUBE_DNS_SERVICE_HOST is not set");
        if (mode === "intercept") expect(without.err).toContain("service:kube-dns-upstream: KUBE_DNS_UPSTREAM_SERVICE_HOST is not set");
      });
    }
  });

  test("--config embeds the file as it is; flags in both spellings; bad input exits non-zero with a reason", () => {
    withFile(CUSTOM_CONFIG, (p) => {
      const out = cli(["kubernetes", "manifest", `--config=${p}`, "--image", "reg.example/localdns:1", "-n", "kube-system", "--pod-monitor"]);
      expect(out.status).toBe(0);
      const docs = YAML.parseAllDocuments(out.out).map((d) => d.toJS());
      expect(docs.find((x) => x.kind === "ConfigMap").data["localdns.json"]).toBe(CUSTOM_CONFIG + "\n");
      expect(docs.find((x) => x.kind === "DaemonSet").spec.template.spec.containers[0].image).toBe("reg.example/localdns:1");
      expect(docs.map((x) => x.kind)).toContain("PodMonitor");
      const wrongMode = cli(["kubernetes", "manifest", "--mode", "linklocal", "--config", p]);
      expect(wrongMode.status).toBe(1);
      expect(wrongMode.err).toContain(`localdns kubernetes manifest: ${p}: config: listeners service:kube-dns take a Service's address over`);
    });
    expect(cli(["kubernetes", "manifest", "--config", "/nonexistent/c.json"]).err).toContain("/nonexistent/c.json: cannot read");
    expect(cli(["kubernetes", "manifest", "--mode", "sideways"])).toMatchObject({ status: 2 });
    expect(cli(["kubernetes", "manifest", "--mode", "sideways"]).err).toContain("--mode must be linklocal or intercept, got sideways");
    expect(cli(["kubernetes", "manifest", "--image"]).err).toContain("--image needs a value");
    expect(cli(["kubernetes", "manifest", "--replicas", "3"]).err).toContain("unknown flag for kubernetes manifest: --replicas");
    expect(cli(["kubernetes", "apply"]).err).toContain("kubernetes needs manifest, got apply");
    expect(cli(["kubernetes", "--help"]).out).toContain("Usage: localdns kubernetes manifest");
    expect(cli(["--help"]).out).toContain("localdns kubernetes manifest");
  });

  test("deploy/ holds the default renderings (without the Secret), as the binary prints them", () => {
    expect(readFileSync(join(ROOT, "deploy/localdns-intercept.yaml"), "utf8")).toBe(cli(["kubernetes", "manifest", "--mode", "intercept", "--no-secret"]).out);
    expect(readFileSync(join(ROOT, "deploy/localdns-linklocal.yaml"), "utf8")).toBe(cli(["kubernetes", "manifest", "--mode", "linklocal", "--no-secret"]).out);
    const pm = cli(["kubernetes", "manifest", "--pod-monitor"]).out.split("---\n").filter((d) => d.includes("kind: PodMonitor"));
    expect(readFileSync(join(ROOT, "deploy/podmonitor.yaml"), "utf8")).toBe("---\n" + pm[0]);
  });
});
