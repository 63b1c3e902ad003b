// The long network fuzz run: the same generator and checks as test/robust-fuzz.test.ts (see
// test/helpers/net-fuzz.ts), 1,000,000 packets by default, in rounds, against dist/localdns. After
// every round it prints the violations so far, the RSS floor and peak of the round (sampled every 50 ms)
// and the open fd count. At the end the process must be alive, answer normal queries correctly, and its
// RSS floor over the last three rounds must be within 10 % of the floor after warm-up.
//
//   bun scripts/fuzz-long.ts [--packets 1000000] [--seed N] [--round 100000] [--ram-hint-mb 80]
//                            [--max-minutes 30] [--json FILE]
//
// --ram-hint-mb sets BUN_JSC_forceRAMSize for the binary (0: not set) so the collector keeps the heap
// near its live size and RSS tracks live memory; without it RSS saw-tooths by ~40 MB between
// collections (both are worth a run; RELIABILITY.md records them).
import { writeFileSync } from "node:fs";
import { startFastUpstream, addressFor } from "../test/helpers/fast-upstream";
import { runBinaryOn, rssKiB, fdCount, alive } from "../test/helpers/robust";
import { runFuzz, warmHotNames, HOT_SUFFIX, hotName, type FuzzStats } from "../test/helpers/net-fuzz";
import { query, sleep } from "../test/helpers/dns";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const target = arg("packets", 1_000_000);
const seed = arg("seed", 0x10_0000);
const round = arg("round", 100_000);
const ramHint = arg("ram-hint-mb", 80);
const deadline = Date.now() + arg("max-minutes", 30) * 60_000;

const up = await startFastUpstream("127.0.24.9", 0, { hotSuffix: HOT_SUFFIX, hotTtl: 3600, ttl: 0 });
const b = await runBinaryOn({
  host: "127.0.24.1", upstream: up,
  env: ramHint > 0 ? { BUN_JSC_forceRAMSize: String(ramHint * 1_000_000) } : {},
  extra: { cache: { snapshotPath: null, negativeTtlWithoutSoa: 0, maxBytes: 4 << 20 } },
});
const t = { host: b.host, port: b.port };
const started = Date.now();

async function sampled(fn: () => Promise<FuzzStats>): Promise<{ s: FuzzStats; floor: number; peak: number; secs: number }> {
  const samples: number[] = [];
  const t0 = Date.now();
  const iv = setInterval(() => { try { samples.push(rssKiB(b.pid)); } catch { /* gone */ } }, 50);
  const s = await fn();
  await sleep(1500);
  clearInterval(iv);
  if (alive(b.pid)) samples.push(rssKiB(b.pid));
  return { s, floor: Math.min(...samples), peak: Math.max(...samples), secs: (Date.now() - t0) / 1000 };
}

const rounds: { round: number; packets: number; violations: number; floorKiB: number; peakKiB: number; fds: number; secs: number }[] = [];
const allViolations: string[] = [];
let packets = 0;
let violations = 0;
let crashed = false;
let final = { floor: 0, baseline: 0, growthPct: 0 };
try {
  await warmHotNames(t);
  for (let i = 0; i < 2; i++) {
    const w = await sampled(() => runFuzz(t, { seed: seed + 1000 + i, udp: 45_000, tcpFrames: 5_000 }));
    packets += w.s.udpSent + w.s.tcpFrames;
    violations += w.s.violationCount;
    allViolations.push(...w.s.violations);
    console.log(`warm-up ${i + 1}: ${w.s.udpSent + w.s.tcpFrames} packets, ${w.s.violationCount} violations, RSS floor ${w.floor} KiB peak ${w.peak} KiB`);
    if (i === 1) final.baseline = w.floor;
  }
  console.log(`baseline RSS floor ${final.baseline} KiB, fds ${fdCount(b.pid)}`);
  for (let r = 1; packets < target && Date.now() < deadline; r++) {
    const n = Math.min(round, target - packets);
    const x = await sampled(() => runFuzz(t, { seed: seed + r, udp: Math.round(n * 0.9), tcpFrames: Math.round(n * 0.1) }));
    packets += x.s.udpSent + x.s.tcpFrames;
    violations += x.s.violationCount;
    allViolations.push(...x.s.violations.slice(0, 5));
    if (!alive(b.pid)) { crashed = true; console.log(`round ${r}: THE PROCESS IS GONE (exit ${b.bin.proc.exitCode})`); break; }
    const fds = fdCount(b.pid);
    rounds.push({ round: r, packets, violations, floorKiB: x.floor, peakKiB: x.peak, fds, secs: Math.round(x.secs) });
    console.log(`round ${r}: ${packets} packets so far, ${violations} violations, RSS floor ${x.floor} KiB peak ${x.peak} KiB, fds ${fds}, ${x.secs.toFixed(1)} s`);
  }
  const last = rounds.slice(-3);
  final.floor = Math.min(...last.map((r) => r.floorKiB));
  final.growthPct = Math.round(((final.floor - final.baseline) / final.baseline) * 1000) / 10;
} finally {
  // the checks after the run
  let answers: string[] = [];
  if (alive(b.pid)) {
    for (const tcp of [false, true]) {
      try {
        const a = await query(b.host, b.port, hotName(3), "A", { tcp, timeoutMs: 2000 });
        answers.push(a.answers.map((x: any) => x.data).join(",") === addressFor(hotName(3)) ? "ok" : `wrong ${JSON.stringify(a.answers)}`);
      } catch (e) { answers.push(`no answer: ${(e as Error).message}`); }
    }
  } else crashed = true;
  const summary = {
    packets, violations, violationSamples: allViolations.slice(0, 20), crashed, exitCode: b.bin.proc.exitCode,
    rssBaselineFloorKiB: final.baseline, rssFinalFloorKiB: final.floor, rssGrowthPct: final.growthPct, ramHintMb: ramHint,
    answersAfter: answers, minutes: Math.round((Date.now() - started) / 600) / 100, rounds,
    stderr: b.bin.stderr().slice(0, 2000),
  };
  console.log(JSON.stringify({ ...summary, rounds: undefined }, null, 2));
  const j = process.argv.indexOf("--json");
  if (j > 0) writeFileSync(process.argv[j + 1], JSON.stringify(summary, null, 2));
  await b.bin.stop();
  await up.stop();
  const ok = !crashed && violations === 0 && answers.every((a) => a === "ok") && final.growthPct < 10 && packets >= target;
  console.log(ok ? "FUZZ OK" : "FUZZ FAILED");
  process.exit(ok ? 0 : 1);
}
