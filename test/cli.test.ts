// The binary's command line: validate, help, version, unknown flags, mode Disabled.
import { test, expect } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BINARY } from "./helpers/binary";

const run = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(BINARY, args, { env: { PATH: "/usr/bin:/bin", ...env }, timeout: 10000 });
  return { status: r.status, out: r.stdout.toString(), err: r.stderr.toString() };
};
const withFile = (content: string, fn: (path: string) => void) => {
  const dir = mkdtempSync(join(tmpdir(), "ldns-cli-"));
  try { writeFileSync(join(dir, "c.json"), content); fn(join(dir, "c.json")); } finally { rmSync(dir, { recursive: true, force: true }); }
};

test("validate accepts a good file", () => withFile(JSON.stringify({ upstreams: { VnetDNS: ["127.0.0.9"] } }), (p) => {
  const r = run(["validate", "--config", p]);
  expect(r.status).toBe(0);
  expect(r.out).toBe("ok\n");
}));

test("validate lists every problem with its JSON path and exits 1", () => withFile(JSON.stringify({ mode: "x", kubeDNSOverrides: { ".": { protocol: "UDP" } }, extra: 1 }), (p) => {
  const r = run(["validate", "--config", p]);
  expect(r.status).toBe(1);
  expect(r.err).toContain(`${p}: mode:`);
  expect(r.err).toContain(`${p}: kubeDNSOverrides["."].protocol:`);
  expect(r.err).toContain(`${p}: extra: unknown key`);
}));

test("validate checks the file alone: a stub-only resolv.conf on this machine does not fail it; --check-upstreams reads it", () => {
  const dir = mkdtempSync(join(tmpdir(), "ldns-cli-"));
  try {
    const resolv = join(dir, "resolv.conf");
    writeFileSync(resolv, "nameserver 127.0.0.53\n");
    const p = join(dir, "c.json");
    writeFileSync(p, JSON.stringify({ upstreams: { VnetDNS: resolv, ClusterCoreDNS: ["10.0.0.10"] } }));
    const plain = run(["validate", "--config", p]);
    expect(plain).toEqual({ status: 0, out: "ok\n", err: "" });
    const checked = run(["validate", "--config", p, "--check-upstreams"]);
    expect(checked.status).toBe(1);
    expect(checked.err).toBe(`${p}: upstreams.VnetDNS: no usable nameserver in ${resolv} (local stubs such as 127.0.0.53 and our own listeners are skipped); set upstreams.VnetDNS to a list of server addresses, e.g. ["10.0.0.10"]\n`);
    writeFileSync(resolv, "nameserver 10.1.0.2\n");
    expect(run(["validate", "--config", p, "--check-upstreams"])).toEqual({ status: 0, out: "ok\n", err: "" });
  } finally { rmSync(dir, { recursive: true, force: true }); }
});

test("validate: a JSON error names line and column, duplicate keys and every unknown key are listed", () => withFile('{\n  "mode": "Required",\n  "mode": "Preferred",\n  "a": 1, "b": 2\n}', (p) => {
  const r = run(["validate", "--config", p]);
  expect(r).toEqual({ status: 1, out: "", err: `${p}: mode: duplicate key (again on line 3); give each key once\n` });
  writeFileSync(p, '{ "a": 1, "b": 2, "upstreams": { "VnetDNS": ["10.0.0.10"] } }');
  expect(run(["validate", "--config", p]).err).toBe(`${p}: a: unknown key\n${p}: b: unknown key\n`);
  writeFileSync(p, '\uFEFF{\n  "mode": "Required",\n  "cache": {\n}');
  expect(run(["validate", "--config", p]).err).toBe(`${p}: (file): not valid JSON: line 4, column 2: expected "," or "}" after a value in an object, got the end of the file\n`);
}));

test("validate reads LOCALDNS_CONFIG", () => withFile("{ broken", (p) => {
  const r = run(["validate"], { LOCALDNS_CONFIG: p });
  expect(r.status).toBe(1);
  expect(r.err).toMatch(/not valid JSON/);
}));

test("--help, per-command --help and --version", () => {
  expect(run(["--help"]).out).toContain("localdns run");
  expect(run(["run", "--help"]).out).toContain("Usage: localdns run");
  expect(run(["validate", "--help"]).out).toContain("Usage: localdns validate");
  expect(run(["--version"]).out).toMatch(/^localdns \d/);
  expect(run(["status", "--help"]).out).toContain("Usage: localdns status [--admin ADDR] [--json]");
  expect(run(["validate", "--help"]).out).toContain("--check-upstreams");
  // the overview lists every command
  const overview = run(["--help"]).out;
  for (const cmd of ["run", "validate", "network", "kubernetes", "status"]) expect(overview).toContain(`localdns ${cmd} `);
});

test("unknown flags and commands are errors with usage", () => {
  const a = run(["run", "--frobnicate"]);
  expect(a.status).toBe(2);
  expect(a.err).toContain("unknown flag for run: --frobnicate");
  expect(a.err).toContain("Usage: localdns run");
  const b = run(["explode"]);
  expect(b.status).toBe(2);
  expect(b.err).toContain("unknown command");
});

test("run with mode Disabled exits 0 with a message", () => withFile(JSON.stringify({ mode: "Disabled", upstreams: { VnetDNS: ["127.0.0.9"] } }), (p) => {
  const r = run(["run", "--config", p]);
  expect(r.status).toBe(0);
  expect(r.out).toContain("Disabled");
}));

test("run with an invalid config exits 1 and logs the problems as JSON", () => withFile(JSON.stringify({ mode: "nope" }), (p) => {
  const r = run(["run", "--config", p]);
  expect(r.status).toBe(1);
  const lines = r.out.trim().split("\n").map((l) => JSON.parse(l));
  expect(lines.some((l) => l.level === "error" && /^mode: /.test(l.problem))).toBe(true);
}));

test("with no config at all, run uses the embedded loopback default (what npm start runs)", async () => {
  const { spawn } = await import("node:child_process");
  const { query, sleep } = await import("./helpers/dns");
  const p = spawn(BINARY, ["run"], { env: { PATH: "/usr/bin:/bin" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout!.on("data", (d) => { out += d; });
  try {
    for (let i = 0; i < 100 && !out.includes("localdns started"); i++) await sleep(50);
    expect(out).toContain('"vnetDNS 127.0.0.1:5553"');
    expect(out).toContain('"kubeDNS 127.0.0.1:5554"');
    // the health name is answered locally: nothing is sent to the machine's resolvers
    const r = await query("127.0.0.1", 5553, "health-check.localdns.local");
    expect(r.answers[0].data).toBe("127.0.0.1");
    const health = await fetch("http://127.0.0.1:8181/health");
    expect(await health.text()).toBe("OK");
  } finally {
    p.kill("SIGTERM");
    await new Promise((r) => p.once("exit", r));
  }
  expect(p.exitCode).toBe(0);
});
