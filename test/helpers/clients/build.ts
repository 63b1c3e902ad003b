// Builds the compiled clients once per run into a temp dir: lookup.c with gcc (glibc) and with
// musl-gcc -static (musl), lookup.go with the Debian Go toolchain (stdlib only, never the network).
// Finds the interpreters too. Each client is a path, or the reason it cannot run here.
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export type Built = { path: string } | { missing: string };
export interface Clients { dir: string; glibc: Built; musl: Built; go: Built; python: Built; node: Built }

const SRC = import.meta.dir;
const has = (cmd: string) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status === 0;

function compile(what: string, cmd: string, args: string[], out: string, env: Record<string, string> = {}): Built {
  const r = spawnSync(cmd, args, { encoding: "utf8", timeout: 120_000, env: { ...process.env, ...env } });
  if (r.status !== 0) return { missing: `${what} did not build: ${(r.stderr || String(r.error)).trim().slice(0, 500)}` };
  return { path: out };
}

/** Debian's python3 has python3-dnspython; a python3 earlier in PATH (pyenv) may not. */
function findPython(): Built {
  for (const py of ["/usr/bin/python3", "python3"]) {
    if (spawnSync(py, ["-c", "import dns.resolver, dns.query"]).status === 0) return { path: py };
  }
  return { missing: "no python3 with dnspython (apt-get install python3-dnspython)" };
}

/** Why a client of this kind cannot run here (a missing package), or null. Cheap: no build. */
export function clientMissing(kind: keyof Omit<Clients, "dir">): string | null {
  switch (kind) {
    case "glibc": return has("gcc") ? null : "gcc is not installed";
    case "musl": return has("musl-gcc") ? null : "musl-gcc is not installed (apt-get install musl-tools)";
    case "go": return has("go") ? null : "go is not installed (apt-get install golang-go)";
    case "node": return has("node") ? null : "node is not installed";
    case "python": { const p = findPython(); return "missing" in p ? p.missing : null; }
  }
}

export function buildClients(): Clients {
  const dir = mkdtempSync(join(tmpdir(), "ldns-clients-bin-"));
  const c = join(SRC, "lookup.c");
  const glibc = has("gcc") ? compile("glibc client", "gcc", ["-O1", "-o", join(dir, "lookup-glibc"), c, "-lresolv"], join(dir, "lookup-glibc")) : { missing: "gcc is not installed" };
  const musl = has("musl-gcc") ? compile("musl client", "musl-gcc", ["-static", "-O1", "-o", join(dir, "lookup-musl"), c], join(dir, "lookup-musl")) : { missing: "musl-gcc is not installed (apt-get install musl-tools)" };
  let go: Built = { missing: "go is not installed (apt-get install golang-go)" };
  if (has("go")) {
    mkdirSync(join(dir, "gocache"));
    // the stdlib only: no module download can happen, and no toolchain switch either
    go = compile("Go client", "go", ["build", "-o", join(dir, "lookup-go"), join(SRC, "lookup.go")], join(dir, "lookup-go"), {
      GOCACHE: join(dir, "gocache"), GOPATH: join(dir, "gopath"), GOFLAGS: "-mod=mod", GOPROXY: "off", GOTOOLCHAIN: "local", CGO_ENABLED: "1",
    });
  }
  const node: Built = has("node") ? { path: spawnSync("sh", ["-c", "command -v node"], { encoding: "utf8" }).stdout.trim() } : { missing: "node is not installed" };
  return { dir, glibc, musl, go, python: findPython(), node };
}
