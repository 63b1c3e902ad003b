// Hard limits (issue 14): dist/localdns inside a 128 MiB memory cgroup (what its unit's
// MemoryMax=128M does), one fresh process and cgroup per abuse. Each abuse runs for a few seconds
// while a probe (its own process) asks cached names at 100 QPS on both listeners. After each: the
// process is alive and answering, the kernel OOM-killed nothing in the group, every probe query got
// the right answer in under 500 ms, and RSS came back within 10 % of its level before. Peak memory
// (memory.max_usage_in_bytes, reset per abuse; VmHWM) and probe p99 are printed for RELIABILITY.md
// (LIMITS_RESULTS=FILE also writes them as JSON). Skipped, with the reason, where no memory cgroup
// can be made (not root, cgroup v2 only).
import { describe, test, expect, beforeAll, afterAll } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { memoryCgroupUnavailable, createMemoryCgroup } from "./helpers/cgroup";
import { inCgroupArgv } from "./helpers/cgroup-binary";
import { startFastUpstream, addressFor, type FastUpstream } from "./helpers/fast-upstream";
import { startHostileUpstream, type HostileUpstream } from "./helpers/hostile-upstream";
import { LimitsBed, baseConfig, resultRow, RESULT_HEADER, HOT, VOID, BLOCKED, VNET_HOST, KUBE_HOST, LIMIT_BYTES, type Measured, type Upstreams } from "./helpers/limits-bed";
import { partialFrames, pipeline, paddedQuery, nonReaders, closedCount, destroyAll, manyZones, manyRules, bigHostsFile } from "./helpers/abuse";
import { BINARY } from "./helpers/binary";
import { pickPort } from "./helpers/robust";
import { query, makeQuery, sleep } from "./helpers/dns";

const unavailable = memoryCgroupUnavailable();
if (unavailable) console.log(`limits-cgroup: skipped: ${unavailable}`);
const suite = unavailable ? describe.skip : describe;

let fast: FastUpstream;
let swallow: HostileUpstream;
let up: Upstreams;
const results: Measured[] = [];
const fileResults: string[] = [];

beforeAll(async () => {
  if (unavailable) return;
  // 64 KB answers for big* TXT names (abuse 6); everything under hot.limits.test cached for an hour
  fast = await startFastUpstream("127.0.44.9", 0, { hotSuffix: HOT, hotTtl: 3600, bigBytes: 63_000 });
  swallow = await startHostileUpstream("127.0.44.10", () => { /* never answers */ });
  up = { fast: { host: fast.host, port: fast.port }, swallow: { host: swallow.host, port: swallow.port } };
  // the executable's pages in the page cache are charged to whoever reads them first: read it here,
  // so that the group's peak is the process's own memory, the same on every run
  spawnSync("cat", [BINARY], { stdio: "ignore" });
});

afterAll(async () => {
  if (unavailable) return;
  await fast?.stop();
  await swallow?.stop();
  if (results.length) console.log(["limits-cgroup results (128 MiB memory cgroup, probe 100 QPS):", ...RESULT_HEADER, ...results.map(resultRow)].join("\n"));
  if (fileResults.length) console.log(["bad file inputs:", ...FILE_HEADER, ...fileResults].join("\n"));
  if (process.env.LIMITS_RESULTS) writeFileSync(process.env.LIMITS_RESULTS, JSON.stringify({ results, fileResults }, null, 2));
});

/** Runs one abuse on a fresh bed and keeps its figures for the summary. */
async function abuse(name: string, run: (bed: LimitsBed) => Promise<Record<string, unknown> | void>, o: Parameters<typeof LimitsBed.start>[2] & Parameters<LimitsBed["measure"]>[2] = {}): Promise<{ m: Measured; bed: LimitsBed }> {
  const bed = await LimitsBed.start(name.split(" ")[0], up, o);
  try {
    const m = await bed.measure(name, run, o);
    results.push(m);
    console.log(`${name}: ${JSON.stringify(m)}`);
    return { m, bed };
  } catch (e) {
    await bed.stop();
    throw e;
  }
}

/** An abuse-specific check: a failure is noted on the figures (and asserted by expectHeld) and what
 * differed is printed. */
function check(m: Measured, what: string, got: unknown, want: unknown): void {
  if (Bun.deepEquals(got, want)) return;
  m.failedChecks.push(what);
  console.log(`${m.abuse}: check "${what}" failed\n  got:  ${JSON.stringify(got)}\n  want: ${JSON.stringify(want)}`);
}

