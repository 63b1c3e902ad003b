// The image, built here with `build/image.ts` (buildah), unpacked and run as the DaemonSet would run
// it, inside network namespaces this test creates: "node" holds kube-proxy's DNAT rules for the
// cluster DNS Service (10.96.0.10) and kube-dns-upstream (10.96.0.20), both in front of two CoreDNS
// stand-ins (knotd, counting queries); "pod" asks over a veth pair, as a pod does.
//   intercept: the pod's queries to 10.96.0.10 are answered by localdns (cache hits never reach the
//              stand-ins); after SIGTERM the interception is gone and they reach CoreDNS again.
//   linklocal: the init container puts 169.254.10.10/.11 up, the unprivileged server answers there.
import { describe, test, expect, beforeAll, afterAll } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, netnsUnavailable, type Netns } from "./helpers/netns";
import { BINARY } from "./helpers/binary";
import { CLUSTER_ZONE, EXAMPLE_ZONE } from "./helpers/knot";
import { startStandIn, standInUnavailable, type StandIn } from "./helpers/coredns-standin";
import { addClusterIPService } from "./helpers/kube-proxy";
import { unpackImage, type UnpackedImage } from "./helpers/oci-image";
import { runContainer, startContainer, type PodEnvironment } from "./helpers/pod-runner";
import { renderManifest } from "../src/kubernetes/manifest";
import { DEFAULT_IMAGE, type KubernetesMode } from "../src/kubernetes/options";
import { COMMENT } from "../src/node/notrack";

const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;
const why = netnsUnavailable() ?? standInUnavailable()
  ?? (["buildah", "capsh", "setcap", "unshare", "dig"].find((t) => !has(t)) ? `${["buildah", "capsh", "setcap", "unshare", "dig"].find((t) => !has(t))} is not installed (apt-get install buildah libcap2-bin bind9-dnsutils)` : null)
  ?? (existsSync(BINARY) ? null : "dist/localdns is not built");
if (why) console.log(`skipping image tests: ${why}`);

const ROOT = join(import.meta.dir, "..");
const SERVICE_IP = "10.96.0.10";
const UPSTREAM_IP = "10.96.0.20";
const COREDNS = ["10.244.0.2", "10.244.0.3"];
const NODE_IP = "10.244.1.1";
const POD_IP = "10.244.1.2";
const SOURCE = "https://example.invalid/localdns.git";
const KUBELET_ENV = {
  KUBE_DNS_SERVICE_HOST: SERVICE_IP, KUBE_DNS_SERVICE_PORT: "53", KUBE_DNS_SERVICE_PORT_DNS: "53",
  KUBE_DNS_UPSTREAM_SERVICE_HOST: UPSTREAM_IP, KUBE_DNS_UPSTREAM_SERVICE_PORT: "53", KUBE_DNS_UPSTREAM_SERVICE_PORT_DNS: "53",
};

let dir: string;
let image: UnpackedImage;
let node: Netns;
let pod: Netns;
let standIns: StandIn[] = [];
const buildLog: string[] = [];

const queriesAtCoreDNS = () => standIns.reduce((n, s) => n + s.queries(), 0);
function digFrom(ns: Netns, server: string, name: string, type = "A", tcp = false): { status: string; answer: string } {
  const r = ns.exec("dig", [`@${server}`, name, type, "+tries=1", "+time=2", ...(tcp ? ["+tcp"] : [])], { timeoutMs: 10_000 });
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? `no answer (${r.stdout.trim().split("\n").pop()})`;
  const answer = r.stdout.split("\n").filter((l) => l && !l.startsWith(";") && /\sIN\s/.test(l)).map((l) => l.split(/\s+/).pop()).join(" ");
  return { status, answer };
}
const ourRules = () => node.exec("iptables", ["-w", "5", "-t", "raw", "-S"]).stdout.split("\n").filter((l) => l.includes(COMMENT));
const localAddresses = (): string[] => JSON.parse(node.exec("ip", ["-j", "addr", "show"]).stdout || "[]").flatMap((l: any) => (l.addr_info ?? []).map((a: any) => a.local as string));
const capEff = (pid: number) => /CapEff:\s*([0-9a-f]+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1];
const uidOf = (pid: number) => /Uid:\s*(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1];

