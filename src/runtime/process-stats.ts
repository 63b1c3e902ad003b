// The process's own resource use as Prometheus's process collector reports it, read from /proc/self
// (Linux). node:fs behaves the same on Bun and Deno, so both adapters share this. Elsewhere (no
// /proc) it returns null and the process_* families are left out.
import { readFileSync, readdirSync } from "node:fs";

export interface ProcessStats {
  cpuSeconds: number;
  openFds: number;
  maxFds: number;
  startTimeSeconds: number;
}

// The kernel reports CPU times and start time in USER_HZ ticks: 100 on every Linux ABI in use
// (Prometheus's procfs library assumes the same)
const USER_HZ = 100;

let bootTime: number | null | undefined;
/** The boot time (seconds since the epoch) from /proc/stat; it never changes, so it is read once. */
function bootTimeSeconds(): number | null {
  if (bootTime === undefined) {
    const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith("btime "));
    bootTime = line ? Number(line.slice(6)) : null;
  }
  return bootTime;
}

export function readProcessStats(): ProcessStats | null {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // the command name (field 2) is in parentheses and may hold spaces: count fields after the last ')'
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // f[0] is field 3 (state): utime is field 14, stime 15, starttime 22
    const utime = Number(f[11]);
    const stime = Number(f[12]);
    const startTicks = Number(f[19]);
    const limits = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"));
    const soft = limits?.slice("Max open files".length).trim().split(/\s+/)[0];
    const boot = bootTimeSeconds();
    return {
      cpuSeconds: (utime + stime) / USER_HZ,
      openFds: readdirSync("/proc/self/fd").length,
      maxFds: soft === undefined || soft === "unlimited" ? -1 : Number(soft),
      startTimeSeconds: boot === null ? 0 : boot + startTicks / USER_HZ,
    };
  } catch {
    return null;
  }
}
