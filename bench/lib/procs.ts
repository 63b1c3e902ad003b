// Process bookkeeping for the benchmark: every server is started pinned (taskset execs the command,
// so the PID is the server's own), remembered, and stopped by that PID only: TERM, then KILL after
// 3 s. Nothing here signals a process the harness did not start.
import { openSync, closeSync, readFileSync, readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";

declare const Bun: any;

export interface Proc { name: string; pid: number; cpus: string; log: string; sub: any }

const started: Proc[] = [];

export function startPinned(name: string, cpus: string | null, cmd: string[], log: string, env?: Record<string, string>): Proc {
  const fd = openSync(log, "w");
  const argv = cpus === null ? cmd : ["taskset", "-c", cpus, ...cmd];
  const sub = Bun.spawn(argv, { stdin: "ignore", stdout: fd, stderr: fd, env: { ...process.env, ...env } });
  closeSync(fd);
  const p: Proc = { name, pid: sub.pid, cpus: cpus ?? "any", log, sub };
  started.push(p);
  return p;
}

export function alive(p: Proc): boolean { return p.sub.exitCode === null && p.sub.signalCode === null; }

export async function stop(p: Proc, graceMs = 3000): Promise<void> {
  const i = started.indexOf(p);
  if (i >= 0) started.splice(i, 1);
  if (!alive(p)) return;
  p.sub.kill("SIGTERM");
  const t = setTimeout(() => { if (alive(p)) p.sub.kill("SIGKILL"); }, graceMs);
  await p.sub.exited;
  clearTimeout(t);
}

export async function stopAll(): Promise<void> {
  for (const p of [...started].reverse()) await stop(p);
}

/** Last resort (process "exit" handler, synchronous): KILL whatever we started that still runs. */
export function killAllSync(): void {
  for (const p of started) if (alive(p)) { try { p.sub.kill("SIGKILL"); } catch { /* gone */ } }
}

export const CLK_TCK = Number(spawnSync("getconf", ["CLK_TCK"]).stdout?.toString().trim()) || 100;

/** utime and stime of the whole process (all threads), in seconds. */
export function cpuSplit(pid: number): { user: number; sys: number } {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    return { user: Number(f[11]) / CLK_TCK, sys: Number(f[12]) / CLK_TCK }; // fields 14 and 15 of stat(5)
  } catch { return { user: NaN, sys: NaN }; }
}

/** utime + stime of the whole process (all threads), in seconds. */
export function cpuSeconds(pid: number): number {
  const c = cpuSplit(pid);
  return c.user + c.sys;
}

export interface TaskStats { cpuByThread: Record<string, number>; voluntary: number; involuntary: number }

/** Per-thread CPU seconds (threads of the same name summed) and context switches over all threads:
 * a profile without perf. Voluntary switches are the thread going to sleep (≈ wake-ups). */
export function taskStats(pid: number): TaskStats {
  const out: TaskStats = { cpuByThread: {}, voluntary: 0, involuntary: 0 };
  let tids: string[] = [];
  try { tids = readdirSync(`/proc/${pid}/task`); } catch { return out; }
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const name = comm.replace(/[\d:]+$/, "") || comm; // "bun-worker-3" and "bun-worker-4" count as one
      out.cpuByThread[name] = (out.cpuByThread[name] ?? 0) + (Number(f[11]) + Number(f[12])) / CLK_TCK;
      const st = readFileSync(`/proc/${pid}/task/${tid}/status`, "utf8");
      out.voluntary += Number(st.match(/^voluntary_ctxt_switches:\s+(\d+)/m)?.[1] ?? 0);
      out.involuntary += Number(st.match(/^nonvoluntary_ctxt_switches:\s+(\d+)/m)?.[1] ?? 0);
    } catch { /* the thread ended */ }
  }
  return out;
}

/** b − a per thread name (threads that came or went count from zero). */
export function taskDelta(a: TaskStats, b: TaskStats): TaskStats {
  const cpu: Record<string, number> = {};
  for (const k of new Set([...Object.keys(a.cpuByThread), ...Object.keys(b.cpuByThread)])) cpu[k] = (b.cpuByThread[k] ?? 0) - (a.cpuByThread[k] ?? 0);
  return { cpuByThread: cpu, voluntary: b.voluntary - a.voluntary, involuntary: b.involuntary - a.involuntary };
}

/** Number of threads of a process (/proc/PID/status Threads). */
export function threadCount(pid: number): number {
  try { return Number(readFileSync(`/proc/${pid}/status`, "utf8").match(/^Threads:\s+(\d+)/m)?.[1] ?? NaN); } catch { return NaN; }
}

/** PIDs we started that are pinned to exactly this CPU set. */
export function pinnedTo(cpus: string): number[] {
  return started.filter((p) => p.cpus === cpus && alive(p)).map((p) => p.pid);
}

/** busy and total jiffies of one CPU from /proc/stat (busy includes steal: time the VM did not get). */
export function cpuJiffies(cpu: string): { busy: number; total: number } {
  const line = readFileSync("/proc/stat", "utf8").split("\n").find((l) => l.startsWith(`cpu${cpu} `));
  if (!line) return { busy: NaN, total: NaN };
  const f = line.trim().split(/\s+/).slice(1).map(Number); // user nice system idle iowait irq softirq steal
  const idle = f[3] + f[4];
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** A field of /proc/PID/status in KiB (VmRSS, VmHWM). */
export function statusKiB(pid: number, field: string): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`^${field}:\\s+(\\d+) kB`, "m"));
    return m ? Number(m[1]) : NaN;
  } catch { return NaN; }
}

/** TX packets of every interface except lo (proof that nothing left the machine). */
export function nonLoopbackTx(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of readFileSync("/proc/net/dev", "utf8").split("\n").slice(2)) {
    const i = line.indexOf(":");
    if (i < 0) continue;
    const name = line.slice(0, i).trim();
    if (name === "lo") continue;
    out[name] = Number(line.slice(i + 1).trim().split(/\s+/)[9]) || 0;
  }
  return out;
}

/** Per-interface TX delta over the interfaces present at both times (test interfaces come and go). */
export function txDelta(a: Record<string, number>, b: Record<string, number>): Record<string, number> {
  const d: Record<string, number> = {};
  for (const k of Object.keys(b)) if (k in a) d[k] = b[k] - a[k];
  return d;
}

export function sh(cmd: string[], timeoutMs = 10000): string {
  const r = spawnSync(cmd[0], cmd.slice(1), { timeout: timeoutMs });
  return `${r.stdout?.toString() ?? ""}${r.stderr?.toString() ?? ""}`;
}
