// The loopback bench set-up the narrower scripts share (profile, tail, workers): the addresses, a
// fresh work directory with the zones and query files, knotd as the upstream, and every process
// this script started stopped when it ends.
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { startPinned, stopAll, killAllSync, type Proc } from "./procs";
import { waitAnswer } from "./dns";
import { writeZones, writeQueryFiles, knotConf, CLUSTER, type Addrs } from "./setup";

export const LOOPBACK: Addrs = { listen: "127.0.0.1", up: "127.0.0.2", upPort: 5390, relay: "127.0.0.3", relayPort: 5390, relayControl: 5391 };

export interface LoopbackBench { A: Addrs; Q: ReturnType<typeof writeQueryFiles>; knot: Proc }

/** Work directory `work` made afresh, 1,000 names per zone, knotd answering (pinned to `knotCpu`). */
export async function startLoopbackBench(work: string, knotCpu: string | null): Promise<LoopbackBench> {
  process.on("exit", killAllSync);
  for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, async () => { await stopAll(); process.exit(130); });
  rmSync(work, { recursive: true, force: true });
  mkdirSync(join(work, "logs"), { recursive: true });
  writeZones(work, LOOPBACK, 1000);
  const Q = writeQueryFiles(work, 1000);
  const knot = startPinned("knotd", knotCpu, ["knotd", "-c", knotConf(work, LOOPBACK)], join(work, "logs/knotd.log"));
  if (!(await waitAnswer(LOOPBACK.up, LOOPBACK.upPort, CLUSTER(0)))) throw new Error("knotd did not start");
  return { A: LOOPBACK, Q, knot };
}
