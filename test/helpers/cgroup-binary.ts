// Runs dist/localdns inside a memory cgroup from its first byte: a shell writes its own PID into the
// group's cgroup.procs and then execs the binary, so the binary keeps that PID and never allocates
// outside the limit. Its output is either collected, or sent into a pipe that nobody reads (a stuck
// journald): a FIFO whose read end this process holds open and never reads, so the kernel's pipe
// buffer (64 KiB) fills and stays full whatever the test runner's own stream handling does.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, constants, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "./binary";
import type { MemoryCgroup } from "./cgroup";
import { query, sleep } from "./dns";

export interface CgroupBinary {
  proc: ChildProcess;
  pid: number;
  dir: string;
  configPath: string;
  /** stdout + stderr so far ("" when the output is a stuck pipe) */
  output(): string;
  exited(): boolean;
  /** resolves when the process has exited: its exit code, or the signal that ended it */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  writeConfig(config: Record<string, unknown>): void;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** removes the temp directory unless keepDir */
  cleanup(): void;
}

/** The wrapper: joins the cgroup, then becomes the binary (same PID). */
export function inCgroupArgv(cg: MemoryCgroup, args: string[]): [string, string[]] {
  return ["sh", ["-c", 'echo $$ > "$1" || exit 97; shift; exec "$@"', "sh", cg.procsFile, BINARY, ...args]];
}

export async function startInCgroup(cg: MemoryCgroup, config: Record<string, unknown>, o: {
  ready?: { host: string; port: number }; stuckOutput?: boolean; dir?: string; readyTimeoutMs?: number;
} = {}): Promise<CgroupBinary> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), "ldns-cg-"));
  const configPath = join(dir, "localdns.json");
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  let stuckRead: number | null = null;
  let writeEnd: number | null = null;
  let stdio: any = ["ignore", "pipe", "pipe"];
  if (o.stuckOutput) {
    const fifo = join(dir, "stdout.fifo");
    if (spawnSync("mkfifo", [fifo]).status !== 0) throw new Error("mkfifo failed");
    stuckRead = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK); // held, never read
    writeEnd = openSync(fifo, constants.O_WRONLY);
    stdio = ["ignore", writeEnd, writeEnd];
  }
  const [cmd, args] = inCgroupArgv(cg, ["run", "--config", configPath]);
  const proc = spawn(cmd, args, { stdio });
  if (writeEnd !== null) closeSync(writeEnd); // the child has its own copy
  let out = "";
  proc.stdout?.on("data", (d) => { out += d; });
  proc.stderr?.on("data", (d) => { out += d; });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => proc.once("exit", (code, signal) => res({ code, signal })));
  let exitedFlag = false;
  void exit.then(() => { exitedFlag = true; if (stuckRead !== null) { closeSync(stuckRead); stuckRead = null; } });
  const b: CgroupBinary = {
    proc, pid: proc.pid!, dir, configPath,
    output: () => out,
    exited: () => exitedFlag,
    exit,
    writeConfig: (c) => writeFileSync(configPath, JSON.stringify(c, null, 2)),
    async stop(signal = "SIGTERM") {
      if (!exitedFlag) proc.kill(signal);
      const t = setTimeout(() => { if (!exitedFlag) proc.kill("SIGKILL"); }, 10_000);
      const r = await exit;
      clearTimeout(t);
      return r;
    },
    cleanup() { if (!o.dir) rmSync(dir, { recursive: true, force: true }); },
  };
  if (o.ready) {
    const until = Date.now() + (o.readyTimeoutMs ?? 10_000);
    for (;;) {
      if (exitedFlag) { b.cleanup(); throw new Error(`localdns exited before answering: ${JSON.stringify(await exit)} ${out.slice(-2000)}`); }
      try {
        await query(o.ready.host, o.ready.port, "health-check.localdns.local", "A", { timeoutMs: 200 });
        break;
      } catch {
        if (Date.now() > until) { await b.stop("SIGKILL"); b.cleanup(); throw new Error(`localdns did not answer: ${out.slice(-2000)}`); }
        await sleep(50);
      }
    }
  }
  return b;
}
