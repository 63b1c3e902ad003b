// The test bed of the hard-limits suite: dist/localdns in a 128 MiB memory cgroup with two listeners
// (vnet 127.0.44.1, kube 127.0.44.2, same port), the fast upstream for everything (VnetDNS) and an
// upstream that swallows every query (ClusterCoreDNS) for the zone void.limits.test, and cached names
// the probe asks. measure() runs one abuse while the probe asks those names at 100 QPS and reports
// what the proof needs: alive, OOM kills, limit hits, peak memory, probe waits, and whether
// RSS came back to its level before.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createMemoryCgroup, type MemoryCgroup } from "./cgroup";
import { startInCgroup, type CgroupBinary } from "./cgroup-binary";
import { startCachedProbe, type ProbeResult } from "./cached-probe";
import { addressFor } from "./fast-upstream";
import { alive, pickPort, rssKiB } from "./robust";
import { query, sleep } from "./dns";
import type { Target } from "./abuse";

export const LIMIT_BYTES = 128 << 20;
export const VNET_HOST = "127.0.44.1";
export const KUBE_HOST = "127.0.44.2";
export const HOT = "hot.limits.test"; // answered by the fast upstream, TTL 3600: cached
export const VOID = "void.limits.test"; // forwarded to the upstream that never answers
export const BLOCKED = "blocked.limits.test"; // NXDOMAIN locally, by a rule of the running config
export const PROBE_NAMES = Array.from({ length: 50 }, (_, i) => `p${i}.${HOT}`);

export interface Upstreams { fast: Target; swallow: Target }

/** The config every bed starts from; `extra` is merged over the top level, `zoneExtra` into each
 * listener set's overrides. */
export function baseConfig(port: number, up: Upstreams, o: { extra?: Record<string, unknown>; zoneExtra?: Record<string, unknown>; rootExtra?: Record<string, unknown> } = {}): Record<string, unknown> {
  // an explicit rule list replaces the default rules: keep the default reddog.microsoft.com one too
  const root = { nxdomainRules: [{ suffix: BLOCKED, minLabels: 1 }, { suffix: "reddog.microsoft.com", minLabels: 1 }], ...o.rootExtra };
  const overrides = (rootDest: string) => ({
    ".": { forwardDestination: rootDest, ...root },
    [VOID]: { forwardDestination: "ClusterCoreDNS" },
    ...o.zoneExtra,
  });
  return {
    mode: "Required",
    listeners: { vnetDNS: [`${VNET_HOST}:${port}`], kubeDNS: [`${KUBE_HOST}:${port}`] },
    upstreams: { ClusterCoreDNS: [`${up.swallow.host}:${up.swallow.port}`], VnetDNS: [`${up.fast.host}:${up.fast.port}`] },
    vnetDNSOverrides: overrides("VnetDNS"),
    kubeDNSOverrides: overrides("VnetDNS"),
    admin: { listen: null },
    cache: { snapshotPath: null },
    ...o.extra,
  };
}

export interface Measured {
  abuse: string;
  alive: boolean;
  /** both listeners answered the health name within 1 s at the end */
  responsive: boolean;
  oomKills: number;
  /** memory.failcnt during the abuse: times the group hit its limit (stays 0 on some kernels, e.g.
   * 6.18, even when the OOM killer ran: oomKills is what counts) */
  limitHits: number;
  /** memory.max_usage_in_bytes over the abuse (RSS and page cache charged to the group) */
  peakMiB: number;
  /** the group's anonymous memory (heap, wasm memory, buffers; not reclaimable without swap), the
   * highest of samples 50 ms apart */
  peakAnonMiB: number;
  /** VmHWM over the abuse: the process's peak resident set (includes the executable's file pages,
   * which are charged to whoever read them first) */
  peakRssMiB: number;
  rssBeforeMiB: number;
  rssAfterMiB: number | null;
  /** when the process was first seen gone, in ms after the abuse began (null: it was not) */
  diedAfterMs: number | null;
  /** how long after the abuse RSS took to come back within 10 % (null: it did not within the settle time) */
  settledAfterMs: number | null;
  probe: ProbeResult;
  seconds: number;
  /** abuse-specific facts (what the attacker saw, what the server logged) */
  facts: Record<string, unknown>;
  /** abuse-specific checks that failed (set by the test) */
  failedChecks: string[];
}

const mib = (bytes: number) => Math.round((bytes / 1048576) * 10) / 10;
const statusKiB = (pid: number, field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN);

