// A real authoritative DNS server (knotd) on loopback, serving test zones, as the upstream.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { udpRaw, makeQuery, sleep } from "./dns";

export const KNOTD = ["/usr/sbin/knotd", "/usr/bin/knotd"].find((p) => spawnSync("test", ["-x", p]).status === 0) ?? null;

export interface Knot { host: string; port: number; stop(): Promise<void>; dir: string; proc: ChildProcess }

export const EXAMPLE_ZONE = `$ORIGIN example.com.
$TTL 300
@ IN SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 60
@ IN NS ns.example.com.
ns IN A 127.0.0.2
www IN A 192.0.2.1
www IN AAAA 2001:db8::1
alias IN CNAME alias2.example.com.
alias2 IN CNAME www.example.com.
@ IN MX 10 mail.example.com.
mail IN A 192.0.2.25
_sip._tcp IN SRV 10 60 5060 sip.example.com.
sip IN A 192.0.2.26
txt IN TXT "hello" "world" "third string"
short IN 7 A 192.0.2.7
${Array.from({ length: 12 }, (_, i) => `big IN TXT "${"x".repeat(200)}${i}"`).join("\n")}
`;
export const CLUSTER_ZONE = `$ORIGIN cluster.local.
$TTL 30
@ IN SOA ns.cluster.local. hostmaster.cluster.local. 1 3600 600 86400 30
@ IN NS ns.cluster.local.
ns IN A 127.0.0.2
kubernetes.default.svc IN A 10.0.0.1
${Array.from({ length: 50 }, (_, i) => `svc-${i}.ns.svc IN A 10.96.0.${i + 1}`).join("\n")}
`;
export const REVERSE_ZONE = `$ORIGIN 2.0.192.in-addr.arpa.
$TTL 300
@ IN SOA ns.example.com. hostmaster.example.com. 1 3600 600 86400 60
@ IN NS ns.example.com.
1 IN PTR www.example.com.
`;

let portSeq = 0;
export async function startKnot(host = "127.0.0.2", zones: Record<string, string> = { "example.com": EXAMPLE_ZONE, "cluster.local": CLUSTER_ZONE, "2.0.192.in-addr.arpa": REVERSE_ZONE }): Promise<Knot> {
  if (!KNOTD) throw new Error("knotd is not installed (apt-get install knot)");
  const dir = mkdtempSync(join(tmpdir(), "ldns-knot-"));
  mkdirSync(join(dir, "zones"));
  mkdirSync(join(dir, "run"));
  for (const [name, text] of Object.entries(zones)) writeFileSync(join(dir, "zones", `${name}.zone`), text);
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = 20000 + ((process.pid * 13 + portSeq++ * 101 + attempt * 7) % 20000);
    writeFileSync(join(dir, "knot.conf"), `server:
    rundir: "${dir}/run"
    listen: ${host}@${port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
database:
    storage: "${dir}/run"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "${dir}/zones"
    file: "%s.zone"
    journal-content: none
    zonefile-sync: -1
zone:
${Object.keys(zones).map((z) => `  - domain: ${z}`).join("\n")}
`);
    const proc = spawn(KNOTD, ["-c", join(dir, "knot.conf")], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    proc.stderr!.on("data", (d) => { stderr += d; });
    for (let i = 0; i < 50; i++) {
      if (proc.exitCode !== null) break;
      try {
        await udpRaw(host, port, makeQuery("example.com", "SOA"), 200);
        return {
          host, port, dir, proc,
          async stop() {
            proc.kill("SIGTERM");
            await new Promise((r) => (proc.exitCode !== null ? r(null) : proc.once("exit", r)));
            rmSync(dir, { recursive: true, force: true });
          },
        };
      } catch { await sleep(100); }
    }
    proc.kill("SIGKILL");
    if (!/address already in use|bind/i.test(stderr) && attempt === 4) throw new Error(`knotd did not start: ${stderr}`);
  }
  throw new Error("knotd did not start");
}
