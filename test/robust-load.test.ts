// Short CI variants of the long-run scripts (scripts/soak.ts, scripts/restart.ts; RELIABILITY.md has
// the full runs): a 10-second soak at 2,000 QPS with the upstream killed twice, and a restart under
// 2,000 QPS. Assertions are about answers, not timing: cached names never get an error answer, the
// process survives, its fds come back; a restart loses only what arrives while nothing listens, the
// new process answers from the restored snapshot, and a client that retries after 1 s gets everything.
import { test, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { runSoak } from "../scripts/soak";
import { runRestart } from "../scripts/restart";

const hasDnsperf = spawnSync("dnsperf", ["-h"]).error === undefined;
if (!hasDnsperf) console.log("skipped the soak: dnsperf is not installed (Debian package dnsperf)");

test.skipIf(!hasDnsperf)("soak, 10 s at 2,000 QPS, upstream killed every 4 s: no error answer for a cached name", async () => {
  const r = await runSoak({ durationS: 10, qps: 2000, killEveryS: 4, downForS: 2, probeQps: 200, sampleEveryS: 2, settleS: 4, hotNames: 500, host: "127.0.22.1", log: () => {} });
  console.log(`soak: dnsperf ${r.dnsperf.sent} sent, ${r.dnsperf.completed} completed ${JSON.stringify(r.dnsperf.rcodes)}; probe ${r.probe.ok}/${r.probe.sent} ok, ${r.probe.errors} errors, ${r.probe.timeouts} timeouts; upstream killed ${r.upstreamKills}x; RSS ${r.rssStartKiB} → ${r.rssEndKiB} KiB; fds ${r.fdsBaseline} → max ${r.fdsMax} → ${r.fdsAfterIdle} idle`);
  expect(r.alive).toBe(true);
  expect(r.upstreamKills).toBe(2);
  expect(r.dnsperf.sent).toBeGreaterThan(10_000);
  expect(r.probe.errorSamples).toEqual([]);
  expect(r.probe.ok).toBeGreaterThan(r.probe.sent * 0.9);
  expect(r.fdsAfterIdle).toBeLessThanOrEqual(r.fdsBaseline + 8);
}, 120_000); // ~20 s alone; a busy machine stretches dnsperf and the settle time

test("restart under 2,000 QPS: the new process answers from its snapshot; a client retrying after 1 s gets every answer", async () => {
  const r = await runRestart({ qps: 2000, beforeS: 2, afterS: 3, names: 300, retryQps: 50, host: "127.0.23.1", log: () => {} });
  console.log(`restart: ${r.load.lost} of ${r.load.sent} lost (${r.load.lostDuringRestart} of ${r.load.sentDuringRestart} during the restart); gap ${r.load.gapMs} ms; stop ${r.stopMs} ms; spawn → first answer ${r.spawnToFirstAnswerMs} ms; retrying client ${r.retrying.answered}/${r.retrying.queries} (${r.retrying.retried} retried, max ${r.retrying.maxTries} tries)`);
  expect(r.exitCode).toBe(0);
  expect(r.snapshotRestored).toBe(true);
  expect(r.upstreamQueriesForCachedNamesAfterRestart).toBe(0);
  expect(r.load.errors).toBe(0);
  expect(r.load.answered).toBeGreaterThan(r.load.sent * 0.8);
  expect(r.retrying).toMatchObject({ unanswered: 0, errors: 0 });
  expect(r.retrying.answered).toBe(r.retrying.queries);
}, 60_000);
