// server.workers side by side: the most cache hits per second dnsperf gets from localdns with 1, 2
// (and 4) loop threads, and the CPU per query, rounds alternating. The server is not pinned (the
// loops need a core each to scale); dnsperf is pinned to LOAD_CPU and has 20 clients (20 source
// ports, which the kernel's SO_REUSEPORT hash spreads over the loops' sockets). On 2 cores the load
// generator takes one of them, so this shows whether a second loop costs or helps, not real scaling.
//
//   ./node_modules/.bin/bun bench/workers.ts [--workers 1,2,4] [--seconds 4] [--rounds 3]
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { startPinned, stop, cpuSeconds } from "./lib/procs";
import { dnsperf } from "./lib/dnsperf";
import { waitAnswer } from "./lib/dns";
import { localdnsConf, CLUSTER } from "./lib/setup";
import { startLoopbackBench } from "./lib/loopback";

const ROOT = resolve(import.meta.dir, "..");
const arg = (k: string, d: string) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? process.argv[i + 1] : d; };
const WORKERS = arg("workers", "1,2,4").split(",").map(Number);
const SECONDS = Number(arg("seconds", "4")), ROUNDS = Number(arg("rounds", "3"));
const L = process.env.LOAD_CPU ?? "1";
const WORK = process.env.WORK ?? "/tmp/localdns-workers";
const log = (m: string) => process.stderr.write(`[workers] ${m}\n`);
const { A, Q, knot } = await startLoopbackBench(WORK, null);

const rows: Record<number, { qps: number[]; us: number[] }> = {};
for (let r = 0; r < ROUNDS; r++) {
  for (const w of r % 2 ? [...WORKERS].reverse() : WORKERS) {
    const cfg = localdnsConf(WORK, `w${w}`, A, 5493, 5494, `${A.up}:${A.upPort}`);
    const c = JSON.parse(readFileSync(cfg, "utf8"));
    c.server = { workers: w };
    writeFileSync(cfg, JSON.stringify(c));
    const p = startPinned(`localdns-w${w}`, null, [join(ROOT, "dist/localdns"), "run", "--config", cfg], join(WORK, `logs/w${w}.log`));
    try {
      if (!(await waitAnswer(A.listen, 5494, CLUSTER(1)))) throw new Error(`workers ${w}: no answer`);
      await dnsperf({ server: A.listen, port: 5494, file: Q.hits, cpu: L, runs: 2, qps: 20_000, clients: 20 }); // warm
      const cpu0 = cpuSeconds(p.pid);
      const d = await dnsperf({ server: A.listen, port: 5494, file: Q.hits, cpu: L, durationS: SECONDS, clients: 20, outstanding: 200 });
      const us = ((cpuSeconds(p.pid) - cpu0) * 1e6) / d.completed;
      (rows[w] ??= { qps: [], us: [] }).qps.push(d.qps);
      rows[w].us.push(us);
      log(`r${r} workers ${w}: ${Math.round(d.qps)} QPS, ${us.toFixed(2)} µs CPU per query, lost ${d.lost}`);
    } finally { await stop(p); }
  }
}
const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
console.log("| server.workers | max QPS (median) | CPU µs per query (median) |\n|---|---|---|");
for (const w of WORKERS) console.log(`| ${w} | ${Math.round(med(rows[w].qps))} | ${med(rows[w].us).toFixed(2)} |`);
await stop(knot);
