// CPU per cache miss and idle RSS of localdns variants side by side, with a per-thread split: a narrow
// bench of the miss path (the full `npm run bench` takes its miss-path figure from the memory fill).
//
//   ./node_modules/.bin/bun bench/miss-path.ts
//
// Environment: ROUNDS (5), MISSES per run (20000), MISS_QPS (20000, the fill rate of npm run bench),
// VARIANTS: JSON list of { name, binary, env } (default: dist/localdns on the FFI path and with
// LOCALDNS_NO_FFI=1; BASE_BINARY adds a third, "base", on its FFI path), SERVER_CPU (0), LOAD_CPU (1).
// Each round starts a fresh instance of every variant (the order rotates each round), waits for its
// first answer, reads VmRSS 0.5 s later (idle), then sends MISSES new names under knotd's wildcard zone
// at MISS_QPS with dnsperf, reading /proc/PID/task/*/stat around it. Only loopback; only the processes
// it starts are stopped. PERF_DIR=dir: the last round is also recorded with perf record -g.
import { mkdirSync, rmSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";
import { startPinned, stop, stopAll, killAllSync, taskStats, taskDelta, cpuSeconds, statusKiB } from "./lib/procs";
import { dnsperf } from "./lib/dnsperf";
import { waitAnswer } from "./lib/dns";
import { median } from "./lib/dnsperf";
import { writeZones, writeUniqueNames, knotConf, localdnsConf, CLUSTER, type Addrs } from "./lib/setup";

interface Variant { name: string; binary: string; env?: Record<string, string> }

const ROOT = resolve(import.meta.dir, "..");
const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const ROUNDS = env("ROUNDS", 5), MISSES = env("MISSES", 20_000), QPS = env("MISS_QPS", 20_000);
const S = process.env.SERVER_CPU ?? "0", L = process.env.LOAD_CPU ?? "1";
const WORK = process.env.WORK ?? `/tmp/localdns-miss-path-${process.pid}`;
const A: Addrs = { listen: "127.0.0.1", up: "127.0.0.2", upPort: 5791, relay: "127.0.0.3", relayPort: 5791, relayControl: 5792 };
const KUBE = 5794, VNET = 5793;
const DIST = join(ROOT, "dist/localdns");
const VARIANTS: Variant[] = process.env.VARIANTS ? JSON.parse(process.env.VARIANTS) : [
  { name: "ffi", binary: DIST },
  { name: "noffi", binary: DIST, env: { LOCALDNS_NO_FFI: "1" } },
  ...(process.env.BASE_BINARY ? [{ name: "base", binary: process.env.BASE_BINARY }] : []),
];
const log = (m: string) => process.stderr.write(`[miss-path] ${m}\n`);
process.on("exit", killAllSync);
for (const sig of ["SIGINT", "SIGTERM"] as const) process.on(sig, async () => { await stopAll(); process.exit(130); });

interface Row { rssIdleMiB: number; anonIdleMiB: number; usPerMiss: number; byThread: Record<string, number>; sleepsPerMiss: number; completed: number; lost: number }

rmSync(WORK, { recursive: true, force: true });
mkdirSync(join(WORK, "logs"), { recursive: true });
writeZones(WORK, A, 10);
const cfg = localdnsConf(WORK, "localdns", A, VNET, KUBE, `${A.up}:${A.upPort}`);
const knot = startPinned("knotd", S, ["knotd", "-c", knotConf(WORK, A)], join(WORK, "logs/knotd.log"));
if (!(await waitAnswer(A.up, A.upPort, CLUSTER(0)))) throw new Error("knotd did not start");

const rows: Record<string, Row[]> = Object.fromEntries(VARIANTS.map((v) => [v.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  const order = VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length]);
  for (const v of order) {
    // the binary's pages all in the page cache first: RSS counts the mapped file pages fault-around
    // brings in, fewer for a binary partly evicted (a 2-3 MiB difference between two copies of one file)
    spawnSync("sh", ["-c", `cat "$0" > /dev/null`, v.binary]);
    const p = startPinned(v.name, S, [v.binary, "run", "--config", cfg], join(WORK, `logs/${v.name}.log`), v.env);
    if (!(await waitAnswer(A.listen, KUBE, CLUSTER(1)))) throw new Error(`${v.name} did not answer: ${readFileSync(p.log, "utf8").slice(-800)}`);
    await Bun.sleep(500);
    const rssIdleMiB = statusKiB(p.pid, "VmRSS") / 1024, anonIdleMiB = statusKiB(p.pid, "RssAnon") / 1024;
    const file = writeUniqueNames(join(WORK, "q.txt"), `r${r}${v.name}${Date.now() % 1e6}`, MISSES);
    const t0 = taskStats(p.pid), c0 = cpuSeconds(p.pid);
    // PERF_DIR: the last round's runs also recorded by perf (perf report -i DIR/NAME.data --sort comm,dso,sym)
    const perf = process.env.PERF_DIR && r === ROUNDS - 1
      ? Bun.spawn(["perf", "record", "-q", "-g", "-p", String(p.pid), "-o", join(process.env.PERF_DIR, `${v.name}.data`), "--", "sleep", String(Math.max(1, Math.floor(MISSES / QPS)))], { stdout: "ignore", stderr: "ignore" })
      : null;
    const d = await dnsperf({ server: A.listen, port: KUBE, file, cpu: L, runs: 1, qps: QPS });
    await perf?.exited;
    const c1 = cpuSeconds(p.pid), td = taskDelta(t0, taskStats(p.pid));
    const row: Row = {
      rssIdleMiB, anonIdleMiB, usPerMiss: (1e6 * (c1 - c0)) / d.completed, completed: d.completed, lost: d.lost,
      byThread: Object.fromEntries(Object.entries(td.cpuByThread).filter(([, s]) => s > 0).map(([k, s]) => [k, (1e6 * s) / d.completed])),
      sleepsPerMiss: td.voluntary / d.completed,
    };
    rows[v.name].push(row);
    log(`r${r} ${v.name}: ${row.usPerMiss.toFixed(1)} µs/miss, idle ${rssIdleMiB.toFixed(1)} MiB (anon ${anonIdleMiB.toFixed(1)}), sleeps/miss ${row.sleepsPerMiss.toFixed(2)}, lost ${d.lost}, by thread ${JSON.stringify(Object.fromEntries(Object.entries(row.byThread).map(([k, x]) => [k, Number(x.toFixed(1))])))}`);
    await stop(p);
  }
}
await stop(knot);

const f1 = (x: number) => x.toFixed(1);
const first = VARIANTS[0].name;
console.log(`\nmisses per run ${MISSES} at ${QPS} QPS, ${ROUNDS} rounds; medians (ratio to ${first})`);
console.log("| variant | CPU µs/miss | idle RSS MiB | of it anonymous | sleeps/miss | µs/miss by thread |");
console.log("|---|---|---|---|---|---|");
const med = (name: string, k: "usPerMiss" | "rssIdleMiB" | "anonIdleMiB" | "sleepsPerMiss") => median(rows[name].map((x) => x[k]));
for (const v of VARIANTS) {
  const threads = [...new Set(rows[v.name].flatMap((x) => Object.keys(x.byThread)))];
  const split = threads.map((t) => `${t} ${f1(median(rows[v.name].map((x) => x.byThread[t] ?? 0)))}`).join(", ");
  console.log(`| ${v.name} | ${f1(med(v.name, "usPerMiss"))} (${(med(v.name, "usPerMiss") / med(first, "usPerMiss")).toFixed(2)}×) | ${f1(med(v.name, "rssIdleMiB"))} | ${f1(med(v.name, "anonIdleMiB"))} | ${med(v.name, "sleepsPerMiss").toFixed(2)} | ${split} |`);
}
rmSync(WORK, { recursive: true, force: true });
