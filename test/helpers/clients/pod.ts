// A pod's view of the node, inside a network namespace this suite creates: localdns on the real
// listener addresses (169.254.10.10 vnet, 169.254.10.11 kube, port 53), knotd as the cluster DNS on
// 127.0.0.53:53, a sloppy recursive resolver (stuffing-upstream.ts) on 127.0.0.54:53 as the node's
// VnetDNS upstream, and a way to run any client with a chosen /etc/resolv.conf (bind-mounted inside a
// private mount namespace, so the machine's own file is never touched).
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createNetns, type Netns } from "../netns";
import { KNOTD } from "../knot";
import { BINARY } from "../binary";
import { sleep } from "../dns";
import { POD_ZONES } from "./zones";

export const VNET_IP = "169.254.10.10";
export const KUBE_IP = "169.254.10.11";
export const KNOT_IP = "127.0.0.53";
export const STUFFING_IP = "127.0.0.54";
/** The pod's own IPv6 address: with one, getaddrinfo's AI_ADDRCONFIG asks AAAA as on a dual-stack pod. */
const POD_IPV6 = "fd00:10:244::5";

export interface RunResult { status: number; stdout: string; stderr: string; ms: number }

export interface Pod {
  ns: Netns;
  dir: string;
  /** Writes a resolv.conf variant and returns its path. */
  resolvConf(label: string, text: string): string;
  /** Replaces a zone's text and has knotd load it (the new text must carry a higher serial). */
  reloadZone(zone: string, text: string): Promise<void>;
  /** Runs CMD inside the namespace with RESOLV bind-mounted over /etc/resolv.conf (bounded). */
  run(resolv: string, cmd: string, args: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): Promise<RunResult>;
  localdnsOutput(): string;
  /** How many queries for NAME (lower case, no final dot) and TYPE reached the VnetDNS upstream. */
  upstreamQueries(name: string, type: string): number;
  destroy(): void;
}

// "." has no usable file name of its own
const zoneFile = (dir: string, zone: string) => join(dir, "zones", `${zone === "." ? "root" : zone}.zone`);

function knotConfig(dir: string): string {
  return `server:
    rundir: "${dir}/run"
    listen: ${KNOT_IP}@53
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "${dir}/knot.sock"
database:
    storage: "${dir}/run"
log:
  - target: stderr
    any: warning
template:
  - id: default
    journal-content: none
    zonefile-sync: -1
zone:
${Object.keys(POD_ZONES).map((z) => `  - domain: "${z}"\n    file: "${zoneFile(dir, z)}"`).join("\n")}
`;
}

const LOCALDNS_CONFIG = {
  mode: "Required",
  listeners: { vnetDNS: [`${VNET_IP}:53`], kubeDNS: [`${KUBE_IP}:53`] },
  upstreams: { ClusterCoreDNS: [`${KNOT_IP}:53`], VnetDNS: [`${STUFFING_IP}:53`] },
  // a pod's names under these go the node's way, through the sloppy upstream that counts queries
  kubeDNSOverrides: { "stuffed.example": { forwardDestination: "VnetDNS" }, "broken.example": { forwardDestination: "VnetDNS" } },
  admin: { listen: null },
  cache: { snapshotPath: null },
};

async function waitFor(what: string, ok: () => boolean, output: () => string, ms = 10_000) {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (ok()) return;
    await sleep(50);
  }
  throw new Error(`${what} did not start: ${output()}`);
}

export async function startPod(): Promise<Pod> {
  if (!KNOTD) throw new Error("knotd is not installed");
  const ns = createNetns("ldns-clients");
  const dir = mkdtempSync(join(tmpdir(), "ldns-clients-"));
  try {
    for (const ip of [`${VNET_IP}/32`, `${KUBE_IP}/32`]) ns.exec("ip", ["addr", "add", ip, "dev", "lo"]);
    ns.exec("ip", ["-6", "addr", "add", `${POD_IPV6}/128`, "dev", "lo", "nodad"]);

    mkdirSync(join(dir, "zones"));
    mkdirSync(join(dir, "run"));
    for (const [zone, text] of Object.entries(POD_ZONES)) writeFileSync(zoneFile(dir, zone), text);
    writeFileSync(join(dir, "knot.conf"), knotConfig(dir));
    const knot = ns.start(KNOTD, ["-c", join(dir, "knot.conf")]);
    const knotAnswers = () => ns.exec("kdig", ["+short", "+time=1", "+retry=0", `@${KNOT_IP}`, "kubernetes.default.svc.cluster.local", "A"], { timeoutMs: 3000 }).stdout.includes("10.0.0.1");
    await waitFor("knotd", knotAnswers, knot.output);
    const stuffing = ns.start(process.execPath, [join(import.meta.dir, "stuffing-upstream.ts"), STUFFING_IP, KNOT_IP]);
    await waitFor("stuffing upstream", () => stuffing.output().includes("READY"), stuffing.output);

    writeFileSync(join(dir, "localdns.json"), JSON.stringify(LOCALDNS_CONFIG, null, 2));
    const ldns = ns.start(BINARY, ["run", "--config", join(dir, "localdns.json")]);
    await waitFor("localdns", () => ldns.output().includes("localdns started") || ldns.exitCode !== null, ldns.output);
    if (ldns.exitCode !== null) throw new Error(`localdns exited ${ldns.exitCode}: ${ldns.output()}`);

    return {
      ns, dir,
      resolvConf(label, text) {
        const path = join(dir, `resolv-${label}.conf`);
        writeFileSync(path, text);
        return path;
      },
      async reloadZone(zone, text) {
        writeFileSync(zoneFile(dir, zone), text);
        const serial = /SOA\s+\S+\s+\S+\s+(\d+)/.exec(text)![1];
        const r = ns.exec("knotc", ["-s", join(dir, "knot.sock"), "zone-reload", zone]);
        if (r.status !== 0) throw new Error(`knotc zone-reload ${zone}: ${r.stdout}${r.stderr}`);
        const loaded = () => ns.exec("kdig", ["+short", "+time=1", "+retry=0", `@${KNOT_IP}`, zone, "SOA"], { timeoutMs: 3000 }).stdout.split(/\s+/)[2] === serial;
        await waitFor(`zone ${zone} serial ${serial}`, loaded, knot.output, 5000);
      },
      run(resolv, cmd, args, opts = {}) {
        const timeoutMs = opts.timeoutMs ?? 30_000;
        const t0 = performance.now();
        // "$0" is the resolv.conf; the private mount namespace ends with the command
        const p = spawn("ip", ["netns", "exec", ns.name, "unshare", "-m", "--propagation", "private", "sh", "-c", 'mount --bind "$0" /etc/resolv.conf && exec "$@"', resolv, cmd, ...args], {
          stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env },
        });
        let stdout = "";
        let stderr = "";
        p.stdout.on("data", (d) => { stdout += d; });
        p.stderr.on("data", (d) => { stderr += d; });
        const timer = setTimeout(() => { stderr += `\nkilled after ${timeoutMs} ms`; p.kill("SIGKILL"); }, timeoutMs);
        return new Promise((resolve) => p.once("close", (code) => {
          clearTimeout(timer);
          resolve({ status: code ?? 128, stdout, stderr, ms: performance.now() - t0 });
        }));
      },
      localdnsOutput: ldns.output,
      upstreamQueries: (name, type) => stuffing.output().split("\n").filter((l) => l === `Q ${name} ${type}`).length,
      destroy() { ns.destroy(); rmSync(dir, { recursive: true, force: true }); },
    };
  } catch (e) {
    ns.destroy();
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}
