// Runs the compiled single binary with a config file and waits until it answers.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { query, sleep } from "./dns";

// LOCALDNS_BINARY picks another build (relative to the repo root), e.g. dist/localdns-deno.
export const BINARY = resolve(join(import.meta.dir, "../.."), process.env.LOCALDNS_BINARY || "dist/localdns");

export interface RunningBinary { proc: ChildProcess; stdout: () => string; stderr: () => string; dir: string; configPath: string; stop(signal?: NodeJS.Signals): Promise<number | null> }

let seq = 0;
declare const Bun: any;
const tcpFree = (port: number): boolean => {
  try { Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true); return true; } catch { return false; }
};
/** A port p such that p and p + 1 are free for TCP on 127.0.0.1 right now. Chosen below the kernel's
 * ephemeral range (32768+), where outgoing connections of parallel work would otherwise collide. */
export function freePort(): number {
  for (let i = 0; i < 200; i++) {
    const p = 10000 + ((process.pid * 31 + seq++ * 97) % 20000);
    if (tcpFree(p) && tcpFree(p + 1)) return p;
  }
  throw new Error("no free port pair found");
}

export async function runBinary(config: Record<string, unknown>, opts: { probe?: { host: string; port: number }; env?: Record<string, string> } = {}): Promise<RunningBinary> {
  const dir = mkdtempSync(join(tmpdir(), "ldns-bin-"));
  const configPath = join(dir, "localdns.json");
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const proc = spawn(BINARY, ["run", "--config", configPath], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...opts.env } });
  let out = "";
  let err = "";
  proc.stdout!.on("data", (d) => { out += d; });
  proc.stderr!.on("data", (d) => { err += d; });
  const r: RunningBinary = {
    proc, dir, configPath, stdout: () => out, stderr: () => err,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill(signal);
        await new Promise((res) => proc.once("exit", res));
      }
      rmSync(dir, { recursive: true, force: true });
      return proc.exitCode;
    },
  };
  if (opts.probe) {
    for (let i = 0; i < 100; i++) {
      if (proc.exitCode !== null) throw new Error(`localdns exited ${proc.exitCode}: ${out}${err}`);
      try {
        await query(opts.probe.host, opts.probe.port, "health-check.localdns.local", "A", { timeoutMs: 200 });
        return r;
      } catch { await sleep(50); }
    }
    await r.stop("SIGKILL");
    throw new Error(`localdns did not answer: ${out}${err}`);
  }
  return r;
}
