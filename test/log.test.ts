// The log under floods, exactly: consolidation of repeated failures (one line per kind per interval with
// its count, an injected clock), lines refused by a backed-up writer counted and reported, and the
// bound on bytes handed to stdout and not yet written.
import { describe, test, expect } from "bun:test";
import { createLogger } from "../src/log";
import { LogOutput } from "../src/log-output";

function clocked() {
  let t = Date.UTC(2026, 0, 1);
  const lines: any[] = [];
  const log = createLogger((l) => { lines.push(JSON.parse(l)); }, "info", { now: () => t, schedule: () => null });
  return { log, lines, advance(ms: number) { t += ms; }, at: () => t };
}

const fail = (zone: string, reason: string, name: string) => ({ zone, remote: "10.0.0.1", port: 5353, id: 1, type: "A", name, proto: "udp", rcode: "SERVFAIL", reason, duration: 1.8 });

describe("consolidation", () => {
  test("the first of a kind is written, the rest are counted, one summary per kind per 10 s interval", () => {
    const c = clocked();
    for (let i = 0; i < 5; i++) c.log.error("query failed", fail(".", "deadline passed", `a${i}.example`));
    for (let i = 0; i < 3; i++) c.log.error("query failed", fail(".", "10.0.0.10:53: timeout", `b${i}.example`));
    c.log.info("config reloaded", { zones: 2 }); // not a consolidated kind
    expect(c.lines.map((l) => [l.msg, l.name ?? null, l.reason ?? null])).toEqual([
      ["query failed", "a0.example", "deadline passed"],
      ["query failed", "b0.example", "10.0.0.10:53: timeout"],
      ["config reloaded", null, null],
    ]);
    c.advance(9_999);
    c.log.error("query failed", fail(".", "deadline passed", "a5.example")); // still the first interval
    expect(c.lines.length).toBe(3);
    c.advance(1); // 10 s after the first line of each kind: the next line of any kind writes the summaries
    c.log.error("query failed", fail("cluster.local", "deadline passed", "c0.svc.cluster.local"));
    const summaries = c.lines.slice(3, 5);
    expect(summaries).toEqual([
      { time: new Date(c.at()).toISOString(), level: "error", msg: "query failed", zone: ".", rcode: "SERVFAIL", reason: "deadline passed", proto: "udp", consolidated: 5, intervalSeconds: 10 },
      { time: new Date(c.at()).toISOString(), level: "error", msg: "query failed", zone: ".", rcode: "SERVFAIL", reason: "10.0.0.10:53: timeout", proto: "udp", consolidated: 2, intervalSeconds: 10 },
    ]);
    expect(c.lines[5].name).toBe("c0.svc.cluster.local"); // a new kind: written in full
    expect(c.log.stats.consolidated).toBe(7);
    // a flood goes on: one more summary at the end of the next interval, nothing in between
    for (let i = 0; i < 1000; i++) { c.log.error("query failed", fail(".", "deadline passed", `d${i}.example`)); c.advance(9); }
    // 9,000 ms passed: the "." kinds' second interval ends at 20,000 ms (the "." deadline kind had 1,000)
    expect(c.lines.length).toBe(6);
    c.advance(1_000);
    c.log.error("query failed", fail(".", "deadline passed", "e0.example"));
    expect(c.lines.slice(6).map((l) => [l.zone, l.reason, l.consolidated ?? null])).toEqual([[".", "deadline passed", 1000]]);
    expect(c.log.stats.consolidated).toBe(1008);
  });

  test("a kind quiet for a whole interval is forgotten: its next line is written in full again", () => {
    const c = clocked();
    c.log.error("query failed", fail(".", "deadline passed", "x0.example"));
    c.advance(10_000);
    c.log.error("query failed", fail(".", "deadline passed", "x1.example"));
    expect(c.lines.map((l) => [l.name, l.consolidated ?? null])).toEqual([["x0.example", null], ["x1.example", null]]);
    expect(c.log.stats.consolidated).toBe(0);
  });

  test("the summary comes from the timer when no more lines arrive", () => {
    let t = 1_000_000;
    const lines: any[] = [];
    const timers: { fn: () => void; ms: number }[] = [];
    const log = createLogger((l) => { lines.push(JSON.parse(l)); }, "info", { now: () => t, schedule: (fn, ms) => timers.push({ fn, ms }) });
    log.error("query failed", fail(".", "deadline passed", "y0.example"));
    log.error("query failed", fail(".", "deadline passed", "y1.example"));
    expect(timers.map((x) => x.ms)).toEqual([10_000]);
    t += 10_000;
    timers[0].fn();
    expect(lines.map((l) => [l.name ?? null, l.consolidated ?? null])).toEqual([["y0.example", null], [null, 1]]);
  });
});

describe("a writer that refuses lines", () => {
  test("refused lines are counted; the first line that goes out again is preceded by how many were lost", () => {
    const lines: any[] = [];
    let open = false;
    const log = createLogger((l) => { if (!open) return false; lines.push(JSON.parse(l)); return true; }, "info", { consolidate: [] });
    for (let i = 0; i < 7; i++) log.info("query", { i });
    expect({ written: lines.length, dropped: log.stats.dropped }).toEqual({ written: 0, dropped: 7 });
    open = true;
    log.info("query", { i: 7 });
    expect(lines.map((l) => [l.level, l.msg, l.dropped ?? l.i])).toEqual([["warn", "log lines dropped: stdout was not taking them", 7], ["info", "query", 7]]);
    expect(log.stats.dropped).toBe(7);
  });
});

describe("a writer that is full", () => {
  test("while full() holds, lines are counted as dropped without being formatted or written", () => {
    let calls = 0;
    let full = true;
    const log = createLogger(() => { calls++; return true; }, "info", { consolidate: [], full: () => full });
    for (let i = 0; i < 5; i++) log.info("query", { i });
    expect({ calls, dropped: log.stats.dropped, lines: log.stats.lines }).toEqual({ calls: 0, dropped: 5, lines: 5 });
    full = false;
    log.info("query", { i: 5 });
    expect({ calls, dropped: log.stats.dropped, lines: log.stats.lines }).toEqual({ calls: 2, dropped: 5, lines: 6 }); // the notice and the line
  });
});

describe("LogOutput", () => {
  test("at most maxPendingBytes are handed over and not yet written; more is refused until they are", () => {
    const waiting: (() => void)[] = [];
    let handed = 0;
    const out = new LogOutput((data, done) => { handed += data.length; waiting.push(done); }, 1000);
    const line = "x".repeat(99) + "\n"; // 100 octets
    const accepted = Array.from({ length: 15 }, () => out.write(line)).filter(Boolean).length;
    expect({ accepted, pending: out.pending, handed }).toEqual({ accepted: 10, pending: 1000, handed: 1000 });
    waiting.splice(0, 3).forEach((d) => d());
    expect(out.pending).toBe(700);
    expect([out.write(line), out.write(line), out.write(line), out.write(line)]).toEqual([true, true, true, false]);
    waiting.shift()!();
    expect(out.pending).toBe(900);
    expect(out.write("é".repeat(50) + "\n")).toBe(false); // 51 characters, 101 octets: counted in octets
    expect(out.write(line)).toBe(true);
  });
});
