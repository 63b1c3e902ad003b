// A throw-away network namespace for tests that change addresses and iptables rules: everything the
// test adds (including the 169.254.10.x listener addresses) exists only inside it.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";

export interface Netns {
  name: string;
  /** Runs a command inside the namespace and waits (bounded). */
  exec(cmd: string, args: string[], opts?: { env?: Record<string, string>; timeoutMs?: number }): { status: number; stdout: string; stderr: string };
  /** Starts a long-running command inside the namespace (`ip netns exec` execs it: the pid is its own). */
  start(cmd: string, args: string[], opts?: { env?: Record<string, string> }): ChildProcess & { output(): string };
  /** Kills everything started here and deletes the namespace; safe to call twice. */
  destroy(): void;
}

function run(cmd: string, args: string[], env?: Record<string, string>, timeoutMs = 30_000) {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: timeoutMs, env: { ...process.env, ...env } });
  return { status: r.status ?? 128, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

/** Why namespaces cannot be used here, or null when they can. */
export function netnsUnavailable(): string | null {
  if (process.platform !== "linux") return "not Linux";
  if (process.getuid?.() !== 0) return "needs root (ip netns add)";
  for (const tool of ["ip", "iptables"]) if (run("sh", ["-c", `command -v ${tool}`]).status !== 0) return `${tool} is not installed`;
  const probe = `ldns-probe-${process.pid}`;
  const r = run("ip", ["netns", "add", probe]);
  if (r.status !== 0) return `cannot create a network namespace: ${r.stderr.trim()}`;
  const t = run("ip", ["netns", "exec", probe, "iptables", "-w", "5", "-t", "raw", "-S"]);
  run("ip", ["netns", "del", probe]);
  if (t.status !== 0) return `no iptables raw table in a namespace: ${t.stderr.trim()}`;
  return null;
}

export function createNetns(prefix = "ldns-test"): Netns {
  const name = `${prefix}-${process.pid}`;
  run("ip", ["netns", "del", name]); // a leftover from an earlier run with the same pid
  const add = run("ip", ["netns", "add", name]);
  if (add.status !== 0) throw new Error(`ip netns add ${name}: ${add.stderr}`);
  const procs: ChildProcess[] = [];
  let destroyed = false;
  const ns: Netns = {
    name,
    exec: (cmd, args, o = {}) => run("ip", ["netns", "exec", name, cmd, ...args], o.env, o.timeoutMs),
    start(cmd, args, o = {}) {
      const p = spawn("ip", ["netns", "exec", name, cmd, ...args], { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...o.env } }) as ChildProcess & { output(): string };
      let out = "";
      p.stdout!.on("data", (d) => { out += d; });
      p.stderr!.on("data", (d) => { out += d; });
      p.output = () => out;
      procs.push(p);
      return p;
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
      run("ip", ["netns", "del", name]);
    },
  };
  ns.exec("ip", ["link", "set", "lo", "up"]);
  process.once("exit", () => ns.destroy()); // even when the test run is cut short
  return ns;
}