export class LimitsBed {
  private constructor(readonly name: string, readonly cg: MemoryCgroup, public bin: CgroupBinary, readonly port: number, readonly up: Upstreams, public config: Record<string, unknown>) {}

  get targets(): Target[] { return [{ host: VNET_HOST, port: this.port }, { host: KUBE_HOST, port: this.port }]; }
  get pid(): number { return this.bin.pid; }

  /** A fresh cgroup and binary; the probe names are asked once on each listener so they are cached. */
  static async start(name: string, up: Upstreams, o: { config?: (port: number, dir: string) => Record<string, unknown> | Promise<Record<string, unknown>>; stuckOutput?: boolean } = {}): Promise<LimitsBed> {
    const cg = createMemoryCgroup(`ldns-limits-${process.pid}-${name}`, LIMIT_BYTES);
    const port = await pickPort(VNET_HOST, KUBE_HOST);
    const dir = mkdtempSync(join(tmpdir(), "ldns-limits-"));
    const config = o.config ? await o.config(port, dir) : baseConfig(port, up);
    let bin: CgroupBinary;
    try {
      bin = await startInCgroup(cg, config, { ready: { host: VNET_HOST, port }, stuckOutput: o.stuckOutput, dir });
    } catch (e) { cg.remove(); rmSync(dir, { recursive: true, force: true }); throw e; }
    const bed = new LimitsBed(name, cg, bin, port, up, config);
    await bed.warm(PROBE_NAMES);
    return bed;
  }

  /** Asks each name once on both listeners (a miss the first time: the answer is cached). */
  async warm(names: string[], tcp = false): Promise<void> {
    for (const n of names) for (const t of this.targets) {
      const a = await query(t.host, t.port, n, "A", { timeoutMs: 2000, tcp });
      if (a.answers[0]?.data !== addressFor(n)) throw new Error(`warm-up: ${n} on ${t.host} got ${a.rcode} ${JSON.stringify(a.answers)}`);
    }
  }

  /** Whether both listeners answer the health name within 1 s. */
  async responsive(): Promise<boolean> {
    for (const t of this.targets) {
      try { await query(t.host, t.port, "health-check.localdns.local", "A", { timeoutMs: 1000 }); } catch { return false; }
    }
    return true;
  }

  /** Runs `abuse` while the probe asks the cached names at 100 QPS; afterwards waits up to settleMs
   * for RSS to come back within 10 % of its level before (the probe keeps running meanwhile).
   * prepare: runs before the baseline is taken, to exercise the code paths the abuse uses once (their
   * first use compiles code and grows the heap for good; that is not what the abuse holds).
   * probeAfter: the abuse restarts the process (abuse 8), so the probe starts once run() is done and
   * RSS after is the new process's, compared with the old one's before. */
  async measure(abuse: string, run: (bed: LimitsBed) => Promise<Record<string, unknown> | void>, o: { settleMs?: number; probeAfter?: boolean; prepare?: (bed: LimitsBed) => Promise<Record<string, unknown> | void> } = {}): Promise<Measured> {
    const t0 = Date.now();
    await this.warm(PROBE_NAMES.slice(0, 5), true);
    const prepared = (o.prepare ? await o.prepare(this) : undefined) ?? {};
    await sleep(300);
    const rssBefore = await this.rssFloorKiB(5);
    this.cg.resetPeak();
    writeFileSync(`/proc/${this.pid}/clear_refs`, "5"); // resets VmHWM to the current RSS
    const oom0 = this.cg.oomKills();
    const fail0 = this.cg.failcnt();
    const startProbe = () => startCachedProbe({ targets: this.targets, names: PROBE_NAMES.map((name) => ({ name, address: addressFor(name) })), qps: 100 });
    let probe = o.probeAfter ? null : await startProbe();
    if (probe) await sleep(300);
    let facts: Record<string, unknown> = {};
    // VmHWM and the group's anonymous memory sampled throughout (a killed process takes its last
    // VmHWM with it; v1 keeps no peak of anonymous memory)
    let peakRss = NaN;
    let peakAnon = this.cg.anonBytes();
    let diedAfterMs: number | null = null;
    const runStart = Date.now();
    const sampleHwm = () => {
      peakAnon = Math.max(peakAnon, this.cg.anonBytes());
      if (this.bin.exited()) { if (diedAfterMs === null && !o.probeAfter) diedAfterMs = Date.now() - runStart; return; }
      try {
        const hwm = statusKiB(this.pid, "VmHWM"); // NaN for a zombie: its memory is gone already
        if (Number.isFinite(hwm)) peakRss = Number.isNaN(peakRss) ? hwm : Math.max(peakRss, hwm);
      } catch { /* exited between the two checks */ }
    };
    const sampler = setInterval(sampleHwm, 50);
    try {
      facts = { ...prepared, ...(await run(this)) };
    } finally {
      clearInterval(sampler);
      sampleHwm();
    }
    probe ??= await startProbe();
    const pid = this.pid;
    const settleStart = Date.now();
    let settledAfterMs: number | null = null;
    let rssAfter: number | null = null;
    const until = settleStart + (o.settleMs ?? 8000);
    while (alive(pid)) {
      try { rssAfter = rssKiB(pid); } catch { rssAfter = null; break; }
      if (settledAfterMs === null && rssAfter <= rssBefore * 1.1) settledAfterMs = Date.now() - settleStart;
      // the probe keeps asking for a while after the abuse either way (3 s when it only starts now)
      if ((settledAfterMs !== null && Date.now() - settleStart >= (o.probeAfter ? 3000 : 1000)) || Date.now() >= until) break;
      await sleep(100);
    }
    sampleHwm();
    const responsive = alive(pid) && await this.responsive();
    const probeResult = await probe.stop();
    return {
      abuse, alive: alive(pid) && !this.bin.exited(), responsive,
      oomKills: this.cg.oomKills() - oom0, limitHits: this.cg.failcnt() - fail0,
      peakMiB: mib(this.cg.peakBytes()), peakAnonMiB: mib(peakAnon), peakRssMiB: mib(peakRss * 1024),
      rssBeforeMiB: mib(rssBefore * 1024), rssAfterMiB: rssAfter === null ? null : mib(rssAfter * 1024),
      settledAfterMs, diedAfterMs, probe: probeResult, seconds: Math.round((Date.now() - t0) / 100) / 10, facts, failedChecks: [],
    };
  }

