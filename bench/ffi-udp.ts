// Micro-bench of the UDP data path alone: one fixed DNS answer (built in place over the query),
// served (a) by the FFI loop of src/net in a Worker and (b) by Bun.udpSocket with sendMany flushed
// per event-loop turn; CPU µs per query of the server process at a fixed rate, dnsperf on loopback.
//   bun bench/ffi-udp.ts [--qps=10000,50000] [--seconds=8] [--rounds=2]
//   bun bench/ffi-udp.ts --handover [--qps=10000] [--rounds=3]: a second server takes over the port
//     (joinAndSteer) while dnsperf runs, the first drains and closes on SIGTERM; lost queries counted
//   (internally: bun bench/ffi-udp.ts serve ffi|bun PORT [--takeover])
// The server runs on CPU 0, dnsperf (1 thread, 10 clients) on CPU 1.
import { readFileSync, writeFileSync } from "node:fs";
import type { BatchContext, BatchHandler } from "../src/net/batch-handler";
import { META_FLAGS, META_IN_LEN, META_OUT_LEN, META_RECORD, SLOT_TRUNCATED } from "../src/net/slots";

declare const Bun: any;

// answer RR: name pointer to the question, A IN, TTL 30, 10.96.0.1
const RR = Uint8Array.from([0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 0, 1]);

/** Turns the query at b[at..at+len) into its answer in place; returns the answer length, 0 to drop. */
export function answerInPlace(b: Uint8Array, at: number, len: number, room: number): number {
  if (len < 17) return 0;
  let i = 12;
  for (;;) {
    if (i >= len) return 0;
    const label = b[at + i];
    if (label === 0) break;
    if (label > 63) return 0;
    i += label + 1;
  }
  const end = i + 5; // root label, QTYPE, QCLASS
  if (end > len || end + RR.length > room) return 0;
  b[at + 2] = 0x80 | (b[at + 2] & 0x79); // QR, keep opcode and RD
  b[at + 3] = 0x80; // RA
  b[at + 6] = 0; b[at + 7] = 1; // ANCOUNT 1
  b[at + 8] = 0; b[at + 9] = 0; b[at + 10] = 0; b[at + 11] = 0; // no NS, no additional (an OPT is dropped)
  b.set(RR, at + end);
  return end + RR.length;
}

export function createFixedAnswerHandler(ctx: BatchContext): BatchHandler {
  const { bytes, words, slots } = ctx;
  return (n) => {
    for (let i = 0; i < n; i++) {
      const m = (slots.metaOffset + i * META_RECORD) >> 2;
      const at = slots.dataOffset + i * slots.slotSize;
      words[m + (META_OUT_LEN >> 2)] = words[m + (META_FLAGS >> 2)] & SLOT_TRUNCATED ? 0 : answerInPlace(bytes, at, words[m + (META_IN_LEN >> 2)], slots.slotSize);
    }
  };
}

async function serveFfi(port: number, takeover: boolean): Promise<void> {
  const { openFfiNet } = await import("../src/net/ffi-net");
  const { createUdpSocket } = await import("../src/net/udp-socket");
  const { planSlotRegion, slotRegionBytes } = await import("../src/net/slots");
  const { UdpLoopHandle } = await import("../src/net/udp-loop-handle");
  const net = await openFfiNet((n) => process.env[n], []);
  if (!net.ok) throw new Error(net.reason);
  const { joinAndSteer } = await import("../src/net/takeover");
  const endpoint = { host: "127.0.0.1", port };
  const sock = takeover ? joinAndSteer(net.lib, net.layout, endpoint).socket : createUdpSocket(net.lib, endpoint, { reusePort: true });
  const slots = planSlotRegion(new SharedArrayBuffer(slotRegionBytes(64, 512)), 64, 512);
  const loop = await UdpLoopHandle.start(net.lib, net.layout, { fds: [sock.fd], slots, handler: { module: import.meta.url, export: "createFixedAnswerHandler" } });
  process.on("SIGTERM", async () => {
    const r = await loop.drainAndClose();
    console.log(`served ${r.stats.answered} drained ${r.stats.drained}`);
    process.exit(0);
  });
}

