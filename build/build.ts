// The build: AssemblyScript → build/core.wasm, then one self-contained executable dist/localdns
// (bun build --compile, the wasm embedded). `--if-needed` skips steps whose outputs are newer than
// their sources.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { join, dirname } from "node:path";
import { newest, mtime } from "./freshness";
import { coreConstant } from "./core-abi";

const root = join(dirname(new URL(import.meta.url).pathname), "..");
const ifNeeded = process.argv.includes("--if-needed");
const wasm = join(root, "build/core.wasm");
const exe = join(root, "dist/localdns");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`build: ${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})`);
    process.exit(1);
  }
}

const bin = (name: string) => join(root, "node_modules/.bin", name);

// the runtime's copy of the core's constants, generated from the AssemblyScript sources
run(process.execPath, [join(root, "build/core-abi.ts")]);
if (!ifNeeded || mtime(wasm) < newest(join(root, "assembly"))) {
  // one shared memory, imported, so the main thread and loop Workers run instances on one cache
  run(bin("asc"), [
    "assembly/index.ts", "-O3", "--runtime", "stub", "--noAssert", "--initialMemory", "4",
    "--enable", "threads", "--sharedMemory", "--importMemory", "--maximumMemory", String(coreConstant("layout.ts", "MEMORY_MAX_PAGES")),
    "-o", "build/core.wasm",
  ]);
  console.error("build: build/core.wasm");
}
if (!ifNeeded || mtime(exe) < Math.max(mtime(wasm), newest(join(root, "src")), mtime(join(root, "package.json")))) {
  mkdirSync(join(root, "dist"), { recursive: true });
  run(process.execPath, [
    "build", "--compile", "--minify-syntax", "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
    `--define`, `LOCALDNS_VERSION=${JSON.stringify(pkg.version)}`,
    // the UDP loop Worker's entry is bundled beside the main one (new Worker(URL) finds it in the binary)
    "src/main.ts", "src/server/ffi/dns-loop-worker.ts", "--outfile", "dist/localdns",
  ]);
  console.error("build: dist/localdns");
}
