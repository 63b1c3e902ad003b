// run --takeover end to end with the compiled binary: a second localdns with the same config replaces
// the running one under load. It joins the UDP sockets and steers every new datagram to itself, asks
// the old one to leave (POST /leave); the old one drains, answers what is in flight, saves its cache,
// exits 0; the new one takes the admin port. No UDP query is lost; TCP is answered throughout.
import { test, expect, afterEach } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, freePort } from "./helpers/binary";
import { startFakeUpstream, answerFor } from "./helpers/fake-upstream";
import { query, sleep } from "./helpers/dns";
import { startSteadyLoad } from "./helpers/steady-load";
import { writeRestartConfig } from "./helpers/restart-config";
import { ffiTest } from "./helpers/data-path";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

const NAMES = 50;

function run(config: string, args: string[]): { proc: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const proc = spawn(BINARY, ["run", "--config", config, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  proc.stdout!.on("data", (d) => { out += d; });
  proc.stderr!.on("data", (d) => { out += d; });
  const exited = new Promise<number | null>((r) => proc.once("exit", (code) => r(code)));
  cleanups.push(async () => { if (proc.exitCode === null && proc.signalCode === null) { proc.kill("SIGKILL"); await exited; } });
  return { proc, out: () => out, exited };
}

// with server.workers 2 each listener has two sockets per instance: the newer one must count both as its own
for (const workers of [1, 2]) ffiTest(`${workers} loop(s): three takeovers under 2,000 QPS lose no UDP query; TCP answered throughout; each old instance leaves with exit 0`, async () => {
  const up = await startFakeUpstream("127.0.0.3", (q) => ({ kind: "answer", msg: answerFor(q) }));
  cleanups.push(() => up.stop());
  const port = freePort();
  const admin = freePort();
  const dir = mkdtempSync(join(tmpdir(), "ldns-takeover-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = writeRestartConfig(dir, port, up.port, admin, workers);
  let current = run(config, []);
  for (let i = 0; i < 100; i++) {
    try { await query("127.0.0.1", port, "health-check.localdns.local", "A", { timeoutMs: 200 }); break; } catch { await sleep(50); }
  }
  for (let i = 0; i < NAMES; i++) await query("127.0.0.1", port, `n${i}.takeover.example.`, "A");
  // a plain second start is refused: it would split the traffic
  const mistaken = run(config, []);
  expect(await mistaken.exited).toBe(1);
  expect(mistaken.out()).toContain("address already in use");

  const load = await startSteadyLoad(port, (i) => `n${i % NAMES}.takeover.example.`);
  cleanups.push(() => load.close());
  const tcp: Promise<string>[] = [];
  const codes: (number | null)[] = [];
  for (let r = 0; r < 3; r++) {
    await sleep(1000);
    const next = run(config, ["--takeover"]);
    const tcpTicker = setInterval(() => { tcp.push(query("127.0.0.1", port, `n${tcp.length % NAMES}.takeover.example.`, "A", { tcp: true, timeoutMs: 5000 }).then((a) => a.rcode!, (e) => String(e))); }, 50);
    codes.push(await current.exited);
    clearInterval(tcpTicker);
    expect(current.out()).toContain("taken over by a newer localdns, leaving");
    for (let i = 0; i < 100 && !next.out().includes("takeover: the running localdns has left"); i++) await sleep(50);
    expect(next.out()).toContain("takeover: the running localdns has left");
    current = next;
  }
  await sleep(1000);
  load.stop();
  for (let i = 0; i < 60 && load.answered.size < load.sent; i++) await sleep(50);
  const lost = load.lostIds();
  console.log(`takeovers (${workers} loop(s)): ${load.sent} queries sent, ${load.answered.size} answered, ${lost.length} lost; ${tcp.length} TCP queries`);
  if (lost.length) console.log(`lost ids: ${lost.slice(0, 10).join(" ")} … ${lost.slice(-5).join(" ")}; client socket drops ${load.clientDrops()}`);
  expect(codes).toEqual([0, 0, 0]);
  const tcpResults = await Promise.all(tcp);
  if (tcpResults.some((r) => r !== "NOERROR")) console.log("TCP results:", tcpResults);
  expect(new Set(tcpResults)).toEqual(new Set(["NOERROR"]));
  expect(lost.length).toBe(0);
  // the last one serves alone, admin API included
  expect((await fetch(`http://127.0.0.1:${admin}/health`)).status).toBe(200);
}, 90_000);
