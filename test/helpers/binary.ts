// Runs the compiled single binary with a config file and waits until it answers.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { query, sleep } from "./dns";

export const BINARY = join(import.meta.dir, "../../dist/localdns");

export interface RunningBinary { proc: ChildProcess; stdout: () => string; stderr: () => string; dir: string; configPath: string; stop(signal?: NodeJS.Signals): Promise<number | null> }

let seq = 0;
export function freePort(): number { return 30000 + ((process.pid * 31 + seq++ * 97) % 25000); }

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
