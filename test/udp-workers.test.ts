// server.workers: N loop threads on the FFI data path, each with its own SO_REUSEPORT socket per
// listener, all answering from the one shared cache; a reload with listeners changed restarts all N
// beside the old ones; the count is bounded by the core's scratch sets.
import { test, expect, afterEach } from "bun:test";
import { createSocket } from "node:dgram";
import { runBinary, freePort, BINARY } from "./helpers/binary";
import { startFakeUpstream, answerFor } from "./helpers/fake-upstream";
import { makeQuery, packet, query, sleep } from "./helpers/dns";
import { ffiTest } from "./helpers/data-path";
import { spawnSync } from "node:child_process";
import { writeFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

/** One query per client socket (so the kernel's reuseport hash sees `n` different source ports). */
async function fromManyPorts(port: number, name: string, n: number): Promise<number> {
  let answered = 0;
  await Promise.all(Array.from({ length: n }, (_, i) => new Promise<void>((resolve) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => { s.close(); resolve(); }, 3000);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      const a = packet.decode(m);
      if (a.id === 4000 + i && (a.answers?.[0] as { data?: string } | undefined)?.data === "10.1.2.3") answered++;
      resolve();
    });
    s.send(makeQuery(name, "A", { id: 4000 + i }), port, "127.0.0.1");
  })));
  return answered;
}

/** The "UDP loop left" lines a stop logs, one per loop. */
const loopsLeft = (stdout: string) => stdout.split("\n").filter((l) => l.includes('"UDP loop left"')).map((l) => JSON.parse(l) as { received: number; answered: number });

ffiTest("three workers: every loop takes a share of 300 clients, one upstream query fills the cache for all", async () => {
  const up = await startFakeUpstream("127.0.0.3", (q) => ({ kind: "answer", msg: answerFor(q, { ttl: 300 }) }));
  cleanups.push(() => up.stop());
  const port = freePort();
  const bin = await runBinary({
    listeners: { vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${port + 1}`] },
    upstreams: { VnetDNS: [`127.0.0.3:${up.port}`], ClusterCoreDNS: [`127.0.0.3:${up.port}`] },
    admin: { listen: null }, cache: { snapshotPath: null }, server: { workers: 3 },
  }, { probe: { host: "127.0.0.1", port } });
  cleanups.push(() => bin.stop());
  for (let i = 0; i < 40 && !bin.stdout().includes('"udpDataPath"'); i++) await sleep(50);
  expect(bin.stdout()).toContain('"udpDataPath":"ffi (recvmmsg/sendmmsg on 3 loop threads)"');
  expect((await query("127.0.0.1", port, "shared.example.org")).answers[0].data).toBe("10.1.2.3");
  const asked = up.seen.filter((q) => q.name.replace(/\.$/, "") === "shared.example.org").length;
  expect(await fromManyPorts(port, "shared.example.org", 300)).toBe(300);
  expect(up.seen.filter((q) => q.name.replace(/\.$/, "") === "shared.example.org").length).toBe(asked); // all hits, whichever loop
  expect(await bin.stop("SIGTERM")).toBe(0);
  const left = loopsLeft(bin.stdout());
  expect(left.length).toBe(3);
  for (const l of left) expect(l.received).toBeGreaterThan(0); // the kernel spread the clients over the three sockets
  expect(left.reduce((n, l) => n + l.received, 0)).toBeGreaterThanOrEqual(301);
}, 30_000);

ffiTest("a reload that changes the listeners restarts all loops beside the old ones; nothing is lost", async () => {
  const up = await startFakeUpstream("127.0.0.3", (q) => ({ kind: "answer", msg: answerFor(q, { ttl: 300 }) }));
  cleanups.push(() => up.stop());
  const port = freePort();
  let extra = freePort();
  while (extra === port || extra === port + 1) extra = freePort();
  const cfg = (ports: number[]) => ({
    listeners: { vnetDNS: ports.map((p) => `127.0.0.1:${p}`), kubeDNS: [`127.0.0.1:${port + 1}`] },
    upstreams: { VnetDNS: [`127.0.0.3:${up.port}`], ClusterCoreDNS: [`127.0.0.3:${up.port}`] },
    admin: { listen: null }, cache: { snapshotPath: null }, server: { workers: 4 },
  });
  const bin = await runBinary(cfg([port]), { probe: { host: "127.0.0.1", port } });
  cleanups.push(() => bin.stop());
  expect((await query("127.0.0.1", port, "before.example.org")).rcode).toBe("NOERROR");
  for (let round = 0; round < 2; round++) {
    writeFileSync(bin.configPath, JSON.stringify(cfg(round === 0 ? [port, extra] : [port])));
    bin.proc.kill("SIGHUP");
    for (let i = 0; i < 200 && (bin.stdout().match(/"config reloaded"/g) ?? []).length <= round; i++) await sleep(50);
    const reloaded = (bin.stdout().match(/"config reloaded"/g) ?? []).length;
    if (reloaded !== round + 1) console.log(bin.stdout().split("\n").slice(-8).join("\n"));
    expect(reloaded).toBe(round + 1);
    expect(await fromManyPorts(port, "before.example.org", 100)).toBe(100);
  }
  // 4 loops, then 4 new ones twice (2 × 4 + 1 = 9 scratch sets at most at once): 8 have left
  for (let i = 0; i < 40 && loopsLeft(bin.stdout()).length < 8; i++) await sleep(50);
  expect(loopsLeft(bin.stdout()).length).toBe(8);
}, 30_000);

test("server.workers beyond 4 (the core's scratch sets) or below 1 is refused by validate", () => {
  const dir = mkdtempSync(join(tmpdir(), "ldns-workers-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  for (const [workers, ok] of [[0, false], [1, true], [4, true], [5, false]] as const) {
    const p = join(dir, `w${workers}.json`);
    writeFileSync(p, JSON.stringify({ upstreams: { VnetDNS: ["127.0.0.3:53"], ClusterCoreDNS: ["127.0.0.3:53"] }, server: { workers } }));
    const r = spawnSync(BINARY, ["validate", "--config", p], { encoding: "utf8" });
    expect({ workers, status: r.status }).toEqual({ workers, status: ok ? 0 : 1 });
    if (!ok) expect(r.stdout + r.stderr).toContain("server.workers");
  }
});
