// Security defaults: the admin API binds loopback unless told otherwise (and refuses a non-loopback
// address without admin.allowNonLoopback), mutating endpoints need the bearer token when one is set
// and nothing hands the token out, the binary listens on nothing but what it was configured with, no
// code in src/ runs a shell or builds a command line from a string, and the production dependencies
// have no known vulnerabilities (npm audit; skipped with the reason when the registry's audit endpoint
// cannot be reached from here).
import { describe, test, expect, beforeAll, afterAll } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { buildConfig, EMBEDDED_DEFAULT } from "../src/config/effective";
import { startInProcess, type Started } from "./helpers/appliance";
import { runBinary, BINARY } from "./helpers/binary";
import { pickPort } from "./helpers/robust";
import { startFastUpstream } from "./helpers/fast-upstream";

const ROOT = join(import.meta.dir, "..");
const readFile = (p: string) => { if (p.endsWith("resolv.conf")) return "nameserver 127.0.15.53\n"; return readFileSync(p, "utf8"); };
const TOKEN = "s3cret-token-0123456789abcdef";

describe("admin API binding", () => {
  test("by default (no admin section, and the embedded default) it listens on 127.0.0.1:8181 only", () => {
    for (const json of [{}, { admin: {} }, EMBEDDED_DEFAULT]) {
      const r = buildConfig(json, readFile);
      if (!r.ok) throw new Error(r.errors.join("; "));
      expect(r.config.admin.listen).toEqual({ host: "127.0.0.1", port: 8181, family: 4 });
      expect(r.config.admin.metricsListen).toBeNull();
      expect(r.config.admin.allowNonLoopback).toBe(false);
    }
  });

  const nonLoopback = ["0.0.0.0:8181", "10.0.0.1:8181", "169.254.10.10:8181", "[::]:8181", "[fd00::1]:8181", "[::ffff:127.0.0.1]:8181", "192.168.1.1:9153"];
  test("admin.metricsListen (only /metrics and /health) may be on any address, with no token", () => {
    for (const addr of nonLoopback) {
      const r = buildConfig({ admin: { metricsListen: addr } }, readFile);
      expect({ addr, ok: r.ok }).toEqual({ addr, ok: true });
    }
  });

  for (const key of ["listen"] as const) {
    test(`admin.${key} on a non-loopback address is a config error unless admin.allowNonLoopback`, () => {
      for (const addr of nonLoopback) {
        const r = buildConfig({ admin: { [key]: addr } }, readFile);
        expect({ addr, ok: r.ok }).toEqual({ addr, ok: false });
        if (!r.ok) expect(r.errors.join("\n")).toContain(`admin.${key}`);
        const allowed = buildConfig({ admin: { [key]: addr, allowNonLoopback: true, token: TOKEN } }, readFile);
        expect({ addr, ok: allowed.ok }).toEqual({ addr, ok: true });
      }
      for (const addr of ["127.0.0.1:8181", "127.9.9.9:1", "[::1]:8181"]) expect(buildConfig({ admin: { [key]: addr } }, readFile).ok).toBe(true);
    });
  }

  test("the binary refuses to start (exit 1, the problem named) with a non-loopback admin address", () => {
    const dir = spawnSync("mktemp", ["-d"], { encoding: "utf8" }).stdout.trim();
    const cfg = join(dir, "c.json");
    writeFileSync(cfg, JSON.stringify({ listeners: { vnetDNS: ["127.0.15.1:0"], kubeDNS: ["127.0.15.2:0"] }, upstreams: { ClusterCoreDNS: ["127.0.15.53:53"], VnetDNS: ["127.0.15.53:53"] }, admin: { listen: "0.0.0.0:18181" }, cache: { snapshotPath: null } }));
    try {
      const v = spawnSync(BINARY, ["validate", "--config", cfg], { encoding: "utf8", timeout: 10_000 });
      expect(v.status).toBe(1);
      expect(v.stderr).toMatch(/admin\.listen: 0\.0\.0\.0:18181 is not a loopback address/);
      const r = spawnSync(BINARY, ["run", "--config", cfg], { encoding: "utf8", timeout: 10_000 });
      expect(r.status).toBe(1);
      expect(r.stdout + r.stderr).toMatch(/admin\.listen/);
    } finally { spawnSync("rm", ["-rf", dir]); }
  });

  test("the running binary listens on its configured addresses and nowhere else (default admin: loopback)", async () => {
    const up = await startFastUpstream("127.0.15.9");
    const port = await pickPort("127.0.15.1", "127.0.15.2");
    // no admin section: the default admin listener (127.0.0.1:8181) — if another process holds that
    // port here, this check cannot run
    const bin = await runBinary({
      listeners: { vnetDNS: [`127.0.15.1:${port}`], kubeDNS: [`127.0.15.2:${port}`] },
      upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] },
      cache: { snapshotPath: null },
    }, { probe: { host: "127.0.15.1", port } }).catch((e) => e as Error);
    try {
      if (bin instanceof Error) {
        if (/8181|admin|address in use|EADDRINUSE/i.test(bin.message)) { console.log(`skipped: the default admin port 127.0.0.1:8181 is in use here (${bin.message.slice(0, 200)})`); return; }
        throw bin;
      }
      const listening = listeningSockets(bin.proc.pid!);
      expect(listening.tcp.sort()).toEqual([`127.0.0.1:8181`, `127.0.15.1:${port}`, `127.0.15.2:${port}`].sort());
      // UDP: the two listeners, plus upstream sockets bound to ephemeral ports (wildcard, never a
      // well-known port: they only receive replies from the configured upstream, see robust-upstream)
      expect(listening.udp.filter((a) => !/^(0\.0\.0\.0|::):\d{5}$/.test(a) && !a.endsWith(`:${port}`))).toEqual([]);
      expect(listening.udp.filter((a) => a.endsWith(`:${port}`)).sort()).toEqual([`127.0.15.1:${port}`, `127.0.15.2:${port}`].sort());
    } finally {
      if (!(bin instanceof Error)) await bin.stop();
      await up.stop();
    }
  });
});

