// The compiled binary with a stdout nobody reads (journald stuck, a pipe whose reader hung), flooded
// with queries that each want a log line: failures (REFUSED past maxConcurrent, consolidated) and
// query-logged cache hits (one line each, dropped once stdout is backed up). The process stays alive
// and answers, its memory stays bounded, and the metrics count what was consolidated and dropped.
import { describe, test, expect, beforeAll, afterAll } from "bun:test";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "./helpers/binary";
import { startFastUpstream, addressFor, type FastUpstream } from "./helpers/fast-upstream";
import { pickPort, rssKiB, alive, metric, UdpMux } from "./helpers/robust";
import { query, makeQuery, sleep } from "./helpers/dns";

const VNET = "127.0.41.31";
const KUBE = "127.0.41.32";
let up: FastUpstream;
let proc: ChildProcess;
let dir: string;
let port = 0;
let admin = "";

beforeAll(async () => {
  up = await startFastUpstream("127.0.41.39", 0, { hotSuffix: "log.test", hotTtl: 3600 });
  port = await pickPort(VNET, KUBE);
  let adminPort = 0;
  while (adminPort === 0 || adminPort === port) adminPort = await pickPort(VNET);
  admin = `http://${VNET}:${adminPort}`;
  const dead = `127.0.41.39:${await pickPort("127.0.41.39")}`; // nothing listens there
  dir = mkdtempSync(join(tmpdir(), "ldns-log-"));
  const config = {
    mode: "Required",
    listeners: { vnetDNS: [`${VNET}:${port}`], kubeDNS: [`${KUBE}:${port}`] },
    upstreams: { VnetDNS: [`${up.host}:${up.port}`], ClusterCoreDNS: [dead] },
    vnetDNSOverrides: { ".": { queryLogging: "Log" } },
    kubeDNSOverrides: { ".": { maxConcurrent: 1 } },
    admin: { listen: `${VNET}:${adminPort}` },
    cache: { snapshotPath: null },
  };
  writeFileSync(join(dir, "localdns.json"), JSON.stringify(config));
  // stdout: a pipe this process never reads from
  proc = spawn(BINARY, ["run", "--config", join(dir, "localdns.json")], { stdio: ["ignore", "pipe", "ignore"] });
  proc.stdout!.pause();
  for (let i = 0; i < 100; i++) {
    try { await query(VNET, port, "health-check.localdns.local", "A", { timeoutMs: 200 }); break; } catch { await sleep(50); }
  }
});
afterAll(async () => {
  if (proc && proc.exitCode === null) { proc.kill("SIGKILL"); await new Promise((r) => proc.once("exit", r)); }
  if (dir) rmSync(dir, { recursive: true, force: true });
  await up?.stop();
});

/** Sends `count` queries from one socket, `window` in flight; resolves with how many were answered. */
async function flood(mux: UdpMux, count: number, window: number, next: (i: number) => [Uint8Array, string]): Promise<number> {
  let sent = 0;
  let answered = 0;
  const worker = async () => {
    while (sent < count) {
      const [q, host] = next(sent++);
      const id = mux.id();
      q[0] = id >> 8;
      q[1] = id & 0xff;
      if (await mux.ask(q, host, port, 2000)) answered++;
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return answered;
}

describe("stdout not drained", () => {
  test("200,000 queries that each log a line: alive, RSS bounded, lines consolidated and dropped, cached names answer", async () => {
    const cached = "cached.log.test";
    expect((await query(VNET, port, cached, "A")).answers[0]?.data).toBe(addressFor(cached));
    await sleep(300);
    const rssBefore = rssKiB(proc.pid!);
    const hit = makeQuery(cached, "A");
    const mux = await UdpMux.open();
    let peak = rssBefore;
    const sampler = setInterval(() => { try { peak = Math.max(peak, rssKiB(proc.pid!)); } catch { /* gone */ } }, 100);
    // 3 in 4: a query-logged cache hit on vnet; 1 in 4: an uncached name on kube, REFUSED (maxConcurrent 1)
    const answered = await flood(mux, 200_000, 200, (i) => (i % 4 !== 3 ? [hit, VNET] : [makeQuery(`f${i}.fail.log.test`, "A"), KUBE]));
    clearInterval(sampler);
    mux.close();
    expect(alive(proc.pid!)).toBe(true);
    expect(answered).toBeGreaterThan(190_000);
    const dropped = (await metric(admin, "localdns_log_lines_dropped_total"))!;
    const consolidated = (await metric(admin, "localdns_log_lines_consolidated_total"))!;
    expect(dropped).toBeGreaterThan(100_000);
    expect(consolidated).toBeGreaterThan(45_000);
    // 150,000 query lines of ~380 octets are 54 MB, and the runtime buffered them all: RSS grew by
    // ~115 MB. Now at most 1 MiB waits for stdout; the rest is the flood's garbage (+17 MB with no
    // query logging, +30 MB with it, here)
    expect(peak - rssBefore).toBeLessThan(48 * 1024);
    expect((await query(VNET, port, cached, "A", { timeoutMs: 2000 })).answers[0]?.data).toBe(addressFor(cached));
    expect((await query(KUBE, port, "health-check.localdns.local", "A", { timeoutMs: 2000 })).rcode).toBe("NOERROR");
  }, 120_000);
});