/** The proof's four conditions and the abuse's own checks, in one comparison so a failure shows all. */
function expectHeld(m: Measured): void {
  expect({
    alive: m.alive, responsive: m.responsive, oomKills: m.oomKills,
    probeLost: m.probe.lost, probeWrong: m.probe.wrong, probeWaits500msOrMore: m.probe.stalls,
    rssBackWithin10Percent: m.settledAfterMs !== null, failedChecks: m.failedChecks,
  }).toEqual({ alive: true, responsive: true, oomKills: 0, probeLost: 0, probeWrong: 0, probeWaits500msOrMore: 0, rssBackWithin10Percent: true, failedChecks: [] });
}

suite("inside a 128 MiB memory cgroup", () => {
  test("1. 2,100 TCP connections over both listeners, each holding a 65,535-octet frame one octet short", async () => {
    const { m, bed } = await abuse("1 partial frames ×2,100", async (b) => {
      const { sockets, failed } = await partialFrames(b.targets, 2100);
      await sleep(3000); // held: under server.tcpIdleTimeoutMs (10 s), so the server keeps what it buffered
      const closed = closedCount(sockets);
      destroyAll(sockets);
      return { connected: sockets.length, connectFailed: failed, closedByServerWhileHeld: closed };
    });
    try { expectHeld(m); } finally { await bed.stop(); }
  }, 60_000);

  test("2. 4 TCP connections pipelining 64 KB padded queries for a name whose upstream never answers", async () => {
    const q = paddedQuery(`x.${VOID}`, 65_000);
    const flood = async (b: LimitsBed, ms: number) => {
      const p = await pipeline(b.targets, 4, () => q, 4);
      await sleep(ms);
      const facts = { queriesWritten: p.sent(), answersByRcode: p.answers(), closedByServer: p.closedByServer() };
      p.stop();
      return facts;
    };
    // the baseline is taken after a short round of the same flood: its first use JIT-compiles code and
    // pages in text for good; memory the flood holds shows as growth over a second, longer round
    const { m, bed } = await abuse("2 padded waiters ×4", (b) => flood(b, 4000), { prepare: async (b) => { await flood(b, 1000); await sleep(3000); } });
    try { expectHeld(m); } finally { await bed.stop(); }
  }, 60_000);

  test("3. a flood of REFUSED queries, each logged, while stdout and stderr are a pipe nobody reads", async () => {
    let n = 0;
    // unique names in a zone allowed one upstream query at a time (and its upstream never answers):
    // every query but one is REFUSED at once and logged
    const flood = async (b: LimitsBed, ms: number) => {
      const p = await pipeline(b.targets, 4, () => makeQuery(`u${n++}.${VOID}`, "A", { id: n & 0xffff }), 100);
      await sleep(ms);
      const facts = { queriesWritten: p.sent(), answersByRcode: p.answers() };
      p.stop();
      return facts;
    };
    const { m, bed } = await abuse("3 log flood, stuck stdout", (b) => flood(b, 4000), {
      stuckOutput: true,
      // baseline after a short round of the same flood (first-use code and pages, as in abuse 2)
      prepare: async (b) => { await flood(b, 1000); await sleep(3000); },
      config: (port) => baseConfig(port, up, { zoneExtra: { [VOID]: { forwardDestination: "ClusterCoreDNS", maxConcurrent: 1 } } }) });
    try {
      check(m, "flood answered REFUSED", ((m.facts.answersByRcode as Record<number, number>)[5] ?? 0) > 1000, true);
      expectHeld(m);
    } finally { await bed.stop(); }
  }, 60_000);

  for (const [label, change] of [
    // ".", void.limits.test and cluster.local in each set, plus 32 more each: 70 (the core holds 64)
    ["70 zones", (c: any) => { for (const set of ["vnetDNSOverrides", "kubeDNSOverrides"]) Object.assign(c[set], manyZones(32, "VnetDNS")); }],
    // the core holds 64 rules in all
    ["5,000 nxdomainRules", (c: any) => { c.vnetDNSOverrides["."].nxdomainRules = manyRules(5000); }],
  ] as const) {
    test(`4. SIGHUP reload to a config with ${label}: rejected whole, the old config keeps serving on both listeners`, async () => {
      const { m, bed } = await abuse(`4 reload ${label}`, async (b) => {
        // the new config differs visibly: blocked.limits.test is no longer blocked, the new rules block
        // r0.rules.limits.test; neither may take effect
        const next = JSON.parse(JSON.stringify(b.config));
        for (const set of ["vnetDNSOverrides", "kubeDNSOverrides"]) next[set]["."].nxdomainRules = [];
        change(next);
        const nextPath = join(b.bin.dir, "next.json");
        writeFileSync(nextPath, JSON.stringify(next));
        const validate = spawnSync(BINARY, ["validate", "--config", nextPath], { encoding: "utf8", timeout: 10_000 });
        b.bin.writeConfig(next);
        const logBefore = b.bin.output().length;
        b.bin.proc.kill("SIGHUP");
        await sleep(2500);
        const after: Record<string, string> = {};
        for (const t of b.targets) {
          for (const name of [`x.${BLOCKED}`, "x.r0.rules.limits.test", "health-check.localdns.local", `p0.${HOT}`, "x.reddog.microsoft.com"]) {
            const a = await query(t.host, t.port, name, "A", { timeoutMs: 1000 }).catch(() => null);
            after[`${t.host} ${name}`] = a ? `${a.rcode} ${a.answers.filter((x: any) => x.type === "A").map((x: any) => x.data).join(",")}`.trim() : "no answer";
          }
        }
        const reloadLog = b.bin.output().slice(logBefore).split("\n").filter((l) => /reload/i.test(l) && /"level":"(warn|error)"/.test(l));
        return { validateExit: validate.status, validateStderr: validate.stderr.trim().slice(0, 300), after, reloadRejectionLogged: reloadLog.length > 0 };
      });
      try {
        const want: Record<string, string> = {};
        for (const host of [VNET_HOST, KUBE_HOST]) {
          want[`${host} x.${BLOCKED}`] = "NXDOMAIN"; // the old rule still blocks
          want[`${host} x.r0.rules.limits.test`] = `NOERROR ${addressFor("x.r0.rules.limits.test")}`; // the new one does not
          want[`${host} health-check.localdns.local`] = "NOERROR 127.0.0.1"; // answered locally: the asker's address
          want[`${host} p0.${HOT}`] = `NOERROR ${addressFor(`p0.${HOT}`)}`;
          want[`${host} x.reddog.microsoft.com`] = "NXDOMAIN"; // the default rules were not dropped either
        }
        check(m, "old config kept", m.facts.after, want);
        // validate must reject what run cannot apply, and the rejected reload must be logged
        check(m, "validate rejects, reload logged", { validateExit: m.facts.validateExit, reloadRejectionLogged: m.facts.reloadRejectionLogged }, { validateExit: 1, reloadRejectionLogged: true });
        expectHeld(m);
      } finally { await bed.stop(); }
    }, 60_000);
  }

  test("5. a hosts file giving one name 20,000 IPv6 and 1,000 IPv4-mapped addresses, reloaded while serving", async () => {
    const pinned = "pinned.limits.test";
    const { m, bed } = await abuse("5 hosts 21,000 addresses", async (b) => {
      const path = (b.config.cache as any).hostsFile as string;
      writeFileSync(path, bigHostsFile("many.limits.test", 20_000, 1_000, [`10.9.9.9 ${pinned}`]));
      await sleep(5000); // the file is re-read every 2 s
      const after: Record<string, string> = {};
      for (const t of b.targets) {
        for (const name of [pinned, "health-check.localdns.local", `p1.${HOT}`]) {
          const a = await query(t.host, t.port, name, "A", { timeoutMs: 1000 }).catch(() => null);
          after[`${t.host} ${name}`] = a ? `${a.rcode} ${a.answers.filter((x: any) => x.type === "A").map((x: any) => x.data).join(",")}` : "no answer";
        }
      }
      return { after };
    }, {
      config: (port, dir) => {
        const hostsFile = join(dir, "hosts");
        writeFileSync(hostsFile, `10.9.9.9 ${pinned}\n`);
        return baseConfig(port, up, { extra: { cache: { snapshotPath: null, hostsFile } } });
      },
    });
    try {
      const want: Record<string, string> = {};
      for (const host of [VNET_HOST, KUBE_HOST]) {
        want[`${host} ${pinned}`] = "NOERROR 10.9.9.9";
        want[`${host} health-check.localdns.local`] = "NOERROR 127.0.0.1"; // answered locally: the asker's address
        want[`${host} p1.${HOT}`] = `NOERROR ${addressFor(`p1.${HOT}`)}`;
      }
      check(m, "overlay and listeners intact", m.facts.after, want);
      expectHeld(m);
    } finally { await bed.stop(); }
  }, 90_000);

  test("6. 300 TCP connections each pipelining 40 queries for a cached 64 KB answer and never reading", async () => {
    const big = `big0.${HOT}`;
    const { m, bed } = await abuse("6 non-readers 300×40×64 KB", async (b) => {
      // (a paused socket does not see the server's FIN, so how many the server closed is not observable here)
      const { sockets, failed } = await nonReaders(b.targets, 300, 40, makeQuery(big, "TXT", { id: 6 }));
      await sleep(4000);
      destroyAll(sockets);
      return { connected: sockets.length, connectFailed: failed };
    }, {
      prepare: async (b) => {
        for (const t of b.targets) {
          const a = await query(t.host, t.port, big, "TXT", { tcp: true, timeoutMs: 3000 });
          if (a.answers.length < 200) throw new Error(`${big} TXT not cached as a 64 KB answer: ${a.answers.length} records`);
        }
      },
    });
    try { expectHeld(m); } finally { await bed.stop(); }
  }, 60_000);

  test("8. restart from a snapshot of a full cache (cache.maxBytes at its default)", async () => {
    if (spawnSync("sh", ["-c", "command -v dnsperf"]).status !== 0) { console.log("limits-cgroup 8: skipped: dnsperf is not installed (it fills the cache)"); return; }
    let adminPort = 0;
    const { m, bed } = await abuse("8 full-cache snapshot restore", async (b) => {
      const r = await b.restart();
      const written = /"msg":"cache snapshot written".*?"entries":(\d+)/.exec(r.output);
      // the restore runs in slices once the listeners serve: a full cache takes up to a second or so
      for (let i = 0; i < 100 && !/"msg":"cache snapshot restored"/.test(b.bin.output()); i++) await sleep(50);
      const restored = /"msg":"cache snapshot restored".*?"entries":(\d+)/.exec(b.bin.output());
      return { exit: r.exit, snapshotEntries: written ? Number(written[1]) : null, restoredEntries: restored ? Number(restored[1]) : null, readyMs: r.readyMs };
    }, {
      // filled before the baseline: RSS before is the full process's, RSS after the restored one's
      prepare: (b) => fillCache(b, adminPort),
      probeAfter: true,
      config: async (port, dir) => {
        while (adminPort === 0 || adminPort === port) adminPort = await pickPort(VNET_HOST);
        return baseConfig(port, up, { extra: { admin: { listen: `${VNET_HOST}:${adminPort}` }, cache: { snapshotPath: join(dir, "cache.snapshot") } } });
      },
    });
    try {
      const f = m.facts as any;
      check(m, "full cache written and restored", { full: f.full === 1, exit: f.exit.code, restoredAll: f.restoredEntries !== null && f.restoredEntries >= f.snapshotEntries * 0.99 }, { full: true, exit: 0, restoredAll: true });
      expectHeld(m);
    } finally { await bed.stop(); }
  }, 180_000);
});