async function serveBun(port: number): Promise<void> {
  const out: (Uint8Array | number | string)[] = [];
  let scheduled = false;
  const sock = await Bun.udpSocket({
    hostname: "127.0.0.1", port,
    socket: {
      data(s: any, buf: Uint8Array, rport: number, raddr: string) {
        const b = new Uint8Array(buf.length + RR.length);
        b.set(buf);
        const n = answerInPlace(b, 0, buf.length, b.length);
        if (n === 0) return;
        out.push(b.subarray(0, n), rport, raddr);
        if (!scheduled) {
          scheduled = true;
          setImmediate(() => { scheduled = false; s.sendMany(out); out.length = 0; });
        }
      },
    },
  });
  void sock;
}

function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime in clock ticks (USER_HZ 100)
}

async function bench(): Promise<void> {
  const { dnsperf } = await import("./lib/dnsperf");
  const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
  const rates = arg("qps", "10000,50000").split(",").map(Number);
  const seconds = Number(arg("seconds", "8"));
  const rounds = Number(arg("rounds", "2"));
  const file = `/tmp/ffi-udp-queries-${process.pid}.txt`;
  writeFileSync(file, Array.from({ length: 100 }, (_, i) => `svc-${i}.ns.svc.cluster.local A`).join("\n") + "\n");
  console.log("mode\tqps\tround\tsent\tlost\tavg_ms\tserver_cpu_us_per_query");
  let port = 20000 + (process.pid % 20000);
  for (let r = 1; r <= rounds; r++) {
    for (const qps of rates) {
      for (const mode of ["ffi", "bun"]) {
        port++;
        const server = Bun.spawn(["taskset", "-c", "0", process.execPath, import.meta.path, "serve", mode, String(port)], { stdout: "pipe", stderr: "inherit" });
        try {
          const reader = server.stdout.getReader();
          const first = new TextDecoder().decode((await reader.read()).value);
          if (!first.startsWith("READY")) throw new Error(`server ${mode}: ${first}`);
          await dnsperf({ server: "127.0.0.1", port, file, cpu: "1", durationS: 1, qps: 1000 }); // warm-up
          const c0 = cpuSeconds(server.pid);
          const d = await dnsperf({ server: "127.0.0.1", port, file, cpu: "1", durationS: seconds, qps });
          const cpu = cpuSeconds(server.pid) - c0;
          console.log([mode, qps, r, d.sent, d.lost, d.avgMs.toFixed(3), (1e6 * cpu / Math.max(1, d.completed)).toFixed(2)].join("\t"));
        } finally {
          server.kill("SIGKILL");
          await server.exited;
        }
      }
    }
  }
}

async function handover(): Promise<void> {
  const { dnsperf } = await import("./lib/dnsperf");
  const arg = (name: string, dflt: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3) ?? dflt;
  const qps = Number(arg("qps", "10000")), rounds = Number(arg("rounds", "3"));
  const file = `/tmp/ffi-udp-queries-${process.pid}.txt`;
  writeFileSync(file, Array.from({ length: 100 }, (_, i) => `svc-${i}.ns.svc.cluster.local A`).join("\n") + "\n");
  console.log("round\tsent\tcompleted\tlost\told_server\tnew_server");
  const start = async (port: number, extra: string[]) => {
    const p = Bun.spawn(["taskset", "-c", "0", process.execPath, import.meta.path, "serve", "ffi", String(port), ...extra], { stdout: "pipe", stderr: "inherit" });
    const reader = p.stdout.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    if (!first.startsWith("READY")) throw new Error(`server: ${first}`);
    const rest = (async () => { let t = ""; for (;;) { const { value, done } = await reader.read(); if (done) return t; t += new TextDecoder().decode(value); } })();
    return { p, rest };
  };
  for (let r = 1; r <= rounds; r++) {
    const port = 30000 + ((process.pid + r) % 20000);
    const a = await start(port, []);
    const load = dnsperf({ server: "127.0.0.1", port, file, cpu: "1", durationS: 8, qps });
    await Bun.sleep(2500);
    const b = await start(port, ["--takeover"]);
    await Bun.sleep(2000);
    a.p.kill("SIGTERM");
    await a.p.exited;
    const d = await load;
    b.p.kill("SIGTERM");
    await b.p.exited;
    console.log([r, d.sent, d.completed, d.lost, (await a.rest).trim(), (await b.rest).trim()].join("\t"));
  }
}

if (import.meta.main) {
  if (process.argv[2] === "serve") {
    const port = Number(process.argv[4]);
    await (process.argv[3] === "ffi" ? serveFfi(port, process.argv.includes("--takeover")) : serveBun(port));
    console.log(`READY ${process.argv[3]} ${port}`);
  } else if (process.argv.includes("--handover")) await handover();
  else await bench();
}
