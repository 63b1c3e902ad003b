// Socket activation end to end with the compiled binary: a parent holds the listener sockets the way
// systemd's localdns.socket does and restarts the service on them under load. The kernel queues what
// arrives while no process reads, so a restart loses no query (UDP or TCP).
import { test, expect, afterEach } from "bun:test";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY, freePort } from "./helpers/binary";
import { startFakeUpstream, answerFor } from "./helpers/fake-upstream";
import { query, sleep } from "./helpers/dns";
import { startSteadyLoad } from "./helpers/steady-load";
import { writeRestartConfig } from "./helpers/restart-config";
import { FFI_OFF } from "./helpers/data-path";

const PYTHON = spawnSync("sh", ["-c", "command -v python3"], { encoding: "utf8" }).stdout.trim() || null;
const PARENT = join(import.meta.dir, "helpers/socket-parent.py");
if (!PYTHON) console.log("skipping socket activation: python3 is not installed");

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

const NAMES = 50;

// one loop, and two loops sharing each socket systemd passed (each datagram wakes one of them)
for (const workers of [1, 2]) test.skipIf(!PYTHON || FFI_OFF)(`${workers} worker(s): three restarts under 2,000 QPS lose no UDP query; a TCP query during a restart is answered; the service adopts the sockets`, async () => {
  const up = await startFakeUpstream("127.0.0.3", (q) => ({ kind: "answer", msg: answerFor(q) }));
  cleanups.push(() => up.stop());
  const port = freePort();
  const dir = mkdtempSync(join(tmpdir(), "ldns-activation-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const config = writeRestartConfig(dir, port, up.port, null, workers);
  const parent: ChildProcess = spawn(PYTHON!, [PARENT, `127.0.0.1:${port}`, `127.0.0.1:${port + 1}`, "--", BINARY, "run", "--config", config], { stdio: ["pipe", "pipe", "pipe"] });
  let out = "";
  parent.stdout!.on("data", (d) => { out += d; });
  parent.stderr!.on("data", (d) => { out += d; });
  cleanups.push(async () => { parent.stdin!.end("stop\n"); await new Promise((r) => parent.once("exit", r)); });
  parent.stdin!.write("start\n");
  for (let i = 0; i < 100; i++) {
    try { await query("127.0.0.1", port, "health-check.localdns.local", "A", { timeoutMs: 200 }); break; } catch { await sleep(50); }
  }
  // the loop may answer before the start-up line is written
  for (let i = 0; i < 40 && !out.includes('"udpDataPath"'); i++) await sleep(50);
  expect(out).toContain(`"udpDataPath":"ffi (recvmmsg/sendmmsg on ${workers === 1 ? "a loop thread" : `${workers} loop threads`}, 4 socket(s) from systemd)"`);
  for (let i = 0; i < NAMES; i++) await query("127.0.0.1", port, `n${i}.activation.example.`, "A");

  const load = await startSteadyLoad(port, (i) => `n${i % NAMES}.activation.example.`);
  cleanups.push(() => load.close());
  const tcpDuringRestart: Promise<string>[] = [];
  for (let r = 0; r < 3; r++) {
    await sleep(1500);
    parent.stdin!.write("restart\n");
    await sleep(20); // the old one is draining or gone, the new one not yet reading: the kernel queues
    tcpDuringRestart.push(query("127.0.0.1", port, `n${r}.activation.example.`, "A", { tcp: true, timeoutMs: 5000 }).then((a) => a.rcode!, (e) => String(e)));
  }
  await sleep(1500);
  load.stop();
  for (let i = 0; i < 60 && load.answered.size < load.sent; i++) await sleep(50);
  const lost = load.lostIds();
  console.log(`socket-activated restarts: ${load.sent} queries sent, ${load.answered.size} answered, ${lost.length} lost`);
  if (lost.length) console.log(out.split("\n").filter((l) => /UDP loop left|started|exited|warn|error|restored|stopped/.test(l)).map((l) => l.slice(0, 260)).join("\n"));
  if (lost.length) console.log(`lost ids: ${lost.slice(0, 10).join(" ")} … ${lost.slice(-5).join(" ")}; client socket drops ${load.clientDrops()}`);
  expect(out.match(/^started \d+$/gm)?.length).toBe(4);
  expect(out.match(/^exited 0$/gm)?.length).toBe(3);
  expect(await Promise.all(tcpDuringRestart)).toEqual(["NOERROR", "NOERROR", "NOERROR"]);
  expect(lost.length).toBe(0);
}, 60_000);
