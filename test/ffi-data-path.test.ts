// The compiled binary's UDP data paths end to end: the FFI path (sockets we own, a loop Worker
// answering from the shared cache, misses and refreshes handed to the main thread) and the runtime's
// sockets it falls back to. The same queries, the same answers and counters on both.
import { describe, test, expect, afterEach } from "bun:test";
import { createSocket } from "node:dgram";
import { spawnSync } from "node:child_process";
import { runBinary, freePort, type RunningBinary } from "./helpers/binary";
import { startFakeUpstream, answerFor, type FakeUpstream } from "./helpers/fake-upstream";
import { query, sleep, makeQuery, packet } from "./helpers/dns";
import { readExposition, sumOf } from "./helpers/exposition";
import { FFI_OFF, ffiDescribe } from "./helpers/data-path";

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => { while (cleanups.length) await cleanups.pop()!(); });

const FFI_LINE = /"udpDataPath":"ffi \(recvmmsg\/sendmmsg on a loop thread\)"/;
const RUNTIME_LINE = /"udpDataPath":"runtime sockets \(FFI data path not used: [^"]+\)"/;

async function start(env: Record<string, string>, ttl = 300): Promise<{ bin: RunningBinary; up: FakeUpstream; port: number; admin: number }> {
  const up = await startFakeUpstream("127.0.0.3", (q) => ({ kind: "answer", msg: answerFor(q, { ttl }) }));
  cleanups.push(() => up.stop());
  const port = freePort();
  const admin = freePort();
  const bin = await runBinary({
    mode: "Required",
    listeners: { vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${port + 1}`] },
    upstreams: { VnetDNS: [`127.0.0.3:${up.port}`], ClusterCoreDNS: [`127.0.0.3:${up.port}`] },
    admin: { listen: `127.0.0.1:${admin}` },
    cache: { snapshotPath: null },
  }, { probe: { host: "127.0.0.1", port }, env });
  cleanups.push(() => bin.stop());
  return { bin, up, port, admin };
}

/** `n` queries for `name`, each from its own socket, all at once; the answers' (id, address) pairs. */
async function crowd(port: number, name: string, n: number): Promise<{ id: number; data: string }[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => new Promise<{ id: number; data: string }>((resolve, reject) => {
    const s = createSocket("udp4");
    const timer = setTimeout(() => { s.close(); reject(new Error(`no answer for client ${i}`)); }, 3000);
    s.on("message", (m) => {
      clearTimeout(timer);
      s.close();
      const a = packet.decode(m);
      resolve({ id: a.id!, data: (a.answers?.[0] as { data: string } | undefined)?.data ?? "" });
    });
    s.send(makeQuery(name, "A", { id: 1000 + i }), port, "127.0.0.1");
  })));
}

async function metrics(admin: number) {
  return readExposition(await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text());
}

for (const [path, env, line] of [["ffi", {}, FFI_LINE], ["runtime sockets", { LOCALDNS_NO_FFI: "1" }, RUNTIME_LINE]] as const) {
  describe.skipIf(path === "ffi" && FFI_OFF)(`UDP data path: ${path}`, () => {
    test("the start-up line names the path; a miss is forwarded once, hits answer every client with its own id; counters add up", async () => {
      const { bin, up, port, admin } = await start(env);
      // the start-up line may reach the pipe a moment after the first answer (Deno writes stdout later)
      for (let i = 0; i < 40 && !line.test(bin.stdout()); i++) await sleep(50);
      expect(bin.stdout()).toMatch(line);
      const first = await query("127.0.0.1", port, "crowd.example.", "A");
      expect((first.answers![0] as { data: string }).data).toBe("10.1.2.3");
      const before = await metrics(admin);
      const answers = await crowd(port, "crowd.example.", 100);
      expect(answers.map((a) => a.id).sort((a, b) => a - b)).toEqual(Array.from({ length: 100 }, (_, i) => 1000 + i));
      expect(new Set(answers.map((a) => a.data))).toEqual(new Set(["10.1.2.3"]));
      expect(up.seen.filter((q) => q.name === "crowd.example").length).toBe(1);
      const after = await metrics(admin);
      const grew = (name: string) => sumOf(after, name, { server: "vnetDNS" }) - sumOf(before, name, { server: "vnetDNS" });
      expect(grew("coredns_dns_requests_total")).toBe(100);
      expect(grew("coredns_dns_responses_total")).toBe(100);
      expect(grew("coredns_cache_hits_total")).toBe(100);
      expect(grew("coredns_dns_request_duration_seconds_count")).toBe(100);
    });

    test("a hit due for a refresh is answered at once and refreshed in the background (prefetch)", async () => {
      const { port, up } = await start(env, 5);
      await query("127.0.0.1", port, "prefetch.example.", "A");
      await sleep(4300); // the last tenth of the 5 s TTL: hits now ask for a refresh
      for (let i = 0; i < 3; i++) expect((await query("127.0.0.1", port, "prefetch.example.", "A")).answers!.length).toBe(1);
      for (let i = 0; i < 40 && up.seen.filter((q) => q.name === "prefetch.example").length < 2; i++) await sleep(50);
      expect(up.seen.filter((q) => q.name === "prefetch.example").length).toBe(2);
    }, 15_000);
  });
}

ffiDescribe("FFI data path sockets", () => {
  test("a second instance on the same UDP address fails to start instead of splitting the traffic", async () => {
    const { port } = await start({});
    const up2 = await startFakeUpstream("127.0.0.3", (q) => ({ kind: "answer", msg: answerFor(q) }));
    cleanups.push(() => up2.stop());
    const second = await runBinary({
      mode: "Required",
      listeners: { vnetDNS: [`127.0.0.1:${port}`], kubeDNS: [`127.0.0.1:${freePort()}`] },
      upstreams: { VnetDNS: [`127.0.0.3:${up2.port}`], ClusterCoreDNS: [`127.0.0.3:${up2.port}`] },
      admin: { listen: null }, cache: { snapshotPath: null },
    });
    cleanups.push(() => second.stop());
    for (let i = 0; i < 100 && second.proc.exitCode === null; i++) await sleep(50);
    expect(second.proc.exitCode).toBe(1);
    expect(second.stdout() + second.stderr()).toContain(`cannot bind UDP 127.0.0.1:${port}: address already in use`);
  });

  test("the receive buffer is what server.receiveBufferBytes asks (4 MiB by default; the kernel doubles it)", async () => {
    const { port } = await start({});
    const ss = spawnSync("ss", ["-u", "-a", "-n", "-m", "sport", "=", `:${port}`], { encoding: "utf8" });
    if (ss.status !== 0) { console.log("skipping the buffer check: ss is not installed"); return; }
    const rb = /rb(\d+)/.exec(ss.stdout);
    expect(rb).not.toBeNull();
    expect(Number(rb![1])).toBe(8 * 1024 * 1024);
  });
});
