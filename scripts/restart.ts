// Restart continuity: a client sends cached queries at a fixed rate (default 10,000 QPS, no retries)
// while dist/localdns is stopped with SIGTERM and started again at once with its cache snapshot (what
// systemd's Restart= does). It reports how many queries were lost and over how long a window, how long
// the stop and the start took, whether the restarted process answered from the restored cache, and
// whether a second client that retries after 1 s (the glibc stub's default timeout is 5 s; 1 s is a
// demanding client) got every answer. Loopback only; everything it starts it stops.
//
//   bun scripts/restart.ts [--qps 10000] [--before 3] [--after 6] [--names 1000] [--retry-qps 200] [--json FILE]
import * as dgram from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import packet from "dns-packet";
import { runBinary, type RunningBinary } from "../test/helpers/binary";
import { startFastUpstream } from "../test/helpers/fast-upstream";
import { pickPort, UdpMux } from "../test/helpers/robust";
import { sleep } from "../test/helpers/dns";

export interface RestartOptions { qps: number; beforeS: number; afterS: number; names: number; retryQps: number; host?: string; log?: (l: string) => void }
export interface RestartResult {
  options: RestartOptions;
  load: {
    sent: number; answered: number; lost: number; errors: number;
    /** queries lost that were sent before SIGTERM / between SIGTERM and the first answer of the new process / after it */
    lostBefore: number; lostDuringRestart: number; lostAfter: number;
    sentBefore: number; sentDuringRestart: number; sentAfter: number;
    /** from the last answer of the old process to the first answer of the new one */
    gapMs: number;
  };
  /** SIGTERM → exit of the old process; exit → first answer of the new process; spawn → first answer */
  stopMs: number; exitToFirstAnswerMs: number; spawnToFirstAnswerMs: number; exitCode: number | null;
  snapshotRestored: boolean; upstreamQueriesForCachedNamesAfterRestart: number;
  retrying: { queries: number; answered: number; unanswered: number; retried: number; maxTries: number; errors: number };
}

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const HOT = "hot.restart.test";
const q = (id: number, name: string) => packet.encode({ type: "query", id, flags: packet.RECURSION_DESIRED, questions: [{ type: "A", name, class: "IN" }] } as any);

