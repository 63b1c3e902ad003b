// `npm run image`: the OCI image archive dist/localdns-image.tar (podman load / docker load / skopeo
// copy oci-archive:...), built from scratch with Debian's buildah, rootful, with a private vfs store
// in a temporary directory (no daemon, nothing left in /var/lib/containers, no container is run).
// Timestamps come from the last commit, so the same sources give the same image.
//   --output FILE   where to write the archive (default dist/localdns-image.tar)
//   LOCALDNS_IMAGE_SOURCE   the org.opencontainers.image.source label (default: git remote "origin")
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, dirname, resolve } from "node:path";
import { IMAGE_BINARY, NONROOT, stageRootfs } from "./image-rootfs";

const root = join(dirname(new URL(import.meta.url).pathname), "..");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const outFlag = process.argv.indexOf("--output");
const output = resolve(outFlag > 0 ? process.argv[outFlag + 1] : join(root, "dist/localdns-image.tar"));
const binary = join(root, "dist/localdns");
const IMAGE_NAME = `localhost/localdns:${pkg.version}`;

function die(msg: string): never { console.error(`image: ${msg}`); process.exit(1); }

function run(cmd: string, args: string[], opts: { quiet?: boolean } = {}): string {
  const r = spawnSync(cmd, args, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", opts.quiet ? "pipe" : "inherit"] });
  if (r.error) die(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) die(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal})${r.stderr ? `: ${r.stderr.trim()}` : ""}`);
  return r.stdout.trim();
}
const git = (args: string[]) => { const r = spawnSync("git", args, { cwd: root, encoding: "utf8" }); return r.status === 0 ? r.stdout.trim() : ""; };

if (process.platform !== "linux") die("builds on Linux only");
if (process.getuid?.() !== 0) die("needs root (rootful buildah: the staged files keep their owners and the binary its file capability)");
if (spawnSync("buildah", ["--version"]).status !== 0) die("buildah is not installed (apt-get install buildah)");
try { statSync(binary); } catch { die("dist/localdns is missing: run npm run build first"); }

const revision = git(["rev-parse", "HEAD"]) || "unknown";
const epoch = Number(git(["log", "-1", "--format=%ct"])) || Math.floor(Date.now() / 1000);
const source = process.env.LOCALDNS_IMAGE_SOURCE || git(["remote", "get-url", "origin"]);

const work = mkdtempSync(join(tmpdir(), "localdns-image-"));
const store = ["--root", join(work, "store"), "--runroot", join(work, "run"), "--storage-driver", "vfs"];
try {
  const rootfs = join(work, "rootfs");
  const placed = stageRootfs(rootfs, binary);
  console.error(`image: root filesystem: ${placed.join(" ")}`);
  const ctr = run("buildah", [...store, "from", "--quiet", "scratch"], { quiet: true });
  run("buildah", [...store, "copy", "--quiet", ctr, `${rootfs}/`, "/"], { quiet: true });
  const labels: Record<string, string> = {
    "org.opencontainers.image.title": "localdns",
    "org.opencontainers.image.description": pkg.description,
    "org.opencontainers.image.version": pkg.version,
    "org.opencontainers.image.revision": revision,
    "org.opencontainers.image.created": new Date(epoch * 1000).toISOString(),
  };
  if (source) labels["org.opencontainers.image.source"] = source;
  else console.error("image: no git remote: the org.opencontainers.image.source label is left out (set LOCALDNS_IMAGE_SOURCE)");
  run("buildah", [...store, "config",
    "--entrypoint", JSON.stringify([IMAGE_BINARY]),
    "--cmd", JSON.stringify(["run", "--config", "/etc/localdns/localdns.json"]),
    "--env", "PATH=/usr/local/bin:/usr/sbin",
    "--user", `${NONROOT.uid}:${NONROOT.uid}`,
    "--workingdir", "/",
    "--stop-signal", "SIGTERM",
    "--created-by", "build/image.ts (buildah from scratch)",
    ...Object.entries(labels).flatMap(([k, v]) => ["--label", `${k}=${v}`]),
    ctr]);
  rmSync(output, { force: true });
  run("buildah", [...store, "commit", "--quiet", "--rm", "--format", "oci", "--timestamp", String(epoch),
    "--disable-compression=false", ctr, `oci-archive:${output}:${IMAGE_NAME}`], { quiet: true });
  const digest = JSON.parse(run("tar", ["-xOf", output, "index.json"], { quiet: true })).manifests[0].digest;
  console.error(`image: ${output} (${IMAGE_NAME}, manifest ${digest}, ${(statSync(output).size / 2 ** 20).toFixed(1)} MiB)`);
} finally {
  // vfs layers are plain directories; the store goes with the temporary directory
  rmSync(work, { recursive: true, force: true });
}