/** The kubelet's probe: an HTTP GET from the node's network namespace. */
function probe(httpGet: { host: string; port: number; path: string }): number {
  const url = `http://${httpGet.host}:${httpGet.port}${httpGet.path}`;
  const r = node.exec(process.execPath, ["-e", `fetch(${JSON.stringify(url)}).then((r) => console.log(r.status), () => console.log(0))`], { timeoutMs: 10_000 });
  return Number(r.stdout.trim());
}
/** The body of /ready (its reasons), for a failure message. */
function readyReasons(httpGet: { host: string; port: number; path: string }): string {
  const url = `http://${httpGet.host}:${httpGet.port}${httpGet.path}`;
  return node.exec(process.execPath, ["-e", `fetch(${JSON.stringify(url)}).then((r) => r.text()).then(console.log, (e) => console.log(String(e)))`], { timeoutMs: 10_000 }).stdout.trim();
}
async function until(what: string, ok: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) { if (ok()) return; await new Promise((r) => setTimeout(r, 200)); }
  throw new Error(`timed out waiting for ${what}`);
}

function podEnvironment(mode: KubernetesMode) {
  const r = renderManifest({ mode, image: DEFAULT_IMAGE, namespace: "kube-system", configText: null, podMonitor: false, secret: true });
  if (!r.ok) throw new Error(r.errors.join("\n"));
  const ds: any = r.objects.find((o: any) => o.kind === "DaemonSet");
  const cm: any = r.objects.find((o: any) => o.kind === "ConfigMap");
  const secret: any = r.objects.find((o: any) => o.kind === "Secret");
  const spec = ds.spec.template.spec;
  const env: PodEnvironment = {
    node, rootfs: image.rootfs, image: image.config, volumes: spec.volumes, configMaps: { [cm.metadata.name]: cm.data }, secrets: secret ? { [secret.metadata.name]: secret.stringData } : {},
    nodeRoot: join(dir, "node-fs"), resolvConf: `nameserver ${COREDNS[1]}\n`, env: KUBELET_ENV, scratch: join(dir, "scratch"),
  };
  return { spec, env };
}

/** A surge rollout on the node, as the DaemonSet runs it: a second container of the same spec starts
 * beside the running one (maxSurge 1), under a steady load from the pod; returns once the old one has
 * left and idles, the new one passes its readiness probe and the old one exited 0 on SIGTERM. */
async function surge(mode: KubernetesMode, old: ReturnType<Netns["start"]>, server: string, pattern: string) {
  const { spec, env } = podEnvironment(mode);
  const c = spec.containers[0];
  const load = pod.start(process.execPath, [join(import.meta.dir, "helpers", "steady-load-runner.ts"), server, "53", "50", pattern]);
  await until("the load", () => load.output().includes("READY"));
  const next = startContainer(env, c);
  await until("the takeover", () => next.output().includes("takeover: the running localdns has left"), 30_000);
  await until("the old one idle", () => old.output().includes("left: idle until SIGTERM (--stay-after-leave)"));
  // generous: the probe is a process spawned in the node's namespace, slow on a busy machine
  await until("the new one's readiness probe", () => probe(c.readinessProbe.httpGet) === 200, 40_000).catch((e) => {
    throw new Error(`${(e as Error).message}; /ready says ${readyReasons(c.readinessProbe.httpGet)}; the new one's log ends ${next.output().slice(-1500)}`);
  });
  await new Promise((r) => setTimeout(r, 1000));
  expect(old.exitCode === null && old.signalCode === null).toBe(true); // not exited: the kubelet would restart it
  old.kill("SIGTERM");
  await new Promise((r) => (old.exitCode !== null ? r(null) : old.once("exit", r)));
  expect(old.exitCode).toBe(0);
  await new Promise((r) => setTimeout(r, 500));
  load.kill("SIGINT");
  await new Promise((r) => (load.exitCode !== null ? r(null) : load.once("exit", r)));
  const result = JSON.parse(load.output().trim().split("\n").pop()!);
  console.log(`${mode} surge: ${result.sent} UDP queries, ${result.lost} lost; ${result.tcp} TCP, ${result.tcpFailed.length} failed`);
  expect({ lost: result.lost, tcpFailed: result.tcpFailed }).toEqual({ lost: 0, tcpFailed: [] });
  return next;
}

