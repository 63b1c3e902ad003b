// Latency tail at one rate: localdns (FFI path), localdns with the runtime's sockets, and unbound-1t,
// taking turns round by round on the same pinned CPU, hits only. Prints p50/p99/p99.9 per round and
// the medians. A narrower, faster look than `npm run bench` when chasing the tail.
//
//   ./node_modules/.bin/bun bench/tail.ts [--qps N] [--seconds S] [--rounds R]
import { join, resolve } from "node:path";
import { startPinned, stop } from "./lib/procs";
import { dnsperf } from "./lib/dnsperf";
import { waitAnswer } from "./lib/dns";
import { localdnsConf, unboundConf, CLUSTER } from "./lib/setup";
import { startLoopbackBench } from "./lib/loopback";

const ROOT = resolve(import.meta.dir, "..");
const opt = (k: string, d: number) => { const i = process.argv.indexOf(`--${k}`); return i > 0 ? Number(process.argv[i + 1]) : d; };
const QPS = opt("qps", 10_000), SECONDS = opt("seconds", 8), ROUNDS = opt("rounds", 3);
const S = process.env.SERVER_CPU ?? "0", L = process.env.LOAD_CPU ?? "1";
const WORK = process.env.WORK ?? "/tmp/localdns-tail";
const log = (m: string) => process.stderr.write(`[tail] ${m}\n`);
const { A, Q, knot } = await startLoopbackBench(WORK, S);

interface Sys { name: string; port: number; cmd: string[]; env?: Record<string, string> }
const bin = join(ROOT, "dist/localdns");
const systems: Sys[] = [
  { name: "localdns-ffi", port: 5494, cmd: [bin, "run", "--config", localdnsConf(WORK, "ffi", A, 5493, 5494, `${A.up}:${A.upPort}`)] },
  { name: "localdns-runtime", port: 5496, cmd: [bin, "run", "--config", localdnsConf(WORK, "rt", A, 5495, 5496, `${A.up}:${A.upPort}`)], env: { LOCALDNS_NO_FFI: "1" } },
  { name: "unbound-1t", port: 5497, cmd: ["unbound", "-d", "-c", unboundConf(WORK, A, 5497)] },
];
const results: Record<string, { p50: number; p99: number; p999: number }[]> = {};
const pct = (l: Float64Array, q: number) => l[Math.min(l.length - 1, Math.floor(q * l.length))];
for (let r = 0; r < ROUNDS; r++) {
  for (const s of r % 2 ? [...systems].reverse() : systems) {
    const p = startPinned(s.name, S, s.cmd, join(WORK, `logs/${s.name}.log`), s.env);
    try {
      if (!(await waitAnswer(A.listen, s.port, CLUSTER(1)))) throw new Error(`${s.name} did not answer`);
      await dnsperf({ server: A.listen, port: s.port, file: Q.hits, cpu: L, runs: 2, qps: 20_000 }); // warm
      const d = await dnsperf({ server: A.listen, port: s.port, file: Q.hits, cpu: L, durationS: SECONDS, qps: QPS, verbose: true });
      const l = d.latMs!;
      const row = { p50: pct(l, 0.5), p99: pct(l, 0.99), p999: pct(l, 0.999) };
      (results[s.name] ??= []).push(row);
      log(`r${r} ${s.name}: p50/p99/p99.9 ${row.p50.toFixed(3)}/${row.p99.toFixed(3)}/${row.p999.toFixed(3)} ms, lost ${d.lost}`);
    } finally { await stop(p); }
  }
}
const med = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };
for (const [n, rows] of Object.entries(results)) console.log(`${n}: median p50 ${med(rows.map((x) => x.p50)).toFixed(3)} p99 ${med(rows.map((x) => x.p99)).toFixed(3)} p99.9 ${med(rows.map((x) => x.p999)).toFixed(3)} ms`);
await stop(knot);