  /** The lowest of n RSS samples 50 ms apart (a collection may be under way at any one sample). */
  async rssFloorKiB(n: number): Promise<number> {
    let low = Infinity;
    for (let i = 0; i < n; i++) { low = Math.min(low, rssKiB(this.pid)); if (i < n - 1) await sleep(50); }
    return low;
  }

  /** SIGTERM, wait for the exit, and start the same config again in the same cgroup and directory. */
  async restart(): Promise<{ exit: { code: number | null; signal: NodeJS.Signals | null }; readyMs: number; output: string }> {
    const exit = await this.bin.stop("SIGTERM");
    const output = this.bin.output();
    const t = Date.now();
    this.bin = await startInCgroup(this.cg, this.config, { ready: { host: VNET_HOST, port: this.port }, dir: this.bin.dir });
    return { exit, readyMs: Date.now() - t, output };
  }

  /** Stops the binary (SIGKILL if it does not exit within 3 s of SIGTERM) and removes the cgroup. */
  async stop(): Promise<void> {
    if (!this.bin.exited()) {
      this.bin.proc.kill("SIGTERM");
      const t = setTimeout(() => this.bin.proc.kill("SIGKILL"), 3000);
      await this.bin.exit;
      clearTimeout(t);
    }
    rmSync(this.bin.dir, { recursive: true, force: true });
    this.cg.remove();
  }
}

/** One line per abuse for the log and RELIABILITY.md. */
export function resultRow(m: Measured): string {
  const ok = m.alive && m.responsive && m.oomKills === 0 && m.probe.wrong + m.probe.lost + m.probe.stalls === 0 && m.settledAfterMs !== null && m.failedChecks.length === 0;
  return `| ${m.abuse} | ${ok ? "pass" : "FAIL"} | ${m.alive ? "yes" : "no"} | ${m.oomKills} | ${m.peakMiB} | ${m.peakAnonMiB} | ${m.rssBeforeMiB} → ${m.rssAfterMiB ?? "–"}${m.settledAfterMs === null ? " (not back)" : ""} | ${m.probe.p99Ms} / ${m.probe.maxMs} | ${m.probe.lost} / ${m.probe.wrong} / ${m.probe.stalls} of ${m.probe.sent} |`;
}

export const RESULT_HEADER = [
  "| abuse | result | alive | OOM kills | cgroup peak (MiB) | peak anon (MiB) | RSS before → after (MiB) | probe p99 / max (ms) | probe lost / wrong / ≥500 ms |",
  "|---|---|---|---|---|---|---|---|---|",
];