test("the binary's admin listener: mutating endpoints 401 without the token, 200 with it", async () => {
  const up = await startFastUpstream("127.0.15.9");
  const port = await pickPort("127.0.15.3", "127.0.15.4");
  let adminPort = port;
  while (adminPort === port) adminPort = await pickPort("127.0.15.3");
  const bin = await runBinary({
    listeners: { vnetDNS: [`127.0.15.3:${port}`], kubeDNS: [`127.0.15.4:${port}`] },
    upstreams: { ClusterCoreDNS: [`${up.host}:${up.port}`], VnetDNS: [`${up.host}:${up.port}`] },
    admin: { listen: `127.0.15.3:${adminPort}`, token: TOKEN }, cache: { snapshotPath: null },
  }, { probe: { host: "127.0.15.3", port } });
  try {
    const base = `http://127.0.15.3:${adminPort}`;
    for (const path of ["/cache/flush", "/reload"]) {
      expect({ path, status: (await fetch(base + path, { method: "POST" })).status }).toEqual({ path, status: 401 });
      expect({ path, status: (await fetch(base + path, { method: "POST", headers: { authorization: "Bearer nope-nope-nope-nope" } })).status }).toEqual({ path, status: 401 });
    }
    expect((await fetch(`${base}/cache/flush`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(200);
    expect((await fetch(`${base}/metrics`)).status).toBe(200);
  } finally { await bin.stop(); await up.stop(); }
});

describe("admin token", () => {
  let s: Started;
  beforeAll(async () => { s = await startInProcess({ upstreams: { ClusterCoreDNS: ["127.0.15.53:53"], VnetDNS: ["127.0.15.53:53"] }, admin: { listen: null, token: TOKEN } }, { log: false }); });
  afterAll(async () => { await s?.stop(); });
  const req = (path: string, init?: RequestInit) => s.app.adminApp.request(path, init);

  test("mutating endpoints need the token: none, a wrong one or a malformed header get 401", async () => {
    for (const [path, method] of [["/cache/flush", "POST"], ["/reload", "POST"], ["/cache/flush?name=x.example.org", "POST"], ["/cache/flush", "DELETE"], ["/reload", "PUT"], ["/config", "PATCH"]]) {
      for (const auth of [undefined, "Bearer wrong-token-0123456789", `bearer${TOKEN}`, TOKEN, `Basic ${btoa(`admin:${TOKEN}`)}`, `Bearer  ${TOKEN}`, `Bearer ${TOKEN.slice(0, -1)}`, `Bearer ${TOKEN}x`]) {
        const r = await req(path, { method, headers: auth === undefined ? {} : { authorization: auth } });
        expect({ path, method, auth, status: r.status }).toEqual({ path, method, auth, status: 401 });
      }
    }
    const ok = await req("/cache/flush", { method: "POST", headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
  });

  test("read-only endpoints work without it", async () => {
    for (const path of ["/health", "/ready", "/metrics", "/cache/stats", "/config"]) expect({ path, status: (await req(path)).status }).toEqual({ path, status: 200 });
  });

  test("no read-only endpoint gives the token away", async () => {
    for (const path of ["/config", "/metrics", "/cache/stats", "/health", "/ready"]) {
      const body = await (await req(path)).text();
      expect({ path, leaks: body.includes(TOKEN) }).toEqual({ path, leaks: false });
    }
  });

  test("the /ready server on the listener addresses serves /ready and nothing else", async () => {
    const { createReadyApp } = await import("../src/admin/app");
    const ready = createReadyApp(s.app);
    expect((await ready.request("/ready")).status).not.toBe(404);
    for (const [path, method] of [["/reload", "POST"], ["/cache/flush", "POST"], ["/config", "GET"], ["/metrics", "GET"]]) {
      expect({ path, status: (await ready.request(path, { method })).status }).toEqual({ path, status: 404 });
    }
  });
});

describe("no shell", () => {
  const files = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : /\.(ts|js|mjs)$/.test(f) ? [p] : [];
  });
  const sources = files(join(ROOT, "src")).map((p) => ({ path: relative(ROOT, p), text: stripComments(readFileSync(p, "utf8")) }));

  test("src/ never runs a shell: no exec/execSync, no shell option, no Bun.$, no sh -c", () => {
    expect(sources.length).toBeGreaterThan(20);
    expect(sources.flatMap(({ path, text }) => shellUses(path, text))).toEqual([]);
  });

  test("every process spawn in src/ passes its arguments as an array, the program as a plain value", () => {
    const all = sources.map(({ path, text }) => spawnCalls(path, text));
    const calls = all.flatMap((x) => x.calls);
    console.log(`process spawns in src/: ${calls.length}\n  ${calls.join("\n  ")}`);
    expect(calls.length).toBeGreaterThan(0); // the scanner sees the node-setup runner
    expect(all.flatMap((x) => x.bad)).toEqual([]);
  });

  test("the scanners catch what they look for", () => {
    const cp = `import { spawnSync, spawn } from "node:child_process";\n`;
    for (const bad of [
      `import { exec } from "node:child_process"; exec("ip addr add " + a);`,
      `import * as cp from "child_process"; cp.execSync(cmd);`,
      `${cp}spawnSync("iptables", ["-A", x], { shell: true });`,
      `const out = await Bun.$\`ip link show \${dev}\`;`,
      `${cp}spawn("sh", ["-c", line]);`,
    ]) expect({ bad, found: shellUses("x.ts", stripComments(bad)).length > 0 }).toEqual({ bad, found: true });
    for (const bad of [
      `${cp}spawnSync("ip addr add 1.2.3.4 dev lo");`,
      `${cp}spawnSync(\`ip \${args}\`);`,
      `${cp}spawnSync("ip", "addr add " + a);`,
      `${cp}spawn("ip", \`addr \${a}\`);`,
      `Bun.spawnSync("ip addr add " + a);`,
    ]) expect({ bad, found: spawnCalls("x.ts", stripComments(bad)).bad.length > 0 }).toEqual({ bad, found: true });
    for (const good of [`${cp}spawnSync(cmd, args, { timeout: 5 });`, `${cp}spawnSync("ip", ["addr", "add", a]);`, `Bun.spawnSync(["ip", "addr"]);`, `const m = /^DNS=(.*)$/m.exec(t); // exec(x)`]) {
      const t = stripComments(good);
      expect({ good, bad: [...shellUses("x.ts", t), ...spawnCalls("x.ts", t).bad] }).toEqual({ good, bad: [] });
    }
  });
});

/** Uses of a shell in one source file: exec/execSync from child_process, shell options, Bun.$, sh -c. */
function shellUses(path: string, text: string): string[] {
  const bad: string[] = [];
  const cp = /import\s+(?:\*\s+as\s+(\w+)|(\w+))\s+from\s+["'](?:node:)?child_process["']/.exec(text);
  const ns = cp?.[1] ?? cp?.[2];
  for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*["'](?:node:)?child_process["']/g)) {
    if (/\bexec(Sync)?\b/.test(m[1])) bad.push(`${path}:${lineOf(text, m.index!)}: imports ${m[1].trim()}`);
  }
  if (ns) for (const m of text.matchAll(new RegExp(`\\b${ns}\\s*\\.\\s*exec(Sync)?\\s*\\(`, "g"))) bad.push(`${path}:${lineOf(text, m.index!)}: ${m[0]}`);
  if (/require\(\s*["'](?:node:)?child_process["']\s*\)/.test(text)) bad.push(`${path}: require("child_process")`);
  for (const re of [/\bshell\s*:\s*(?!false)/g, /\bBun\s*\.\s*\$/g, /\$`/g, /["'`](\/bin\/)?(ba)?sh["'`]\s*,\s*\[\s*["'`]-c/g, /\bDeno\s*\.\s*run\s*\(/g]) {
    for (const m of text.matchAll(re)) bad.push(`${path}:${lineOf(text, m.index!)}: ${m[0]}`);
  }
  return bad;
}

/** Process spawns in one source file, and those that pass a command line instead of an argument array. */
function spawnCalls(path: string, text: string): { calls: string[]; bad: string[] } {
  const calls: string[] = [];
  const bad: string[] = [];
  const imports = /from\s+["'](node:)?child_process["']/.test(text);
  for (const m of text.matchAll(/\b(spawnSync|spawn|execFileSync|execFile|fork|Bun\s*\.\s*spawnSync|Bun\s*\.\s*spawn|new\s+Deno\s*\.\s*Command)\s*\(/g)) {
    const name = m[1].replace(/\s+/g, "");
    if (!imports && !name.startsWith("Bun") && !name.includes("Deno")) continue;
    if (/function\s+$/.test(text.slice(Math.max(0, m.index! - 9), m.index!))) continue; // a declaration, not a call
    const args = callArgs(text, m.index! + m[0].length);
    const where = `${path}:${lineOf(text, m.index!)}: ${name}(${args.join(", ").slice(0, 120)})`;
    calls.push(where);
    const literal = (a: string | undefined) => a !== undefined && /^["'`]/.test(a.trim());
    const arrayLike = (a: string | undefined) => a !== undefined && (/^\[/.test(a.trim()) || /^[A-Za-z_$][\w$.]*$/.test(a.trim()));
    if (name.startsWith("Bun")) { if (!/^[\[{]/.test(args[0]?.trim() ?? "")) bad.push(where); continue; }
    if (name.includes("Deno")) { if ((literal(args[0]) && /\s/.test(args[0])) || /args\s*:\s*["'`]/.test(args[1] ?? "")) bad.push(where); continue; }
    // the program: not a command line (a literal with spaces, or a template or concatenation)
    if (args[0] === undefined || (literal(args[0]) && /\s/.test(args[0])) || /\$\{|\+/.test(args[0])) bad.push(where);
    // its arguments: an array literal or a variable holding one, never a string
    else if (!arrayLike(args[1]) || literal(args[1])) bad.push(where);
    else if (args.slice(2).some((a) => /\bshell\s*:\s*(?!false)/.test(a))) bad.push(where);
  }
  return { calls, bad };
}

// npm audit talks to the registry: find out once whether it can, and skip with the reason if not.
const audit = (() => {
  const r = spawnSync("npm", ["audit", "--omit=dev", "--json"], { cwd: ROOT, encoding: "utf8", timeout: 60_000 });
  if (r.error) return { skip: `npm audit could not run: ${r.error.message}` };
  let json: any;
  try { json = JSON.parse(r.stdout); } catch { return { skip: `npm audit gave no JSON (exit ${r.status}): ${(r.stderr || r.stdout).trim().split("\n").slice(-2).join(" ")}` }; }
  if (json.error || json.message || json.statusCode) {
    return { skip: `the registry's audit endpoint is unreachable from here: ${json.message ?? json.error?.summary ?? JSON.stringify(json.error)}` };
  }
  return { json };
})();
if ("skip" in audit) console.log(`skipped npm audit --omit=dev: ${audit.skip}`);

test.skipIf("skip" in audit)("npm audit --omit=dev: no known vulnerabilities in production dependencies", () => {
  const v = (audit as { json: any }).json.metadata?.vulnerabilities ?? {};
  const found = Object.entries(v).filter(([k, n]) => k !== "total" && (n as number) > 0);
  expect({ found, advisories: Object.keys((audit as { json: any }).json.vulnerabilities ?? {}) }).toEqual({ found: [], advisories: [] });
});

// ---- helpers

function lineOf(text: string, index: number): number { return text.slice(0, index).split("\n").length; }

/** Removes // and /* comments (outside strings), keeping line breaks so line numbers stay right. */
function stripComments(src: string): string {
  let out = "";
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '"' || c === "'" || c === "`") {
      const q = c;
      let j = i + 1;
      while (j < src.length && src[j] !== q) { if (src[j] === "\\") j++; j++; }
      out += src.slice(i, j + 1);
      i = j;
    } else if (c === "/" && src[i + 1] === "/") {
      while (i < src.length && src[i] !== "\n") i++;
      out += "\n";
    } else if (c === "/" && src[i + 1] === "*") {
      const end = src.indexOf("*/", i + 2);
      const chunk = src.slice(i, end < 0 ? src.length : end + 2);
      out += chunk.replace(/[^\n]/g, " ");
      i = (end < 0 ? src.length : end + 2) - 1;
    } else out += c;
  }
  return out;
}

/** The top-level arguments of a call whose "(" ends just before `start`. */
function callArgs(src: string, start: number): string[] {
  const args: string[] = [];
  let depth = 0;
  let cur = "";
  for (let i = start; i < src.length; i++) {
    const c = src[i];
    if (c === '"' || c === "'" || c === "`") {
      let j = i + 1;
      while (j < src.length && src[j] !== c) { if (src[j] === "\\") j++; j++; }
      cur += src.slice(i, j + 1);
      i = j;
      continue;
    }
    if (c === "(" || c === "[" || c === "{") depth++;
    if (c === ")" || c === "]" || c === "}") {
      if (depth === 0) { if (cur.trim()) args.push(cur.trim()); return args; }
      depth--;
    }
    if (c === "," && depth === 0) { args.push(cur.trim()); cur = ""; continue; }
    cur += c;
  }
  return args;
}

/** Listening TCP sockets and bound UDP sockets of a process, as "addr:port" (from /proc/net). */
function listeningSockets(pid: number): { tcp: string[]; udp: string[] } {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try { const l = readlinkSync(`/proc/${pid}/fd/${fd}`); const m = /^socket:\[(\d+)\]$/.exec(l); if (m) inodes.add(m[1]); } catch { /* closed meanwhile */ }
  }
  const read = (file: string, v6: boolean, listenOnly: boolean) => {
    let text = "";
    try { text = readFileSync(file, "utf8"); } catch { return []; }
    return text.split("\n").slice(1).filter(Boolean).map((l) => l.trim().split(/\s+/)).filter((f) => inodes.has(f[9]) && (!listenOnly || f[3] === "0A")).map((f) => decodeAddr(f[1], v6));
  };
  return {
    tcp: [...read(`/proc/${pid}/net/tcp`, false, true), ...read(`/proc/${pid}/net/tcp6`, true, true)],
    udp: [...read(`/proc/${pid}/net/udp`, false, false), ...read(`/proc/${pid}/net/udp6`, true, false)],
  };
}

function decodeAddr(hex: string, v6: boolean): string {
  const [a, p] = hex.split(":");
  const port = parseInt(p, 16);
  if (!v6) return `${[3, 2, 1, 0].map((i) => parseInt(a.slice(i * 2, i * 2 + 2), 16)).join(".")}:${port}`;
  const words: string[] = [];
  for (let w = 0; w < 4; w++) {
    const x = a.slice(w * 8, w * 8 + 8);
    const le = x.match(/../g)!.reverse().join("");
    words.push(le.slice(0, 4), le.slice(4, 8));
  }
  const text = words.map((w) => parseInt(w, 16).toString(16)).join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
  return `${text}:${port}`;
}