beforeAll(async () => {
  if (why) return;
  dir = mkdtempSync(join(tmpdir(), "ldns-image-"));
  const b = spawnSync(process.execPath, [join(ROOT, "build/image.ts"), "--output", join(dir, "localdns-image.tar")], { cwd: ROOT, encoding: "utf8", timeout: 240_000, env: { ...process.env, LOCALDNS_IMAGE_SOURCE: SOURCE } });
  buildLog.push(b.stderr);
  if (b.status !== 0) throw new Error(`build/image.ts failed: ${b.stderr}`);
  image = unpackImage(join(dir, "localdns-image.tar"), join(dir, "image"));

  node = createNetns("ldns-img-node");
  pod = createNetns("ldns-img-pod");
  const veth = `lv${process.pid % 100000}`;
  expect(node.exec("ip", ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", pod.name]).status).toBe(0);
  node.exec("ip", ["addr", "add", `${NODE_IP}/24`, "dev", veth]);
  node.exec("ip", ["link", "set", veth, "up"]);
  pod.exec("ip", ["addr", "add", `${POD_IP}/24`, "dev", "eth0"]);
  pod.exec("ip", ["link", "set", "eth0", "up"]);
  pod.exec("ip", ["route", "add", "default", "via", NODE_IP]);
  node.exec("ip", ["route", "add", "10.96.0.0/16", "dev", "lo"]); // the Service range (the node's default route, elsewhere)
  const zones = { "cluster.local": CLUSTER_ZONE, "example.com": EXAMPLE_ZONE };
  standIns = [await startStandIn(node, COREDNS[0], join(dir, "coredns-a"), zones), await startStandIn(node, COREDNS[1], join(dir, "coredns-b"), zones)];
  addClusterIPService(node, "DNS", SERVICE_IP, 53, COREDNS);
  addClusterIPService(node, "UPS", UPSTREAM_IP, 53, COREDNS);
}, 300_000);

afterAll(() => {
  for (const s of standIns) s.stop();
  pod?.destroy();
  node?.destroy();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(why !== null)("the image", () => {
  test("holds the binary (with cap_net_bind_service), ip, iptables-nft and their libraries, and no shell", () => {
    expect(image.layers).toEqual(["application/vnd.oci.image.layer.v1.tar+gzip"]);
    const files = spawnSync("find", [image.rootfs, "-type", "f,l"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean).map((f) => f.slice(image.rootfs.length)).sort();
    expect(files).toContain("/usr/local/bin/localdns");
    expect(files).toContain("/usr/sbin/ip");
    expect(files).toContain("/usr/sbin/iptables");
    expect(files).toContain("/usr/sbin/ip6tables");
    expect(files.some((f) => /\/ld-linux[^/]*\.so\.\d$/.test(f))).toBe(true); // the dynamic loader
    for (const f of files) expect(f).not.toMatch(/\/(sh|bash|dash|busybox|apt|apt-get|dpkg)$/);
    expect(files.filter((f) => !/^\/(lib|lib64|usr\/lib)\//.test(f))).toEqual(["/etc/group", "/etc/passwd", "/usr/local/bin/localdns", "/usr/sbin/ip", "/usr/sbin/ip6tables", "/usr/sbin/iptables", "/usr/sbin/xtables-nft-multi"]);
    expect(spawnSync("getcap", [join(image.rootfs, "usr/local/bin/localdns")], { encoding: "utf8" }).stdout.trim()).toEndWith("cap_net_bind_service=ep");
    expect(readFileSync(join(image.rootfs, "etc/passwd"), "utf8")).toContain("localdns:x:65532:65532:");
  });

  test("its config: entrypoint, unprivileged user, labels with version, revision and source", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect(image.refName).toBe(`localhost/localdns:${pkg.version}`);
    expect(DEFAULT_IMAGE).toBe(`localhost/localdns:${pkg.version}`);
    expect(image.config.Entrypoint).toEqual(["/usr/local/bin/localdns"]);
    expect(image.config.Cmd).toEqual(["run", "--config", "/etc/localdns/localdns.json"]);
    expect(image.config.User).toBe("65532:65532");
    const revision = spawnSync("git", ["rev-parse", "HEAD"], { cwd: ROOT, encoding: "utf8" }).stdout.trim();
    expect(image.config.Labels).toMatchObject({
      "org.opencontainers.image.version": pkg.version,
      "org.opencontainers.image.revision": revision,
      "org.opencontainers.image.source": SOURCE,
      "org.opencontainers.image.title": "localdns",
    });
  });
});

describe.skipIf(why !== null)("intercept mode on a node with kube-proxy", () => {
  let server: ReturnType<Netns["start"]>;

  test("before localdns, the pod's queries to the cluster DNS Service reach CoreDNS", () => {
    const before = queriesAtCoreDNS();
    expect(digFrom(pod, SERVICE_IP, "svc-1.ns.svc.cluster.local")).toEqual({ status: "NOERROR", answer: "10.96.0.2" });
    expect(queriesAtCoreDNS() - before).toBe(1);
    expect(digFrom(pod, SERVICE_IP, "health-check.localdns.local").status).toBe("REFUSED"); // CoreDNS does not know our name
  });

  test("the container starts with NET_ADMIN + NET_BIND_SERVICE only, passes its probes, and answers on the Service address", async () => {
    const { spec, env } = podEnvironment("intercept");
    expect(spec.initContainers).toBeUndefined();
    const c = spec.containers[0];
    server = startContainer(env, c);
    await until("the startup probe", () => probe(c.startupProbe.httpGet) === 200);
    await until("the readiness probe", () => probe(c.readinessProbe.httpGet) === 200);
    expect(probe(c.livenessProbe.httpGet)).toBe(200);
    await until("the Service address answered by localdns", () => digFrom(pod, SERVICE_IP, "health-check.localdns.local").status === "NOERROR");
    // the whoami answer: localdns saw the pod's own address, so nothing NATed the query
    expect(digFrom(pod, SERVICE_IP, "health-check.localdns.local").answer).toBe(POD_IP);
    expect(uidOf(server.pid!)).toBe("0");
    // CAP_NET_BIND_SERVICE (10) and CAP_NET_ADMIN (12), nothing else
    expect(capEff(server.pid!)).toBe((1n << 10n | 1n << 12n).toString(16).padStart(16, "0"));
    expect(localAddresses()).toContain(SERVICE_IP);
    expect(ourRules().filter((r) => r.includes(`${SERVICE_IP}/32`)).length).toBe(6);
  }, 60_000);

  test("the first query is forwarded (through kube-dns-upstream) once; the repeats are cache hits that never reach CoreDNS", () => {
    const before = queriesAtCoreDNS();
    for (let i = 0; i < 5; i++) expect(digFrom(pod, SERVICE_IP, "svc-7.ns.svc.cluster.local", "A", i % 2 === 1)).toEqual({ status: "NOERROR", answer: "10.96.0.8" });
    expect(queriesAtCoreDNS() - before).toBe(1);
    const external = queriesAtCoreDNS();
    for (let i = 0; i < 3; i++) expect(digFrom(pod, SERVICE_IP, "www.example.com")).toEqual({ status: "NOERROR", answer: "192.0.2.1" });
    expect(queriesAtCoreDNS() - external).toBe(1);
    // the node itself (a hostNetwork pod, the kubelet) is intercepted too
    expect(digFrom(node, SERVICE_IP, "svc-7.ns.svc.cluster.local")).toEqual({ status: "NOERROR", answer: "10.96.0.8" });
    expect(queriesAtCoreDNS() - external).toBe(1);
  });

  test("after SIGTERM the interception is gone: rules and addresses removed, the pod's queries reach CoreDNS again", async () => {
    server.kill("SIGTERM");
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once("exit", r)));
    expect(server.exitCode).toBe(0);
    expect(server.output()).toContain("interception removed");
    expect(ourRules()).toEqual([]);
    expect(localAddresses().filter((a) => a === SERVICE_IP || a.startsWith("169.254.10."))).toEqual([]);
    const before = queriesAtCoreDNS();
    expect(digFrom(pod, SERVICE_IP, "svc-7.ns.svc.cluster.local")).toEqual({ status: "NOERROR", answer: "10.96.0.8" });
    expect(queriesAtCoreDNS() - before).toBe(1);
    expect(digFrom(pod, SERVICE_IP, "health-check.localdns.local").status).toBe("REFUSED");
    // the snapshot went to the node's /var/lib/localdns (hostPath), for a warm start of the next pod
    expect(existsSync(join(dir, "node-fs/var/lib/localdns/cache.snapshot"))).toBe(true);
    // the order: rules only once listening; removed before draining
    const log = server.output();
    expect(log.indexOf('"msg":"localdns started"')).toBeLessThan(log.indexOf('"msg":"NOTRACK rules in place"'));
    expect(log.indexOf("interception removed")).toBeLessThan(log.indexOf('"msg":"localdns stopped"'));
  }, 30_000);

  test("after kill -9 the interception stays until the next start, which removes it first, even when that start fails", async () => {
    const { spec, env } = podEnvironment("intercept");
    const c = spec.containers[0];
    server = startContainer(env, c);
    await until("the readiness probe", () => probe(c.readinessProbe.httpGet) === 200);
    server.kill("SIGKILL");
    await new Promise((r) => (server.exitCode !== null || server.signalCode !== null ? r(null) : server.once("exit", r)));
    expect(ourRules().filter((r) => r.includes(`${SERVICE_IP}/32`)).length).toBe(6);
    expect(digFrom(pod, SERVICE_IP, "svc-7.ns.svc.cluster.local").status).toMatch(/^no answer/); // nobody listens
    // the next container cannot load its config (kube-dns-upstream did not exist when the pod was made)
    const { KUBE_DNS_UPSTREAM_SERVICE_HOST: _, ...withoutUpstream } = KUBELET_ENV;
    const failing = startContainer({ ...env, env: withoutUpstream }, c);
    await new Promise((r) => (failing.exitCode !== null ? r(null) : failing.once("exit", r)));
    expect(failing.exitCode).toBe(1);
    expect(failing.output()).toContain("KUBE_DNS_UPSTREAM_SERVICE_HOST is not set");
    expect(ourRules()).toEqual([]);
    const before = queriesAtCoreDNS();
    expect(digFrom(pod, SERVICE_IP, "svc-7.ns.svc.cluster.local")).toEqual({ status: "NOERROR", answer: "10.96.0.8" });
    expect(queriesAtCoreDNS() - before).toBe(1);
    // a later good start takes the leftover address over and cleans up after itself
    const good = startContainer(env, c);
    await until("the Service address answered by localdns", () => digFrom(pod, SERVICE_IP, "health-check.localdns.local").status === "NOERROR");
    good.kill("SIGTERM");
    await new Promise((r) => (good.exitCode !== null ? r(null) : good.once("exit", r)));
    expect(good.exitCode).toBe(0);
    expect(ourRules()).toEqual([]);
    expect(localAddresses().filter((a) => a === SERVICE_IP || a.startsWith("169.254.10."))).toEqual([]);
  }, 60_000);

  test("a surge pod takes over under load: nothing lost, the old one idles until SIGTERM and leaves the interception to the new one", async () => {
    const { spec, env } = podEnvironment("intercept");
    const c = spec.containers[0];
    const old = startContainer(env, c);
    await until("the readiness probe", () => probe(c.readinessProbe.httpGet) === 200);
    const next = await surge("intercept", old, SERVICE_IP, "svc-%.ns.svc.cluster.local.");
    expect(old.output()).not.toContain("interception removed");
    expect(ourRules().filter((r) => r.includes(`${SERVICE_IP}/32`)).length).toBe(6);
    expect(localAddresses()).toContain(SERVICE_IP);
    expect(digFrom(pod, SERVICE_IP, "health-check.localdns.local")).toEqual({ status: "NOERROR", answer: POD_IP });
    // the last one out hands the Service address back
    next.kill("SIGTERM");
    await new Promise((r) => (next.exitCode !== null ? r(null) : next.once("exit", r)));
    expect(next.exitCode).toBe(0);
    expect(ourRules()).toEqual([]);
    expect(digFrom(pod, SERVICE_IP, "health-check.localdns.local").status).toBe("REFUSED");
  }, 120_000);
});

describe.skipIf(why !== null)("linklocal mode", () => {
  let server: ReturnType<Netns["start"]>;
  afterAll(() => { if (server && server.exitCode === null) server.kill("SIGKILL"); });

  test("the init container (root, NET_ADMIN + NET_BIND_SERVICE) puts the listener addresses and NOTRACK rules up", () => {
    const { spec, env } = podEnvironment("linklocal");
    const r = runContainer(env, spec.initContainers[0]);
    expect({ status: r.status, err: r.stderr }).toEqual({ status: 0, err: "" });
    expect(localAddresses()).toContain("169.254.10.10");
    expect(localAddresses()).toContain("169.254.10.11");
    expect(ourRules().length).toBe(12);
  });

  test("without NET_BIND_SERVICE in its bounding set, even root cannot exec the binary (its file capability)", () => {
    const { spec, env } = podEnvironment("linklocal");
    const init = structuredClone(spec.initContainers[0]);
    init.securityContext.capabilities.add = ["NET_ADMIN"];
    const r = runContainer(env, init);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain("execve '/usr/local/bin/localdns' failed");
  });

  test("the server runs as uid 65532 with NET_BIND_SERVICE alone and answers the pod on 169.254.10.11", async () => {
    const { spec, env } = podEnvironment("linklocal");
    const c = spec.containers[0];
    server = startContainer(env, c);
    await until("the readiness probe", () => probe(c.readinessProbe.httpGet) === 200);
    expect(uidOf(server.pid!)).toBe("65532");
    expect(capEff(server.pid!)).toBe((1n << 10n).toString(16).padStart(16, "0"));
    expect(digFrom(pod, "169.254.10.11", "health-check.localdns.local").answer).toBe(POD_IP);
    const before = queriesAtCoreDNS();
    for (let i = 0; i < 3; i++) expect(digFrom(pod, "169.254.10.11", "svc-9.ns.svc.cluster.local", "A", i === 1)).toEqual({ status: "NOERROR", answer: "10.96.0.10" });
    expect(queriesAtCoreDNS() - before).toBe(1);
    // the Service address is not intercepted in this mode
    expect(digFrom(pod, SERVICE_IP, "health-check.localdns.local").status).toBe("REFUSED");
    server.kill("SIGTERM");
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once("exit", r)));
    expect(server.exitCode).toBe(0);
  }, 60_000);

  test("the unprivileged server takes over from a running one (a surge pod): nothing lost, the old one idles until SIGTERM", async () => {
    const { spec, env } = podEnvironment("linklocal");
    const c = spec.containers[0];
    const old = startContainer(env, c);
    await until("the readiness probe", () => probe(c.readinessProbe.httpGet) === 200);
    server = await surge("linklocal", old, "169.254.10.11", "svc-%.ns.svc.cluster.local.");
    expect(uidOf(server.pid!)).toBe("65532");
    expect(digFrom(pod, "169.254.10.11", "health-check.localdns.local").answer).toBe(POD_IP);
    server.kill("SIGTERM");
    await new Promise((r) => (server.exitCode !== null ? r(null) : server.once("exit", r)));
    expect(server.exitCode).toBe(0);
  }, 120_000);
});
