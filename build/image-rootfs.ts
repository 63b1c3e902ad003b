// What goes into the image's root filesystem, staged in a directory: the binary (with the file
// capability cap_net_bind_service, so the unprivileged user may bind port 53), the two node tools
// "network up/down" run (ip, and iptables/ip6tables on the nf_tables backend with the five match and
// target modules our rules use), the glibc libraries all of them link (found with ldd), a user and a
// group, and the mount points. No shell, no package manager, no CA bundle (localdns speaks no TLS).
import { spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export const IMAGE_BINARY = "/usr/local/bin/localdns";
export const NONROOT = { uid: 65532, name: "localdns" };
const TOOLS = [{ from: "ip", to: "/usr/sbin/ip" }, { from: "xtables-nft-multi", to: "/usr/sbin/xtables-nft-multi" }];
const IPTABLES_NAMES = ["iptables", "ip6tables"]; // the multi-call binary acts on its own name
const XTABLES_MODULES = ["libxt_udp.so", "libxt_tcp.so", "libxt_comment.so", "libxt_CT.so", "libxt_standard.so"];
const MOUNT_POINTS = ["/etc/localdns", "/var/lib/localdns", "/run/localdns", "/proc", "/sys", "/dev"];

function fail(msg: string): never { throw new Error(`image: ${msg}`); }

function which(cmd: string): string {
  for (const d of ["/usr/sbin", "/usr/bin", "/sbin", "/bin"]) {
    try { return realpathSync(join(d, cmd)); } catch { /* next */ }
  }
  fail(`${cmd} is not installed on this machine (apt-get install iproute2 iptables)`);
}

/** The shared libraries `file` loads, as ldd names them (the paths the loader will look in). */
export function linkedLibraries(file: string): string[] {
  const r = spawnSync("ldd", [file], { encoding: "utf8" });
  if (r.status !== 0) fail(`ldd ${file}: ${r.stderr.trim() || r.stdout.trim()}`);
  const out: string[] = [];
  for (const line of r.stdout.split("\n")) {
    const m = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line); // "name => /path (addr)" or "/path (addr)"
    if (m) out.push(m[1]);
    else if (/not found/.test(line)) fail(`${file}: ${line.trim()}`);
  }
  return out;
}

function place(root: string, from: string, to: string, mode: number): void {
  mkdirSync(join(root, dirname(to)), { recursive: true });
  copyFileSync(realpathSync(from), join(root, to)); // the content, whatever symlinks lead to it
  chmodSync(join(root, to), mode);
}

/** Stages the root filesystem under `root` (an empty directory). Returns the image paths placed. */
export function stageRootfs(root: string, binary: string): string[] {
  const placed: string[] = [];
  const put = (from: string, to: string, mode: number) => { place(root, from, to, mode); placed.push(to); };
  put(binary, IMAGE_BINARY, 0o755);
  const setcap = spawnSync("setcap", ["cap_net_bind_service=+ep", join(root, IMAGE_BINARY)], { encoding: "utf8" });
  if (setcap.status !== 0) fail(`setcap: ${setcap.stderr.trim() || "not installed (apt-get install libcap2-bin)"}`);

  const loaded = new Set<string>(linkedLibraries(binary));
  for (const t of TOOLS) {
    const src = which(t.from);
    put(src, t.to, 0o755);
    for (const lib of linkedLibraries(src)) loaded.add(lib);
  }
  for (const name of IPTABLES_NAMES) { symlinkSync("xtables-nft-multi", join(root, "/usr/sbin", name)); placed.push(`/usr/sbin/${name}`); }

  // the modules live where libxtables was built to look: /usr/lib/<multiarch>/xtables
  const libc = [...loaded].find((l) => basename(l) === "libc.so.6") ?? fail("the binary does not link glibc");
  const xtablesDir = join("/usr/lib", basename(dirname(libc)), "xtables");
  for (const m of XTABLES_MODULES) {
    put(join(xtablesDir, m), join(xtablesDir, m), 0o644);
    for (const lib of linkedLibraries(join(xtablesDir, m))) loaded.add(lib);
  }
  symlinkSync("libxt_CT.so", join(root, xtablesDir, "libxt_NOTRACK.so")); // "-j NOTRACK" is CT's alias
  placed.push(join(xtablesDir, "libxt_NOTRACK.so"));
  for (const lib of loaded) put(lib, lib, 0o755);

  mkdirSync(join(root, "etc"), { recursive: true });
  writeFileSync(join(root, "etc/passwd"), `root:x:0:0:root:/:/nonexistent\n${NONROOT.name}:x:${NONROOT.uid}:${NONROOT.uid}:${NONROOT.name}:/nonexistent:/nonexistent\n`, { mode: 0o644 });
  writeFileSync(join(root, "etc/group"), `root:x:0:\n${NONROOT.name}:x:${NONROOT.uid}:\n`, { mode: 0o644 });
  placed.push("/etc/passwd", "/etc/group");
  for (const d of MOUNT_POINTS) mkdirSync(join(root, d), { recursive: true, mode: 0o755 });
  mkdirSync(join(root, "tmp"), { mode: 0o1777 });
  chmodSync(join(root, "tmp"), 0o1777);
  return placed.sort();
}
