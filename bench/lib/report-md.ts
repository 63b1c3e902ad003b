// The generated section of BENCHMARKS.md (between START and END; the rest of the file is left alone):
// tables of the medians with ratios to unbound-1t of the same run, per-round spread, memory per system,
// and the targets of issue 15 (plus the earlier ones the harness already checked).
import { readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import { median } from "./dnsperf";
import { med, sum, fx, ms, int, ratio, mib } from "./format";
import { summarise, charts, START, END, SYSTEMS, LABEL, type Results, type MemRun, type Run } from "./report";

/** Issue 15: idle RSS not above today's ≈ 47–58 MB; the upper end, in MiB. */
const IDLE_LIMIT_MIB = 58e6 / 1048576;
const label = (n: string) => LABEL[n] ?? n;

/** "main 5.10, HeapHelper 0.12": per-thread CPU µs/query, median over the runs, busiest first. */
function byThread(runs: Run[]): string {
  const names = new Set(runs.flatMap((x) => Object.keys(x.usPerQByThread ?? {})));
  const v = [...names].map((n) => [n, median(runs.map((x) => x.usPerQByThread?.[n] ?? 0))] as [string, number]).filter(([, x]) => x >= 0.05).sort((a, b) => b[1] - a[1]);
  return v.length ? v.map(([n, x]) => `${n} ${fx(x, 2)}`).join(", ") : "–";
}

export function markdown(r: Results): string {
  const s = summarise(r);
  const c = r.config;
  const m = r.meta;
  const o: string[] = [];
  const H = s.hits;
  const present = SYSTEMS.filter((x) => H[x]);
  const ub = H.unbound;
  const variants: Record<string, { binary: string; args: string[]; env: Record<string, string> }> = c.localdns ?? {};
  const peersTitle = (c.SYSTEMS ?? SYSTEMS).filter((n: string) => !n.startsWith("localdns")).join(", ").replace(/, ([^,]*)$/, " and $1");
  o.push(START, "", `## Side by side with ${peersTitle || "unbound and dnsmasq"}`, "");
  o.push(`Measured ${m.date.slice(0, 16).replace("T", " ")} UTC with \`${m.command}\` (bench/run.sh → bench/run.ts), ${Math.round(r.durationS)} s in all.`, "");
  if (m.gitRev) {
    const v = Object.entries(variants).map(([n, x]) => `${n}: \`${[x.binary.replace(/^.*\/(dist\/)/, "$1"), "run --config …", ...x.args].join(" ")}\`` +
      (Object.keys(x.env).length ? ` with ${Object.entries(x.env).map(([k, e]) => `\`${k}=${e}\``).join(" ")}` : "")).join("; ");
    o.push(`Build: git ${m.gitRev}; ${m.binary ?? "?"}; ${m.bun}. ${v || ""}`, "");
  }
  const threads = m.threads ? ` Threads after start: ${Object.entries(m.threads).map(([k, v]) => `${k} ${v}`).join(", ")} (all pinned to CPU ${c.SERVER_CPU}).` : "";
  o.push(`Machine: \`nproc\` = ${m.nproc}${m.nprocNote ? ` (${m.nprocNote})` : ""}, CPU "${m.cpu}", ${m.memMiB} MiB, kernel ${m.kernel}, ${m.os}. ` +
    `unbound ${m.unbound} (1 thread); dnsmasq ${m.dnsmasq}; dnsdist ${m.dnsdist ?? "–"}; knotd ${m.knot}; dnsperf ${m.dnsperf}.${threads} ` +
    `Load average at start: ${m.loadStart.split(" ").slice(0, 3).join(" ")}; at end: ${m.loadEnd.split(" ").slice(0, 3).join(" ")} ` +
    "(a shared VM: other jobs ran at the same time" +
    (Number.isFinite(m.busyAtStart) ? `; the busiest core was ${fx(m.busyAtStart!, 0)} % busy in the second before the run started` : "") + ").", "");
  o.push("How: everything on loopback. knotd (127.0.0.2, 1 UDP worker) is the upstream for every cache: cluster.local " +
    `(${c.NAMES} A, TTL 30), example.com (${c.NAMES} A, TTL 300) and a wildcard zone (every new name a miss). ` +
    "localdns runs the compiled binary (both listener sets on 127.0.0.1 high ports, both destinations → knotd, " +
    "defaults otherwise: cluster.local over TCP, the rest over UDP; no snapshot, no admin), queried on its kube listener. " +
    "unbound: 1 thread, iterator only, forward-zone to knotd. dnsmasq: cache-size 10,000. " +
    `dnsdist: one \`setLocal\` listener (its one UDP client thread answers the hits), \`newPacketCache(${int(c.CACHE_ENTRIES ?? NaN)})\` ` +
    "on the default pool, knotd as its one backend, health checks and security polling off, one TCP worker; otherwise dnsdist's defaults. " +
    `The server under test and knotd are pinned to CPU ${c.SERVER_CPU}; dnsperf (1 thread, 10 clients, \`-q 100\`) to CPU ${c.LOAD_CPU}. ` +
    `All caches run for the whole run and take turns: for each phase, ${c.ROUNDS} rounds of ${present.join(", ")} ` +
    "(the first system rotates each round), each re-warmed (two passes over the names) right before it is measured. " +
    "Figures are medians over the rounds; ratios are to unbound-1t in the same run. " +
    "**CPU per query** = (utime+stime of the whole server process, all threads, from /proc/PID/stat, read right before dnsperf " +
    "starts and right after it exits) ÷ queries dnsperf counted as answered; the rate is held by dnsperf's `-Q`. " +
    "**Latency percentiles** are nearest-rank over every answered query of the run, from the per-query lines of `dnsperf -v` " +
    "(each carries that query's latency).", "");

  if (present.length) {
    const cell = (x: string, f: (h: Record<string, number>) => string) => `| ${x} | ${present.map((n) => f(H[n])).join(" | ")} |`;
    const withRatio = (v: (h: Record<string, number>) => number, d: number) => (h: Record<string, number>) =>
      h === ub || !ub ? fx(v(h), d) : `${fx(v(h), d)} (${ratio(v(h), v(ub))})`;
    const split = (u: (h: Record<string, number>) => number, y: (h: Record<string, number>) => number) => (h: Record<string, number>) => `${fx(u(h), 2)} / ${fx(y(h), 2)}`;
    o.push(`### Cache hits: ${2 * c.NAMES} names (half cluster.local, half example.com), all answered from cache`, "");
    o.push(`| | ${present.map(label).join(" | ")} |`, `|---|${present.map(() => "---").join("|")}|`);
    o.push(cell(`**server CPU µs per query at ${int(c.MID_QPS)} QPS**`, withRatio((h) => h.midUs, 2)));
    o.push(cell(`  of which user / system µs`, split((h) => h.midUser, (h) => h.midSys)));
    o.push(cell(`**server CPU µs per query at ${int(c.LAT_QPS)} QPS**`, withRatio((h) => h.latUs, 2)));
    o.push(cell(`  of which user / system µs`, split((h) => h.latUser, (h) => h.latSys)));
    o.push(cell(`**p50 at ${int(c.LAT_QPS)} QPS (ms)**`, withRatio((h) => h.p50, 3)));
    o.push(cell(`**p99 at ${int(c.LAT_QPS)} QPS (ms)**`, withRatio((h) => h.p99, 3)));
    o.push(cell(`p95 / p99.9 / max at ${int(c.LAT_QPS)} QPS (ms); lost`, (h) => `${ms(h.p95)} / ${ms(h.p999)} / ${fx(h.max, 2)}; ${int(h.latLost)}`));
    o.push(cell(`server CPU % of a core at ${int(c.MID_QPS)} / ${int(c.LAT_QPS)} QPS`, (h) => `${fx(h.midCpu, 1)} / ${fx(h.latCpu, 1)}`));
    o.push(cell(`sleeps (voluntary context switches, all threads) per query at ${int(c.MID_QPS)} / ${int(c.LAT_QPS)} QPS`, (h) => `${fx(h.midSleeps, 3)} / ${fx(h.latSleeps, 3)}`));
    o.push(cell(`preemptions per second at ${int(c.MID_QPS)} / ${int(c.LAT_QPS)} QPS`, (h) => `${fx(h.midPreempt, 0)} / ${fx(h.latPreempt, 0)}`));
    o.push(`| CPU µs per query by thread at ${int(c.MID_QPS)} QPS (median over rounds; threads under 0.05 µs left out) | ${present.map((n) => byThread(r.hits[n].mid)).join(" | ")} |`);
    o.push(`| CPU µs per query by thread at ${int(c.LAT_QPS)} QPS | ${present.map((n) => byThread(r.hits[n].lat)).join(" | ")} |`);
    const short = present.some((n) => H[n].midQps < 0.95 * c.MID_QPS);
    o.push(cell(`QPS reached / lost queries at ${int(c.MID_QPS)} QPS asked`, (h) => `${int(h.midQps)}${h.midQps < 0.95 * c.MID_QPS ? "\\*" : ""} / ${int(h.midLost)}`));
    o.push(cell(`max rate (${c.DUR_MAX} s, -q ${c.MAXQ}): QPS`, withRatio((h) => h.maxQps, 0)));
    o.push(cell("max rate: server CPU µs per query; % of a core", (h) => `${fx(h.maxUs, 2)}; ${fx(h.maxCpu, 0)}`));
    o.push(cell("(6) queries reaching knotd per 1,000 client queries (all hit phases)", (h) => fx(h.upPer1000, 2)));
    o.push(cell("answers other than NOERROR", (h) => int(h.bad)));
    o.push("");
    if (short) o.push(`\\* median rate below ${int(0.95 * c.MID_QPS)} QPS: in some rounds the system (or dnsperf, when other jobs kept its core busy) could not keep up with ${int(c.MID_QPS)} QPS. CPU % is then not comparable across systems; CPU µs per query is (and is what the target uses).`, "");
    o.push("Per round (the spread on this machine). \"Other load\" is how busy the server core / the dnsperf core was with " +
      `processes that are not part of the benchmark during the ${int(c.LAT_QPS)}-QPS run (other jobs share this VM; steal time included):`, "");
    o.push(`| round | system | CPU µs/query at ${int(c.MID_QPS)} QPS (QPS reached) | CPU µs/query at ${int(c.LAT_QPS)} QPS | p50 / p99 / p99.9 (ms) | other load % |`, "|---|---|---|---|---|---|");
    for (let i = 0; i < c.ROUNDS; i++) {
      for (const n of present) {
        const at = r.hits[n].lat.find((x) => x.round === i), mid = r.hits[n].mid.find((x) => x.round === i);
        o.push(`| ${i + 1} | ${n} | ${fx(mid?.usPerQ ?? NaN, 2)} (${int(mid?.qps ?? NaN)}) | ${fx(at?.usPerQ ?? NaN, 2)} | ${ms(at?.p50 ?? NaN)} / ${ms(at?.p99 ?? NaN)} / ${ms(at?.p999 ?? NaN)} | ${fx(at?.foreignServerPct ?? NaN, 0)} / ${fx(at?.foreignLoadPct ?? NaN, 0)} |`);
      }
    }
    const allRuns = [...Object.values(r.hits).flatMap((h) => [...h.max, ...h.mid, ...h.lat]), ...Object.values(r.miss).flat(), ...Object.values(r.relay).flat()];
    const fs = allRuns.map((x) => x.foreignServerPct ?? NaN).filter(Number.isFinite), fl = allRuns.map((x) => x.foreignLoadPct ?? NaN).filter(Number.isFinite);
    if (fs.length) o.push("", `Other load over all ${fs.length} measured runs: server core median ${fx(median(fs), 0)} % (max ${fx(Math.max(...fs), 0)} %), dnsperf core median ${fx(median(fl), 0)} % (max ${fx(Math.max(...fl), 0)} %). ` +
      `Before each run the harness waited (at most ${c.RUN_WAIT} s; ${fx(r.waitedS ?? 0, 0)} s in all, budget ${c.WAIT_BUDGET} s) for half a second with neither core more than ${c.NOISY_PCT} % busy; ` +
      `${r.redos ?? 0} runs that still had more than ${c.NOISY_PCT} % other load on either core were measured a second time (the quieter one kept; at most ${c.MAX_REDOS} in all).`);
    o.push("", "![cache-hit latency percentiles](bench/charts/hit-latency.svg)", "", "![server CPU per query](bench/charts/cpu-per-query.svg)", "");
  }

  if (Object.keys(r.miss).length) {
    o.push(`### (4) Misses: every query a new name under the wildcard zone, ${int(c.MISS_QPS)} QPS for ${c.DUR_MISS} s`, "");
    o.push("| asked | p50 (ms) | p95 (ms) | p99 (ms) | p50 added over knotd directly (ms) | server CPU µs per query (at this low rate mostly wake-ups) | queries reaching knotd per 1,000 |", "|---|---|---|---|---|---|---|");
    const k = r.miss["knot (direct)"];
    for (const [name, runs] of Object.entries(r.miss)) {
      const added = name === "knot (direct)" ? "–" : ms(median(runs.map((x) => (x.p50 ?? NaN) - (k?.find((y) => y.round === x.round)?.p50 ?? NaN))));
      o.push(`| ${name} | ${ms(med(runs, "p50"))} | ${ms(med(runs, "p95"))} | ${ms(med(runs, "p99"))} | ${added} | ${fx(med(runs, "usPerQ"), 1)} | ${fx((1000 * sum(runs, "upstream")) / sum(runs, "completed"), 0)} |`);
    }
    o.push("", "The added latency is the median over rounds of (p50 through the cache − p50 of knotd asked directly in the same round).", "");
    o.push("![miss latency](bench/charts/miss-latency.svg)", "");
  }

  if (Object.keys(r.relay).length && r.relayHold) {
    const hold = r.relayHold.holdMs;
    o.push(`### (5) The AKS blog's comparison: a network hop to the DNS server, without and with localdns, ${int(c.RELAY_QPS)} QPS`, "");
    o.push(`\`bench/relay.ts\` stands in for the network between a node and the cluster's DNS server: it holds every packet ` +
      `${c.RELAY_DELAY_MS} ms in each direction before passing it to knotd or back (UDP, and TCP for localdns's cluster.local ` +
      `connections). Measured hold per pass: p50 ${ms(hold.p50)} ms, p99 ${ms(hold.p99)} ms (timer granularity adds to the ` +
      `configured delay). In all the relay passed ${int(r.relayHold.udpQueries)} UDP queries and ${int(r.relayHold.tcpQueries)} TCP queries ` +
      `(over ${int(r.relayHold.tcpConnections)} connections) to knotd. "direct": dnsperf asks the relay; "localdns": dnsperf asks a second localdns whose upstreams are the relay ` +
      `(warmed first, then steady state: cached entries are refreshed by prefetch and serve-stale as TTLs run out). ${c.DUR_RELAY} s per run.`, "");
    o.push("| names | path | p50 (ms) | p95 (ms) | p99 (ms) | p99.9 (ms) | (6) queries reaching the relay per 1,000 client queries |", "|---|---|---|---|---|---|---|");
    for (const names of ["cluster", "external"]) {
      const d = s.relay[`direct ${names}`], l = s.relay[`localdns ${names}`];
      if (!d || !l) continue;
      o.push(`| ${names} | direct | ${ms(d.p50)} | ${ms(d.p95)} | ${ms(d.p99)} | ${ms(d.p999)} | ${fx(d.upPer1000, 0)} |`);
      o.push(`| ${names} | localdns | ${ms(l.p50)} | ${ms(l.p95)} | ${ms(l.p99)} | ${ms(l.p999)} | ${fx(l.upPer1000, 2)} (offload ${fx(100 - l.upPer1000 / 10, 2)} %) |`);
      o.push(`| ${names} | direct ÷ localdns | ${ratio(d.p50, l.p50)} | ${ratio(d.p95, l.p95)} | ${ratio(d.p99, l.p99)} | ${ratio(d.p999, l.p999)} | |`);
    }
    o.push("", "![latency through an emulated network hop](bench/charts/relay-latency.svg)", "");
  }

  const mem = r.memory ?? {};
  const memNames = SYSTEMS.filter((n) => mem[n]);
  if (memNames.length || r.start.length) {
    o.push("### (7) Memory and start-up", "");
    if (memNames.length) {
      const e = mem[memNames[0]].entries;
      o.push(`A fresh instance of each system (the hit-phase instances keep running, idle), VmRSS from /proc/PID/status: idle 0.5 s after its first answer, ` +
        `then right after ${int(e)} distinct names under the wildcard zone were asked once each (every one a miss, at ${int(mem[memNames[0]].fillQps)} QPS), ` +
        "then after a second pass over the same names. \"Entries held\" = names of the second pass that did not reach knotd. " +
        `dnsdist's packet cache and dnsmasq's cache are sized ${int(c.CACHE_ENTRIES ?? NaN)} entries here; unbound has a 64 MiB message and 128 MiB RRset cache; localdns its defaults.`, "");
      const row = (t: string, f: (x: MemRun) => string) => `| ${t} | ${memNames.map((n) => f(mem[n])).join(" | ")} |`;
      o.push(`| | ${memNames.map(label).join(" | ")} |`, `|---|${memNames.map(() => "---").join("|")}|`);
      o.push(row("**VmRSS idle (MiB)**", (x) => mib(x.rssIdleKiB)));
      o.push(row(`**VmRSS right after the fill of ${int(e)} names (MiB)**`, (x) => mib(x.rssKiB)));
      o.push(row("VmRSS after the second pass (MiB); peak VmHWM (MiB)", (x) => `${mib(x.rssAfterHitsKiB)}; ${mib(x.hwmKiB)}`));
      o.push(row("entries held (of the second pass)", (x) => int(x.entries - x.secondPassUpstream)));
      o.push(row("lost queries: fill / second pass", (x) => `${int(x.fillLost)} / ${int(x.secondPassLost)}`));
      o.push(row("server CPU µs per miss during the fill", (x) => fx(x.fillUsPerQ, 1)));
      o.push(row("for reference: VmRSS of the hit-phase instance at that point (MiB)", (x) => mib(x.longRunningKiB)));
      o.push("");
    }
    if (r.start.length) {
      const sorted = [...r.start].sort((a, b) => a - b);
      o.push(`**Start to ready** (spawn → first answer to health-check.localdns.local, median of ${r.start.length}): **${fx(s.startMs, 1)} ms** (${fx(sorted[0], 1)}–${fx(sorted[sorted.length - 1], 1)}).`, "");
    }
  }

  o.push("### Targets", "");
  o.push("Issue 15 (own the sockets), then the earlier targets this harness checks. Restart continuity (takeover, socket activation) is measured in RELIABILITY.md, not here.", "");
  o.push("| target | figure in this run | met? |", "|---|---|---|");
  const yes = (ok: boolean, known = true) => (!known ? "not measured" : ok ? "met" : "**missed**");
  const dd = H.dnsdist;
  for (const v of present.filter((n) => n.startsWith("localdns"))) {
    const L = H[v];
    const who = present.includes("localdns-b") ? `${v}: ` : "";
    if (ub) {
      const r100 = L.midUs / ub.midUs, r10 = L.latUs / ub.latUs;
      // at a rate one of the two did not reach, CPU per query is measured at different loads: no verdict
      const at100 = (x: Record<string, number>, ok: boolean) => (x.midQps < 0.95 * c.MID_QPS || L.midQps < 0.95 * c.MID_QPS
        ? `not comparable: median rate reached ${int(L.midQps)} / ${int(x.midQps)} QPS (${ok ? "would be met" : "would be missed"})` : yes(ok));
      o.push(`| ${who}cache-hit CPU per query at ${int(c.MID_QPS)} QPS ≤ 0.75× unbound-1t | ${fx(L.midUs, 2)} vs ${fx(ub.midUs, 2)} µs = ${fx(r100, 2)}× | ${Number.isFinite(r100) ? at100(ub, r100 <= 0.75) : yes(false, false)} |`);
      if (dd) o.push(`| ${who}the same ≤ dnsdist's | ${fx(L.midUs, 2)} vs ${fx(dd.midUs, 2)} µs = ${fx(L.midUs / dd.midUs, 2)}× | ${Number.isFinite(L.midUs / dd.midUs) ? at100(dd, L.midUs <= dd.midUs) : yes(false, false)} |`);
      o.push(`| ${who}cache-hit CPU per query at ${int(c.LAT_QPS)} QPS ≤ 0.75× unbound-1t | ${fx(L.latUs, 2)} vs ${fx(ub.latUs, 2)} µs = ${fx(r10, 2)}× | ${yes(r10 <= 0.75, Number.isFinite(r10))} |`);
      o.push(`| ${who}p50 at ${int(c.LAT_QPS)} QPS ≤ unbound's | ${ms(L.p50)} vs ${ms(ub.p50)} ms = ${ratio(L.p50, ub.p50)} | ${yes(L.p50 <= ub.p50, Number.isFinite(L.p50 / ub.p50))} |`);
      o.push(`| ${who}p99 at ${int(c.LAT_QPS)} QPS ≤ unbound's | ${ms(L.p99)} vs ${ms(ub.p99)} ms = ${ratio(L.p99, ub.p99)} | ${yes(L.p99 <= ub.p99, Number.isFinite(L.p99 / ub.p99))} |`);
    }
    const mm = mem[v];
    if (mm) {
      const worst = Math.max(mm.rssKiB, mm.rssAfterHitsKiB);
      o.push(`| ${who}RSS ≤ 96 MiB with ${int(mm.entries)} cached entries | after the fill ${mib(mm.rssKiB)} MiB; after a hit pass ${mib(mm.rssAfterHitsKiB)} MiB (peak ${mib(mm.hwmKiB)}) | ${yes(worst <= 96 * 1024 && mm.entries - mm.secondPassUpstream >= 100_000, mm.entries >= 100_000)} |`);
      o.push(`| ${who}idle RSS not above today's (≈ 47–58 MB: ≤ ${fx(IDLE_LIMIT_MIB, 1)} MiB) | ${mib(mm.rssIdleKiB)} MiB | ${yes(mm.rssIdleKiB <= IDLE_LIMIT_MIB * 1024)} |`);
    }
  }
  if (H.localdns) {
    o.push(`| (earlier) p99 ≤ 0.25 ms at ${int(c.LAT_QPS)} QPS hits | ${ms(H.localdns.p99)} ms | ${yes(H.localdns.p99 <= 0.25)} |`);
    o.push(`| (earlier) p99.9 ≤ 1.5 ms at ${int(c.LAT_QPS)} QPS hits | ${ms(H.localdns.p999)} ms | ${yes(H.localdns.p999 <= 1.5)} |`);
  }
  if (Object.keys(r.miss).length) o.push(`| (earlier) miss path adds ≤ 0.100 ms (median) over querying the upstream directly | ${ms(s.missAdded)} ms | ${yes(s.missAdded <= 0.1)} |`);
  if (r.start.length) o.push(`| (earlier) start to ready ≤ 150 ms | ${fx(s.startMs, 1)} ms | ${yes(s.startMs <= 150)} |`);
  const off = [s.offloadHits, s.offloadRelayCluster, s.offloadRelayExternal].filter(Number.isFinite);
  if (off.length) o.push(`| (earlier) offload ≥ 99 % (working set fits the cache) | hit phases ${fx(s.offloadHits, 2)} %; relay cluster ${fx(s.offloadRelayCluster, 2)} %, external ${fx(s.offloadRelayExternal, 2)} % | ${yes(Math.min(...off) >= 99)} |`);
  o.push("");
  const ifaces = r.txByIface ? ` (${Object.entries(r.txByIface).map(([k, v]) => `${k} ${int(v)}`).join(", ")})` : "";
  o.push(`Non-loopback TX packets during the run: ${int(r.txDelta)}${ifaces}. Every server of the benchmark binds and forwards within 127.0.0.0/8 ` +
    "(knotd, the caches, the relay and dnsperf are configured with 127.0.0.x addresses only; unbound has local root hints and no trust-anchor updates; " +
    "dnsdist's security polling is off), so any count here is other traffic of the machine (other jobs ran at the same time). " +
    "Raw results: `bench/results/*.json` (not committed).", "");
  o.push(END);
  return o.join("\n");
}

/** Prints the section; with write (WRITE_MD unset or 1) also updates BENCHMARKS.md and the charts. */
export function renderAndWrite(r: Results, root: string, writeMd: boolean): void {
  if (r.memory && "entries" in r.memory) r.memory = { localdns: r.memory as unknown as MemRun }; // results files from before the peers' memory runs
  const section = markdown(r);
  process.stdout.write(section + "\n");
  if (!writeMd) return;
  mkdirSync(join(root, "bench/charts"), { recursive: true });
  for (const [name, svg] of Object.entries(charts(r))) writeFileSync(join(root, "bench/charts", name), svg);
  const path = join(root, "BENCHMARKS.md");
  const text = existsSync(path) ? readFileSync(path, "utf8") : "# Benchmarks\n";
  const a = text.indexOf("<!-- bench:side-by-side:start"), b = text.indexOf(END);
  const next = a >= 0 && b > a ? text.slice(0, a) + section + text.slice(b + END.length) : text.replace(/\s*$/, "\n\n") + section + "\n";
  writeFileSync(path, next);
}
