// A memory-limited cgroup (cgroup v1 memory controller) for running dist/localdns as its unit does
// with MemoryMax=128M. The group is a child of this process's own memory cgroup, so it works inside a
// container that was given its own subtree. It reads what v1 exposes: usage, peak (resettable), the
// number of times the limit was hit (failcnt) and the OOM kills inside the group (oom_control).
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface MemoryCgroup {
  path: string;
  /** the file a process writes its PID into to join */
  procsFile: string;
  limitBytes: number;
  usageBytes(): number;
  /** highest usage since creation or the last resetPeak() */
  peakBytes(): number;
  resetPeak(): void;
  /** anonymous memory charged to the group now (memory.stat rss: heap, buffers, wasm memory) */
  anonBytes(): number;
  /** times usage hit the limit (the kernel then reclaimed, or killed) */
  failcnt(): number;
  /** processes the kernel OOM-killed inside this group */
  oomKills(): number;
  pids(): number[];
  /** removes the (empty) group; safe to call twice */
  remove(): void;
}

const V1_MOUNT = "/sys/fs/cgroup/memory";

/** This process's memory cgroup directory (v1), or an explanation why there is none. */
function ownMemoryCgroup(): string | { reason: string } {
  if (process.platform !== "linux") return { reason: "not Linux" };
  let text: string;
  try { text = readFileSync("/proc/self/cgroup", "utf8"); } catch (e) { return { reason: `cannot read /proc/self/cgroup: ${(e as Error).message}` }; }
  // v1 lines look like "4:memory:/some/path"; a v2-only host has just "0::/path"
  const line = text.split("\n").find((l) => l.split(":")[1]?.split(",").includes("memory"));
  if (!line) return { reason: "no cgroup v1 memory controller (cgroup v2 only, or none): the suite needs memory.limit_in_bytes" };
  const rel = line.slice(line.indexOf(":", line.indexOf(":") + 1) + 1);
  for (const dir of [join(V1_MOUNT, rel), V1_MOUNT]) if (existsSync(join(dir, "memory.limit_in_bytes"))) return dir;
  return { reason: `memory cgroup ${rel} is not mounted at ${V1_MOUNT}` };
}

const readNumber = (file: string): number => Number(readFileSync(file, "utf8").trim());

export function createMemoryCgroup(name: string, limitBytes: number): MemoryCgroup {
  const parent = ownMemoryCgroup();
  if (typeof parent !== "string") throw new Error(parent.reason);
  const path = join(parent, name);
  if (existsSync(path)) { try { rmdirSync(path); } catch { /* a leftover still in use: mkdir fails below */ } }
  mkdirSync(path);
  const file = (f: string) => join(path, f);
  try {
    writeFileSync(file("memory.limit_in_bytes"), String(limitBytes));
    // with swap accounting, the limit must cover memory+swap too, or the process would swap instead
    if (existsSync(file("memory.memsw.limit_in_bytes"))) writeFileSync(file("memory.memsw.limit_in_bytes"), String(limitBytes));
    const set = readNumber(file("memory.limit_in_bytes"));
    if (set !== limitBytes) throw new Error(`memory.limit_in_bytes reads back ${set}, not ${limitBytes}`);
  } catch (e) {
    try { rmdirSync(path); } catch { /* nothing to undo */ }
    throw e;
  }
  let removed = false;
  const cg: MemoryCgroup = {
    path, procsFile: file("cgroup.procs"), limitBytes,
    usageBytes: () => readNumber(file("memory.usage_in_bytes")),
    peakBytes: () => readNumber(file("memory.max_usage_in_bytes")),
    resetPeak: () => writeFileSync(file("memory.max_usage_in_bytes"), "0"),
    failcnt: () => readNumber(file("memory.failcnt")),
    anonBytes: () => Number(/^rss (\d+)$/m.exec(readFileSync(file("memory.stat"), "utf8"))?.[1] ?? NaN),
    oomKills: () => {
      const m = /^oom_kill (\d+)$/m.exec(readFileSync(file("memory.oom_control"), "utf8"));
      // kernels before 4.13 have no oom_kill line: count under_oom episodes is all there is
      if (!m) throw new Error("memory.oom_control has no oom_kill counter on this kernel");
      return Number(m[1]);
    },
    pids: () => readFileSync(file("cgroup.procs"), "utf8").split("\n").filter(Boolean).map(Number),
    remove() {
      if (removed) return;
      removed = true;
      try { rmdirSync(path); } catch { /* still has a process: the caller kills it first */ }
    },
  };
  process.once("exit", () => cg.remove());
  return cg;
}

/** Why no memory-limited cgroup can be made here, or null when it can (tried for real). */
export function memoryCgroupUnavailable(): string | null {
  if (process.getuid?.() !== 0) return "needs root to create a memory cgroup";
  const parent = ownMemoryCgroup();
  if (typeof parent !== "string") return parent.reason;
  try {
    const cg = createMemoryCgroup(`ldns-probe-${process.pid}`, 128 << 20);
    cg.oomKills();
    cg.resetPeak();
    cg.remove();
    return null;
  } catch (e) {
    return `cannot create a memory cgroup under ${parent}: ${(e as Error).message}`;
  }
}