/** Fills the cache with unique names (A answers, ~150 octets each) from dnsperf, 25,000 at a time,
 * until it is full: it evicts (its entry table is full) or holds 90 % of cache.maxBytes. */
async function fillCache(b: LimitsBed, adminPort: number): Promise<Record<string, number>> {
  const stats = async () => (await (await fetch(`http://${VNET_HOST}:${adminPort}/cache/stats`)).json()) as any;
  const file = join(b.bin.dir, "fill.txt");
  const t0 = Date.now();
  let s = await stats();
  const full = () => s.evictions > 0 || s.bytes >= 0.9 * s.maxBytes;
  for (let chunk = 0; !full() && chunk < 16; chunk++) {
    writeFileSync(file, Array.from({ length: 25_000 }, (_, i) => `f${chunk}-${i}.fill.${HOT} A`).join("\n") + "\n");
    await new Promise<void>((res) => {
      const p = spawn("dnsperf", ["-s", VNET_HOST, "-p", String(b.port), "-d", file, "-n", "1", "-c", "4", "-q", "500", "-t", "2", "-T", "1"], { stdio: "ignore" });
      p.once("exit", () => res());
    });
    s = await stats();
  }
  return { entries: s.entries, bytes: s.bytes, maxBytes: s.maxBytes, evictions: s.evictions, full: full() ? 1 : 0, fillSeconds: Math.round((Date.now() - t0) / 100) / 10, fillPeakMiB: Math.round(b.cg.peakBytes() / 104857.6) / 10 };
}

