// Two or more checkouts' packet cores side by side in one process, for a before/after on a busy
// machine: bun bench/core-ab.ts before=/tmp/old-checkout after=. (each built: build/core.wasm).
// The cases of bench/core-micro.ts's hit rows (same cache of 10,001 entries) take turns in rounds of
// 32,000 calls, variant after variant, so load from other jobs falls on all of them alike; per
// variant and case it prints the minimum, 10th percentile and median ns per call over the rounds and
// the 10th percentile against the first variant's. Each variant's loops are code of their own
// (new Function), so no call site sees two Core classes (that alone costs every case ~4 ns).
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import packet from "dns-packet";

const ITERS = 32_000;
const ROUNDS = Number(process.env.ROUNDS ?? 300);
const NOW = 100_000;

const query = (name: string, edns: boolean) => new Uint8Array(packet.encode({
  type: "query", id: 0x1234, flags: packet.RECURSION_DESIRED, questions: [{ name, type: "A", class: "IN" }],
  additionals: edns ? [{ type: "OPT", name: ".", udpPayloadSize: 1232, flags: 0 } as any] : [],
}));
const queries: Record<string, Uint8Array> = {
  "hit, no EDNS": query("www.example.com", false),
  "hit, EDNS 1232": query("www.example.com", true),
  "hit, svc-4711 (5 labels)": query("svc-4711.ns.svc.cluster.local", false),
};

interface Variant { label: string; core: any; loops: Record<string, (core: unknown, q: Uint8Array) => number> }
const variants: Variant[] = [];
for (const arg of process.argv.slice(2)) {
  const [label, dir] = arg.includes("=") ? arg.split("=") : [arg, arg];
  const root = resolve(dir);
  const { Core } = await import(`${root}/src/core.ts`);
  const core = await Core.load(new Uint8Array(readFileSync(`${root}/build/core.wasm`)), 48 << 20);
  core.addZone(0, ".");
  core.addZone(0, "cluster.local");
  const warm = (name: string) => {
    if (core.handle(query(name, false), NOW, 0, false) !== -1) throw new Error(`${label}: ${name} was not a miss`);
    const sent = core.upstreamQuery(0x4321, 0);
    const reply = packet.encode({
      type: "response", id: 0x4321, flags: 0x0180, questions: [{ name, type: "A", class: "IN" }],
      answers: [{ name, type: "A", ttl: 3600, data: "10.96.0.10" }],
    } as any);
    if (core.prepare(reply, sent, false, 86400, 30) !== 0 || !core.storePrepared(sent.length, NOW, 0, 0, 0)) throw new Error(`${label}: could not cache`);
  };
  for (let i = 0; i < 10_000; i++) warm(`svc-${i}.ns.svc.cluster.local`);
  warm("www.example.com");
  const loops: Variant["loops"] = {};
  for (const [c, q] of Object.entries(queries)) {
    if (!(core.handle(q, NOW, 0, false) > 0)) throw new Error(`${label} ${c}: not a hit`);
    loops[c] = new Function("core", "q", `let s = 0; for (let i = 0; i < ${ITERS}; i++) s += core.handle(q, ${NOW}, 0, false); return s; // ${label}: ${c}`) as Variant["loops"][string];
  }
  variants.push({ label, core, loops });
}
if (variants.length === 0) throw new Error("usage: bun bench/core-ab.ts label=DIR [label=DIR ...]");

for (let w = 0; w < 20; w++) for (const v of variants) for (const [c, q] of Object.entries(queries)) v.loops[c](v.core, q);
const samples = new Map<string, number[]>();
let sink = 0;
for (let r = 0; r < ROUNDS; r++) {
  for (const [c, q] of Object.entries(queries)) {
    for (const v of variants) {
      const t0 = Bun.nanoseconds();
      sink += v.loops[c](v.core, q);
      const key = `${v.label}\0${c}`;
      const s = samples.get(key) ?? [];
      s.push((Bun.nanoseconds() - t0) / ITERS);
      samples.set(key, s);
    }
  }
}
if (sink === 0.5) console.log(sink); // keep the loops' results alive

const at = (s: number[], p: number) => [...s].sort((a, b) => a - b)[Math.floor(p * (s.length - 1))];
console.log(`packet core side by side: ${ROUNDS} rounds x ${ITERS.toLocaleString("en")} calls, ns per call (min / p10 / median)`);
for (const c of Object.keys(queries)) {
  const base = at(samples.get(`${variants[0].label}\0${c}`)!, 0.1);
  const cells = variants.map((v) => {
    const s = samples.get(`${v.label}\0${c}`)!;
    const p10 = at(s, 0.1);
    const rel = v === variants[0] ? "" : ` (${p10 >= base ? "+" : ""}${((p10 / base - 1) * 100).toFixed(1)} %)`;
    return `${v.label} ${at(s, 0).toFixed(1)} / ${p10.toFixed(1)} / ${at(s, 0.5).toFixed(1)}${rel}`;
  });
  console.log(`${c.padEnd(26)} ${cells.join("  |  ")}`);
}
