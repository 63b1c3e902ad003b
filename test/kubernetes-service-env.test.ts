// "service:NAME" endpoints: a Service's address from the variables the kubelet sets in a pod.
import { test, expect } from "bun:test";
import { resolveServiceRef, serviceEnvPrefix } from "../src/kubernetes/service-env";
import { buildConfig } from "../src/config/effective";

const env = (vars: Record<string, string>) => (name: string) => vars[name];
const noFiles = (p: string): string => { throw new Error(`no ${p}`); };

test("the kubelet's variable names: upper case, dashes to underscores", () => {
  expect(serviceEnvPrefix("kube-dns-upstream")).toBe("KUBE_DNS_UPSTREAM");
  expect(serviceEnvPrefix("kube-dns")).toBe("KUBE_DNS");
});

test("host from NAME_SERVICE_HOST, port from the port named dns, else 53; IPv6 too", () => {
  expect(resolveServiceRef("service:kube-dns", env({ KUBE_DNS_SERVICE_HOST: "10.96.0.10" }))).toEqual({ host: "10.96.0.10", port: 53, family: 4 });
  expect(resolveServiceRef("service:kube-dns", env({ KUBE_DNS_SERVICE_HOST: "10.96.0.10", KUBE_DNS_SERVICE_PORT_DNS: "5353", KUBE_DNS_SERVICE_PORT: "9153" }))).toEqual({ host: "10.96.0.10", port: 5353, family: 4 });
  expect(resolveServiceRef("service:kube-dns", env({ KUBE_DNS_SERVICE_HOST: "fd00:10:96::a" }))).toEqual({ host: "fd00:10:96::a", port: 53, family: 6 });
});

test("a missing variable, a bad name or a bad value is an error that says which", () => {
  expect(resolveServiceRef("service:kube-dns-upstream", env({}))).toBe("service:kube-dns-upstream: KUBE_DNS_UPSTREAM_SERVICE_HOST is not set (the kubelet sets it only in pods of the Service's namespace that were created after the Service)");
  expect(resolveServiceRef("service:Kube_DNS", env({}))).toBe(`"service:Kube_DNS": "Kube_DNS" is not a Service name (lowercase letters, digits and "-", at most 63)`);
  expect(resolveServiceRef("service:", env({}))).toMatch(/is not a Service name/);
  expect(resolveServiceRef("service:kube-dns", env({ KUBE_DNS_SERVICE_HOST: "None" }))).toMatch(/^service:kube-dns: KUBE_DNS_SERVICE_HOST \/ KUBE_DNS_SERVICE_PORT_DNS: expected an IP address/);
  expect(resolveServiceRef("service:kube-dns", env({ KUBE_DNS_SERVICE_HOST: "10.96.0.10", KUBE_DNS_SERVICE_PORT_DNS: "99999" }))).toMatch(/port out of range/);
});

test("in a config: listeners and upstream lists, and an upstream given as one string", () => {
  const vars = env({ KUBE_DNS_SERVICE_HOST: "10.96.0.10", KUBE_DNS_UPSTREAM_SERVICE_HOST: "10.96.0.20" });
  const r = buildConfig({
    listeners: { vnetDNS: ["169.254.10.10:53"], kubeDNS: ["169.254.10.11:53", "service:kube-dns"] },
    upstreams: { ClusterCoreDNS: "service:kube-dns-upstream", VnetDNS: ["192.0.2.53"] },
  }, noFiles, { env: vars });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  expect(r.config.listeners.kubeDNS.map((e) => `${e.host}:${e.port}`)).toEqual(["169.254.10.11:53", "10.96.0.10:53"]);
  expect(r.config.upstreams.ClusterCoreDNS).toEqual([{ host: "10.96.0.20", port: 53, family: 4 }]);
  expect(r.config.upstreamSources.ClusterCoreDNS).toBe("list");
  // without the variables (and without an env reader at all) the reference is an error, with its path
  const bad = buildConfig({ listeners: { kubeDNS: ["service:kube-dns"] }, upstreams: { VnetDNS: ["192.0.2.53"] } }, noFiles);
  expect(bad.ok ? [] : bad.errors).toEqual(["listeners.kubeDNS[0]: service:kube-dns: KUBE_DNS_SERVICE_HOST is not set (the kubelet sets it only in pods of the Service's namespace that were created after the Service)"]);
  // forwarding to the Service address we answer on is caught like any other loop to ourselves
  const loop = buildConfig({ listeners: { kubeDNS: ["service:kube-dns"] }, upstreams: { ClusterCoreDNS: ["service:kube-dns"], VnetDNS: ["192.0.2.53"] } }, noFiles, { env: vars });
  expect(loop.ok ? [] : loop.errors).toEqual(["upstreams.ClusterCoreDNS[0]: service:kube-dns is one of our own listeners"]);
});
