// Network fuzzing of the compiled binary (see test/helpers/net-fuzz.ts for what is sent and what
// every answer is checked against): well over 100,000 valid, targeted-malformed and randomly mutated
// packets over UDP and TCP. Afterwards the process is alive, answers a normal query correctly, and its
// RSS has not grown by 10 % or more over its level after a warm-up.
//
// RSS is read from /proc/PID/status. A garbage-collected runtime's RSS is a saw-tooth (tens of MB
// between collections), so the test compares floors: the lowest RSS seen over a phase (sampled every
// 50 ms), and runs the binary with BUN_JSC_forceRAMSize so the collector keeps the heap close to its
// live size (the production binary is the same file; only the GC's notion of available RAM differs).
// A leak raises the floor; collection noise does not. If the floor after the run is still high, up to
// three more (fuzzing) rounds give the collector the chance to show it is garbage, not a leak.
import { test, expect, beforeAll, afterAll } from "bun:test";
import { startFastUpstream, addressFor, type FastUpstream } from "./helpers/fast-upstream";
import { runBinaryOn, rssKiB, fdCount, alive, type BinaryOn } from "./helpers/robust";
import { runFuzz, warmHotNames, HOT_SUFFIX, hotName, type FuzzStats } from "./helpers/net-fuzz";
import { query, sleep } from "./helpers/dns";

const SEED = Number(process.env.NET_FUZZ_SEED ?? 0x5eed_0008);
const UDP = Number(process.env.NET_FUZZ_UDP ?? 100_000);
const TCP_FRAMES = Number(process.env.NET_FUZZ_TCP ?? 12_000);

let up: FastUpstream;
let b: BinaryOn;

beforeAll(async () => {
  up = await startFastUpstream("127.0.11.9", 0, { hotSuffix: HOT_SUFFIX, hotTtl: 3600, ttl: 0 });
  b = await runBinaryOn({
    host: "127.0.11.1", upstream: up, env: { BUN_JSC_forceRAMSize: String(80_000_000) },
    // 4 MiB of cache, denials without a SOA not cached: the working set stays the same from warm-up on
    extra: { cache: { snapshotPath: null, negativeTtlWithoutSoa: 0, maxBytes: 4 << 20 } },
  });
});
afterAll(async () => { await b?.bin.stop(); await up?.stop(); });

/** Runs fn while sampling the binary's RSS every 50 ms, then idles idleMs; returns fn's result and the floor. */
async function sampled<T>(fn: () => Promise<T>, idleMs = 1500): Promise<{ result: T; floor: number; peak: number }> {
  const samples: number[] = [];
  const iv = setInterval(() => { try { samples.push(rssKiB(b.pid)); } catch { /* gone: checked later */ } }, 50);
  const result = await fn();
  await sleep(idleMs);
  clearInterval(iv);
  samples.push(rssKiB(b.pid));
  return { result, floor: Math.min(...samples), peak: Math.max(...samples) };
}

test(`${UDP + TCP_FRAMES} fuzzed packets over UDP and TCP: every answer correct, alive afterwards, RSS steady`, async () => {
  const t = { host: b.host, port: b.port };
  const started = performance.now();
  await warmHotNames(t);
  // warm-up: the same mix, so every code path has allocated what it keeps
  const warm1 = await runFuzz(t, { seed: SEED + 1, udp: 30_000, tcpFrames: 3_000 });
  const warm2 = await sampled(() => runFuzz(t, { seed: SEED + 2, udp: 20_000, tcpFrames: 2_000 }));
  const baseline = warm2.floor;
  const fdBaseline = fdCount(b.pid);

  const main = await sampled(() => runFuzz(t, { seed: SEED, udp: UDP, tcpFrames: TCP_FRAMES }));
  let floor = main.floor;
  const extra: FuzzStats[] = [];
  for (let i = 0; i < 3 && floor >= baseline * 1.1; i++) {
    const s = await sampled(() => runFuzz(t, { seed: SEED + 10 + i, udp: 20_000, tcpFrames: 2_000 }));
    extra.push(s.result);
    floor = Math.min(floor, s.floor);
  }
  const all = [warm1, warm2.result, main.result, ...extra];
  const sent = all.reduce((n, s) => n + s.udpSent + s.tcpFrames, 0);
  const violations = all.flatMap((s) => s.violations);
  const violationCount = all.reduce((n, s) => n + s.violationCount, 0);
  const m = main.result;
  console.log(`net fuzz: ${sent} packets (${m.udpSent} UDP + ${m.tcpFrames} TCP frames on ${m.tcpConnections} connections in the main run) in ` +
    `${((performance.now() - started) / 1000).toFixed(1)} s; ${violationCount} violations; main-run answers ${m.answered}, ` +
    `deliberately unanswerable ${m.dropped}; rcodes ${JSON.stringify(m.rcodes)}; RSS floor ${baseline} KiB after warm-up → ${floor} KiB ` +
    `(${(((floor - baseline) / baseline) * 100).toFixed(1)} %), peak ${main.peak} KiB; fds ${fdBaseline} → ${fdCount(b.pid)}`);

  expect(violations).toEqual([]);
  expect(m.udpSent + m.tcpFrames).toBeGreaterThanOrEqual(100_000);
  // the run reached every targeted kind, over both transports
  for (const k of ["hot", "mutated", "noise", "short", "qr-set", "opcode", "qdcount", "truncated-question", "question-pointer",
    "name-too-long", "name-256", "name-255", "label-type", "huge-counts", "trailing", "badvers", "opt-twice", "opt-in-answer",
    "opt-owner", "rr-pointer", "pointer-hops", "class", "type", "type-notimp", "edns", "big-answer", "large-udp-query", "frame-65535"]) {
    expect({ k, sent: (m.byKind[k]?.sent ?? 0) > 0 }).toEqual({ k, sent: true });
  }
  // alive, and a normal query gets the right answer over both transports
  expect(alive(b.pid)).toBe(true);
  expect(b.bin.proc.exitCode).toBeNull();
  for (const tcp of [false, true]) {
    const a = await query(b.host, b.port, hotName(7), "A", { tcp, timeoutMs: 2000 });
    expect({ rcode: a.rcode, data: a.answers.map((x: any) => x.data) }).toEqual({ rcode: "NOERROR", data: [addressFor(hotName(7))] });
    const fresh = await query(b.host, b.port, `after-fuzz-${tcp}.example.org`, "A", { tcp, timeoutMs: 2000 });
    expect(fresh.answers.map((x: any) => x.data)).toEqual([addressFor(`after-fuzz-${tcp}.example.org`)]);
  }
  expect(b.bin.stderr()).not.toMatch(/fatal|panic|Segmentation|RangeError|TypeError/);
  expect(floor).toBeLessThan(baseline * 1.1);
  expect(fdCount(b.pid)).toBeLessThanOrEqual(fdBaseline + 5);
}, 120_000);
