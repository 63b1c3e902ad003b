// Where localdns spends its CPU under a benchmark load (the harness's targets point here when missed).
//
//   ./node_modules/.bin/bun bench/profile.ts [hits|miss] [--qps N] [--seconds S]
//
// Same loopback set-up as bench/run.ts (knotd upstream on 127.0.0.2:5390, localdns pinned to
// SERVER_CPU, dnsperf pinned to LOAD_CPU), then:
//   A. the JS view: `bun --cpu-prof-md src/main.ts run` (from source) under the load; prints the top of
//      the "Hot Functions (Self Time)" table Bun writes;
//   B. the whole-process view (if `perf` is installed): dist/localdns under the same load; perf counts
//      of the UDP syscalls and context switches, then `perf record -g` split by DSO (kernel, the
//      binary's native code, JIT code, libc) and by the syscalls the kernel time is spent under.
// hits: all answers from cache (warmed first); miss: every query a new name under the wildcard zone.
// Only loopback; only the processes it starts are stopped. Files under WORK (default /tmp/localdns-profile).
import { mkdirSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { spawnSync } from "node:child_process";
import { startPinned, stop, stopAll } from "./lib/procs";
import { dnsperf } from "./lib/dnsperf";
import { waitAnswer } from "./lib/dns";
import { writeUniqueNames, localdnsConf, CLUSTER } from "./lib/setup";
import { startLoopbackBench } from "./lib/loopback";

declare const Bun: any;

const ROOT = resolve(import.meta.dir, "..");
const mode = process.argv[2] === "miss" ? "miss" : "hits";
const opt = (k: string, d: number) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const QPS = opt("qps", mode === "hits" ? 100_000 : 10_000);
const SECONDS = opt("seconds", 6);
const S = process.env.SERVER_CPU ?? "0", L = process.env.LOAD_CPU ?? "1";
const WORK = process.env.WORK ?? "/tmp/localdns-profile";
const KUBE = 5494, VNET = 5493;
const BUN = process.execPath;
const log = (m: string) => process.stderr.write(`[profile] ${m}\n`);
const { A, Q, knot } = await startLoopbackBench(WORK, S);
const cfg = localdnsConf(WORK, "localdns", A, VNET, KUBE, `${A.up}:${A.upPort}`);
let fileSeq = 0;

async function load(): Promise<string> {
  if (mode === "hits") {
    await dnsperf({ server: A.listen, port: KUBE, file: Q.hits, cpu: L, runs: 2, qps: 20_000 });
    return Q.hits;
  }
  return writeUniqueNames(join(WORK, `q-miss-${fileSeq}.txt`), `p${Date.now() % 1e6}x${fileSeq++}`, QPS * (SECONDS + 2));
}

// ---- A. bun --cpu-prof from source
{
  const dir = join(WORK, "cpuprof");
  mkdirSync(dir, { recursive: true });
  const p = startPinned("localdns-src", S, [BUN, "--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${dir}`, "--cpu-prof-interval=250", join(ROOT, "src/main.ts"), "run", "--config", cfg], join(WORK, "logs/localdns-src.log"));
  if (!(await waitAnswer(A.listen, KUBE, CLUSTER(1)))) throw new Error("localdns (source) did not answer");
  const file = await load();
  const d = await dnsperf({ server: A.listen, port: KUBE, file, cpu: L, durationS: SECONDS, qps: QPS });
  log(`A: bun --cpu-prof, ${mode} at ${QPS} QPS asked: ${d.qps.toFixed(0)} QPS reached, ${d.lost} lost`);
  await stop(p, 10000);
  const md = readdirSync(dir).find((f) => f.endsWith(".md"));
  if (md) {
    const text = readFileSync(join(dir, md), "utf8");
    const i = text.indexOf("## Hot Functions");
    console.log(`\n## A. JS profile (${join(dir, md)})\n`);
    console.log(text.slice(0, text.indexOf("\n## ")).trim());
    console.log(text.slice(i).split("\n").slice(0, 32).join("\n"));
  } else log("no profile written");
}

// ---- B. perf on the compiled binary
if (spawnSync("sh", ["-c", "command -v perf"]).status === 0) {
  const p = startPinned("localdns", S, [join(ROOT, "dist/localdns"), "run", "--config", cfg], join(WORK, "logs/localdns.log"));
  if (!(await waitAnswer(A.listen, KUBE, CLUSTER(1)))) throw new Error("localdns did not answer");
  const file = await load();
  const running = dnsperf({ server: A.listen, port: KUBE, file, cpu: L, durationS: SECONDS, qps: QPS });
  await Bun.sleep(500);
  const window = Math.max(1, Math.floor((SECONDS - 1) / 2));
  const stat = spawnSync("timeout", [String(window + 10), "perf", "stat", "-x,", "-e",
    "syscalls:sys_enter_recvmmsg,syscalls:sys_enter_sendmmsg,syscalls:sys_enter_epoll_pwait2,syscalls:sys_enter_socket,context-switches,task-clock",
    "-p", String(p.pid), "--", "sleep", String(window)]).stderr.toString();
  const data = join(WORK, "perf.data");
  spawnSync("timeout", [String(window + 10), "perf", "record", "-F", "2000", "-g", "-o", data, "-p", String(p.pid), "--", "sleep", String(window)], { stdio: "ignore" });
  const d = await running;
  console.log(`\n## B. perf on dist/localdns, ${mode} at ${QPS} QPS asked: ${d.qps.toFixed(0)} reached\n`);
  console.log(`perf stat over ${window} s (${Math.round(d.qps * window)} queries at that rate):\n`);
  for (const line of stat.split("\n").filter((l) => /^\d|^[\d.]+,/.test(l))) {
    const f = line.split(",");
    console.log(`  ${f[2].padEnd(34)} ${f[0]}`);
  }
  const report = (args: string[]) => spawnSync("perf", ["report", "-i", data, "--stdio", ...args], { maxBuffer: 64 << 20 }).stdout.toString()
    .split("\n").filter((l) => l.trim() !== "" && !l.startsWith("#"));
  console.log("\nby DSO (self):\n");
  console.log(report(["--no-children", "--sort", "dso", "-g", "none"]).slice(0, 8).join("\n"));
  console.log("\nkernel time under each syscall (children):\n");
  console.log(report(["--children", "--sort", "sym", "-g", "none"]).filter((l) => /__x64_sys_|handle_softirqs/.test(l)).slice(0, 10).join("\n"));
  console.log("\ntop symbols (self):\n");
  console.log(report(["--no-children", "--sort", "dso,sym", "-g", "none"]).slice(0, 25).join("\n"));
  await stop(p);
} else log("perf not installed: part B skipped");

await stop(knot);
await stopAll();
process.exit(0);
