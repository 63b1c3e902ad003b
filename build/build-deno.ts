// The Deno build: dist/localdns-deno, one executable made by `deno compile` from build/deno-entry.ts,
// the packet core embedded with --include and the permissions below baked in. `--if-needed` skips the
// compile when the output is newer than its sources.
//
// `deno compile` copies its base runtime ("denort", one per Deno version and target) into the output.
// Deno downloads it from dl.deno.land on first use and caches it in $DENO_DIR; the npm `deno` package
// ships only the full CLI, which cannot serve as that base. Set DENORT_BIN to a denort binary of the
// same version to build with no network at all. With `--or-launcher` (the test build) and no
// DENORT_BIN, no compile is tried (it would reach for dl.deno.land): dist/localdns-deno is written as a
// small `deno run` launcher instead (same entry, same permissions), so the binary tests still exercise
// the Deno runtime; it says so on stderr.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { newest, mtime as fileMtime } from "./freshness";

const root = join(dirname(new URL(import.meta.url).pathname), "..");
const ifNeeded = process.argv.includes("--if-needed");
const orLauncher = process.argv.includes("--or-launcher");
const deno = join(root, "node_modules/.bin/deno");
const entry = "build/deno-entry.ts";
const wasm = "build/core.wasm";
const out = "dist/localdns-deno";

// Fixed when the binary is built. Paths and addresses are all run-time values (--config or
// $LOCALDNS_CONFIG, then the config's listeners, upstreams, resolv.conf files, hosts file and
// snapshot path, which SIGHUP can change), so read, write and net cannot be narrowed to a list here;
// the systemd unit's sandbox (ProtectSystem=strict, ReadWritePaths) is what confines the files.
const DENO_PERMISSIONS = [
  "--allow-net", // listeners, upstreams and the admin API, all from the config
  "--allow-read", // the config file and what it names (resolv.conf, snapshot); networkd files for `network`
  "--allow-write", // the cache snapshot (config); `network` state and resolver drop-in
  "--allow-env", // `network` runs ip/iptables with a copy of the whole environment
  "--allow-ffi", // libc: sd_notify (deno-notify.ts) and the FFI data path (sockets, pointers into wasm memory need it unscoped)
  "--allow-run", // the `network` steps: ip, iptables, ip6tables, and networkctl or $LOCALDNS_NETWORKCTL (any path)
  "--allow-sys=uid,gid", // node:fs access(X_OK), how `network` finds those tools
  "--unstable-net", // Deno.listenDatagram
];
// V8's young generation otherwise grows to tens of MB under steady query load (RSS 150 MB after a few
// fuzzing rounds against 100 MB with this, at the same CPU); the unit's MemoryMax is 128M.
// --expose-gc: runtime.collectGarbage() (the memory keeper in appliance.ts) is a no-op without it.
const V8_FLAGS = ["--v8-flags=--max-semi-space-size=1,--expose-gc"];
// How the sources resolve: imports without extensions (as Bun takes them), no type check (`bun`
// types and bun:ffi are not Deno's), packages from the existing node_modules (no download).
const SOURCE_FLAGS = ["--no-check", "--unstable-sloppy-imports", "--node-modules-dir=manual", "--no-lock"];

const mtime = (p: string) => fileMtime(join(root, p));

/** node_modules entries the binary does not need: everything but the runtime dependencies and theirs.
 * Without these excludes deno compile embeds the whole node_modules tree (bun, deno, asc: ~300 MB). */
function unusedPackages(): string[] {
  const keep = new Set<string>();
  const visit = (name: string) => {
    if (keep.has(name)) return;
    keep.add(name);
    const pkg = JSON.parse(readFileSync(join(root, "node_modules", name, "package.json"), "utf8"));
    for (const dep of Object.keys(pkg.dependencies ?? {})) visit(dep);
  };
  for (const dep of Object.keys(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).dependencies ?? {})) visit(dep);
  const unused: string[] = [];
  for (const e of readdirSync(join(root, "node_modules"))) {
    const names = e.startsWith("@") ? readdirSync(join(root, "node_modules", e)).map((s) => `${e}/${s}`) : [e];
    for (const n of names) if (!keep.has(n)) unused.push(`node_modules/${n}`);
  }
  return unused;
}

function compile(): { ok: boolean; stderr: string } {
  const r = spawnSync(deno, [
    "compile", ...SOURCE_FLAGS, ...DENO_PERMISSIONS, ...V8_FLAGS, "--no-prompt",
    "--include", wasm, ...unusedPackages().flatMap((p) => ["--exclude", p]),
    "--output", out, entry,
  ], { cwd: root, encoding: "utf8", stdio: ["ignore", "inherit", "pipe"], timeout: 300_000 });
  process.stderr.write(r.stderr ?? "");
  return { ok: r.status === 0, stderr: r.stderr ?? "" };
}

function writeLauncher(): void {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const args = ["run", ...SOURCE_FLAGS, ...DENO_PERMISSIONS, ...V8_FLAGS, "--no-prompt", join(root, entry)];
  writeFileSync(join(root, out), [
    "#!/bin/sh",
    "# localdns on Deno: a `deno run` launcher written by build/build-deno.ts --or-launcher because",
    "# `deno compile` could not get its base runtime (denort) on the machine that built it.",
    `exec ${q(deno)} ${args.map(q).join(" ")} "$@"`,
    "",
  ].join("\n"));
  chmodSync(join(root, out), 0o755);
}

if (!existsSync(join(root, wasm)) || mtime(wasm) < newest(join(root, "assembly"))) {
  // the packet core comes from the main build (which also refreshes dist/localdns if it is stale)
  const r = spawnSync(process.execPath, ["build/build.ts", "--if-needed"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) process.exit(1);
}
const sources = Math.max(mtime(wasm), newest(join(root, "src")), mtime(entry), mtime("build/build-deno.ts"), mtime("package.json"));
if (ifNeeded && mtime(out) >= sources) process.exit(0);

mkdirSync(join(root, "dist"), { recursive: true });
rmSync(join(root, out), { force: true });
if (orLauncher && !process.env.DENORT_BIN) {
  // without a local denort, deno compile would try dl.deno.land: go straight to the launcher, so a
  // test build never reaches for the network
  writeLauncher();
  console.error(`build: wrote ${out} as a \`deno run\` launcher (no DENORT_BIN for deno compile)`);
  process.exit(0);
}
const r = compile();
if (r.ok) {
  console.error(`build: ${out}`);
} else if (/denort|base binary/i.test(r.stderr)) {
  const why = "deno compile could not get its base runtime (denort): it downloads it from dl.deno.land, " +
    "which this machine cannot reach, and the npm deno package does not ship it (set DENORT_BIN to a denort 2.9.5 binary)";
  if (!orLauncher) { console.error(`build: ${why}`); process.exit(1); }
  writeLauncher();
  console.error(`build: ${why}.\nbuild: wrote ${out} as a \`deno run\` launcher instead (not a single binary)`);
} else {
  console.error(`build: deno compile failed`);
  process.exit(1);
}
