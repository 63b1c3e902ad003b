// Peak memory of a warm restart with a full cache: fills a cache of cache.maxBytes (default 32 MiB)
// in the core, writes its snapshot, then starts the binary on it and reports the process's peak RSS
// (VmHWM) once the snapshot is restored, and again after the SIGTERM that saves it back.
//   bun bench/snapshot-rss.ts [binary=dist/localdns] [maxBytes=33554432]
// Listens on 127.0.0.1 only; the upstream address is never asked (every query here is a cache hit).
import { readFileSync, writeFileSync, mkdtempSync, rmSync, copyFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import packet from "dns-packet";
import { Core } from "../src/core";
import { encodeSnapshot } from "../src/cache/snapshot";

const root = join(import.meta.dir, "..");
const binary = resolve(root, process.argv[2] ?? "dist/localdns");
const maxBytes = Number(process.argv[3] ?? 32 * 1024 * 1024);

async function fullSnapshot(path: string): Promise<{ records: number; bytes: number }> {
  const core = await Core.load(new Uint8Array(readFileSync(join(root, "build/core.wasm"))), maxBytes);
  core.addZone(0, ".", 0);
  const now = Math.floor(Date.now() / 1000);
  // typical answers: a CNAME and two A records, ~130 octets stored; stop once the cache evicts
  for (let i = 0; core.stats().evictions === 0; i++) {
    const name = `host-${i}.svc.example.org`;
    const q = packet.encode({ type: "query", id: 1, flags: packet.RECURSION_DESIRED, questions: [{ name, type: "A", class: "IN" }] } as any);
    if (core.handle(q, now, 0, false) !== -1) throw new Error("not a miss");
    const sent = core.upstreamQuery(0x1234, 0);
    const reply = packet.encode({
      type: "response", id: 0x1234, flags: 0x8180, questions: [{ name, type: "A", class: "IN" }],
      answers: [
        { name, type: "CNAME", ttl: 3600, data: `lb-${i}.example.net` },
        { name: `lb-${i}.example.net`, type: "A", ttl: 3600, data: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` },
        { name: `lb-${i}.example.net`, type: "A", ttl: 3600, data: `10.200.${(i >> 8) & 255}.${i & 255}` },
      ],
    } as any);
    if (core.prepare(reply, sent, false, 86400, 30) !== 0 || !core.storePrepared(sent.length, now, 0, 0, 3600)) throw new Error("not stored");
  }
  const { data, records } = encodeSnapshot(core, [{ id: 0, set: 0, zone: "." }]);
  writeFileSync(path, data);
  return { records, bytes: data.length };
}

const kib = (status: string, key: string) => Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(status)?.[1] ?? NaN);
const mb = (k: number) => (k / 1024).toFixed(1);

async function measure(snapshot: string, dir: string) {
  const snap = join(dir, "run.snapshot");
  copyFileSync(snapshot, snap);
  const cfg = join(dir, "c.json");
  writeFileSync(cfg, JSON.stringify({
    listeners: { vnetDNS: ["127.0.0.1:0"], kubeDNS: ["127.0.0.1:0"] }, admin: { listen: null },
    upstreams: { VnetDNS: ["127.0.0.1:9"], ClusterCoreDNS: ["127.0.0.1:9"] }, cache: { maxBytes, snapshotPath: snap },
  }));
  const proc = spawn(binary, ["run", "--config", cfg], { stdio: ["ignore", "pipe", "inherit"] });
  let out = "";
  proc.stdout!.on("data", (d) => { out += d; });
  const status = () => { try { return readFileSync(`/proc/${proc.pid}/status`, "utf8"); } catch { return ""; } };
  for (let i = 0; i < 600 && !out.includes('"localdns started"'); i++) await Bun.sleep(50);
  if (!out.includes("cache snapshot restored")) throw new Error(`no restore: ${out}`);
  const restored = JSON.parse(out.split("\n").find((l) => l.includes("cache snapshot restored"))!).entries;
  await Bun.sleep(500);
  const afterStart = status();
  const exited = new Promise((r) => proc.once("exit", r));
  proc.kill("SIGTERM");
  let last = afterStart;
  for (let s = status(); s !== ""; s = status()) { if (s.includes("VmHWM")) last = s; await Bun.sleep(5); }
  await exited;
  return { restored, startHwm: kib(afterStart, "VmHWM"), startRss: kib(afterStart, "VmRSS"), stopHwm: kib(last, "VmHWM") };
}

const dir = mkdtempSync(join(tmpdir(), "ldns-snaprss-"));
try {
  const file = join(dir, "full.snapshot");
  const s = await fullSnapshot(file);
  console.log(`snapshot: ${s.records} records, ${mb(s.bytes / 1024)} MB, cache.maxBytes ${maxBytes}`);
  for (let run = 1; run <= 3; run++) {
    const m = await measure(file, dir);
    console.log(`run ${run}: restored ${m.restored}; after start RSS ${mb(m.startRss)} MB, peak ${mb(m.startHwm)} MB; peak by exit (snapshot saved) ${mb(m.stopHwm)} MB`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