// Abuse 7: configuration that points at an endless file. validate and run, each inside the cgroup,
// must exit 1 within 3 s naming the path, and the kernel must not have had to kill anything.
const FILE_HEADER = ["| config | validate: exit, time | run: exit, time | OOM kills | cgroup peak (MiB) |", "|---|---|---|---|---|"];

suite("7. configuration pointing at an endless file, inside a 128 MiB memory cgroup", () => {
  for (const [key, kind] of [["upstreams.VnetDNS", "/dev/zero"], ["upstreams.ClusterCoreDNS", "fifo"], ["cache.hostsFile", "/dev/zero"], ["cache.hostsFile", "fifo"]] as const) {
    test(`7. ${key} = ${kind === "fifo" ? "a FIFO fed from /dev/zero" : kind}: validate and run fail at once`, async () => {
      const cg = createMemoryCgroup(`ldns-limits-${process.pid}-7`, LIMIT_BYTES);
      const dir = spawnSync("mktemp", ["-d"], { encoding: "utf8" }).stdout.trim();
      let feeder: ReturnType<typeof spawn> | null = null;
      try {
        let path = kind as string;
        if (kind === "fifo") {
          path = join(dir, "endless.fifo");
          expect(spawnSync("mkfifo", [path]).status).toBe(0);
        }
        const port = await pickPort(VNET_HOST, KUBE_HOST);
        const config: any = baseConfig(port, up);
        if (key === "cache.hostsFile") config.cache.hostsFile = path;
        else config.upstreams[key.split(".")[1]] = path;
        const configPath = join(dir, "localdns.json");
        writeFileSync(configPath, JSON.stringify(config));
        const row: Record<string, { exit: number | string; ms: number; mentionsPath: boolean; peakMiB: number }> = {};
        let oom = 0;
        for (const cmd of ["validate", "run"]) {
          // an endless writer, fresh for each command: whoever opens the FIFO for reading gets zeros for ever
          if (kind === "fifo") {
            if (feeder && feeder.exitCode === null) feeder.kill("SIGKILL");
            feeder = spawn("sh", ["-c", 'exec cat /dev/zero > "$1"', "sh", path], { stdio: "ignore" });
          }
          cg.resetPeak();
          const oom0 = cg.oomKills();
          // validate reads the files a config names only when asked
          row[cmd] = await runBounded(cg, cmd === "validate" ? [cmd, "--config", configPath, "--check-upstreams"] : [cmd, "--config", configPath], 10_000, path);
          row[cmd].peakMiB = Math.round(cg.peakBytes() / 104857.6) / 10;
          oom += cg.oomKills() - oom0;
        }
        const fmt = (r: (typeof row)[string]) => `${r.exit}, ${r.ms} ms`;
        fileResults.push(`| \`${key}\` = ${kind === "fifo" ? "FIFO fed from /dev/zero" : kind} | ${fmt(row.validate)} | ${fmt(row.run)} | ${oom} | ${Math.max(row.validate.peakMiB, row.run.peakMiB)} |`);
        console.log(`7 ${key}=${kind}: ${JSON.stringify({ ...row, oom })}`);
        expect({
          oomKills: oom,
          validate: { exit: row.validate.exit, within3s: row.validate.ms < 3000, mentionsPath: row.validate.mentionsPath },
          run: { exit: row.run.exit, within3s: row.run.ms < 3000, mentionsPath: row.run.mentionsPath },
        }).toEqual({ oomKills: 0, validate: { exit: 1, within3s: true, mentionsPath: true }, run: { exit: 1, within3s: true, mentionsPath: true } });
      } finally {
        if (feeder && feeder.exitCode === null) feeder.kill("SIGKILL");
        spawnSync("rm", ["-rf", dir]);
        cg.remove();
      }
    }, 40_000);
  }
});

/** Runs the binary with `args` inside the cgroup, killed after ms; its exit code (or the signal's
 * name, or "timeout"), how long it took and whether its output names `path`. */
async function runBounded(cg: ReturnType<typeof createMemoryCgroup>, args: string[], ms: number, path: string): Promise<{ exit: number | string; ms: number; mentionsPath: boolean; peakMiB: number }> {
  const [cmd, argv] = inCgroupArgv(cg, args);
  const t0 = Date.now();
  const p = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout!.on("data", (d) => { if (out.length < 100_000) out += d; });
  p.stderr!.on("data", (d) => { if (out.length < 100_000) out += d; });
  let timedOut = false;
  const t = setTimeout(() => { timedOut = true; p.kill("SIGKILL"); }, ms);
  const [code, signal] = await new Promise<[number | null, string | null]>((res) => p.once("exit", (c, s) => res([c, s])));
  clearTimeout(t);
  return { exit: timedOut ? "timeout" : code ?? String(signal), ms: Date.now() - t0, mentionsPath: out.includes(path), peakMiB: 0 };
}
