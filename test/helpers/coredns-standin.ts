// A CoreDNS pod stand-in: knotd inside a network namespace on a pod address, serving the test zones,
// with Knot's statistics module counting every query it receives (read with knotc).
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Netns } from "./netns";
import { KNOTD } from "./knot";

export interface StandIn { ip: string; queries(): number; stop(): void }

const KNOTC = ["/usr/sbin/knotc", "/usr/bin/knotc"].find((p) => spawnSync("test", ["-x", p]).status === 0) ?? null;
export const standInUnavailable = (): string | null => (KNOTD && KNOTC ? null : "knotd/knotc are not installed (apt-get install knot)");

export async function startStandIn(ns: Netns, ip: string, dir: string, zones: Record<string, string>): Promise<StandIn> {
  mkdirSync(join(dir, "zones"), { recursive: true });
  mkdirSync(join(dir, "run"), { recursive: true });
  for (const [name, text] of Object.entries(zones)) writeFileSync(join(dir, "zones", `${name}.zone`), text);
  const conf = join(dir, "knot.conf");
  writeFileSync(conf, `server:
    rundir: "${dir}/run"
    listen: ${ip}@53
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
control:
    listen: "${dir}/run/knot.sock"
database:
    storage: "${dir}/run"
log:
  - target: stderr
    any: warning
mod-stats:
  - id: count
    request-protocol: on
template:
  - id: default
    storage: "${dir}/zones"
    file: "%s.zone"
    journal-content: none
    zonefile-sync: -1
    global-module: mod-stats/count
zone:
${Object.keys(zones).map((z) => `  - domain: ${z}`).join("\n")}
`);
  ns.exec("ip", ["addr", "add", `${ip}/32`, "dev", "lo"]);
  const proc = ns.start(KNOTD!, ["-c", conf]);
  const queries = () => {
    const r = spawnSync(KNOTC!, ["-c", conf, "stats", "mod-stats.server-operation"], { encoding: "utf8", timeout: 10_000 });
    if (r.status !== 0) throw new Error(`knotc stats at ${ip}: ${r.stderr}`);
    return Number(/server-operation\[query\] = (\d+)/.exec(r.stdout)?.[1] ?? 0);
  };
  for (let i = 0; i < 50; i++) {
    if (proc.exitCode !== null) break;
    if (spawnSync(KNOTC!, ["-c", conf, "status"], { timeout: 5000 }).status === 0) return { ip, queries, stop: () => proc.kill("SIGTERM") };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`knotd did not start on ${ip}: ${proc.output()}`);
}
