// The process's own resource use as Prometheus's process collector reports it. CPU time and the start
// time come from node:process and performance, which Bun and Deno both have; the file descriptors
// from /proc/self (Linux), which Deno refuses to read without --allow-all: there, and off Linux,
// those two are null and their families are left out.
import { readFileSync, readdirSync } from "node:fs";
import process from "node:process";

export interface ProcessStats {
  cpuSeconds: number;
  startTimeSeconds: number;
  openFds: number | null;
  /** The soft limit; -1 when unlimited. */
  maxFds: number | null;
}

function fds(): { open: number; max: number } | null {
  try {
    const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    if (soft === undefined) return null;
    return { open: readdirSync("/proc/self/fd").length, max: soft === "unlimited" ? -1 : Number(soft) };
  } catch {
    return null;
  }
}

export function readProcessStats(): ProcessStats {
  const cpu = process.cpuUsage(); // microseconds, user and system
  const f = fds();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    // performance's origin is when the runtime started this process
    startTimeSeconds: performance.timeOrigin / 1000,
    openFds: f?.open ?? null,
    maxFds: f?.max ?? null,
  };
}