export async function runRestart(o: RestartOptions): Promise<RestartResult> {
  const log = o.log ?? ((l: string) => console.log(l));
  const host = o.host ?? "127.0.21.1";
  const up = await startFastUpstream(host.replace(/\.\d+$/, ".9"), 0, { hotSuffix: HOT, hotTtl: 3600, ttl: 60 });
  const dir = mkdtempSync(join(tmpdir(), "ldns-restart-"));
  const port = await pickPort(host, host.replace(/\.\d+$/, ".2"));
  const config = {
    mode: "Required",
    listeners: { vnetDNS: [`${host}:${port}`], kubeDNS: [`${host.replace(/\.\d+$/, ".2")}:${port}`] },
    upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] },
    admin: { listen: null },
    cache: { snapshotPath: join(dir, "cache.snapshot") },
  };
  let bin: RunningBinary | null = await runBinary(config, { probe: { host, port } });
  let second: RunningBinary | null = null;
  const socks: dgram.Socket[] = [];
  try {
    // warm the cache: every name answered (asked again until it is)
    const names = Array.from({ length: o.names }, (_, i) => `h${i}.${HOT}`);
    {
      const mux = await UdpMux.open();
      let todo = names.slice();
      for (let round = 0; round < 10 && todo.length; round++) {
        const missing: string[] = [];
        for (let i = 0; i < todo.length; i += 50) {
          const batch = todo.slice(i, i + 50);
          const got = await Promise.all(batch.map((n) => { const m = q(mux.id(), n); return mux.ask(m, host, port, 1000); }));
          batch.forEach((n, k) => { if (!got[k]) missing.push(n); });
        }
        todo = missing;
      }
      mux.close();
      log(`restart: ${names.length - todo.length} of ${names.length} names cached`);
    }
    const upstreamBefore = up.queries.udp + up.queries.tcp;

    // the load: SOCKS sockets, ids per socket, no retries; answer times per query
    const SOCKS = 4;
    const total = Math.ceil(o.qps * (o.beforeS + o.afterS + 1));
    const sentAt = new Float64Array(total).fill(-1);
    const answeredAt = new Float64Array(total).fill(-1);
    const rcodeOk = new Uint8Array(total);
    const byId: Map<number, number>[] = [];
    const t0 = performance.now();
    for (let k = 0; k < SOCKS; k++) {
      const s = dgram.createSocket("udp4");
      s.on("error", () => {}); // ICMP port unreachable while nothing listens
      await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
      const map = new Map<number, number>();
      byId.push(map);
      s.on("message", (m) => {
        const i = map.get(m.readUInt16BE(0));
        if (i === undefined || answeredAt[i] >= 0) return;
        answeredAt[i] = performance.now() - t0;
        rcodeOk[i] = (m[3] & 0x0f) === 0 ? 1 : 0;
      });
      socks.push(s);
    }
    let sent = 0;
    let stopLoad = false;
    const loadDone = (async () => {
      const tick = 5; // ms
      while (!stopLoad && sent < total) {
        const due = Math.min(total, Math.floor(((performance.now() - t0) * o.qps) / 1000));
        while (sent < due) {
          const k = sent % SOCKS;
          const id = Math.floor(sent / SOCKS) & 0xffff;
          byId[k].set(id, sent);
          sentAt[sent] = performance.now() - t0;
          socks[k].send(q(id, names[sent % names.length]), port, host);
          sent++;
        }
        await sleep(tick);
      }
    })();

    // the retrying client: one logical query every 1000/retryQps ms, resent after each 1 s without an answer
    const retry = { queries: 0, answered: 0, unanswered: 0, retried: 0, maxTries: 0, errors: 0 };
    const rs = dgram.createSocket("udp4");
    rs.on("error", () => {});
    await new Promise<void>((r) => rs.bind(0, "127.0.0.1", r));
    socks.push(rs);
    const waiting = new Map<number, (ok: boolean) => void>();
    rs.on("message", (m) => { const w = waiting.get(m.readUInt16BE(0)); if (w) { waiting.delete(m.readUInt16BE(0)); w((m[3] & 0xf) === 0); } });
    let rid = 0;
    const retryOne = async (name: string) => {
      retry.queries++;
      for (let tries = 1; tries <= 15; tries++) {
        const id = (rid = (rid + 1) & 0xffff);
        const ok = await new Promise<boolean | null>((resolve) => {
          const t = setTimeout(() => { waiting.delete(id); resolve(null); }, 1000);
          waiting.set(id, (v) => { clearTimeout(t); resolve(v); });
          rs.send(q(id, name), port, host);
        });
        if (ok !== null) {
          retry.answered++;
          if (!ok) retry.errors++;
          if (tries > 1) retry.retried++;
          retry.maxTries = Math.max(retry.maxTries, tries);
          return;
        }
      }
      retry.unanswered++;
    };
    const retryJobs: Promise<void>[] = [];
    const retryDone = (async () => {
      let i = 0;
      while (!stopLoad) { retryJobs.push(retryOne(names[(i++ * 7) % names.length])); await sleep(1000 / o.retryQps); }
    })();

    await sleep(o.beforeS * 1000);
    const tStop = performance.now() - t0;
    log(`restart: SIGTERM at ${Math.round(tStop)} ms (${sent} queries sent)`);
    const exitCode = await bin.stop("SIGTERM");
    bin = null;
    const tExit = performance.now() - t0;
    second = await runBinary(config); // no probe: the load itself shows when it answers again
    const tSpawn = performance.now() - t0;
    await sleep(o.afterS * 1000);
    stopLoad = true;
    await loadDone;
    await retryDone;
    await Promise.all(retryJobs);
    await sleep(2000); // the last answers

    // losses, by phase
    let answered = 0, errors = 0, lastBefore = -1, firstAfter = Infinity;
    for (let i = 0; i < sent; i++) {
      if (answeredAt[i] < 0) continue;
      answered++;
      if (!rcodeOk[i]) errors++;
      if (answeredAt[i] <= tExit && answeredAt[i] > lastBefore) lastBefore = answeredAt[i];
      if (answeredAt[i] > tExit && answeredAt[i] < firstAfter) firstAfter = answeredAt[i];
    }
    const phase = { lostBefore: 0, lostDuringRestart: 0, lostAfter: 0, sentBefore: 0, sentDuringRestart: 0, sentAfter: 0 };
    for (let i = 0; i < sent; i++) {
      const lost = answeredAt[i] < 0 ? 1 : 0;
      if (sentAt[i] < tStop) { phase.sentBefore++; phase.lostBefore += lost; }
      else if (sentAt[i] < firstAfter) { phase.sentDuringRestart++; phase.lostDuringRestart += lost; }
      else { phase.sentAfter++; phase.lostAfter += lost; }
    }
    const upstreamAfter = up.queries.udp + up.queries.tcp - upstreamBefore;
    const restored = /cache snapshot restored/.test(second.stdout());
    return {
      options: o,
      load: { sent, answered, lost: sent - answered, errors, ...phase, gapMs: Math.round(firstAfter - lastBefore) },
      stopMs: Math.round(tExit - tStop), exitToFirstAnswerMs: Math.round(firstAfter - tExit), spawnToFirstAnswerMs: Math.round(firstAfter - tSpawn), exitCode,
      snapshotRestored: restored, upstreamQueriesForCachedNamesAfterRestart: upstreamAfter,
      retrying: retry,
    };
  } finally {
    for (const s of socks) { try { s.close(); } catch { /* closed */ } }
    await bin?.stop();
    await second?.stop();
    await up.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.main) {
  const r = await runRestart({ qps: arg("qps", 10_000), beforeS: arg("before", 3), afterS: arg("after", 6), names: arg("names", 1000), retryQps: arg("retry-qps", 200) });
  console.log(JSON.stringify(r, null, 2));
  const j = process.argv.indexOf("--json");
  if (j > 0) writeFileSync(process.argv[j + 1], JSON.stringify(r, null, 2));
  const ok = r.exitCode === 0 && r.retrying.unanswered === 0 && r.retrying.errors === 0 && r.load.errors === 0 && r.snapshotRestored;
  console.log(ok ? "RESTART OK" : "RESTART FAILED");
  process.exit(ok ? 0 : 1);
}
