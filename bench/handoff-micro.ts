// What one hand-off from a loop Worker to the main thread costs, without sockets or DNS: the old way
// (postMessage of two transferred copies per datagram, the Worker's full collection every 2,048) against
// the hand-off ring (src/net/handoff-ring.ts: a copy into shared memory, one wake message per drain).
//
//   ./node_modules/.bin/bun bench/handoff-micro.ts          (or: deno run -A bench/handoff-micro.ts)
//
// Environment: N records per run (200000), RATE records per second (20000), PER_BATCH records per
// batch (1: a miss at a low rate is alone in its batch), ROUNDS (3; the modes alternate). Prints the
// process CPU per record (all threads, /proc/self/task) and its split by thread, medians over rounds.
import { readdirSync, readFileSync } from "node:fs";
import { HandOffRingReader, createHandOffRing } from "../src/net/handoff-ring";

const env = (k: string, d: number) => (process.env[k] ? Number(process.env[k]) : d);
const N = env("N", 200_000), RATE = env("RATE", 20_000), PER_BATCH = env("PER_BATCH", 1), ROUNDS = env("ROUNDS", 3);
const TICK = 100; // clock ticks per second of /proc/*/stat on Linux

/** CPU seconds by thread id, with the thread's name (a Worker of an earlier run may have left). */
function threadCpu(): Map<string, { name: string; s: number }> {
  const m = new Map<string, { name: string; s: number }>();
  for (const t of readdirSync("/proc/self/task")) {
    try {
      const s = readFileSync(`/proc/self/task/${t}/stat`, "utf8");
      const name = s.slice(s.indexOf("(") + 1, s.lastIndexOf(")")).replace(/[\d:]+$/, "") || "?";
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      m.set(t, { name, s: (Number(f[11]) + Number(f[12])) / TICK });
    } catch { /* the thread ended */ }
  }
  return m;
}

async function run(mode: "post" | "ring"): Promise<{ total: number; byThread: Record<string, number>; served: number }> {
  const ring = createHandOffRing();
  const reader = new HandOffRingReader(ring);
  const worker = new Worker(new URL("./lib/handoff-micro-worker.ts", import.meta.url).href, { type: "module" });
  let served = 0;
  const serve = (_s: number, _k: number, _t: boolean, address: Uint8Array, data: Uint8Array) => { if (address.length + data.length > 0) served++; };
  const drain = () => { do reader.drain(serve); while (reader.idleUnlessMore()); };
  const before = threadCpu();
  await new Promise<void>((resolve) => {
    worker.onmessage = (ev: MessageEvent) => {
      const m = ev.data;
      if (m.type === "handoff") { if (m.datagram.data.length > 0) served++; }
      else if (m.type === "wake") drain();
      else if (m.type === "done") { reader.drain(serve); resolve(); }
    };
    const batchesPerMs = Math.max(1, Math.round(RATE / PER_BATCH / 1000));
    worker.postMessage({ mode, n: N, perBatch: PER_BATCH, batchesPerMs, ring });
  });
  const after = threadCpu();
  worker.terminate();
  const byThread: Record<string, number> = {};
  let total = 0;
  for (const [tid, a] of after) {
    const us = (1e6 * (a.s - (before.get(tid)?.s ?? 0))) / N;
    byThread[a.name] = (byThread[a.name] ?? 0) + us;
    total += us;
  }
  return { total, byThread, served };
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const results: Record<string, { total: number; byThread: Record<string, number>; served: number }[]> = { post: [], ring: [] };
for (let r = 0; r < ROUNDS; r++) for (const mode of (r % 2 ? ["ring", "post"] : ["post", "ring"]) as ("post" | "ring")[]) {
  const x = await run(mode);
  results[mode].push(x);
  process.stderr.write(`[handoff-micro] r${r} ${mode}: ${x.total.toFixed(2)} µs/record, served ${x.served}\n`);
}
console.log(`\n${N} hand-offs per run at ~${RATE}/s, ${PER_BATCH} per batch, ${ROUNDS} rounds; medians`);
console.log("| hand-off | CPU µs per record (process) | by thread |");
console.log("|---|---|---|");
for (const mode of ["post", "ring"]) {
  const rs = results[mode];
  const threads = [...new Set(rs.flatMap((x) => Object.keys(x.byThread)))];
  const split = threads.map((t) => [t, median(rs.map((x) => x.byThread[t] ?? 0))] as const).filter(([, v]) => v >= 0.05).map(([t, v]) => `${t} ${v.toFixed(2)}`).join(", ");
  console.log(`| ${mode === "post" ? "postMessage, 2 transferred copies (before)" : "hand-off ring, wake per drain (now)"} | ${median(rs.map((x) => x.total)).toFixed(2)} | ${split} |`);
}
